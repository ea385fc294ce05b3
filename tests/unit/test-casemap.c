/* i;unicode-casemap (lib/casemap.h, RFC 5051): ASCII, Latin, Greek and
 * Cyrillic case pairs, titlecase digraphs, decompositions (canonical and
 * compatibility, recursive), Hangul, invalid UTF-8, the octet order, and
 * the streaming form at every split point of every input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/casemap.h"

static char *mapped(const char *s)
{
	struct casemap_buf b = { 0 };
	casemap_utf8(s, strlen(s), &b);
	char *out = malloc(b.len + 1);
	memcpy(out, b.data != NULL ? b.data : "", b.len);
	out[b.len] = '\0';
	casemap_buf_free(&b);
	return out;
}

/* The streaming form gives the same bytes for every split. */
static void check_splits(const char *s)
{
	char *whole = mapped(s);
	size_t n = strlen(s);
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			struct casemap_stream st = { 0 };
			struct casemap_buf out = { 0 };
			casemap_stream_run(&st, s, a, &out);
			casemap_stream_run(&st, s + a, b - a, &out);
			casemap_stream_run(&st, s + b, n - b, &out);
			casemap_stream_finish(&st, &out);
			assert_int_equal(out.len, strlen(whole));
			assert_memory_equal(out.data != NULL ? out.data : "", whole, out.len);
			casemap_buf_free(&out);
		}
	}
	free(whole);
}

static void same(const char *a, const char *b)
{
	char *x = mapped(a), *y = mapped(b);
	assert_string_equal(x, y);
	assert_int_equal(casemap_compare(a, strlen(a), b, strlen(b)), 0);
	free(x);
	free(y);
	check_splits(a);
	check_splits(b);
}

static void differ(const char *a, const char *b)
{
	char *x = mapped(a), *y = mapped(b);
	assert_string_not_equal(x, y);
	free(x);
	free(y);
}

static void test_ascii(void **state)
{
	(void)state;
	char *m = mapped("Hello, World! 123 [a-z]");
	assert_string_equal(m, "HELLO, WORLD! 123 [A-Z]");
	free(m);
	same("abcxyz", "ABCXYZ");
	differ("a", "b");
}

static void test_scripts(void **state)
{
	(void)state;
	same("straße", "STRAßE");           /* no full folding: ß stays */
	differ("straße", "STRASSE");
	same("Crème Brûlée", "CRÈME BRÛLÉE");
	same("ÆØÅ æøå", "æøå ÆØÅ");
	same("σοφία", "ΣΟΦΊΑ");
	same("ς", "Σ");                      /* final sigma: title Σ */
	same("Привет, мир", "ПРИВЕТ, МИР");
	same("ёлка", "ЁЛКА");
	same("ґанок", "ҐАНОК");
	/* diacritics decompose: the base letter is a prefix */
	char *e = mapped("é");
	assert_string_equal(e, "E\xcc\x81");
	free(e);
}

static void test_titlecase_and_compat(void **state)
{
	(void)state;
	/* DŽ, Dž, dž all map to D + Z + caron (titlecase Dž, then decomposed) */
	same("\xc7\x84", "\xc7\x85");
	same("\xc7\x86", "\xc7\x84");
	char *m = mapped("\xc7\x86");
	assert_string_equal(m, "DZ\xcc\x8c");
	free(m);
	/* compatibility decompositions, mapped again: ﬁ → FI, ① → 1, ｆｕｌｌ → FULL */
	same("\xef\xac\x81", "FI");
	same("\xe2\x91\xa0", "1");
	same("\xef\xbd\x86\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c", "full");
	/* Hangul syllables decompose into jamo */
	m = mapped("\xea\xb0\x81");   /* U+AC01 */
	assert_string_equal(m, "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8");
	free(m);
	check_splits("\xea\xb0\x81\xea\xb0\x80");
	assert_string_equal(casemap_version(), "14.0.0");
}

static void test_invalid_and_order(void **state)
{
	(void)state;
	char *m = mapped("a\xff" "b\xc3");
	assert_string_equal(m, "A\xef\xbf\xbd" "B\xef\xbf\xbd");
	free(m);
	m = mapped("\xed\xa0\x80");     /* a surrogate */
	assert_string_equal(m, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(m);
	check_splits("x\xe2\x82\xacy\xc3\xa9\xf0\x9f\x98\x80z\xff");
	assert_true(casemap_compare("abc", 3, "ABD", 3) < 0);
	assert_true(casemap_compare("b", 1, "A", 1) > 0);
	assert_true(casemap_compare("ab", 2, "AB ", 3) < 0);
	assert_int_equal(casemap_compare("", 0, "", 0), 0);
	assert_true(casemap_compare("e", 1, "é", 2) < 0);   /* E < E + U+0301 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_titlecase_and_compat),
		cmocka_unit_test(test_invalid_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
