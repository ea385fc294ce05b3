/* LMDB environment of one user and the typed accessors of its tables (see
 * index.h and the byte layouts in index-schema.h). Everything read from an
 * MDB_val is decoded into caller-owned structs before the transaction ends;
 * the mutating helpers keep msgs, modseq, expunged, cache and the mailbox
 * counters consistent within the caller's write transaction. */
#include "storage/index.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "lib/thread-role.h"

#define IDX_DEFAULT_MAP_SIZE ((size_t)4 << 30)
#define IDX_MAX_DBS 16
#define IDX_MAX_READERS 1022
#define IDX_RPOOL_MAX 64
/* How long a resize waits for this process's live transactions. */
#define IDX_RESIZE_WAIT_MS 2000

/* Set when this thread met a full map; see idx_map_full_seen(). */
static _Thread_local bool map_full_seen;

int idx_err(int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		map_full_seen = true;
	switch (rc) {
	case 0:
		return STORE_OK;
	case MDB_NOTFOUND:
		return STORE_ENOTFOUND;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_KEYEXIST:
		log_error("index: %s: %s", what, mdb_strerror(rc));
		return STORE_ECORRUPT;
	default:
		/* MAP_FULL, TXN_FULL, READERS_FULL, ENOSPC, EIO, ...: temporary. */
		log_warn("index: %s: %s", what, mdb_strerror(rc));
		return STORE_EIO;
	}
}

static void tomb_meta_key(char *buf, size_t size, const char *what, uint32_t mbox_id)
{
	snprintf(buf, size, "%s/%u", what, mbox_id);
}

static int open_dbis(struct idx *idx)
{
	static const struct { const char *name; size_t off; } tables[] = {
		{ "meta", offsetof(struct idx_dbis, meta) },
		{ "mbox_by_name", offsetof(struct idx_dbis, mbox_by_name) },
		{ "mailboxes", offsetof(struct idx_dbis, mailboxes) },
		{ "msgs", offsetof(struct idx_dbis, msgs) },
		{ "modseq", offsetof(struct idx_dbis, modseq) },
		{ "expunged", offsetof(struct idx_dbis, expunged) },
		{ "keywords", offsetof(struct idx_dbis, keywords) },
		{ "kwid", offsetof(struct idx_dbis, kwid) },
		{ "subs", offsetof(struct idx_dbis, subs) },
		{ "cache", offsetof(struct idx_dbis, cache) },
		{ "spam", offsetof(struct idx_dbis, spam) },
		{ "mbox_keys", offsetof(struct idx_dbis, mbox_keys) },
		{ "annot", offsetof(struct idx_dbis, annot) },
	};
	MDB_txn *txn;
	size_t n_tables = sizeof(tables) / sizeof(tables[0]);
	/* An existing index opens in a read txn (committed to keep the
	 * handles), so opening never waits for another process's write txn;
	 * only a new index takes the write lock to create its tables. */
	int rc = mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		size_t i;
		for (i = 0; i < n_tables; i++) {
			MDB_dbi *dbi = (MDB_dbi *)((char *)&idx->dbi + tables[i].off);
			if (mdb_dbi_open(txn, tables[i].name, 0, dbi) != 0)
				break;
		}
		uint64_t version = 0;
		if (i == n_tables && idx_meta_get(idx, txn, "version", &version) == 0) {
			rc = mdb_txn_commit(txn);
			if (rc != 0)
				return idx_err(rc, "commit (open tables)");
			if (version != IDX_SCHEMA_VERSION) {
				log_error("index: unsupported schema version %llu",
					  (unsigned long long)version);
				return STORE_ECORRUPT;
			}
			return 0;
		}
		mdb_txn_abort(txn);
	}
	rc = mdb_txn_begin(idx->env, NULL, 0, &txn);
	if (rc != 0)
		return idx_err(rc, "begin (open tables)");
	for (size_t i = 0; i < n_tables; i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)&idx->dbi + tables[i].off);
		rc = mdb_dbi_open(txn, tables[i].name, MDB_CREATE, dbi);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return idx_err(rc, "dbi_open");
		}
	}
	uint64_t version;
	int err = idx_meta_get(idx, txn, "version", &version);
	if (err == STORE_ENOTFOUND)
		err = idx_meta_put(idx, txn, "version", IDX_SCHEMA_VERSION);
	else if (err == 0 && version != IDX_SCHEMA_VERSION) {
		log_error("index: unsupported schema version %llu", (unsigned long long)version);
		err = STORE_ECORRUPT;
	}
	if (err != 0) {
		mdb_txn_abort(txn);
		return err;
	}
	rc = mdb_txn_commit(txn);
	return idx_err(rc, "commit (open tables)");
}

