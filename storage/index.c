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

/* ---- mailboxes ---- */

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
	return idx_err(rc, "mailbox drop");
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

/* ---- messages ---- */

int idx_msg_decode(const MDB_val *key, const MDB_val *val, struct idx_msg *m)
{
	const unsigned char *p = val->mv_data;
	if (key->mv_size != IDX_MSG_KEY_LEN || val->mv_size < IDX_MSG_FIXED_LEN || p[0] != IDX_MSG_V1)
		return idx_err(MDB_CORRUPTED, "message record");
	m->uid = idx_get_u32((const unsigned char *)key->mv_data + 4);
	p++;
	m->flags = idx_get_u32(p); p += 4;
	m->modseq = idx_get_u64(p); p += 8;
	m->internal_date = (int64_t)idx_get_u64(p); p += 8;
	m->size = idx_get_u64(p); p += 8;
	m->vsize = idx_get_u64(p); p += 8;
	m->n_keywords = idx_get_u16(p); p += 2;
	size_t rest = val->mv_size - IDX_MSG_FIXED_LEN;
	if (m->n_keywords > STORE_MAX_KEYWORDS_PER_MSG || rest < 2u * m->n_keywords ||
	    rest - 2u * m->n_keywords >= IDX_BASE_MAX)
		return idx_err(MDB_CORRUPTED, "message record keywords");
	for (unsigned i = 0; i < m->n_keywords; i++, p += 2)
		m->keywords[i] = idx_get_u16(p);
	size_t blen = rest - 2u * m->n_keywords;
	memcpy(m->base, p, blen);
	m->base[blen] = '\0';
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
	unsigned char buf[IDX_MSG_FIXED_LEN + 2 * STORE_MAX_KEYWORDS_PER_MSG + IDX_BASE_MAX];
	unsigned char kb[IDX_MSG_KEY_LEN], *p = buf;
	size_t blen = strnlen(m->base, IDX_BASE_MAX - 1);
	*p++ = IDX_MSG_V1;
	idx_put_u32(p, m->flags); p += 4;
	idx_put_u64(p, m->modseq); p += 8;
	idx_put_u64(p, (uint64_t)m->internal_date); p += 8;
	idx_put_u64(p, m->size); p += 8;
	idx_put_u64(p, m->vsize); p += 8;
	idx_put_u16(p, m->n_keywords); p += 2;
	for (unsigned i = 0; i < m->n_keywords; i++, p += 2)
		idx_put_u16(p, m->keywords[i]);
	memcpy(p, m->base, blen);
	p += blen;
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
	unsigned char kb[IDX_MSG_KEY_LEN], tb[IDX_EXPUNGED_KEY_LEN];
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
	uint64_t modseq = ++mb->highestmodseq;
	idx_expunged_key(tb, mb->id, modseq, m->uid);
	MDB_val tk = { sizeof(tb), tb }, tv = { 0, NULL };
	rc = mdb_put(txn, idx->dbi.expunged, &tk, &tv, 0);
	if (rc != 0)
		return idx_err(rc, "tombstone put");
	count(mb, m, -1);
	return 0;
}

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
