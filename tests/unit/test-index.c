/* Unit tests of the storage engine internals (index.c, writer.c, envcache.c):
 * key encoding order, mailbox counters, changes-since and tombstones in the
 * tables themselves, a failing op aborting only its nested transaction in a
 * shared batch (with its file undo), group commit (N concurrent appends in
 * far fewer than N commits), MAP_FULL on a tiny map as a clean STORE_EIO,
 * and LRU eviction of unreferenced environments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/index.h"
#include "storage/store-debug.h"
#include "storage/store-private.h"
#include "storage/store.h"
#include "storage/writer.h"

#include "store-fixture.h"

static int append(struct store_user *user, const char *mailbox, unsigned idx, uint32_t flags,
		  uint32_t *uid_r)
{
	char text[256];
	int len = snprintf(text, sizeof(text), "Subject: m%u\r\nMessage-ID: <%u@x>\r\n\r\nbody %u\n",
			   idx, idx, idx);
	struct store_append *app = NULL;
	int err = store_append_begin(user, mailbox, &app);
	if (err != 0)
		return err;
	err = store_append_write(app, text, (size_t)len);
	if (err != 0) {
		store_append_abort(&app);
		return err;
	}
	struct store_append_meta meta = { .flags = flags };
	return store_append_commit(&app, &meta, uid_r, NULL);
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- key encoding ---- */

static void test_key_order(void **state)
{
	(void)state;
	srand(12345);
	for (int i = 0; i < 10000; i++) {
		uint32_t a = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
		uint32_t b = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
		uint64_t ma = ((uint64_t)a << 20) ^ (uint64_t)rand();
		uint64_t mb = ((uint64_t)b << 20) ^ (uint64_t)rand();
		unsigned char ka[IDX_MODSEQ_KEY_LEN], kb[IDX_MODSEQ_KEY_LEN];
		uint32_t box = (uint32_t)(i % 3);
		idx_modseq_key(ka, box, ma);
		idx_modseq_key(kb, box, mb);
		int c = memcmp(ka, kb, sizeof(ka));
		assert_true((c < 0) == (ma < mb) && (c == 0) == (ma == mb));
		assert_int_equal(idx_get_u64(ka + 4), ma);
		unsigned char xa[IDX_MSG_KEY_LEN], xb[IDX_MSG_KEY_LEN];
		idx_msg_key(xa, box, a);
		idx_msg_key(xb, box + 1, 0);
		assert_true(memcmp(xa, xb, sizeof(xa)) < 0);   /* mailbox id is the major key */
		assert_int_equal(idx_get_u32(xa + 4), a);
		unsigned char ea[IDX_EXPUNGED_KEY_LEN];
		idx_expunged_key(ea, box, ma, a);
		assert_int_equal(idx_get_u32(ea), box);
		assert_int_equal(idx_get_u64(ea + 4), ma);
		assert_int_equal(idx_get_u32(ea + 12), a);
		unsigned char s[2];
		idx_put_u16(s, (uint16_t)a);
		assert_int_equal(idx_get_u16(s), (uint16_t)a);
	}
}

/* ---- message records: V1 (no save date) and V2 ---- */

static size_t msg_record(unsigned char *buf, unsigned version, int64_t save_date)
{
	unsigned char *p = buf;
	*p++ = (unsigned char)version;
	idx_put_u32(p, 5); p += 4;                       /* flags */
	idx_put_u64(p, 77); p += 8;                      /* modseq */
	idx_put_u64(p, 1600000000); p += 8;              /* internal date */
	idx_put_u64(p, 120); p += 8;                     /* size */
	idx_put_u64(p, 124); p += 8;                     /* vsize */
	if (version == IDX_MSG_V2) {
		idx_put_u64(p, (uint64_t)save_date);
		p += 8;
	}
	idx_put_u16(p, 1); p += 2;                       /* one keyword */
	idx_put_u16(p, 3); p += 2;
	memcpy(p, "base1", 5);
	return (size_t)(p + 5 - buf);
}

