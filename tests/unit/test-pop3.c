/* Unit tests of the POP3 pieces that need no network: the command-line
 * parser (server/pop3/parse.c), the RETR/TOP byte stuffer (stuff.c), run on
 * every message split at every point (each piece in an exact-size heap
 * buffer, so a read past it trips ASan), and the maildrop's in-memory marks
 * and imported UIDLs (maildrop.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "server/pop3/maildrop.h"
#include "server/pop3/parse.h"
#include "server/pop3/stuff.h"

/* The parsed line's copy: the args point into it until the next parse. */
static char *parsed;

static int free_parsed(void **state)
{
	(void)state;
	x_free(&parsed);
	return 0;
}

static enum pop3_parse_result parse(const char *line, struct pop3_cmdline *cmd)
{
	/* exact-size copy: the parser must not look past len */
	size_t len = strlen(line);
	free(parsed);
	parsed = xmalloc(len ? len : 1);
	memcpy(parsed, line, len);
	return pop3_parse_line(parsed, len, cmd);
}

static void assert_arg(const struct pop3_cmdline *cmd, unsigned i, const char *want)
{
	assert_true(i < cmd->n_args);
	assert_int_equal(cmd->arg_len[i], strlen(want));
	assert_memory_equal(cmd->args[i], want, strlen(want));
}

static void test_parse_lines(void **state)
{
	(void)state;
	struct pop3_cmdline c;
	assert_int_equal(parse("stat", &c), POP3_PARSE_OK);
	assert_string_equal(c.keyword, "STAT");
	assert_int_equal(c.n_args, 0);
	assert_int_equal(c.rest_len, 0);
	assert_int_equal(parse("Top 1 10", &c), POP3_PARSE_OK);
	assert_string_equal(c.keyword, "TOP");
	assert_arg(&c, 0, "1");
	assert_arg(&c, 1, "10");
	assert_false(c.too_many_args);
	assert_int_equal(parse("PASS  two  words ", &c), POP3_PARSE_OK);
	assert_int_equal(c.rest_len, strlen(" two  words "));
	assert_memory_equal(c.rest, " two  words ", c.rest_len);
	assert_arg(&c, 0, "two");
	assert_arg(&c, 1, "words");
	assert_int_equal(parse("TOP 1 2 3", &c), POP3_PARSE_OK);
	assert_true(c.too_many_args);
	assert_int_equal(parse("  LIST   7  ", &c), POP3_PARSE_OK);
	assert_string_equal(c.keyword, "LIST");
	assert_int_equal(c.n_args, 1);
	assert_arg(&c, 0, "7");
	assert_int_equal(parse("", &c), POP3_PARSE_EMPTY);
	assert_int_equal(parse("    ", &c), POP3_PARSE_EMPTY);
	assert_int_equal(parse("LS", &c), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("RETRIEVE 1", &c), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("R1TR 1", &c), POP3_PARSE_BAD_KEYWORD);
	assert_int_equal(parse("RETR\x01 1", &c), POP3_PARSE_BAD_CHAR);
	assert_int_equal(parse("PASS a\x7f", &c), POP3_PARSE_BAD_CHAR);
	assert_int_equal(parse("PASS a\tb", &c), POP3_PARSE_OK);
	char nul[] = { 'N', 'O', 'O', 'P', '\0', 'x' };
	assert_int_equal(pop3_parse_line(nul, sizeof(nul), &c), POP3_PARSE_BAD_CHAR);
}

static void test_parse_numbers(void **state)
{
	(void)state;
	uint32_t v;
	assert_true(pop3_parse_number("1", 1, UINT32_MAX, &v) && v == 1);
	assert_true(pop3_parse_number("0", 1, UINT32_MAX, &v) && v == 0);
	assert_true(pop3_parse_number("4294967295", 10, UINT32_MAX, &v) && v == UINT32_MAX);
	assert_false(pop3_parse_number("4294967296", 10, UINT32_MAX, &v));
	assert_false(pop3_parse_number("99999999999", 11, UINT32_MAX, &v));
	assert_false(pop3_parse_number("", 0, UINT32_MAX, &v));
	assert_false(pop3_parse_number("+1", 2, UINT32_MAX, &v));
	assert_false(pop3_parse_number("-1", 2, UINT32_MAX, &v));
	assert_false(pop3_parse_number("1x", 2, UINT32_MAX, &v));
	assert_false(pop3_parse_number("11", 2, 10, &v));
	assert_true(pop3_parse_number("12", 1, 10, &v) && v == 1); /* only len bytes */
}

/* Stuff msg whole and split at every one and two points; every feeding
 * gives want and the terminator end. */
static void check_stuff(const char *msg, size_t len, bool top, uint64_t lines,
			const char *want, const char *end)
{
	size_t wlen = strlen(want);
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			struct pop3_stuffer st;
			pop3_stuffer_init(&st, top, lines);
			char *out = xmalloc(2 * len + 1);
			size_t n = 0;
			size_t cuts[] = { 0, i, j, len };
			for (int k = 0; k < 3; k++) {
				size_t plen = cuts[k + 1] - cuts[k];
				char *piece = xmalloc(plen ? plen : 1);
				memcpy(piece, msg + cuts[k], plen);
				n += pop3_stuff(&st, piece, plen, out + n);
				free(piece);
			}
			assert_int_equal(n, wlen);
			assert_memory_equal(out, want, wlen);
			assert_string_equal(pop3_stuff_end(&st), end);
			free(out);
		}
	}
}

