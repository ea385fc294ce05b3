/* Unit tests of LIST's pattern matching (server/imap/list-match.c) and name
 * selection (server/imap/list-tree.c): wildcards, INBOX case, hostile
 * patterns, and the RFC 3501/5258 rules for hierarchy levels, \NonExistent
 * names, LSUB's \Noselect and CHILDINFO, checked against the RFC's own
 * examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/list-match.h"
#include "server/imap/list-tree.h"
#include "storage/store.h"

static bool m(const char *pattern, const char *name)
{
	struct imap_match *mt = imap_match_compile(pattern);
	bool r = imap_match(mt, name);
	imap_match_free(&mt);
	assert_null(mt);
	return r;
}

static void test_wildcards(void **state)
{
	(void)state;
	assert_true(m("*", "a"));
	assert_true(m("*", "a/b/c"));
	assert_true(m("%", "a"));
	assert_false(m("%", "a/b"));
	assert_true(m("%/%", "a/b"));
	assert_false(m("%/%", "a/b/c"));
	assert_true(m("a/*", "a/b/c"));
	assert_false(m("a/*", "a"));
	assert_true(m("a*", "a"));
	assert_true(m("a%", "abc"));
	assert_false(m("a%", "ab/c"));
	assert_true(m("*test4", "box/test3/test4"));
	assert_false(m("*test4", "box/test3/test4/test5"));
	assert_true(m("box/%3/%", "box/test3/test4"));
	assert_true(m("box/%t*4", "box/test3/test4"));
	assert_true(m("*2", "foo2/bar2"));
	assert_false(m("*2", "foo2/bar1"));
	assert_true(m("Sent", "Sent"));
	assert_false(m("Sent", "sent"));             /* names are case-sensitive */
	assert_false(m("Sent", "Sent/x"));
	assert_true(m("", ""));
	assert_false(m("", "a"));
	/* runs of wildcards collapse: "%*" behaves as "*", "%%" as "%" */
	assert_true(m("a%*z", "a/b/z"));
	assert_true(m("a*%z", "a/b/z"));
	assert_false(m("a%%z", "a/b/z"));
	assert_true(m("a%%z", "abz"));
	/* UTF-8 is matched byte by byte */
	assert_true(m("Caf%", "Caf\xc3\xa9"));
	assert_true(m("*\xc3\xa9", "Caf\xc3\xa9"));
	/* other specials are literal */
	assert_true(m("a.b", "a.b"));
	assert_false(m("a.b", "axb"));
	assert_true(m("[Gmail]/%", "[Gmail]/Sent"));
}

static void test_inbox_case(void **state)
{
	(void)state;
	assert_true(m("INBOX", "INBOX"));
	assert_true(m("inbox", "INBOX"));
	assert_true(m("InBoX", "INBOX"));
	assert_true(m("in*", "INBOX"));
	assert_true(m("i%", "INBOX"));
	assert_true(m("inbox/%", "INBOX/Sub"));
	assert_true(m("*x", "INBOX"));
	/* only the INBOX level is case-insensitive */
	assert_false(m("inbox/sub", "INBOX/Sub"));
	assert_false(m("inboxes", "INBOXES"));
	assert_false(m("in*", "Inside"));
	char *c = imap_match_canonical("", "inbox/%");
	assert_string_equal(c, "INBOX/%");
	free(c);
	c = imap_match_canonical("Inbox", "/x");
	assert_string_equal(c, "INBOX/x");
	free(c);
	c = imap_match_canonical("Lists/", "*");
	assert_string_equal(c, "Lists/*");
	free(c);
	c = imap_match_canonical("inboxes/", "*");
	assert_string_equal(c, "inboxes/*");
	free(c);
}

static void test_hostile_patterns(void **state)
{
	(void)state;
	/* many wildcards: linear time, and correct */
	char pat[4096];
	size_t n = 0;
	for (int i = 0; i < 1000; i++) {
		pat[n++] = '*';
		pat[n++] = 'a';
	}
	pat[n++] = 'b';
	pat[n] = '\0';
	char name[1100];
	memset(name, 'a', 1020);
	name[1020] = '\0';
	assert_false(m(pat, name));               /* 1000 a's needed, no b */
	memset(name, 'a', 1000);
	name[1000] = 'b';
	name[1001] = '\0';
	assert_true(m(pat, name));
	/* more literal bytes than a name can have: matches nothing */
	char big[1100];
	memset(big, 'x', 1030);
	big[1030] = '\0';
	assert_false(m(big, "x"));
	/* wide state sets (more than one word) stay exact */
	char wide[300];
	for (int i = 0; i < 150; i++) {
		wide[2 * i] = '%';
		wide[2 * i + 1] = (char)('a' + i % 26);
	}
	wide[300 - 1] = '\0';
	char nm[200];
	for (int i = 0; i < 150; i++)
		nm[i] = (char)('a' + i % 26);
	nm[149] = '\0';
	assert_true(m(wide, nm));
	nm[100] = '/';
	assert_false(m(wide, nm));
}

