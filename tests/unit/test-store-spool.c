/* Unit tests of spooled deliveries (storage/store.h "a message spooled
 * once"): one spool linked into several mailboxes of several users (one
 * inode, identical bytes, sizes), a per-recipient prefix (a copy), the
 * copy when the user's directory is on another file system, the errors
 * (unsynced spool, missing mailbox, too big, quota) leaving nothing behind,
 * the grouped sync of concurrent spools, and the cleanup of stale spools. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>

#include "storage/store-debug.h"
#include "store-fixture.h"

static bool can_mount;

static struct store_spool *spool_of(struct fx *fx, const char *text, size_t len)
{
	struct store_spool *sp = NULL;
	assert_int_equal(store_spool_create(fx->store, 0, &sp), STORE_OK);
	/* in odd pieces, as a network sink writes */
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 7 ? len - off : 7;
		assert_int_equal(store_spool_write(sp, text + off, n), STORE_OK);
		off += n;
	}
	assert_int_equal(store_spool_size(sp), len);
	return sp;
}

static uint32_t commit(struct store_append **app)
{
	struct store_append_meta meta = { 0 };
	uint32_t uid = 0;
	assert_int_equal(store_append_commit(app, &meta, &uid, NULL), STORE_OK);
	assert_null(*app);
	return uid;
}

static ino_t inode_of(struct store_mailbox *mbox, uint32_t uid)
{
	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_open(mbox, uid, &fd, &size), STORE_OK);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return st.st_ino;
}

static size_t spool_files(struct fx *fx)
{
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/.loft-spool/tmp", fx->mail_dir);
	return count_files(dir);
}

static void check_body(struct store_mailbox *mbox, uint32_t uid, const char *want, size_t len)
{
	size_t got_len;
	char *got = read_msg(mbox, uid, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* One spool, three mailboxes of two users: one file, linked. */
static void test_spool_links(void **state)
{
	struct fx *fx = *state;
	char *text = make_msg(1, 50, "\n");  /* bare LF: vsize counts CRLF */
	size_t len = strlen(text);
	size_t lfs = 0;
	for (size_t i = 0; i < len; i++)
		lfs += text[i] == '\n';
	struct store_user *bob = NULL;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Lists", 0), STORE_OK);

	struct store_spool *sp = spool_of(fx, text, len);
	struct store_append *app = NULL;
	/* not durable yet: no link */
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app),
			 STORE_EINVALID);
	assert_null(app);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	assert_int_equal(store_spool_sync(sp), STORE_OK);   /* once is enough */
	assert_int_equal(store_spool_write(sp, "x", 1), STORE_EINVALID);

	struct store_append *a1 = NULL, *a2 = NULL, *a3 = NULL;
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &a1), STORE_OK);
	assert_int_equal(store_append_begin_spool(fx->user, "Lists", sp, NULL, 0, &a2), STORE_OK);
	assert_int_equal(store_append_begin_spool(bob, "INBOX", sp, NULL, 0, &a3), STORE_OK);
	/* the content is the spool's: nothing more can be written */
	assert_int_equal(store_append_write(a1, "x", 1), STORE_EINVALID);
	uint32_t u1 = commit(&a1), u2 = commit(&a2), u3 = commit(&a3);
	store_spool_free(&sp);
	assert_null(sp);
	assert_int_equal(spool_files(fx), 0);

	struct store_mailbox *m1 = open_box(fx, "INBOX", true);
	struct store_mailbox *m2 = open_box(fx, "Lists", true);
	struct store_mailbox *m3 = NULL;
	assert_int_equal(store_mailbox_open(bob, "INBOX", true, &m3), STORE_OK);
	check_body(m1, u1, text, len);
	check_body(m2, u2, text, len);
	check_body(m3, u3, text, len);
	assert_int_equal(get_msg(m1, u1).size, len);
	assert_int_equal(get_msg(m1, u1).vsize, len + lfs);
	assert_int_equal(get_msg(m3, u3).vsize, len + lfs);
	ino_t ino = inode_of(m1, u1);
	assert_true(inode_of(m2, u2) == ino);
	assert_true(inode_of(m3, u3) == ino);
	/* every delivery has its own identity (UIDL) */
	char id1[STORE_ID_LEN + 1], id3[STORE_ID_LEN + 1];
	struct store_msg g1 = get_msg(m1, u1), g3 = get_msg(m3, u3);
	store_msg_uidl(&g1, id1);
	store_msg_uidl(&g3, id3);
	assert_string_not_equal(id1, id3);

	/* Expunging one copy leaves the others. */
	store_mailbox_close(&m1);
	m1 = open_box(fx, "INBOX", false);
	assert_int_equal(store_expunge(m1, &u1, 1, false, NULL), STORE_OK);
	check_body(m2, u2, text, len);
	check_body(m3, u3, text, len);
	store_mailbox_close(&m1);
	store_mailbox_close(&m2);
	store_mailbox_close(&m3);
	store_user_close(&bob);
	free(text);
}

/* A prefix makes a copy: prefix + spool, its own inode, no sync needed;
 * the async commit works the same. */
