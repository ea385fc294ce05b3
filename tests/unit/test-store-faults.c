/* The store under failing storage: disk full and EIO during append, flag
 * update and mailbox create, and LMDB map sizes that differ between the
 * processes sharing a user, and the descriptors an open user holds. Two kinds of failure: a fault-injection shim
 * compiled into this test only (it defines write, pwrite, writev, fsync,
 * fdatasync, rename, mkdir and link, so both storage/ and liblmdb call it,
 * and fails the calls on chosen paths), and a real full file system (a
 * small tmpfs in a private mount namespace; CI runs as root, elsewhere an
 * unprivileged user namespace). Every failure must reach the caller as
 * STORE_EIO with nothing half written visible, and the store must work
 * again once the fault is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "storage/store.h"

/* ---- the fault shim ---- */

enum fault_fn { F_WRITE, F_PWRITE, F_WRITEV, F_FSYNC, F_FDATASYNC, F_RENAME, F_MKDIR,
		F_LINK, F_N };

/* One armed fault, transient like a real I/O error: the skip+1-th call of
 * fn on a path containing path_has fails with err, once; the calls after it
 * (an undo, a retry) succeed. */
static struct {
	atomic_bool armed;
	enum fault_fn fn;
	char path_has[64];
	int err;
	atomic_int skip;
	atomic_int fired;
} fault;

static void fault_arm(enum fault_fn fn, const char *path_has, int err, int skip)
{
	atomic_store(&fault.armed, false);
	fault.fn = fn;
	snprintf(fault.path_has, sizeof(fault.path_has), "%s", path_has);
	fault.err = err;
	atomic_store(&fault.skip, skip);
	atomic_store(&fault.fired, 0);
	atomic_store(&fault.armed, true);
}

static int fault_disarm(void)
{
	atomic_store(&fault.armed, false);
	return atomic_load(&fault.fired);
}

static bool fault_path_hit(enum fault_fn fn, const char *path)
{
	if (!atomic_load(&fault.armed) || fault.fn != fn || strstr(path, fault.path_has) == NULL)
		return false;
	if (atomic_fetch_sub(&fault.skip, 1) != 0)
		return false;
	atomic_fetch_add(&fault.fired, 1);
	errno = fault.err;
	return true;
}

static bool fault_fd_hit(enum fault_fn fn, int fd)
{
	if (!atomic_load(&fault.armed) || fault.fn != fn)
		return false;
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return fault_path_hit(fn, path);
}

static void *real_fn(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (p == NULL)
		abort();
	return p;
}

#define REAL(name) static __typeof__(&name) real_; \
	if (real_ == NULL) \
		real_ = (__typeof__(&name))real_fn(#name)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write);
	return fault_fd_hit(F_WRITE, fd) ? -1 : real_(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite);
	return fault_fd_hit(F_PWRITE, fd) ? -1 : real_(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);
	return fault_fd_hit(F_WRITEV, fd) ? -1 : real_(fd, iov, n);
}

int fsync(int fd)
{
	REAL(fsync);
	return fault_fd_hit(F_FSYNC, fd) ? -1 : real_(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync);
	return fault_fd_hit(F_FDATASYNC, fd) ? -1 : real_(fd);
}

int rename(const char *from, const char *to)
{
	REAL(rename);
	return fault_path_hit(F_RENAME, to) ? -1 : real_(from, to);
}

int mkdir(const char *path, mode_t mode)
{
	REAL(mkdir);
	return fault_path_hit(F_MKDIR, path) ? -1 : real_(path, mode);
}

int link(const char *from, const char *to)
{
	REAL(link);
	return fault_path_hit(F_LINK, to) ? -1 : real_(from, to);
}

/* ---- fixture ---- */

/* Whether main() entered a private mount namespace (for the tmpfs tests). */
static bool can_mount;

struct fx {
	char dir[256];
	char mail_dir[300];
	struct store_settings set;
	struct store *store;
	struct store_user *user;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
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
}

static int setup_closed(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-store-faults.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->mail_dir, sizeof(fx->mail_dir), "%s/mail", fx->dir);
	assert_int_equal(mkdir(fx->mail_dir, 0700), 0);
	fx->set.mail_dir = fx->mail_dir;
	fx->set.writer_threads = 2;
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	setup_closed(state);
	fx_open(*state);
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	fault_disarm();
	fx_close(fx);
	umount2(fx->mail_dir, MNT_DETACH);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static char *make_msg(unsigned idx, size_t lines)
{
	size_t cap = 256 + lines * 80;
	char *buf = xmalloc(cap);
	size_t len = (size_t)snprintf(buf, cap, "From: a@example.org\r\nSubject: test %u\r\n"
				      "Message-ID: <%u.faults@example.org>\r\n\r\n", idx, idx);
	for (size_t i = 0; i < lines; i++)
		len += (size_t)snprintf(buf + len, cap - len, "line %zu of %u: lorem ipsum "
					"dolor sit amet, consectetur adipiscing\r\n", i, idx);
	return buf;
}

