/* Unit tests of the IMAP command parser (server/imap/parser.c): commands,
 * quoted strings, {n} and {n+} literals, lists and section atoms, and every
 * error path (garbage, unbalanced lists, overlong lines, literals over the
 * limit, nesting and argument limits). Each input is fed whole and split in
 * two and three pieces at every position (tests/support/split.h); every
 * feeding must give the same transcript of events (tests/support/imap-
 * parser-driver.h, shared with the fuzz target). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/parser.h"
#include "tests/support/imap-parser-driver.h"

static const struct imap_parser_limits default_limits = {
	.max_line = 64, .max_literal = 16, .max_depth = 4, .max_args = 12,
};

/* What the driver decides at an APPEND literal (see imap-parser-driver.h). */
static char drv_decide = 'b';

static void check_lim(const char *input, const struct imap_parser_limits *lim, const char *want)
{
	size_t i, j;
	struct imap_drv_config cfg = { *lim, drv_decide };
	char *got = split_check_all(&imap_parser_target, &cfg, input, strlen(input), want,
				    strlen(want), &i, &j);
	if (got != NULL)
		fail_msg("split at %zu,%zu\n got: %s\nwant: %s", i, j, got, want);
}

static void check(const char *input, const char *want)
{
	check_lim(input, &default_limits, want);
}

static void test_simple_commands(void **state)
{
	(void)state;
	check("a1 NOOP\r\n", "C a1 NOOP|R:0");
	check("a1 noop\nA.2 CapaBility\r\n", "C a1 NOOP|C A.2 CAPABILITY|R:0");
	check("\r\n\na3 LOGOUT\r\n", "C a3 LOGOUT|R:0");
	check("a4 NOOP", "R:7"); /* incomplete: kept, nothing reported */
	check("t] NOOP\r\n", "C t] NOOP|R:0"); /* ']' is a tag character */
}

static void test_arguments(void **state)
{
	(void)state;
	check("a LOGIN alice \"se cr\\\"et\\\\\"\r\n",
	      "C a LOGIN alice \"se cr\"et\\\"|R:0");
	check("a LIST \"\" %\r\n", "C a LIST \"\" %|R:0");
	check("a STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n",
	      "C a STORE 1:* +FLAGS (\\Seen \\Deleted)|R:0");
	check("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.10> UID)\r\n",
	      "C a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.10> UID)|R:0");
	check("a X ((a) () b)\r\n", "C a X ((a) () b)|R:0");
	check("a X  two  spaces\r\n", "C a X two spaces|R:0");
	check("a X NIL \"\"\r\n", "C a X NIL \"\"|R:0");
}

static void test_literals(void **state)
{
	(void)state;
	check("a LOGIN {5}\r\nalice {3}\r\npw!\r\n", "+|+|C a LOGIN {5:alice} {3:pw!}|R:0");
	check("a LOGIN {5+}\r\nalice {3+}\r\npw!\r\n", "C a LOGIN {5:alice} {3:pw!}|R:0");
	check("a X (x {4}\r\n)(\r\n y)\r\n", "+|C a X (x {4:)(\r\n} y)|R:0");
	check("a X {0}\r\n\r\n", "+|C a X {0:}|R:0");
	/* A literal may hold NUL and 8-bit bytes; the length says so. */
	check("a X {3+}\r\nx\x01y\r\n", "C a X {3:x\x01y}|R:0");
	/* Waiting for literal bytes: nothing reported yet beyond "+". */
	check("a X {4}\r\nab", "+|R:0");
}

static void test_errors_keep_going(void **state)
{
	(void)state;
	check("a X \"open\r\nb NOOP\r\n", "E a BAD Unterminated quoted string|C b NOOP|R:0");
	check("a X )\r\nb NOOP\r\n", "E a BAD Unexpected ')'|C b NOOP|R:0");
	check("a X (b\r\nc NOOP\r\n", "E a BAD Missing ')'|C c NOOP|R:0");
	check("a X \"\\n\"\r\n", "E a BAD Invalid escape in quoted string|R:0");
	check("*bad X\r\n+x Y\r\n", "E * BAD Invalid tag|E * BAD Invalid tag|R:0");
	check("lonely\r\nb\r\n", "E lonely BAD Missing command|E b BAD Missing command|R:0");
	check("a X{1}\r\n", "E a BAD Invalid command name|R:0");
	check("a X a\"b\r\n", "E a BAD Invalid characters in atom|R:0");
	check("a X (a)b\r\n", "E a BAD Missing space between arguments|R:0");
	check("a X BODY[TEXT\r\n", "E a BAD Missing ']'|R:0");
	check("a X {3} y\r\n", "E a BAD Invalid literal (must be {n} or {n+} at the end of the line)|R:0");
	/* An error before a {n+} literal: the literal is skipped unread, the
	 * error is answered when the command ends. */
	check("a X ) {3+}\r\n(((\r\nb NOOP\r\n", "E a BAD Unexpected ')'|C b NOOP|R:0");
	/* Before a synchronizing literal: answered at once (the client waits
	 * for "+" and gets the tagged error instead). */
	check("a X ) {3}\r\nb NOOP\r\n", "E a BAD Unexpected ')'|C b NOOP|R:0");
}

