/* Unit tests of the store API (storage/store.h): change notification to
 * watchers in this process and from other processes and programs. */
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

/* ---- change notification ---- */

struct watch_rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned count;
	unsigned after_remove;   /* callbacks seen after remove returned */
	bool removed;
	char user[64], mailbox[64];
	struct store_change last;
};

static void watch_cb(const struct store_change *ch, void *ctx)
{
	struct watch_rec *w = ctx;
	pthread_mutex_lock(&w->mu);
	if (w->removed)
		w->after_remove++;
	w->count++;
	w->last = *ch;
	snprintf(w->user, sizeof(w->user), "%s", ch->user);
	snprintf(w->mailbox, sizeof(w->mailbox), "%s", ch->mailbox);
	w->last.user = w->user;
	w->last.mailbox = w->mailbox;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void watch_init(struct watch_rec *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

/* Wait until the callback ran at least `count` times and reported
 * `uidnext`/`hms` (0 = any); false after 5 s. */
static bool watch_wait(struct watch_rec *w, unsigned count, uint32_t uidnext, uint64_t hms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&w->mu);
	while (w->count < count || (uidnext != 0 && w->last.uidnext != uidnext) ||
	       (hms != 0 && w->last.highestmodseq != hms)) {
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
			break;
	}
	bool ok = w->count >= count && (uidnext == 0 || w->last.uidnext == uidnext) &&
		  (hms == 0 || w->last.highestmodseq == hms);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static unsigned watch_count(struct watch_rec *w)
{
	pthread_mutex_lock(&w->mu);
	unsigned n = w->count;
	pthread_mutex_unlock(&w->mu);
	return n;
}

static void test_watch(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	struct watch_rec w1, w2;
	watch_init(&w1);
	watch_init(&w2);
	struct store_watch *h1 = NULL, *h2 = NULL, *bad = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", watch_cb, &w1, &h1), STORE_OK);
	assert_int_equal(store_watch_add(fx->user, "Other", watch_cb, &w2, &h2), STORE_OK);
	assert_int_equal(store_watch_add(fx->user, "Nope", watch_cb, &w2, &bad), STORE_ENOTFOUND);
	assert_int_equal(store_watch_add(fx->user, "a//b", watch_cb, &w2, &bad), STORE_EINVALID);
	assert_null(bad);

	uint32_t uid = add(fx->user, "INBOX", 1);
	assert_true(watch_wait(&w1, 1, uid + 1, 0));
	struct store_status st = get_status(fx, "INBOX");
	pthread_mutex_lock(&w1.mu);
	assert_string_equal(w1.last.user, "alice");
	assert_string_equal(w1.last.mailbox, "INBOX");
	assert_int_equal(w1.last.uidvalidity, st.uidvalidity);
	assert_int_equal(w1.last.messages, 1);
	pthread_mutex_unlock(&w1.mu);

	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	unsigned c = watch_count(&w1);
	set_flags(mbox, uid, STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	assert_true(watch_wait(&w1, c + 1, 0, get_status(fx, "INBOX").highestmodseq));
	c = watch_count(&w1);
	assert_int_equal(store_expunge(mbox, &uid, 1, false, NULL), STORE_OK);
	assert_true(watch_wait(&w1, c + 1, 0, get_status(fx, "INBOX").highestmodseq));
	pthread_mutex_lock(&w1.mu);
	assert_int_equal(w1.last.messages, 0);
	pthread_mutex_unlock(&w1.mu);
	store_mailbox_close(&mbox);

	/* A commit made by another thread. */
	struct append_thread t = { .user = fx->user, .mailbox = "INBOX", .n = 1, .base = 10 };
	pthread_t th;
	c = watch_count(&w1);
	pthread_create(&th, NULL, append_thread_main, &t);
	pthread_join(th, NULL);
	assert_int_equal(t.error, 0);
	assert_true(watch_wait(&w1, c + 1, t.last_uid + 1, 0));

	/* Other's watcher saw none of this; then one of its own. */
	assert_int_equal(watch_count(&w2), 0);
	uint32_t ou = add(fx->user, "Other", 2);
	assert_true(watch_wait(&w2, 1, ou + 1, 0));

	/* After remove returns, the callback never runs again, even with
	 * commits racing the removal. */
	struct append_thread bg = { .user = fx->user, .mailbox = "INBOX", .n = 0, .base = 100 };
	pthread_create(&th, NULL, append_thread_main, &bg);
	struct timespec ms20 = { 0, 20 * 1000 * 1000 };
	nanosleep(&ms20, NULL);
	store_watch_remove(&h1);
	assert_null(h1);
	pthread_mutex_lock(&w1.mu);
	w1.removed = true;
	pthread_mutex_unlock(&w1.mu);
	struct timespec ms300 = { 0, 300 * 1000 * 1000 };
	nanosleep(&ms300, NULL);
	bg.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(bg.error, 0);
	add(fx->user, "INBOX", 3);
	nanosleep(&ms300, NULL);
	pthread_mutex_lock(&w1.mu);
	assert_int_equal(w1.after_remove, 0);
	pthread_mutex_unlock(&w1.mu);
	store_watch_remove(&h2);
	unsigned c2 = watch_count(&w2);
	add(fx->user, "Other", 4);
	nanosleep(&ms300, NULL);
	assert_int_equal(watch_count(&w2), c2);
}

/* With watch_external, commits made by another process and files dropped
 * into new/ by another program reach the watcher too. The writer process is
 * forked before this process starts any store thread. */
static void test_watch_external(void **state)
{
	struct fx *fx = *state;
	int go[2];
	assert_int_equal(pipe(go), 0);
	/* The user must exist before both sides open it. */
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	fx_close(fx);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		struct store *st = NULL;
		struct store_user *u = NULL;
		struct store_settings set = fx->set;
		set.watch_external = false;
		if (store_create(&set, &st) != STORE_OK || store_user_open(st, "alice", &u) != 0)
			_exit(4);
		static const char text[] = "Subject: from another process\r\n\r\nhi\r\n";
		struct store_append *app = NULL;
		struct store_append_meta meta = { 0 };
		int ret = store_append_begin(u, "INBOX", &app);
		if (ret == STORE_OK)
			ret = store_append_write(app, text, sizeof(text) - 1);
		uint32_t uid = 0;
		if (ret == STORE_OK)
			ret = store_append_commit(&app, &meta, &uid, NULL);
		/* Then, after the parent saw the append, a flag change. */
		if (ret == STORE_OK && read(go[0], &c, 1) != 1)
			ret = STORE_EIO;
		struct store_mailbox *mb = NULL;
		if (ret == STORE_OK)
			ret = store_mailbox_open(u, "INBOX", false, &mb);
		if (ret == STORE_OK)
			ret = store_flags_update(mb, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
						 0, NULL);
		if (mb != NULL)
			store_mailbox_close(&mb);
		store_user_close(&u);
		store_destroy(&st);
		_exit(ret == STORE_OK ? 0 : 5);
	}
	close(go[0]);
	fx->set.watch_external = true;
	fx_open(fx);
	struct watch_rec w;
	watch_init(&w);
	struct store_watch *h = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", watch_cb, &w, &h), STORE_OK);
	assert_int_equal(write(go[1], "g", 1), 1);
	if (!watch_wait(&w, 1, 2, 0))
		fail_msg("no callback for another process's append (count %u)", watch_count(&w));
	pthread_mutex_lock(&w.mu);
	assert_int_equal(w.last.messages, 1);
	uint64_t hms = w.last.highestmodseq;
	unsigned seen = w.count;
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	uint64_t now_hms = get_status(fx, "INBOX").highestmodseq;
	assert_true(now_hms > hms);
	if (!watch_wait(&w, seen + 1, 0, now_hms))
		fail_msg("no callback for another process's flag change (count %u)",
			 watch_count(&w));

	/* A file an external MDA drops into new/. */
	char path[800];
	snprintf(path, sizeof(path), "%s/new/1700000000.M7P7.mda", store_user_dir(fx->user));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: external\n\nhello\n", f);
	fclose(f);
	if (!watch_wait(&w, seen + 2, 3, 0))
		fail_msg("no callback after a file appeared in new/ (count %u, uidnext %u)",
			 watch_count(&w), w.last.uidnext);
	pthread_mutex_lock(&w.mu);
	assert_int_equal(w.last.messages, 2);
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(get_status(fx, "INBOX").messages, 2);
	store_watch_remove(&h);
}

/* `loft deliver` in another process: a watcher of the server (an IMAP
 * IDLE, say) learns of the new message through the store's cross-process
 * notification, as it would of any other process's commit. */
static void test_watch_sees_loft_deliver(void **state)
{
	struct fx *fx = *state;
	const char *bin = getenv("LOFT_BIN");
	if (bin == NULL)
		fail_msg("LOFT_BIN is not set (run through ctest)");
	char conf[600], users[600], msg[600];
	snprintf(conf, sizeof(conf), "%s/loft.conf", fx->dir);
	snprintf(users, sizeof(users), "%s/users", fx->dir);
	snprintf(msg, sizeof(msg), "%s/msg", fx->dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[server]\nstate_dir = %s\nmail_dir = %s\nusers_file = %s\n"
		   "local_domains = example.org\n", fx->dir, fx->mail_dir, users);
	fclose(f);
	f = fopen(users, "w");
	assert_non_null(f);
	fputs("alice:{PLAIN}unused\n", f);
	fclose(f);
	f = fopen(msg, "w");
	assert_non_null(f);
	fputs("Subject: from loft deliver\r\n\r\nhi\r\n", f);
	fclose(f);

	fx->set.watch_external = true;
	fx_open(fx);
	struct watch_rec w;
	watch_init(&w);
	struct store_watch *h = NULL;
	assert_int_equal(store_watch_add(fx->user, "INBOX", watch_cb, &w, &h), STORE_OK);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		int fd = open(msg, O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(126);
		execl(bin, bin, "-c", conf, "deliver", "-u", "alice+nowhere@example.org",
		      "-f", "sender@ext.example", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (!watch_wait(&w, 1, 2, 0))
		fail_msg("the watcher did not see loft deliver's message (count %u)",
			 watch_count(&w));
	pthread_mutex_lock(&w.mu);
	assert_int_equal(w.last.messages, 1);
	assert_string_equal(w.last.mailbox, "INBOX");
	pthread_mutex_unlock(&w.mu);
	store_watch_remove(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_external, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_watch_sees_loft_deliver, setup_closed,
						teardown),
	};
	return FX_RUN("store-watch", tests);
}