/* ---- name selection ---- */

struct world {
	struct store_mailbox_info boxes[32];
	size_t n_boxes;
	char *subs[32];
	size_t n_subs;
};

static void box(struct world *w, const char *name, bool subscribed, uint32_t use)
{
	struct store_mailbox_info *b = &w->boxes[w->n_boxes++];
	memset(b, 0, sizeof(*b));
	b->name = (char *)name;
	b->subscribed = subscribed;
	b->special_use = use;
	if (subscribed)
		w->subs[w->n_subs++] = (char *)name;
}

static void sub_only(struct world *w, const char *name)
{
	w->subs[w->n_subs++] = (char *)name;
}

/* Run a selection and render it as "name:flags;..." where flags are
 * E(xists) S(ubscribed) C(hildren) I(childinfo) L(evel). */
static char *run(const struct world *w, enum imap_list_mode mode, const char *opts,
		 const char *const *patterns)
{
	struct imap_match *mt[8];
	size_t n = 0;
	for (; patterns[n] != NULL; n++)
		mt[n] = imap_match_compile(patterns[n]);
	struct imap_list_query q = {
		.mode = mode, .patterns = mt, .n_patterns = n,
		.sel_subscribed = strchr(opts, 's') != NULL,
		.sel_special_use = strchr(opts, 'u') != NULL,
		.sel_recursive = strchr(opts, 'r') != NULL,
	};
	struct imap_list_tree *t = imap_list_tree_build(w->boxes, w->n_boxes, w->subs, w->n_subs);
	struct imap_list_entry *e;
	size_t ne;
	imap_list_tree_select(t, &q, &e, &ne);
	static char out[2048];
	out[0] = '\0';
	for (size_t i = 0; i < ne; i++) {
		char one[256];
		snprintf(one, sizeof(one), "%s:%s%s%s%s%s;", e[i].name, e[i].exists ? "E" : "",
			 e[i].subscribed ? "S" : "", e[i].has_children ? "C" : "",
			 e[i].childinfo ? "I" : "", e[i].level ? "L" : "");
		strcat(out, one);
	}
	free(e);
	imap_list_tree_free(&t);
	assert_null(t);
	for (size_t i = 0; i < n; i++)
		imap_match_free(&mt[i]);
	return out;
}

#define P(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_plain_list(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "INBOX", false, 0);
	box(&w, "Work", false, 0);
	box(&w, "Work/2024", false, 0);
	box(&w, "Work b", false, 0);
	box(&w, "music/rock", false, 0);       /* its parent does not exist */
	/* descendants follow their parent: "Work b" sorts after "Work/2024" */
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("*")),
			    "INBOX:E;Work:EC;Work/2024:E;Work b:E;music/rock:E;");
	/* a missing level is returned for "%" as \Noselect (RFC 3501 6.3.8) */
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("%")),
			    "INBOX:E;Work:EC;Work b:E;music:CL;");
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("Work/%")), "Work/2024:E;");
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("nothing")), "");
	/* ... but only where the pattern ends with '%' */
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("music")), "");
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("m*")), "music/rock:E;");
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("mu%")), "music:CL;");
}

/* RFC 5258 section 5, example 11: a server with missing hierarchy levels. */
static void test_extended_nonexistent_levels(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "music/rock", false, 0);
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "", P("*")), "music/rock:E;");
	/* \NonExistent \HasChildren, not a \Noselect level */
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "", P("%")), "music:C;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "", P("%", "music/rock")),
			    "music/rock:E;");
}

