/* The index's small side tables (see index-schema.h): keyword names and ids,
 * subscriptions, the opaque per-message parse cache, spam verdicts and the
 * mailboxes' access keys. Like index.c, it copies everything out of LMDB
 * before returning; the message, modseq and tombstone tables stay in
 * index.c, the only file that opens cursors on them. */
#include "storage/index.h"

#include <string.h>

#include "lib/xmem.h"
#include "storage/index-schema.h"

/* ---- keywords ---- */

bool idx_keyword_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

int idx_keyword_id(struct idx *idx, MDB_txn *txn, const char *name, bool create, uint16_t *id_r,
		   bool *created_r)
{
	if (created_r != NULL)
		*created_r = false;
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, idx->dbi.keywords, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 2)
			return idx_err(MDB_CORRUPTED, "keyword value");
		*id_r = idx_get_u16(v.mv_data);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return idx_err(rc, "keyword get");
	if (!create)
		return STORE_ENOTFOUND;
	uint64_t id;
	int err = idx_meta_next(idx, txn, "next_keyword_id", 0, &id);
	if (err != 0)
		return err;
	if (id > UINT16_MAX)
		return STORE_EINVALID;
	unsigned char ib[2];
	idx_put_u16(ib, (uint16_t)id);
	MDB_val iv = { 2, ib };
	rc = mdb_put(txn, idx->dbi.keywords, &k, &iv, 0);
	if (rc == 0)
		rc = mdb_put(txn, idx->dbi.kwid, &iv, &k, 0);
	if (rc != 0)
		return idx_err(rc, "keyword put");
	*id_r = (uint16_t)id;
	if (created_r != NULL)
		*created_r = true;
	return 0;
}

char *idx_keyword_name(struct idx *idx, MDB_txn *txn, uint16_t id)
{
	unsigned char ib[2];
	idx_put_u16(ib, id);
	MDB_val k = { 2, ib }, v;
	if (mdb_get(txn, idx->dbi.kwid, &k, &v) != 0)
		return NULL;
	return xstrndup(v.mv_data, v.mv_size);
}

int idx_keyword_table(struct idx *idx, MDB_txn *txn, char ***names_r, size_t *count_r)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.kwid, &cur);
	if (rc != 0)
		return idx_err(rc, "cursor");
	char **names = NULL;
	size_t n = 0;
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 2)
			continue;
		size_t id = idx_get_u16(k.mv_data);
		if (id >= n) {
			names = xrealloc(names, (id + 1) * sizeof(*names));
			memset(names + n, 0, (id + 1 - n) * sizeof(*names));
			n = id + 1;
		}
		names[id] = xstrndup(v.mv_data, v.mv_size);
	}
	mdb_cursor_close(cur);
	*names_r = names;
	*count_r = n;
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "keyword table");
}

uint32_t idx_msg_keyword_bits(const struct idx_msg *m)
{
	uint32_t bits = 0;
	for (unsigned i = 0; i < m->n_keywords; i++) {
		if (m->keywords[i] < 26)
			bits |= 1u << m->keywords[i];
	}
	return bits;
}

int idx_keyword_put(struct idx *idx, MDB_txn *txn, const char *name, uint16_t id)
{
	unsigned char ib[2];
	idx_put_u16(ib, id);
	MDB_val k = { strlen(name), (void *)name }, v = { 2, ib };
	int rc = mdb_put(txn, idx->dbi.keywords, &k, &v, 0);
	if (rc == 0)
		rc = mdb_put(txn, idx->dbi.kwid, &v, &k, 0);
	return idx_err(rc, "keyword put");
}

/* ---- subscriptions ---- */

int idx_subs_set(struct idx *idx, MDB_txn *txn, const char *name, bool subscribe)
{
	MDB_val k = { strlen(name), (void *)name }, v = { 0, NULL };
	int rc = subscribe ? mdb_put(txn, idx->dbi.subs, &k, &v, 0)
			   : mdb_del(txn, idx->dbi.subs, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "subscribe");
}

bool idx_subs_has(struct idx *idx, MDB_txn *txn, const char *name)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	return mdb_get(txn, idx->dbi.subs, &k, &v) == 0;
}

int idx_subs_list(struct idx *idx, MDB_txn *txn, char ***names_r, size_t *count_r)
{
	*names_r = NULL;
	*count_r = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.subs, &cur);
	if (rc != 0)
		return idx_err(rc, "cursor");
	char **names = NULL;
	size_t n = 0;
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrndup(k.mv_data, k.mv_size);
	}
	mdb_cursor_close(cur);
	*names_r = names;
	*count_r = n;
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "subscriptions");
}

/* ---- parse cache ---- */

