/* Unit tests of the mail store API (storage/store.h): every public function
 * and every error kind the API can return, the UID/MODSEQ invariants IMAP
 * sync depends on, streaming appends, quota, notification and concurrent
 * reads. Each test runs on a fresh store in its own temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "storage/store.h"

/* Set once in main() (before any thread exists): whether this process could
 * enter a private mount namespace, which lets the disk-full test mount a
 * tiny tmpfs without touching the host's mounts. */
static bool can_mount;

struct fx {
	char dir[256];          /* temporary directory of this test */
	char mail_dir[300];
	struct store_settings set;
	struct store *store;
	struct store_user *user;
};

/* ---- fixture and helpers ---- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void fx_open(struct fx *fx)
{
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
}

static void fx_close(struct fx *fx)
{
	if (fx->user != NULL)
		store_user_close(&fx->user);
	if (fx->store != NULL)
		store_destroy(&fx->store);
	assert_null(fx->user);
	assert_null(fx->store);
}

static void fx_reopen(struct fx *fx)
{
	fx_close(fx);
	fx_open(fx);
}

static struct fx *fx_new(void)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/test-store.XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->mail_dir, sizeof(fx->mail_dir), "%s/mail", fx->dir);
	assert_int_equal(mkdir(fx->mail_dir, 0700), 0);
	fx->set.mail_dir = fx->mail_dir;
	fx->set.writer_threads = 2;
	return fx;
}

static int setup(void **state)
{
	struct fx *fx = fx_new();
	fx_open(fx);
	*state = fx;
	return 0;
}

/* For tests that choose their own settings before opening. */
static int setup_closed(void **state)
{
	*state = fx_new();
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	fx_close(fx);
	umount2(fx->mail_dir, MNT_DETACH); /* only mounted by the disk-full test */
	rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* A message with a unique Message-ID and `extra` filler body lines. */
static char *make_msg(unsigned idx, size_t extra_lines, const char *eol)
{
	size_t cap = 512 + extra_lines * 80;
	char *buf = xmalloc(cap);
	int n = snprintf(buf, cap,
			 "From: a@example.org%sTo: b@example.org%sSubject: test %u%s"
			 "Message-ID: <%u.test@example.org>%s%sBody of %u%s",
			 eol, eol, idx, eol, idx, eol, eol, idx, eol);
	size_t len = (size_t)n;
	for (size_t i = 0; i < extra_lines; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"line %zu of message %u: lorem ipsum dolor sit amet%s",
					i, idx, eol);
	return buf;
}

/* Append data with meta; returns the first error of begin/write/commit. */
static int try_append(struct store_user *user, const char *mailbox, const void *data,
		      size_t len, const struct store_append_meta *meta, uint32_t *uid_r,
		      uint32_t *uidvalidity_r)
{
	struct store_append *app = NULL;
	int ret = store_append_begin(user, mailbox, &app);
	if (ret < 0)
		return ret;
	assert_non_null(app);
	ret = store_append_write(app, data, len);
	if (ret < 0) {
		store_append_abort(&app);
		assert_null(app);
		return ret;
	}
	struct store_append_meta empty = { 0 };
	ret = store_append_commit(&app, meta != NULL ? meta : &empty, uid_r, uidvalidity_r);
	assert_null(app);
	return ret;
}

static uint32_t add_flags(struct store_user *user, const char *mailbox, unsigned idx,
			  uint32_t flags)
{
	char *text = make_msg(idx, idx % 5, "\r\n");
	struct store_append_meta meta = { .flags = flags };
	uint32_t uid = 0;
	assert_int_equal(try_append(user, mailbox, text, strlen(text), &meta, &uid, NULL),
			 STORE_OK);
	assert_true(uid > 0);
	free(text);
	return uid;
}

static uint32_t add(struct store_user *user, const char *mailbox, unsigned idx)
{
	return add_flags(user, mailbox, idx, 0);
}

static struct store_mailbox *open_box(struct fx *fx, const char *name, bool ro)
{
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, name, ro, &mbox), STORE_OK);
	assert_non_null(mbox);
	return mbox;
}

/* The whole message through store_msg_open. */
static char *read_msg(struct store_mailbox *mbox, uint32_t uid, size_t *len_r)
{
	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_open(mbox, uid, &fd, &size), STORE_OK);
	assert_true(fd >= 0);
	char *buf = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	char extra;
	assert_int_equal(read(fd, &extra, 1), 0);
	close(fd);
	buf[size] = '\0';
	*len_r = size;
	return buf;
}

static struct store_status get_status(struct fx *fx, const char *name)
{
	struct store_status st;
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(store_status(fx->user, name, &st), STORE_OK);
	return st;
}

static struct store_msg get_msg(struct store_mailbox *mbox, uint32_t uid)
{
	struct store_msg msg;
	assert_int_equal(store_msg_get(mbox, uid, &msg, NULL), STORE_OK);
	assert_int_equal(msg.uid, uid);
	return msg;
}

static void set_flags(struct store_mailbox *mbox, uint32_t uid, enum store_flags_op op,
		      uint32_t flags)
{
	assert_int_equal(store_flags_update(mbox, &uid, 1, op, flags, NULL, 0, 0, NULL),
			 STORE_OK);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Whether a message carries a keyword, via store_msg_get's heap copies
 * (store_msg.keywords is only valid inside a scan callback). */
static bool has_keyword(struct store_mailbox *mbox, uint32_t uid, const char *kw)
{
	struct store_msg m;
	char **kws = NULL;
	assert_int_equal(store_msg_get(mbox, uid, &m, &kws), STORE_OK);
	bool found = false;
	for (uint16_t i = 0; i < m.n_keywords; i++)
		found = found || strcmp(kws[i], kw) == 0;
	store_strv_free(kws, m.n_keywords);
	return found;
}

/* ---- store, users, errors ---- */

static void test_strerror(void **state)
{
	(void)state;
	static const int errs[] = {
		STORE_OK, STORE_ENOTFOUND, STORE_EEXISTS, STORE_EQUOTA, STORE_EINVALID,
		STORE_EIO, STORE_ECORRUPT, STORE_EINUSE, STORE_ENOPERM,
		STORE_ETOOBIG,
	};
	const size_t n = sizeof(errs) / sizeof(errs[0]);
	for (size_t i = 0; i < n; i++) {
		const char *s = store_strerror(errs[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, store_strerror(errs[j]));
	}
	assert_non_null(store_strerror(-12345));
}

static void test_user_open(void **state)
{
	struct fx *fx = *state;
	char path[600];

	assert_string_equal(store_user_name(fx->user), "alice");
	snprintf(path, sizeof(path), "%s/alice", fx->mail_dir);
	assert_string_equal(store_user_dir(fx->user), path);
	static const char *const sub[] = { "cur", "new", "tmp" };
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/alice/%s", fx->mail_dir, sub[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}

	/* A second open of the same user shares the environment: a message
	 * appended through one handle is visible through the other. */
	struct store_user *again = NULL;
	assert_int_equal(store_user_open(fx->store, "alice", &again), STORE_OK);
	uint32_t uid = add(fx->user, "INBOX", 1);
	struct store_status st;
	assert_int_equal(store_status(again, "INBOX", &st), STORE_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.uidnext, uid + 1);
	store_user_close(&again);
	assert_null(again);

	static const char *const bad[] = { "", "a/b", ".hidden", "..", ".", "a\nb" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_user *u = NULL;
		assert_int_equal(store_user_open(fx->store, bad[i], &u), STORE_EINVALID);
		assert_null(u);
	}
	/* Nothing was created outside mail_dir. */
	assert_int_equal(count_files(fx->dir), 1);
}

/* With an LRU of one environment, users are closed and reopened as others
 * are used; their data must survive that. */
static void test_user_lru(void **state)
{
	struct fx *fx = *state;
	fx->set.index_cache_size = 1;
	fx_open(fx);
	static const char *const names[] = { "bob", "carol", "dave" };
	uint32_t uids[3];
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 3; i++) {
			struct store_user *u = NULL;
			assert_int_equal(store_user_open(fx->store, names[i], &u), STORE_OK);
			uint32_t uid = add(u, "INBOX", (unsigned)i);
			if (round == 0)
				uids[i] = uid;
			else
				assert_int_equal(uid, uids[i] + 1);
			struct store_status st;
			assert_int_equal(store_status(u, "INBOX", &st), STORE_OK);
			assert_int_equal(st.messages, (uint32_t)round + 1);
			store_user_close(&u);
		}
	}
}

/* ---- mailbox names ---- */