static size_t map_size_now(struct idx *idx);
static bool map_adopt(struct idx *idx, bool lmdb_meta);

/* Create and open the environment at idx->dir with its tables. */
static int env_open(struct idx *idx)
{
	int rc = mdb_env_create(&idx->env);
	if (rc != 0)
		return idx_err(rc, "env_create");
	mdb_env_set_maxdbs(idx->env, IDX_MAX_DBS);
	mdb_env_set_maxreaders(idx->env, IDX_MAX_READERS);
	mdb_env_set_mapsize(idx->env, idx->map_size);
	rc = mdb_env_open(idx->env, idx->dir, MDB_NOTLS, 0600);
	if (rc != 0) {
		int err = idx_err(rc, idx->dir);
		mdb_env_close(idx->env);
		idx->env = NULL;
		return err;
	}
	int dead = 0;
	mdb_reader_check(idx->env, &dead);
	if (dead > 0)
		log_info("index: cleared %d stale reader slots in %s", dead, idx->dir);
	int err = open_dbis(idx);
	if (err != 0) {
		mdb_env_close(idx->env);
		idx->env = NULL;
	}
	return err;
}

int idx_open(struct idx *idx, const char *index_dir, size_t map_size)
{
	memset(idx, 0, sizeof(*idx));
	if (mkdir(index_dir, 0700) != 0 && errno != EEXIST) {
		log_error("index: mkdir %s: %s", index_dir, strerror(errno));
		return errno == ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	idx->dir = xstrdup(index_dir);
	idx->map_size = map_size ? map_size : IDX_DEFAULT_MAP_SIZE;
	int err = env_open(idx);
	if (err != 0) {
		x_free(&idx->dir);
		return err;
	}
	pthread_mutex_init(&idx->rlock, NULL);
	pthread_rwlock_init(&idx->maplock, NULL);
	map_adopt(idx, false);
	return 0;
}

static void rpool_drop(struct idx *idx)
{
	for (size_t i = 0; i < idx->n_rpool; i++)
		mdb_txn_abort(idx->rpool[i]);
	idx->n_rpool = 0;
}

/* Take the map lock exclusively, waiting at most IDX_RESIZE_WAIT_MS for
 * this process's live transactions. */
static bool map_lock_exclusive(struct idx *idx, const char *why)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (IDX_RESIZE_WAIT_MS % 1000) * 1000000L;
	until.tv_sec += IDX_RESIZE_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (pthread_rwlock_timedwrlock(&idx->maplock, &until) == 0)
		return true;
	log_warn("index: cannot %s %s: transactions stay open", why, idx->dir);
	return false;
}

/* After MDB_PANIC (a commit could not write its meta page, so LMDB refuses
 * every further transaction of this environment): close and reopen it,
 * which reads back the last meta page that was written whole. */
static bool env_recover(struct idx *idx)
{
	if (!map_lock_exclusive(idx, "reopen"))
		return false;
	MDB_txn *probe;
	int rc = mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &probe);
	int err = 0;
	if (rc == 0) {
		mdb_txn_abort(probe);       /* another thread reopened it */
	} else if (rc == MDB_PANIC) {
		pthread_mutex_lock(&idx->rlock);
		rpool_drop(idx);
		pthread_mutex_unlock(&idx->rlock);
		idx->map_size = map_size_now(idx);
		mdb_env_close(idx->env);
		idx->env = NULL;
		err = env_open(idx);
		log_warn("index: reopened %s after a failed commit: %s", idx->dir,
			 err == 0 ? "ok" : store_strerror(err));
	}
	pthread_rwlock_unlock(&idx->maplock);
	return err == 0 && idx->env != NULL;
}

void idx_close(struct idx *idx)
{
	if (idx->env == NULL) {
		x_free(&idx->dir);
		return;
	}
	rpool_drop(idx);
	x_free(&idx->rpool);
	idx->rpool_cap = 0;
	pthread_mutex_destroy(&idx->rlock);
	pthread_rwlock_destroy(&idx->maplock);
	mdb_env_close(idx->env);
	idx->env = NULL;
	x_free(&idx->dir);
}

/* ---- map size ---- */