int idx_cache_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, void **data_r,
		  size_t *len_r)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mbox_id, uid);
	MDB_val k = { sizeof(kb), kb }, v;
	int rc = mdb_get(txn, idx->dbi.cache, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? STORE_ENOTFOUND : idx_err(rc, "cache get");
	*data_r = xmalloc(v.mv_size ? v.mv_size : 1);
	memcpy(*data_r, v.mv_data, v.mv_size);
	*len_r = v.mv_size;
	return 0;
}

int idx_cache_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, const void *data,
		  size_t len)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mbox_id, uid);
	MDB_val k = { sizeof(kb), kb }, v = { len, (void *)data };
	return idx_err(mdb_put(txn, idx->dbi.cache, &k, &v, 0), "cache put");
}

/* ---- spam verdicts ---- */

int idx_spam_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid,
		 struct store_spam *spam_r)
{
	memset(spam_r, 0, sizeof(*spam_r));
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mbox_id, uid);
	MDB_val k = { sizeof(kb), kb }, v;
	int rc = mdb_get(txn, idx->dbi.spam, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? STORE_ENOTFOUND : idx_err(rc, "spam get");
	const unsigned char *p = v.mv_data;
	if (v.mv_size < IDX_SPAM_LEN || p[0] < IDX_SPAM_V1)
		return STORE_ECORRUPT;
	spam_r->verdict = p[1];
	spam_r->action = p[2];
	spam_r->score_milli = (int32_t)idx_get_u32(p + 4);
	spam_r->required_milli = (int32_t)idx_get_u32(p + 8);
	return 0;
}

int idx_spam_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid,
		 const struct store_spam *spam)
{
	unsigned char kb[IDX_MSG_KEY_LEN], vb[IDX_SPAM_LEN];
	idx_msg_key(kb, mbox_id, uid);
	vb[0] = IDX_SPAM_V1;
	vb[1] = spam->verdict;
	vb[2] = spam->action;
	vb[3] = 0;
	idx_put_u32(vb + 4, (uint32_t)spam->score_milli);
	idx_put_u32(vb + 8, (uint32_t)spam->required_milli);
	MDB_val k = { sizeof(kb), kb }, v = { sizeof(vb), vb };
	return idx_err(mdb_put(txn, idx->dbi.spam, &k, &v, 0), "spam put");
}

int idx_spam_carry(struct idx *idx, MDB_txn *txn, uint32_t src_mbox, uint32_t src_uid,
		   uint32_t dst_mbox, uint32_t dst_uid)
{
	struct store_spam spam;
	int err = idx_spam_get(idx, txn, src_mbox, src_uid, &spam);
	if (err == STORE_ENOTFOUND || err == STORE_ECORRUPT)
		return 0;   /* nothing (usable) to keep */
	if (err != 0)
		return err;
	return idx_spam_put(idx, txn, dst_mbox, dst_uid, &spam);
}

/* ---- mailbox access keys ---- */

#define MBOX_KEY_V1 1u

int idx_mbox_key_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, unsigned char *key,
		     size_t len)
{
	unsigned char kb[4];
	idx_put_u32(kb, mbox_id);
	MDB_val k = { sizeof(kb), kb }, v;
	int rc = mdb_get(txn, idx->dbi.mbox_keys, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? STORE_ENOTFOUND : idx_err(rc, "mailbox key get");
	const unsigned char *p = v.mv_data;
	if (v.mv_size != len + 1 || p[0] != MBOX_KEY_V1)
		return idx_err(MDB_CORRUPTED, "mailbox key");
	memcpy(key, p + 1, len);
	return 0;
}

int idx_mbox_key_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const unsigned char *key,
		     size_t len)
{
	unsigned char kb[4], vb[1 + 64];
	if (len > sizeof(vb) - 1)
		return STORE_EINVALID;
	idx_put_u32(kb, mbox_id);
	vb[0] = MBOX_KEY_V1;
	memcpy(vb + 1, key, len);
	MDB_val k = { sizeof(kb), kb }, v = { len + 1, vb };
	return idx_err(mdb_put(txn, idx->dbi.mbox_keys, &k, &v, 0), "mailbox key put");
}

int idx_mbox_key_del(struct idx *idx, MDB_txn *txn, uint32_t mbox_id)
{
	unsigned char kb[4];
	idx_put_u32(kb, mbox_id);
	MDB_val k = { sizeof(kb), kb };
	int rc = mdb_del(txn, idx->dbi.mbox_keys, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "mailbox key del");
}

int idx_mbox_key_del_all(struct idx *idx, MDB_txn *txn)
{
	return idx_err(mdb_drop(txn, idx->dbi.mbox_keys, 0), "mailbox keys drop");
}