static void test_spool_prefix_and_async(void **state)
{
	struct fx *fx = *state;
	const char body[] = "Subject: p\r\n\r\nbody\r\n";
	const char prefix[] = "Delivered-To: alice@example.org\r\n";
	struct store_spool *sp = spool_of(fx, body, sizeof(body) - 1);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, prefix,
						  sizeof(prefix) - 1, &app), STORE_OK);
	uint32_t u1 = commit(&app);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app),
			 STORE_OK);
	uint32_t u2 = commit(&app);
	store_spool_free(&sp);

	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	char want[128];
	int n = snprintf(want, sizeof(want), "%s%s", prefix, body);
	check_body(mbox, u1, want, (size_t)n);
	check_body(mbox, u2, body, sizeof(body) - 1);
	assert_true(inode_of(mbox, u1) != inode_of(mbox, u2));
	store_mailbox_close(&mbox);
}

struct async_done {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n, err;
	uint32_t uid;
};

static void async_cb(int err, uint32_t uid, uint32_t uidvalidity, void *ctx)
{
	struct async_done *d = ctx;
	(void)uidvalidity;
	pthread_mutex_lock(&d->lock);
	d->n++;
	d->err = err;
	d->uid = uid;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void test_spool_async_commit(void **state)
{
	struct fx *fx = *state;
	const char body[] = "Subject: a\r\n\r\nasync\r\n";
	struct store_spool *sp = spool_of(fx, body, sizeof(body) - 1);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app),
			 STORE_OK);
	struct async_done d = { .lock = PTHREAD_MUTEX_INITIALIZER,
				.cond = PTHREAD_COND_INITIALIZER };
	struct store_append_meta meta = { .flags = STORE_FLAG_FLAGGED };
	store_append_commit_async(&app, &meta, async_cb, &d);
	assert_null(app);
	pthread_mutex_lock(&d.lock);
	while (d.n == 0)
		pthread_cond_wait(&d.cond, &d.lock);
	pthread_mutex_unlock(&d.lock);
	assert_int_equal(d.err, STORE_OK);
	store_spool_free(&sp);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	check_body(mbox, d.uid, body, sizeof(body) - 1);
	assert_int_equal(get_msg(mbox, d.uid).flags, STORE_FLAG_FLAGGED);
	store_mailbox_close(&mbox);
}

/* Failures leave no file anywhere: a missing mailbox, a message too big,
 * a user over quota. */
static void test_spool_errors(void **state)
{
	struct fx *fx = *state;
	fx->set.max_message_size = 100;
	fx->set.quota_messages = 1;
	fx_open(fx);
	const char body[] = "Subject: e\r\n\r\nerrors\r\n";
	struct store_spool *sp = spool_of(fx, body, sizeof(body) - 1);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin_spool(fx->user, "Nope", sp, NULL, 0, &app),
			 STORE_ENOTFOUND);
	assert_int_equal(store_append_begin_spool(fx->user, "../x", sp, NULL, 0, &app),
			 STORE_EINVALID);
	char big[100];
	memset(big, 'h', sizeof(big));
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, big, sizeof(big), &app),
			 STORE_ETOOBIG);
	assert_null(app);
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app), STORE_OK);
	commit(&app);
	/* over quota: the commit fails and the link in tmp/ goes away */
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app), STORE_OK);
	struct store_append_meta meta = { 0 };
	assert_int_equal(store_append_commit(&app, &meta, NULL, NULL), STORE_EQUOTA);
	/* an abort removes the link too */
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app), STORE_OK);
	store_append_abort(&app);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(tmp), 0);
	store_spool_free(&sp);
	assert_int_equal(spool_files(fx), 0);
	assert_int_equal(get_status(fx, "INBOX").messages, 1);

	/* headroom lets a spool pass max_message_size by that much */
	assert_int_equal(store_spool_create(fx->store, 30, &sp), STORE_OK);
	assert_int_equal(store_spool_write(sp, big, 100), STORE_OK);
	assert_int_equal(store_spool_write(sp, big, 30), STORE_OK);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, "x", 1, &app),
			 STORE_ETOOBIG);
	store_spool_free(&sp);

	/* the spool itself stops at max_message_size, and stays failed */
	assert_int_equal(store_spool_create(fx->store, 0, &sp), STORE_OK);
	assert_int_equal(store_spool_write(sp, big, 60), STORE_OK);
	assert_int_equal(store_spool_write(sp, big, 60), STORE_ETOOBIG);
	assert_int_equal(store_spool_write(sp, big, 1), STORE_ETOOBIG);
	assert_int_equal(store_spool_sync(sp), STORE_ETOOBIG);
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app),
			 STORE_ETOOBIG);
	store_spool_free(&sp);
	assert_int_equal(spool_files(fx), 0);
}

