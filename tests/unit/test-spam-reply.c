/* rspamd's reply readers (server/spam/json.c, http.c, result.c): JSON
 * grammar and limits, HTTP framing (length, chunked, close-delimited,
 * keep-alive), and the check and learn replies rspamd 3.4 sends, each at
 * every split point through the shared driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/spam-reply-driver.h"

static void check_split(const struct split_target *t, const void *arg, const char *input,
			size_t len, const char *want)
{
	size_t i, j, olen;
	char *whole = split_run3(t, arg, input, len, len, len, &olen);
	if (strcmp(whole, want) != 0) {
		fprintf(stderr, "input: %.*s\ngot:\n%s\nwant:\n%s\n", (int)len, input, whole, want);
		fail();
	}
	char *bad = split_check_all(t, arg, input, len, whole, olen, &i, &j);
	if (bad != NULL) {
		fprintf(stderr, "split %zu/%zu differs:\n%s\nwhole:\n%s\n", i, j, bad, whole);
		free(bad);
		fail();
	}
	free(whole);
}

static void json_is(const char *input, const char *want)
{
	check_split(&json_target, NULL, input, strlen(input), want);
}

static void test_json_values(void **state)
{
	(void)state;
	json_is("{\"a\": [1, -0.5e+3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\":{}}",
		"{@0:\nkey@1:a\n[@1:\nnum@2:1\nnum@2:-0.5e+3\ntrue@2:\nfalse@2:\nnull@2:\n"
		"str@2:x\xc3\xa9\xf0\x9f\x98\x80\n\n]@1:\nkey@1:b\n{@1:\n}@1:\n}@0:\nend:ok\n");
	json_is(" 42 ", "num@0:42\nend:ok\n");
	json_is("0", "num@0:0\nend:ok\n");
	json_is("\"a\\\"\\\\\\/\\b\\f\\r\\t\"", "str@0:a\"\\/\b\f\r\t\nend:ok\n");
	json_is("[]", "[@0:\n]@0:\nend:ok\n");
	json_is("\"caf\xc3\xa9\"", "str@0:caf\xc3\xa9\nend:ok\n");
}

static void test_json_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "01", "1.", "-", "1e",
		".5", "+1", "tru", "nul", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"",
		"\"\\ud800\\u0041\"", "\"a\nb\"", "[1] [2]", "{} x", "[\"a\"\"b\"]", "{]", "[}",
		"\"\\u12g4\"", "// c\n1", "'a'", "NaN", "[1 2]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct spam_json j;
		spam_json_init(&j, NULL, NULL);
		int e = spam_json_feed(&j, bad[i], strlen(bad[i]));
		if (e == 0)
			e = spam_json_finish(&j);
		if (e == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		assert_int_not_equal(e, 0);
	}
}

static void test_json_limits(void **state)
{
	(void)state;
	char deep[2 * SPAM_JSON_DEPTH_MAX + 8];
	size_t n = 0;
	for (int i = 0; i < SPAM_JSON_DEPTH_MAX; i++)
		deep[n++] = '[';
	for (int i = 0; i < SPAM_JSON_DEPTH_MAX; i++)
		deep[n++] = ']';
	struct spam_json j;
	spam_json_init(&j, NULL, NULL);
	assert_int_equal(spam_json_feed(&j, deep, n), 0);
	assert_int_equal(spam_json_finish(&j), 0);
	char deeper[] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["; /* 33 */
	spam_json_init(&j, NULL, NULL);
	assert_int_equal(spam_json_feed(&j, deeper, strlen(deeper)), SPAM_JSON_EDEPTH);

	char num[SPAM_JSON_NUMBER_MAX + 4];
	memset(num, '7', sizeof(num) - 1);
	num[sizeof(num) - 1] = '\0';
	spam_json_init(&j, NULL, NULL);
	assert_int_equal(spam_json_feed(&j, num, strlen(num)), SPAM_JSON_ENUMBER);

	/* a long string is delivered cut, and a \u character is never split */
	size_t big = SPAM_JSON_TEXT_MAX + 100;
	char *s = malloc(big + 3);
	s[0] = '"';
	memset(s + 1, 'a', big);
	memcpy(s + SPAM_JSON_TEXT_MAX, "\\u00e9", 6);
	s[big + 1] = '"';
	s[big + 2] = '\0';
	char want[SPAM_JSON_TEXT_MAX + 64];
	memcpy(want, "str@0(cut):", 11);
	memset(want + 11, 'a', SPAM_JSON_TEXT_MAX - 1);
	strcpy(want + 11 + SPAM_JSON_TEXT_MAX - 1, "\nend:ok\n");
	size_t olen;
	char *got = split_run3(&json_target, NULL, s, strlen(s), 5, 700, &olen);
	assert_string_equal(got, want);
	free(got);
	free(s);
}

/* rspamd 3.4's answer to GTUBE (recorded), with Content-Length. */
static const char gtube_body[] =
	"{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,\"action\":\"reject\","
	"\"symbols\":{\"GTUBE\":{\"name\":\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},"
	"\"messages\":{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"x@y\","
	"\"time_real\":0.086146}";

static void reply_is(const char *input, const char *want)
{
	uint64_t max = 1 << 20;
	check_split(&reply_target, &max, input, strlen(input), want);
}

