/* Unit tests of change notification (storage/notify.c): a commit on another
 * thread wakes a watcher; a commit by another process (forked before this
 * process starts its store, so no LMDB handle crosses the fork) wakes a
 * watcher within a second; a file an external MDA drops into new/ is
 * adopted and announced; and store_watch_remove is race-free (after it
 * returns the callback is not running and never runs again). */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "storage/store-debug.h"
#include "storage/store.h"

#include "store-fixture.h"

/* The fixture with the inotify thread on. */
static int setup_watching(void **state)
{
	struct fx *fx = fx_new();
	fx->set.watch_external = true;
	*state = fx;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int append(struct store_user *user, const char *mailbox, unsigned idx, uint32_t *uid_r)
{
	char text[128];
	int len = snprintf(text, sizeof(text), "Subject: n%u\r\n\r\nbody\r\n", idx);
	struct store_append *app = NULL;
	int err = store_append_begin(user, mailbox, &app);
	if (err != 0)
		return err;
	err = store_append_write(app, text, (size_t)len);
	if (err != 0) {
		store_append_abort(&app);
		return err;
	}
	return store_append_commit(&app, NULL, uid_r, NULL);
}

/* How long a test waits for a change that must come: the waits end as
 * soon as it does, so this only bounds a failure, and is generous for a
 * machine busy with other builds. */
#define WAIT_S 20.0

/* A watcher that records the last change and wakes a waiter. Tests keep
 * theirs static: if an assertion leaves a test early, its watches stay
 * registered until the fixture's store goes, and a callback then must not
 * reach a dead stack frame. */
struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls;
	struct store_change last;
	char mailbox[64];
};

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

static void seen_cb(const struct store_change *c, void *ctx)
{
	struct seen *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->calls++;
	s->last = *c;
	snprintf(s->mailbox, sizeof(s->mailbox), "%s", c->mailbox);
	s->last.mailbox = s->mailbox;
	s->last.user = NULL;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static bool seen_got(const struct seen *s, const char *mailbox, uint32_t want_uidnext)
{
	return s->last.uidnext >= want_uidnext &&
	       (mailbox == NULL || strcmp(s->mailbox, mailbox) == 0);
}

/* Wait until the watcher's last change was of mailbox (NULL: any) with
 * uidnext >= want; returns seconds waited or -1. */
static double seen_wait_in(struct seen *s, const char *mailbox, uint32_t want_uidnext,
			   double timeout)
{
	double start = now_s();
	pthread_mutex_lock(&s->lock);
	while (!seen_got(s, mailbox, want_uidnext)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		if (now_s() - start > timeout)
			break;
	}
	bool ok = seen_got(s, mailbox, want_uidnext);
	pthread_mutex_unlock(&s->lock);
	return ok ? now_s() - start : -1;
}

static double seen_wait(struct seen *s, uint32_t want_uidnext, double timeout)
{
	return seen_wait_in(s, NULL, want_uidnext, timeout);
}

struct appender {
	struct store_user *user;
	int err;
	uint32_t uid;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	a->err = append(a->user, "INBOX", 1, &a->uid);
	return NULL;
}

static void test_in_process(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	static struct seen s, other;
	seen_init(&s);
	seen_init(&other);
	struct store_watch *w = NULL, *w2 = NULL;
	assert_int_equal(store_watch_add(fx->user, "inbox", seen_cb, &s, &w), STORE_OK);
	assert_int_equal(store_watch_add(fx->user, "Other", seen_cb, &other, &w2), STORE_OK);
	struct store_watch *w3 = NULL;
	assert_int_equal(store_watch_add(fx->user, "Nope", seen_cb, &s, &w3), STORE_ENOTFOUND);
	assert_null(w3);
	assert_int_equal(store_watch_add(fx->user, "a//b", seen_cb, &s, &w3), STORE_EINVALID);
	struct appender a = { .user = fx->user };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, append_thread, &a), 0);
	pthread_join(t, NULL);
	assert_int_equal(a.err, STORE_OK);
	assert_true(seen_wait(&s, a.uid + 1, WAIT_S) >= 0);
	pthread_mutex_lock(&s.lock);
	assert_string_equal(s.mailbox, "INBOX");
	assert_int_equal(s.last.messages, 1);
	assert_true(s.last.uidvalidity != 0);
	assert_true(s.last.highestmodseq > 1);
	unsigned calls = s.calls;
	pthread_mutex_unlock(&s.lock);

	/* a flag change is announced with a higher modseq */
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	uint64_t hms = s.last.highestmodseq;
	assert_int_equal(store_flags_update(mbox, &a.uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL,
					    0, 0, NULL), STORE_OK);
	double start = now_s();
	for (;;) {
		pthread_mutex_lock(&s.lock);
		bool got = s.last.highestmodseq > hms;
		pthread_mutex_unlock(&s.lock);
		if (got)
			break;
		assert_true(now_s() - start < WAIT_S);
		usleep(1000);
	}
	pthread_mutex_lock(&s.lock);
	assert_true(s.calls > calls);
	pthread_mutex_unlock(&s.lock);
	/* the other mailbox's watcher heard nothing */
	pthread_mutex_lock(&other.lock);
	assert_int_equal(other.calls, 0);
	pthread_mutex_unlock(&other.lock);
	store_mailbox_close(&mbox);
	store_watch_remove(&w);
	store_watch_remove(&w2);
	assert_null(w);
	assert_null(w2);
}