static int try_append(struct store_user *user, unsigned idx, size_t lines, uint32_t *uid_r)
{
	char *text = make_msg(idx, lines);
	struct store_append *app = NULL;
	int ret = store_append_begin(user, "INBOX", &app);
	if (ret == 0)
		ret = store_append_write(app, text, strlen(text));
	if (ret == 0) {
		struct store_append_meta meta = { 0 };
		ret = store_append_commit(&app, &meta, uid_r, NULL);
	} else if (app != NULL) {
		store_append_abort(&app);
	}
	free(text);
	return ret;
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static size_t files_in(struct fx *fx, const char *sub)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", store_user_dir(fx->user), sub);
	return count_files(path);
}

static struct store_status status_of(struct fx *fx, const char *box)
{
	struct store_status st;
	assert_int_equal(store_status(fx->user, box, &st), STORE_OK);
	return st;
}

static uint32_t flags_of(struct fx *fx, uint32_t uid)
{
	struct store_mailbox *mbox = NULL;
	struct store_msg m;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", true, &mbox), STORE_OK);
	assert_int_equal(store_msg_get(mbox, uid, &m, NULL), STORE_OK);
	store_mailbox_close(&mbox);
	return m.flags;
}

/* The names of the files in cur/, sorted and joined, to compare before and
 * after a failed operation. */
static char *cur_names(struct fx *fx)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/cur", store_user_dir(fx->user));
	struct dirent **list;
	int n = scandir(path, &list, NULL, alphasort);
	assert_true(n >= 0);
	char *out = xstrdup("");
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.') {
			char *more = xasprintf("%s%s\n", out, list[i]->d_name);
			free(out);
			out = more;
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static bool has_mailbox(struct fx *fx, const char *name)
{
	struct store_mailbox_info *list;
	size_t n;
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found = found || strcmp(list[i].name, name) == 0;
	store_mailbox_list_free(list, n);
	return found;
}

/* Index and Maildir agree (after closing, as the check runs offline). */
static void assert_consistent(struct fx *fx)
{
	fx_close(fx);
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	struct store_check_report rep = { 0 };
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	for (size_t k = 0; k < rep.n_lines; k++)
		print_message("problem: %s\n", rep.lines[k]);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
	store_destroy(&fx->store);
	fx_open(fx);
}

/* ---- injected faults ---- */

struct fault_case {
	enum fault_fn fn;
	const char *path_has;
	int err;
};

/* An append fails at each step of its durable write order: the message
 * file's write or fsync, the rename into cur/, the directory fsync, the
 * index's page write or sync. Every failure is reported, and leaves the
 * mailbox as it was -- except a failed directory fsync, which runs
 * alongside the commit (writer.c, step 3): the commit stands, so the
 * message stays, whole and consistent, and the caller (told of the error)
 * may deliver it again: a duplicate at worst, never a loss. */
static void test_append_faults(void **state)
{
	struct fx *fx = *state;
	static const struct fault_case cases[] = {
		{ F_WRITE, "/tmp/", EIO }, { F_WRITE, "/tmp/", ENOSPC },
		{ F_FSYNC, "/tmp/", EIO }, { F_RENAME, "/cur/", EIO },
		{ F_FSYNC, "/cur", EIO }, { F_PWRITE, "/index/data.mdb", ENOSPC },
		{ F_PWRITE, "/index/data.mdb", EIO }, { F_FDATASYNC, "/index/data.mdb", EIO },
	};
	uint32_t uid;
	assert_int_equal(try_append(fx->user, 0, 3, &uid), STORE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_status before = status_of(fx, "INBOX");
		char *names = cur_names(fx);
		fault_arm(cases[i].fn, cases[i].path_has, cases[i].err, 0);
		int ret = try_append(fx->user, 1 + (unsigned)i, 3, &uid);
		int fired = fault_disarm();
		if (fired == 0 || ret != STORE_EIO)
			fail_msg("case %zu: fired %d, append returned %s", i, fired,
				 store_strerror(ret));
		struct store_status after = status_of(fx, "INBOX");
		char *now = cur_names(fx);
		if (cases[i].fn == F_FSYNC && strcmp(cases[i].path_has, "/cur") == 0) {
			assert_int_equal(after.messages, before.messages + 1);
			assert_int_equal(after.uidnext, before.uidnext + 1);
			assert_consistent(fx);
		} else {
			assert_int_equal(after.messages, before.messages);
			assert_int_equal(after.uidnext, before.uidnext);
			assert_string_equal(now, names);
		}
		assert_int_equal(files_in(fx, "tmp"), 0);
		assert_int_equal(files_in(fx, "new"), 0);
		free(now);
		free(names);
	}
	assert_int_equal(try_append(fx->user, 99, 3, &uid), STORE_OK);
	assert_int_equal(status_of(fx, "INBOX").messages, 3);
	assert_consistent(fx);
}