#define S(x) x, sizeof(x) - 1

static void test_stuff_retr(void **state)
{
	(void)state;
	check_stuff(S("A: b\r\n\r\n.\r\n..\r\n.x\r\nx.\r\n"), false, 0,
		    "A: b\r\n\r\n..\r\n...\r\n..x\r\nx.\r\n", ".\r\n");
	check_stuff(S(".first\r\nno end"), false, 0, "..first\r\nno end", "\r\n.\r\n");
	check_stuff(S(""), false, 0, "", ".\r\n");
	check_stuff(S("\r\n.\r\n"), false, 0, "\r\n..\r\n", ".\r\n");
	check_stuff(S("a\rb.\r\n.\r"), false, 0, "a\rb.\r\n..\r", "\r\n.\r\n");
}

static void test_stuff_top(void **state)
{
	(void)state;
	const char m[] = "A: b\r\nC: d\r\n\r\nl1\r\n.l2\r\nl3\r\n";
	check_stuff(S(m), true, 0, "A: b\r\nC: d\r\n\r\n", ".\r\n");
	check_stuff(S(m), true, 1, "A: b\r\nC: d\r\n\r\nl1\r\n", ".\r\n");
	check_stuff(S(m), true, 2, "A: b\r\nC: d\r\n\r\nl1\r\n..l2\r\n", ".\r\n");
	check_stuff(S(m), true, 99, "A: b\r\nC: d\r\n\r\nl1\r\n..l2\r\nl3\r\n", ".\r\n");
	/* no blank line: all header */
	check_stuff(S("A: b\r\nC: d"), true, 0, "A: b\r\nC: d", "\r\n.\r\n");
	/* a line holding only CR CR LF is not the blank line */
	check_stuff(S("A: b\r\n\r\r\nx\r\n\r\nbody\r\n"), true, 0,
		    "A: b\r\n\r\r\nx\r\n\r\n", ".\r\n");
	/* a body ending without a line end */
	check_stuff(S("A: b\r\n\r\nonly"), true, 5, "A: b\r\n\r\nonly", "\r\n.\r\n");
}

static struct pop3_maildrop *drop_of(uint32_t n)
{
	struct pop3_maildrop *d = xcalloc(1, sizeof(*d));
	d->count = n;
	d->uids = xmalloc(n * sizeof(*d->uids));
	d->sizes = xmalloc(n * sizeof(*d->sizes));
	d->marks = xcalloc(n, 1);
	d->uidls = xmalloc((size_t)n * STORE_ID_LEN);
	for (uint32_t i = 0; i < n; i++) {
		d->uids[i] = 10 + 2 * i;
		d->sizes[i] = 100 + i;
		d->total += d->sizes[i];
		memset(d->uidls + (size_t)i * STORE_ID_LEN, 'a' + (int)i, STORE_ID_LEN);
	}
	return d;
}

static void test_maildrop_marks(void **state)
{
	(void)state;
	struct pop3_maildrop *d = drop_of(3);
	bool deleted;
	assert_int_equal(pop3_maildrop_find(d, 0, &deleted), -1);
	assert_false(deleted);
	assert_int_equal(pop3_maildrop_find(d, 4, &deleted), -1);
	assert_int_equal(pop3_maildrop_find(d, 2, &deleted), 1);
	pop3_maildrop_dele(d, 1);
	pop3_maildrop_dele(d, 1);
	assert_int_equal(d->n_deleted, 1);
	assert_int_equal(d->deleted_size, 101);
	assert_int_equal(pop3_maildrop_find(d, 2, &deleted), -1);
	assert_true(deleted);
	pop3_maildrop_rset(d);
	assert_int_equal(d->n_deleted, 0);
	assert_int_equal(d->deleted_size, 0);
	assert_int_equal(pop3_maildrop_find(d, 2, &deleted), 1);
	pop3_maildrop_free(&d);
	assert_null(d);
}

static void test_maildrop_legacy_uidls(void **state)
{
	(void)state;
	struct pop3_maildrop *d = drop_of(3);   /* uids 10, 12, 14 */
	size_t len;
	const char *u = pop3_maildrop_uidl(d, 1, &len);
	assert_int_equal(len, STORE_ID_LEN);
	assert_int_equal(u[0], 'b');
	pop3_maildrop_set_legacy(d, 12, "0000000C4F3A1B2C");
	pop3_maildrop_set_legacy(d, 12, "second-ignored");
	pop3_maildrop_set_legacy(d, 13, "not-in-snapshot");
	pop3_maildrop_set_legacy(d, 14, "has space");        /* invalid: kept native */
	pop3_maildrop_set_legacy(d, 10, "");
	char long_uidl[72];
	memset(long_uidl, 'x', 71);
	long_uidl[71] = '\0';
	pop3_maildrop_set_legacy(d, 10, long_uidl);          /* over 70: native */
	u = pop3_maildrop_uidl(d, 1, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(u, "0000000C4F3A1B2C", 16);
	assert_int_equal(pop3_maildrop_uidl(d, 0, &len)[0], 'a');
	assert_int_equal(len, STORE_ID_LEN);
	assert_int_equal(pop3_maildrop_uidl(d, 2, &len)[0], 'c');
	pop3_maildrop_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lines),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_stuff_retr),
		cmocka_unit_test(test_stuff_top),
		cmocka_unit_test(test_maildrop_marks),
		cmocka_unit_test(test_maildrop_legacy_uidls),
	};
	return cmocka_run_group_tests(tests, NULL, free_parsed);
}