static void test_limits(void **state)
{
	(void)state;
	/* Literal over max_literal (16): synchronizing -> NO [TOOBIG] and the
	 * client sends nothing; non-synchronizing -> skipped, BAD [TOOBIG]. */
	check("a X x {17}\r\nb NOOP\r\n", "E a NO [TOOBIG] Literal too big|C b NOOP|R:0");
	check("a X x {16}\r\n0123456789abcdef\r\n",
	      "+|C a X x {16:0123456789abcdef}|R:0");
	check("a X x {20+}\r\n01234567890123456789 more\r\nb NOOP\r\n",
	      "E a BAD [TOOBIG] Literal too big|C b NOOP|R:0");
	/* Overlong line (max 64): the tag is still found and answered. */
	check("c1 X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nc2 NOOP\r\n",
	      "E c1 BAD Command line too long|C c2 NOOP|R:0");
	check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nc2 NOOP\r\n",
	      "E * BAD Command line too long|C c2 NOOP|R:0");
	/* Exactly 64 bytes is fine. */
	check("c1 X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
	      "C c1 X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|R:0");
	/* An overlong continuation line after a literal keeps the tag. */
	check("c3 X {1+}\r\nzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nc4 NOOP\r\n",
	      "E c3 BAD Command line too long|C c4 NOOP|R:0");
	/* Depth 4 is allowed, 5 is not; 12 arguments, not 13. */
	check("d X ((((a))))\r\n", "C d X ((((a))))|R:0");
	check("d X (((((a)))))\r\ne NOOP\r\n", "E d BAD Lists nested too deeply|C e NOOP|R:0");
	check("f X 1 2 3 4 5 6 7 8 9 10 11 12\r\n", "C f X 1 2 3 4 5 6 7 8 9 10 11 12|R:0");
	check("f X 1 2 3 4 5 6 7 8 9 10 11 12 13\r\n", "E f BAD Too many arguments|R:0");
}

/* Nesting and argument limits as small as a configuration may set them
 * (and smaller): exactly N is accepted, N+1 is a tagged BAD, and the
 * connection's next command still parses. */
static void test_small_limits_at_the_edge(void **state)
{
	(void)state;
	struct imap_parser_limits lim = default_limits;
	char in[256], want[300];
	for (unsigned n = 1; n <= 3; n++) {
		lim.max_depth = n;
		char open[8] = "", close[8] = "";
		memset(open, '(', n);
		memset(close, ')', n);
		snprintf(in, sizeof(in), "d X %sa%s\r\ne NOOP\r\n", open, close);
		snprintf(want, sizeof(want), "C d X %sa%s|C e NOOP|R:0", open, close);
		check_lim(in, &lim, want);
		snprintf(in, sizeof(in), "d X (%sa%s)\r\ne NOOP\r\n", open, close);
		check_lim(in, &lim, "E d BAD Lists nested too deeply|C e NOOP|R:0");
		/* side by side lists do not add up */
		snprintf(in, sizeof(in), "d X %sa%s %sb%s\r\n", open, close, open, close);
		snprintf(want, sizeof(want), "C d X %sa%s %sb%s|R:0", open, close, open, close);
		check_lim(in, &lim, want);
	}
	/* the deep list after a {n+} literal: the error comes at the command's end */
	lim.max_depth = 1;
	check_lim("d X (a {2+}\r\nxy) ((b))\r\ne NOOP\r\n", &lim,
		  "E d BAD Lists nested too deeply|C e NOOP|R:0");
	lim = default_limits;
	for (unsigned n = 1; n <= 4; n++) {
		lim.max_args = n;
		size_t len = (size_t)snprintf(in, sizeof(in), "f X");
		for (unsigned i = 1; i <= n; i++)
			len += (size_t)snprintf(in + len, sizeof(in) - len, " %u", i);
		snprintf(want, sizeof(want), "C %s|R:0", in);
		snprintf(in + len, sizeof(in) - len, "\r\n");
		check_lim(in, &lim, want);
		len -= 2;
		snprintf(in + len + 2, sizeof(in) - len - 2, " %u\r\ng NOOP\r\n", n + 1);
		check_lim(in, &lim, "E f BAD Too many arguments|C g NOOP|R:0");
	}
	/* a list counts as one argument plus its members */
	lim.max_args = 3;
	check_lim("f X (a b)\r\n", &lim, "C f X (a b)|R:0");
	check_lim("f X (a b c)\r\n", &lim, "E f BAD Too many arguments|R:0");
	check_lim("f X () a b\r\n", &lim, "C f X () a b|R:0");
	check_lim("f X () a b c\r\n", &lim, "E f BAD Too many arguments|R:0");
	/* literals count too, across continuation lines */
	check_lim("f X a {1}\r\nb c\r\n", &lim, "+|C f X a {1:b} c|R:0");
	check_lim("f X a {1}\r\nb c d\r\ng NOOP\r\n", &lim,
		  "+|E f BAD Too many arguments|C g NOOP|R:0");
}

