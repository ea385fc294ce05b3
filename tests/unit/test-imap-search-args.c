/* The IMAP search-key grammar (server/imap/search-args.c) without a store:
 * the program each key builds, IMAP4rev2's missing \Recent, RETURN options
 * (RFC 4731, 5182, 5267), CHARSET handling (RFC 6855 3), SORT's RETURN
 * after the charset, and the errors (BAD, NO [BADCHARSET]) with depth
 * limits. Arguments come from the real command parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/caps.h"
#include "server/imap/parser.h"
#include "server/imap/search-args.h"

struct parsed {
	struct imap_parser *p;
	struct imap_search_parse out;
	int r;
};

static void parse_as(struct parsed *pp, const char *args, enum imap_search_form form,
		     const struct imap_search_env *env)
{
	struct imap_parser_limits lim = { 8192, 8192, 0, 16, 1000 };
	pp->p = imap_parser_create(&lim);
	char line[4096];
	snprintf(line, sizeof(line), "t SEARCH %s\r\n", args);
	size_t used;
	assert_int_equal(imap_parser_feed(pp->p, line, strlen(line), &used), IMAP_PARSE_COMMAND);
	const struct imap_command *cmd = imap_parser_command(pp->p);
	pp->r = imap_search_parse(env, form, cmd->args, cmd->n_args, &pp->out);
}

static void done(struct parsed *pp)
{
	imap_search_parse_free(&pp->out);
	imap_parser_free(&pp->p);
}

static const struct imap_search_env rev1 = { .recent_ok = true, .max_depth = 8 };

/* The tree as text: kinds by short names, children in parentheses. */
static void shape(const struct store_search_node *n, char *out, size_t cap)
{
	static const char *const names[] = {
		"AND", "OR", "NOT", "ALL", "FLAGS", "RECENT", "KEYWORD", "UIDS", "LARGER",
		"SMALLER", "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "MODSEQ",
		"ADDRESS", "SUBJECT", "HEADER", "BODY", "TEXT", "EMAILID", "THREADID", "SAVEDBEFORE", "SAVEDON",
		"SAVEDSINCE", "OLDER", "YOUNGER",
	};
	for (; n != NULL; n = n->next) {
		strncat(out, names[n->kind], cap - strlen(out) - 1);
		if (n->child != NULL) {
			strncat(out, "(", cap - strlen(out) - 1);
			shape(n->child, out, cap);
			strncat(out, ")", cap - strlen(out) - 1);
		}
		if (n->next != NULL)
			strncat(out, " ", cap - strlen(out) - 1);
	}
}

static void expect_shape(const char *args, const struct imap_search_env *env, const char *want)
{
	struct parsed pp;
	parse_as(&pp, args, IMAP_SEARCH_FORM_SEARCH, env);
	if (pp.r != 0)
		fail_msg("\"%s\" refused: %s", args, pp.out.why);
	char got[512] = "";
	shape(pp.out.prog->root->child, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\": %s, expected %s", args, got, want);
	done(&pp);
}

/* BAD with this response code (NULL: none) and reason. */
static void expect_refused(const char *args, const struct imap_search_env *env, const char *code,
			   const char *why)
{
	struct parsed pp;
	parse_as(&pp, args, IMAP_SEARCH_FORM_SEARCH, env);
	assert_int_equal(pp.r, -1);
	assert_false(pp.out.no);
	if (code == NULL)
		assert_null(pp.out.code);
	else
		assert_string_equal(pp.out.code, code);
	assert_string_equal(pp.out.why, why);
	done(&pp);
}

static void expect_bad(const char *args, enum imap_search_form form, bool no)
{
	struct parsed pp;
	parse_as(&pp, args, form, &rev1);
	if (pp.r != -1)
		fail_msg("\"%s\" accepted", args);
	assert_non_null(pp.out.why);
	assert_null(pp.out.prog);
	assert_int_equal(pp.out.no, no);
	done(&pp);
}