static void test_msg_record_versions(void **state)
{
	(void)state;
	unsigned char kb[IDX_MSG_KEY_LEN], vb[128];
	idx_msg_key(kb, 2, 9);
	MDB_val k = { sizeof(kb), kb };
	for (unsigned version = IDX_MSG_V1; version <= IDX_MSG_V2; version++) {
		MDB_val v = { msg_record(vb, version, 1700000000), vb };
		struct idx_msg m;
		memset(&m, 0xff, sizeof(m));
		assert_int_equal(idx_msg_decode(&k, &v, &m), 0);
		assert_int_equal(m.uid, 9);
		assert_int_equal(m.flags, 5);
		assert_int_equal(m.modseq, 77);
		assert_int_equal(m.internal_date, 1600000000);
		assert_int_equal(m.vsize, 124);
		assert_int_equal(m.save_date, version == IDX_MSG_V2 ? 1700000000 : 0);
		assert_int_equal(m.n_keywords, 1);
		assert_int_equal(m.keywords[0], 3);
		assert_string_equal(m.base, "base1");
		/* a record cut inside its fixed part is corrupt */
		v.mv_size = version == IDX_MSG_V2 ? IDX_MSG_V2_FIXED_LEN - 1 : IDX_MSG_FIXED_LEN - 1;
		assert_int_equal(idx_msg_decode(&k, &v, &m), STORE_ECORRUPT);
	}
	vb[0] = 3;                                       /* an unknown version */
	MDB_val v = { msg_record(vb, 3, 0), vb };
	struct idx_msg m;
	assert_int_equal(idx_msg_decode(&k, &v, &m), STORE_ECORRUPT);
}

/* ---- counters, changes since, tombstones ---- */

static int count_cb(const struct store_msg *msg, void *ctx)
{
	uint32_t *uids = ctx;
	uids[++uids[0]] = msg->uid;
	return 0;
}

static void test_counters_and_changes(void **state)
{
	struct fx *fx = *state;
	uint32_t uids[10];
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(append(fx->user, "INBOX", i, i < 4 ? STORE_FLAG_SEEN : 0, &uids[i]),
				 STORE_OK);
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	struct store_status st;
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_OK);
	assert_int_equal(st.messages, 10);
	assert_int_equal(st.unseen, 6);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.recent, 10);
	uint64_t hms = st.highestmodseq;

	/* three flag changes: exactly those come back, in MODSEQ order */
	uint32_t chg[3] = { uids[7], uids[2], uids[5] };
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_flags_update(mbox, &chg[i], 1, STORE_FLAGS_ADD,
						    STORE_FLAG_DELETED, NULL, 0, 0, NULL), STORE_OK);
	uint32_t got[16] = { 0 };
	struct store_uid_list vanished;
	assert_int_equal(store_changes_since(mbox, hms, count_cb, got, &vanished), STORE_OK);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], uids[7]);
	assert_int_equal(got[2], uids[2]);
	assert_int_equal(got[3], uids[5]);
	assert_int_equal(vanished.count, 0);
	store_uid_list_free(&vanished);
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_OK);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.highestmodseq, hms + 3);

	/* the raw tables agree: one modseq entry per message, none stale */
	MDB_txn *txn;
	struct idx *idx = &fx->user->idx;
	assert_int_equal(idx_read_begin(idx, &txn), 0);
	MDB_cursor *cur;
	assert_int_equal(mdb_cursor_open(txn, idx->dbi.modseq, &cur), 0);
	MDB_val k, v;
	size_t entries = 0;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (idx_get_u32(k.mv_data) == mbox->id)
			entries++;
	}
	mdb_cursor_close(cur);
	idx_read_end(idx, txn);
	assert_int_equal(entries, 10);

	/* expunge the \Deleted ones: tombstones carry new modseqs */
	uint64_t before = st.highestmodseq;
	struct store_uid_list ex;
	assert_int_equal(store_expunge(mbox, uids, 10, true, &ex), STORE_OK);
	assert_int_equal(ex.count, 3);
	assert_int_equal(ex.uids[0], uids[2]);
	assert_int_equal(ex.uids[1], uids[5]);
	assert_int_equal(ex.uids[2], uids[7]);
	store_uid_list_free(&ex);
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_OK);
	assert_int_equal(st.messages, 7);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.unseen, 6 - 2);   /* uids[5], uids[7] were unseen */
	assert_int_equal(st.highestmodseq, before + 3);
	assert_int_equal(st.recent, 7);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_changes_since(mbox, before, count_cb, got, &vanished), STORE_OK);
	assert_int_equal(got[0], 0);
	assert_int_equal(vanished.count, 3);
	assert_int_equal(vanished.uids[0], uids[2]);
	store_uid_list_free(&vanished);
	assert_int_equal(store_changes_since(mbox, st.highestmodseq, count_cb, got, &vanished),
			 STORE_OK);
	assert_int_equal(vanished.count, 0);
	store_uid_list_free(&vanished);

	/* the expunged files are gone from cur/ and nothing is left in tmp/ */
	char path[700];
	snprintf(path, sizeof(path), "%s/cur", store_user_dir(fx->user));
	assert_int_equal(count_dir(path), 7);
	snprintf(path, sizeof(path), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_dir(path), 0);

	struct store_check_report rep;
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t i = 0; i < rep.n_lines; i++)
		print_message("check: %s\n", rep.lines[i]);
	assert_int_equal(rep.problems, 0);
	assert_int_equal(rep.messages, 7);
	store_check_report_free(&rep);
	store_mailbox_close(&mbox);
}

