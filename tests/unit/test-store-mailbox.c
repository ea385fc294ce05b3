/* Unit tests of the store API (storage/store.h): the store and users (open,
 * LRU, errors), mailbox names, create/list/delete, rename, subscriptions,
 * special-use, and views of deleted mailboxes. */
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

/* RFC 8474 MAILBOXID: one per mailbox, kept by RENAME, never reused. */
static void test_mailboxid(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "A", 0), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "B", 0), STORE_OK);
	struct store_status a = get_status(fx, "A"), b = get_status(fx, "B");
	struct store_status inbox = get_status(fx, "INBOX");
	assert_int_equal(strlen(a.mailboxid), STORE_ID_LEN + 1);
	assert_int_equal(a.mailboxid[0], 'F');
	assert_int_equal(strspn(a.mailboxid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789-_"), STORE_ID_LEN + 1);
	assert_string_not_equal(a.mailboxid, b.mailboxid);
	assert_string_not_equal(a.mailboxid, inbox.mailboxid);
	/* an open view says the same */
	struct store_mailbox *mbox = open_box(fx, "A", true);
	struct store_status v;
	assert_int_equal(store_mailbox_status(mbox, &v), STORE_OK);
	assert_string_equal(v.mailboxid, a.mailboxid);
	store_mailbox_close(&mbox);
	/* RENAME keeps it; a new mailbox of the old name gets another */
	assert_int_equal(store_mailbox_rename(fx->user, "A", "C/D"), STORE_OK);
	assert_string_equal(get_status(fx, "C/D").mailboxid, a.mailboxid);
	assert_int_equal(store_mailbox_create(fx->user, "A", 0), STORE_OK);
	struct store_status a2 = get_status(fx, "A");
	assert_string_not_equal(a2.mailboxid, a.mailboxid);
	/* deleted and made again: another one */
	assert_int_equal(store_mailbox_delete(fx->user, "B"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "B", 0), STORE_OK);
	assert_string_not_equal(get_status(fx, "B").mailboxid, b.mailboxid);
	/* RENAME INBOX makes a new mailbox; INBOX stays itself */
	assert_int_equal(store_mailbox_rename(fx->user, "INBOX", "Old"), STORE_OK);
	assert_string_equal(get_status(fx, "INBOX").mailboxid, inbox.mailboxid);
	assert_string_not_equal(get_status(fx, "Old").mailboxid, inbox.mailboxid);
	/* and across a reopen of the store */
	fx_reopen(fx);
	assert_string_equal(get_status(fx, "C/D").mailboxid, a.mailboxid);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test_setup_teardown(test_user_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_lru, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_invalid_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_create_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailboxid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_of_deleted_mailbox, setup, teardown),
	};
	return FX_RUN("store-mailbox", tests);
}
