/* Unit tests of the store API (storage/store.h): status counters, flag
 * updates and MODSEQ, changes since a MODSEQ, UNCHANGEDSINCE, scans and
 * single-message reads, \\Recent and the parse cache. */
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
	/* the append stored its parse result */
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_true(len > 0);
	free(data);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modseq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchangedsince, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_get_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
	};
	return FX_RUN("store-flags", tests);
}