/* ---- writer: batches, nested txn abort, group commit ---- */

struct gate {
	struct wop op;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, released;
	struct store_user *user;
};

static int run_gate(struct wtxn *w, struct wop *op)
{
	(void)w;
	struct gate *g = (struct gate *)op;
	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->released)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void *gate_thread(void *arg)
{
	struct gate *g = arg;
	assert_int_equal(writer_run(g->user, &g->op), 0);
	return NULL;
}

/* Block the user's writer inside a batch until gate_open. */
static pthread_t gate_close(struct gate *g, struct store_user *user)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->op.run = run_gate;
	g->user = user;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, gate_thread, g), 0);
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return t;
}

static void gate_open(struct gate *g, pthread_t t)
{
	pthread_mutex_lock(&g->lock);
	g->released = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(t, NULL);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
}

static size_t queued(struct store_user *u)
{
	pthread_mutex_lock(&u->store->wlock);
	size_t n = 0;
	for (struct wop *op = u->q_head; op != NULL; op = op->next)
		n++;
	pthread_mutex_unlock(&u->store->wlock);
	return n;
}

struct put_op {
	struct wop op;
	const char *key;
	char *file;         /* created, with undo */
	bool fail;
};

static int run_put(struct wtxn *w, struct wop *op)
{
	struct put_op *p = (struct put_op *)op;
	int err = idx_meta_put(w->idx, w->txn, p->key, 42);
	if (err != 0)
		return err;
	int fd = open(p->file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return STORE_EIO;
	close(fd);
	wtxn_undo_unlink(w, p->file);
	w->changed = true;
	return p->fail ? STORE_EINVALID : 0;
}

static void free_put(struct wop *op)
{
	struct put_op *p = (struct put_op *)op;
	free(p->file);
	free(p);
}

static void test_batch_nested_abort(void **state)
{
	struct fx *fx = *state;
	struct gate g;
	pthread_t t = gate_close(&g, fx->user);
	uint64_t commits = store_debug_commit_count(fx->store);
	uint64_t batches = store_debug_batch_count(fx->store);
	const char *keys[3] = { "test-a", "test-b", "test-c" };
	for (int i = 0; i < 3; i++) {
		struct put_op *p = xcalloc(1, sizeof(*p));
		p->op.run = run_put;
		p->op.free_fn = free_put;
		p->key = keys[i];
		p->file = xasprintf("%s/%s", fx->dir, keys[i]);
		p->fail = i == 1;
		assert_int_equal(writer_submit_detached(fx->user, &p->op), 0);
	}
	assert_int_equal(queued(fx->user), 3);
	/* a synchronous op queued behind them completes with the same batch */
	struct put_op last = { .op = { .run = run_put }, .key = "test-d",
			       .file = xasprintf("%s/test-d", fx->dir) };
	gate_open(&g, t);
	assert_int_equal(writer_run(fx->user, &last.op), 0);
	free(last.file);
	/* the gate's batch changed nothing (no commit); ops a..c ran in one
	 * batch, maybe with d, and at most two commits were needed */
	uint64_t dc = store_debug_commit_count(fx->store) - commits;
	uint64_t db = store_debug_batch_count(fx->store) - batches;
	assert_true(dc >= 1 && dc <= 2);
	assert_true(db >= 2 && db <= 3);

	MDB_txn *txn;
	uint64_t v;
	assert_int_equal(idx_read_begin(&fx->user->idx, &txn), 0);
	assert_int_equal(idx_meta_get(&fx->user->idx, txn, "test-a", &v), 0);
	assert_int_equal(idx_meta_get(&fx->user->idx, txn, "test-b", &v), STORE_ENOTFOUND);
	assert_int_equal(idx_meta_get(&fx->user->idx, txn, "test-c", &v), 0);
	assert_int_equal(idx_meta_get(&fx->user->idx, txn, "test-d", &v), 0);
	idx_read_end(&fx->user->idx, txn);
	/* the failed op's file was undone, the others' kept */
	char path[600];
	struct stat st;
	snprintf(path, sizeof(path), "%s/test-a", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/test-b", fx->dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/test-c", fx->dir);
	assert_int_equal(stat(path, &st), 0);
}

struct appender {
	struct store_user *user;
	unsigned idx;
	uint32_t uid;
	int err;
	pthread_t t;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	a->err = append(a->user, "INBOX", a->idx, 0, &a->uid);
	return NULL;
}

#define N_APPENDERS 16

static void test_group_commit(void **state)
{
	struct fx *fx = *state;
	/* with the writer held, all appends queue and share one commit */
	struct gate g;
	pthread_t t = gate_close(&g, fx->user);
	uint64_t commits = store_debug_commit_count(fx->store);
	struct appender a[N_APPENDERS];
	for (unsigned i = 0; i < N_APPENDERS; i++) {
		a[i] = (struct appender){ .user = fx->user, .idx = i };
		assert_int_equal(pthread_create(&a[i].t, NULL, append_thread, &a[i]), 0);
	}
	for (int spin = 0; queued(fx->user) < N_APPENDERS && spin < 5000; spin++)
		usleep(1000);
	assert_int_equal(queued(fx->user), N_APPENDERS);
	gate_open(&g, t);
	for (unsigned i = 0; i < N_APPENDERS; i++) {
		pthread_join(a[i].t, NULL);
		assert_int_equal(a[i].err, STORE_OK);
	}
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	/* UIDs are distinct and dense */
	uint32_t seen[N_APPENDERS + 1] = { 0 };
	for (unsigned i = 0; i < N_APPENDERS; i++) {
		assert_true(a[i].uid >= 1 && a[i].uid <= N_APPENDERS);
		assert_int_equal(seen[a[i].uid]++, 0);
	}

	/* free-running: N threads still need far fewer than N commits */
	commits = store_debug_commit_count(fx->store);
	for (unsigned i = 0; i < N_APPENDERS; i++) {
		a[i] = (struct appender){ .user = fx->user, .idx = 100 + i };
		assert_int_equal(pthread_create(&a[i].t, NULL, append_thread, &a[i]), 0);
	}
	for (unsigned i = 0; i < N_APPENDERS; i++) {
		pthread_join(a[i].t, NULL);
		assert_int_equal(a[i].err, STORE_OK);
	}
	uint64_t used = store_debug_commit_count(fx->store) - commits;
	print_message("free-running: %d appends in %llu commits\n", N_APPENDERS,
		      (unsigned long long)used);
	assert_true(used < N_APPENDERS);
}

/* ---- MAP_FULL ---- */

static void test_map_full(void **state)
{
	struct fx *fx = *state;
	fx->set.lmdb_map_size = 256 * 1024;
	fx_open(fx);
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	uint32_t uid = 0;
	assert_int_equal(append(fx->user, "INBOX", 0, 0, &uid), STORE_OK);
	/* fill the map with cache blobs until LMDB refuses */
	static char blob[8192];
	memset(blob, 'x', sizeof(blob));
	int err = 0;
	int n;
	for (n = 0; n < 1000 && err == 0; n++)
		err = store_msg_cache_set(mbox, uid, blob, sizeof(blob) - (size_t)n);
	/* cache_set replaces one value, so also grow by appending */
	for (unsigned i = 1; i < 5000 && err == 0; i++)
		err = append(fx->user, "INBOX", i, 0, NULL);
	assert_int_equal(err, STORE_EIO);
	struct store_status st;
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_OK);
	/* the failed append left no file anywhere and no record */
	char path[700];
	snprintf(path, sizeof(path), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_dir(path), 0);
	snprintf(path, sizeof(path), "%s/cur", store_user_dir(fx->user));
	assert_int_equal(count_dir(path), st.messages);
	/* still usable: reads work, and freeing space lets writes succeed */
	uint32_t *all = xcalloc(st.messages, sizeof(*all));
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, uid, &m, NULL), STORE_OK);
	for (uint32_t i = 0; i < st.messages; i++)
		all[i] = uid + i;
	/* Still usable: growth stopped short of the end of the map, so the
	 * user can make room: dropping the blob and expunging work at once. */
	assert_int_equal(store_msg_cache_set(mbox, uid, "", 0), STORE_OK);
	assert_int_equal(store_expunge(mbox, all + 1, st.messages - 1, false, NULL), STORE_OK);
	free(all);
	struct store_check_report rep;
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t i = 0; i < rep.n_lines; i++)
		print_message("check: %s\n", rep.lines[i]);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
	/* and a larger map (operator raised lmdb_map_size) is adopted on reopen */
	store_mailbox_close(&mbox);
	store_user_close(&fx->user);
	store_destroy(&fx->store);
	fx->set.lmdb_map_size = 4 * 1024 * 1024;
	fx_open(fx);
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	assert_int_equal(append(fx->user, "INBOX", 9999, 0, NULL), STORE_OK);
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_OK);
	assert_int_equal(st.messages, 2);
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
	store_mailbox_close(&mbox);
}


