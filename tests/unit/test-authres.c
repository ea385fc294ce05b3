/* Unit tests of Authentication-Results (server/mailauth/authres.c): the
 * field Loft writes (RFC 8601 syntax, quoting, comments), recognising our
 * authserv-id behind comments, quotes and case, and the filter that drops
 * forged fields from a header, run at every split point (and every pair of
 * split points for short inputs), never touching the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/mailauth/authres.h"
#include "storage/message/message.h"

static void test_write(void **state)
{
	(void)state;
	struct authres_entry e[3] = {
		{ "spf", "pass", "matched ip4:192.0.2.0/24", { { "smtp.mailfrom", "joe@example.org" } },
		  1 },
		{ "dkim", "fail", "body hash (did) not \\verify",
		  { { "header.d", "example.org" }, { "header.s", "sel 1" }, { "header.b", NULL } }, 3 },
		{ "dmarc", "none", NULL, { { "header.from", "ex\"ample.org" } }, 1 },
	};
	struct msg_buf out = { 0 };
	authres_write(&out, "mx.example.net", e, 3);
	msg_buf_putc(&out, '\0');
	assert_string_equal(out.data,
			    "Authentication-Results: mx.example.net;\r\n"
			    "\tspf=pass (matched ip4:192.0.2.0/24) smtp.mailfrom=joe@example.org;\r\n"
			    "\tdkim=fail (body hash \\(did\\) not \\\\verify) header.d=example.org "
			    "header.s=\"sel 1\";\r\n"
			    "\tdmarc=none header.from=\"ex\\\"ample.org\"\r\n");
	msg_buf_free(&out);
	authres_write(&out, "mx.example.net", NULL, 0);
	msg_buf_putc(&out, '\0');
	assert_string_equal(out.data, "Authentication-Results: mx.example.net; none\r\n");
	msg_buf_free(&out);
}

static void test_is_ours(void **state)
{
	(void)state;
	static const char *const ours[] = { " mx.test; spf=pass", "mx.test;", " (c (nested)) MX.Test 1;",
					    "\r\n\tmx.test; none", " \"mx.test\"; none" };
	static const char *const theirs[] = { " mx.test.evil; spf=pass", " other; x", " mx.tes;",
					      "", " ;", " (mx.test) other;" };
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		assert_true(authres_is_ours(ours[i], strlen(ours[i]), "mx.test"));
	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		assert_false(authres_is_ours(theirs[i], strlen(theirs[i]), "mx.test"));
}

static void out_fn(void *ctx, const char *data, size_t len)
{
	msg_buf_append(ctx, data, len);
}

static void filter_case(const char *in, size_t len, const char *want, unsigned dropped)
{
	size_t step = len > 200 ? 13 : 1;
	for (size_t c1 = 0; c1 <= len; c1 += step) {
		for (size_t c2 = c1; c2 <= len; c2 += (len > 200 ? 509 : 1)) {
			struct msg_buf out = { 0 };
			struct authres_filter *f = authres_filter_new("mx.test", out_fn, &out);
			authres_filter_feed(f, in, c1);
			authres_filter_feed(f, in + c1, c2 - c1);
			authres_filter_feed(f, in + c2, len - c2);
			authres_filter_end(f);
			size_t wl = strlen(want);
			if (out.len != wl || (wl > 0 && memcmp(out.data, want, wl) != 0)) {
				msg_buf_putc(&out, '\0');
				fail_msg("cut %zu/%zu: got [%s]", c1, c2, out.data);
			}
			assert_int_equal(authres_filter_dropped(f), dropped);
			authres_filter_free(&f);
			msg_buf_free(&out);
		}
	}
}

static void test_filter(void **state)
{
	(void)state;
	const char *in =
		"Received: from x\r\n"
		"Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@b\r\n"
		"Authentication-Results: other.test; dkim=pass\r\n"
		"authentication-results :  (c) MX.test; none\r\n"
		"Subject: hi\r\n \tfolded\r\n"
		"\r\n"
		"Authentication-Results: mx.test; this is the body\r\n";
	const char *want =
		"Received: from x\r\n"
		"Authentication-Results: other.test; dkim=pass\r\n"
		"Subject: hi\r\n \tfolded\r\n"
		"\r\n"
		"Authentication-Results: mx.test; this is the body\r\n";
	filter_case(in, strlen(in), want, 2);
	/* a header without a blank line, ending with one of ours */
	filter_case("A: b\r\nAuthentication-Results: mx.test; x\r\n",
		    strlen("A: b\r\nAuthentication-Results: mx.test; x\r\n"), "A: b\r\n", 1);
	filter_case("Authentication-Results: mx.test; x", 35, "", 1);
	filter_case("", 0, "", 0);
	/* an unterminated quoted id (found by fuzz-authres) reads to the line's end */
	filter_case("Authentication-Results:\"mx.test\r\nSubject: x\r\n\r\n", 47,
		    "Subject: x\r\n\r\n", 1);
	assert_true(authres_is_ours("\"mx.test", 8, "mx.test"));
	filter_case("\r\nAuthentication-Results: mx.test; x\r\n", 38,
		    "\r\nAuthentication-Results: mx.test; x\r\n", 0);

	/* another server's long field is kept whole; one whose id hides
	 * behind more than AUTHRES_LOOKAHEAD bytes of comment is dropped */
	size_t n = 20000;
	char *big = malloc(n + 200), *wantbig = malloc(n + 200);
	int k = sprintf(big, "Authentication-Results: other.test;");
	for (size_t i = 0; i < n / 20; i++)
		k += sprintf(big + k, "\r\n\tdkim=pass x=%05zu", i);
	k += sprintf(big + k, "\r\nSubject: s\r\n\r\nbody\r\n");
	filter_case(big, (size_t)k, big, 0);
	k = sprintf(big, "Authentication-Results: (");
	memset(big + k, 'c', n);
	k += (int)n;
	k += sprintf(big + k, ") other.test; none\r\nSubject: s\r\n\r\nbody\r\n");
	sprintf(wantbig, "Subject: s\r\n\r\nbody\r\n");
	filter_case(big, (size_t)k, wantbig, 1);
	free(big);
	free(wantbig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_is_ours),
		cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