static size_t map_size_now(struct idx *idx)
{
	MDB_envinfo info;
	return mdb_env_info(idx->env, &info) == 0 ? info.me_mapsize : 0;
}

bool idx_map_full_seen(void)
{
	bool seen = map_full_seen;
	map_full_seen = false;
	return seen;
}

void idx_map_record(struct idx *idx, MDB_txn *txn)
{
	uint64_t recorded = 0;
	if (idx->map_recorded)
		return;
	size_t ours = map_size_now(idx);
	int err = idx_meta_get(idx, txn, "map_size", &recorded);
	if ((err == 0 || err == STORE_ENOTFOUND) && recorded < ours)
		err = idx_meta_put(idx, txn, "map_size", ours);
	idx->map_recorded = err == 0 || err == STORE_ENOTFOUND;
}

/* Grow the map to the largest size recorded in meta "map_size" and, with
 * lmdb_meta, to the size in LMDB's own meta page (the last committer's:
 * what MDB_MAP_RESIZED asks us to adopt). Never shrinks it. */
static bool map_adopt(struct idx *idx, bool lmdb_meta)
{
	uint64_t recorded = 0;
	MDB_txn *txn;
	pthread_rwlock_rdlock(&idx->maplock);
	if (mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn) == 0) {
		(void)idx_meta_get(idx, txn, "map_size", &recorded);
		mdb_txn_abort(txn);
	}
	size_t before = map_size_now(idx);
	pthread_rwlock_unlock(&idx->maplock);
	if (!lmdb_meta && recorded <= before)
		return false;   /* nothing to do: no remap */

	if (!map_lock_exclusive(idx, "resize the map of"))
		return false;
	before = map_size_now(idx);
	int rc = 0;
	size_t target = before;
	if (lmdb_meta) {
		rc = mdb_env_set_mapsize(idx->env, 0);
		if (map_size_now(idx) > target)
			target = map_size_now(idx);
	}
	if (target < recorded)
		target = (size_t)recorded;
	if (rc == 0 && target != map_size_now(idx))
		rc = mdb_env_set_mapsize(idx->env, target);
	size_t after = map_size_now(idx);
	pthread_rwlock_unlock(&idx->maplock);
	if (rc != 0)
		log_warn("index: resize the map to %zu: %s", target, mdb_strerror(rc));
	if (after > before)
		log_info("index: map grew from %zu to %zu bytes (another process's size)",
			 before, after);
	if (after != before)
		idx->map_recorded = false;
	return after > before;
}

bool idx_map_adopt(struct idx *idx)
{
	return map_adopt(idx, true);
}

bool idx_space_low(struct idx *idx, MDB_txn *txn)
{
	MDB_envinfo info;
	MDB_stat st;
	if (mdb_env_info(idx->env, &info) != 0 || mdb_env_stat(idx->env, &st) != 0)
		return false;
	size_t map_pages = info.me_mapsize / st.ms_psize;
	size_t used = info.me_last_pgno + 1;
	/* 5% of the map, at least 32 and at most 4096 pages (16 MiB) */
	size_t reserve = map_pages / 20;
	reserve = reserve < 32 ? 32 : reserve > 4096 ? 4096 : reserve;
	if (used + reserve <= map_pages)
		return false;
	/* near the end of the map: count the free list (dbi 0) */
	size_t free_pages = 0;
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, 0, &cur) == 0) {
		MDB_val k, v;
		for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (v.mv_size >= sizeof(size_t)) {
				size_t n;
				memcpy(&n, v.mv_data, sizeof(n));
				free_pages += n;
			}
		}
		mdb_cursor_close(cur);
	}
	size_t left = map_pages > used ? map_pages - used : 0;
	if (left + free_pages >= reserve)
		return false;
	map_full_seen = true;
	log_warn("index: map nearly full (%zu of %zu pages, %zu free): refusing growth",
		 used, map_pages, free_pages);
	return true;
}

static int read_begin(struct idx *idx, MDB_txn **txn_r)
{
	thread_assert_may_block("store read (idx_read_begin)");
	MDB_txn *txn = NULL;
	pthread_mutex_lock(&idx->rlock);
	if (idx->n_rpool > 0)
		txn = idx->rpool[--idx->n_rpool];
	pthread_mutex_unlock(&idx->rlock);
	if (txn != NULL) {
		int rc = mdb_txn_renew(txn);
		if (rc == 0) {
			*txn_r = txn;
			return 0;
		}
		mdb_txn_abort(txn);
	}
	return mdb_txn_begin(idx->env, NULL, MDB_RDONLY, txn_r);
}

