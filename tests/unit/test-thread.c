/* RFC 5256 base subjects (the rules of section 2.1 and tricky Re:/Fwd:/
 * [list] cases), both THREAD algorithms on hand-made cases (section 4's
 * steps one by one: reference chains, dummies kept and pruned, loops,
 * duplicate ids, subject gathering, date order) and randomized
 * cross-checks of REFERENCES and ORDEREDSUBJECT against invariants the
 * algorithm guarantees, plus the message-id parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/sort.h"

static void base(const char *in, const char *want, bool want_reply)
{
	struct msg_buf b = { 0 };
	bool reply = !want_reply;
	store_base_subject(in, strlen(in), &b, &reply);
	msg_buf_putc(&b, '\0');
	if (strcmp(b.data, want) != 0)
		fail_msg("base subject of \"%s\": \"%s\", expected \"%s\"", in, b.data, want);
	assert_int_equal(reply, want_reply);
	msg_buf_free(&b);
}

static void test_base_subject(void **state)
{
	(void)state;
	base("test", "test", false);
	base("Re: test", "test", true);
	base("RE: Re: re[2]: test", "test", true);
	base("Re [foo]: test", "test", true);
	base("Fwd: test", "test", true);
	base("Fw: test", "test", true);
	base("FWD : test", "test", true);
	base("[fwd: test]", "test", true);
	base("[Fwd: Re: test]", "test", true);
	base("test (fwd)", "test", true);
	base("test (fwd) (FWD)  ", "test", true);
	base("[list] Re: test", "test", true);
	base("[list] test", "test", false);
	base("[a][b] Re: [c] test", "test", true);
	base("[list]", "[list]", false);
	base("[list]   ", "[list]", false);
	base("  Re:   test  ", "test", true);
	base("Re:", "", true);
	base("", "", false);
	base("Re: [fwd: hello] (fwd)", "hello", true);
	base("Re: Fwd: [list] Re[5]: hello world  (fwd)", "hello world", true);
	base("hello\tworld", "hello world", false);
	base("hello\r\n\tworld", "hello world", false);
	base("Fwd", "Fwd", false);
	base("Re test", "Re test", false);
	base("Ref: x", "Ref: x", false);
	base("[fwd: ]", "", true);
	base("=?UTF-8?Q?Re=3A_caf=C3=A9?=", "café", true);
	base("=?UTF-8?B?W2xpc3RdIFJlOiDQn9GA0LjQstC10YI=?=", "Привет", true);
	base("Re: Re: [bug 42] fix", "fix", true);
	base("[bug 42]: fix", ": fix", false);     /* (4): the rest is a subj-base */
}

/* ---- THREAD on given data ---- */

static const char *ids[] = { "a", "b", "c", "d", "e", "f", "g", "h", "x", "y" };

struct tm_in {
	uint32_t uid;
	int64_t date;
	const char *subject;
	bool reply;
	const char *id;
	const char *refs[4];
};

static struct store_thread_node *build(const struct tm_in *in, size_t n,
				       enum store_thread_algo algo)
{
	struct store_thread_msg *m = calloc(n, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		m[i].uid = in[i].uid;
		m[i].date = in[i].date;
		m[i].subject = in[i].subject;
		m[i].reply = in[i].reply;
		m[i].msgid = in[i].id;
		m[i].refs = in[i].refs;
		while (m[i].n_refs < 4 && in[i].refs[m[i].n_refs] != NULL)
			m[i].n_refs++;
	}
	struct store_thread_node *r = store_thread_build(m, n, algo);
	free(m);
	return r;
}

/* The IMAP form of a thread list (uids, dummies as nested lists). */
static void fmt(const struct store_thread_node *nd, char *out, size_t cap)
{
	for (; nd != NULL; nd = nd->next) {
		strncat(out, "(", cap - strlen(out) - 1);
		const struct store_thread_node *c = nd;
		bool first = true;
		while (c != NULL) {
			if (c->uid != 0) {
				char num[16];
				snprintf(num, sizeof(num), "%s%u", first ? "" : " ", c->uid);
				strncat(out, num, cap - strlen(out) - 1);
				first = false;
				if (c->child != NULL && c->child->next == NULL) {
					c = c->child;
					continue;
				}
			}
			if (c->child != NULL) {
				if (!first)
					strncat(out, " ", cap - strlen(out) - 1);
				fmt(c->child, out, cap);
			}
			break;
		}
		strncat(out, ")", cap - strlen(out) - 1);
	}
}

