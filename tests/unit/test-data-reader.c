/* Unit tests of the DATA and BDAT readers (server/net/data-reader.c). Every
 * case is fed whole, byte by byte, cut once at every position and (for
 * short inputs) cut twice at every pair of positions, through the shared
 * driver (data-reader-drive.h); all feedings must agree with the expected
 * sink output, error kind and end of data. Covered: dot-unstuffing and the
 * end of DATA, the empty message, line endings that must not end DATA
 * (smuggling), bare LF/CR under both policies, the line limit (stuffed dot
 * not counted), the message size and declared SIZE, NUL policies, BDAT
 * chunks (lines across chunks, dots kept, BDAT 0 LAST, BINARYMIME), the
 * first error winning, a failing sink, and the settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "tests/unit/data-reader-drive.h"

#define NO_END ((size_t)-1)

struct tcase {
	const char *in;
	size_t len;                 /* 0: strlen(in) */
	const char *want;           /* sink output when err is NONE */
	size_t want_len;            /* 0: strlen(want) */
	enum data_error err;
	size_t end;                 /* bytes of the data; NO_END: not ended */
};

static struct data_reader_limits limits(void)
{
	struct data_reader_limits lim = {
		.max_line = 1000,
		.max_size = 0,
		.bare_newline = DATA_NEWLINE_NORMALISE,
		.nul = DATA_NUL_REJECT,
	};
	return lim;
}

static void check_one(const struct tcase *t, size_t len, const struct drive_out *o,
		      const char *how)
{
	if (o->err != t->err)
		fail_msg("%s: error %s, want %s", how, data_error_name(o->err),
			 data_error_name(t->err));
	if (t->end == NO_END) {
		if (o->done)
			fail_msg("%s: ended at %zu, want no end", how, o->consumed);
	} else if (!o->done || o->consumed != t->end) {
		fail_msg("%s: end %zu (done %d), want %zu of %zu", how, o->consumed, o->done,
			 t->end, len);
	}
	if (t->err == DATA_ERR_NONE) {
		size_t wl = t->want_len ? t->want_len : strlen(t->want);
		if (o->olen != wl || (wl > 0 && memcmp(o->out, t->want, wl) != 0))
			fail_msg("%s: output '%.*s', want '%.*s'", how, (int)o->olen, o->out,
				 (int)wl, t->want);
	}
}

/* Run t at every split point (and pair of points for short inputs). */
static void run_case(const struct tcase *t, const struct data_reader_limits *lim,
		     const uint64_t *chunks, size_t n_chunks)
{
	size_t len = t->len ? t->len : strlen(t->in);
	struct drive_out whole = { 0 }, o = { 0 };
	drive(t->in, len, lim, chunks, n_chunks, NULL, 0, &whole);
	check_one(t, len, &whole, "whole");
	char how[64];
	for (size_t i = 0; i <= len; i++) {
		drive(t->in, len, lim, chunks, n_chunks, &i, 1, &o);
		snprintf(how, sizeof(how), "cut at %zu", i);
		check_one(t, len, &o, how);
		assert_true(drive_same(&whole, &o));
		if (len > 80)
			continue;
		for (size_t j = i; j <= len; j++) {
			size_t cuts[2] = { i, j };
			drive(t->in, len, lim, chunks, n_chunks, cuts, 2, &o);
			snprintf(how, sizeof(how), "cut at %zu and %zu", i, j);
			check_one(t, len, &o, how);
			assert_true(drive_same(&whole, &o));
		}
	}
	size_t *bytes = malloc((len + 1) * sizeof(size_t));
	for (size_t i = 0; i < len; i++)
		bytes[i] = i + 1;
	drive(t->in, len, lim, chunks, n_chunks, bytes, len, &o);
	check_one(t, len, &o, "byte by byte");
	free(bytes);
	free(o.out);
	free(whole.out);
}

static void run_data(const struct tcase *t, const struct data_reader_limits *lim)
{
	run_case(t, lim, NULL, 0);
}

/* ---- DATA ---- */