/* Begin a transaction under the shared map lock; on MDB_MAP_RESIZED adopt
 * the other process's map, on MDB_PANIC reopen the environment, and try
 * once more. */
static int txn_begin(struct idx *idx, bool rdonly, MDB_txn **txn_r, const char *what)
{
	for (int attempt = 0;; attempt++) {
		pthread_rwlock_rdlock(&idx->maplock);
		int rc = rdonly ? read_begin(idx, txn_r)
				: mdb_txn_begin(idx->env, NULL, 0, txn_r);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&idx->maplock);
		bool again = attempt == 0 && ((rc == MDB_MAP_RESIZED && idx_map_adopt(idx)) ||
					      (rc == MDB_PANIC && env_recover(idx)));
		if (!again)
			return idx_err(rc, what);
	}
}

int idx_read_begin(struct idx *idx, MDB_txn **txn_r)
{
	return txn_begin(idx, true, txn_r, "begin read");
}

int idx_write_begin(struct idx *idx, MDB_txn **txn_r)
{
	return txn_begin(idx, false, txn_r, "begin write");
}

void idx_write_end(struct idx *idx)
{
	pthread_rwlock_unlock(&idx->maplock);
}

void idx_read_end(struct idx *idx, MDB_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_reset(txn);
	pthread_mutex_lock(&idx->rlock);
	if (idx->n_rpool < IDX_RPOOL_MAX) {
		if (idx->n_rpool == idx->rpool_cap) {
			idx->rpool_cap = idx->rpool_cap ? idx->rpool_cap * 2 : 8;
			idx->rpool = xrealloc(idx->rpool, idx->rpool_cap * sizeof(*idx->rpool));
		}
		idx->rpool[idx->n_rpool++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&idx->rlock);
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&idx->maplock);
}

/* ---- meta ---- */

int idx_meta_get(struct idx *idx, MDB_txn *txn, const char *key, uint64_t *v_r)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(txn, idx->dbi.meta, &k, &v);
	if (rc != 0)
		return idx_err(rc, "meta get");
	if (v.mv_size != 8)
		return idx_err(MDB_CORRUPTED, "meta value size");
	*v_r = idx_get_u64(v.mv_data);
	return 0;
}

int idx_meta_put(struct idx *idx, MDB_txn *txn, const char *key, uint64_t val)
{
	unsigned char buf[8];
	idx_put_u64(buf, val);
	MDB_val k = { strlen(key), (void *)key }, v = { 8, buf };
	return idx_err(mdb_put(txn, idx->dbi.meta, &k, &v, 0), "meta put");
}

int idx_meta_del(struct idx *idx, MDB_txn *txn, const char *key)
{
	MDB_val k = { strlen(key), (void *)key };
	int rc = mdb_del(txn, idx->dbi.meta, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "meta del");
}

int idx_meta_next(struct idx *idx, MDB_txn *txn, const char *key, uint64_t start, uint64_t *v_r)
{
	uint64_t v;
	int err = idx_meta_get(idx, txn, key, &v);
	if (err == STORE_ENOTFOUND)
		v = start;
	else if (err != 0)
		return err;
	err = idx_meta_put(idx, txn, key, v + 1);
	if (err == 0)
		*v_r = v;
	return err;
}

/* ---- mailboxes (records in index-mbox.c) ---- */

/* Delete every key of dbi starting with the 4-byte mailbox id prefix. */
static int drop_prefix(MDB_txn *txn, MDB_dbi dbi, uint32_t mbox_id)
{
	unsigned char kb[4];
	idx_put_u32(kb, mbox_id);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return rc;
	MDB_val k = { 4, kb }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		if (k.mv_size < 4 || memcmp(k.mv_data, kb, 4) != 0)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int idx_mbox_drop(struct idx *idx, MDB_txn *txn, const struct idx_mbox *mb)
{
	unsigned char kb[4];
	idx_put_u32(kb, mb->id);
	MDB_val k = { 4, kb }, nk = { strlen(mb->name), (void *)mb->name };
	int rc = mdb_del(txn, idx->dbi.mailboxes, &k, NULL);
	if (rc == 0)
		rc = mdb_del(txn, idx->dbi.mbox_by_name, &nk, NULL);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.msgs, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.modseq, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.expunged, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.cache, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.spam, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.mbox_keys, mb->id);
	if (rc == 0)
		rc = drop_prefix(txn, idx->dbi.annot, mb->id);
	int err = idx_err(rc, "mailbox drop");
	char key[32];
	tomb_meta_key(key, sizeof(key), "tombs", mb->id);
	if (err == 0)
		err = idx_meta_del(idx, txn, key);
	tomb_meta_key(key, sizeof(key), "pruned", mb->id);
	if (err == 0)
		err = idx_meta_del(idx, txn, key);
	return err;
}

