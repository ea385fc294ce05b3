/* THREAD (RFC 5256 4): ORDEREDSUBJECT, and REFERENCES — the algorithm of
 * section 4 step by step: (1) link messages by their References (or
 * In-Reply-To) through containers for every message id, never making a
 * loop, duplicate or missing Message-IDs made unique; (2) the root set;
 * (3) prune dummies (promote the children of a dummy unless that would put
 * several of them in the root set); (4) sort by sent date; (5) gather the
 * roots with the same base subject (the subject table, its preferences for
 * dummies and non-replies, and the merge rules); (6) sort every set of
 * siblings by sent date, a dummy by its first child's. Ties go to the lower
 * UID (message sequence number). */
#include "storage/sort.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"

struct cont {
	uint32_t uid;                /* 0: dummy */
	const char *id;              /* NULL: unique */
	int64_t date;
	const char *subject;
	bool reply;
	int parent, child, next;     /* -1 = none */
};

struct tctx {
	struct cont *c;
	size_t n, cap;
	int *hash;                   /* id -> container, open addressing */
	size_t hcap;
};

static size_t hash_str(const char *s)
{
	size_t h = 5381;
	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static int new_cont(struct tctx *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->c = xrealloc(t->c, t->cap * sizeof(*t->c));
	}
	t->c[t->n] = (struct cont){ .parent = -1, .child = -1, .next = -1 };
	return (int)t->n++;
}

/* The container of id (created as a dummy when new). */
static int lookup(struct tctx *t, const char *id, bool *found_r)
{
	size_t i = hash_str(id) & (t->hcap - 1);
	while (t->hash[i] >= 0) {
		if (strcmp(t->c[t->hash[i]].id, id) == 0) {
			if (found_r != NULL)
				*found_r = true;
			return t->hash[i];
		}
		i = (i + 1) & (t->hcap - 1);
	}
	if (found_r != NULL)
		*found_r = false;
	int k = new_cont(t);
	t->c[k].id = id;
	t->hash[i] = k;
	return k;
}

static bool is_ancestor(const struct tctx *t, int anc, int node)
{
	for (int p = node; p >= 0; p = t->c[p].parent)
		if (p == anc)
			return true;
	return false;
}

static void unlink_child(struct tctx *t, int k)
{
	int p = t->c[k].parent;
	if (p < 0)
		return;
	int *pp = &t->c[p].child;
	while (*pp != k)
		pp = &t->c[*pp].next;
	*pp = t->c[k].next;
	t->c[k].next = -1;
	t->c[k].parent = -1;
}

static void append_child(struct tctx *t, int p, int k)
{
	t->c[k].parent = p;
	t->c[k].next = -1;
	int *pp = &t->c[p].child;
	while (*pp >= 0)
		pp = &t->c[*pp].next;
	*pp = k;
}

/* Step 1.A/B link: parent p, child k, if no loop results. */
static void link(struct tctx *t, int p, int k, bool force)
{
	if (p == k || is_ancestor(t, k, p))
		return;
	if (t->c[k].parent >= 0) {
		if (!force || t->c[k].parent == p)
			return;
		unlink_child(t, k);
	}
	append_child(t, p, k);
}

/* The container a dummy is judged by: its first child (recursively). */
static const struct cont *rep(const struct tctx *t, int k)
{
	while (t->c[k].uid == 0 && t->c[k].child >= 0)
		k = t->c[k].child;
	return &t->c[k];
}

static int by_date(const struct tctx *t, int a, int b)
{
	const struct cont *x = rep(t, a), *y = rep(t, b);
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Sort a sibling list (by insertion: lists are short; long ones are
 * merged pairwise through an array). */
static int sort_list(struct tctx *t, int head)
{
	size_t n = 0;
	for (int k = head; k >= 0; k = t->c[k].next)
		n++;
	if (n < 2)
		return head;
	int *v = xmalloc(n * sizeof(*v));
	n = 0;
	for (int k = head; k >= 0; k = t->c[k].next)
		v[n++] = k;
	/* stable merge sort */
	int *tmp = xmalloc(n * sizeof(*tmp));
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				tmp[o++] = by_date(t, v[j], v[i]) < 0 ? v[j++] : v[i++];
			while (i < mid)
				tmp[o++] = v[i++];
			while (j < hi)
				tmp[o++] = v[j++];
		}
		memcpy(v, tmp, n * sizeof(*v));
	}
	for (size_t i = 0; i + 1 < n; i++)
		t->c[v[i]].next = v[i + 1];
	t->c[v[n - 1]].next = -1;
	head = v[0];
	free(v);
	free(tmp);
	return head;
}