/* Another process commits; our watcher must hear it within a second. */
static void test_other_process(void **state)
{
	struct fx *fx = *state;
	int go[2], done[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	/* fork before this process has a store: the child never inherits an
	 * LMDB environment or store threads */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		close(done[0]);
		int rc = 1;
		if (read(go[0], &c, 1) == 1) {
			struct store_settings set = fx->set;
			set.watch_external = false;
			struct store *st = NULL;
			struct store_user *u = NULL;
			uint32_t uid = 0;
			if (store_create(&set, &st) == 0 && store_user_open(st, "alice", &u) == 0 &&
			    append(u, "INBOX", 7, &uid) == 0) {
				if (write(done[1], &uid, sizeof(uid)) == sizeof(uid))
					rc = 0;
			}
			store_user_close(&u);
			store_destroy(&st);
		}
		_exit(rc);
	}
	close(go[0]);
	close(done[1]);
	fx_open(fx);
	static struct seen s;
	seen_init(&s);
	struct store_watch *w = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", seen_cb, &s, &w), STORE_OK);
	assert_int_equal(write(go[1], "g", 1), 1);
	uint32_t uid = 0;
	assert_int_equal(read(done[0], &uid, sizeof(uid)), sizeof(uid));
	double waited = seen_wait(&s, uid + 1, WAIT_S);
	print_message("cross-process change seen after %.3f s\n", waited);
	assert_true(waited >= 0 && waited < 1.0);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.last.messages, 1);
	pthread_mutex_unlock(&s.lock);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(go[1]);
	close(done[0]);
	store_watch_remove(&w);
}

/* An MDA drops a file into new/: adopted, moved to cur/, announced. */
static void test_external_file(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	uint32_t first = 0;
	assert_int_equal(append(fx->user, "INBOX", 1, &first), STORE_OK);
	static struct seen s;
	seen_init(&s);
	struct store_watch *w = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", seen_cb, &s, &w), STORE_OK);
	char tmp[700], dst[700];
	const char *udir = store_user_dir(fx->user);
	snprintf(tmp, sizeof(tmp), "%s/tmp/1700000001.M5P99.mda", udir);
	snprintf(dst, sizeof(dst), "%s/new/1700000001.M5P99.mda", udir);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("Subject: external\n\nhello\n", f);
	fclose(f);
	assert_int_equal(rename(tmp, dst), 0);
	double waited = seen_wait(&s, first + 2, WAIT_S);
	print_message("external file announced after %.3f s\n", waited);
	assert_true(waited >= 0);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.last.messages, 2);
	pthread_mutex_unlock(&s.lock);
	/* it now lives in cur/ under its UID, with the LF-only vsize counted */
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", true, &mbox), STORE_OK);
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, first + 1, &m, NULL), STORE_OK);
	assert_int_equal(m.size, 25);
	assert_int_equal(m.vsize, 28);
	struct stat st;
	assert_int_equal(stat(dst, &st), -1);
	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_open(mbox, first + 1, &fd, &size), STORE_OK);
	assert_int_equal(size, 25);
	close(fd);
	store_mailbox_close(&mbox);
	store_watch_remove(&w);
}