/* ---- messages ---- */

int idx_msg_decode(const MDB_val *key, const MDB_val *val, struct idx_msg *m)
{
	const unsigned char *p = val->mv_data;
	size_t fixed = val->mv_size > 0 && p[0] == IDX_MSG_V2 ? IDX_MSG_V2_FIXED_LEN
							       : IDX_MSG_FIXED_LEN;
	if (key->mv_size != IDX_MSG_KEY_LEN || val->mv_size < fixed ||
	    (p[0] != IDX_MSG_V1 && p[0] != IDX_MSG_V2))
		return idx_err(MDB_CORRUPTED, "message record");
	m->uid = idx_get_u32((const unsigned char *)key->mv_data + 4);
	bool v2 = *p++ == IDX_MSG_V2;
	m->flags = idx_get_u32(p); p += 4;
	m->modseq = idx_get_u64(p); p += 8;
	m->internal_date = (int64_t)idx_get_u64(p); p += 8;
	m->size = idx_get_u64(p); p += 8;
	m->vsize = idx_get_u64(p); p += 8;
	m->save_date = 0;
	if (v2) {
		m->save_date = (int64_t)idx_get_u64(p);
		p += 8;
	}
	m->n_keywords = idx_get_u16(p); p += 2;
	size_t rest = val->mv_size - fixed;
	if (m->n_keywords > STORE_MAX_KEYWORDS_PER_MSG || rest < 2u * m->n_keywords ||
	    rest - 2u * m->n_keywords >= IDX_BASE_MAX)
		return idx_err(MDB_CORRUPTED, "message record keywords");
	for (unsigned i = 0; i < m->n_keywords; i++, p += 2)
		m->keywords[i] = idx_get_u16(p);
	size_t blen = rest - 2u * m->n_keywords;
	const unsigned char *nul = memchr(p, '\0', blen);
	size_t olen = 0;
	if (nul != NULL) {          /* base NUL origin (a copy's EMAILID source) */
		olen = blen - (size_t)(nul - p) - 1;
		blen = (size_t)(nul - p);
		if (olen >= IDX_BASE_MAX)
			return idx_err(MDB_CORRUPTED, "message record origin");
	}
	memcpy(m->base, p, blen);
	m->base[blen] = '\0';
	if (olen > 0)
		memcpy(m->origin, nul + 1, olen);
	m->origin[olen] = '\0';
	return 0;
}

int idx_msg_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, struct idx_msg *m_r)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mbox_id, uid);
	MDB_val k = { sizeof(kb), kb }, v;
	int rc = mdb_get(txn, idx->dbi.msgs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return STORE_ENOTFOUND;
	if (rc != 0)
		return idx_err(rc, "message get");
	return idx_msg_decode(&k, &v, m_r);
}

int idx_msg_put_raw(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const struct idx_msg *m)
{
	unsigned char buf[IDX_MSG_V2_FIXED_LEN + 2 * STORE_MAX_KEYWORDS_PER_MSG + 2 * IDX_BASE_MAX];
	unsigned char kb[IDX_MSG_KEY_LEN], *p = buf;
	size_t blen = strnlen(m->base, IDX_BASE_MAX - 1);
	size_t olen = strnlen(m->origin, IDX_BASE_MAX - 1);
	if (olen > 0 && strcmp(m->origin, m->base) == 0)
		olen = 0;
	*p++ = IDX_MSG_V2;
	idx_put_u32(p, m->flags); p += 4;
	idx_put_u64(p, m->modseq); p += 8;
	idx_put_u64(p, (uint64_t)m->internal_date); p += 8;
	idx_put_u64(p, m->size); p += 8;
	idx_put_u64(p, m->vsize); p += 8;
	idx_put_u64(p, (uint64_t)m->save_date); p += 8;
	idx_put_u16(p, m->n_keywords); p += 2;
	for (unsigned i = 0; i < m->n_keywords; i++, p += 2)
		idx_put_u16(p, m->keywords[i]);
	memcpy(p, m->base, blen);
	p += blen;
	if (olen > 0) {
		*p++ = '\0';
		memcpy(p, m->origin, olen);
		p += olen;
	}
	idx_msg_key(kb, mbox_id, m->uid);
	MDB_val k = { sizeof(kb), kb }, v = { (size_t)(p - buf), buf };
	return idx_err(mdb_put(txn, idx->dbi.msgs, &k, &v, 0), "message put");
}