/* A flag update fails at the rename that carries the flags in the file
 * name or at the index commit: flags, MODSEQ and file names stay as they
 * were. */
static void test_flag_update_faults(void **state)
{
	struct fx *fx = *state;
	static const struct fault_case cases[] = {
		{ F_RENAME, "/cur/", EIO }, { F_RENAME, "/cur/", ENOSPC },
		{ F_PWRITE, "/index/data.mdb", ENOSPC }, { F_PWRITE, "/index/data.mdb", EIO },
		{ F_FDATASYNC, "/index/data.mdb", EIO },
	};
	uint32_t uids[3];
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(try_append(fx->user, i, 2, &uids[i]), STORE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_status before = status_of(fx, "INBOX");
		char *names = cur_names(fx);
		struct store_mailbox *mbox = NULL;
		assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
		/* the second rename fails: the first must be undone too */
		fault_arm(cases[i].fn, cases[i].path_has, cases[i].err,
			  cases[i].fn == F_RENAME ? 1 : 0);
		int ret = store_flags_update(mbox, uids, 3, STORE_FLAGS_ADD,
					     STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, NULL, 0, 0, NULL);
		int fired = fault_disarm();
		store_mailbox_close(&mbox);
		if (fired == 0 || ret != STORE_EIO)
			fail_msg("case %zu: fired %d, update returned %s", i, fired,
				 store_strerror(ret));
		for (unsigned k = 0; k < 3; k++)
			assert_int_equal(flags_of(fx, uids[k]), 0);
		struct store_status after = status_of(fx, "INBOX");
		assert_true(after.highestmodseq == before.highestmodseq);
		assert_int_equal(after.unseen, 3);
		char *now = cur_names(fx);
		assert_string_equal(now, names);
		free(now);
		free(names);
	}
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	assert_int_equal(store_flags_update(mbox, uids, 3, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, 0, NULL), STORE_OK);
	store_mailbox_close(&mbox);
	assert_int_equal(flags_of(fx, uids[2]), STORE_FLAG_SEEN);
	assert_consistent(fx);
}

/* Creating a mailbox fails at its directories, its UIDVALIDITY file or the
 * index commit: no mailbox is listed and no directory is left behind. */
static void test_mailbox_create_faults(void **state)
{
	struct fx *fx = *state;
	static const struct fault_case cases[] = {
		{ F_MKDIR, ".Work", EIO }, { F_MKDIR, ".Work/cur", ENOSPC },
		{ F_MKDIR, ".Work/tmp", EIO }, { F_WRITE, ".Work", ENOSPC },
		{ F_FSYNC, ".Work", EIO }, { F_PWRITE, "/index/data.mdb", ENOSPC },
		{ F_FDATASYNC, "/index/data.mdb", EIO },
	};
	char work[700];
	snprintf(work, sizeof(work), "%s/.Work", store_user_dir(fx->user));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fault_arm(cases[i].fn, cases[i].path_has, cases[i].err, 0);
		int ret = store_mailbox_create(fx->user, "Work", 0);
		int fired = fault_disarm();
		if (fired == 0 || ret != STORE_EIO)
			fail_msg("case %zu: fired %d, create returned %s", i, fired,
				 store_strerror(ret));
		assert_false(has_mailbox(fx, "Work"));
		struct stat st;
		if (stat(work, &st) == 0)
			fail_msg("case %zu: %s was left behind", i, work);
	}
	assert_int_equal(store_mailbox_create(fx->user, "Work", 0), STORE_OK);
	assert_true(has_mailbox(fx, "Work"));
	assert_consistent(fx);
}

/* ---- a real full file system ---- */

/* A tmpfs of size bytes and inodes inodes over the mail directory. */
static void mount_small_fs(struct fx *fx, const char *opts)
{
	if (!can_mount)
		fail_msg("no private mount namespace: cannot mount a small tmpfs "
			 "(unshare(CLONE_NEWNS) and user namespaces both refused)");
	char o[128];
	snprintf(o, sizeof(o), "mode=0700,%s", opts);
	if (mount("tmpfs", fx->mail_dir, "tmpfs", 0, o) < 0)
		fail_msg("mount tmpfs (%s): %s", o, strerror(errno));
}

