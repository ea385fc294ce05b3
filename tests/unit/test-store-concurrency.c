/* Unit tests of the store API (storage/store.h): reads during concurrent
 * flag changes, parallel appends, the environment cache under concurrent
 * opens, and a long run of random operations checked against a model. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "store-fixture.h"

/* ---- concurrency ---- */

struct flipper {
	struct store_user *user;
	uint32_t uid;
	atomic_bool stop;
	unsigned flips;
	int error;
};

static void *flipper_main(void *arg)
{
	struct flipper *f = arg;
	struct store_mailbox *mbox = NULL;
	f->error = store_mailbox_open(f->user, "INBOX", false, &mbox);
	static const char *const kw[] = { "$Toggle" };
	while (f->error == 0 && !f->stop) {
		enum store_flags_op op = f->flips % 2 ? STORE_FLAGS_REMOVE : STORE_FLAGS_ADD;
		f->error = store_flags_update(mbox, &f->uid, 1, op,
					      STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, kw, 1, 0, NULL);
		f->flips++;
	}
	if (mbox != NULL)
		store_mailbox_close(&mbox);
	return NULL;
}

/* Reading a message while another thread keeps renaming its file (flag
 * changes) must never fail or return other bytes. */
static void test_read_during_flag_changes(void **state)
{
	struct fx *fx = *state;
	char *text = make_msg(7, 200, "\r\n");
	size_t len = strlen(text);
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, "INBOX", text, len, NULL, &uid, NULL), STORE_OK);
	struct flipper f = { .user = fx->user, .uid = uid };
	pthread_t th;
	pthread_create(&th, NULL, flipper_main, &f);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	unsigned reads = 0;
	do {
		int fd = -1;
		uint64_t size = 0;
		int ret = store_msg_open(mbox, uid, &fd, &size);
		if (ret != STORE_OK)
			fail_msg("store_msg_open failed after %u reads, %u flips: %s", reads,
				 f.flips, store_strerror(ret));
		assert_int_equal(size, len);
		char *buf = xmalloc(len);
		assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
		assert_memory_equal(buf, text, len);
		free(buf);
		close(fd);
		struct store_msg m = get_msg(mbox, uid);
		assert_int_equal(m.size, len);
		reads++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2 || f.flips < 50);
	f.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(f.error, 0);
	assert_true(f.flips >= 50);
	store_mailbox_close(&mbox);
	free(text);
}

/* Several threads appending at once get distinct, ascending UIDs and all
 * their messages land. */
static void test_parallel_appends(void **state)
{
	struct fx *fx = *state;
	enum { THREADS = 6, EACH = 25 };
	struct append_thread t[THREADS];
	pthread_t th[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		t[i] = (struct append_thread){ .user = fx->user, .mailbox = "INBOX", .n = EACH,
					       .base = i * 1000 };
		pthread_create(&th[i], NULL, append_thread_main, &t[i]);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].error, 0);
	}
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, THREADS * EACH);
	assert_int_equal(st.uidnext, THREADS * EACH + 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct collect c = { 0 };
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, THREADS * EACH);
	for (size_t i = 1; i < c.n; i++)
		assert_true(c.uids[i] > c.uids[i - 1]);
	store_mailbox_close(&mbox);
}

struct lru_thread {
	struct store *store;
	char user[16];
	unsigned rounds;
	int error;
};

/* Each round opens the user, appends, checks the count and closes again,
 * so with a cache of one environment the users keep evicting each other. */
static void *lru_thread_main(void *arg)
{
	struct lru_thread *t = arg;
	for (unsigned i = 0; i < t->rounds && t->error == 0; i++) {
		struct store_user *u = NULL;
		t->error = store_user_open(t->store, t->user, &u);
		if (t->error != 0)
			break;
		char *text = make_msg(i, 1, "\r\n");
		t->error = try_append(u, "INBOX", text, strlen(text), NULL, NULL, NULL);
		free(text);
		struct store_status st;
		if (t->error == 0)
			t->error = store_status(u, "INBOX", &st);
		if (t->error == 0 && st.messages != i + 1)
			t->error = -100;
		store_user_close(&u);
	}
	return NULL;
}

static void test_user_lru_concurrent(void **state)
{
	struct fx *fx = *state;
	fx->set.index_cache_size = 1;
	fx_open(fx);
	enum { THREADS = 4 };
	struct lru_thread t[THREADS];
	pthread_t th[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		t[i] = (struct lru_thread){ .store = fx->store, .rounds = 25 };
		snprintf(t[i].user, sizeof(t[i].user), "lru%u", i);
		pthread_create(&th[i], NULL, lru_thread_main, &t[i]);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (t[i].error != 0)
			fail_msg("user %s: %s (%d)", t[i].user, store_strerror(t[i].error), t[i].error);
	}
	fx_reopen(fx);
	for (unsigned i = 0; i < THREADS; i++) {
		struct store_user *u = NULL;
		struct store_status st;
		assert_int_equal(store_user_open(fx->store, t[i].user, &u), STORE_OK);
		assert_int_equal(store_status(u, "INBOX", &st), STORE_OK);
		assert_int_equal(st.messages, 25);
		assert_int_equal(st.uidnext, 26);
		store_user_close(&u);
	}
}