static int modseq_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq, uint32_t uid)
{
	unsigned char kb[IDX_MODSEQ_KEY_LEN], vb[4];
	idx_modseq_key(kb, mbox_id, modseq);
	idx_put_u32(vb, uid);
	MDB_val k = { sizeof(kb), kb }, v = { 4, vb };
	return idx_err(mdb_put(txn, idx->dbi.modseq, &k, &v, 0), "modseq put");
}

static int modseq_del(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq)
{
	unsigned char kb[IDX_MODSEQ_KEY_LEN];
	idx_modseq_key(kb, mbox_id, modseq);
	MDB_val k = { sizeof(kb), kb };
	int rc = mdb_del(txn, idx->dbi.modseq, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : idx_err(rc, "modseq del");
}

/* The per-mailbox tombstone counter (meta "tombs/<id>"); absent on indexes
 * older than pruning: counted once. */
static int tomb_count_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t *n_r)
{
	char key[32];
	tomb_meta_key(key, sizeof(key), "tombs", mbox_id);
	int err = idx_meta_get(idx, txn, key, n_r);
	if (err != STORE_ENOTFOUND)
		return err;
	struct idx_iter it;
	uint64_t n = 0, ms;
	uint32_t uid;
	int64_t t;
	err = idx_tomb_iter_open(idx, txn, mbox_id, 0, &it);
	while (err == 0 && (err = idx_tomb_iter_next(&it, &ms, &uid, &t)) == 1) {
		n++;
		err = 0;
	}
	idx_iter_close(&it);
	*n_r = n;
	return err < 0 ? err : 0;
}

static int tomb_count_add(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, int64_t delta)
{
	uint64_t n;
	int err = tomb_count_get(idx, txn, mbox_id, &n);
	if (err != 0)
		return err;
	char key[32];
	tomb_meta_key(key, sizeof(key), "tombs", mbox_id);
	n = delta < 0 && (uint64_t)-delta > n ? 0 : n + (uint64_t)delta;
	return idx_meta_put(idx, txn, key, n);
}

static void count(struct idx_mbox *mb, const struct idx_msg *m, int sign)
{
	mb->messages += (uint32_t)sign;
	if (!(m->flags & STORE_FLAG_SEEN))
		mb->unseen += (uint32_t)sign;
	if (m->flags & STORE_FLAG_DELETED)
		mb->deleted += (uint32_t)sign;
	mb->size += (uint64_t)(int64_t)sign * m->size;
	mb->vsize += (uint64_t)(int64_t)sign * m->vsize;
}

int idx_msg_insert(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, struct idx_msg *m)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mb->id, m->uid);
	MDB_val k = { sizeof(kb), kb }, v;
	int rc = mdb_get(txn, idx->dbi.msgs, &k, &v);
	if (rc == 0)
		return idx_err(MDB_KEYEXIST, "message insert (uid in use)");
	m->modseq = ++mb->highestmodseq;
	int err = idx_msg_put_raw(idx, txn, mb->id, m);
	if (err == 0)
		err = modseq_put(idx, txn, mb->id, m->modseq, m->uid);
	if (err == 0)
		count(mb, m, 1);
	return err;
}

int idx_msg_insert_at(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *m)
{
	int err = idx_msg_put_raw(idx, txn, mb->id, m);
	if (err == 0)
		err = modseq_put(idx, txn, mb->id, m->modseq, m->uid);
	if (err == 0) {
		count(mb, m, 1);
		if (mb->highestmodseq < m->modseq)
			mb->highestmodseq = m->modseq;
	}
	return err;
}

int idx_msg_update(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *old,
		   struct idx_msg *m)
{
	int err = modseq_del(idx, txn, mb->id, old->modseq);
	if (err != 0)
		return err;
	m->modseq = ++mb->highestmodseq;
	err = idx_msg_put_raw(idx, txn, mb->id, m);
	if (err == 0)
		err = modseq_put(idx, txn, mb->id, m->modseq, m->uid);
	if (err == 0) {
		count(mb, old, -1);
		count(mb, m, 1);
	}
	return err;
}