static void test_mailbox_invalid_names(void **state)
{
	struct fx *fx = *state;
	char long_component[300];
	char long_name[1300];
	memset(long_component, 'x', 256);
	long_component[256] = '\0';
	/* Components of 200 bytes each: within the component limit, over the
	 * 1024-byte total. */
	size_t len = 0;
	for (int i = 0; i < 6; i++) {
		if (i > 0)
			long_name[len++] = '/';
		memset(long_name + len, 'y', 200);
		len += 200;
	}
	long_name[len] = '\0';

	const char *const bad[] = {
		"", "..", ".", "a/../b", "a/./b", "../a", "a/..", "/a", "a/", "a//b", "/",
		"a\x01" "b", "a\x1f", "a\x7f", "tab\there", "new\nline",
		"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80",
		long_component, long_name,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_status st;
		struct store_mailbox *mbox = NULL;
		struct store_append *app = NULL;
		int got[] = {
			store_mailbox_create(fx->user, bad[i], 0),
			store_status(fx->user, bad[i], &st),
			store_mailbox_open(fx->user, bad[i], false, &mbox),
			store_append_begin(fx->user, bad[i], &app),
			store_mailbox_delete(fx->user, bad[i]),
			store_mailbox_rename(fx->user, "INBOX", bad[i]),
			store_subscribe(fx->user, bad[i], true),
		};
		for (size_t k = 0; k < sizeof(got) / sizeof(got[0]); k++)
			if (got[k] != STORE_EINVALID)
				fail_msg("bad name #%zu (%.20s): call %zu returned %s", i, bad[i], k,
					 store_strerror(got[k]));
		assert_null(mbox);
		assert_null(app);
	}
	/* A 255-byte component is valid by the API, but its Maildir++ directory
	 * (".", the escaped components joined by '.') can exceed NAME_MAX: the
	 * store must then refuse the name as invalid, never fail with a
	 * "temporary" I/O error that no retry can fix. */
	long_component[255] = '\0';
	int ret = store_mailbox_create(fx->user, long_component, 0);
	if (ret != STORE_OK && ret != STORE_EINVALID)
		fail_msg("255-byte component: %s (want OK or EINVALID)", store_strerror(ret));
	char deep[600];
	snprintf(deep, sizeof(deep), "%.120s/%.120s/%.20s", long_name, long_name, long_name);
	ret = store_mailbox_create(fx->user, deep, 0);
	if (ret != STORE_OK && ret != STORE_EINVALID)
		fail_msg("260-byte nested name: %s (want OK or EINVALID)", store_strerror(ret));
	/* Valid: UTF-8, '.', '%'. */
	const char *const good[] = { "v1.2", "100%", "%2E", "Ünïcödé/日本語", "a.b/c..d" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(store_mailbox_create(fx->user, good[i], 0), STORE_OK);

	/* All of them list back under their own names, and every directory
	 * stayed inside the user's directory. */
	struct store_mailbox_info *list = NULL;
	size_t count = 0;
	assert_int_equal(store_mailbox_list(fx->user, &list, &count), STORE_OK);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < count; j++)
			found = found || strcmp(list[j].name, good[i]) == 0;
		assert_true(found);
	}
	store_mailbox_list_free(list, count);
	assert_int_equal(count_files(fx->dir), 1);
	assert_int_equal(count_files(fx->mail_dir), 1);
}

static void test_mailbox_create_list_delete(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(store_mailbox_create(fx->user, "Work/2024/Q1", 0), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Work/2024/Q1", 0), STORE_EEXISTS);
	assert_int_equal(store_mailbox_create(fx->user, "Work", 0), STORE_EEXISTS);
	assert_int_equal(store_mailbox_create(fx->user, "inbox", 0), STORE_EEXISTS);
	assert_int_equal(store_mailbox_create(fx->user, "Archive", 0), STORE_OK);

	struct store_mailbox_info *list = NULL;
	size_t count = 0;
	assert_int_equal(store_mailbox_list(fx->user, &list, &count), STORE_OK);
	assert_int_equal(count, 5);
	static const char *const want[] = { "INBOX", "Archive", "Work", "Work/2024",
					    "Work/2024/Q1" };
	static const bool children[] = { false, false, true, true, false };
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(list[i].name, want[i]);
		assert_int_equal(list[i].has_children, children[i]);
		assert_false(list[i].subscribed);
		assert_int_equal(list[i].special_use, 0);
	}
	store_mailbox_list_free(list, count);

	/* INBOX is case-insensitive everywhere. */
	struct store_status st = get_status(fx, "iNbOx");
	assert_int_equal(st.messages, 0);

	assert_int_equal(store_mailbox_delete(fx->user, "Work"), STORE_EINUSE);
	assert_int_equal(store_mailbox_delete(fx->user, "Work/2024"), STORE_EINUSE);
	assert_int_equal(store_mailbox_delete(fx->user, "INBOX"), STORE_ENOPERM);
	assert_int_equal(store_mailbox_delete(fx->user, "inbox"), STORE_ENOPERM);
	assert_int_equal(store_mailbox_delete(fx->user, "Nope"), STORE_ENOTFOUND);

	add(fx->user, "Work/2024/Q1", 1);
	assert_int_equal(store_mailbox_delete(fx->user, "Work/2024/Q1"), STORE_OK);
	assert_int_equal(store_mailbox_delete(fx->user, "Work/2024"), STORE_OK);
	assert_int_equal(store_mailbox_delete(fx->user, "Work"), STORE_OK);
	assert_int_equal(store_status(fx->user, "Work", &st), STORE_ENOTFOUND);

	/* A re-created mailbox must not reuse the deleted one's UIDs under
	 * the same UIDVALIDITY. */
	assert_int_equal(store_mailbox_create(fx->user, "Work", 0), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Old", 0), STORE_OK);
	uint32_t uv_old = get_status(fx, "Old").uidvalidity;
	add(fx->user, "Old", 1);
	assert_int_equal(store_mailbox_delete(fx->user, "Old"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Old", 0), STORE_OK);
	st = get_status(fx, "Old");
	assert_true(st.uidvalidity != uv_old || st.uidnext > 1);

	assert_int_equal(store_mailbox_list(fx->user, &list, &count), STORE_OK);
	assert_int_equal(count, 4);
	store_mailbox_list_free(list, count);
}

static void test_mailbox_rename(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "A/B", 0), STORE_OK);
	uint32_t ua = add_flags(fx->user, "A", 1, STORE_FLAG_SEEN);
	uint32_t ub = add(fx->user, "A/B", 2);
	uint32_t uv_a = get_status(fx, "A").uidvalidity;

	assert_int_equal(store_mailbox_rename(fx->user, "Nope", "X"), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_create(fx->user, "Taken", 0), STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "A", "Taken"), STORE_EEXISTS);

	/* To a top-level name, and a child out of its parent to the top. */
	assert_int_equal(store_mailbox_create(fx->user, "Top", 0), STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "Top", "Top2"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Top", 0), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "P/kid", 0), STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "P/kid", "Kid"), STORE_OK);
	assert_int_equal(store_status(fx->user, "P/kid", &(struct store_status){ 0 }),
			 STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_rename(fx->user, "A", "Z/A2"), STORE_OK);
	struct store_status st;
	assert_int_equal(store_status(fx->user, "A", &st), STORE_ENOTFOUND);
	assert_int_equal(store_status(fx->user, "A/B", &st), STORE_ENOTFOUND);
	st = get_status(fx, "Z/A2");
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.uidvalidity, uv_a);
	assert_int_equal(get_status(fx, "Z/A2/B").messages, 1);
	struct store_mailbox *mbox = open_box(fx, "Z/A2", true);
	assert_int_equal(get_msg(mbox, ua).flags, STORE_FLAG_SEEN);
	size_t len;
	char *text = read_msg(mbox, ua, &len);
	assert_non_null(strstr(text, "<1.test@example.org>"));
	free(text);
	store_mailbox_close(&mbox);
	assert_null(mbox);
	mbox = open_box(fx, "Z/A2/B", true);
	text = read_msg(mbox, ub, &len);
	assert_non_null(strstr(text, "<2.test@example.org>"));
	free(text);
	store_mailbox_close(&mbox);

	/* Renaming INBOX: messages move to the new mailbox, INBOX stays and is
	 * empty; the new mailbox has a new UIDVALIDITY. */
	uint32_t i1 = add_flags(fx->user, "INBOX", 10, STORE_FLAG_FLAGGED);
	add(fx->user, "INBOX", 11);
	struct store_status inbox_before = get_status(fx, "INBOX");
	assert_int_equal(store_mailbox_rename(fx->user, "INBOX", "Saved"), STORE_OK);
	struct store_status inbox = get_status(fx, "INBOX");
	assert_int_equal(inbox.messages, 0);
	assert_int_equal(inbox.size, 0);
	assert_true(inbox.uidnext >= inbox_before.uidnext);
	struct store_status saved = get_status(fx, "Saved");
	assert_int_equal(saved.messages, 2);
	assert_int_equal(saved.size, inbox_before.size);
	assert_int_not_equal(saved.uidvalidity, inbox.uidvalidity);
	mbox = open_box(fx, "Saved", true);
	size_t n_flagged = 0;
	for (uint32_t uid = 1; uid < saved.uidnext; uid++) {
		struct store_msg m;
		if (store_msg_get(mbox, uid, &m, NULL) == STORE_OK &&
		    m.flags == STORE_FLAG_FLAGGED)
			n_flagged++;
	}
	assert_int_equal(n_flagged, 1);
	store_mailbox_close(&mbox);
	(void)i1;
	/* New mail still lands in INBOX, with a UID never used there. */
	uint32_t next = add(fx->user, "INBOX", 12);
	assert_true(next >= inbox_before.uidnext);

	/* Nothing may be renamed over INBOX. */
	int ret = store_mailbox_rename(fx->user, "Saved", "INBOX");
	assert_true(ret == STORE_ENOPERM || ret == STORE_EEXISTS);
	/* A mailbox cannot become its own child. */
	assert_int_not_equal(store_mailbox_rename(fx->user, "Z", "Z/A2/B/Z"), STORE_OK);
	assert_int_equal(get_status(fx, "Z/A2").messages, 1);
}

