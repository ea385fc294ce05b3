/* The annot table of a user's index (index-schema.h): annotations of
 * mailboxes and of the server (IMAP METADATA), keyed by mailbox id and
 * entry name. Typed get/put/del, an ordered walk over one mailbox's
 * entries, their hand-over to another mailbox and their copy into
 * another index (rebuild). */
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/index.h"

#define ANNOT_KEY_MAX (4 + 1024)

static int annot_key(unsigned char *kb, uint32_t mbox_id, const char *entry, MDB_val *k)
{
	size_t n = strlen(entry);
	if (n > ANNOT_KEY_MAX - 4)
		return STORE_EINVALID;
	idx_put_u32(kb, mbox_id);
	memcpy(kb + 4, entry, n);
	k->mv_size = 4 + n;
	k->mv_data = kb;
	return 0;
}

int idx_annot_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry,
		  const void **val_r, size_t *len_r)
{
	unsigned char kb[ANNOT_KEY_MAX];
	MDB_val k, v;
	int err = annot_key(kb, mbox_id, entry, &k);
	if (err != 0)
		return err;
	int rc = mdb_get(txn, idx->dbi.annot, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? STORE_ENOTFOUND : idx_err(rc, "annotation get");
	const unsigned char *p = v.mv_data;
	if (v.mv_size < 1 || p[0] != IDX_ANNOT_V1)
		return idx_err(MDB_CORRUPTED, "annotation");
	*val_r = p + 1;
	*len_r = v.mv_size - 1;
	return 0;
}

int idx_annot_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry,
		  const void *val, size_t len)
{
	unsigned char kb[ANNOT_KEY_MAX];
	MDB_val k, v = { len + 1, NULL };
	int err = annot_key(kb, mbox_id, entry, &k);
	if (err != 0)
		return err;
	int rc = mdb_put(txn, idx->dbi.annot, &k, &v, MDB_RESERVE);
	if (rc != 0)
		return idx_err(rc, "annotation put");
	unsigned char *p = v.mv_data;
	p[0] = IDX_ANNOT_V1;
	if (len > 0)
		memcpy(p + 1, val, len);
	return 0;
}

int idx_annot_del(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry)
{
	unsigned char kb[ANNOT_KEY_MAX];
	MDB_val k;
	int err = annot_key(kb, mbox_id, entry, &k);
	if (err != 0)
		return err;
	int rc = mdb_del(txn, idx->dbi.annot, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "annotation del");
}

int idx_annot_each(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *prefix,
		   idx_annot_fn *fn, void *ctx)
{
	unsigned char kb[ANNOT_KEY_MAX];
	MDB_val k, v;
	int err = annot_key(kb, mbox_id, prefix, &k);
	if (err != 0)
		return err;
	size_t plen = k.mv_size;
	unsigned char pb[ANNOT_KEY_MAX];
	memcpy(pb, kb, plen);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.annot, &cur);
	if (rc != 0)
		return idx_err(rc, "annotation cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	err = 0;
	while (rc == 0 && err == 0) {
		const unsigned char *p = v.mv_data;
		if (k.mv_size < plen || memcmp(k.mv_data, pb, plen) != 0)
			break;
		if (v.mv_size < 1 || p[0] != IDX_ANNOT_V1) {
			err = idx_err(MDB_CORRUPTED, "annotation");
			break;
		}
		char name[ANNOT_KEY_MAX];
		size_t nlen = k.mv_size - 4;
		memcpy(name, (const char *)k.mv_data + 4, nlen);
		name[nlen] = '\0';
		err = fn(ctx, name, nlen, p + 1, v.mv_size - 1);
		if (err == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err != 0)
		return err;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : idx_err(rc, "annotation walk");
}

struct annot_list {
	char **names;
	void **vals;
	size_t *lens;
	size_t n, cap;
};

static int collect(void *ctx, const char *entry, size_t entry_len, const void *val, size_t len)
{
	struct annot_list *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->names = xrealloc(l->names, l->cap * sizeof(*l->names));
		l->vals = xrealloc(l->vals, l->cap * sizeof(*l->vals));
		l->lens = xrealloc(l->lens, l->cap * sizeof(*l->lens));
	}
	l->names[l->n] = xstrndup(entry, entry_len);
	l->vals[l->n] = xmalloc(len + 1);
	memcpy(l->vals[l->n], val, len);
	l->lens[l->n++] = len;
	return 0;
}

int idx_annot_move(struct idx *idx, MDB_txn *txn, uint32_t from, uint32_t to)
{
	struct annot_list l = { 0 };
	int err = idx_annot_each(idx, txn, from, "", collect, &l);
	for (size_t i = 0; i < l.n && err == 0; i++) {
		err = idx_annot_put(idx, txn, to, l.names[i], l.vals[i], l.lens[i]);
		if (err == 0)
			err = idx_annot_del(idx, txn, from, l.names[i]);
	}
	for (size_t i = 0; i < l.n; i++) {
		free(l.names[i]);
		free(l.vals[i]);
	}
	free(l.names);
	free(l.vals);
	free(l.lens);
	return err;
}

struct copy_ctx {
	struct idx *to;
	MDB_txn *txn;
	uint32_t id;
};

static int copy_one(void *ctx, const char *entry, size_t entry_len, const void *val, size_t len)
{
	struct copy_ctx *c = ctx;
	(void)entry_len;
	return idx_annot_put(c->to, c->txn, c->id, entry, val, len);
}

int idx_annot_copy(struct idx *from, MDB_txn *ftxn, uint32_t from_id, struct idx *to,
		   MDB_txn *ttxn, uint32_t to_id)
{
	struct copy_ctx c = { to, ttxn, to_id };
	return idx_annot_each(from, ftxn, from_id, "", copy_one, &c);
}