/* ---- environment LRU ---- */

static void test_env_lru(void **state)
{
	struct fx *fx = *state;
	fx->set.index_cache_size = 2;
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	const char *names[] = { "u1", "u2", "u3", "u4" };
	struct store_user *held = NULL;
	assert_int_equal(store_user_open(fx->store, "u0", &held), STORE_OK);
	for (int i = 0; i < 4; i++) {
		struct store_user *u = NULL;
		assert_int_equal(store_user_open(fx->store, names[i], &u), STORE_OK);
		assert_int_equal(append(u, "INBOX", (unsigned)i, 0, NULL), STORE_OK);
		store_user_close(&u);
	}
	/* two unreferenced envs cached plus the referenced one */
	assert_int_equal(store_debug_open_envs(fx->store), 3);
	assert_true(store_debug_env_is_open(fx->store, "u0"));
	assert_false(store_debug_env_is_open(fx->store, "u1"));
	assert_false(store_debug_env_is_open(fx->store, "u2"));
	assert_true(store_debug_env_is_open(fx->store, "u3"));
	assert_true(store_debug_env_is_open(fx->store, "u4"));
	/* reopening an evicted user opens its env again, data intact */
	uint64_t opens = store_debug_env_open_count(fx->store);
	struct store_user *u = NULL;
	assert_int_equal(store_user_open(fx->store, "u1", &u), STORE_OK);
	assert_int_equal(store_debug_env_open_count(fx->store), opens + 1);
	struct store_status st;
	assert_int_equal(store_status(u, "INBOX", &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	/* a cached one is reused without a new open */
	struct store_user *u4 = NULL;
	assert_int_equal(store_user_open(fx->store, "u4", &u4), STORE_OK);
	assert_int_equal(store_debug_env_open_count(fx->store), opens + 1);
	store_user_close(&u4);
	store_user_close(&u);
	store_user_close(&held);
	assert_true(store_debug_open_envs(fx->store) <= 2);
	/* an env in use is never evicted by the rebuild path either */
	assert_int_equal(store_user_open(fx->store, "u2", &u), STORE_OK);
	assert_int_equal(store_index_rebuild(fx->store, "u2", NULL, NULL), STORE_EINUSE);
	store_user_close(&u);
	assert_int_equal(store_index_rebuild(fx->store, "u2", NULL, NULL), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "u2", &u), STORE_OK);
	assert_int_equal(store_status(u, "INBOX", &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	store_user_close(&u);
}

/* ---- a view follows its mailbox across a rename ---- */

static void test_view_follows_rename(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Old", 0), STORE_OK);
	uint32_t uid = 0;
	assert_int_equal(append(fx->user, "Old", 1, 0, &uid), STORE_OK);
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "Old", false, &mbox), STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "Old", "New/Name"), STORE_OK);
	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_open(mbox, uid, &fd, &size), STORE_OK);
	close(fd);
	assert_int_equal(store_flags_update(mbox, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
					    0, NULL), STORE_OK);
	struct store_status st;
	assert_int_equal(store_status(fx->user, "New/Name", &st), STORE_OK);
	assert_int_equal(st.unseen, 0);
	assert_int_equal(store_status(fx->user, "Old", &st), STORE_ENOTFOUND);
	/* a deleted and recreated mailbox is a different one for the view */
	assert_int_equal(store_mailbox_delete(fx->user, "New/Name"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "New/Name", 0), STORE_OK);
	assert_int_equal(store_msg_open(mbox, uid, &fd, &size), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_status(mbox, &st), STORE_ENOTFOUND);
	store_mailbox_close(&mbox);
	struct store_check_report rep;
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t i = 0; i < rep.n_lines; i++)
		print_message("check: %s\n", rep.lines[i]);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
}