static void test_subscriptions(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Real", 0), STORE_OK);
	assert_int_equal(store_subscribe(fx->user, "Real", true), STORE_OK);
	assert_int_equal(store_subscribe(fx->user, "Ghost/Child", true), STORE_OK);
	assert_int_equal(store_subscribe(fx->user, "INBOX", true), STORE_OK);

	char **names = NULL;
	size_t count = 0;
	assert_int_equal(store_subscriptions(fx->user, &names, &count), STORE_OK);
	assert_int_equal(count, 3);
	bool ghost = false, real = false, inbox = false;
	for (size_t i = 0; i < count; i++) {
		ghost = ghost || strcmp(names[i], "Ghost/Child") == 0;
		real = real || strcmp(names[i], "Real") == 0;
		inbox = inbox || strcmp(names[i], "INBOX") == 0;
	}
	assert_true(ghost && real && inbox);
	store_strv_free(names, count);

	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_true(list[0].subscribed);
	assert_true(list[1].subscribed);
	store_mailbox_list_free(list, n);

	assert_int_equal(store_subscribe(fx->user, "Real", false), STORE_OK);
	assert_int_equal(store_subscribe(fx->user, "Ghost/Child", false), STORE_OK);
	/* Survives a restart. */
	fx_reopen(fx);
	assert_int_equal(store_subscriptions(fx->user, &names, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "INBOX");
	store_strv_free(names, count);
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	assert_string_equal(list[1].name, "Real");
	assert_false(list[1].subscribed);
	store_mailbox_list_free(list, n);
}

static void test_special_use(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Sent", STORE_SPECIAL_SENT), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Bin", 0), STORE_OK);
	assert_int_equal(store_mailbox_set_special_use(fx->user, "Bin", STORE_SPECIAL_TRASH),
			 STORE_OK);
	assert_int_equal(store_mailbox_set_special_use(fx->user, "Nope", STORE_SPECIAL_JUNK),
			 STORE_ENOTFOUND);
	fx_reopen(fx);
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[1].name, "Bin");
	assert_int_equal(list[1].special_use, STORE_SPECIAL_TRASH);
	assert_string_equal(list[2].name, "Sent");
	assert_int_equal(list[2].special_use, STORE_SPECIAL_SENT);
	store_mailbox_list_free(list, n);
	assert_int_equal(store_mailbox_set_special_use(fx->user, "Sent", 0), STORE_OK);
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	assert_int_equal(list[2].special_use, 0);
	store_mailbox_list_free(list, n);
}

/* ---- messages: append, read, sizes ---- */

struct collect {
	uint32_t uids[256];
	uint64_t modseqs[256];
	uint32_t flags[256];
	size_t n;
	size_t stop_after;       /* 0 = never stop */
};

static int collect_cb(const struct store_msg *msg, void *ctx)
{
	struct collect *c = ctx;
	assert_true(c->n < 256);
	assert_int_equal(msg->flags & STORE_FLAG_RECENT, 0);
	c->uids[c->n] = msg->uid;
	c->modseqs[c->n] = msg->modseq;
	c->flags[c->n] = msg->flags;
	c->n++;
	if (c->stop_after != 0 && c->n == c->stop_after)
		return 42;
	return 0;
}

/* Another session deletes (or renames) the mailbox a view has open: the
 * view's calls fail cleanly with STORE_ENOTFOUND, never touch a mailbox
 * later created under the same name, and closing still works. */
