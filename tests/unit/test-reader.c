/* Unit tests of the resumable line and byte-count readers (server/net/
 * reader.c): every input is fed whole, then split in two and in three pieces
 * at every position (tests/support/split.h); all feedings must give the
 * same transcript of lines, overlong-line reports and literal payloads
 * (tests/support/reader-driver.h, shared with the fuzz target). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/net/reader.h"
#include "tests/support/reader-driver.h"

/* Feed input whole and at every 1-, 2- and 3-piece split; every transcript
 * must equal want. */
static void check_splits(const char *input, size_t max_line, const char *want)
{
	size_t i, j;
	char *got = split_check_all(&reader_target, &max_line, input, strlen(input), want,
				    strlen(want), &i, &j);
	if (got != NULL)
		fail_msg("split at %zu,%zu of %s\n got: %s\nwant: %s", i, j, input, got, want);
}

static void test_lines_crlf_and_lf(void **state)
{
	(void)state;
	check_splits("a1 NOOP\r\nb\nc\r\n", 64, "Lc:a1 NOOP|Ln:b|Lc:c|R:");
	check_splits("\r\n\n\r\n", 64, "Lc:|Ln:|Lc:|R:");
	/* A bare CR is content; only the CR right before LF is the EOL. */
	check_splits("a\rb\r\n\r\r\n", 64, "Lc:a\rb|Lc:\r|R:");
	check_splits("tail without eol", 64, "R:tail without eol");
	check_splits("x\r\ntail\r", 64, "Lc:x|R:tail\r");
}

static void test_max_line_boundaries(void **state)
{
	(void)state;
	/* Exactly at the limit is accepted, with either EOL. */
	check_splits("12345678\r\nok\r\n", 8, "Lc:12345678|Lc:ok|R:");
	check_splits("12345678\nok\n", 8, "Ln:12345678|Ln:ok|R:");
	/* One over: reported once with the first max_line bytes, then the
	 * reader continues at the next line. */
	check_splits("123456789\r\nok\r\n", 8, "T:12345678|Lc:ok|R:");
	check_splits("123456789\nok\n", 8, "T:12345678|Ln:ok|R:");
	/* A CR in the byte after the limit still needs its LF to decide. */
	check_splits("12345678\rx\r\nok\r\n", 8, "T:12345678|Lc:ok|R:");
	/* Far over, several lines, and an unterminated overlong tail. */
	check_splits("aaaaaaaaaaaaaaaaaaaaaaaa\r\nbbbbbbbbbbbbbbbbbbbbbb\nok\r\n", 8,
		     "T:aaaaaaaa|T:bbbbbbbb|Lc:ok|R:");
	check_splits("ok\r\nzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 8, "Lc:ok|T:zzzzzzzz|R:");
	/* An overlong line that ends exactly where the input ends. */
	check_splits("zzzzzzzzzz\r\n", 8, "T:zzzzzzzz|R:");
	/* max_line 0: only empty lines pass. */
	check_splits("\r\na\r\n\n", 0, "Lc:|T:|Ln:|R:");
}

static void test_literals(void **state)
{
	(void)state;
	check_splits("x {5}\r\nab\r\nc y\r\n", 64, "Lc:x {5}|B:ab\r\nc|Lc: y|R:");
	check_splits("x {0}\r\n\r\n", 64, "Lc:x {0}|B:|Lc:|R:");
	/* A literal may hold anything, including what looks like lines. */
	check_splits("a {12}\r\n\n\r\n{2}\r\nzzzz\nend\n", 64,
		     "Lc:a {12}|B:\n\r\n{2}\r\nzzzz|Ln:|Ln:end|R:");
	/* Literal bytes do not count against the line limit. */
	check_splits("{20}\r\n01234567890123456789\r\n", 8, "Lc:{20}|B:01234567890123456789|Lc:|R:");
	check_splits("{5}\nabc", 8, "Ln:{5}|B:abcR:");
}

static void test_bytes_api(void **state)
{
	(void)state;
	struct reader r;
	reader_init(&r, 16);
	reader_bytes_begin(&r, 4);
	assert_int_equal(reader_bytes_left(&r), 4);
	size_t chunk;
	assert_false(reader_bytes(&r, "ab", 2, &chunk));
	assert_int_equal(chunk, 2);
	assert_true(reader_bytes(&r, "cdef", 4, &chunk));
	assert_int_equal(chunk, 2);
	assert_int_equal(reader_bytes_left(&r), 0);
	/* Nothing given, nothing taken. */
	reader_bytes_begin(&r, 3);
	assert_false(reader_bytes(&r, "", 0, &chunk));
	assert_int_equal(chunk, 0);
}

static void test_set_max_line(void **state)
{
	(void)state;
	struct reader r;
	struct reader_line line;
	size_t used;
	reader_init(&r, 4);
	assert_int_equal(reader_line(&r, "abcdef\n", 7, &line, &used), READER_TOO_LONG);
	assert_int_equal(used, 7);
	reader_set_max_line(&r, 16);
	assert_int_equal(reader_line(&r, "abcdef\n", 7, &line, &used), READER_LINE);
	assert_int_equal(line.len, 6);
	assert_int_equal(line.eol, READER_EOL_LF);
	/* Empty input: nothing happens. */
	assert_int_equal(reader_line(&r, "", 0, &line, &used), READER_NEED_MORE);
	assert_int_equal(used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_crlf_and_lf),
		cmocka_unit_test(test_max_line_boundaries),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_bytes_api),
		cmocka_unit_test(test_set_max_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
