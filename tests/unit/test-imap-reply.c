/* Unit tests of the IMAP response writer (server/imap/reply.c): which form
 * each string takes (atom, quoted with escapes, literal), NIL, mailbox names
 * in modified UTF-7 and UTF-8, human text sanitizing, and the UTF-8 check
 * quoted strings rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/reply.h"

/* What a writer call produced, as a NUL-terminated heap string. */
static char *out_of(struct imap_resp *r)
{
	size_t len;
	char *s = imap_resp_steal(r, &len);
	assert_int_equal(strlen(s), len);
	return s;
}

static void want_astring(bool utf8, const char *in, size_t len, const char *want)
{
	struct imap_resp r;
	imap_resp_init(&r, utf8);
	imap_resp_astring(&r, in, len);
	char *got = out_of(&r);
	assert_string_equal(got, want);
	free(got);
	imap_resp_free(&r);
}

static void want_string(bool utf8, const char *in, size_t len, const char *want)
{
	struct imap_resp r;
	imap_resp_init(&r, utf8);
	imap_resp_string(&r, in, len);
	char *got = out_of(&r);
	assert_string_equal(got, want);
	free(got);
	imap_resp_free(&r);
}

static void want_mailbox(bool utf8, const char *in, const char *want)
{
	struct imap_resp r;
	imap_resp_init(&r, utf8);
	imap_resp_mailbox(&r, in);
	char *got = out_of(&r);
	assert_string_equal(got, want);
	free(got);
	imap_resp_free(&r);
}

#define S(x) x, sizeof(x) - 1

static void test_astring_forms(void **state)
{
	(void)state;
	want_astring(false, S("Sent"), "Sent");
	want_astring(false, S("a]b"), "a]b");            /* ']' is an ASTRING-CHAR */
	want_astring(false, S("x+y.z-1"), "x+y.z-1");
	want_astring(false, S(""), "\"\"");
	want_astring(false, S("NIL"), "\"NIL\"");         /* never read back as nil */
	want_astring(false, S("nil"), "\"nil\"");
	want_astring(false, S("NILS"), "NILS");
	want_astring(false, S("a b"), "\"a b\"");
	want_astring(false, S("50%"), "\"50%\"");
	want_astring(false, S("a*"), "\"a*\"");
	want_astring(false, S("(x)"), "\"(x)\"");
	want_astring(false, S("{5}"), "\"{5}\"");
	want_astring(false, S("say \"hi\""), "\"say \\\"hi\\\"\"");
	want_astring(false, S("back\\slash"), "\"back\\\\slash\"");
}

