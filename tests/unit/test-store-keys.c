/* Unit tests of the mailboxes' access keys (store_mailbox_key,
 * store_mailbox_key_reset: the secrets IMAP URLAUTH tokens are keyed
 * with): made once per mailbox and then only read, different per mailbox,
 * kept across a reopen, forgotten by a reset of one mailbox or of all, and
 * gone with a deleted mailbox. */
#include "storage/store-debug.h"
#include "store-fixture.h"

typedef unsigned char key_t_[STORE_MAILBOX_KEY_LEN];

static void test_key_lifecycle(void **state)
{
	struct fx *fx = *state;
	key_t_ a, a2, b, c;
	uint32_t uidv = 0;
	assert_int_equal(store_mailbox_create(fx->user, "Work", 0), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", false, a, &uidv), STORE_ENOTFOUND);
	uint64_t commits = store_debug_commit_count(fx->store);
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", true, a, &uidv), STORE_OK);
	assert_int_equal(uidv, get_status(fx, "INBOX").uidvalidity);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	/* Read again: the same key, no commit. */
	commits = store_debug_commit_count(fx->store);
	assert_int_equal(store_mailbox_key(fx->user, "inbox", true, a2, NULL), STORE_OK);
	assert_memory_equal(a, a2, sizeof(a));
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", false, a2, NULL), STORE_OK);
	assert_memory_equal(a, a2, sizeof(a));
	assert_int_equal(store_debug_commit_count(fx->store), commits);
	/* Another mailbox, another key. */
	assert_int_equal(store_mailbox_key(fx->user, "Work", true, b, &uidv), STORE_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(uidv, get_status(fx, "Work").uidvalidity);
	/* Kept across a reopen. */
	fx_reopen(fx);
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", false, a2, NULL), STORE_OK);
	assert_memory_equal(a, a2, sizeof(a));
	/* A reset of one mailbox. */
	assert_int_equal(store_mailbox_key_reset(fx->user, "INBOX"), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", false, a2, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_key(fx->user, "Work", false, c, NULL), STORE_OK);
	assert_memory_equal(b, c, sizeof(b));
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", true, a2, NULL), STORE_OK);
	assert_memory_not_equal(a, a2, sizeof(a));
	/* Reset everything. */
	assert_int_equal(store_mailbox_key_reset(fx->user, NULL), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "INBOX", false, c, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_key(fx->user, "Work", false, c, NULL), STORE_ENOTFOUND);
	/* A mailbox that does not exist. */
	assert_int_equal(store_mailbox_key(fx->user, "Nope", true, c, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_key_reset(fx->user, "Nope"), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_key(fx->user, "a//b", true, c, NULL), STORE_EINVALID);
}

static void test_key_gone_with_mailbox(void **state)
{
	struct fx *fx = *state;
	key_t_ a, b;
	assert_int_equal(store_mailbox_create(fx->user, "Tmp", 0), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "Tmp", true, a, NULL), STORE_OK);
	assert_int_equal(store_mailbox_delete(fx->user, "Tmp"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Tmp", 0), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "Tmp", false, b, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_mailbox_key(fx->user, "Tmp", true, b, NULL), STORE_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	/* A rename keeps the mailbox (same id) and so its key. */
	assert_int_equal(store_mailbox_rename(fx->user, "Tmp", "Kept"), STORE_OK);
	assert_int_equal(store_mailbox_key(fx->user, "Kept", false, a, NULL), STORE_OK);
	assert_memory_equal(a, b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_gone_with_mailbox, setup, teardown),
	};
	return FX_RUN("store-keys", tests);
}
