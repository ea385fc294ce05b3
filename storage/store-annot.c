/* Annotations of mailboxes and of the server (IMAP METADATA, RFC 5464):
 * reads in one short read transaction, changes as one writer op (one
 * durable commit, all or nothing) that enforces the value size and entry
 * count limits. The table itself is index-annot.c's. */
#include <string.h>

#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "storage/store-private.h"
#include "storage/writer.h"

void store_annot_free(struct store_annot *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].entry);
		free(list[i].value);
	}
	free(list);
}

/* The mailbox's id, 0 for the server (mailbox NULL). */
static int annot_owner(struct idx *idx, MDB_txn *txn, const char *canon, uint32_t *id_r)
{
	if (canon == NULL) {
		*id_r = 0;
		return 0;
	}
	struct idx_mbox mb;
	int err = idx_mbox_by_name(idx, txn, canon, &mb);
	if (err == 0)
		*id_r = mb.id;
	return err;
}

struct get_ctx {
	struct store_annot *list;
	size_t n, cap;
	const char *base;       /* the requested name */
	size_t base_len;
	int depth;
};

static int get_one(void *ctx, const char *entry, size_t entry_len, const void *val, size_t len)
{
	struct get_ctx *g = ctx;
	if (entry_len != g->base_len) {
		/* below the requested name: only past a '/', within depth */
		if (entry[g->base_len] != '/' || g->depth == 0)
			return 0;
		if (g->depth > 0) {
			int levels = 0;
			for (size_t i = g->base_len; i < entry_len; i++)
				levels += entry[i] == '/';
			if (levels > g->depth)
				return 0;
		}
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->list = xrealloc(g->list, g->cap * sizeof(*g->list));
	}
	struct store_annot *a = &g->list[g->n++];
	a->entry = xstrndup(entry, entry_len);
	a->value = xmalloc(len + 1);
	memcpy(a->value, val, len);
	a->value[len] = '\0';
	a->len = len;
	return 0;
}

int store_annot_get(struct store_user *user, const char *mailbox, const char *const *entries,
		    size_t n_entries, int depth, struct store_annot **list_r, size_t *n_r)
{
	thread_assert_may_block("store_annot_get");
	char *canon = NULL;
	if (mailbox != NULL && (canon = store_name_canonical(mailbox)) == NULL)
		return STORE_EINVALID;
	MDB_txn *txn;
	uint32_t id = 0;
	struct get_ctx g = { .depth = depth };
	int err = idx_read_begin(&user->idx, &txn);
	if (err == 0) {
		err = annot_owner(&user->idx, txn, canon, &id);
		for (size_t i = 0; i < n_entries && err == 0; i++) {
			g.base = entries[i];
			g.base_len = strlen(entries[i]);
			err = idx_annot_each(&user->idx, txn, id, entries[i], get_one, &g);
		}
		idx_read_end(&user->idx, txn);
	}
	free(canon);
	if (err != 0) {
		store_annot_free(g.list, g.n);
		return err;
	}
	*list_r = g.list;
	*n_r = g.n;
	return 0;
}

struct op_annot {
	struct wop op;
	const char *mailbox;    /* canonical; NULL = the server */
	const struct store_annot *changes;
	size_t n;
	struct store_annot_limits lim;
};

static int count_one(void *ctx, const char *entry, size_t entry_len, const void *val, size_t len)
{
	(void)entry;
	(void)entry_len;
	(void)val;
	(void)len;
	(*(size_t *)ctx)++;
	return 0;
}

static int run_annot(struct wtxn *w, struct wop *op)
{
	struct op_annot *o = (struct op_annot *)op;
	uint32_t id;
	size_t before = 0, after = 0;
	int err = annot_owner(w->idx, w->txn, o->mailbox, &id);
	if (err == 0)
		err = idx_annot_each(w->idx, w->txn, id, "", count_one, &before);
	for (size_t i = 0; i < o->n && err == 0; i++) {
		const struct store_annot *c = &o->changes[i];
		if (c->value == NULL)
			err = idx_annot_del(w->idx, w->txn, id, c->entry);
		else if (c->len > o->lim.max_value)
			err = STORE_ETOOBIG;
		else
			err = idx_annot_put(w->idx, w->txn, id, c->entry, c->value, c->len);
	}
	if (err == 0)
		err = idx_annot_each(w->idx, w->txn, id, "", count_one, &after);
	/* Only growth past the limit is refused: changing or deleting entries
	 * under a lowered limit stays possible. */
	if (err == 0 && after > o->lim.max_entries && after > before)
		err = STORE_EQUOTA;
	if (err == 0)
		w->changed = true;
	return err;
}

int store_annot_set(struct store_user *user, const char *mailbox,
		    const struct store_annot *changes, size_t n,
		    const struct store_annot_limits *lim)
{
	thread_assert_may_block("store_annot_set");
	char *canon = NULL;
	if (mailbox != NULL && (canon = store_name_canonical(mailbox)) == NULL)
		return STORE_EINVALID;
	struct op_annot o = { .op = { .run = run_annot }, .mailbox = canon, .changes = changes,
			      .n = n, .lim = *lim };
	int err = writer_run(user, &o.op);
	free(canon);
	return err;
}
