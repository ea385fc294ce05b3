/* Unit tests of the store API (storage/store.h): expunge, copy and move
 * between mailboxes with their UID mappings. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
	};
	return FX_RUN("store-copy", tests);
}