static void test_view_of_deleted_mailbox(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Doomed", 0), STORE_OK);
	uint32_t uid = add(fx->user, "Doomed", 1);
	struct store_mailbox *view = open_box(fx, "Doomed", false);
	assert_int_equal(store_mailbox_delete(fx->user, "Doomed"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Doomed", 0), STORE_OK);
	uint32_t fresh = add(fx->user, "Doomed", 2);

	struct store_msg m;
	int fd = -1;
	uint64_t size;
	struct store_status st;
	struct collect c = { 0 };
	int ret = store_msg_get(view, uid, &m, NULL);
	assert_int_equal(ret, STORE_ENOTFOUND);
	assert_int_equal(store_msg_open(view, fresh, &fd, &size), STORE_ENOTFOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(store_mailbox_status(view, &st), STORE_ENOTFOUND);
	ret = store_msg_scan(view, 1, UINT32_MAX, collect_cb, &c);
	assert_true(ret == STORE_ENOTFOUND || (ret == STORE_OK && c.n == 0));
	assert_int_equal(store_flags_update(view, &fresh, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, 0, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_expunge(view, &fresh, 1, false, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_copy(view, &fresh, 1, "INBOX", true, NULL, NULL, NULL),
			 STORE_ENOTFOUND);
	assert_int_equal(store_changes_since(view, 0, collect_cb, &c, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_msg_cache_set(view, fresh, "x", 1), STORE_ENOTFOUND);
	store_mailbox_close(&view);

	/* The new mailbox was not touched through the stale view. */
	view = open_box(fx, "Doomed", true);
	assert_int_equal(get_msg(view, fresh).flags, 0);
	store_mailbox_close(&view);
	assert_int_equal(get_status(fx, "Doomed").messages, 1);
	assert_int_equal(get_status(fx, "INBOX").messages, 0);

	/* Renamed away: the view follows nothing and fails the same way. */
	view = open_box(fx, "Doomed", false);
	assert_int_equal(store_mailbox_rename(fx->user, "Doomed", "Saved"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Doomed", 0), STORE_OK);
	ret = store_flags_update(view, &fresh, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, 0,
				 NULL);
	/* Either the view follows the renamed mailbox or it is gone; it
	 * must never act on the new "Doomed". */
	assert_true(ret == STORE_OK || ret == STORE_ENOTFOUND);
	store_mailbox_close(&view);
	assert_int_equal(get_status(fx, "Doomed").messages, 0);
	assert_int_equal(get_status(fx, "Saved").messages, 1);
}

static void test_append_streaming(void **state)
{
	struct fx *fx = *state;
	/* ~300 KB, LF-only lines, with a CR LF pair placed across a chunk
	 * boundary below. */
	size_t cap = 300 * 1024, len = 0;
	char *msg = xmalloc(cap);
	len += (size_t)snprintf(msg, cap, "Subject: stream\nMessage-ID: <s@x>\n\n");
	size_t lfs = 3;
	unsigned seed = 12345;
	while (len + 100 < cap) {
		int n = snprintf(msg + len, cap - len, "%08x streamed line\n", rand_r(&seed));
		len += (size_t)n;
		lfs++;
	}
	size_t crlf_at = len;
	memcpy(msg + len, "last\r\n", 6);
	len += 6;

	struct store_append *app = NULL;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	size_t off = 0;
	while (off < len) {
		size_t chunk = 1 + (size_t)rand_r(&seed) % 7;
		if (off < crlf_at + 4 && off + chunk > crlf_at + 4)
			chunk = crlf_at + 4 - off;     /* ends right after "last" + CR */
		if (chunk > len - off)
			chunk = len - off;
		assert_int_equal(store_append_write(app, msg + off, chunk), STORE_OK);
		off += chunk;
	}
	struct store_append_meta meta = { .internal_date = 1700000000 };
	uint32_t uid = 0, uidvalidity = 0;
	assert_int_equal(store_append_commit(&app, &meta, &uid, &uidvalidity), STORE_OK);
	assert_null(app);
	assert_int_equal(uidvalidity, get_status(fx, "INBOX").uidvalidity);

	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	size_t got_len;
	char *got = read_msg(mbox, uid, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, msg, len);
	struct store_msg m = get_msg(mbox, uid);
	assert_int_equal(m.size, len);
	assert_int_equal(m.vsize, len + lfs);
	assert_int_equal(m.internal_date, 1700000000);
	free(got);

	/* Every byte value, NUL included, comes back unchanged. */
	unsigned char bin[4096];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 131 + 7);
	size_t bin_lfs = 0;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin_lfs += bin[i] == '\n' && (i == 0 || bin[i - 1] != '\r');
	uint32_t ubin = 0;
	assert_int_equal(try_append(fx->user, "INBOX", bin, sizeof(bin), NULL, &ubin, NULL),
			 STORE_OK);
	got = read_msg(mbox, ubin, &got_len);
	assert_int_equal(got_len, sizeof(bin));
	assert_memory_equal(got, bin, sizeof(bin));
	free(got);
	assert_int_equal(get_msg(mbox, ubin).vsize, sizeof(bin) + bin_lfs);

	/* Mixed line ends, and a message committed with NULL out-params. */
	static const char mixed[] = "A: b\r\nC: d\n\nbody\r\nmore\n";
	assert_int_equal(try_append(fx->user, "INBOX", mixed, sizeof(mixed) - 1, NULL, NULL,
				    NULL), STORE_OK);
	uint32_t uid2 = get_status(fx, "INBOX").uidnext - 1;
	m = get_msg(mbox, uid2);
	assert_int_equal(m.size, sizeof(mixed) - 1);
	assert_int_equal(m.vsize, sizeof(mixed) - 1 + 3);
	/* internal_date 0 means now. */
	assert_true(llabs((long long)(m.internal_date - time(NULL))) < 60);
	store_mailbox_close(&mbox);
	free(msg);
}

static void test_append_abort(void **state)
{
	struct fx *fx = *state;
	char tmp_dir[600];
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/tmp", store_user_dir(fx->user));
	/* The target mailbox is deleted while the message is being written:
	 * the commit fails as "not found", nothing is left behind. */
	{
		struct store_append *gone = NULL;
		assert_int_equal(store_mailbox_create(fx->user, "Gone", 0), STORE_OK);
		assert_int_equal(store_append_begin(fx->user, "Gone", &gone), STORE_OK);
		assert_int_equal(store_append_write(gone, "Subject: x\r\n\r\n", 14), STORE_OK);
		assert_int_equal(store_mailbox_delete(fx->user, "Gone"), STORE_OK);
		struct store_append_meta none = { 0 };
		assert_int_equal(store_append_commit(&gone, &none, NULL, NULL), STORE_ENOTFOUND);
		assert_null(gone);
		struct store_status gst;
		assert_int_equal(store_status(fx->user, "Gone", &gst), STORE_ENOTFOUND);
		char gdir[600];
		snprintf(gdir, sizeof(gdir), "%s/.Gone", store_user_dir(fx->user));
		struct stat sb;
		assert_int_equal(stat(gdir, &sb), -1);
	}
	struct store_status before = get_status(fx, "INBOX");
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	assert_int_equal(store_append_write(app, "Subject: x\r\n\r\n", 14), STORE_OK);
	store_append_abort(&app);
	assert_null(app);
	assert_int_equal(count_files(tmp_dir), 0);
	struct store_status after = get_status(fx, "INBOX");
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(store_append_begin(fx->user, "Nope", &app), STORE_ENOTFOUND);
	assert_null(app);

	/* More keywords than a message may carry is an invalid argument. */
	char names[STORE_MAX_KEYWORDS_PER_MSG + 1][16];
	const char *kws[STORE_MAX_KEYWORDS_PER_MSG + 1];
	for (int i = 0; i <= STORE_MAX_KEYWORDS_PER_MSG; i++) {
		snprintf(names[i], sizeof(names[i]), "kw%d", i);
		kws[i] = names[i];
	}
	struct store_append_meta meta = { .keywords = kws,
					  .n_keywords = STORE_MAX_KEYWORDS_PER_MSG + 1 };
	assert_int_equal(try_append(fx->user, "INBOX", "A: b\r\n\r\n", 8, &meta, NULL, NULL),
			 STORE_EINVALID);
	assert_int_equal(count_files(tmp_dir), 0);
	assert_int_equal(get_status(fx, "INBOX").messages, 0);
	meta.n_keywords = STORE_MAX_KEYWORDS_PER_MSG;
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, "INBOX", "A: b\r\n\r\n", 8, &meta, &uid, NULL),
			 STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct store_msg m = get_msg(mbox, uid);
	assert_int_equal(m.n_keywords, STORE_MAX_KEYWORDS_PER_MSG);
	assert_true(has_keyword(mbox, uid, "kw0") && has_keyword(mbox, uid, "kw63"));
	store_mailbox_close(&mbox);
}

static void test_uids_ascending_never_reused(void **state)
{
	struct fx *fx = *state;
	uint32_t uids[8];
	for (unsigned i = 0; i < 5; i++) {
		uids[i] = add(fx->user, "INBOX", i);
		if (i > 0)
			assert_true(uids[i] > uids[i - 1]);
	}
	uint32_t uidvalidity = get_status(fx, "INBOX").uidvalidity;
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_uid_list gone = { 0 };
	assert_int_equal(store_expunge(mbox, &uids[3], 2, false, &gone), STORE_OK);
	assert_int_equal(gone.count, 2);
	assert_int_equal(gone.uids[0], uids[3]);
	assert_int_equal(gone.uids[1], uids[4]);
	store_uid_list_free(&gone);
	store_mailbox_close(&mbox);

	uids[5] = add(fx->user, "INBOX", 5);
	assert_true(uids[5] > uids[4]);
	fx_reopen(fx);
	uids[6] = add(fx->user, "INBOX", 6);
	assert_true(uids[6] > uids[5]);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.uidvalidity, uidvalidity);
	assert_int_equal(st.uidnext, uids[6] + 1);
	assert_int_equal(st.messages, 5);

	/* Expunge everything, restart twice: still no reuse. */
	mbox = open_box(fx, "INBOX", false);
	uint32_t all[] = { uids[0], uids[1], uids[2], uids[5], uids[6] };
	assert_int_equal(store_expunge(mbox, all, 5, false, NULL), STORE_OK);
	store_mailbox_close(&mbox);
	fx_reopen(fx);
	fx_reopen(fx);
	uids[7] = add(fx->user, "INBOX", 7);
	assert_true(uids[7] > uids[6]);
	assert_int_equal(get_status(fx, "INBOX").uidvalidity, uidvalidity);
}

static void test_status_counters(void **state)
{
	struct fx *fx = *state;
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.unseen, 0);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.recent, 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(st.uidnext, 1);
	assert_true(st.uidvalidity != 0);
	uint64_t hms = st.highestmodseq;

	uint32_t a = add_flags(fx->user, "INBOX", 1, 0);
	uint32_t b = add_flags(fx->user, "INBOX", 2, STORE_FLAG_SEEN);
	uint32_t c = add_flags(fx->user, "INBOX", 3, STORE_FLAG_DELETED);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint64_t sa = get_msg(mbox, a).size, sb = get_msg(mbox, b).size,
		 sc = get_msg(mbox, c).size;
	st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.unseen, 2);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.size, sa + sb + sc);
	assert_int_equal(st.uidnext, c + 1);
	assert_true(st.highestmodseq > hms);
	assert_int_equal(st.recent, 0);

	/* The view's status agrees (and reports its own recent). */
	struct store_status vs;
	assert_int_equal(store_mailbox_status(mbox, &vs), STORE_OK);
	assert_int_equal(vs.messages, 3);
	assert_int_equal(vs.unseen, 2);
	assert_int_equal(vs.deleted, 1);
	assert_int_equal(vs.size, st.size);
	assert_int_equal(vs.uidnext, st.uidnext);
	assert_int_equal(vs.uidvalidity, st.uidvalidity);
	assert_int_equal(vs.highestmodseq, st.highestmodseq);
	assert_int_equal(vs.recent, 3);

	set_flags(mbox, a, STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	st = get_status(fx, "INBOX");
	assert_int_equal(st.unseen, 1);
	set_flags(mbox, b, STORE_FLAGS_ADD, STORE_FLAG_DELETED);
	assert_int_equal(get_status(fx, "INBOX").deleted, 2);
	set_flags(mbox, b, STORE_FLAGS_REMOVE, STORE_FLAG_SEEN);
	st = get_status(fx, "INBOX");
	assert_int_equal(st.unseen, 2);
	set_flags(mbox, c, STORE_FLAGS_SET, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED);
	st = get_status(fx, "INBOX");
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.messages, 3);

	/* Expunge only \Deleted: b goes. */
	uint32_t all[] = { a, b, c, c + 100 };
	struct store_uid_list gone = { 0 };
	assert_int_equal(store_expunge(mbox, all, 4, true, &gone), STORE_OK);
	assert_int_equal(gone.count, 1);
	assert_int_equal(gone.uids[0], b);
	store_uid_list_free(&gone);
	st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 0);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.size, sa + sc);

	/* Copy and move update both sides. */
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	set_flags(mbox, a, STORE_FLAGS_SET, 0);
	assert_int_equal(store_copy(mbox, &a, 1, "Other", false, NULL, NULL, NULL), STORE_OK);
	struct store_status other = get_status(fx, "Other");
	assert_int_equal(other.messages, 1);
	assert_int_equal(other.unseen, 1);
	assert_int_equal(other.size, sa);
	assert_int_equal(get_status(fx, "INBOX").messages, 2);
	assert_int_equal(store_copy(mbox, &c, 1, "Other", true, NULL, NULL, NULL), STORE_OK);
	other = get_status(fx, "Other");
	assert_int_equal(other.messages, 2);
	assert_int_equal(other.unseen, 1);
	assert_int_equal(other.size, sa + sc);
	st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.size, sa);
	store_mailbox_close(&mbox);

	/* Counters survive a restart exactly. */
	fx_reopen(fx);
	struct store_status again = get_status(fx, "INBOX");
	assert_int_equal(again.messages, st.messages);
	assert_int_equal(again.unseen, st.unseen);
	assert_int_equal(again.size, st.size);
	assert_int_equal(again.highestmodseq, st.highestmodseq);
	assert_int_equal(store_status(fx->user, "Nope", &st), STORE_ENOTFOUND);
}