static void test_keys(void **state)
{
	(void)state;
	expect_shape("ALL", &rev1, "ALL");
	expect_shape("seen UNSEEN", &rev1, "FLAGS NOT(FLAGS)");
	expect_shape("NEW", &rev1, "AND(RECENT NOT(FLAGS))");
	expect_shape("OLD RECENT", &rev1, "NOT(RECENT) RECENT");
	expect_shape("OR (FROM a TO b) NOT SUBJECT c", &rev1,
		     "OR(AND(ADDRESS ADDRESS) NOT(SUBJECT))");
	expect_shape("HEADER X-A \"\" BODY b TEXT t BCC x CC y TO \"\"", &rev1,
		     "HEADER BODY TEXT ADDRESS ADDRESS HEADER");
	expect_shape("KEYWORD $a UNKEYWORD b KEYWORD \\Seen", &rev1,
		     "KEYWORD NOT(KEYWORD) NOT(ALL)");
	expect_shape("BEFORE 1-Jan-2020 ON \"2-Feb-2021\" SINCE 3-Mar-2022", &rev1,
		     "BEFORE ON SINCE");
	expect_shape("SENTBEFORE 1-Jan-2020 SENTON 1-Jan-2020 SENTSINCE 1-Jan-2020", &rev1,
		     "SENTBEFORE SENTON SENTSINCE");
	expect_shape("LARGER 10 SMALLER 18446744073709551615", &rev1, "LARGER SMALLER");
	/* WITHIN (RFC 5032), SAVEDATE (RFC 8514) */
	expect_shape("OLDER 1 younger 86400", &rev1, "OLDER YOUNGER");
	expect_shape("SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020 "
		     "SAVEDATESUPPORTED", &rev1, "SAVEDBEFORE SAVEDON SAVEDSINCE ALL");
	/* switched off for the session (caps.h): unknown keys */
	const struct imap_search_env off = { .recent_ok = true, .max_depth = 8,
					     .caps_off = IMAP_CAP_WITHIN | IMAP_CAP_SAVEDATE };
	static const char *const gone[] = { "OLDER 5", "YOUNGER 5", "SAVEDON 1-Jan-2020",
					    "SAVEDATESUPPORTED" };
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		expect_refused(gone[i], &off, NULL, "Unknown search key.");
	expect_shape("1:5 UID 3,* $", &rev1, "UIDS UIDS UIDS");
	expect_shape("ANSWERED DELETED DRAFT FLAGGED UNANSWERED UNDELETED UNDRAFT UNFLAGGED",
		     &rev1, "FLAGS FLAGS FLAGS FLAGS NOT(FLAGS) NOT(FLAGS) NOT(FLAGS) NOT(FLAGS)");
	/* IMAP4rev2: nothing is \Recent */
	const struct imap_search_env rev2 = { .rev2 = true, .max_depth = 8 };
	expect_shape("RECENT NEW OLD", &rev2,
		     "NOT(ALL) AND(NOT(ALL) NOT(FLAGS)) NOT(NOT(ALL))");
	/* values */
	struct parsed pp;
	parse_as(&pp, "SINCE 2-Jan-1970 LARGER 42 SUBJECT \"x y\" HEADER Foo bar", IMAP_SEARCH_FORM_SEARCH,
		 &rev1);
	assert_int_equal(pp.r, 0);
	const struct store_search_node *n = pp.out.prog->root->child;
	assert_int_equal(n->day, 1);
	assert_int_equal(n->next->num, 42);
	assert_string_equal(n->next->next->str, "x y");
	assert_string_equal(n->next->next->next->field, "Foo");
	assert_string_equal(n->next->next->next->str, "bar");
	done(&pp);
}