/* ---- race-free removal ---- */

struct racy {
	atomic_bool removed;
	atomic_bool in_cb;
	atomic_bool violated;
	atomic_uint calls;
};

static void racy_cb(const struct store_change *c, void *ctx)
{
	(void)c;
	struct racy *r = ctx;
	atomic_store(&r->in_cb, true);
	if (atomic_load(&r->removed))
		atomic_store(&r->violated, true);
	usleep(200);
	if (atomic_load(&r->removed))
		atomic_store(&r->violated, true);
	atomic_fetch_add(&r->calls, 1);
	atomic_store(&r->in_cb, false);
}

struct churn {
	struct store_mailbox *mbox;
	uint32_t uid;
	atomic_bool stop;
	unsigned changes;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	while (!atomic_load(&c->stop)) {
		enum store_flags_op op = c->changes % 2 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		assert_int_equal(store_flags_update(c->mbox, &c->uid, 1, op, STORE_FLAG_FLAGGED, NULL, 0,
						    0, NULL), STORE_OK);
		c->changes++;
	}
	return NULL;
}

static void test_remove_race(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	struct churn c = { 0 };
	assert_int_equal(append(fx->user, "INBOX", 1, &c.uid), STORE_OK);
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &c.mbox), STORE_OK);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	unsigned total_calls = 0;
	for (int round = 0; round < 100; round++) {
		struct racy *r = xcalloc(1, sizeof(*r));
		struct store_watch *w = NULL;
		assert_int_equal(store_watch_add(fx->user, "INBOX", racy_cb, r, &w), STORE_OK);
		usleep((useconds_t)(round % 7) * 300);
		store_watch_remove(&w);
		assert_false(atomic_load(&r->in_cb));
		atomic_store(&r->removed, true);
		usleep(500);
		assert_false(atomic_load(&r->violated));
		total_calls += atomic_load(&r->calls);
		free(r);   /* a late callback would now touch freed memory (ASan) */
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	print_message("%u flag changes, %u callbacks during 100 add/remove rounds\n", c.changes,
		      total_calls);
	assert_true(total_calls > 0);
	store_mailbox_close(&c.mbox);
}

/* Our own commits bump <index>/notify too; the notify thread reads its
 * slots and drops the wake without reading any mailbox. */
static void test_own_bumps_ignored(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	static struct seen s;
	seen_init(&s);
	struct store_watch *w = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", seen_cb, &s, &w), STORE_OK);
	uint32_t uid = 0;
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(append(fx->user, "INBOX", i, &uid), STORE_OK);
		usleep(20000);            /* let the notify thread wake for each */
	}
	assert_true(seen_wait(&s, uid + 1, WAIT_S) >= 0);
	usleep(100000);
	uint64_t own = store_debug_notify_own_wakes(fx->store);
	uint64_t foreign = store_debug_notify_foreign_wakes(fx->store);
	print_message("own wakes %llu, foreign %llu\n", (unsigned long long)own,
		      (unsigned long long)foreign);
	assert_true(own > 0);
	assert_int_equal(foreign, 0);
	store_watch_remove(&w);
}

/* A watcher of one user that takes its time holds up no other user's
 * watchers: no lock shared by all watches is held while one runs. */
struct slow {
	atomic_int calls;
	atomic_bool inside;
	atomic_bool release;          /* the test lets the watcher return */
};

static void slow_cb(const struct store_change *c, void *ctx)
{
	(void)c;
	struct slow *sl = ctx;
	atomic_store(&sl->inside, true);
	double start = now_s();
	while (!atomic_load(&sl->release) && now_s() - start < WAIT_S)
		usleep(1000);
	atomic_fetch_add(&sl->calls, 1);
	atomic_store(&sl->inside, false);
}

