/* Reconcile of changes another program made to a Maildir: a mail client that
 * renames a message file to change its flags (mutt marking it read) has its
 * change taken into the index with a new MODSEQ; keywords beyond the 26
 * file-name letters survive; a known file moved to new/ keeps its flags. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store.h"

#include "store-fixture.h"

/* The fixture for user carol with one writer thread. */
static int setup_carol(void **state)
{
	struct fx *fx = fx_new();
	fx->user_name = "carol";
	fx->set.writer_threads = 1;
	fx_open(fx);
	*state = fx;
	return 0;
}

static uint32_t append(struct fx *fx, uint32_t flags, const char *const *kw, size_t n_kw)
{
	struct store_append *app;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	const char *msg = "Subject: x\r\n\r\nbody\r\n";
	assert_int_equal(store_append_write(app, msg, strlen(msg)), STORE_OK);
	struct store_append_meta meta = { .flags = flags, .keywords = kw, .n_keywords = n_kw };
	uint32_t uid = 0;
	assert_int_equal(store_append_commit(&app, &meta, &uid, NULL), STORE_OK);
	return uid;
}

/* The one file in <user>/<sub>/ (cur or new); heap name. */
static char *only_file(struct fx *fx, const char *sub)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", store_user_dir(fx->user), sub);
	DIR *d = opendir(path);
	assert_non_null(d);
	char *found = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_null(found);
		found = xstrdup(de->d_name);
	}
	closedir(d);
	assert_non_null(found);
	return found;
}

static void rename_in_user(struct fx *fx, const char *from_sub, const char *from,
			   const char *to_sub, const char *to)
{
	char a[900], b[900];
	snprintf(a, sizeof(a), "%s/%s/%s", store_user_dir(fx->user), from_sub, from);
	snprintf(b, sizeof(b), "%s/%s/%s", store_user_dir(fx->user), to_sub, to);
	assert_int_equal(rename(a, b), 0);
}

static struct store_msg get(struct fx *fx, uint32_t uid, char ***kw_r)
{
	struct store_mailbox *mbox;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", true, &mbox), STORE_OK);
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, uid, &m, kw_r), STORE_OK);
	store_mailbox_close(&mbox);
	return m;
}

static void free_kw(char **kw, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(kw[i]);
	free(kw);
}

static void test_external_flag_change_is_taken(void **state)
{
	struct fx *fx = *state;
	const char *kw[] = { "$Work" };
	uint32_t uid = append(fx, STORE_FLAG_SEEN, kw, 1);
	char **got_kw = NULL;
	struct store_msg before = get(fx, uid, &got_kw);
	free_kw(got_kw, before.n_keywords);
	char *name = only_file(fx, "cur");
	struct maildir_name parsed;
	assert_int_equal(maildir_name_parse(name, &parsed), 0);
	assert_int_equal(parsed.flags, STORE_FLAG_SEEN);
	assert_int_equal(parsed.keyword_bits, 1u); /* $Work is keyword 0: 'a' */

	/* Another program: flagged and replied, no longer seen, keyword gone. */
	usleep(20000); /* a later clock tick than our own last rename */
	char *bare = xstrndup(name, (size_t)(strchr(name, ':') - name));
	char *mutt = xasprintf("%s:2,FR", bare);
	rename_in_user(fx, "cur", name, "cur", mutt);

	struct store_msg after = get(fx, uid, &got_kw);
	assert_int_equal(after.flags, STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED);
	assert_int_equal(after.n_keywords, 0);
	assert_true(after.modseq > before.modseq);
	free_kw(got_kw, after.n_keywords);
	struct store_status st;
	assert_int_equal(store_status(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.unseen, 1);
	assert_true(st.highestmodseq >= after.modseq);

	/* And the file was given its canonical name back, with the new flags. */
	char *now = only_file(fx, "cur");
	assert_int_equal(maildir_name_parse(now, &parsed), 0);
	assert_int_equal(parsed.uid, uid);
	assert_int_equal(parsed.flags, STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED);

	/* Our own flag changes are not mistaken for external ones: after
	 * store_flags_update the file matches the index and reopening the
	 * mailbox changes nothing. */
	struct store_mailbox *mbox;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &mbox), STORE_OK);
	uint32_t uids[] = { uid };
	assert_int_equal(store_flags_update(mbox, uids, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    NULL, 0, 0, NULL), STORE_OK);
	store_mailbox_close(&mbox);
	struct store_msg ours = get(fx, uid, NULL);
	assert_int_equal(ours.flags, STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED | STORE_FLAG_SEEN);
	fx_close(fx);
	fx_open(fx);
	struct store_msg again = get(fx, uid, NULL);
	assert_int_equal(again.modseq, ours.modseq);
	assert_int_equal(again.flags, ours.flags);
	free(now);
	free(mutt);
	free(bare);
	free(name);
}

static void test_keywords_beyond_letters_survive(void **state)
{
	struct fx *fx = *state;
	/* 27 keywords: ids 0..26; id 26 has no file-name letter. */
	char *names[27];
	for (int i = 0; i < 27; i++)
		names[i] = xasprintf("kw%02d", i);
	uint32_t uid = append(fx, 0, (const char *const *)names, 27);
	char *name = only_file(fx, "cur");
	usleep(20000);
	char *bare = xstrndup(name, (size_t)(strchr(name, ':') - name));
	char *ext = xasprintf("%s:2,Sa", bare); /* seen, only keyword 0 of the letters */
	rename_in_user(fx, "cur", name, "cur", ext);

	char **kw = NULL;
	struct store_msg m = get(fx, uid, &kw);
	assert_int_equal(m.flags, STORE_FLAG_SEEN);
	assert_int_equal(m.n_keywords, 2);
	bool has0 = false, has26 = false;
	for (size_t i = 0; i < m.n_keywords; i++) {
		has0 |= strcmp(kw[i], "kw00") == 0;
		has26 |= strcmp(kw[i], "kw26") == 0;
	}
	assert_true(has0 && has26);
	free_kw(kw, m.n_keywords);
	for (int i = 0; i < 27; i++)
		free(names[i]);
	free(ext);
	free(bare);
	free(name);
}

static void test_known_file_moved_to_new_keeps_flags(void **state)
{
	struct fx *fx = *state;
	uint32_t uid = append(fx, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, NULL, 0);
	char *name = only_file(fx, "cur");
	char *bare = xstrndup(name, (size_t)(strchr(name, ':') - name));
	rename_in_user(fx, "cur", name, "new", bare);
	struct store_msg m = get(fx, uid, NULL);
	assert_int_equal(m.flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	char *back = only_file(fx, "cur");
	struct maildir_name parsed;
	assert_int_equal(maildir_name_parse(back, &parsed), 0);
	assert_int_equal(parsed.uid, uid);
	free(back);
	free(bare);
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_external_flag_change_is_taken, setup_carol, teardown),
		cmocka_unit_test_setup_teardown(test_keywords_beyond_letters_survive, setup_carol, teardown),
		cmocka_unit_test_setup_teardown(test_known_file_moved_to_new_keeps_flags, setup_carol, teardown),
	};
	return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