static void test_modseq(void **state)
{
	struct fx *fx = *state;
	uint32_t u1 = add(fx->user, "INBOX", 1);
	uint32_t u2 = add(fx->user, "INBOX", 2);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint64_t other = get_msg(mbox, u2).modseq;
	uint64_t prev = get_msg(mbox, u1).modseq;
	uint64_t hms = get_status(fx, "INBOX").highestmodseq;
	assert_true(prev > 0 && prev <= hms && other <= hms);

	static const char *const work[] = { "$Work" };
	static const char *const xy[] = { "x", "y" };
	struct {
		enum store_flags_op op;
		uint32_t flags;
		const char *const *kw;
		size_t n_kw;
		uint32_t want_flags;
		const char *want_kw;    /* must be present */
		const char *gone_kw;    /* must be absent */
	} steps[] = {
		{ STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, STORE_FLAG_SEEN, NULL, NULL },
		{ STORE_FLAGS_ADD, 0, work, 1, STORE_FLAG_SEEN, "$Work", NULL },
		{ STORE_FLAGS_REMOVE, STORE_FLAG_SEEN, NULL, 0, 0, "$Work", NULL },
		{ STORE_FLAGS_SET, STORE_FLAG_FLAGGED, xy, 2, STORE_FLAG_FLAGGED, "y", "$Work" },
		{ STORE_FLAGS_REMOVE, 0, xy, 1, STORE_FLAG_FLAGGED, "y", "x" },
		{ STORE_FLAGS_ADD, STORE_FLAG_DRAFT | STORE_FLAG_ANSWERED, NULL, 0,
		  STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT | STORE_FLAG_ANSWERED, "y", NULL },
		{ STORE_FLAGS_SET, 0, NULL, 0, 0, NULL, "y" },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(store_flags_update(mbox, &u1, 1, steps[i].op, steps[i].flags,
						    steps[i].kw, steps[i].n_kw, 0, NULL),
				 STORE_OK);
		char **kws = NULL;
		struct store_msg m;
		assert_int_equal(store_msg_get(mbox, u1, &m, &kws), STORE_OK);
		assert_int_equal(m.flags, steps[i].want_flags);
		assert_true(m.modseq > prev);
		uint64_t now_hms = get_status(fx, "INBOX").highestmodseq;
		assert_true(now_hms > hms);
		assert_int_equal(m.modseq, now_hms);
		if (steps[i].want_kw != NULL) {
			assert_true(has_keyword(mbox, u1, steps[i].want_kw));
		}
		if (steps[i].gone_kw != NULL)
			assert_false(has_keyword(mbox, u1, steps[i].gone_kw));
		if (kws != NULL)
			store_strv_free(kws, m.n_keywords);
		prev = m.modseq;
		hms = now_hms;
		assert_int_equal(get_msg(mbox, u2).modseq, other);
	}

	/* A batch: every changed message gets a MODSEQ above the old high. */
	uint32_t both[] = { u1, u2 };
	assert_int_equal(store_flags_update(mbox, both, 2, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, 0, NULL), STORE_OK);
	assert_true(get_msg(mbox, u1).modseq > hms);
	assert_true(get_msg(mbox, u2).modseq > hms);
	uint64_t hms2 = get_status(fx, "INBOX").highestmodseq;
	assert_true(hms2 > hms);
	/* Expunge bumps HIGHESTMODSEQ as well (a tombstone MODSEQ). */
	assert_int_equal(store_expunge(mbox, &u2, 1, false, NULL), STORE_OK);
	assert_true(get_status(fx, "INBOX").highestmodseq > hms2);
	/* Updating an expunged UID is skipped, not an error. */
	assert_int_equal(store_flags_update(mbox, &u2, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, 0, NULL), STORE_OK);
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, u2, &m, NULL), STORE_ENOTFOUND);
	store_mailbox_close(&mbox);
}

static void test_changes_since(void **state)
{
	struct fx *fx = *state;
	uint32_t u[7];
	for (unsigned i = 1; i <= 6; i++)
		u[i] = add(fx->user, "INBOX", i);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint64_t since = get_status(fx, "INBOX").highestmodseq;

	set_flags(mbox, u[2], STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	set_flags(mbox, u[5], STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	set_flags(mbox, u[4], STORE_FLAGS_ADD, STORE_FLAG_FLAGGED);
	set_flags(mbox, u[5], STORE_FLAGS_ADD, STORE_FLAG_ANSWERED);
	set_flags(mbox, u[3], STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	assert_int_equal(store_expunge(mbox, &u[3], 1, false, NULL), STORE_OK);
	assert_int_equal(store_expunge(mbox, &u[6], 1, false, NULL), STORE_OK);
	uint32_t u7 = add(fx->user, "INBOX", 7);

	struct collect c = { 0 };
	struct store_uid_list vanished = { 0 };
	assert_int_equal(store_changes_since(mbox, since, collect_cb, &c, &vanished), STORE_OK);
	/* MODSEQ order: u2, u4, u5 (its last change), u7. */
	assert_int_equal(c.n, 4);
	assert_int_equal(c.uids[0], u[2]);
	assert_int_equal(c.uids[1], u[4]);
	assert_int_equal(c.uids[2], u[5]);
	assert_int_equal(c.uids[3], u7);
	assert_int_equal(c.flags[2], STORE_FLAG_SEEN | STORE_FLAG_ANSWERED);
	for (size_t i = 0; i < c.n; i++) {
		assert_true(c.modseqs[i] > since);
		if (i > 0)
			assert_true(c.modseqs[i] > c.modseqs[i - 1]);
	}
	assert_int_equal(vanished.count, 2);
	assert_int_equal(vanished.uids[0], u[3]);
	assert_int_equal(vanished.uids[1], u[6]);
	store_uid_list_free(&vanished);
	assert_null(vanished.uids);

	/* Since 0: every live message once; all tombstones. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes_since(mbox, 0, collect_cb, &c, &vanished), STORE_OK);
	assert_int_equal(c.n, 5);
	assert_int_equal(vanished.count, 2);
	store_uid_list_free(&vanished);

	/* Since the current HIGHESTMODSEQ: nothing. */
	memset(&c, 0, sizeof(c));
	uint64_t now = get_status(fx, "INBOX").highestmodseq;
	assert_int_equal(store_changes_since(mbox, now, collect_cb, &c, &vanished), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(vanished.count, 0);
	store_uid_list_free(&vanished);

	/* A non-zero callback return stops the walk and is returned; a NULL
	 * vanished list is allowed. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_changes_since(mbox, since, collect_cb, &c, NULL), 42);
	assert_int_equal(c.n, 2);

	/* The same answer after a restart. */
	store_mailbox_close(&mbox);
	fx_reopen(fx);
	mbox = open_box(fx, "INBOX", true);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_changes_since(mbox, since, collect_cb, &c, &vanished), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(vanished.count, 2);
	store_uid_list_free(&vanished);
	store_mailbox_close(&mbox);
}

static void test_unchangedsince(void **state)
{
	struct fx *fx = *state;
	uint32_t u1 = add(fx->user, "INBOX", 1);
	uint32_t u2 = add(fx->user, "INBOX", 2);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint64_t m1 = get_msg(mbox, u1).modseq;
	uint64_t m2 = get_msg(mbox, u2).modseq;
	uint64_t at = m1 > m2 ? m1 : m2;

	/* Unchanged since its own MODSEQ: applies. */
	struct store_uid_list failed = { 0 };
	assert_int_equal(store_flags_update(mbox, &u1, 1, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED,
					    NULL, 0, m1, &failed), STORE_OK);
	assert_int_equal(failed.count, 0);
	store_uid_list_free(&failed);
	assert_true(get_msg(mbox, u1).modseq > at);

	/* Now u1 changed after `at`: it fails, u2 is updated, the call is OK. */
	uint32_t both[] = { u1, u2 };
	assert_int_equal(store_flags_update(mbox, both, 2, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, at, &failed), STORE_OK);
	assert_int_equal(failed.count, 1);
	assert_int_equal(failed.uids[0], u1);
	store_uid_list_free(&failed);
	assert_int_equal(get_msg(mbox, u1).flags, STORE_FLAG_FLAGGED);
	assert_int_equal(get_msg(mbox, u2).flags, STORE_FLAG_SEEN);

	/* Without a failed list the failure is silent but still applies. */
	uint64_t before = get_msg(mbox, u1).modseq;
	assert_int_equal(store_flags_update(mbox, &u1, 1, STORE_FLAGS_SET, 0, NULL, 0, 1, NULL),
			 STORE_OK);
	assert_int_equal(get_msg(mbox, u1).flags, STORE_FLAG_FLAGGED);
	assert_int_equal(get_msg(mbox, u1).modseq, before);
	store_mailbox_close(&mbox);
}

static void test_scan_get_open(void **state)
{
	struct fx *fx = *state;
	uint32_t u[6];
	for (unsigned i = 1; i <= 5; i++)
		u[i] = add_flags(fx->user, "INBOX", i, i % 2 ? STORE_FLAG_SEEN : 0);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_expunge(mbox, &u[3], 1, false, NULL), STORE_OK);

	struct collect c = { 0 };
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.uids[0], u[1]);
	assert_int_equal(c.uids[1], u[2]);
	assert_int_equal(c.uids[2], u[4]);
	assert_int_equal(c.uids[3], u[5]);
	assert_int_equal(c.flags[0], STORE_FLAG_SEEN);
	assert_int_equal(c.flags[1], 0);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_msg_scan(mbox, u[2], u[4], collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_msg_scan(mbox, u[5] + 1, UINT32_MAX, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 0);
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, collect_cb, &c), 42);
	assert_int_equal(c.n, 1);

	struct store_msg m;
	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_get(mbox, u[3], &m, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_msg_open(mbox, u[3], &fd, &size), STORE_ENOTFOUND);
	assert_int_equal(store_msg_open(mbox, u[5] + 10, &fd, &size), STORE_ENOTFOUND);
	assert_int_equal(fd, -1);

	/* An open fd keeps working after the message is expunged. */
	assert_int_equal(store_msg_open(mbox, u[1], &fd, &size), STORE_OK);
	assert_int_equal(store_expunge(mbox, &u[1], 1, false, NULL), STORE_OK);
	char *buf = xmalloc(size);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	assert_memory_equal(buf, "From: a@example.org\r\n", 21);
	close(fd);
	free(buf);
	store_mailbox_close(&mbox);

	struct store_mailbox *none = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "Nope", false, &none), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_open(fx->user, "Nope", true, &none), STORE_ENOTFOUND);
	assert_null(none);
}

