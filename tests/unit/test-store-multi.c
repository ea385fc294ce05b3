/* Unit tests of several appends committed together (store_append_finish,
 * store_append_commit_multi: IMAP MULTIAPPEND, RFC 3502): UIDs ascending in
 * one durable commit with each message's flags, keywords and parse cache;
 * and all-or-nothing when the set goes over quota, one message is too big,
 * the mailbox vanished or the arguments are wrong — nothing of any of them
 * is left in the mailbox or its tmp/. */
#include <fcntl.h>

#include "storage/store-debug.h"
#include "store-fixture.h"

#define N_MSGS 3

/* Open one append per message, each written in small pieces and finished
 * before the next begins (as MULTIAPPEND streams them). */
static void prepare(struct fx *fx, const char *box, char *msgs[], struct store_append *apps[],
		    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(store_append_begin(fx->user, box, &apps[i]), STORE_OK);
		size_t len = strlen(msgs[i]);
		for (size_t off = 0; off < len; off += 7) {
			size_t k = len - off < 7 ? len - off : 7;
			assert_int_equal(store_append_write(apps[i], msgs[i] + off, k), STORE_OK);
		}
		assert_int_equal(store_append_size(apps[i]), len);
		assert_int_equal(store_append_finish(apps[i]), STORE_OK);
		assert_int_equal(store_append_finish(apps[i]), STORE_OK); /* once is enough */
	}
}

static size_t dir_files(struct fx *fx, const char *sub)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/%s", store_user_dir(fx->user), sub);
	return count_files(dir);
}

static void test_multi_commit(void **state)
{
	struct fx *fx = *state;
	char *msgs[N_MSGS];
	struct store_append *apps[N_MSGS];
	for (size_t i = 0; i < N_MSGS; i++)
		msgs[i] = make_msg((unsigned)i, i * 10, i == 1 ? "\n" : "\r\n");
	/* One message first, so UIDs of the set do not start at 1. */
	assert_int_equal(try_append(fx->user, "INBOX", msgs[0], strlen(msgs[0]), NULL, NULL,
				    NULL), STORE_OK);
	prepare(fx, "INBOX", msgs, apps, N_MSGS);
	const char *kw[] = { "$Label1" };
	struct store_append_meta metas[N_MSGS] = {
		{ .flags = STORE_FLAG_SEEN },
		{ .keywords = kw, .n_keywords = 1, .internal_date = 1000000000 },
		{ .flags = STORE_FLAG_FLAGGED | STORE_FLAG_DELETED },
	};
	uint32_t uids[N_MSGS] = { 0 }, uidvalidity = 0;
	uint64_t commits = store_debug_commit_count(fx->store);
	assert_int_equal(store_append_commit_multi(apps, N_MSGS, metas, uids, &uidvalidity),
			 STORE_OK);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	for (size_t i = 0; i < N_MSGS; i++)
		assert_null(apps[i]);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 3);
	assert_int_equal(uids[2], 4);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(uidvalidity, st.uidvalidity);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(dir_files(fx, "tmp"), 0);

	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	assert_int_equal(get_msg(mbox, uids[0]).flags, STORE_FLAG_SEEN);
	assert_true(has_keyword(mbox, uids[1], "$Label1"));
	assert_int_equal(get_msg(mbox, uids[1]).internal_date, 1000000000);
	assert_int_equal(get_msg(mbox, uids[2]).flags, STORE_FLAG_FLAGGED | STORE_FLAG_DELETED);
	for (size_t i = 0; i < N_MSGS; i++) {
		size_t len;
		char *got = read_msg(mbox, uids[i], &len);
		assert_int_equal(len, strlen(msgs[i]));
		assert_memory_equal(got, msgs[i], len);
		free(got);
		/* The parse ran as the bytes streamed and rode the commit. */
		void *blob;
		size_t blen;
		assert_int_equal(store_msg_cache_get(mbox, uids[i], &blob, &blen), STORE_OK);
		struct msg_info *info;
		assert_int_equal(msg_blob_read(blob, blen, &info), 0);
		free(blob);
		assert_int_equal(msg_info_size(info), get_msg(mbox, uids[i]).vsize);
		msg_info_free(&info);
	}
	store_mailbox_close(&mbox);
	for (size_t i = 0; i < N_MSGS; i++)
		free(msgs[i]);
}