static void expect(const struct tm_in *in, size_t n, enum store_thread_algo algo,
		   const char *want)
{
	struct store_thread_node *r = build(in, n, algo);
	char out[1024] = "";
	fmt(r, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("thread: \"%s\", expected \"%s\"", out, want);
	store_thread_free(&r);
	assert_null(r);
}

#define REFS(...) { __VA_ARGS__ }

static void test_references(void **state)
{
	(void)state;
	/* a chain */
	const struct tm_in chain[] = {
		{ 1, 10, "s", false, "a", REFS(NULL) },
		{ 2, 20, "s", true, "b", REFS("a") },
		{ 3, 30, "s", true, "c", REFS("a", "b") },
	};
	expect(chain, 3, STORE_THREAD_REFERENCES, "(1 2 3)");
	/* a missing parent with two children stays a dummy root; with one it
	 * is pruned */
	const struct tm_in dummy[] = {
		{ 1, 10, "p", true, "b", REFS("x") },
		{ 2, 20, "q", true, "c", REFS("x") },
		{ 3, 5, "r", true, "d", REFS("y") },
	};
	expect(dummy, 3, STORE_THREAD_REFERENCES, "(3)((1)(2))");
	/* In-Reply-To style single reference, siblings by date */
	const struct tm_in sib[] = {
		{ 1, 10, "s", false, "a", REFS(NULL) },
		{ 2, 40, "t", true, "b", REFS("a") },
		{ 3, 30, "u", true, "c", REFS("a") },
		{ 4, 20, "v", true, "d", REFS("c") },
	};
	expect(sib, 4, STORE_THREAD_REFERENCES, "(1 (3 4)(2))");
	/* a loop in the references is ignored, not followed */
	const struct tm_in loop[] = {
		{ 1, 10, "l", false, "a", REFS("b") },
		{ 2, 20, "m", true, "b", REFS("a") },
	};
	expect(loop, 2, STORE_THREAD_REFERENCES, "(2 1)");
	/* a duplicate Message-ID is made unique: the second is its own */
	const struct tm_in dup[] = {
		{ 1, 10, "one", false, "a", REFS(NULL) },
		{ 2, 20, "two", false, "a", REFS(NULL) },
		{ 3, 30, "three", true, "c", REFS("a") },
	};
	expect(dup, 3, STORE_THREAD_REFERENCES, "(1 3)(2)");
	/* subject gathering: a reply joins the non-reply; two non-replies get
	 * a dummy; an empty subject never gathers */
	const struct tm_in subj[] = {
		{ 1, 10, "hello", false, "a", REFS(NULL) },
		{ 2, 20, "hello", true, "b", REFS(NULL) },
		{ 3, 30, "world", false, "c", REFS(NULL) },
		{ 4, 40, "world", false, "d", REFS(NULL) },
		{ 5, 50, "", false, "e", REFS(NULL) },
		{ 6, 60, "", false, "f", REFS(NULL) },
	};
	expect(subj, 6, STORE_THREAD_REFERENCES, "(1 2)((3)(4))(5)(6)");
	/* two dummies with the same subject merge their children */
	const struct tm_in dd[] = {
		{ 1, 10, "z", true, "b", REFS("x") },
		{ 2, 20, "z", true, "c", REFS("x") },
		{ 3, 30, "z", true, "d", REFS("y") },
		{ 4, 40, "z", true, "e", REFS("y") },
	};
	expect(dd, 4, STORE_THREAD_REFERENCES, "((1)(2)(3)(4))");
	/* a later message's References may name an earlier parent chain */
	const struct tm_in late[] = {
		{ 1, 10, "k", true, "c", REFS(NULL) },
		{ 2, 20, "k", false, "a", REFS(NULL) },
		{ 3, 30, "k", true, "d", REFS("a", "c") },
	};
	expect(late, 3, STORE_THREAD_REFERENCES, "(2 1 3)");
	(void)ids;
}

static void test_ordered_subject(void **state)
{
	(void)state;
	const struct tm_in in[] = {
		{ 1, 30, "b", false, NULL, REFS(NULL) },
		{ 2, 10, "a", false, NULL, REFS(NULL) },
		{ 3, 20, "b", true, NULL, REFS(NULL) },
		{ 4, 40, "a", true, NULL, REFS(NULL) },
		{ 5, 5, "c", false, NULL, REFS(NULL) },
		{ 6, 50, "b", true, NULL, REFS(NULL) },
	};
	/* threads by the date of their first message; members flat */
	expect(in, 6, STORE_THREAD_ORDEREDSUBJECT, "(5)(2 4)(3 (1)(6))");
}

/* ---- randomized cross-checks ---- */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

struct walk {
	unsigned *seen;
	const struct store_thread_msg *m;
	uint32_t *parent;      /* uid -> parent uid (0 root or dummy) */
};

static int64_t rep_date(const struct store_thread_node *nd, const struct store_thread_msg *m)
{
	while (nd->uid == 0)
		nd = nd->child;
	return m[nd->uid - 1].date;
}

static void check_level(const struct store_thread_node *first, uint32_t parent, bool root,
			struct walk *w)
{
	int64_t last = INT64_MIN;
	for (const struct store_thread_node *nd = first; nd != NULL; nd = nd->next) {
		int64_t d = rep_date(nd, w->m);
		assert_true(d >= last);          /* siblings by date */
		last = d;
		if (nd->uid == 0) {
			assert_true(root);           /* dummies only in the root set */
			assert_non_null(nd->child);
			assert_non_null(nd->child->next);
		} else {
			w->seen[nd->uid]++;
			w->parent[nd->uid] = parent;
		}
		check_level(nd->child, nd->uid, false, w);
	}
}

static void test_random_references(void **state)
{
	(void)state;
	static const char *subjects[] = { "alpha", "beta", "gamma", "" };
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + rnd(200);    /* past the first growth of the containers */
		struct store_thread_msg *m = calloc(n, sizeof(*m));
		char (*idbuf)[16] = calloc(n, 16);
		char (*missing)[16] = calloc(n, 16);
		const char ***refs = calloc(n, sizeof(*refs));
		for (size_t i = 0; i < n; i++) {
			m[i].uid = (uint32_t)i + 1;
			m[i].date = rnd(20);
			m[i].subject = subjects[rnd(4)];
			m[i].reply = rnd(2);
			snprintf(idbuf[i], 16, "id%u", rnd(8) == 0 && i > 0 ? rnd((uint32_t)i) : (unsigned)i);
			snprintf(missing[i], 16, "gone%u", rnd(5));
			m[i].msgid = rnd(10) == 0 ? NULL : idbuf[i];
			size_t nr = rnd(4);
			refs[i] = calloc(nr + 1, sizeof(char *));
			for (size_t r = 0; r < nr; r++)
				refs[i][r] = i > 0 && rnd(3) != 0 ? idbuf[rnd((uint32_t)i)] : missing[i];
			m[i].refs = refs[i];
			m[i].n_refs = nr;
		}
		for (int algo = 0; algo < 2; algo++) {
			struct store_thread_node *roots = store_thread_build(m, n, algo == 0
				? STORE_THREAD_REFERENCES : STORE_THREAD_ORDEREDSUBJECT);
			struct walk w = { calloc(n + 1, sizeof(unsigned)), m,
					  calloc(n + 1, sizeof(uint32_t)) };
			check_level(roots, 0, true, &w);
			for (size_t i = 1; i <= n; i++)
				assert_int_equal(w.seen[i], 1);   /* every message once */
			for (size_t i = 0; i < n && algo == 0; i++) {
				/* a last reference to an earlier message with a unique
				 * id makes that message the parent */
				if (m[i].n_refs == 0)
					continue;
				const char *last = m[i].refs[m[i].n_refs - 1];
				size_t owner = n, count = 0;
				for (size_t k = 0; k < n; k++) {
					if (m[k].msgid != NULL && strcmp(m[k].msgid, last) == 0) {
						count++;
						if (owner == n)
							owner = k;
					}
				}
				bool self_dup = m[i].msgid != NULL && strcmp(m[i].msgid, last) == 0;
				if (count == 1 && owner < i && !self_dup &&
				    (m[i].msgid == NULL || strcmp(m[i].msgid, idbuf[i]) == 0)) {
					/* the message's own id must be unique too */
					size_t own = 0;
					for (size_t k = 0; k < n && m[i].msgid != NULL; k++)
						own += m[k].msgid != NULL && strcmp(m[k].msgid, m[i].msgid) == 0;
					/* ... and not referred to before it arrived (a
					 * container that may already hold its parent: a
					 * loop, which the algorithm refuses), nor by itself */
					for (size_t k = 0; k <= i && m[i].msgid != NULL; k++)
						for (size_t r = 0; r < m[k].n_refs; r++)
							own += strcmp(m[k].refs[r], m[i].msgid) == 0 ? 2 : 0;
					if (own <= 1)
						assert_int_equal(w.parent[i + 1], owner + 1);
				}
			}
			if (algo == 1) {
				/* ORDEREDSUBJECT: members share their root's subject */
				for (const struct store_thread_node *r = roots; r != NULL; r = r->next)
					for (const struct store_thread_node *c = r->child; c; c = c->next)
						assert_string_equal(m[c->uid - 1].subject,
								    m[r->uid - 1].subject);
			}
			store_thread_free(&roots);
			free(w.seen);
			free(w.parent);
		}
		for (size_t i = 0; i < n; i++)
			free(refs[i]);
		free(refs);
		free(idbuf);
		free(missing);
		free(m);
	}
}

static void test_msgids(void **state)
{
	(void)state;
	char **v;
	size_t n;
	const char *s = "<a@b>  <c@d>\r\n\t<broken <e@f> <nodomain> < x @ y >";
	store_msgids_parse(s, strlen(s), &v, &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "a@b");
	assert_string_equal(v[1], "c@d");
	assert_string_equal(v[2], "e@f");
	assert_string_equal(v[3], "x@y");
	store_strv_free(v, n);
	store_msgids_parse("", 0, &v, &n);
	assert_int_equal(n, 0);
	store_strv_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subject),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_ordered_subject),
		cmocka_unit_test(test_random_references),
		cmocka_unit_test(test_msgids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
