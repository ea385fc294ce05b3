/* Unit tests of mailbox names (storage/mailbox-name.c): the validation
 * table (traversal, empty levels, control characters, length limits,
 * invalid UTF-8), INBOX canonicalisation, the strict directory mapping in
 * both directions, parents, and canonical modified UTF-7 in both directions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "lib/utf8.h"
#include "lib/mutf7.h"
#include "storage/mailbox-name.h"
#include "storage/store.h"

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- validation ---- */

static void test_validate_valid(void **state)
{
	static const char *const valid[] = {
		"INBOX", "inbox", "a", "Work/v1.2", "a.b", "...", ".a", "a.", "a..b", "...b/c",
		"a%b", "%2E", "&", "a b", " lead", "trail ", "~peter/mail",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",                 /* 日本語 */
		"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2",     /* Отправ */
		"\xf0\x9f\x98\x80",                                     /* U+1F600 */
		"\xc2\x80",                                             /* U+0080 (C1, allowed) */
		"\xef\xbf\xbf",                                         /* U+FFFF */
		"\xf4\x8f\xbf\xbf",                                     /* U+10FFFF */
		"\xed\x9f\xbf",                                         /* U+D7FF */
		"\xee\x80\x80",                                         /* U+E000 */
		"INBOX/sub/deeper/still",
	};
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const char *why = "unset";
		if (mailbox_name_validate(valid[i], &why) != 0)
			fail_msg("'%s' rejected: %s", valid[i], why);
		assert_null(why);
		assert_int_equal(mailbox_name_validate(valid[i], NULL), 0);
	}
	/* Limits, exactly at the edge: the folder name ("." + encoded name)
	 * must fit in MAILBOX_DIR_NAME_MAX bytes. */
	char *c254 = repeat('c', MAILBOX_DIR_NAME_MAX - 1);
	assert_int_equal(mailbox_name_validate(c254, NULL), 0);
	char *dir = mailbox_name_to_dir(c254);
	assert_int_equal(strlen(dir), MAILBOX_DIR_NAME_MAX);
	free(dir);
	char *c255 = repeat('c', MAILBOX_DIR_NAME_MAX);
	assert_int_equal(mailbox_name_validate(c255, NULL), STORE_EINVALID);
	/* Escaped characters count with their encoded length: 84 dots = 252. */
	char *dots = repeat('.', 84);
	dots[0] = 'a';
	char *dots_ok = xasprintf("%sb", dots);        /* 1 + 1 + 83*3 + 1 = 252 */
	assert_int_equal(mailbox_name_validate(dots_ok, NULL), 0);
	char *dots_bad = xasprintf("%s..b", dots);     /* 1 + 87 + 85*2 = 258 */
	const char *why = NULL;
	assert_int_equal(mailbox_name_validate(dots_bad, &why), STORE_EINVALID);
	assert_non_null(strstr(why, "too long"));
	/* Hierarchy counts too: "x/y" is ".x.y". */
	char *half = repeat('h', 126);
	char *two = xasprintf("%s/%s", half, half);    /* 1 + 253 = 254 */
	assert_int_equal(mailbox_name_validate(two, NULL), 0);
	char *two_edge = xasprintf("%s/%sh", half, half); /* exactly 255 */
	assert_int_equal(mailbox_name_validate(two_edge, NULL), 0);
	char *three_bad = xasprintf("%s/%shh", half, half);
	assert_int_equal(mailbox_name_validate(three_bad, NULL), STORE_EINVALID);
	free(three_bad);
	free(two_edge);
	free(two);
	free(half);
	free(dots_bad);
	free(dots_ok);
	free(dots);
	free(c255);
	free(c254);
}