/* A failing set leaves nothing: not in the index, not in cur/, not in tmp/. */
static void expect_nothing(struct fx *fx, const char *box, uint32_t messages_before)
{
	struct store_status st = get_status(fx, box);
	assert_int_equal(st.messages, messages_before);
	assert_int_equal(dir_files(fx, "tmp"), 0);
}

static void test_multi_over_quota(void **state)
{
	struct fx *fx = *state;
	char *msgs[N_MSGS];
	struct store_append *apps[N_MSGS];
	for (size_t i = 0; i < N_MSGS; i++)
		msgs[i] = make_msg((unsigned)i, 5, "\r\n");
	/* Room for two messages: the third of the set fails the whole set. */
	assert_int_equal(store_user_set_quota(fx->user, UINT64_MAX, 2), STORE_OK);
	prepare(fx, "INBOX", msgs, apps, N_MSGS);
	struct store_append_meta metas[N_MSGS] = { { 0 } };
	uint32_t uids[N_MSGS] = { 0 };
	assert_int_equal(store_append_commit_multi(apps, N_MSGS, metas, uids, NULL),
			 STORE_EQUOTA);
	assert_int_equal(uids[0], 0);
	expect_nothing(fx, "INBOX", 0);
	assert_int_equal(dir_files(fx, "cur"), 0);
	/* Bytes count over the set as well. */
	size_t len = strlen(msgs[0]);
	assert_int_equal(store_user_set_quota(fx->user, 2 * len + len / 2, UINT64_MAX),
			 STORE_OK);
	prepare(fx, "INBOX", msgs, apps, N_MSGS);
	assert_int_equal(store_append_commit_multi(apps, N_MSGS, metas, uids, NULL),
			 STORE_EQUOTA);
	expect_nothing(fx, "INBOX", 0);
	/* Two fit. */
	prepare(fx, "INBOX", msgs, apps, 2);
	assert_int_equal(store_append_commit_multi(apps, 2, metas, uids, NULL), STORE_OK);
	assert_int_equal(get_status(fx, "INBOX").messages, 2);
	assert_int_equal(dir_files(fx, "cur"), 2);
	for (size_t i = 0; i < N_MSGS; i++)
		free(msgs[i]);
}

static void test_multi_third_too_big(void **state)
{
	struct fx *fx = *state;
	fx->set.max_message_size = 500;
	fx_open(fx);
	char *msgs[N_MSGS];
	struct store_append *apps[N_MSGS];
	for (size_t i = 0; i < 2; i++)
		msgs[i] = make_msg((unsigned)i, 1, "\r\n");
	prepare(fx, "INBOX", msgs, apps, 2);
	char *big = make_msg(2, 20, "\r\n");
	assert_int_equal(store_append_begin(fx->user, "INBOX", &apps[2]), STORE_OK);
	assert_int_equal(store_append_write(apps[2], big, strlen(big)), STORE_ETOOBIG);
	assert_int_equal(store_append_finish(apps[2]), STORE_ETOOBIG);
	struct store_append_meta metas[N_MSGS] = { { 0 } };
	assert_int_equal(store_append_commit_multi(apps, N_MSGS, metas, NULL, NULL),
			 STORE_ETOOBIG);
	expect_nothing(fx, "INBOX", 0);
	free(big);
	free(msgs[0]);
	free(msgs[1]);
}

static void test_multi_mailbox_gone(void **state)
{
	struct fx *fx = *state;
	char *msgs[N_MSGS];
	struct store_append *apps[N_MSGS];
	for (size_t i = 0; i < N_MSGS; i++)
		msgs[i] = make_msg((unsigned)i, 2, "\r\n");
	assert_int_equal(store_mailbox_create(fx->user, "Box", 0), STORE_OK);
	prepare(fx, "Box", msgs, apps, N_MSGS);
	assert_int_equal(store_mailbox_delete(fx->user, "Box"), STORE_OK);
	struct store_append_meta metas[N_MSGS] = { { 0 } };
	assert_int_equal(store_append_commit_multi(apps, N_MSGS, metas, NULL, NULL),
			 STORE_ENOTFOUND);
	struct store_status st;
	assert_int_equal(store_status(fx->user, "Box", &st), STORE_ENOTFOUND);
	/* Recreated, it is empty. */
	assert_int_equal(store_mailbox_create(fx->user, "Box", 0), STORE_OK);
	assert_int_equal(get_status(fx, "Box").messages, 0);
	for (size_t i = 0; i < N_MSGS; i++)
		free(msgs[i]);
}