static void test_literal8(void **state)
{
	(void)state;
	check("a X ~{3}\r\nx\x01y\r\n", "+|C a X ~{3:x\x01y}|R:0");
	check("a X ~{3+}\r\nabc ~{0}\r\n\r\n", "+|C a X ~{3:abc} ~{0:}|R:0");
	check("a X ~{3 }\r\n", "E a BAD Invalid literal (must be {n} or {n+} at the end of the line)|R:0");
}

/* The sum of a command's buffered literals is limited, so a client cannot
 * make one command hold more than max_literal_total in memory: over it a
 * {n} is refused before it is sent and a {n+} is skipped unread. */
static void test_literal_total(void **state)
{
	(void)state;
	struct imap_parser_limits lim = default_limits;
	lim.max_literal_total = 20;
	check_lim("a LOGIN {10+}\r\n0123456789 {10+}\r\n0123456789\r\n", &lim,
		  "C a LOGIN {10:0123456789} {10:0123456789}|R:0");
	check_lim("a LOGIN {10+}\r\n0123456789 {10+}\r\n0123456789 {1+}\r\nx\r\nb NOOP\r\n", &lim,
		  "E a BAD [TOOBIG] Too much literal data in one command|C b NOOP|R:0");
	check_lim("a LOGIN {10+}\r\n0123456789 {11}\r\nb NOOP\r\n", &lim,
		  "E a NO [TOOBIG] Too much literal data in one command|C b NOOP|R:0");
	/* the total starts again with each command */
	check_lim("a X {16+}\r\n0123456789abcdef\r\nb X {16+}\r\n0123456789abcdef\r\n", &lim,
		  "C a X {16:0123456789abcdef}|C b X {16:0123456789abcdef}|R:0");
}

/* A streaming command's literal: offered with what was parsed so far, then
 * streamed out (never counted against the buffer limits), buffered like any
 * literal, or refused (a {n} at once, a {n+} after skipping its bytes). */
static void test_streamed_literals(void **state)
{
	(void)state;
	struct imap_parser_limits lim = default_limits;
	lim.max_literal_total = 20;
	drv_decide = 's';
	/* 40 bytes: over max_literal (16) and the total (20), but streamed. */
	check_lim("a APPEND INBOX (\\Seen) {40}\r\n0123456789012345678901234567890123456789\r\nb NOOP\r\n",
		  &lim, "L a 40 args=2 depth=0|D 0123456789012345678901234567890123456789|"
		  "C a APPEND INBOX (\\Seen) {40:streamed}|C b NOOP|R:0");
	check_lim("a APPEND box ~{3+}\r\nx\x01y\r\n", &lim,
		  "L a 3+ lit8 args=1 depth=0|D x\x01y|C a APPEND box ~{3:streamed}|R:0");
	check_lim("a APPEND box {0}\r\n\r\n", &lim,
		  "L a 0 args=1 depth=0|D |C a APPEND box {0:streamed}|R:0");
	/* other commands' literals are not offered */
	check_lim("a LOGIN {2}\r\nab x\r\n", &lim, "+|C a LOGIN {2:ab} x|R:0");
	/* a syntax error after the streamed literal still fails the command */
	check_lim("a APPEND box {2}\r\nab )\r\nb NOOP\r\n", &lim,
		  "L a 2 args=1 depth=0|D ab|E a BAD Unexpected ')'|C b NOOP|R:0");
	drv_decide = 'r';
	check_lim("a APPEND box {30}\r\nb NOOP\r\n", &lim,
		  "L a 30 args=1 depth=0|E a NO [TRYCREATE] no box|C b NOOP|R:0");
	check_lim("a APPEND box {30+}\r\n012345678901234567890123456789\r\nb NOOP\r\n", &lim,
		  "L a 30+ args=1 depth=0|E a NO [TRYCREATE] no box|C b NOOP|R:0");
	drv_decide = 'b';
	check_lim("a APPEND {5}\r\nINBOX {3}\r\nabc\r\n", &lim,
		  "L a 5 args=0 depth=0|L a 3 args=1 depth=0|C a APPEND {5:INBOX} {3:abc}|R:0");
	/* buffered, the limits apply */
	check_lim("a APPEND box {17}\r\nb NOOP\r\n", &lim,
		  "L a 17 args=1 depth=0|E a NO [TOOBIG] Literal too big|C b NOOP|R:0");
}