int idx_msg_remove(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *m)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mb->id, m->uid);
	MDB_val k = { sizeof(kb), kb };
	int rc = mdb_del(txn, idx->dbi.msgs, &k, NULL);
	if (rc != 0)
		return idx_err(rc, "message del");
	int err = modseq_del(idx, txn, mb->id, m->modseq);
	if (err != 0)
		return err;
	rc = mdb_del(txn, idx->dbi.cache, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return idx_err(rc, "cache del");
	rc = mdb_del(txn, idx->dbi.spam, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return idx_err(rc, "spam del");
	uint64_t modseq = ++mb->highestmodseq;
	/* count first: a missing counter is counted from the table */
	err = tomb_count_add(idx, txn, mb->id, 1);
	if (err == 0)
		err = idx_tomb_put(idx, txn, mb->id, modseq, m->uid, (int64_t)time(NULL));
	if (err != 0)
		return err;
	count(mb, m, -1);
	return 0;
}


/* ---- iterators: the only cursors on the message, modseq and tombstone
 * tables ---- */

static int iter_open(MDB_txn *txn, MDB_dbi dbi, const unsigned char *key, size_t klen,
		     size_t prefix, struct idx_iter *it)
{
	memset(it, 0, sizeof(*it));
	if (klen > 0)
		memcpy(it->key, key, klen);
	it->klen = klen;
	it->prefix = prefix;
	int rc = mdb_cursor_open(txn, dbi, &it->cur);
	if (rc != 0) {
		it->cur = NULL;
		return idx_err(rc, "cursor");
	}
	return 0;
}

/* 1 with it->k/it->v on the next row of the prefix, 0 at its end. */
static int iter_step(struct idx_iter *it, size_t want_klen)
{
	if (it->cur == NULL || it->done)
		return 0;
	int rc;
	if (!it->started) {
		it->started = true;
		it->k.mv_size = it->klen;
		it->k.mv_data = it->key;
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, it->klen ? MDB_SET_RANGE : MDB_FIRST);
	} else {
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || (rc == 0 && (it->k.mv_size < it->prefix ||
				   memcmp(it->k.mv_data, it->key, it->prefix) != 0))) {
		it->done = true;
		return 0;
	}
	if (rc != 0) {
		it->done = true;
		return idx_err(rc, "iterate");
	}
	if (want_klen != 0 && it->k.mv_size != want_klen) {
		it->done = true;
		return idx_err(MDB_CORRUPTED, "key size");
	}
	return 1;
}

void idx_iter_close(struct idx_iter *it)
{
	if (it->cur != NULL)
		mdb_cursor_close(it->cur);
	it->cur = NULL;
}

int idx_msg_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid_lo,
		      struct idx_iter *it)
{
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mbox_id, uid_lo);
	return iter_open(txn, idx->dbi.msgs, kb, sizeof(kb), 4, it);
}

int idx_msg_iter_next(struct idx_iter *it, struct idx_msg *m_r)
{
	int r = iter_step(it, IDX_MSG_KEY_LEN);
	if (r == 1 && (r = idx_msg_decode(&it->k, &it->v, m_r)) == 0)
		r = 1;
	return r;
}

int idx_msg_iter_next_uid(struct idx_iter *it, uint32_t *uid_r)
{
	int r = iter_step(it, IDX_MSG_KEY_LEN);
	if (r == 1)
		*uid_r = idx_get_u32((const unsigned char *)it->k.mv_data + 4);
	return r;
}

int idx_modseq_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
			 struct idx_iter *it)
{
	unsigned char kb[IDX_MODSEQ_KEY_LEN];
	idx_modseq_key(kb, mbox_id, since == UINT64_MAX ? since : since + 1);
	return iter_open(txn, idx->dbi.modseq, kb, sizeof(kb), 4, it);
}

int idx_modseq_iter_next(struct idx_iter *it, uint64_t *modseq_r, uint32_t *uid_r)
{
	int r = iter_step(it, IDX_MODSEQ_KEY_LEN);
	if (r != 1)
		return r;
	if (it->v.mv_size != 4) {
		it->done = true;
		return idx_err(MDB_CORRUPTED, "modseq value");
	}
	*modseq_r = idx_get_u64((const unsigned char *)it->k.mv_data + 4);
	*uid_r = idx_get_u32(it->v.mv_data);
	return 1;
}