static void test_slow_watcher_blocks_no_other(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	struct store_user *bob = NULL;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	static struct slow sl;
	memset(&sl, 0, sizeof(sl));
	static struct seen s;
	seen_init(&s);
	struct store_watch *w1 = NULL, *w2 = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", slow_cb, &sl, &w1), STORE_OK);
	assert_int_equal(store_watch_add(bob, "INBOX", seen_cb, &s, &w2), STORE_OK);
	struct appender a = { .user = fx->user };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, append_thread, &a), 0);
	double start = now_s();
	while (!atomic_load(&sl.inside) && now_s() - start < WAIT_S)
		usleep(1000);
	assert_true(atomic_load(&sl.inside));
	uint32_t uid = 0;
	assert_int_equal(append(bob, "INBOX", 1, &uid), STORE_OK);
	double waited = seen_wait(&s, uid + 1, WAIT_S);
	assert_true(waited >= 0);
	assert_true(atomic_load(&sl.inside));   /* bob heard while alice's watcher ran */
	atomic_store(&sl.release, true);
	pthread_join(t, NULL);
	assert_int_equal(a.err, STORE_OK);
	store_watch_remove(&w1);
	store_watch_remove(&w2);
	assert_false(atomic_load(&sl.inside));
	store_user_close(&bob);
}

/* Many watched mailboxes: a commit reaches the watchers of its mailbox and
 * no other. */
static void test_many_targets(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	enum { N = 200 };
	static struct seen s[N];
	struct store_watch *w[N];
	for (unsigned i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "box%u", i);
		assert_int_equal(store_mailbox_create(fx->user, name, 0), STORE_OK);
		seen_init(&s[i]);
		assert_int_equal(store_watch_add(fx->user, name, seen_cb, &s[i], &w[i]), STORE_OK);
	}
	uint32_t uid = 0;
	assert_int_equal(append(fx->user, "box137", 1, &uid), STORE_OK);
	assert_true(seen_wait(&s[137], uid + 1, WAIT_S) >= 0);
	usleep(50000);
	for (unsigned i = 0; i < N; i++) {
		pthread_mutex_lock(&s[i].lock);
		assert_int_equal(s[i].calls, i == 137 ? 1 : 0);
		pthread_mutex_unlock(&s[i].lock);
		store_watch_remove(&w[i]);
	}
}

/* A user-wide watch hears every mailbox of its user, and nothing of
 * another user. */
static void test_user_watch(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	struct store_user *bob = NULL;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	static struct seen s;
	seen_init(&s);
	struct store_watch *w = NULL;
	assert_int_equal(store_watch_user_add(fx->user, seen_cb, &s, &w), STORE_OK);
	uint32_t uid = 0;
	assert_int_equal(append(bob, "INBOX", 1, &uid), STORE_OK);
	assert_int_equal(append(fx->user, "Other", 1, &uid), STORE_OK);
	/* bob's commit came first: had it reached alice's watch, the last
	 * change seen would be INBOX until Other's arrived */
	assert_true(seen_wait_in(&s, "Other", uid + 1, WAIT_S) >= 0);
	pthread_mutex_lock(&s.lock);
	unsigned calls = s.calls;
	pthread_mutex_unlock(&s.lock);
	assert_int_equal(calls, 1);
	assert_int_equal(append(fx->user, "INBOX", 2, &uid), STORE_OK);
	assert_true(seen_wait_in(&s, "INBOX", uid + 1, WAIT_S) >= 0);
	pthread_mutex_lock(&s.lock);
	unsigned calls2 = s.calls;
	pthread_mutex_unlock(&s.lock);
	assert_true(calls2 > calls);
	store_watch_remove(&w);
	assert_null(w);
	store_user_close(&bob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_process, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_other_process, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_external_file, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_remove_race, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_own_bumps_ignored, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_slow_watcher_blocks_no_other, setup_watching,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_targets, setup_watching, teardown),
		cmocka_unit_test_setup_teardown(test_user_watch, setup_watching, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