static void test_set_limits_between_commands(void **state)
{
	(void)state;
	struct imap_parser *p = imap_parser_create(&default_limits);
	struct imap_parser_limits bigger = default_limits;
	bigger.max_line = 200;
	size_t used;
	char line[120];
	memset(line, 'x', sizeof(line));
	memcpy(line, "a X ", 4);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	assert_int_equal(imap_parser_feed(p, line, sizeof(line), &used), IMAP_PARSE_ERROR);
	assert_true(imap_parser_error(p)->line_too_long);
	imap_parser_set_limits(p, &bigger);
	assert_int_equal(imap_parser_get_limits(p)->max_line, 200);
	assert_int_equal(imap_parser_feed(p, line, sizeof(line), &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, sizeof(line));
	const struct imap_command *cmd = imap_parser_command(p);
	assert_int_equal(cmd->n_args, 1);
	assert_int_equal(cmd->args[0].type, IMAP_ARG_ATOM);
	assert_int_equal(cmd->args[0].len, sizeof(line) - 6);
	assert_int_equal(strspn(imap_arg_string(&cmd->args[0]), "x"), sizeof(line) - 6);
	assert_true(imap_arg_is_atom(&cmd->args[0], imap_arg_string(&cmd->args[0])));
	assert_false(imap_arg_is_atom(&cmd->args[0], "NIL"));
	imap_parser_free(&p);
}

/* Raw lines between commands (AUTHENTICATE's responses): the same line
 * limit and line ends as commands, "*" and "=" are plain lines, and after
 * an overlong raw line its tail is dropped and parsing goes on with the
 * next command. */
static void test_raw_lines(void **state)
{
	(void)state;
	check("a AUTHENTICATE 2 PLAIN\r\ndGVzdA==\r\n*\nb NOOP\r\n",
	      "C a AUTHENTICATE 2 PLAIN|W dGVzdA==|W *|C b NOOP|R:0");
	check("a AUTHENTICATE 1\r\n\r\nb NOOP\r\n", "C a AUTHENTICATE 1|W |C b NOOP|R:0");
	/* a raw line is not a command: "b NOOP" here is data */
	check("a AUTHENTICATE 1\r\nb NOOP\r\nc NOOP\r\n",
	      "C a AUTHENTICATE 1|W b NOOP|C c NOOP|R:0");
	/* over the 64-byte limit, with and without its LF in sight */
	char in[400], want[200];
	char big[100];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(in, sizeof(in), "a AUTHENTICATE 2\r\n%s\r\n=\r\nb NOOP\r\n", big);
	snprintf(want, sizeof(want), "C a AUTHENTICATE 2|T|W =|C b NOOP|R:0");
	check(in, want);
	snprintf(in, sizeof(in), "a AUTHENTICATE 1\r\n%s%s\r\nb NOOP\r\n", big, big);
	check(in, "C a AUTHENTICATE 1|T|C b NOOP|R:0");
	/* exactly at the limit is fine */
	char edge[65];
	memset(edge, 'B', 64);
	edge[64] = '\0';
	snprintf(in, sizeof(in), "a AUTHENTICATE 1\r\n%s\r\nb NOOP\r\n", edge);
	snprintf(want, sizeof(want), "C a AUTHENTICATE 1|W %s|C b NOOP|R:0", edge);
	check(in, want);
	/* an unfinished raw line stays in the input */
	check("a AUTHENTICATE 1\r\nabc", "C a AUTHENTICATE 1|R:3");
	/* inside a command (before it is complete) no raw line is taken */
	struct imap_parser *p = imap_parser_create(&default_limits);
	size_t used, len;
	const char *line;
	assert_int_equal(imap_parser_feed(p, "a X {3}\r\n", 10, &used), IMAP_PARSE_CONTINUE);
	assert_int_equal(imap_parser_read_line(p, "abc\r\n", 5, &line, &len, &used),
			 IMAP_LINE_NEED_MORE);
	assert_int_equal(used, 0);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_commands),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_errors_keep_going),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_small_limits_at_the_edge),
		cmocka_unit_test(test_literal8),
		cmocka_unit_test(test_literal_total),
		cmocka_unit_test(test_streamed_literals),
		cmocka_unit_test(test_set_limits_between_commands),
		cmocka_unit_test(test_raw_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