static void test_validate_invalid(void **state)
{
	static const char *const invalid[] = {
		"", ".", "..", "a/../b", "../a", "a/..", "a/./b", "./a", "a/.",
		"a//b", "/a", "a/", "/", "//",
		"a\x01", "\x1f", "a\tb", "a\nb", "a\rb", "a\x7f", "\x7f",
		"\xc0\x80",             /* overlong NUL */
		"\xc0\xaf",             /* overlong '/' */
		"\xc1\xbf",             /* overlong */
		"\xe0\x80\xaf",         /* overlong '/' in 3 bytes */
		"\xe0\x9f\xbf",         /* overlong U+07FF */
		"\xf0\x80\x80\xaf",     /* overlong '/' in 4 bytes */
		"\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
		"\xed\xa0\x80",         /* U+D800 high surrogate */
		"\xed\xbf\xbf",         /* U+DFFF low surrogate */
		"\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 U+1F600 */
		"\xf4\x90\x80\x80",     /* U+110000 */
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\x80", "a\xbf", "\xe6\x97", "a\xe6\x97", "\xc3", "\xc3\x28", "\xe6\x28\xa5",
		"\xf0\x9f\x98",
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *why = NULL;
		if (mailbox_name_validate(invalid[i], &why) != STORE_EINVALID)
			fail_msg("invalid name #%zu accepted", i);
		assert_non_null(why);
		assert_int_equal(mailbox_name_validate(invalid[i], NULL), STORE_EINVALID);
		assert_null(mailbox_name_canonical(invalid[i]));
		assert_null(mailbox_name_to_dir(invalid[i]));
		assert_null(mailbox_name_parent(invalid[i]));
	}
	assert_int_equal(mailbox_name_validate(NULL, NULL), STORE_EINVALID);
	/* Every control character, alone and inside a name. */
	for (int c = 1; c < 0x20; c++) {
		char name[4] = { 'a', (char)c, 'b', 0 };
		assert_int_equal(mailbox_name_validate(name, NULL), STORE_EINVALID);
	}
	char *c256 = repeat('c', MAILBOX_COMPONENT_MAX + 1);
	assert_int_equal(mailbox_name_validate(c256, NULL), STORE_EINVALID);
	char *nested = xasprintf("a/%s/b", c256);
	assert_int_equal(mailbox_name_validate(nested, NULL), STORE_EINVALID);
	/* A 2-byte character pushing a component to 256 bytes. */
	c256[254] = '\xc3';
	c256[255] = '\xa9';
	assert_int_equal(mailbox_name_validate(c256, NULL), STORE_EINVALID);
	free(nested);
	free(c256);
	char *huge = repeat('a', 5000);
	for (size_t i = 100; i < 5000; i += 101)
		huge[i] = '/';
	assert_int_equal(mailbox_name_validate(huge, NULL), STORE_EINVALID);
	free(huge);
}

static void test_is_inbox(void **state)
{
	assert_true(mailbox_name_is_inbox("INBOX"));
	assert_true(mailbox_name_is_inbox("inbox"));
	assert_true(mailbox_name_is_inbox("InBoX"));
	assert_false(mailbox_name_is_inbox("INBOX/x"));
	assert_false(mailbox_name_is_inbox("INBOX "));
	assert_false(mailbox_name_is_inbox("INBO"));
	assert_false(mailbox_name_is_inbox("INBOXX"));
	assert_false(mailbox_name_is_inbox(""));
	assert_false(mailbox_name_is_inbox(NULL));
}