static void test_copy_move(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Dst", 0), STORE_OK);
	static const char *const kw[] = { "$Label1", "Projekt" };
	struct store_append_meta meta = { .flags = STORE_FLAG_SEEN | STORE_FLAG_ANSWERED,
					  .keywords = kw, .n_keywords = 2,
					  .internal_date = 1000000000 };
	char *t1 = make_msg(1, 20, "\n");
	char *t2 = make_msg(2, 3, "\r\n");
	uint32_t u1 = 0, u2 = 0;
	assert_int_equal(try_append(fx->user, "INBOX", t1, strlen(t1), &meta, &u1, NULL),
			 STORE_OK);
	meta.flags = STORE_FLAG_FLAGGED;
	meta.n_keywords = 0;
	meta.internal_date = 1200000000;
	assert_int_equal(try_append(fx->user, "INBOX", t2, strlen(t2), &meta, &u2, NULL),
			 STORE_OK);
	add(fx->user, "Dst", 99); /* Dst's UIDs start later than INBOX's */

	struct store_mailbox *src = open_box(fx, "INBOX", false);
	uint32_t uids[] = { u1, u2, u2 + 50 };
	struct store_uid_list s = { 0 }, d = { 0 };
	uint32_t uv = 0;
	assert_int_equal(store_copy(src, uids, 3, "Dst", false, &s, &d, &uv), STORE_OK);
	assert_int_equal(uv, get_status(fx, "Dst").uidvalidity);
	assert_int_equal(s.count, 2);
	assert_int_equal(d.count, 2);
	assert_int_equal(s.uids[0], u1);
	assert_int_equal(s.uids[1], u2);
	assert_true(d.uids[0] < d.uids[1]);
	struct store_mailbox *dst = open_box(fx, "Dst", true);
	for (size_t i = 0; i < 2; i++) {
		char **kws = NULL;
		struct store_msg a, b;
		assert_int_equal(store_msg_get(src, s.uids[i], &a, NULL), STORE_OK);
		assert_int_equal(store_msg_get(dst, d.uids[i], &b, &kws), STORE_OK);
		assert_int_equal(a.flags, b.flags);
		assert_int_equal(a.internal_date, b.internal_date);
		assert_int_equal(a.size, b.size);
		assert_int_equal(a.vsize, b.vsize);
		assert_int_equal(a.n_keywords, b.n_keywords);
		for (uint16_t k = 0; k < a.n_keywords; k++)
			assert_true(has_keyword(dst, d.uids[i], kw[k]));
		if (kws != NULL)
			store_strv_free(kws, b.n_keywords);
		size_t la, lb;
		char *ba = read_msg(src, s.uids[i], &la), *bb = read_msg(dst, d.uids[i], &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(ba, bb, la);
		free(ba);
		free(bb);
	}
	assert_int_equal(get_msg(dst, d.uids[0]).internal_date, 1000000000);
	store_uid_list_free(&s);
	store_uid_list_free(&d);
	assert_int_equal(store_copy(src, uids, 2, "Nope", false, NULL, NULL, NULL),
			 STORE_ENOTFOUND);
	assert_int_equal(store_copy(src, uids, 2, "bad//name", false, NULL, NULL, NULL),
			 STORE_EINVALID);

	/* Copy into the same mailbox: a second message with a new UID. */
	assert_int_equal(store_copy(src, &u2, 1, "INBOX", false, &s, &d, &uv), STORE_OK);
	assert_int_equal(d.count, 1);
	assert_true(d.uids[0] > u2);
	assert_int_equal(get_msg(src, d.uids[0]).flags, STORE_FLAG_FLAGGED);
	assert_int_equal(get_msg(src, u2).flags, STORE_FLAG_FLAGGED);
	assert_int_equal(store_expunge(src, d.uids, 1, false, NULL), STORE_OK);
	store_uid_list_free(&s);
	store_uid_list_free(&d);
	/* Empty UID lists are no-ops. */
	assert_int_equal(store_copy(src, uids, 0, "Dst", false, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_flags_update(src, uids, 0, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL,
					    0, 0, NULL), STORE_OK);
	assert_int_equal(store_expunge(src, uids, 0, false, NULL), STORE_OK);
	assert_int_equal(get_status(fx, "Dst").messages, 3);

	/* Move: gone from the source (a tombstone), present in the target. */
	uint64_t since = get_status(fx, "INBOX").highestmodseq;
	assert_int_equal(store_copy(src, &u1, 1, "Dst", true, &s, &d, &uv), STORE_OK);
	assert_int_equal(s.count, 1);
	assert_int_equal(d.count, 1);
	struct store_msg m;
	assert_int_equal(store_msg_get(src, u1, &m, NULL), STORE_ENOTFOUND);
	m = get_msg(dst, d.uids[0]);
	assert_int_equal(m.flags, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED);
	assert_true(has_keyword(dst, d.uids[0], "$Label1") && has_keyword(dst, d.uids[0], "Projekt"));
	assert_int_equal(m.internal_date, 1000000000);
	struct store_uid_list vanished = { 0 };
	struct collect c = { 0 };
	assert_int_equal(store_changes_since(src, since, collect_cb, &c, &vanished), STORE_OK);
	assert_int_equal(vanished.count, 1);
	assert_int_equal(vanished.uids[0], u1);
	store_uid_list_free(&vanished);
	store_uid_list_free(&s);
	store_uid_list_free(&d);
	assert_int_equal(get_status(fx, "INBOX").messages, 1);
	assert_int_equal(get_status(fx, "Dst").messages, 4);
	store_mailbox_close(&src);
	store_mailbox_close(&dst);
	free(t1);
	free(t2);
}

static void test_recent(void **state)
{
	struct fx *fx = *state;
	uint32_t u[6];
	for (unsigned i = 1; i <= 3; i++)
		u[i] = add(fx->user, "INBOX", i);
	assert_int_equal(get_status(fx, "INBOX").recent, 0);

	struct store_mailbox *v1 = open_box(fx, "INBOX", false);
	size_t n = 0;
	const uint32_t *r = store_mailbox_recent(v1, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r[i], u[i + 1]);
	struct store_status vs;
	assert_int_equal(store_mailbox_status(v1, &vs), STORE_OK);
	assert_int_equal(vs.recent, 3);
	assert_int_equal(get_msg(v1, u[1]).flags & STORE_FLAG_RECENT, 0);

	struct store_mailbox *v2 = open_box(fx, "INBOX", false);
	store_mailbox_recent(v2, &n);
	assert_int_equal(n, 0);
	assert_int_equal(store_mailbox_status(v2, &vs), STORE_OK);
	assert_int_equal(vs.recent, 0);

	u[4] = add(fx->user, "INBOX", 4);
	u[5] = add(fx->user, "INBOX", 5);
	struct store_mailbox *ro = open_box(fx, "INBOX", true);
	store_mailbox_recent(ro, &n);
	assert_int_equal(n, 0);
	struct store_mailbox *ro2 = open_box(fx, "INBOX", true);
	store_mailbox_recent(ro2, &n);
	assert_int_equal(n, 0);
	struct store_mailbox *v3 = open_box(fx, "INBOX", false);
	r = store_mailbox_recent(v3, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r[0], u[4]);
	assert_int_equal(r[1], u[5]);
	store_mailbox_close(&v1);
	store_mailbox_close(&v2);
	store_mailbox_close(&ro);
	store_mailbox_close(&ro2);
	store_mailbox_close(&v3);
	/* Claims are durable. */
	fx_reopen(fx);
	v1 = open_box(fx, "INBOX", false);
	store_mailbox_recent(v1, &n);
	assert_int_equal(n, 0);
	store_mailbox_close(&v1);
}

static void test_cache(void **state)
{
	struct fx *fx = *state;
	uint32_t uid = add(fx->user, "INBOX", 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	void *data = NULL;
	size_t len = 0;
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_ENOTFOUND);
	assert_int_equal(store_msg_cache_set(mbox, uid, "abc", 3), STORE_OK);
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);

	size_t big_len = 100 * 1024;
	unsigned char *big = xmalloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(store_msg_cache_set(mbox, uid, big, big_len), STORE_OK);
	store_mailbox_close(&mbox);
	fx_reopen(fx);
	mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_int_equal(len, big_len);
	assert_memory_equal(data, big, big_len);
	free(data);
	free(big);

	assert_int_equal(store_msg_cache_set(mbox, uid + 1, "x", 1), STORE_ENOTFOUND);
	assert_int_equal(store_msg_cache_get(mbox, uid + 1, &data, &len), STORE_ENOTFOUND);
	assert_int_equal(store_expunge(mbox, &uid, 1, false, NULL), STORE_OK);
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_ENOTFOUND);
	store_mailbox_close(&mbox);
}

