/* Unit tests of the store API (storage/store.h): streamed appends, aborts,
 * UID assignment, and the limits an append meets (quota, message size, map
 * full, write errors, disk full, a corrupt index). */
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

#include "storage/store-debug.h"
#include "store-fixture.h"

/* Set once in main() (before any thread exists): whether this process could
 * enter a private mount namespace, which lets the disk-full test mount a
 * tiny tmpfs without touching the host's mounts. */
static bool can_mount;

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
	uint64_t ob, om;
	assert_int_equal(store_user_get_quota(fx->user, &ob, &om), STORE_OK);
	assert_true(ob == 0 && om == 0);
	assert_int_equal(store_user_set_quota(fx->user, 0, 3), STORE_OK);
	assert_int_equal(store_user_get_quota(fx->user, &ob, &om), STORE_OK);
	assert_true(ob == 0 && om == 3);
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
	/* the entry the append wrote is still the one there */
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_true(len < 4096);
	free(data);

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
	/* Ballast the administrator deletes later to make room. */
	char ballast[600];
	snprintf(ballast, sizeof(ballast), "%s/ballast", fx->mail_dir);
	FILE *bf = fopen(ballast, "w");
	assert_non_null(bf);
	for (int k = 0; k < 128; k++)
		fputs("ballast ballast ballast ballast ballast ballast ballast ballast "
		      "ballast ballast ballast ballast ballast ballast ballast bal\n", bf);
	assert_int_equal(fclose(bf), 0);
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
	assert_int_equal(unlink(ballast), 0);
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

/* An append is parsed as it streams: the structure is in the index with
 * the message, with no commit of its own. A missing or outdated entry is
 * parsed from the file again and cached without a durable commit. */
static void test_append_caches_structure(void **state)
{
	struct fx *fx = *state;
	const char *msg = "From: Ann <ann@example.org>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
			  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
			  "Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
	uint64_t commits = store_debug_commit_count(fx->store);
	struct store_append *app;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	for (size_t i = 0; msg[i] != '\0'; i += 3)
		assert_int_equal(store_append_write(app, msg + i, strnlen(msg + i, 3)), STORE_OK);
	uint32_t uid;
	assert_int_equal(store_append_commit(&app, NULL, &uid, NULL), STORE_OK);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);

	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	void *blob;
	size_t len;
	assert_int_equal(store_msg_cache_get(mbox, uid, &blob, &len), STORE_OK);
	struct msg_info *info;
	assert_int_equal(msg_blob_read(blob, len, &info), 0);
	free(blob);
	assert_int_equal(info->n_parts, 2);
	assert_int_equal(msg_info_size(info), strlen(msg));
	msg_info_free(&info);

	/* Empty the entry: store_msg_info parses the file and caches it
	 * again, lazily (a non-durable commit, never a durable one). */
	assert_int_equal(store_msg_cache_set(mbox, uid, NULL, 0), STORE_OK);
	commits = store_debug_commit_count(fx->store);
	assert_int_equal(store_msg_info(mbox, uid, &info), STORE_OK);
	assert_int_equal(info->n_parts, 2);
	msg_info_free(&info);
	len = 0;
	for (int i = 0; i < 200 && len == 0; i++) {
		if (store_msg_cache_get(mbox, uid, &blob, &len) == STORE_OK)
			free(blob);
		if (len == 0)
			usleep(5000);
	}
	assert_true(len > 0);
	assert_int_equal(store_debug_commit_count(fx->store), commits);
	/* A damaged entry is parsed again too. */
	assert_int_equal(store_msg_cache_set(mbox, uid, "junk", 4), STORE_OK);
	assert_int_equal(store_msg_info(mbox, uid, &info), STORE_OK);
	assert_int_equal(info->n_parts, 2);
	msg_info_free(&info);
	assert_int_equal(store_msg_info(mbox, uid + 1, &info), STORE_ENOTFOUND);
	store_mailbox_close(&mbox);
}

int main(void)
{
	/* A private mount namespace for the disk-full test, entered while
	 * this process is still single-threaded. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		can_mount = true;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_ascending_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_messages, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_eio_map_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_eio_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eio_disk_full, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_caches_structure, setup, teardown),
	};
	return FX_RUN("store-append", tests);
}