/* ---- model-based random operations ---- */

#define MODEL_MAX 512
#define MODEL_KW 5

/* What one mailbox should hold, kept by the test alongside the store. */
struct model {
	bool live[MODEL_MAX];
	uint32_t flags[MODEL_MAX];
	unsigned kw[MODEL_MAX];          /* bit i = keyword model_kw[i] */
	uint64_t size[MODEL_MAX];
	uint32_t uidnext;
};

static const char *const model_kw[MODEL_KW] = { "$Junk", "$Label1", "Work", "todo", "$Forwarded" };

struct model_check { struct model *m; size_t n; unsigned bad; };

static int model_scan_cb(const struct store_msg *msg, void *ctx)
{
	struct model_check *c = ctx;
	struct model *m = c->m;
	c->n++;
	if (msg->uid >= MODEL_MAX || !m->live[msg->uid]) {
		print_message("uid %u present, model says gone\n", msg->uid);
		c->bad++;
		return 0;
	}
	unsigned kw = 0;
	for (uint16_t i = 0; i < msg->n_keywords; i++)
		for (unsigned k = 0; k < MODEL_KW; k++)
			if (strcmp(msg->keywords[i], model_kw[k]) == 0)
				kw |= 1u << k;
	if (msg->flags != m->flags[msg->uid] || kw != m->kw[msg->uid] ||
	    msg->n_keywords != (uint16_t)__builtin_popcount(m->kw[msg->uid]) ||
	    msg->size != m->size[msg->uid]) {
		print_message("uid %u: flags %x kw %x (n %u) size %llu, model %x %x %llu\n",
			      msg->uid, msg->flags, kw, msg->n_keywords,
			      (unsigned long long)msg->size, m->flags[msg->uid], m->kw[msg->uid],
			      (unsigned long long)m->size[msg->uid]);
		c->bad++;
	}
	return 0;
}

static void model_verify(struct fx *fx, struct store_mailbox *mbox, struct model *m)
{
	struct model_check c = { .m = m };
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, model_scan_cb, &c), STORE_OK);
	uint32_t messages = 0, unseen = 0, deleted = 0;
	uint64_t size = 0;
	for (uint32_t uid = 1; uid < MODEL_MAX; uid++) {
		if (!m->live[uid])
			continue;
		messages++;
		unseen += !(m->flags[uid] & STORE_FLAG_SEEN);
		deleted += (m->flags[uid] & STORE_FLAG_DELETED) != 0;
		size += m->size[uid];
	}
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.n, messages);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, messages);
	assert_int_equal(st.unseen, unseen);
	assert_int_equal(st.deleted, deleted);
	assert_int_equal(st.size, size);
	assert_int_equal(st.uidnext, m->uidnext);
}

struct model_changes { uint32_t uids[MODEL_MAX]; size_t n; };

static int model_changes_cb(const struct store_msg *msg, void *ctx)
{
	struct model_changes *c = ctx;
	assert_true(c->n < MODEL_MAX);
	c->uids[c->n++] = msg->uid;
	return 0;
}