/* A user whose directory is another file system gets a copy. */
static void test_spool_copy_across_file_systems(void **state)
{
	struct fx *fx = *state;
	char bob_dir[400];
	snprintf(bob_dir, sizeof(bob_dir), "%s/bob", fx->mail_dir);
	assert_int_equal(mkdir(bob_dir, 0700), 0);
	if (!can_mount || mount("tmpfs", bob_dir, "tmpfs", 0, "size=8m,mode=0700") < 0) {
		skip();
		return;
	}
	fx_open(fx);
	struct store_user *bob = NULL;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	char *text = make_msg(7, 2000, "\r\n");   /* > one 64 KiB copy buffer */
	size_t len = strlen(text);
	struct store_spool *sp = spool_of(fx, text, len);
	assert_int_equal(store_spool_sync(sp), STORE_OK);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin_spool(bob, "INBOX", sp, NULL, 0, &app), STORE_OK);
	uint32_t ub = commit(&app);
	assert_int_equal(store_append_begin_spool(fx->user, "INBOX", sp, NULL, 0, &app), STORE_OK);
	uint32_t ua = commit(&app);
	store_spool_free(&sp);
	struct store_mailbox *mb = NULL;
	assert_int_equal(store_mailbox_open(bob, "INBOX", true, &mb), STORE_OK);
	check_body(mb, ub, text, len);
	struct store_mailbox *ma = open_box(fx, "INBOX", true);
	check_body(ma, ua, text, len);
	struct stat st;
	int fd = -1;
	uint64_t size;
	assert_int_equal(store_msg_open(ma, ua, &fd, &size), STORE_OK);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_int_equal(st.st_nlink, 1);   /* the spool is gone, bob has a copy */
	store_mailbox_close(&ma);
	store_mailbox_close(&mb);
	store_user_close(&bob);
	fx_close(fx);
	umount2(bob_dir, MNT_DETACH);
	free(text);
}

struct group_arg {
	struct fx *fx;
	unsigned idx;
	int err;
	struct store_spool *sp;
};

static void *group_thread(void *p)
{
	struct group_arg *a = p;
	char line[64];
	int n = snprintf(line, sizeof(line), "Subject: %u\r\n\r\nbody\r\n", a->idx);
	a->err = store_spool_create(a->fx->store, 0, &a->sp);
	if (a->err == 0)
		a->err = store_spool_write(a->sp, line, (size_t)n);
	if (a->err == 0)
		a->err = store_spool_sync(a->sp);
	return NULL;
}

/* Concurrent syncs in GROUP mode: every spool is covered by a round, and
 * rounds carry several spools (the counters say how many). */
static void test_spool_group_sync(void **state)
{
	struct fx *fx = *state;
	fx->set.spool_sync = STORE_SPOOL_SYNC_GROUP;
	fx_open(fx);
	enum { N = 16, ROUNDS = 8 };
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th[N];
		struct group_arg args[N];
		for (unsigned i = 0; i < N; i++) {
			args[i] = (struct group_arg){ .fx = fx, .idx = i };
			assert_int_equal(pthread_create(&th[i], NULL, group_thread, &args[i]), 0);
		}
		for (unsigned i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(args[i].err, STORE_OK);
			struct store_append *app = NULL;
			assert_int_equal(store_append_begin_spool(fx->user, "INBOX", args[i].sp,
								  NULL, 0, &app), STORE_OK);
			commit(&app);
			store_spool_free(&args[i].sp);
		}
	}
	uint64_t files = store_debug_spool_file_count(fx->store);
	uint64_t syncs = store_debug_spool_sync_count(fx->store);
	print_message("%llu spools in %llu sync rounds\n", (unsigned long long)files,
		      (unsigned long long)syncs);
	assert_int_equal(files, N * ROUNDS);
	assert_true(syncs >= 1 && syncs <= files);
	assert_int_equal(get_status(fx, "INBOX").messages, N * ROUNDS);
	assert_int_equal(spool_files(fx), 0);
}

/* Spools a crash left behind go after 36 hours, fresh ones stay. */
static void test_spool_stale_cleanup(void **state)
{
	struct fx *fx = *state;
	fx_open(fx);
	struct store_spool *sp = spool_of(fx, "x\r\n", 3);
	fx_close(fx);   /* store_destroy does not touch a spool in use */
	char dir[400], old[500], fresh[500];
	snprintf(dir, sizeof(dir), "%s/.loft-spool/tmp", fx->mail_dir);
	snprintf(old, sizeof(old), "%s/old-spool", dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh-spool", dir);
	int fd = open(old, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	struct timespec ts[2] = { { time(NULL) - 37 * 3600, 0 }, { time(NULL) - 37 * 3600, 0 } };
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	fd = open(fresh, O_WRONLY | O_CREAT, 0600);
	close(fd);
	fx_open(fx);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);
	store_spool_free(&sp);
	assert_int_equal(spool_files(fx), 1);
}

int main(void)
{
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		can_mount = true;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spool_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_prefix_and_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_async_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_errors, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_spool_copy_across_file_systems, setup_closed,
						teardown),
		cmocka_unit_test_setup_teardown(test_spool_group_sync, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_spool_stale_cleanup, setup_closed, teardown),
	};
	return FX_RUN("store-spool", tests);
}