static void sort_tree(struct tctx *t, int *head)
{
	for (int k = *head; k >= 0; k = t->c[k].next)
		sort_tree(t, &t->c[k].child);
	*head = sort_list(t, *head);
}

/* Step 3 on a sibling list whose parent is par (-1: the root set). */
static int prune(struct tctx *t, int head, int par)
{
	int out = -1, *tail = &out;
	for (int k = head, next; k >= 0; k = next) {
		next = t->c[k].next;
		t->c[k].child = prune(t, t->c[k].child, k);
		struct cont *c = &t->c[k];
		if (c->uid == 0 && c->child < 0)
			continue;                     /* 3.A: empty dummy */
		if (c->uid == 0 && (par >= 0 || t->c[c->child].next < 0)) {
			/* 3.B: promote the children */
			for (int ch = c->child; ch >= 0; ch = t->c[ch].next) {
				t->c[ch].parent = par;
				*tail = ch;
				tail = &t->c[ch].next;
			}
			*tail = -1;
			continue;
		}
		c->parent = par;
		*tail = k;
		tail = &c->next;
		*tail = -1;
	}
	*tail = -1;
	return out;
}

/* Step 5 on the root list. */
static int gather_subjects(struct tctx *t, int roots)
{
	size_t n = 0;
	for (int k = roots; k >= 0; k = t->c[k].next)
		n++;
	if (n == 0)
		return roots;
	int *v = xmalloc(n * sizeof(*v));
	n = 0;
	for (int k = roots; k >= 0; k = t->c[k].next)
		v[n++] = k;
	/* the subject table: subject -> container, open addressing */
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	int *tab = xmalloc(cap * sizeof(*tab));
	for (size_t i = 0; i < cap; i++)
		tab[i] = -1;
	bool *gone = xcalloc(n, sizeof(*gone));
	int *slot_of = xmalloc(n * sizeof(*slot_of));
	for (size_t i = 0; i < n; i++) {
		slot_of[i] = -1;
		const struct cont *r = rep(t, v[i]);
		if (r->subject == NULL || r->subject[0] == '\0')
			continue;
		size_t h = hash_str(r->subject) & (cap - 1);
		while (tab[h] >= 0 && strcmp(rep(t, tab[h])->subject, r->subject) != 0)
			h = (h + 1) & (cap - 1);
		slot_of[i] = (int)h;
		int e = tab[h];
		bool cur_dummy = t->c[v[i]].uid == 0;
		if (e < 0 || (t->c[e].uid != 0 && cur_dummy) ||
		    (t->c[e].uid != 0 && !cur_dummy && t->c[e].reply && !t->c[v[i]].reply))
			tab[h] = v[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (slot_of[i] < 0)
			continue;
		int k = v[i], e = tab[slot_of[i]];
		if (e == k)
			continue;
		bool kd = t->c[k].uid == 0, ed = t->c[e].uid == 0;
		gone[i] = true;
		if (kd && ed) {
			for (int ch = t->c[k].child, next; ch >= 0; ch = next) {
				next = t->c[ch].next;
				append_child(t, e, ch);
			}
			t->c[k].child = -1;
		} else if (ed) {
			append_child(t, e, k);
		} else if (!t->c[e].reply && t->c[k].reply) {
			append_child(t, e, k);
		} else {
			/* a new dummy holds both; it takes e's place */
			int d = new_cont(t);
			for (size_t j = 0; j < n; j++)
				if (v[j] == e)
					v[j] = d;
			append_child(t, d, e);
			append_child(t, d, k);
			tab[slot_of[i]] = d;
		}
	}
	int out = -1, *tail = &out;
	for (size_t i = 0; i < n; i++) {
		if (gone[i])
			continue;
		t->c[v[i]].parent = -1;
		*tail = v[i];
		tail = &t->c[v[i]].next;
	}
	*tail = -1;
	free(v);
	free(tab);
	free(gone);
	free(slot_of);
	return out;
}

static struct store_thread_node *export(const struct tctx *t, int head)
{
	struct store_thread_node *out = NULL, **tail = &out;
	for (int k = head; k >= 0; k = t->c[k].next) {
		struct store_thread_node *nd = xcalloc(1, sizeof(*nd));
		nd->uid = t->c[k].uid;
		nd->child = export(t, t->c[k].child);
		*tail = nd;
		tail = &nd->next;
	}
	return out;
}

static struct store_thread_node *references(const struct store_thread_msg *m, size_t n)
{
	struct tctx t = { 0 };
	size_t ids = n;
	for (size_t i = 0; i < n; i++)
		ids += m[i].n_refs;
	t.hcap = 16;
	while (t.hcap < ids * 2)
		t.hcap *= 2;
	t.hash = xmalloc(t.hcap * sizeof(*t.hash));
	for (size_t i = 0; i < t.hcap; i++)
		t.hash[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int k;
		bool found = false;
		if (m[i].msgid != NULL && m[i].msgid[0] != '\0') {
			k = lookup(&t, m[i].msgid, &found);
			if (found && t.c[k].uid != 0)
				k = new_cont(&t);      /* a duplicate: unique */
		} else {
			k = new_cont(&t);
		}
		struct cont *c = &t.c[k];
		c->uid = m[i].uid;
		c->date = m[i].date;
		c->subject = m[i].subject;
		c->reply = m[i].reply;
		/* 1.A: the chain of references */
		int prev = -1;
		for (size_t r = 0; r < m[i].n_refs; r++) {
			int rk = lookup(&t, m[i].refs[r], NULL);
			if (prev >= 0)
				link(&t, prev, rk, false);
			prev = rk;
		}
		/* 1.B: the last reference is the parent */
		if (prev >= 0)
			link(&t, prev, k, true);
		else
			unlink_child(&t, k);
	}
	/* 2: the root set */
	int roots = -1, *tail = &roots;
	for (size_t k = 0; k < t.n; k++) {
		if (t.c[k].parent >= 0)
			continue;
		*tail = (int)k;
		tail = &t.c[k].next;
	}
	*tail = -1;
	roots = prune(&t, roots, -1);          /* 3 */
	sort_tree(&t, &roots);                 /* 4 */
	roots = gather_subjects(&t, roots);    /* 5 */
	sort_tree(&t, &roots);                 /* 6 */
	struct store_thread_node *out = export(&t, roots);
	free(t.c);
	free(t.hash);
	return out;
}

static int subj_cmp(const void *x, const void *y)
{
	const struct store_thread_msg *a = *(const struct store_thread_msg *const *)x;
	const struct store_thread_msg *b = *(const struct store_thread_msg *const *)y;
	int r = strcmp(a->subject != NULL ? a->subject : "", b->subject != NULL ? b->subject : "");
	if (r != 0)
		return r;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

static struct store_thread_node *ordered_subject(const struct store_thread_msg *m, size_t n)
{
	const struct store_thread_msg **v = xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = &m[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), subj_cmp);
	struct tctx t = { 0 };
	/* new_cont may move t.c: link by index, never through pointers */
	int roots = -1, last = -1, root = -1;
	for (size_t i = 0; i < n; i++) {
		int k = new_cont(&t);
		t.c[k].uid = v[i]->uid;
		t.c[k].date = v[i]->date;
		if (root >= 0 && strcmp(v[i - 1]->subject ? v[i - 1]->subject : "",
					v[i]->subject ? v[i]->subject : "") == 0) {
			append_child(&t, root, k);
			continue;
		}
		root = k;
		if (last < 0)
			roots = k;
		else
			t.c[last].next = k;
		last = k;
	}
	roots = sort_list(&t, roots);
	struct store_thread_node *out = export(&t, roots);
	free(t.c);
	free(v);
	return out;
}

struct store_thread_node *store_thread_build(const struct store_thread_msg *msgs, size_t n,
					     enum store_thread_algo algo)
{
	return algo == STORE_THREAD_REFERENCES ? references(msgs, n) : ordered_subject(msgs, n);
}

void store_thread_free(struct store_thread_node **roots)
{
	struct store_thread_node *nd = *roots;
	while (nd != NULL) {
		struct store_thread_node *next = nd->next;
		store_thread_free(&nd->child);
		free(nd);
		nd = next;
	}
	*roots = NULL;
}
