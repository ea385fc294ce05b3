/* Unit tests of the IMAP URL parser (server/imap/url.c, RFC 5092 with RFC
 * 4467 URLAUTH): the RFCs' examples and the forms CATENATE sends, each
 * part decoded; the URLAUTH rump ends where the token starts; relative
 * forms; and the errors the grammar implies. Every input is parsed from an
 * exact-size heap copy (a read past its end trips ASan), and every prefix
 * of every input is parsed too (it must not crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/url.h"

static int parse(const char *s, struct imap_url *u, const char **why)
{
	size_t len = strlen(s);
	/* Every prefix, from exact-size copies. */
	for (size_t n = 0; n < len; n++) {
		char *p = malloc(n ? n : 1);
		memcpy(p, s, n);
		struct imap_url tmp;
		const char *w;
		if (imap_url_parse(p, n, &tmp, &w) == 0)
			imap_url_free(&tmp);
		free(p);
	}
	char *copy = malloc(len ? len : 1);
	memcpy(copy, s, len);
	int r = imap_url_parse(copy, len, u, why);
	free(copy);
	return r;
}

static struct imap_url ok(const char *s)
{
	struct imap_url u;
	const char *why = NULL;
	if (parse(s, &u, &why) != 0)
		fail_msg("%s: %s", s, why);
	return u;
}

static void bad(const char *s, const char *want_why)
{
	struct imap_url u;
	const char *why = NULL;
	if (parse(s, &u, &why) == 0)
		fail_msg("accepted: %s", s);
	if (want_why != NULL && strstr(why, want_why) == NULL)
		fail_msg("%s: %s (wanted %s)", s, why, want_why);
	/* A failed parse leaves nothing to free. */
	assert_null(u.mailbox);
	assert_null(u.host);
}

#define str_eq(a, b) do { const char *a_ = (a); if (b == NULL) assert_null(a_); \
	else { assert_non_null(a_); assert_string_equal(a_, b); } } while (0)

static void test_full_urls(void **state)
{
	(void)state;
	struct imap_url u = ok("imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/"
			       ";UID=20/;PARTIAL=0.1024");
	assert_int_equal(u.form, IMAP_URL_FULL);
	str_eq(u.user, NULL);
	str_eq(u.host, "minbari.example.org");
	str_eq(u.mailbox, "gray-council");
	assert_int_equal(u.uidvalidity, 385759045);
	assert_int_equal(u.uid, 20);
	assert_true(u.has_partial);
	assert_int_equal(u.partial_offset, 0);
	assert_int_equal(u.partial_length, 1024);
	assert_true(imap_url_is_message(&u));
	assert_int_equal(u.access, IMAP_URL_ACCESS_NONE);
	imap_url_free(&u);

	u = ok("imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/"
	       "%E5%8F%B0%E5%8C%97");
	str_eq(u.mailbox, "~peter/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\x8f\xb0\xe5\x8c\x97");
	assert_false(imap_url_is_message(&u));
	imap_url_free(&u);

	u = ok("imap://;AUTH=GSSAPI@minbari.example.org/gray-council/;uid=20/;section=1.2");
	str_eq(u.user, NULL);
	str_eq(u.auth, "GSSAPI");
	str_eq(u.section, "1.2");
	assert_int_equal(u.uid, 20);
	imap_url_free(&u);

	u = ok("imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows");
	str_eq(u.auth, "*");
	str_eq(u.mailbox, "gray council");
	str_eq(u.search, "SUBJECT shadows");
	assert_false(imap_url_is_message(&u));
	imap_url_free(&u);

	u = ok("IMAP://john;AUTH=*@Minbari.Example.ORG:2143/babylon5/personel");
	str_eq(u.user, "john");
	str_eq(u.host, "minbari.example.org");
	assert_int_equal(u.port, 2143);
	str_eq(u.mailbox, "babylon5/personel");
	imap_url_free(&u);

	u = ok("imap://michael@example.org");
	str_eq(u.user, "michael");
	str_eq(u.mailbox, NULL);
	imap_url_free(&u);
	u = ok("imap://[::1]:143/INBOX");
	str_eq(u.host, "[::1]");
	imap_url_free(&u);
	/* A section with a header field list, %-encoded. */
	u = ok("imap://a@h/INBOX/;UID=3/;SECTION=HEADER.FIELDS%20(FROM%20TO)/;PARTIAL=10");
	str_eq(u.section, "HEADER.FIELDS (FROM TO)");
	assert_true(u.has_partial);
	assert_int_equal(u.partial_offset, 10);
	assert_int_equal(u.partial_length, 0);
	imap_url_free(&u);
}