/* ---- rebuild keeps what the files and the old index tell ---- */

static int collect_by_uid_cb(const struct store_msg *msg, void *ctx)
{
	struct store_msg *out = ctx;
	out[msg->uid] = *msg;
	for (unsigned i = 0; i < msg->n_keywords; i++)
		out[msg->uid].keywords[i] = NULL;   /* borrowed: do not keep */
	return 0;
}

static void test_rebuild(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Work/Sub", STORE_SPECIAL_ARCHIVE), STORE_OK);
	assert_int_equal(store_subscribe(fx->user, "Work/Sub", true), STORE_OK);
	uint32_t uids[6];
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(append(fx->user, "Work/Sub", i, 0, &uids[i]), STORE_OK);
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "Work/Sub", false, &mbox), STORE_OK);
	const char *kw[] = { "$Important", "project-x" };
	assert_int_equal(store_flags_update(mbox, uids, 3, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, kw, 2,
					    0, NULL), STORE_OK);
	assert_int_equal(store_expunge(mbox, &uids[4], 1, false, NULL), STORE_OK);
	struct store_status before;
	assert_int_equal(store_mailbox_status(mbox, &before), STORE_OK);
	struct store_msg was[8];
	memset(was, 0, sizeof(was));
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_by_uid_cb, was), STORE_OK);
	store_mailbox_close(&mbox);
	store_user_close(&fx->user);

	/* 1: old index readable: everything survives, modseqs included */
	assert_int_equal(store_index_rebuild(fx->store, "alice", NULL, NULL), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	assert_int_equal(store_mailbox_open(fx->user, "Work/Sub", false, &mbox), STORE_OK);
	struct store_status after;
	assert_int_equal(store_mailbox_status(mbox, &after), STORE_OK);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(after.messages, before.messages);
	assert_int_equal(after.highestmodseq, before.highestmodseq);
	assert_string_equal(after.mailboxid, before.mailboxid);
	struct store_msg now[8];
	memset(now, 0, sizeof(now));
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_by_uid_cb, now), STORE_OK);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(now[i].uid, was[i].uid);
		assert_int_equal(now[i].flags, was[i].flags);
		assert_int_equal(now[i].modseq, was[i].modseq);
		assert_int_equal(now[i].n_keywords, was[i].n_keywords);
	}
	struct store_uid_list vanished;
	assert_int_equal(store_changes_since(mbox, 1, NULL, NULL, &vanished), STORE_OK);
	assert_int_equal(vanished.count, 1);
	assert_int_equal(vanished.uids[0], uids[4]);
	store_uid_list_free(&vanished);
	char **subs = NULL;
	size_t n_subs = 0;
	assert_int_equal(store_subscriptions(fx->user, &subs, &n_subs), STORE_OK);
	assert_int_equal(n_subs, 1);
	assert_string_equal(subs[0], "Work/Sub");
	store_strv_free(subs, n_subs);
	char **kws = NULL;
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, uids[0], &m, &kws), STORE_OK);
	assert_int_equal(m.n_keywords, 2);
	store_strv_free(kws, m.n_keywords);
	store_mailbox_close(&mbox);
	store_user_close(&fx->user);

	/* 2: old index destroyed: UIDs, UIDVALIDITY, flags and letter keywords
	 * come from the files; MODSEQs restart above any cached value */
	char path[700];
	snprintf(path, sizeof(path), "%s/alice/index/data.mdb", fx->mail_dir);
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage", 7), 7);
	close(fd);
	assert_int_equal(store_index_rebuild(fx->store, "alice", NULL, NULL), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	assert_int_equal(store_mailbox_open(fx->user, "Work/Sub", false, &mbox), STORE_OK);
	assert_int_equal(store_mailbox_status(mbox, &after), STORE_OK);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.messages, before.messages);
	assert_true(after.highestmodseq > before.highestmodseq);
	assert_string_equal(after.mailboxid, before.mailboxid);   /* RFC 8474 */
	memset(now, 0, sizeof(now));
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_by_uid_cb, now), STORE_OK);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(now[i].uid, was[i].uid);
		assert_int_equal(now[i].flags, was[i].flags);
		assert_int_equal(now[i].n_keywords, was[i].n_keywords);
		assert_true(now[i].uid == 0 || now[i].modseq > before.highestmodseq);
	}
	store_mailbox_close(&mbox);
	/* the lost UIDVALIDITY seed was raised past the adopted ones: a new
	 * mailbox gets a UIDVALIDITY (and a MAILBOXID) no other has */
	assert_int_equal(store_mailbox_create(fx->user, "Fresh", 0), STORE_OK);
	struct store_status fresh = get_status(fx, "Fresh");
	assert_true(fresh.uidvalidity > after.uidvalidity);
	assert_string_not_equal(fresh.mailboxid, after.mailboxid);
	struct store_check_report rep;
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t i = 0; i < rep.n_lines; i++)
		print_message("check: %s\n", rep.lines[i]);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_msg_record_versions),
		cmocka_unit_test_setup_teardown(test_counters_and_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_nested_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_env_lru, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_view_follows_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