static void test_dot_end_and_unstuffing(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	const char *in1 = "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
	struct tcase t1 = { in1, 0, "Subject: hi\r\n\r\nbody\r\n", 0, DATA_ERR_NONE,
			    strlen(in1) - 6 };
	run_data(&t1, &lim);
	/* A stuffed dot is removed from each line that starts with one. */
	const char *in2 = "..leading\r\n...\r\n.x\r\n..\r\nend\r\n.\r\n";
	struct tcase t2 = { in2, 0, ".leading\r\n..\r\nx\r\n.\r\nend\r\n", 0, DATA_ERR_NONE,
			    strlen(in2) };
	run_data(&t2, &lim);
	/* The empty message, and one whose first line is stuffed. */
	struct tcase t3 = { ".\r\nNOOP\r\n", 0, "", 0, DATA_ERR_NONE, 3 };
	run_data(&t3, &lim);
	struct tcase t4 = { "..\r\n.\r\n", 0, ".\r\n", 0, DATA_ERR_NONE, 7 };
	run_data(&t4, &lim);
	/* A dot inside a line is content. */
	struct tcase t5 = { "a.b\r\n a.\r\n.\r\n", 0, "a.b\r\n a.\r\n", 0, DATA_ERR_NONE, 13 };
	run_data(&t5, &lim);
	/* No end yet: everything is consumed, the held ".\r" is not output. */
	struct tcase t6 = { "line\r\n.\r", 0, "line\r\n", 0, DATA_ERR_NONE, NO_END };
	run_data(&t6, &lim);
}

static void test_only_crlf_dot_crlf_ends(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	/* Each of these looks like an end to a lax reader; none is one. With
	 * normalising, the dot line becomes an empty line. */
	const char *in1 = "a\n.\r\nb\r\n.\r\n";
	struct tcase t1 = { in1, 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, strlen(in1) };
	run_data(&t1, &lim);
	const char *in2 = "a\r\n.\nb\r\n.\r\n";
	struct tcase t2 = { in2, 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, strlen(in2) };
	run_data(&t2, &lim);
	const char *in3 = "a\r.\r\nb\r\n.\r\n";
	struct tcase t3 = { in3, 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, strlen(in3) };
	run_data(&t3, &lim);
	const char *in4 = "a\n.\nb\r\n.\r\n";
	struct tcase t4 = { in4, 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, strlen(in4) };
	run_data(&t4, &lim);
	const char *in5 = "a\r\n.\rb\r\n.\r\n";
	struct tcase t5 = { in5, 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, strlen(in5) };
	run_data(&t5, &lim);
	/* Rejecting: the message fails, and the real end is still found. */
	lim.bare_newline = DATA_NEWLINE_REJECT;
	struct tcase r1 = { in1, 0, "", 0, DATA_ERR_BARE_LF, strlen(in1) };
	run_data(&r1, &lim);
	struct tcase r2 = { in2, 0, "", 0, DATA_ERR_BARE_LF, strlen(in2) };
	run_data(&r2, &lim);
	struct tcase r3 = { in3, 0, "", 0, DATA_ERR_BARE_CR, strlen(in3) };
	run_data(&r3, &lim);
	struct tcase r5 = { in5, 0, "", 0, DATA_ERR_BARE_CR, strlen(in5) };
	run_data(&r5, &lim);
}

static void test_bare_newlines(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	const char *in = "one\ntwo\rthree\r\r\nfour\r\n.\r\nX";
	struct tcase n = { in, 0, "one\r\ntwo\r\nthree\r\n\r\nfour\r\n", 0, DATA_ERR_NONE,
			   strlen(in) - 1 };
	run_data(&n, &lim);
	lim.bare_newline = DATA_NEWLINE_REJECT;
	struct tcase r = { in, 0, "", 0, DATA_ERR_BARE_LF, strlen(in) - 1 };
	run_data(&r, &lim);
	const char *cr = "one\rtwo\r\n.\r\n";
	struct tcase rc = { cr, 0, "", 0, DATA_ERR_BARE_CR, strlen(cr) };
	run_data(&rc, &lim);
	/* CRLF everywhere: nothing to reject. */
	struct tcase ok = { "a\r\n\r\nb\r\n.\r\n", 0, "a\r\n\r\nb\r\n", 0, DATA_ERR_NONE, 11 };
	run_data(&ok, &lim);
}

