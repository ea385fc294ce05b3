/* Spam verdicts kept with messages (store.h "spam verdicts"): written in
 * the append's commit, read back by store_msg_spam_get, carried by copy and
 * move, gone with expunge and with the mailbox, absent for messages no
 * filter looked at, and kept across a reopen of the store. */
#include "tests/unit/store-fixture.h"

static uint32_t add_spam(struct fx *fx, const char *mailbox, unsigned idx, uint8_t verdict,
			 int32_t score, int32_t required)
{
	char *text = make_msg(idx, 3, "\r\n");
	struct store_append_meta meta = { .spam = { .verdict = verdict, .action = 5,
						    .score_milli = score,
						    .required_milli = required } };
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, mailbox, text, strlen(text), &meta, &uid, NULL),
			 STORE_OK);
	free(text);
	return uid;
}

static void expect_spam(struct store_mailbox *mbox, uint32_t uid, uint8_t verdict, int32_t score,
			int32_t required)
{
	struct store_spam s;
	assert_int_equal(store_msg_spam_get(mbox, uid, &s), STORE_OK);
	assert_int_equal(s.verdict, verdict);
	assert_int_equal(s.action, 5);
	assert_int_equal(s.score_milli, score);
	assert_int_equal(s.required_milli, required);
}

static void test_append_get(void **state)
{
	struct fx *fx = *state;
	uint32_t spam = add_spam(fx, "INBOX", 1, STORE_SPAM_SPAM, 15000, 15000);
	uint32_t ham = add_spam(fx, "INBOX", 2, STORE_SPAM_HAM, -2500, 15000);
	uint32_t plain = add(fx->user, "INBOX", 3);
	uint32_t unscanned = add_spam(fx, "INBOX", 4, STORE_SPAM_UNSCANNED, 0, 0);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	expect_spam(mbox, spam, STORE_SPAM_SPAM, 15000, 15000);
	expect_spam(mbox, ham, STORE_SPAM_HAM, -2500, 15000);
	expect_spam(mbox, unscanned, STORE_SPAM_UNSCANNED, 0, 0);
	struct store_spam s = { .verdict = 9 };
	assert_int_equal(store_msg_spam_get(mbox, plain, &s), STORE_ENOTFOUND);
	assert_int_equal(s.verdict, STORE_SPAM_NONE);
	assert_int_equal(store_msg_spam_get(mbox, 999, &s), STORE_ENOTFOUND);
	store_mailbox_close(&mbox);

	fx_reopen(fx);
	mbox = open_box(fx, "INBOX", true);
	expect_spam(mbox, spam, STORE_SPAM_SPAM, 15000, 15000);
	expect_spam(mbox, ham, STORE_SPAM_HAM, -2500, 15000);
	store_mailbox_close(&mbox);
}

static void test_copy_move_expunge(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Junk", STORE_SPECIAL_JUNK), STORE_OK);
	uint32_t u1 = add_spam(fx, "INBOX", 1, STORE_SPAM_SPAM, 7250, 15000);
	uint32_t u2 = add_spam(fx, "INBOX", 2, STORE_SPAM_HAM, 100, 15000);
	uint32_t u3 = add(fx->user, "INBOX", 3);
	struct store_mailbox *src = open_box(fx, "INBOX", false);
	struct store_mailbox *junk = open_box(fx, "Junk", false);

	/* copy keeps the source's verdict and gives the copy its own */
	uint32_t uids[] = { u1, u3 };
	struct store_uid_list s = { 0 }, d = { 0 };
	assert_int_equal(store_copy(src, uids, 2, "Junk", false, &s, &d, NULL), STORE_OK);
	assert_int_equal(d.count, 2);
	expect_spam(src, u1, STORE_SPAM_SPAM, 7250, 15000);
	expect_spam(junk, d.uids[0], STORE_SPAM_SPAM, 7250, 15000);
	struct store_spam sp;
	assert_int_equal(store_msg_spam_get(junk, d.uids[1], &sp), STORE_ENOTFOUND);
	store_uid_list_free(&s);
	store_uid_list_free(&d);

	/* move carries it and leaves nothing behind in the source */
	assert_int_equal(store_copy(src, &u2, 1, "Junk", true, &s, &d, NULL), STORE_OK);
	assert_int_equal(d.count, 1);
	assert_int_equal(store_msg_spam_get(src, u2, &sp), STORE_ENOTFOUND);
	expect_spam(junk, d.uids[0], STORE_SPAM_HAM, 100, 15000);
	uint32_t moved = d.uids[0];
	store_uid_list_free(&s);
	store_uid_list_free(&d);

	/* expunge drops it */
	assert_int_equal(store_expunge(src, &u1, 1, false, NULL), STORE_OK);
	assert_int_equal(store_msg_spam_get(src, u1, &sp), STORE_ENOTFOUND);
	store_mailbox_close(&src);
	store_mailbox_close(&junk);

	/* deleting the mailbox drops its entries; a new one of the same name
	 * starts clean (mailbox ids are never reused) */
	assert_int_equal(store_mailbox_delete(fx->user, "Junk"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Junk", STORE_SPECIAL_JUNK), STORE_OK);
	uint32_t again = add(fx->user, "Junk", 9);
	junk = open_box(fx, "Junk", true);
	assert_int_equal(store_msg_spam_get(junk, again, &sp), STORE_ENOTFOUND);
	assert_int_equal(store_msg_spam_get(junk, moved, &sp), STORE_ENOTFOUND);
	store_mailbox_close(&junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move_expunge, setup, teardown),
	};
	return FX_RUN("store-spam", tests);
}