/* ---- limits: quota, size, I/O failures ---- */

static void test_quota_bytes(void **state)
{
	struct fx *fx = *state;
	char *t = make_msg(1, 10, "\r\n");
	size_t len = strlen(t);
	assert_int_equal(store_user_set_quota(fx->user, 3 * len + len / 2, UINT64_MAX), STORE_OK);
	struct store_quota q;
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.bytes_limit, 3 * len + len / 2);
	assert_int_equal(q.messages_limit, 0);
	assert_int_equal(q.bytes_used, 0);
	assert_int_equal(q.messages_used, 0);

	uint32_t uids[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(try_append(fx->user, "INBOX", t, len, NULL, &uids[i], NULL),
				 STORE_OK);
	assert_int_equal(try_append(fx->user, "INBOX", t, len, NULL, NULL, NULL), STORE_EQUOTA);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 0);
	snprintf(dir, sizeof(dir), "%s/cur", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 3);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.bytes_used, 3 * len);
	assert_int_equal(q.messages_used, 3);
	assert_int_equal(get_status(fx, "INBOX").messages, 3);

	/* Copies count too; quota spans all mailboxes. */
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_copy(mbox, uids, 1, "Other", false, NULL, NULL, NULL),
			 STORE_EQUOTA);
	assert_int_equal(get_status(fx, "Other").messages, 0);
	/* A move does not grow usage. */
	assert_int_equal(store_copy(mbox, uids, 1, "Other", true, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(try_append(fx->user, "Other", t, len, NULL, NULL, NULL), STORE_EQUOTA);
	/* Expunging frees room. */
	assert_int_equal(store_expunge(mbox, &uids[1], 1, false, NULL), STORE_OK);
	assert_int_equal(try_append(fx->user, "Other", t, len, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.messages_used, 3);
	/* Deleting a mailbox releases what its messages used. */
	assert_int_equal(store_mailbox_delete(fx->user, "Other"), STORE_OK);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.messages_used, 1);
	assert_int_equal(q.bytes_used, len);
	assert_int_equal(try_append(fx->user, "INBOX", t, len, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(try_append(fx->user, "INBOX", t, len, NULL, NULL, NULL), STORE_OK);
	/* Unlimited override. */
	assert_int_equal(store_user_set_quota(fx->user, UINT64_MAX, UINT64_MAX), STORE_OK);
	assert_int_equal(try_append(fx->user, "INBOX", t, len, NULL, NULL, NULL), STORE_OK);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.bytes_limit, 0);
	assert_int_equal(q.messages_used, 4);
	assert_int_equal(q.bytes_used, 4 * len);
	store_mailbox_close(&mbox);
	free(t);
}

static void test_quota_messages(void **state)
{
	struct fx *fx = *state;
	fx->set.quota_messages = 2;
	fx_open(fx);
	struct store_quota q;
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.messages_limit, 2);
	assert_int_equal(q.bytes_limit, 0);
	add(fx->user, "INBOX", 1);
	add(fx->user, "INBOX", 2);
	assert_int_equal(try_append(fx->user, "INBOX", "A: b\r\n\r\n", 8, NULL, NULL, NULL),
			 STORE_EQUOTA);
	/* A per-user override wins over the default, 0 returns to it. */
	assert_int_equal(store_user_set_quota(fx->user, 0, 3), STORE_OK);
	add(fx->user, "INBOX", 3);
	assert_int_equal(try_append(fx->user, "INBOX", "A: b\r\n\r\n", 8, NULL, NULL, NULL),
			 STORE_EQUOTA);
	/* The override is durable. */
	fx_reopen(fx);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.messages_limit, 3);
	assert_int_equal(q.messages_used, 3);
	assert_int_equal(store_user_set_quota(fx->user, 0, 0), STORE_OK);
	assert_int_equal(store_quota_get(fx->user, &q), STORE_OK);
	assert_int_equal(q.messages_limit, 2);
	assert_int_equal(get_status(fx, "INBOX").messages, 3);
}

static void test_too_big(void **state)
{
	struct fx *fx = *state;
	fx->set.max_message_size = 1000;
	fx_open(fx);
	char buf[1001];
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "A: b\r\n\r\n", 8);
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, "INBOX", buf, 1000, NULL, &uid, NULL), STORE_OK);

	struct store_append *app = NULL;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	assert_int_equal(store_append_write(app, buf, 600), STORE_OK);
	assert_int_equal(store_append_write(app, buf, 400), STORE_OK);
	assert_int_equal(store_append_write(app, buf, 1), STORE_ETOOBIG);
	store_append_abort(&app);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(get_status(fx, "INBOX").messages, 1);
}

/* STORE_EIO from a full LMDB map: a clean temporary error, the store keeps
 * working for smaller changes and nothing half-written is visible. */
static void test_eio_map_full(void **state)
{
	struct fx *fx = *state;
	fx->set.lmdb_map_size = 1024 * 1024;
	fx_open(fx);
	uint32_t uid = add(fx->user, "INBOX", 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	size_t big_len = 2 * 1024 * 1024;
	char *big = xcalloc(1, big_len);
	assert_int_equal(store_msg_cache_set(mbox, uid, big, big_len), STORE_EIO);
	free(big);
	void *data;
	size_t len;
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_ENOTFOUND);

	/* Fill the map with cache blobs until it is full, then an append must
	 * fail cleanly too. */
	int ret = STORE_OK;
	char *blob = xcalloc(1, 64 * 1024);
	uint32_t last = uid;
	for (unsigned i = 2; i < 64 && ret == STORE_OK; i++) {
		char *t = make_msg(i, 0, "\r\n");
		ret = try_append(fx->user, "INBOX", t, strlen(t), NULL, &last, NULL);
		free(t);
		if (ret == STORE_OK)
			ret = store_msg_cache_set(mbox, last, blob, 64 * 1024);
	}
	free(blob);
	assert_int_equal(ret, STORE_EIO);
	/* Appends need little index space: keep appending until one fails;
	 * the failed one must leave nothing behind. */
	struct store_status before;
	ret = STORE_OK;
	for (unsigned i = 1000; i < 20000 && ret == STORE_OK; i++) {
		before = get_status(fx, "INBOX");
		char *t = make_msg(i, 20, "\r\n");
		ret = try_append(fx->user, "INBOX", t, strlen(t), NULL, NULL, NULL);
		free(t);
	}
	assert_int_equal(ret, STORE_EIO);
	struct store_status after = get_status(fx, "INBOX");
	assert_int_equal(after.messages, before.messages);
	assert_int_equal(after.uidnext, before.uidnext);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 0);
	snprintf(dir, sizeof(dir), "%s/cur", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), after.messages);
	store_mailbox_close(&mbox);
	fx_close(fx);

	/* The index is still consistent. */
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	struct store_check_report rep = { 0 };
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
}

/* STORE_EIO from a failing write(2): the file size limit makes writes fail
 * with EFBIG (SIGXFSZ ignored), without any privileges. */
