/* Unit tests of the ManageSieve command tokenizer
 * (server/managesieve/parse.c): atoms, quoted strings and their escapes,
 * numbers, literal announcements ({n+} and {n}) and the continuation line
 * after a literal, every error, the argument limit, on exact-size copies
 * of each line; and the server's string writer (quoted or literal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "server/managesieve/parse.h"
#include "storage/message/message.h"

static enum ms_parse_result parse(const char *line, bool cont, struct ms_args *args,
				  uint64_t *lit, const char **err)
{
	size_t len = strlen(line);
	char *copy = xmalloc(len ? len : 1);
	memcpy(copy, line, len);
	*err = NULL;
	enum ms_parse_result r = ms_parse_line(copy, len, cont, args, lit, err);
	free(copy);
	return r;
}

static void test_tokens(void **state)
{
	(void)state;
	struct ms_args a = { 0 };
	uint64_t lit = 0;
	const char *err;
	assert_int_equal(parse("PUTSCRIPT \"a \\\"b\\\" \\\\c\" 42", false, &a, &lit, &err),
			 MS_PARSE_DONE);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.v[0].type, MS_ARG_ATOM);
	assert_string_equal(a.v[0].data, "PUTSCRIPT");
	assert_int_equal(a.v[1].type, MS_ARG_STRING);
	assert_string_equal(a.v[1].data, "a \"b\" \\c");
	assert_int_equal(a.v[2].type, MS_ARG_NUMBER);
	assert_int_equal(a.v[2].num, 42);
	ms_args_clear(&a);
	/* a literal, then the rest of the command */
	assert_int_equal(parse("PUTSCRIPT \"s\" {12+}", false, &a, &lit, &err), MS_PARSE_LITERAL);
	assert_int_equal(lit, 12);
	assert_true(ms_args_push_literal(&a, xstrdup("keep;\r\nstop;"), 12));
	assert_int_equal(parse("", true, &a, &lit, &err), MS_PARSE_DONE);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.v[2].len, 12);
	ms_args_clear(&a);
	assert_int_equal(parse("X {3}", false, &a, &lit, &err), MS_PARSE_LITERAL);
	assert_int_equal(lit, 3);
	assert_true(ms_args_push_literal(&a, xstrdup("abc"), 3));
	assert_int_equal(parse(" \"d\" {0+}", true, &a, &lit, &err), MS_PARSE_LITERAL);
	assert_int_equal(lit, 0);
	ms_args_clear(&a);
	/* the first word is never a number */
	assert_int_equal(parse("123", false, &a, &lit, &err), MS_PARSE_DONE);
	assert_int_equal(a.v[0].type, MS_ARG_ATOM);
	ms_args_clear(&a);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct { const char *line; bool cont; const char *err; } cases[] = {
		{ "", false, "Empty command." },
		{ "A  B", false, "Invalid character in the command." },
		{ "A ", false, "Expected an argument after the space." },
		{ "A\"b\"", false, "Invalid character in an atom." },
		{ "A \"b", false, "Unterminated quoted string." },
		{ "A \"b\\x\"", false, "Invalid escape in a quoted string." },
		{ "A \"b\\", false, "Invalid escape in a quoted string." },
		{ "A {x+}", false, "Invalid literal (use {N+} at the end of the line)." },
		{ "A {3+} B", false, "Invalid literal (use {N+} at the end of the line)." },
		{ "A {3", false, "Invalid literal (use {N+} at the end of the line)." },
		{ "A {1234567890123+}", false, "Invalid literal (use {N+} at the end of the line)." },
		{ "A 12x", false, "Invalid number." },
		{ "A 1234567890123", false, "Invalid number." },
		{ "A (b)", false, "Invalid character in the command." },
		{ "\"x\"", true, "Expected a space between arguments." },
		{ " ", true, "Expected an argument after the space." },
		{ "A B C D E F G H I", false, "Too many arguments." },
		{ "A B C D E F G H \"i\"", false, "Too many arguments." },
		{ "A B C D E F G H {1+}", false, "Too many arguments." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_args a = { 0 };
		uint64_t lit = 0;
		const char *err;
		enum ms_parse_result r = parse(cases[i].line, cases[i].cont, &a, &lit, &err);
		if (r != MS_PARSE_ERROR || strcmp(err, cases[i].err) != 0)
			fail_msg("line '%s': got %d '%s', want '%s'", cases[i].line, r,
				 err ? err : "", cases[i].err);
		ms_args_clear(&a);
	}
}

static void test_put_string(void **state)
{
	(void)state;
	struct msg_buf b = { 0 };
	ms_put_string(&b, "a \"b\" \\", 7);
	msg_buf_putc(&b, '\0');
	assert_string_equal(b.data, "\"a \\\"b\\\" \\\\\"");
	msg_buf_free(&b);
	ms_put_string(&b, "two\r\nlines", 10);
	msg_buf_putc(&b, '\0');
	assert_string_equal(b.data, "{10}\r\ntwo\r\nlines");
	msg_buf_free(&b);
	char big[2000];
	memset(big, 'x', sizeof(big));
	ms_put_string(&b, big, sizeof(big));
	assert_int_equal(strncmp(b.data, "{2000}\r\n", 8), 0);
	msg_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_put_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