static void test_canonical(void **state)
{
	static const char *const cases[][2] = {
		{ "INBOX", "INBOX" }, { "inbox", "INBOX" }, { "Inbox", "INBOX" },
		{ "inbox/x", "INBOX/x" }, { "iNbOx/Sub/inbox", "INBOX/Sub/inbox" },
		{ "inboxes", "inboxes" }, { "inboxes/x", "inboxes/x" }, { "inb/x", "inb/x" },
		{ "Work/inbox", "Work/inbox" }, { "Sent", "Sent" },
		{ "\xe6\x97\xa5", "\xe6\x97\xa5" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = mailbox_name_canonical(cases[i][0]);
		assert_non_null(c);
		assert_string_equal(c, cases[i][1]);
		free(c);
	}
}

/* ---- directory mapping ---- */

static void test_to_dir(void **state)
{
	static const char *const cases[][2] = {
		{ "INBOX", "" }, { "inbox", "" }, { "Work", ".Work" },
		{ "Work/v1.2", ".Work.v1%2E2" }, { "a%b", ".a%25b" }, { "%2E", ".%252E" },
		{ "inbox/x", ".INBOX.x" }, { "INBOX/x/y", ".INBOX.x.y" },
		{ ".hidden", ".%2Ehidden" }, { "...", ".%2E%2E%2E" }, { "a./.b", ".a%2E.%2Eb" },
		{ "Trash", ".Trash" }, { "a b/c", ".a b.c" }, { "&", ".&" },
		{ "\xe6\x97\xa5\xe6\x9c\xac", ".\xe6\x97\xa5\xe6\x9c\xac" },
		{ "cur", ".cur" }, { "tmp/new", ".tmp.new" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = mailbox_name_to_dir(cases[i][0]);
		assert_non_null(d);
		assert_string_equal(d, cases[i][1]);
		assert_null(strchr(d, '/'));
		if (d[0] != '\0') {
			char *back = mailbox_name_from_dir(d);
			char *canon = mailbox_name_canonical(cases[i][0]);
			assert_non_null(back);
			assert_string_equal(back, canon);
			free(back);
			free(canon);
		}
		free(d);
	}
	/* The worst case for escaping: every byte a '%' or '.'. */
	char *pct = repeat('%', (MAILBOX_DIR_NAME_MAX - 1) / 3); /* 84 -> 253 */
	char *name = xasprintf("%s/x", pct);
	char *d = mailbox_name_to_dir(name);
	assert_non_null(d);
	assert_int_equal(strlen(d), 1 + 3 * 84 + 2);
	char *back = mailbox_name_from_dir(d);
	assert_non_null(back);
	assert_string_equal(back, name);
	free(back);
	free(d);
	free(name);
	free(pct);
}

static void test_from_dir_invalid(void **state)
{
	static const char *const invalid[] = {
		"", ".", "..", "...", "cur", "new", "tmp", "Work", "Work.x", "loft-keywords",
		".INBOX", ".inbox", ".Inbox", ".inbox.x", ".Inbox.Sub",
		".Work.", ".Work..x", "..Work", ".%2e", ".%41", ".%", ".%2", ".%25%", ".%2F",
		".a%2Fb", ".%2E", ".%2E%2E", ".a.%2E.b", ".a.%2E%2E.b", ".%20", ".%25%2", ".%%",
		".a\x01", ".\x7f", ".\xc0\x80", ".\xed\xa0\x80", ".\xff", ".a/b", "./a",
		".a/../b",
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char *n = mailbox_name_from_dir(invalid[i]);
		if (n != NULL)
			fail_msg("from_dir('%s') = '%s', want NULL", invalid[i], n);
	}
	assert_null(mailbox_name_from_dir(NULL));
	/* Over-long names. */
	char *c256 = repeat('c', MAILBOX_COMPONENT_MAX + 1);
	char *dir = xasprintf(".%s", c256);
	assert_null(mailbox_name_from_dir(dir));
	free(dir);
	char *c255 = repeat('c', MAILBOX_DIR_NAME_MAX - 1);
	dir = xasprintf(".%s", c255);
	char *ok = mailbox_name_from_dir(dir);
	assert_non_null(ok);
	assert_string_equal(ok, c255);
	free(ok);
	free(dir);
	dir = xasprintf(".%sc", c255);  /* one byte over the folder name limit */
	ok = mailbox_name_from_dir(dir);
	assert_null(ok);
	free(ok);
	free(dir);
	dir = xasprintf(".%s.%s.%s.%s.x", c255, c255, c255, c255);
	assert_null(mailbox_name_from_dir(dir));
	free(dir);
	char *huge = repeat('x', 20000);
	huge[0] = '.';
	assert_null(mailbox_name_from_dir(huge));
	free(huge);
	free(c255);
	free(c256);
}

static void test_parent(void **state)
{
	static const char *const cases[][2] = {
		{ "a/b/c", "a/b" }, { "a/b", "a" }, { "inbox/x", "INBOX" },
		{ "inbox/x/y", "INBOX/x" }, { "Work/v1.2/z", "Work/v1.2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = mailbox_name_parent(cases[i][0]);
		assert_non_null(p);
		assert_string_equal(p, cases[i][1]);
		free(p);
	}
	assert_null(mailbox_name_parent("a"));
	assert_null(mailbox_name_parent("INBOX"));
	assert_null(mailbox_name_parent("a//b"));
	assert_null(mailbox_name_parent(NULL));
}

/* ---- modified UTF-7 ---- */

static void test_mutf7_decode_valid(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" },
		{ "INBOX", "INBOX" },
		{ "&-", "&" },
		{ "&--", "&-" },
		{ "a&-b&-", "a&b&" },
		{ "&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
		{ "&2D3eANg93gE-", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81" },
		{ "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-",
		  "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd"
		  "\xd0\xbd\xd1\x8b\xd0\xb5" },
		{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
		{ "&AOkA6Q-", "\xc3\xa9\xc3\xa9" },
		{ "&AOk-&-", "\xc3\xa9&" },
		{ "&-&AOk-", "&\xc3\xa9" },
		{ "&AOk-x&AOk-", "\xc3\xa9x\xc3\xa9" },
		{ "&AH8-", "\x7f" },
		{ "&AAE-", "\x01" },
		{ "&AIA-", "\xc2\x80" },
		{ "&,,8-", "\xef\xbf\xbf" },
		{ "&2,,f,w-", "\xf4\x8f\xbf\xbf" },
		/* RFC 3501 5.1.3 example */
		{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		  "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ " ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}",
		  " ~!\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = mutf7_to_utf8(cases[i][0]);
		if (u == NULL)
			fail_msg("decode('%s') failed", cases[i][0]);
		assert_string_equal(u, cases[i][1]);
		char *m = utf8_to_mutf7(u);
		assert_non_null(m);
		assert_string_equal(m, cases[i][0]);
		free(m);
		free(u);
	}
}

static void test_mutf7_decode_invalid(void **state)
{
	static const char *const invalid[] = {
		"&",            /* not closed */
		"a&",
		"&AOk",         /* not closed */
		"&AOl-",        /* padding bits not zero */
		"&AOkA-",       /* superfluous base64 character */
		"&AOkA6QA-",
		"&AGE-",        /* encoded 'a' */
		"&ACA-",        /* encoded space */
		"&AH4-",        /* encoded '~' */
		"&ACY-",        /* encoded '&' */
		"&AC0-",        /* encoded '-' */
		"&AOkAYQ-",     /* printable inside a longer run */
		"&AOk-&AOk-",   /* two runs where one belongs */
		"&2D3eAA-&2D3eAA-",
		"&2D0-",        /* lone high surrogate */
		"&3gA-",        /* lone low surrogate */
		"&2D3YPQ-",     /* high followed by high */
		"&2D0AYQ-",     /* high followed by a non-surrogate */
		"&3gDYPQ-",     /* low then high */
		"&AAA-",        /* U+0000 */
		"&A/k-",        /* '/' is not modified base64 */
		"&AOk=-",
		"&AO k-",
		"&Jjo!-",
		"&&-",
		"&A-",
		"&AO-",
		"a\x80\x62",     /* 8-bit */
		"\xc3\xa9",     /* raw UTF-8 */
		"a\tb",         /* control */
		"\x7f",
		"\x01",
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char *u = mutf7_to_utf8(invalid[i]);
		if (u != NULL)
			fail_msg("decode('%s') accepted as '%s'", invalid[i], u);
	}
	assert_null(mutf7_to_utf8(NULL));
}

static void test_mutf7_encode(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" },
		{ "&", "&-" },
		{ "&&", "&-&-" },
		{ "\xc3\xa9&", "&AOk-&-" },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
		{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
		{ "a\x7f", "a&AH8-" },
		{ "a\x01\x02", "a&AAEAAg-" },
		{ "Sent Items", "Sent Items" },
		{ "x-y", "x-y" },
		{ "\xc3\xa9-", "&AOk--" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = utf8_to_mutf7(cases[i][0]);
		assert_non_null(m);
		assert_string_equal(m, cases[i][1]);
		free(m);
	}
	static const char *const bad[] = {
		"\xc0\x80", "\xed\xa0\x80", "\xff", "a\xe6\x97", "\xf4\x90\x80\x80", "\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(utf8_to_mutf7(bad[i]));
	assert_null(utf8_to_mutf7(NULL));
}

/* Every code point (non-BMP sampled) in 1-, 2- and 3-unit runs, between
 * direct characters and '&', survives encode then decode, and the encoding
 * uses printable ASCII only. */
static void test_mutf7_roundtrip_all(void **state)
{
	char utf8[64], *m, *u;
	for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 37) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		for (int shape = 0; shape < 3; shape++) {
			size_t n = 0;
			if (shape == 1)
				utf8[n++] = '&';
			n += utf8_encode(utf8 + n, cp);
			if (shape >= 1)
				n += utf8_encode(utf8 + n, cp);
			if (shape == 2) {
				n += utf8_encode(utf8 + n, 0xe9);
				utf8[n++] = '&';
			}
			utf8[n] = '\0';
			m = utf8_to_mutf7(utf8);
			assert_non_null(m);
			for (const char *p = m; *p != '\0'; p++)
				assert_true(*p >= 0x20 && *p <= 0x7e);
			u = mutf7_to_utf8(m);
			if (u == NULL || strcmp(u, utf8) != 0)
				fail_msg("U+%04X shape %d: '%s' did not round-trip", cp, shape, m);
			free(u);
			free(m);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_valid),
		cmocka_unit_test(test_validate_invalid),
		cmocka_unit_test(test_is_inbox),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_to_dir),
		cmocka_unit_test(test_from_dir_invalid),
		cmocka_unit_test(test_parent),
		cmocka_unit_test(test_mutf7_decode_valid),
		cmocka_unit_test(test_mutf7_decode_invalid),
		cmocka_unit_test(test_mutf7_encode),
		cmocka_unit_test(test_mutf7_roundtrip_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
