/* In-memory \Recent claims (store-recent.h). A claim reads the mailbox
 * record and the UIDs from the last claimed one in one read transaction
 * while holding the user's recent lock, so two views of this process never
 * claim the same message; the claim boundary is persisted lazily. */
#include "storage/store-recent.h"

#include <string.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/store-private.h"

static struct store_recent_mark *find_mark(struct store_user *u, uint32_t mbox_id)
{
	for (size_t i = 0; i < u->n_recent_marks; i++) {
		if (u->recent_marks[i].mbox_id == mbox_id)
			return &u->recent_marks[i];
	}
	u->recent_marks = xrealloc(u->recent_marks,
				   (u->n_recent_marks + 1) * sizeof(*u->recent_marks));
	struct store_recent_mark *m = &u->recent_marks[u->n_recent_marks++];
	memset(m, 0, sizeof(*m));
	m->mbox_id = mbox_id;
	return m;
}

int store_recent_claim(struct store_user *u, uint32_t mbox_id, uint32_t uidvalidity,
		       uint32_t **uids_r, size_t *n_r)
{
	*uids_r = NULL;
	*n_r = 0;
	pthread_mutex_lock(&u->recent_lock);
	MDB_txn *txn;
	int err = idx_read_begin(&u->idx, &txn);
	struct idx_mbox mb;
	if (err == 0)
		err = idx_mbox_get(&u->idx, txn, mbox_id, &mb);
	if (err == 0 && mb.uidvalidity != uidvalidity)
		err = STORE_ENOTFOUND;
	struct store_recent_mark *mark = err == 0 ? find_mark(u, mbox_id) : NULL;
	if (mark != NULL && mark->uidvalidity != uidvalidity) {
		mark->uidvalidity = uidvalidity;
		mark->uid = 0;
		mark->dirty = false;
	}
	uint32_t from = mark == NULL ? 0 : mark->uid > mb.recent_uid ? mark->uid : mb.recent_uid;
	if (mark != NULL && from < mb.uidnext) {
		struct idx_iter it;
		uint32_t *uids = NULL, uid;
		size_t n = 0, cap = 0;
		int r;
		err = idx_msg_iter_open(&u->idx, txn, mbox_id, from, &it);
		while (err == 0 && (r = idx_msg_iter_next_uid(&it, &uid)) != 0) {
			if (r < 0) {
				err = r;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				uids = xrealloc(uids, cap * sizeof(*uids));
			}
			uids[n++] = uid;
		}
		idx_iter_close(&it);
		if (err == 0) {
			mark->uid = mb.uidnext;
			mark->dirty = true;
			u->recent_dirty = true;
			*uids_r = uids;
			*n_r = n;
		} else {
			free(uids);
		}
	}
	idx_read_end(&u->idx, txn);
	pthread_mutex_unlock(&u->recent_lock);
	return err;
}

uint32_t store_recent_boundary(struct store_user *u, uint32_t mbox_id, uint32_t uidvalidity,
			       uint32_t record_uid)
{
	uint32_t uid = record_uid;
	pthread_mutex_lock(&u->recent_lock);
	for (size_t i = 0; i < u->n_recent_marks; i++) {
		const struct store_recent_mark *m = &u->recent_marks[i];
		if (m->mbox_id == mbox_id && m->uidvalidity == uidvalidity && m->uid > uid)
			uid = m->uid;
	}
	pthread_mutex_unlock(&u->recent_lock);
	return uid;
}

void store_recent_flush(struct store_user *u, MDB_txn *txn)
{
	pthread_mutex_lock(&u->recent_lock);
	for (size_t i = 0; i < u->n_recent_marks && u->recent_dirty; i++) {
		struct store_recent_mark *m = &u->recent_marks[i];
		struct idx_mbox mb;
		if (!m->dirty)
			continue;
		m->dirty = false;
		if (idx_mbox_get(&u->idx, txn, m->mbox_id, &mb) != 0 ||
		    mb.uidvalidity != m->uidvalidity || mb.recent_uid >= m->uid)
			continue;
		mb.recent_uid = m->uid;
		if (idx_mbox_put(&u->idx, txn, &mb, false) != 0)
			log_warn("store: user=%s: \\Recent claim not recorded", u->name);
	}
	u->recent_dirty = false;
	pthread_mutex_unlock(&u->recent_lock);
}

void store_recent_close(struct store_user *u)
{
	if (u->recent_dirty && u->idx.env != NULL) {
		MDB_txn *txn;
		if (mdb_txn_begin(u->idx.env, NULL, 0, &txn) == 0) {
			store_recent_flush(u, txn);
			mdb_env_set_flags(u->idx.env, MDB_NOSYNC, 1);
			if (mdb_txn_commit(txn) != 0)
				log_warn("store: user=%s: \\Recent claims not recorded", u->name);
			mdb_env_set_flags(u->idx.env, MDB_NOSYNC, 0);
		}
	}
	free(u->recent_marks);
	u->recent_marks = NULL;
	u->n_recent_marks = 0;
}