int idx_tomb_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
		       struct idx_iter *it)
{
	unsigned char kb[IDX_EXPUNGED_KEY_LEN];
	idx_expunged_key(kb, mbox_id, since == UINT64_MAX ? since : since + 1, 0);
	return iter_open(txn, idx->dbi.expunged, kb, sizeof(kb), 4, it);
}

int idx_tomb_iter_next(struct idx_iter *it, uint64_t *modseq_r, uint32_t *uid_r, int64_t *time_r)
{
	int r = iter_step(it, IDX_EXPUNGED_KEY_LEN);
	if (r != 1)
		return r;
	const unsigned char *k = it->k.mv_data;
	*modseq_r = idx_get_u64(k + 4);
	*uid_r = idx_get_u32(k + 12);
	*time_r = it->v.mv_size == 8 ? (int64_t)idx_get_u64(it->v.mv_data) : 0;
	return 1;
}

int idx_mbox_iter_open(struct idx *idx, MDB_txn *txn, struct idx_iter *it)
{
	return iter_open(txn, idx->dbi.mailboxes, NULL, 0, 0, it);
}

int idx_mbox_iter_next(struct idx_iter *it, struct idx_mbox *mb_r)
{
	int r = iter_step(it, 4);
	if (r == 1 && (r = idx_mbox_decode(&it->k, &it->v, mb_r)) == 0)
		r = 1;
	return r;
}

/* ---- tombstones ---- */

int idx_tomb_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq, uint32_t uid,
		 int64_t when)
{
	unsigned char tb[IDX_EXPUNGED_KEY_LEN], vb[8];
	idx_expunged_key(tb, mbox_id, modseq, uid);
	idx_put_u64(vb, (uint64_t)when);
	MDB_val tk = { sizeof(tb), tb }, tv = { when != 0 ? 8 : 0, vb };
	return idx_err(mdb_put(txn, idx->dbi.expunged, &tk, &tv, 0), "tombstone put");
}

int idx_tomb_pruned(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t *modseq_r)
{
	char key[32];
	tomb_meta_key(key, sizeof(key), "pruned", mbox_id);
	int err = idx_meta_get(idx, txn, key, modseq_r);
	if (err == STORE_ENOTFOUND) {
		*modseq_r = 0;
		err = 0;
	}
	return err;
}

int idx_tomb_set_pruned(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq)
{
	char key[32];
	tomb_meta_key(key, sizeof(key), "pruned", mbox_id);
	return modseq == 0 ? 0 : idx_meta_put(idx, txn, key, modseq);
}

int idx_tomb_prune(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const struct idx_prune *p,
		   size_t *pruned_r)
{
	*pruned_r = 0;
	if (p->max_count == 0 && p->max_age == 0)
		return 0;
	uint64_t n;
	int err = tomb_count_get(idx, txn, mbox_id, &n);
	if (err != 0 || (n <= p->max_count && p->max_age == 0) || n == 0)
		return err;
	uint64_t top = 0;
	struct idx_iter it;
	err = idx_tomb_iter_open(idx, txn, mbox_id, 0, &it);
	size_t done = 0;
	while (err == 0 && done < p->limit) {
		int r = iter_step(&it, IDX_EXPUNGED_KEY_LEN);
		if (r <= 0) {
			err = r;
			break;
		}
		int64_t when = it.v.mv_size == 8 ? (int64_t)idx_get_u64(it.v.mv_data) : 0;
		bool by_count = p->max_count != 0 && n - done > p->max_count;
		bool by_age = p->max_age != 0 && when != 0 && when + p->max_age < p->now;
		if (!by_count && !by_age)
			break;   /* oldest first: everything after is newer */
		top = idx_get_u64((const unsigned char *)it.k.mv_data + 4);
		int rc = mdb_cursor_del(it.cur, 0);
		if (rc != 0)
			err = idx_err(rc, "tombstone prune");
		else
			done++;
	}
	idx_iter_close(&it);
	if (err == 0 && done > 0) {
		uint64_t old;
		err = idx_tomb_pruned(idx, txn, mbox_id, &old);
		if (err == 0 && top > old)
			err = idx_tomb_set_pruned(idx, txn, mbox_id, top);
		if (err == 0)
			err = tomb_count_add(idx, txn, mbox_id, -(int64_t)done);
	}
	if (err == 0)
		*pruned_r = done;
	return err;
}