static void test_random_ops_against_model(void **state)
{
	struct fx *fx = *state;
	struct model *m = xcalloc(1, sizeof(*m));
	m->uidnext = 1;
	unsigned seed = 20261124;
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	for (unsigned step = 0; step < 400; step++) {
		uint64_t hms = get_status(fx, "INBOX").highestmodseq;
		bool changed_uids[MODEL_MAX] = { false };
		bool vanished_uids[MODEL_MAX] = { false };
		bool changes = false;
		uint32_t live[MODEL_MAX];
		size_t n_live = 0;
		for (uint32_t uid = 1; uid < MODEL_MAX; uid++)
			if (m->live[uid])
				live[n_live++] = uid;
		unsigned op = (unsigned)rand_r(&seed) % 10;
		if (op < 3 || n_live < 3) {
			if (m->uidnext >= MODEL_MAX - 1)
				break;
			char *text = make_msg(step, (size_t)rand_r(&seed) % 6, "\r\n");
			const char *kws[MODEL_KW];
			unsigned kw = (unsigned)rand_r(&seed) & 0x1f;
			size_t nk = 0;
			for (unsigned k = 0; k < MODEL_KW; k++)
				if (kw & (1u << k))
					kws[nk++] = model_kw[k];
			struct store_append_meta meta = { .flags = (uint32_t)rand_r(&seed) & 0x1f,
							  .keywords = kws, .n_keywords = nk };
			uint32_t uid = 0;
			assert_int_equal(try_append(fx->user, "INBOX", text, strlen(text), &meta,
						    &uid, NULL), STORE_OK);
			assert_int_equal(uid, m->uidnext);
			m->live[uid] = true;
			m->flags[uid] = meta.flags;
			m->kw[uid] = kw;
			m->size[uid] = strlen(text);
			m->uidnext++;
			changed_uids[uid] = changes = true;
			free(text);
		} else if (op < 8) {
			/* A flag op on a random sorted subset, sometimes with
			 * UIDs that do not exist. */
			uint32_t uids[MODEL_MAX];
			size_t n = 0;
			for (uint32_t uid = 1; uid < m->uidnext + 2 && uid < MODEL_MAX; uid++)
				if (rand_r(&seed) % 4 == 0)
					uids[n++] = uid;
			enum store_flags_op fop = (enum store_flags_op)(rand_r(&seed) % 3);
			uint32_t fl = (uint32_t)rand_r(&seed) & 0x1f;
			unsigned kw = (unsigned)rand_r(&seed) & 0x1f;
			const char *kws[MODEL_KW];
			size_t nk = 0;
			for (unsigned k = 0; k < MODEL_KW; k++)
				if (kw & (1u << k))
					kws[nk++] = model_kw[k];
			assert_int_equal(store_flags_update(mbox, uids, n, fop, fl, kws, nk, 0, NULL),
					 STORE_OK);
			for (size_t i = 0; i < n; i++) {
				uint32_t uid = uids[i];
				if (uid >= MODEL_MAX || !m->live[uid])
					continue;
				uint32_t nf = fop == STORE_FLAGS_SET ? fl
					    : fop == STORE_FLAGS_ADD ? (m->flags[uid] | fl)
								   : (m->flags[uid] & ~fl);
				unsigned nkw = fop == STORE_FLAGS_SET ? kw
					     : fop == STORE_FLAGS_ADD ? (m->kw[uid] | kw)
								    : (m->kw[uid] & ~kw);
				if (nf != m->flags[uid] || nkw != m->kw[uid])
					changed_uids[uid] = changes = true;
				m->flags[uid] = nf;
				m->kw[uid] = nkw;
			}
		} else {
			bool only_deleted = rand_r(&seed) % 2;
			uint32_t uids[MODEL_MAX];
			size_t n = 0;
			for (size_t i = 0; i < n_live; i++)
				if (rand_r(&seed) % 5 == 0)
					uids[n++] = live[i];
			struct store_uid_list gone = { 0 };
			assert_int_equal(store_expunge(mbox, uids, n, only_deleted, &gone), STORE_OK);
			size_t want = 0;
			for (size_t i = 0; i < n; i++) {
				if (only_deleted && !(m->flags[uids[i]] & STORE_FLAG_DELETED))
					continue;
				assert_true(want < gone.count);
				assert_int_equal(gone.uids[want], uids[i]);
				want++;
				m->live[uids[i]] = false;
				vanished_uids[uids[i]] = changes = true;
			}
			assert_int_equal(gone.count, want);
			store_uid_list_free(&gone);
		}
		model_verify(fx, mbox, m);
		if (step % 97 == 96) {
			/* A restart in between: everything must be durable. */
			store_mailbox_close(&mbox);
			fx_reopen(fx);
			mbox = open_box(fx, "INBOX", false);
			model_verify(fx, mbox, m);
		}

		/* HIGHESTMODSEQ moved iff something changed, and changes since
		 * the old value are exactly the changed and vanished UIDs. */
		uint64_t now = get_status(fx, "INBOX").highestmodseq;
		if (changes)
			assert_true(now > hms);
		else
			assert_int_equal(now, hms);
		struct model_changes ch = { .n = 0 };
		struct store_uid_list vanished = { 0 };
		assert_int_equal(store_changes_since(mbox, hms, model_changes_cb, &ch, &vanished),
				 STORE_OK);
		size_t want_changed = 0, want_vanished = 0;
		for (uint32_t uid = 1; uid < MODEL_MAX; uid++) {
			want_changed += changed_uids[uid] && m->live[uid];
			want_vanished += vanished_uids[uid];
		}
		for (size_t i = 0; i < ch.n; i++)
			if (!changed_uids[ch.uids[i]])
				fail_msg("step %u: uid %u reported changed, was not", step, ch.uids[i]);
		assert_int_equal(ch.n, want_changed);
		assert_int_equal(vanished.count, want_vanished);
		for (size_t i = 0; i < vanished.count; i++)
			assert_true(vanished_uids[vanished.uids[i]]);
		store_uid_list_free(&vanished);
	}
	store_mailbox_close(&mbox);
	/* The same after a restart, read through a fresh store. */
	fx_reopen(fx);
	mbox = open_box(fx, "INBOX", true);
	model_verify(fx, mbox, m);
	store_mailbox_close(&mbox);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_during_flag_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_lru_concurrent, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_random_ops_against_model, setup, teardown),
	};
	return FX_RUN("store-concurrency", tests);
}
