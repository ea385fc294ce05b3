/* The names a LIST/LSUB returns (see list-tree.h). Nodes are sorted so that
 * a name's descendants follow it contiguously ('/' sorts before every other
 * byte, names under INBOX come first), which makes every "has a descendant
 * that ..." question a scan of the following run. */
#include "server/imap/list-tree.h"

#include <string.h>

#include "lib/xmem.h"
#include "server/imap/list-match.h"
#include "storage/store.h"

struct node {
	char *name;
	size_t len;
	bool exists, subscribed;
	uint32_t special_use;
};

struct imap_list_tree {
	struct node *nodes;
	size_t n;
};

static bool under_inbox(const char *name)
{
	return strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/');
}

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	bool xi = under_inbox(x->name), yi = under_inbox(y->name);
	if (xi != yi)
		return xi ? -1 : 1;
	const unsigned char *p = (const unsigned char *)x->name;
	const unsigned char *q = (const unsigned char *)y->name;
	for (;; p++, q++) {
		unsigned cp = *p == '/' ? 1 : *p, cq = *q == '/' ? 1 : *q;
		if (cp != cq)
			return cp < cq ? -1 : 1;
		if (cp == 0)
			return 0;
	}
}

struct builder {
	struct node *nodes;
	size_t n, cap;
};

static void add(struct builder *b, const char *name, size_t len, bool exists,
		bool subscribed, uint32_t special_use)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->nodes = xrealloc(b->nodes, b->cap * sizeof(*b->nodes));
	}
	struct node *nd = &b->nodes[b->n++];
	nd->name = xstrndup(name, len);
	nd->len = len;
	nd->exists = exists;
	nd->subscribed = subscribed;
	nd->special_use = special_use;
}

/* A name and each level above it ("a/b/c": "a", "a/b" as bare levels). */
static void add_with_levels(struct builder *b, const char *name, bool exists, bool subscribed,
			    uint32_t special_use)
{
	for (const char *p = strchr(name, '/'); p != NULL; p = strchr(p + 1, '/'))
		add(b, name, (size_t)(p - name), false, false, 0);
	add(b, name, strlen(name), exists, subscribed, special_use);
}

struct imap_list_tree *imap_list_tree_build(const struct store_mailbox_info *mailboxes,
					    size_t n_mailboxes, char *const *subscriptions,
					    size_t n_subscriptions)
{
	struct builder b = { 0 };
	for (size_t i = 0; i < n_mailboxes; i++)
		add_with_levels(&b, mailboxes[i].name, true, mailboxes[i].subscribed,
				mailboxes[i].special_use);
	for (size_t i = 0; i < n_subscriptions; i++)
		add_with_levels(&b, subscriptions[i], false, true, 0);
	if (b.n > 1)
		qsort(b.nodes, b.n, sizeof(*b.nodes), node_cmp);
	/* merge duplicates: a name is what all its records say together */
	size_t out = 0;
	for (size_t i = 0; i < b.n; i++) {
		if (out > 0 && strcmp(b.nodes[out - 1].name, b.nodes[i].name) == 0) {
			struct node *keep = &b.nodes[out - 1];
			keep->exists |= b.nodes[i].exists;
			keep->subscribed |= b.nodes[i].subscribed;
			keep->special_use |= b.nodes[i].special_use;
			free(b.nodes[i].name);
			continue;
		}
		b.nodes[out++] = b.nodes[i];
	}
	struct imap_list_tree *t = xcalloc(1, sizeof(*t));
	t->nodes = b.nodes;
	t->n = out;
	return t;
}

void imap_list_tree_free(struct imap_list_tree **tp)
{
	struct imap_list_tree *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	for (size_t i = 0; i < t->n; i++)
		free(t->nodes[i].name);
	free(t->nodes);
	free(t);
}

static bool is_descendant(const struct node *parent, const struct node *n)
{
	return n->len > parent->len && n->name[parent->len] == '/' &&
	       memcmp(n->name, parent->name, parent->len) == 0;
}

static bool meets(const struct imap_list_query *q, const struct node *n)
{
	switch (q->mode) {
	case IMAP_LIST_PLAIN:
		return n->exists;
	case IMAP_LIST_LSUB:
		return n->subscribed;
	case IMAP_LIST_EXTENDED:
		break;
	}
	if (q->sel_subscribed ? !n->subscribed : !n->exists)
		return false;
	if (q->sel_special_use && (!n->exists || n->special_use == 0))
		return false;
	return true;
}

/* Bit 0: some pattern matches; bit 1: one ending in '%' does. */
static unsigned matches(const struct imap_list_query *q, const struct node *n)
{
	unsigned r = 0;
	for (size_t i = 0; i < q->n_patterns; i++)
		if (imap_match(q->patterns[i], n->name))
			r |= imap_match_ends_pct(q->patterns[i]) ? 3u : 1u;
	return r;
}

void imap_list_tree_select(const struct imap_list_tree *t, const struct imap_list_query *q,
			   struct imap_list_entry **entries_r, size_t *n_r)
{
	*entries_r = NULL;
	*n_r = 0;
	if (t->n == 0)
		return;
	unsigned char *match = xcalloc(t->n, 1);
	bool *meet = xcalloc(t->n, sizeof(*meet));
	for (size_t i = 0; i < t->n; i++) {
		match[i] = (unsigned char)matches(q, &t->nodes[i]);
		meet[i] = meets(q, &t->nodes[i]);
	}
	/* criteria that leave levels out unless RECURSIVEMATCH asks for them */
	bool narrowed = q->mode == IMAP_LIST_EXTENDED && (q->sel_subscribed || q->sel_special_use);
	struct imap_list_entry *out = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!match[i])
			continue;
		const struct node *nd = &t->nodes[i];
		bool children = false, desc_meets = false, desc_meets_unmatched = false;
		for (size_t j = i + 1; j < t->n && is_descendant(nd, &t->nodes[j]); j++) {
			children |= t->nodes[j].exists;
			desc_meets |= meet[j];
			desc_meets_unmatched |= meet[j] && !match[j];
		}
		bool level = false;
		if (!meet[i]) {
			if (!desc_meets_unmatched)
				continue;
			if (q->mode == IMAP_LIST_EXTENDED && !q->sel_recursive && narrowed)
				continue;
			level = q->mode != IMAP_LIST_EXTENDED;
			/* RFC 3501 6.3.8/6.3.9: levels only for a trailing '%' */
			if (level && (match[i] & 2) == 0)
				continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			out = xrealloc(out, cap * sizeof(*out));
		}
		struct imap_list_entry *e = &out[n++];
		e->name = nd->name;
		e->exists = nd->exists;
		e->subscribed = nd->subscribed;
		e->has_children = children;
		e->childinfo = q->mode == IMAP_LIST_EXTENDED && q->sel_recursive && desc_meets;
		e->level = level;
		e->special_use = nd->special_use;
	}
	free(match);
	free(meet);
	*entries_r = out;
	*n_r = n;
}