static void test_line_length(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	lim.max_line = 10;  /* 8 octets and CRLF */
	struct tcase fits = { "12345678\r\n.\r\n", 0, "12345678\r\n", 0, DATA_ERR_NONE, 13 };
	run_data(&fits, &lim);
	struct tcase over = { "123456789\r\nok\r\n.\r\nNOOP", 0, "", 0, DATA_ERR_LINE_TOO_LONG,
			      18 };
	run_data(&over, &lim);
	/* The stuffed dot does not count (RFC 5321 4.5.3.1.6). */
	struct tcase dot = { "..2345678\r\n.\r\n", 0, ".2345678\r\n", 0, DATA_ERR_NONE, 14 };
	run_data(&dot, &lim);
	/* A normalised bare LF ends a line too. */
	struct tcase lf = { "12345678\n12345678\r\n.\r\n", 0, "12345678\r\n12345678\r\n", 0,
			    DATA_ERR_NONE, 22 };
	run_data(&lf, &lim);
	/* Far over the limit in one line: still finds the end. */
	char big[3000];
	memset(big, 'x', 2990);
	memcpy(big + 2990, "\r\n.\r\n", 6);
	struct tcase huge = { big, 0, "", 0, DATA_ERR_LINE_TOO_LONG, 2995 };
	run_data(&huge, &lim);
	lim.max_line = 0;
	struct tcase unlimited = { big, 0, big, 2992, DATA_ERR_NONE, 2995 };
	run_data(&unlimited, &lim);
}

static void test_sizes(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	lim.max_size = 10;
	struct tcase fits = { "12345678\r\n.\r\n", 0, "12345678\r\n", 0, DATA_ERR_NONE, 13 };
	run_data(&fits, &lim);
	/* 11 octets: the sink never gets more than 10 (the driver checks). */
	struct tcase over = { "123456789\r\n.\r\nRSET\r\n", 0, "", 0, DATA_ERR_TOO_BIG, 14 };
	run_data(&over, &lim);
	/* Normalising counts: 9 octets sent, 10 stored; then 10 and 11. */
	struct tcase norm = { "1234\nab\r\n.\r\n", 0, "1234\r\nab\r\n", 0, DATA_ERR_NONE,
			      12 };
	run_data(&norm, &lim);
	struct tcase norm2 = { "12345\nab\r\n.\r\n", 0, "", 0, DATA_ERR_TOO_BIG, 13 };
	run_data(&norm2, &lim);
	/* SIZE=10 declared: counted as the client sent it, stuffing excluded
	 * (RFC 1870: CRLF pairs count, quoting dots do not). */
	lim.max_size = 0;
	lim.declared_size = 10;
	struct tcase decl = { "..234\r\nab\r\n.\r\n", 0, ".234\r\nab\r\n", 0, DATA_ERR_NONE, 14 };
	run_data(&decl, &lim);
	struct tcase decl2 = { "..234\r\nabc\r\n.\r\n", 0, "", 0, DATA_ERR_OVER_DECLARED, 15 };
	run_data(&decl2, &lim);
}

static void test_nul_policies(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	static const char in[] = "a\0b\r\n.\r\n";
	size_t len = sizeof(in) - 1;
	struct tcase rej = { in, len, "", 0, DATA_ERR_NUL, len };
	run_data(&rej, &lim);
	lim.nul = DATA_NUL_STRIP;
	struct tcase strip = { in, len, "ab\r\n", 0, DATA_ERR_NONE, len };
	run_data(&strip, &lim);
	lim.nul = DATA_NUL_KEEP;
	struct tcase keep = { in, len, "a\0b\r\n", 5, DATA_ERR_NONE, len };
	run_data(&keep, &lim);
	/* A kept NUL counts towards the line. */
	lim.max_line = 4;
	struct tcase line = { in, len, "", 0, DATA_ERR_LINE_TOO_LONG, len };
	run_data(&line, &lim);
}

static void test_first_error_wins(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	lim.max_line = 10;
	lim.bare_newline = DATA_NEWLINE_REJECT;
	const char *a = "x\ny23456789012\r\n.\r\n";
	struct tcase ta = { a, 0, "", 0, DATA_ERR_BARE_LF, strlen(a) };
	run_data(&ta, &lim);
	const char *b = "y23456789012\r\nx\nz\r\n.\r\n";
	struct tcase tb = { b, 0, "", 0, DATA_ERR_LINE_TOO_LONG, strlen(b) };
	run_data(&tb, &lim);
	/* Same byte: the size comes before the line. */
	lim.max_size = 8;
	const char *c = "123456789\r\n.\r\n";
	struct tcase tc = { c, 0, "", 0, DATA_ERR_TOO_BIG, strlen(c) };
	lim.max_line = 10;
	run_data(&tc, &lim);
}

