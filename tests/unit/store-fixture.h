/* The one store test fixture (tests/unit only): a fresh store in its own
 * temporary directory per test (cmocka setup/teardown), opened for user
 * fx->user_name ("alice" unless a test sets it before fx_open), and the
 * helpers every store test uses: appending generated messages, opening
 * views, reading messages, status and flag shortcuts. Header-only: each
 * unit test is one executable. */
#ifndef LOFT_TESTS_UNIT_STORE_FIXTURE_H
#define LOFT_TESTS_UNIT_STORE_FIXTURE_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "storage/store.h"

struct fx {
	char dir[256];          /* temporary directory of this test */
	char mail_dir[300];
	struct store_settings set;
	struct store *store;
	struct store_user *user;
	const char *user_name;  /* NULL = "alice" */
};

/* ---- fixture and helpers ---- */

static inline int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static inline void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fx_open(struct fx *fx)
{
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	assert_int_equal(store_user_open(fx->store, fx->user_name ? fx->user_name : "alice",
					 &fx->user), STORE_OK);
}

static inline void fx_close(struct fx *fx)
{
	if (fx->user != NULL)
		store_user_close(&fx->user);
	if (fx->store != NULL)
		store_destroy(&fx->store);
	assert_null(fx->user);
	assert_null(fx->store);
}

static inline void fx_reopen(struct fx *fx)
{
	fx_close(fx);
	fx_open(fx);
}

static inline struct fx *fx_new(void)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/loft-unit.XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->mail_dir, sizeof(fx->mail_dir), "%s/mail", fx->dir);
	assert_int_equal(mkdir(fx->mail_dir, 0700), 0);
	fx->set.mail_dir = fx->mail_dir;
	fx->set.writer_threads = 2;
	return fx;
}

static inline int setup(void **state)
{
	struct fx *fx = fx_new();
	fx_open(fx);
	*state = fx;
	return 0;
}

/* For tests that choose their own settings before opening. */
static inline int setup_closed(void **state)
{
	*state = fx_new();
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *fx = *state;
	fx_close(fx);
	umount2(fx->mail_dir, MNT_DETACH); /* only mounted by the disk-full test */
	rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* A message with a unique Message-ID and `extra` filler body lines. */
static inline char *make_msg(unsigned idx, size_t extra_lines, const char *eol)
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
static inline int try_append(struct store_user *user, const char *mailbox, const void *data,
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

static inline uint32_t add_flags(struct store_user *user, const char *mailbox, unsigned idx,
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

static inline uint32_t add(struct store_user *user, const char *mailbox, unsigned idx)
{
	return add_flags(user, mailbox, idx, 0);
}

static inline struct store_mailbox *open_box(struct fx *fx, const char *name, bool ro)
{
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, name, ro, &mbox), STORE_OK);
	assert_non_null(mbox);
	return mbox;
}

/* The whole message through store_msg_open. */
static inline char *read_msg(struct store_mailbox *mbox, uint32_t uid, size_t *len_r)
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

static inline struct store_status get_status(struct fx *fx, const char *name)
{
	struct store_status st;
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(store_status(fx->user, name, &st), STORE_OK);
	return st;
}

static inline struct store_msg get_msg(struct store_mailbox *mbox, uint32_t uid)
{
	struct store_msg msg;
	assert_int_equal(store_msg_get(mbox, uid, &msg, NULL), STORE_OK);
	assert_int_equal(msg.uid, uid);
	return msg;
}

static inline void set_flags(struct store_mailbox *mbox, uint32_t uid, enum store_flags_op op,
		      uint32_t flags)
{
	assert_int_equal(store_flags_update(mbox, &uid, 1, op, flags, NULL, 0, 0, NULL),
			 STORE_OK);
}

static inline size_t count_files(const char *dir)
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
static inline bool has_keyword(struct store_mailbox *mbox, uint32_t uid, const char *kw)
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


struct collect {
	uint32_t uids[256];
	uint64_t modseqs[256];
	uint32_t flags[256];
	size_t n;
	size_t stop_after;       /* 0 = never stop */
};

static inline int collect_cb(const struct store_msg *msg, void *ctx)
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


struct append_thread {
	struct store_user *user;
	const char *mailbox;
	unsigned n;
	unsigned base;
	atomic_bool stop;
	uint32_t last_uid;
	int error;
};

static inline void *append_thread_main(void *arg)
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


/* Run a test group; TEST_FILTER=test_x (a glob) runs a subset, for
 * debugging. */
static inline void fx_filter_from_env(void)
{
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
}
#define FX_RUN(name, tests) (fx_filter_from_env(), cmocka_run_group_tests_name(name, tests, NULL, NULL))

#endif