static void test_string_forms(void **state)
{
	(void)state;
	want_string(false, S("plain"), "\"plain\"");
	want_string(false, S(""), "\"\"");
	/* CR, LF and 8-bit (without UTF-8) need a literal */
	want_string(false, S("two\r\nlines"), "{10}\r\ntwo\r\nlines");
	want_string(false, S("bare\nlf"), "{7}\r\nbare\nlf");
	want_string(false, S("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
	/* with UTF-8 on, valid UTF-8 is quoted; anything else still a literal */
	want_string(true, S("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	want_string(true, S("\xf0\x9f\x93\xa7 mail"), "\"\xf0\x9f\x93\xa7 mail\"");
	want_string(true, S("bad\xc3"), "{4}\r\nbad\xc3");
	want_string(true, S("over\xc0\xaflong"), "{10}\r\nover\xc0\xaflong");
	want_string(true, S("surrogate\xed\xa0\x80"), "{12}\r\nsurrogate\xed\xa0\x80");
	/* NUL cannot be in any IMAP string: left out */
	want_string(false, S("a\0b"), "\"ab\"");
	want_string(false, S("a\0\r\n"), "{3}\r\na\r\n");
}

static void test_long_strings_are_literals(void **state)
{
	(void)state;
	char buf[IMAP_QUOTED_MAX + 2];
	memset(buf, 'x', sizeof(buf));
	struct imap_resp r;
	imap_resp_init(&r, false);
	imap_resp_string(&r, buf, IMAP_QUOTED_MAX);
	assert_int_equal(r.len, IMAP_QUOTED_MAX + 2);
	assert_int_equal(r.data[0], '"');
	imap_resp_reset(&r);
	imap_resp_string(&r, buf, IMAP_QUOTED_MAX + 1);
	char head[32];
	int n = snprintf(head, sizeof(head), "{%d}\r\n", IMAP_QUOTED_MAX + 1);
	assert_int_equal(r.len, (size_t)n + IMAP_QUOTED_MAX + 1);
	assert_memory_equal(r.data, head, (size_t)n);
	/* a long atom-like astring is still an atom */
	imap_resp_reset(&r);
	imap_resp_astring(&r, buf, sizeof(buf));
	assert_int_equal(r.len, sizeof(buf));
	imap_resp_free(&r);
}

static void test_nstring(void **state)
{
	(void)state;
	struct imap_resp r;
	imap_resp_init(&r, false);
	imap_resp_nstring(&r, NULL, 0);
	imap_resp_raw(&r, " ");
	imap_resp_nstring(&r, "NIL", 3);
	imap_resp_raw(&r, " ");
	imap_resp_nstring(&r, "", 0);
	char *got = out_of(&r);
	assert_string_equal(got, "NIL \"NIL\" \"\"");
	free(got);
	imap_resp_free(&r);
}

static void test_mailbox_names(void **state)
{
	(void)state;
	want_mailbox(false, "INBOX", "INBOX");
	want_mailbox(true, "INBOX", "INBOX");
	want_mailbox(false, "INBOX/Sub", "INBOX/Sub");
	want_mailbox(false, "Caf\xc3\xa9", "Caf&AOk-");
	want_mailbox(true, "Caf\xc3\xa9", "\"Caf\xc3\xa9\"");
	want_mailbox(false, "Tom & Jerry", "\"Tom &- Jerry\"");
	want_mailbox(true, "Tom & Jerry", "\"Tom & Jerry\"");
	want_mailbox(false, "&", "&-");
	want_mailbox(false, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/Lists", "&ZeVnLIqe-/Lists");
	want_mailbox(false, "a \"quoted\" name", "\"a \\\"quoted\\\" name\"");
	want_mailbox(false, "50%/off*", "\"50%/off*\"");
	want_mailbox(false, "NIL", "\"NIL\"");
	want_mailbox(false, "[Gmail]/Sent", "[Gmail]/Sent");
}

static void test_text(void **state)
{
	(void)state;
	struct imap_resp r;
	imap_resp_init(&r, false);
	imap_resp_text(&r, "two\r\nlines\tand\x7f");
	imap_resp_raw(&r, "|");
	imap_resp_text(&r, "[NOT A CODE] x");
	char *got = out_of(&r);
	assert_string_equal(got, "two  lines and | [NOT A CODE] x");
	free(got);
	imap_resp_free(&r);
}

static void test_printf_and_steal(void **state)
{
	(void)state;
	struct imap_resp r;
	imap_resp_init(&r, false);
	for (int i = 0; i < 1000; i++)
		imap_resp_printf(&r, "%d,", i);
	imap_resp_crlf(&r);
	assert_true(r.len > 3000);
	size_t len;
	char *s = imap_resp_steal(&r, &len);
	assert_int_equal(strncmp(s, "0,1,2,", 6), 0);
	assert_int_equal(memcmp(s + len - 6, "999,\r\n", 6), 0);
	assert_null(r.data);
	assert_int_equal(r.len, 0);
	free(s);
	imap_resp_free(&r);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(imap_utf8_valid(S("")));
	assert_true(imap_utf8_valid(S("ascii")));
	assert_true(imap_utf8_valid(S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")));
	assert_false(imap_utf8_valid(S("\xc3")));                /* truncated */
	assert_false(imap_utf8_valid("\xe2\x82\xac", 2));         /* cut by len */
	assert_false(imap_utf8_valid(S("\xc0\x80")));             /* overlong NUL */
	assert_false(imap_utf8_valid(S("\xed\xb0\x80")));         /* surrogate */
	assert_false(imap_utf8_valid(S("\xf4\x90\x80\x80")));     /* > U+10FFFF */
	assert_false(imap_utf8_valid(S("a\0b")));                 /* NUL */
	assert_false(imap_utf8_valid(S("\x80")));                 /* stray continuation */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_astring_forms),
		cmocka_unit_test(test_string_forms),
		cmocka_unit_test(test_long_strings_are_literals),
		cmocka_unit_test(test_nstring),
		cmocka_unit_test(test_mailbox_names),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_printf_and_steal),
		cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