static void test_urlauth(void **state)
{
	(void)state;
	const char *s = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
			":internal:91354a473744909de610943775f92038";
	struct imap_url u = ok(s);
	str_eq(u.user, "joe");
	assert_int_equal(u.uid, 20);
	str_eq(u.section, "1.2");
	assert_int_equal(u.access, IMAP_URL_ACCESS_SUBMIT);
	str_eq(u.access_user, "fred");
	str_eq(u.mechanism, "INTERNAL");
	str_eq(u.token, "91354a473744909de610943775f92038");
	assert_int_equal(u.rump_len, strstr(s, ":internal") - s);
	assert_false(u.has_expire);
	imap_url_free(&u);

	/* A rump URL (GENURLAUTH input). */
	s = "imap://joe@example.com/INBOX/;uid=20;EXPIRE=2006-04-05T11:12:13Z;URLAUTH=user+bob";
	u = ok(s);
	assert_int_equal(u.access, IMAP_URL_ACCESS_USER);
	str_eq(u.access_user, "bob");
	assert_null(u.mechanism);
	assert_null(u.token);
	assert_int_equal(u.rump_len, strlen(s));
	assert_true(u.has_expire);
	assert_int_equal(u.expire, 1144235533);
	imap_url_free(&u);

	u = ok("imap://joe@example.com/INBOX/;uid=20;expire=2006-04-05t13:12:13.25+02:00"
	       ";urlauth=anonymous:X-Mech.1:0123456789ABCDEF0123456789abcdef99");
	assert_int_equal(u.expire, 1144235533);
	assert_int_equal(u.access, IMAP_URL_ACCESS_ANONYMOUS);
	str_eq(u.mechanism, "X-MECH.1");
	str_eq(u.token, "0123456789abcdef0123456789abcdef99");
	imap_url_free(&u);

	/* An unescaped '@' in the access user (a user@domain login). */
	u = ok("imap://joe@example.com/INBOX/;uid=20;urlauth=user+joe@example.com");
	str_eq(u.access_user, "joe@example.com");
	imap_url_free(&u);

	u = ok("imap://joe@example.com/INBOX/;uid=20/;partial=0.10;urlauth=authuser");
	assert_int_equal(u.access, IMAP_URL_ACCESS_AUTHUSER);
	imap_url_free(&u);
}