static void test_eio_write(void **state)
{
	struct fx *fx = *state;
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	char *buf = xcalloc(1, 128 * 1024);
	int ret = store_append_write(app, buf, 128 * 1024);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_sig);
	free(buf);
	assert_int_equal(ret, STORE_EIO);
	store_append_abort(&app);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(get_status(fx, "INBOX").messages, 0);
	add(fx->user, "INBOX", 1);
}

/* STORE_EIO from a full file system: a 1 MiB tmpfs in a private mount
 * namespace (skipped where mounting is not permitted). */
static void test_eio_disk_full(void **state)
{
	struct fx *fx = *state;
	if (!can_mount || mount("tmpfs", fx->mail_dir, "tmpfs", 0, "size=1m,mode=0700") < 0) {
		skip();
		return;
	}
	fx->set.lmdb_map_size = 64 * 1024 * 1024;
	fx_open(fx);
	int ret = STORE_OK;
	unsigned i;
	uint32_t first = 0, uid = 0;
	for (i = 0; i < 200 && ret == STORE_OK; i++) {
		char *t = make_msg(i, 300, "\r\n"); /* ~20 KB */
		ret = try_append(fx->user, "INBOX", t, strlen(t), NULL, &uid, NULL);
		if (i == 0)
			first = uid;
		free(t);
	}
	assert_int_equal(ret, STORE_EIO);
	assert_true(i > 3);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, i - 1);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tmp", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), 0);
	snprintf(dir, sizeof(dir), "%s/cur", store_user_dir(fx->user));
	assert_int_equal(count_files(dir), st.messages);

	/* Making room makes the store usable again. */
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint32_t some[] = { first, first + 1, first + 2 };
	assert_int_equal(store_expunge(mbox, some, 3, false, NULL), STORE_OK);
	store_mailbox_close(&mbox);
	add(fx->user, "INBOX", 999);
	fx_close(fx);
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	struct store_check_report rep = { 0 };
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t k = 0; k < rep.n_lines; k++)
		print_message("problem: %s\n", rep.lines[k]);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
}

/* A damaged LMDB file is reported as STORE_ECORRUPT; a rebuild from the
 * Maildir brings the messages back under their UIDs. */
static void test_corrupt_index(void **state)
{
	struct fx *fx = *state;
	uint32_t u1 = add_flags(fx->user, "INBOX", 1, STORE_FLAG_SEEN);
	uint32_t u2 = add(fx->user, "INBOX", 2);
	uint32_t uv = get_status(fx, "INBOX").uidvalidity;
	char path[700];
	snprintf(path, sizeof(path), "%s/index/data.mdb", store_user_dir(fx->user));
	fx_close(fx);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	char junk[16384];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);

	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_ECORRUPT);
	assert_null(fx->user);
	assert_int_equal(store_index_rebuild(fx->store, "alice", NULL, NULL), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidvalidity, uv);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	assert_int_equal(get_msg(mbox, u1).flags, STORE_FLAG_SEEN);
	assert_int_equal(get_msg(mbox, u2).flags, 0);
	store_mailbox_close(&mbox);
	assert_true(add(fx->user, "INBOX", 3) > u2);
}

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

struct append_thread {
	struct store_user *user;
	const char *mailbox;
	unsigned n;
	unsigned base;
	atomic_bool stop;
	uint32_t last_uid;
	int error;
};

static void *append_thread_main(void *arg)
{
	struct append_thread *t = arg;
	for (unsigned i = 0; (t->n == 0 || i < t->n) && !t->stop; i++) {
		char *text = make_msg(t->base + i, 2, "\r\n");
		int ret = try_append(t->user, t->mailbox, text, strlen(text), NULL, &t->last_uid,
				     NULL);
		free(text);
		if (ret != STORE_OK) {
			t->error = ret;
			break;
		}
	}
	return NULL;
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

/* ---- maintenance: check, rebuild, external changes ---- */

struct progress_rec { size_t calls, last_done, last_total; bool monotonic; };

static void progress_cb(size_t done, size_t total, void *ctx)
{
	struct progress_rec *p = ctx;
	if (p->calls > 0 && done < p->last_done)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_check_rebuild(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Work/Sub", 0), STORE_OK);
	static const char *const kw[] = { "$Label2" };
	struct store_append_meta meta = { .flags = STORE_FLAG_ANSWERED, .keywords = kw,
					  .n_keywords = 1, .internal_date = 1234567890 };
	uint32_t uw = 0;
	char *t = make_msg(5, 5, "\n");
	assert_int_equal(try_append(fx->user, "Work/Sub", t, strlen(t), &meta, &uw, NULL),
			 STORE_OK);
	free(t);
	uint32_t u1 = add(fx->user, "INBOX", 1);
	uint32_t u2 = add(fx->user, "INBOX", 2);
	uint32_t u3 = add(fx->user, "INBOX", 3);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_expunge(mbox, &u2, 1, false, NULL), STORE_OK);
	set_flags(mbox, u3, STORE_FLAGS_ADD, STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	store_mailbox_close(&mbox);
	struct store_status in_before = get_status(fx, "INBOX");
	struct store_status sub_before = get_status(fx, "Work/Sub");

	struct store_check_report rep = { 0 };
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	assert_int_equal(rep.mailboxes, 3);
	assert_int_equal(rep.messages, 3);
	store_check_report_free(&rep);
	assert_int_equal(store_index_check(fx->store, "nobody", &rep), STORE_ENOTFOUND);
	assert_int_equal(store_index_check(fx->store, "../x", &rep), STORE_EINVALID);

	/* A message file removed behind the index's back is reported. */
	char path[700], file[1024];
	snprintf(path, sizeof(path), "%s/cur", store_user_dir(fx->user));
	DIR *d = opendir(path);
	struct dirent *de;
	file[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		char want[32];
		snprintf(want, sizeof(want), ",U=%u,", u1);
		if (strstr(de->d_name, want) != NULL)
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
	}
	closedir(d);
	assert_true(file[0] != '\0');
	assert_int_equal(unlink(file), 0);
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_true(rep.problems > 0);
	assert_true(rep.n_lines > 0);
	store_check_report_free(&rep);

	fx_close(fx);
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	struct progress_rec p = { .monotonic = true };
	assert_int_equal(store_index_rebuild(fx->store, "alice", progress_cb, &p), STORE_OK);
	assert_true(p.calls > 0);
	assert_true(p.monotonic);
	assert_int_equal(p.last_done, p.last_total);
	assert_int_equal(store_index_rebuild(fx->store, "nobody", NULL, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);

	struct store_status in_after = get_status(fx, "INBOX");
	assert_int_equal(in_after.messages, 1);
	assert_int_equal(in_after.uidvalidity, in_before.uidvalidity);
	assert_true(in_after.uidnext >= in_before.uidnext);
	assert_int_equal(in_after.deleted, 1);
	assert_int_equal(in_after.unseen, 0);
	struct store_status sub_after = get_status(fx, "Work/Sub");
	assert_int_equal(sub_after.uidvalidity, sub_before.uidvalidity);
	assert_int_equal(sub_after.size, sub_before.size);
	mbox = open_box(fx, "Work/Sub", true);
	struct store_msg m = get_msg(mbox, uw);
	assert_int_equal(m.flags, STORE_FLAG_ANSWERED);
	assert_true(has_keyword(mbox, uw, "$Label2"));
	/* INTERNALDATE survives too (the file's mtime carries it). */
	assert_int_equal(m.internal_date, 1234567890);
	assert_int_equal(m.vsize, m.size + 11);
	store_mailbox_close(&mbox);
	assert_true(add(fx->user, "INBOX", 9) >= in_before.uidnext);
}

/* Files an external MDA drops into new/ are adopted with fresh UIDs the
 * next time the user is opened. */
static void test_reconcile_external(void **state)
{
	struct fx *fx = *state;
	uint32_t u1 = add(fx->user, "INBOX", 1);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s", store_user_dir(fx->user));
	fx_close(fx);

	char path[800];
	snprintf(path, sizeof(path), "%s/new/1700000000.M1P1.external", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: dropped in\n\nhello\n", f);
	fclose(f);

	fx_open(fx);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidnext, u1 + 2);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	size_t len;
	char *text = read_msg(mbox, u1 + 1, &len);
	assert_string_equal(text, "Subject: dropped in\n\nhello\n");
	free(text);
	struct store_msg m = get_msg(mbox, u1 + 1);
	assert_int_equal(m.size, 27);
	assert_int_equal(m.vsize, 30);
	store_mailbox_close(&mbox);
	char newdir[700];
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	assert_int_equal(count_files(newdir), 0);
}

int main(void)
{
	/* A private mount namespace for the disk-full test, entered while
	 * this process is still single-threaded. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		can_mount = true;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test_setup_teardown(test_user_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_lru, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_invalid_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_create_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_of_deleted_mailbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_ascending_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modseq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchangedsince, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_get_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_messages, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_eio_map_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_eio_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eio_disk_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_external, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_read_during_flag_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_lru_concurrent, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_random_ops_against_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_external, setup, teardown),
	};
	/* TEST_FILTER=test_watch (a glob) runs a subset, for debugging. */
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