/* Fill the file system with appends until one fails (STORE_EIO), then
 * update the flags of every message and create mailboxes: each either
 * succeeds whole or fails with STORE_EIO leaving no trace. */
static void test_disk_full(void **state)
{
	struct fx *fx = *state;
	mount_small_fs(fx, "size=1m");
	fx->set.lmdb_map_size = 64 * 1024 * 1024;
	fx_open(fx);
	int ret = STORE_OK;
	unsigned n = 0;
	uint32_t uids[200];
	while (n < 200 && ret == STORE_OK) {
		ret = try_append(fx->user, n, 200, &uids[n]);
		if (ret == STORE_OK)
			n++;
	}
	assert_int_equal(ret, STORE_EIO);
	assert_true(n > 3);
	assert_int_equal(status_of(fx, "INBOX").messages, n);
	assert_int_equal(files_in(fx, "cur"), n);
	assert_int_equal(files_in(fx, "tmp"), 0);

	/* Flags on a full disk: all or nothing. */
	char *names = cur_names(fx);
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	ret = store_flags_update(mbox, uids, n, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, NULL, 0, 0,
				 NULL);
	store_mailbox_close(&mbox);
	assert_true(ret == STORE_OK || ret == STORE_EIO);
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(flags_of(fx, uids[k]), ret == STORE_OK ? STORE_FLAG_FLAGGED : 0);
	if (ret == STORE_EIO) {
		char *now = cur_names(fx);
		assert_string_equal(now, names);
		free(now);
	}
	free(names);

	/* Mailboxes until the file system refuses one. */
	char name[32];
	unsigned made = 0;
	for (ret = STORE_OK; made < 500 && ret == STORE_OK; made += ret == STORE_OK) {
		snprintf(name, sizeof(name), "Box%u", made);
		ret = store_mailbox_create(fx->user, name, 0);
	}
	assert_int_equal(ret, STORE_EIO);
	assert_false(has_mailbox(fx, name));
	char path[700];
	snprintf(path, sizeof(path), "%s/.%s", store_user_dir(fx->user), name);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	fx_close(fx);
	fx_open(fx);
	assert_consistent(fx);
}

/* Out of inodes: mkdir fails with ENOSPC while space remains. */
static void test_out_of_inodes(void **state)
{
	struct fx *fx = *state;
	mount_small_fs(fx, "size=8m,nr_inodes=40");
	fx_open(fx);
	int ret = STORE_OK;
	char name[32];
	unsigned made = 0;
	for (; made < 100 && ret == STORE_OK; made += ret == STORE_OK) {
		snprintf(name, sizeof(name), "Box%u", made);
		ret = store_mailbox_create(fx->user, name, 0);
	}
	assert_int_equal(ret, STORE_EIO);
	assert_true(made > 0);
	assert_false(has_mailbox(fx, name));
	char path[700];
	snprintf(path, sizeof(path), "%s/.%s", store_user_dir(fx->user), name);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	/* Deleting one makes room for another. */
	assert_int_equal(store_mailbox_delete(fx->user, "Box0"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, name, 0), STORE_OK);
	assert_consistent(fx);
}

/* ---- map sizes across processes ---- */

/* In a child process (its own store, its own map size): fill the index
 * with cache blobs of message uid. */
static void child_fill(struct fx *fx, size_t map_size, unsigned blobs, uint32_t uid)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_settings set = fx->set;
		struct store *s = NULL;
		struct store_user *u = NULL;
		struct store_mailbox *mbox = NULL;
		set.lmdb_map_size = map_size;
		if (store_create(&set, &s) != 0 || store_user_open(s, "alice", &u) != 0 ||
		    store_mailbox_open(u, "INBOX", false, &mbox) != 0)
			_exit(2);
		char *blob = xcalloc(1, 64 * 1024);
		for (unsigned i = 0; i < blobs; i++) {
			uint32_t target = uid;
			if (try_append(u, 1000 + i, 1, &target) != 0 ||
			    store_msg_cache_set(mbox, target, blob, 64 * 1024) != 0)
				_exit(3);
		}
		free(blob);
		store_mailbox_close(&mbox);
		store_user_close(&u);
		store_destroy(&s);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Another process with a larger map fills the index past ours: our next
 * read and write adopt its map (MDB_MAP_RESIZED) instead of failing. */