static void test_relative(void **state)
{
	(void)state;
	struct imap_url u = ok("/INBOX/;uid=1");
	assert_int_equal(u.form, IMAP_URL_ABSPATH);
	str_eq(u.mailbox, "INBOX");
	assert_int_equal(u.uid, 1);
	imap_url_free(&u);

	u = ok("/Work/Mail;uidvalidity=7/;uid=12/;section=header");
	str_eq(u.mailbox, "Work/Mail");
	assert_int_equal(u.uidvalidity, 7);
	str_eq(u.section, "header");
	imap_url_free(&u);

	u = ok("/Box/;UID=2/;PARTIAL=100000.1");
	assert_int_equal(u.partial_offset, 100000);
	assert_int_equal(u.partial_length, 1);
	imap_url_free(&u);

	u = ok(";UID=5/;SECTION=TEXT");
	assert_int_equal(u.form, IMAP_URL_RELATIVE);
	str_eq(u.mailbox, NULL);
	assert_int_equal(u.uid, 5);
	str_eq(u.section, "TEXT");
	imap_url_free(&u);

	u = ok(";SECTION=1.MIME/;PARTIAL=5.5");
	assert_int_equal(u.uid, 0);
	str_eq(u.section, "1.MIME");
	imap_url_free(&u);

	u = ok(";partial=9");
	assert_true(u.has_partial);
	imap_url_free(&u);

	u = ok("Other;UIDVALIDITY=3?ALL");
	assert_int_equal(u.form, IMAP_URL_RELATIVE);
	str_eq(u.mailbox, "Other");
	str_eq(u.search, "ALL");
	imap_url_free(&u);

	u = ok("//host.example/INBOX");
	assert_int_equal(u.form, IMAP_URL_NETWORK);
	str_eq(u.host, "host.example");
	imap_url_free(&u);

	u = ok("");
	assert_int_equal(u.form, IMAP_URL_EMPTY);
	imap_url_free(&u);
	u = ok("/");
	assert_int_equal(u.form, IMAP_URL_ABSPATH);
	str_eq(u.mailbox, NULL);
	imap_url_free(&u);
}

static void test_errors(void **state)
{
	(void)state;
	bad("imap://", "no host");
	bad("imap://@host/INBOX", "user");
	bad("imap://a@", "no host");
	bad("imap://host:99999/INBOX", "port");
	bad("imap://host:12x/INBOX", NULL);
	bad("imap://ho st/INBOX", NULL);
	bad("imap://[::1/INBOX", "IP literal");
	bad("imap://host/INBOX/;UID=0", "UID");
	bad("imap://host/INBOX/;UID=01", "UID");
	bad("imap://host/INBOX/;UID=x", "UID");
	bad("imap://host/INBOX/;UID=99999999999", "UID");
	bad("imap://host/INBOX;UIDVALIDITY=0/;UID=1", "UIDVALIDITY");
	bad("imap://host/%zz", "escape");
	bad("imap://host/a%0", "escape");
	bad("imap://host/a%00b", "NUL");
	bad("imap://host/%ff%fe", "UTF-8");
	bad("imap://host/INBOX/;UID=1/;PARTIAL=0.0", "PARTIAL");
	bad("imap://host/INBOX/;UID=1/;PARTIAL=.5", "PARTIAL");
	bad("imap://host/INBOX/;UID=1/;SECTION=", "SECTION");
	bad("imap://host/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:abc", "32 hex");
	bad("imap://host/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL", "mechanism");
	bad("imap://host/INBOX/;UID=1;URLAUTH=anonymous::0123456789abcdef0123456789abcdef",
	    "mechanism");
	bad("imap://host/INBOX/;UID=1;URLAUTH=nobody", "access");
	bad("imap://host/INBOX/;UID=1;URLAUTH=user+", "access user");
	bad("imap://host/INBOX/;UID=1;EXPIRE=2006-04-05;URLAUTH=anonymous", "EXPIRE");
	bad("imap://host/INBOX/;UID=1;EXPIRE=2006-13-05T00:00:00Z;URLAUTH=anonymous", "EXPIRE");
	bad("imap://host/INBOX/;UID=1;EXPIRE=2006-04-05T00:00:00Z", "URLAUTH");
	bad("imap://host/INBOX;URLAUTH=anonymous", NULL);
	bad("imap://host/INBOX/;UID=1 ", NULL);
	bad("imap://host/INBOX/;UID=1/;UID=2", NULL);
	bad("imap://host/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:"
	    "0123456789abcdef0123456789abcdefxyz", NULL);
	bad("imap://host/;UID=1", "mailbox");
	bad(";UID=1;URLAUTH=anonymous", "relative");
	bad(";FOO=1", "relative");
	bad("INBOX/;UID=1", NULL);
	bad("imap://host/INBOX?", "search");
	bad("http://host/INBOX", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_urls),
		cmocka_unit_test(test_urlauth),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