static void test_multi_bad_arguments(void **state)
{
	struct fx *fx = *state;
	char *msgs[2] = { make_msg(0, 1, "\r\n"), make_msg(1, 1, "\r\n") };
	struct store_append *apps[2];
	assert_int_equal(store_mailbox_create(fx->user, "Other", 0), STORE_OK);
	assert_int_equal(store_append_begin(fx->user, "INBOX", &apps[0]), STORE_OK);
	assert_int_equal(store_append_write(apps[0], msgs[0], strlen(msgs[0])), STORE_OK);
	assert_int_equal(store_append_begin(fx->user, "Other", &apps[1]), STORE_OK);
	assert_int_equal(store_append_write(apps[1], msgs[1], strlen(msgs[1])), STORE_OK);
	struct store_append_meta metas[2] = { { 0 } };
	/* Two mailboxes in one set: refused, both discarded. */
	assert_int_equal(store_append_commit_multi(apps, 2, metas, NULL, NULL), STORE_EINVALID);
	assert_null(apps[0]);
	assert_null(apps[1]);
	expect_nothing(fx, "INBOX", 0);
	expect_nothing(fx, "Other", 0);
	assert_int_equal(store_append_commit_multi(apps, 0, metas, NULL, NULL), STORE_EINVALID);
	free(msgs[0]);
	free(msgs[1]);
}

/* REPLACE (store_append_commit_replace): the new message and the old one's
 * expunge in one commit, in the same mailbox or another; a UID that is
 * gone (or is the UID the new message would get) changes nothing. */
static void test_replace(void **state)
{
	struct fx *fx = *state;
	char *msgs[3] = { make_msg(0, 1, "\r\n"), make_msg(1, 2, "\r\n"), make_msg(2, 3, "\r\n") };
	uint32_t old = 0, uid = 0, uv = 0;
	assert_int_equal(try_append(fx->user, "INBOX", msgs[0], strlen(msgs[0]), NULL, &old, NULL),
			 STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Drafts", 0), STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_append *app;
	prepare(fx, "INBOX", &msgs[1], &app, 1);
	struct store_append_meta meta = { .flags = STORE_FLAG_DRAFT };
	bool gone = true;
	uint64_t commits = store_debug_commit_count(fx->store);
	assert_int_equal(store_append_commit_replace(&app, &meta, mbox, old, &uid, &uv, &gone),
			 STORE_OK);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	assert_null(app);
	assert_false(gone);
	assert_int_equal(uid, 2);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.uidnext, 3);
	assert_int_equal(uv, st.uidvalidity);
	assert_int_equal(get_msg(mbox, 2).flags, STORE_FLAG_DRAFT);
	/* into another mailbox */
	prepare(fx, "Drafts", &msgs[2], &app, 1);
	assert_int_equal(store_append_commit_replace(&app, NULL, mbox, 2, &uid, NULL, &gone),
			 STORE_OK);
	assert_int_equal(uid, 1);
	assert_int_equal(get_status(fx, "INBOX").messages, 0);
	assert_int_equal(get_status(fx, "Drafts").messages, 1);
	/* gone: nothing appended; 3 would be the new message's own UID */
	for (uint32_t u = 2; u <= 3; u++) {
		prepare(fx, "INBOX", &msgs[1], &app, 1);
		assert_int_equal(store_append_commit_replace(&app, NULL, mbox, u, &uid, NULL, &gone),
				 STORE_ENOTFOUND);
		assert_true(gone);
		expect_nothing(fx, "INBOX", 0);
		assert_int_equal(get_status(fx, "INBOX").uidnext, 3);
	}
	/* the append's mailbox missing: not "gone", the old one stays */
	assert_int_equal(try_append(fx->user, "INBOX", msgs[0], strlen(msgs[0]), NULL, &old, NULL),
			 STORE_OK);
	prepare(fx, "Drafts", &msgs[1], &app, 1);
	assert_int_equal(store_mailbox_delete(fx->user, "Drafts"), STORE_OK);
	assert_int_equal(store_append_commit_replace(&app, NULL, mbox, old, &uid, NULL, &gone),
			 STORE_ENOTFOUND);
	assert_false(gone);
	assert_null(app);
	assert_int_equal(get_status(fx, "INBOX").messages, 1);
	assert_int_equal(get_msg(mbox, old).uid, old);
	store_mailbox_close(&mbox);
	for (size_t i = 0; i < 3; i++)
		free(msgs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_multi_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_over_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_third_too_big, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_multi_mailbox_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
	};
	return FX_RUN("store-multi", tests);
}