static void test_return_and_charset(void **state)
{
	(void)state;
	struct parsed pp;
	parse_as(&pp, "RETURN (MIN MAX SAVE) ALL", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_int_equal(pp.r, 0);
	assert_true(pp.out.have_return);
	assert_int_equal(pp.out.ret, IMAP_SRET_MIN | IMAP_SRET_MAX | IMAP_SRET_SAVE);
	done(&pp);
	parse_as(&pp, "RETURN () ALL", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_int_equal(pp.out.ret, IMAP_SRET_ALL);
	done(&pp);
	parse_as(&pp, "RETURN (UPDATE) ALL", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_int_equal(pp.out.ret, IMAP_SRET_UPDATE | IMAP_SRET_ALL);
	done(&pp);
	parse_as(&pp, "RETURN (PARTIAL 9:3 COUNT CONTEXT) ALL", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_int_equal(pp.r, 0);
	assert_int_equal(pp.out.partial_lo, 3);
	assert_int_equal(pp.out.partial_hi, 9);
	done(&pp);
	parse_as(&pp, "CHARSET ISO-8859-1 SUBJECT {1+}\r\n\xe9", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_int_equal(pp.r, 0);
	assert_string_equal(pp.out.prog->root->child->str, "é");
	done(&pp);
	/* SORT: the charset first, RETURN may follow it */
	parse_as(&pp, "UTF-8 RETURN (PARTIAL 1:2) ALL", IMAP_SEARCH_FORM_SORT, &rev1);
	assert_int_equal(pp.r, 0);
	assert_true(pp.out.have_return);
	done(&pp);
	/* after UTF8=ACCEPT (RFC 6855 3, errata 4029) */
	const struct imap_search_env utf8 = { .utf8_accept = true, .max_depth = 8 };
	parse_as(&pp, "CHARSET UTF-8 ALL", IMAP_SEARCH_FORM_SEARCH, &utf8);
	assert_int_equal(pp.r, -1);
	assert_false(pp.out.no);
	done(&pp);
	parse_as(&pp, "UTF-8 ALL", IMAP_SEARCH_FORM_CRITERIA, &utf8);
	assert_int_equal(pp.r, 0);
	done(&pp);
	parse_as(&pp, "ISO-8859-1 ALL", IMAP_SEARCH_FORM_CRITERIA, &utf8);
	assert_int_equal(pp.r, -1);
	done(&pp);
	parse_as(&pp, "SUBJECT {2+}\r\n\xc3\xa9", IMAP_SEARCH_FORM_SEARCH, &utf8);
	assert_int_equal(pp.r, 0);
	done(&pp);
}

static void test_errors(void **state)
{
	(void)state;
	expect_bad("", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("FOO", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("NOT", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("OR SEEN", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("()", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("SINCE 30-Feb-2020", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("SINCE (1-Jan-2020)", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("LARGER -1", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("LARGER 99999999999999999999", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("UID x", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("0:3", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("KEYWORD", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("KEYWORD \"a b\"", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("HEADER \"a:b\" x", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("SUBJECT", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("SUBJECT {1+}\r\n\xff", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (FOO) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (MIN MIN) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (PARTIAL 1) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (PARTIAL 1:*) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (PARTIAL 0:4) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN (PARTIAL 1:4 ALL) ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("RETURN ALL", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("CHARSET", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("CHARSET X-NONE ALL", IMAP_SEARCH_FORM_SEARCH, true);
	expect_bad("CHARSET US-ASCII SUBJECT {1+}\r\n\xe9", IMAP_SEARCH_FORM_SEARCH, true);
	expect_bad("ALL", IMAP_SEARCH_FORM_CRITERIA, true);        /* "ALL" is no charset */
	expect_bad("NOT NOT NOT NOT NOT NOT NOT NOT SEEN", IMAP_SEARCH_FORM_SEARCH, false);
	expect_bad("((((((((SEEN))))))))", IMAP_SEARCH_FORM_SEARCH, false);
	struct parsed pp;
	parse_as(&pp, "CHARSET X-NONE ALL", IMAP_SEARCH_FORM_SEARCH, &rev1);
	assert_non_null(strstr(pp.out.code, "BADCHARSET (US-ASCII UTF-8"));
	done(&pp);
	/* just under the depth limit */
	expect_shape("NOT NOT NOT NOT NOT NOT NOT SEEN", &rev1,
		     "NOT(NOT(NOT(NOT(NOT(NOT(NOT(FLAGS)))))))");
}

/* UIDONLY (RFC 9586): a sequence set anywhere is BAD [UIDREQUIRED]; UID
 * sets and "$" are fine. */
static void test_uidonly(void **state)
{
	(void)state;
	const struct imap_search_env env = { .recent_ok = true, .max_depth = 8, .no_seqs = true };
	const char *refused[] = { "1:3", "SEEN 2", "OR UID 1 3", "NOT (1)" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect_refused(refused[i], &env, "UIDREQUIRED",
			       "Message sequence numbers are not allowed after ENABLE UIDONLY.");
	expect_shape("UID 1:3 $ SEEN", &env, "UIDS UIDS FLAGS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_return_and_charset),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_uidonly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