static int fail_sink(void *ctx, const char *data, size_t len)
{
	(void)data;
	(void)len;
	(*(int *)ctx)++;
	return LOFT_EIO;
}

static void test_failing_sink_still_finds_end(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	struct data_reader r;
	int calls = 0;
	data_reader_init(&r, &lim, fail_sink, &calls);
	data_reader_begin_dot(&r);
	const char *in = "one\r\ntwo\r\n";
	size_t used;
	assert_int_equal(data_reader_feed(&r, in, strlen(in), &used), DATA_NEED_MORE);
	assert_int_equal(used, strlen(in));
	assert_int_equal(calls, 1);
	assert_int_equal(data_reader_error(&r), DATA_ERR_SINK);
	assert_int_equal(data_reader_sink_error(&r), LOFT_EIO);
	const char *rest = "three\r\n.\r\nQUIT\r\n";
	assert_int_equal(data_reader_feed(&r, rest, strlen(rest), &used), DATA_DONE);
	assert_int_equal(used, strlen(rest) - 6);
	assert_int_equal(calls, 1); /* nothing more after the failure */
	/* Idle after the end: nothing is taken. */
	assert_int_equal(data_reader_feed(&r, "x", 1, &used), DATA_DONE);
	assert_int_equal(used, 0);
	/* The driver's failing sink: the error is the sink's at any split. */
	struct drive_out o = { .sink_fail_at = 2 };
	const char *in2 = "a\nb\nc\r\n.\r\n";
	drive(in2, strlen(in2), &lim, NULL, 0, NULL, 0, &o);
	assert_int_equal(o.err, DATA_ERR_SINK);
	assert_true(o.done);
	assert_int_equal(o.consumed, strlen(in2));
	free(o.out);
}

/* ---- BDAT ---- */

static void test_bdat_chunks(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	/* A line across chunks; dots are content; the command after stays. */
	const char *in = "Subject: x\r\n\r\n.hi\r\n.\r\nby" "e\r\n" "BDAT 0 LAST\r\n";
	uint64_t chunks[] = { 24, 3 };
	struct tcase t = { in, 0, "Subject: x\r\n\r\n.hi\r\n.\r\nbye\r\n", 0, DATA_ERR_NONE, 27 };
	run_case(&t, &lim, chunks, 2);
	/* BDAT 0 LAST after a chunk, and a lone BDAT 0 LAST. */
	uint64_t c2[] = { 5, 0 };
	struct tcase t2 = { "hello\r\nQUIT\r\n", 0, "hello", 0, DATA_ERR_NONE, 5 };
	run_case(&t2, &lim, c2, 2);
	uint64_t c3[] = { 0 };
	struct tcase t3 = { "QUIT\r\n", 0, "", 0, DATA_ERR_NONE, 0 };
	run_case(&t3, &lim, c3, 1);
	/* Not all bytes of the chunk yet: no end. */
	uint64_t c4[] = { 100 };
	struct tcase t4 = { "partial\r\n", 0, "partial\r\n", 0, DATA_ERR_NONE, NO_END };
	run_case(&t4, &lim, c4, 1);
	/* A CRLF split by the chunk boundary is one line end. */
	uint64_t c5[] = { 3, 3 };
	struct tcase t5 = { "ab\r\ncd", 0, "ab\r\ncd", 0, DATA_ERR_NONE, 6 };
	run_case(&t5, &lim, c5, 2);
}