static char *with_length(const char *head, const char *body)
{
	size_t n = strlen(head) + strlen(body) + 64;
	char *s = malloc(n);
	snprintf(s, n, "%sContent-Length: %zu\r\n\r\n%s", head, strlen(body), body);
	return s;
}

static void test_reply_check(void **state)
{
	(void)state;
	char *in = with_length("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nServer: rspamd/3.4\r\n"
			       "Content-Type: application/json\r\n", gtube_body);
	reply_is(in, "http=1 status=200 keep=1 body=224 extra=0 err=ok\njson=ok\n"
		 "action=reject(reject) score=15.000 required=15.000 skipped=1\n"
		 "sym GTUBE 0.000\nseen=1 msg=Gtube pattern success=0 error=\n");
	free(in);

	/* chunked, symbols with options and nested members, a custom action */
	reply_is("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		 "1a\r\n{\"action\":\"quarantine\",\"sc\r\n"
		 "3d;ext=1\r\nore\":-1.5,\"symbols\":{\"A\":{\"score\":2,\"options\":[\"x\",{\"y\":1}]},\r\n"
		 "2c\r\n\"B\":{\"score\":-3.5e0}},\"urls\":[],\"emails\":[]}\r\n"
		 "0\r\nX-Trailer: 1\r\n\r\n",
		 "http=1 status=200 keep=0 body=131 extra=0 err=ok\njson=ok\n"
		 "action=unknown(quarantine) score=-1.500 required=0.000 skipped=0\n"
		 "sym A 2.000\nsym B -3.500\nseen=2 msg= success=0 error=\n");

	/* HTTP/1.0 without a length: the body ends with the connection */
	reply_is("HTTP/1.0 200 OK\r\n\r\n{\"action\":\"no action\",\"score\":0}",
		 "http=1 status=200 keep=0 body=32 extra=0 err=ok\njson=ok\n"
		 "action=no action(no action) score=0.000 required=0.000 skipped=0\n"
		 "seen=0 msg= success=0 error=\n");

	/* a learn reply, and the one rspamd gives for an already learned message */
	char *learn = with_length("HTTP/1.1 200 OK\r\n", "{\"success\":true}");
	reply_is(learn, "http=1 status=200 keep=1 body=16 extra=0 err=ok\n"
		 "json=JSON reply not understood\n");
	free(learn);
}

static void test_reply_many_symbols(void **state)
{
	(void)state;
	/* more symbols than kept: the largest |score| stay */
	char body[8192];
	size_t n = (size_t)snprintf(body, sizeof(body), "{\"action\":\"add header\",\"score\":9,"
				    "\"symbols\":{");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"S%02d\":{\"score\":%d}",
				      i ? "," : "", i, i % 2 ? i : -i);
	snprintf(body + n, sizeof(body) - n, "}}");
	char *in = with_length("HTTP/1.1 200 OK\r\n", body);
	uint64_t max = 1 << 20;
	void *d = reply_target.start(&max);
	reply_target.feed(d, in, strlen(in));
	struct reply_drv *rd = d;
	size_t olen;
	struct spam_result res;
	rd->hr = spam_http_eof(&rd->http);
	assert_int_equal(rd->hr, SPAM_HTTP_DONE);
	assert_int_equal(spam_result_finish(&rd->reader, true), 0);
	res = rd->res;
	rd->hr = SPAM_HTTP_FAILED;
	free(reply_target.finish(d, &olen));
	assert_int_equal(res.symbols_seen, 40);
	assert_int_equal(res.n_symbols, SPAM_RESULT_SYMBOLS_MAX);
	for (unsigned i = 0; i < res.n_symbols; i++)
		assert_true(res.symbols[i].score >= 8 || res.symbols[i].score <= -8);
	assert_int_equal(res.action, SPAM_ACTION_ADD_HEADER);
	free(in);
}

static void test_reply_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",          /* bare LF */
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nCompression: zstd\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}x\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",     /* cut short */
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",     /* not an object */
		"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"score\":1}", /* no action */
		"HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n{\"action\":1,\"score\":\"1\"}  ",
		"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",  /* over max */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t max = 1 << 20;
		size_t olen;
		char *got = split_run3(&reply_target, &max, bad[i], strlen(bad[i]), 0, 0, &olen);
		if (strstr(got, "\njson=ok\n") != NULL && strncmp(got, "http=1 ", 7) == 0) {
			fprintf(stderr, "accepted #%zu: %s\n", i, got);
			fail();
		}
		free(got);
	}
	/* a header line over the limit */
	size_t n = SPAM_HTTP_LINE_MAX + 64;
	char *big = malloc(n + 1);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', n - 20);
	big[n] = '\0';
	struct spam_http h;
	spam_http_init(&h, 1000, NULL, NULL);
	assert_int_equal(spam_http_feed(&h, big, n, NULL), SPAM_HTTP_FAILED);
	assert_int_equal(h.error, SPAM_HTTP_ELINE);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_reply_check),
		cmocka_unit_test(test_reply_many_symbols),
		cmocka_unit_test(test_reply_errors),
	};
	return cmocka_run_group_tests_name("spam-reply", tests, NULL, NULL);
}