/* RFC 5258 section 5, examples 2 and 8. */
static void test_extended_subscribed(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "INBOX", true, 0);
	box(&w, "Fruit", false, 0);
	box(&w, "Fruit/Apple", false, 0);
	box(&w, "Fruit/Banana", true, 0);
	box(&w, "Tofu", false, 0);
	box(&w, "Vegetable", true, 0);
	box(&w, "Vegetable/Broccoli", true, 0);
	box(&w, "Vegetable/Corn", false, 0);
	sub_only(&w, "Fruit/Peach");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "s", P("*")),
			    "INBOX:ES;Fruit/Banana:ES;Fruit/Peach:S;Vegetable:ESC;"
			    "Vegetable/Broccoli:ES;");
	/* "%" with SUBSCRIBED: Fruit is not subscribed, so not returned ... */
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "s", P("%")), "INBOX:ES;Vegetable:ESC;");
	/* ... unless RECURSIVEMATCH asks for it, with CHILDINFO */
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "sr", P("%")),
			    "INBOX:ES;Fruit:ECI;Vegetable:ESCI;");
	/* LSUB: the same level is \Noselect, for patterns ending in '%' */
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("Fruit")), "");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("F%")), "Fruit:ECL;");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("%")),
			    "INBOX:ES;Fruit:ECL;Vegetable:ESC;");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("Fruit")), "");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("F%")), "Fruit:ECL;");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("*")),
			    "INBOX:ES;Fruit/Banana:ES;Fruit/Peach:S;Vegetable:ESC;"
			    "Vegetable/Broccoli:ES;");
}

/* RFC 5258 section 5, example 9: CHILDINFO only where a matching child is
 * not returned anyway (section 3.5's SHOULD). */
static void test_recursivematch(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "foo2", false, 0);
	box(&w, "foo2/bar1", true, 0);
	box(&w, "foo2/bar2", true, 0);
	box(&w, "baz2", false, 0);
	box(&w, "baz2/bar2", true, 0);
	box(&w, "baz2/bar22", true, 0);
	box(&w, "baz2/bar222", true, 0);
	box(&w, "eps2", true, 0);
	box(&w, "eps2/mamba", true, 0);
	box(&w, "qux2/bar2", true, 0);
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "rs", P("*2")),
			    "baz2/bar2:ES;baz2/bar22:ES;baz2/bar222:ES;eps2:ESCI;foo2:ECI;"
			    "foo2/bar2:ES;qux2/bar2:ES;");
	/* example 10: a non-existent subscribed child */
	struct world v = { 0 };
	box(&v, "foo", false, 0);
	sub_only(&v, "foo/bar");
	assert_string_equal(run(&v, IMAP_LIST_EXTENDED, "", P("foo", "foo/*")), "foo:E;");
	assert_string_equal(run(&v, IMAP_LIST_EXTENDED, "s", P("foo/*")), "foo/bar:S;");
	assert_string_equal(run(&v, IMAP_LIST_EXTENDED, "sr", P("foo")), "foo:EI;");
}

/* imaptest's listext: with both the parent and the child as patterns the
 * child is returned and the parent's CHILDINFO is redundant. */
static void test_recursivematch_redundant(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "box", false, 0);
	box(&w, "box/test2", false, 0);
	box(&w, "box/test2/test1", true, 0);
	box(&w, "box/test7", false, 0);
	box(&w, "box/test7/test7", true, 0);
	box(&w, "box/test8", false, 0);
	box(&w, "box/test8/test8", true, 0);
	box(&w, "box/test8/test9", true, 0);
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "sr", P("box/test2")),
			    "box/test2:ECI;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "sr", P("box/test2", "box/test2/test1")),
			    "box/test2/test1:ES;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "sr", P("*test7")), "box/test7/test7:ES;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "sr", P("*test8")),
			    "box/test8:ECI;box/test8/test8:ES;");
}

static void test_special_use_selection(void **state)
{
	(void)state;
	struct world w = { 0 };
	box(&w, "INBOX", false, 0);
	box(&w, "Archive", false, STORE_SPECIAL_ARCHIVE);
	box(&w, "Archive/2023", false, 0);
	box(&w, "Lists", false, 0);
	box(&w, "Lists/Sent", false, STORE_SPECIAL_SENT);
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "u", P("*")), "Archive:EC;Lists/Sent:E;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "u", P("%")), "Archive:EC;");
	assert_string_equal(run(&w, IMAP_LIST_EXTENDED, "ur", P("%")),
			    "Archive:EC;Lists:ECI;");
}

static void test_empty_world(void **state)
{
	(void)state;
	struct world w = { 0 };
	assert_string_equal(run(&w, IMAP_LIST_PLAIN, "", P("*")), "");
	assert_string_equal(run(&w, IMAP_LIST_LSUB, "", P("*")), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_inbox_case),
		cmocka_unit_test(test_hostile_patterns),
		cmocka_unit_test(test_plain_list),
		cmocka_unit_test(test_extended_nonexistent_levels),
		cmocka_unit_test(test_extended_subscribed),
		cmocka_unit_test(test_recursivematch),
		cmocka_unit_test(test_recursivematch_redundant),
		cmocka_unit_test(test_special_use_selection),
		cmocka_unit_test(test_empty_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