static void test_bdat_policies(void **state)
{
	(void)state;
	struct data_reader_limits lim = limits();
	uint64_t one[] = { 9 };
	struct tcase norm = { "a\nb\rc\r\nd", 0, "a\r\nb\r\nc\r\nd", 0, DATA_ERR_NONE, 8 };
	uint64_t eight[] = { 8 };
	run_case(&norm, &lim, eight, 1);
	/* A CR at the very end of the message. */
	struct tcase endcr = { "abc\r\n\rQUIT", 0, "abc\r\n\r\n", 0, DATA_ERR_NONE, 6 };
	uint64_t six[] = { 6 };
	run_case(&endcr, &lim, six, 1);
	lim.bare_newline = DATA_NEWLINE_REJECT;
	struct tcase rcr = { "abc\r\n\rQUIT", 0, "", 0, DATA_ERR_BARE_CR, 6 };
	run_case(&rcr, &lim, six, 1);
	struct tcase rlf = { "abc\nefgh\r\n", 0, "", 0, DATA_ERR_BARE_LF, 9 };
	run_case(&rlf, &lim, one, 1);
	/* Size across chunks. */
	lim = limits();
	lim.max_size = 6;
	uint64_t c2[] = { 4, 4 };
	struct tcase big = { "abcdefgh", 0, "", 0, DATA_ERR_TOO_BIG, 8 };
	run_case(&big, &lim, c2, 2);
	/* BINARYMIME: bytes pass as they are, no line or newline checks. */
	lim = limits();
	lim.binary = true;
	lim.max_line = 4;
	lim.bare_newline = DATA_NEWLINE_REJECT;
	static const char bin[] = "\0\n\r\xff" "long line here\n.\r\n";
	size_t blen = sizeof(bin) - 1;
	uint64_t c3[] = { 10, blen - 10 };
	struct tcase tb = { bin, blen, bin, blen, DATA_ERR_NONE, blen };
	run_case(&tb, &lim, c3, 2);
	lim.max_size = 5;
	struct tcase tbb = { bin, blen, "", 0, DATA_ERR_TOO_BIG, blen };
	run_case(&tbb, &lim, c3, 2);
}

/* ---- replies and settings ---- */

static void test_replies(void **state)
{
	(void)state;
	assert_null(data_error_reply(DATA_ERR_NONE));
	assert_string_equal(data_error_reply(DATA_ERR_TOO_BIG),
			    "552 5.3.4 Message size exceeds fixed maximum message size");
	assert_true(strncmp(data_error_reply(DATA_ERR_OVER_DECLARED), "552 5.3.4 ", 10) == 0);
	assert_true(strncmp(data_error_reply(DATA_ERR_LINE_TOO_LONG), "500 5.5.2 ", 10) == 0);
	assert_true(strncmp(data_error_reply(DATA_ERR_BARE_LF), "550 5.6.2 ", 10) == 0);
	assert_true(strncmp(data_error_reply(DATA_ERR_BARE_CR), "550 5.6.2 ", 10) == 0);
	assert_true(strncmp(data_error_reply(DATA_ERR_NUL), "550 5.6.0 ", 10) == 0);
	assert_true(strncmp(data_error_reply(DATA_ERR_SINK), "451 4.3.0 ", 10) == 0);
	assert_string_equal(data_error_name(DATA_ERR_BARE_LF), "bare-lf");
}

static void test_limits_from_config(void **state)
{
	(void)state;
	struct loft_config *cfg;
	char *err = NULL;
	const char *text = "[limits]\ndata_max_line_length = 2000\ndata_bare_newline = reject\n"
			   "data_nul_bytes = strip\nmax_literal_size = 1M\n";
	if (conf_load_string("t.conf", text, &cfg, &err) != 0)
		fail_msg("%s", err);
	struct data_reader_limits lim;
	data_reader_limits_from_config(cfg, 1234, &lim);
	assert_int_equal(lim.max_line, 2000);
	assert_int_equal(lim.bare_newline, DATA_NEWLINE_REJECT);
	assert_int_equal(lim.nul, DATA_NUL_STRIP);
	assert_int_equal(lim.max_size, 1024 * 1024);
	assert_int_equal(lim.declared_size, 1234);
	assert_false(lim.binary);
	conf_free(cfg);
	/* The defaults: RFC 5321's 1000, normalise, reject NUL. */
	assert_int_equal(conf_load_string("d.conf", "", &cfg, &err), 0);
	data_reader_limits_from_config(cfg, 0, &lim);
	assert_int_equal(lim.max_line, 1000);
	assert_int_equal(lim.bare_newline, DATA_NEWLINE_NORMALISE);
	assert_int_equal(lim.nul, DATA_NUL_REJECT);
	conf_free(cfg);
	/* Below RFC 5321's minimum is refused. */
	assert_int_not_equal(conf_load_string("b.conf", "[limits]\ndata_max_line_length = 999\n",
					      &cfg, &err), 0);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot_end_and_unstuffing),
		cmocka_unit_test(test_only_crlf_dot_crlf_ends),
		cmocka_unit_test(test_bare_newlines),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_nul_policies),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_failing_sink_still_finds_end),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_bdat_policies),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_limits_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