static void test_map_resized_by_other_process(void **state)
{
	struct fx *fx = *state;
	fx->set.lmdb_map_size = 1024 * 1024;
	fx_open(fx);
	uint32_t uid;
	assert_int_equal(try_append(fx->user, 1, 1, &uid), STORE_OK);
	child_fill(fx, 64 * 1024 * 1024, 32, uid);   /* 2 MiB of blobs */
	struct store_status st = status_of(fx, "INBOX");
	assert_int_equal(st.messages, 33);
	assert_int_equal(try_append(fx->user, 2, 1, &uid), STORE_OK);
	assert_int_equal(status_of(fx, "INBOX").messages, 34);
}

/* Another process once opened the user with a larger map: ours, smaller,
 * grows to it when it fills up (MDB_MAP_FULL) instead of failing, while a
 * map that nobody made larger still fails cleanly when full. */
static void test_map_full_below_other_process(void **state)
{
	struct fx *fx = *state;
	fx->set.lmdb_map_size = 1024 * 1024;
	fx_open(fx);
	uint32_t uid;
	assert_int_equal(try_append(fx->user, 1, 1, &uid), STORE_OK);
	child_fill(fx, 64 * 1024 * 1024, 1, uid);     /* records its map size */
	struct store_mailbox *mbox = NULL;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	char *blob = xcalloc(1, 64 * 1024);
	for (unsigned i = 0; i < 48; i++) {             /* 3 MiB: past our 1 MiB */
		assert_int_equal(try_append(fx->user, 10 + i, 1, &uid), STORE_OK);
		int ret = store_msg_cache_set(mbox, uid, blob, 64 * 1024);
		if (ret != STORE_OK)
			fail_msg("blob %u: %s", i, store_strerror(ret));
	}
	free(blob);
	store_mailbox_close(&mbox);
	assert_int_equal(status_of(fx, "INBOX").messages, 50);
}

/* ---- descriptors ---- */

/* Descriptors open on regular files below dir (a user's environment: not
 * the directories a background reconcile may be walking just then). */
static unsigned open_files_below(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		char link[300], path[4096];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		ssize_t len = readlink(link, path, sizeof(path) - 1);
		if (len < 0)
			continue;
		path[len] = '\0';
		if (strncmp(path, dir, strlen(dir)) == 0 && stat(link, &st) == 0 &&
		    S_ISREG(st.st_mode))
			n++;
	}
	closedir(d);
	return n;
}

/* The server's descriptor budget counts STORE_USER_FDS per cached user: an
 * open user that has written holds exactly that many (the notify file is
 * opened by the first commit), and closing gives them back. */
static void test_user_fds(void **state)
{
	struct fx *fx = *state;
	fx->set.watch_external = true;
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	assert_int_equal(open_files_below(fx->mail_dir), 0);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	uint32_t uid;
	assert_int_equal(try_append(fx->user, 1, 1, &uid), STORE_OK);
	assert_int_equal(open_files_below(fx->mail_dir), STORE_USER_FDS);
	struct store_user *bob = NULL;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	assert_int_equal(try_append(bob, 2, 1, &uid), STORE_OK);  /* notify file too */
	assert_int_equal(open_files_below(fx->mail_dir), 2 * STORE_USER_FDS);
	store_user_close(&bob);
	store_user_close(&fx->user);
	store_destroy(&fx->store);
	assert_int_equal(open_files_below(fx->mail_dir), 0);
}

int main(void)
{
	/* A private mount namespace for the tmpfs tests, entered while this
	 * process is single-threaded: as root directly, otherwise inside a
	 * user namespace that maps us to root. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		can_mount = true;
	} else {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
			char map[64];
			int fd = open("/proc/self/setgroups", O_WRONLY);
			if (fd >= 0) {
				(void)!write(fd, "deny", 4);
				close(fd);
			}
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
			fd = open("/proc/self/uid_map", O_WRONLY);
			bool ok = fd >= 0 && write(fd, map, strlen(map)) > 0;
			if (fd >= 0)
				close(fd);
			snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
			fd = open("/proc/self/gid_map", O_WRONLY);
			ok = ok && fd >= 0 && write(fd, map, strlen(map)) > 0;
			if (fd >= 0)
				close(fd);
			can_mount = ok && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
		}
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_update_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_create_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_inodes, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_map_resized_by_other_process, setup_closed,
						teardown),
		cmocka_unit_test_setup_teardown(test_map_full_below_other_process, setup_closed,
						teardown),
		cmocka_unit_test_setup_teardown(test_user_fds, setup_closed, teardown),
	};
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("store-faults", tests, NULL, NULL);
}
