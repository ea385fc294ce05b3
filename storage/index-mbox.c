/* The mailbox table of the index (see index-schema.h for the layout):
 * decoding and writing mailbox records, the name mapping, children by name
 * prefix, quota usage summed over the records, fresh UIDVALIDITY values and
 * the iterator over all mailboxes. Dropping a mailbox with its messages
 * lives in index.c with the other message-table writes. */
#include "storage/index.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/xmem.h"
#include "storage/index-schema.h"

int idx_mbox_decode(const MDB_val *key, const MDB_val *val, struct idx_mbox *mb)
{
	const unsigned char *p = val->mv_data;
	if (key->mv_size != 4 || val->mv_size < IDX_MBOX_FIXED_LEN || p[0] != IDX_MBOX_V1 ||
	    val->mv_size - IDX_MBOX_FIXED_LEN > MAILBOX_NAME_MAX)
		return idx_err(MDB_CORRUPTED, "mailbox record");
	mb->id = idx_get_u32(key->mv_data);
	p++;
	mb->uidvalidity = idx_get_u32(p); p += 4;
	mb->uidnext = idx_get_u32(p); p += 4;
	mb->highestmodseq = idx_get_u64(p); p += 8;
	mb->recent_uid = idx_get_u32(p); p += 4;
	mb->special_use = idx_get_u32(p); p += 4;
	mb->messages = idx_get_u32(p); p += 4;
	mb->unseen = idx_get_u32(p); p += 4;
	mb->deleted = idx_get_u32(p); p += 4;
	mb->size = idx_get_u64(p); p += 8;
	mb->vsize = idx_get_u64(p); p += 8;
	mb->cur_stamp = (int64_t)idx_get_u64(p); p += 8;
	mb->new_stamp = (int64_t)idx_get_u64(p); p += 8;
	size_t n = val->mv_size - IDX_MBOX_FIXED_LEN;
	memcpy(mb->name, p, n);
	mb->name[n] = '\0';
	return 0;
}

int idx_mbox_get(struct idx *idx, MDB_txn *txn, uint32_t id, struct idx_mbox *mb_r)
{
	unsigned char kb[4];
	idx_put_u32(kb, id);
	MDB_val k = { 4, kb }, v;
	int rc = mdb_get(txn, idx->dbi.mailboxes, &k, &v);
	if (rc != 0)
		return idx_err(rc, "mailbox get");
	return idx_mbox_decode(&k, &v, mb_r);
}

int idx_mbox_by_name(struct idx *idx, MDB_txn *txn, const char *name, struct idx_mbox *mb_r)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, idx->dbi.mbox_by_name, &k, &v);
	if (rc != 0)
		return idx_err(rc, "mailbox lookup");
	if (v.mv_size != 4)
		return idx_err(MDB_CORRUPTED, "mbox_by_name value");
	return idx_mbox_get(idx, txn, idx_get_u32(v.mv_data), mb_r);
}

int idx_mbox_put(struct idx *idx, MDB_txn *txn, const struct idx_mbox *mb, bool insert)
{
	size_t nlen = strlen(mb->name);
	unsigned char buf[IDX_MBOX_FIXED_LEN + MAILBOX_NAME_MAX], kb[4], *p = buf;
	*p++ = IDX_MBOX_V1;
	idx_put_u32(p, mb->uidvalidity); p += 4;
	idx_put_u32(p, mb->uidnext); p += 4;
	idx_put_u64(p, mb->highestmodseq); p += 8;
	idx_put_u32(p, mb->recent_uid); p += 4;
	idx_put_u32(p, mb->special_use); p += 4;
	idx_put_u32(p, mb->messages); p += 4;
	idx_put_u32(p, mb->unseen); p += 4;
	idx_put_u32(p, mb->deleted); p += 4;
	idx_put_u64(p, mb->size); p += 8;
	idx_put_u64(p, mb->vsize); p += 8;
	idx_put_u64(p, (uint64_t)mb->cur_stamp); p += 8;
	idx_put_u64(p, (uint64_t)mb->new_stamp); p += 8;
	memcpy(p, mb->name, nlen);
	idx_put_u32(kb, mb->id);
	MDB_val k = { 4, kb }, v = { IDX_MBOX_FIXED_LEN + nlen, buf };
	int rc = mdb_put(txn, idx->dbi.mailboxes, &k, &v, 0);
	if (rc == 0 && insert) {
		MDB_val nk = { nlen, (void *)mb->name }, nv = { 4, kb };
		rc = mdb_put(txn, idx->dbi.mbox_by_name, &nk, &nv, MDB_NOOVERWRITE);
	}
	return idx_err(rc, "mailbox put");
}

int idx_mbox_rename(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const char *new_name)
{
	if (strlen(new_name) > MAILBOX_NAME_MAX)
		return STORE_EINVALID;
	MDB_val ok = { strlen(mb->name), mb->name };
	int rc = mdb_del(txn, idx->dbi.mbox_by_name, &ok, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return idx_err(rc, "mailbox rename");
	snprintf(mb->name, sizeof(mb->name), "%s", new_name);
	return idx_mbox_put(idx, txn, mb, true);
}

int idx_mbox_children(struct idx *idx, MDB_txn *txn, const char *name, char ***names_r,
		      size_t *count_r)
{
	char *prefix = xasprintf("%s/", name);
	size_t plen = strlen(prefix);
	MDB_cursor *cur;
	char **names = NULL;
	size_t n = 0;
	int rc = mdb_cursor_open(txn, idx->dbi.mbox_by_name, &cur);
	if (rc == 0) {
		MDB_val k = { plen, prefix }, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
				break;
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrndup(k.mv_data, k.mv_size);
		}
		mdb_cursor_close(cur);
	}
	free(prefix);
	*names_r = names;
	*count_r = n;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		*names_r = NULL;
		*count_r = 0;
	}
	return idx_err(rc, "mailbox children");
}

int idx_usage(struct idx *idx, MDB_txn *txn, uint64_t *bytes_r, uint64_t *messages_r)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.mailboxes, &cur);
	if (rc != 0)
		return idx_err(rc, "cursor");
	uint64_t bytes = 0, msgs = 0;
	MDB_val k, v;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *p = v.mv_data;
		if (v.mv_size < IDX_MBOX_FIXED_LEN || p[0] != IDX_MBOX_V1) {
			err = idx_err(MDB_CORRUPTED, "mailbox record");
			break;
		}
		/* messages at offset 1+4+4+8+4+4, size at +4+4+4 after it */
		msgs += idx_get_u32(p + 25);
		bytes += idx_get_u64(p + 37);
	}
	mdb_cursor_close(cur);
	if (err == 0 && rc != MDB_NOTFOUND)
		err = idx_err(rc, "usage scan");
	*bytes_r = bytes;
	*messages_r = msgs;
	return err;
}

int idx_new_uidvalidity(struct idx *idx, MDB_txn *txn, uint32_t *uidvalidity_r)
{
	uint64_t seed = 0;
	int err = idx_meta_get(idx, txn, "uidvalidity_seed", &seed);
	if (err != 0 && err != STORE_ENOTFOUND)
		return err;
	uint64_t now = (uint64_t)time(NULL);
	uint64_t v = seed + 1 > now ? seed + 1 : now;
	if (v > UINT32_MAX)
		v = seed + 1 <= UINT32_MAX ? seed + 1 : 1;
	err = idx_meta_put(idx, txn, "uidvalidity_seed", v);
	if (err == 0)
		*uidvalidity_r = (uint32_t)v;
	return err;
}
