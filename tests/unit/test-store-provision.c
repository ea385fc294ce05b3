/* Unit tests of the store's new-user mailboxes (store_user_provision) and of
 * the STATUS counters the IMAP front end needs beyond store_status():
 * store_status_recent() (unclaimed \Recent) and vsize (RFC822.SIZE sum,
 * bare-LF messages counted with CRLF). Each test runs on a fresh store in
 * its own temporary directory. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/store.h"

struct fx {
	char dir[64];
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
	struct store_settings set = { .mail_dir = fx->dir };
	assert_int_equal(store_create(&set, &fx->store), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "bob", &fx->user), STORE_OK);
}

static void fx_close(struct fx *fx)
{
	store_user_close(&fx->user);
	store_destroy(&fx->store);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/loft-test-provision-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx_open(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	fx_close(fx);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* The user's mailboxes as "name=use,name=use" (use in hex, 's' if subscribed). */
static char *tree(struct fx *fx)
{
	struct store_mailbox_info *list;
	size_t n;
	assert_int_equal(store_mailbox_list(fx->user, &list, &n), STORE_OK);
	static char out[1024];
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[128];
		snprintf(one, sizeof(one), "%s%s=%x%s", i ? "," : "", list[i].name,
			 list[i].special_use, list[i].subscribed ? "s" : "");
		strcat(out, one);
	}
	store_mailbox_list_free(list, n);
	return out;
}

static const struct store_initial_mailbox defaults[] = {
	{ "Drafts", STORE_SPECIAL_DRAFTS },
	{ "Sent", STORE_SPECIAL_SENT },
	{ "Trash", STORE_SPECIAL_TRASH },
	{ "Lists/Work", 0 },
};

static void test_provision_once(void **state)
{
	struct fx *fx = *state;
	assert_string_equal(tree(fx), "INBOX=0");
	assert_int_equal(store_user_provision(fx->user, defaults, 4), STORE_OK);
	assert_string_equal(tree(fx), "INBOX=0,Drafts=4s,Lists=0,Lists/Work=0s,Sent=20s,Trash=40s");
	/* a deleted one stays deleted: the second login creates nothing */
	assert_int_equal(store_mailbox_delete(fx->user, "Trash"), STORE_OK);
	assert_int_equal(store_user_provision(fx->user, defaults, 4), STORE_OK);
	fx_close(fx);
	fx_open(fx);
	assert_int_equal(store_user_provision(fx->user, defaults, 4), STORE_OK);
	assert_string_equal(tree(fx), "INBOX=0,Drafts=4s,Lists=0,Lists/Work=0s,Sent=20s");
}

static void test_provision_existing(void **state)
{
	struct fx *fx = *state;
	/* an imported tree: "Sent Messages" already is \Sent, "Drafts" exists
	 * without a role, "Junk" has another role */
	assert_int_equal(store_mailbox_create(fx->user, "Sent Messages", STORE_SPECIAL_SENT),
			 STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Drafts", 0), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Junk", STORE_SPECIAL_ARCHIVE), STORE_OK);
	const struct store_initial_mailbox list[] = {
		{ "Drafts", STORE_SPECIAL_DRAFTS },
		{ "Sent", STORE_SPECIAL_SENT },
		{ "Junk", STORE_SPECIAL_JUNK },
		{ "bad//name", 0 },
		{ "Archive", STORE_SPECIAL_ARCHIVE },
	};
	assert_int_equal(store_user_provision(fx->user, list, 5), STORE_OK);
	/* Drafts got its role; Sent was not made twice; Junk kept its own
	 * role; the invalid name was skipped; \Archive belongs to Junk */
	assert_string_equal(tree(fx), "INBOX=0,Drafts=4s,Junk=2,Sent Messages=20");
}

static void test_provision_nothing(void **state)
{
	struct fx *fx = *state;
	/* an empty list records nothing: a list configured later still applies */
	assert_int_equal(store_user_provision(fx->user, NULL, 0), STORE_OK);
	assert_int_equal(store_user_provision(fx->user, defaults, 1), STORE_OK);
	assert_string_equal(tree(fx), "INBOX=0,Drafts=4s");
}

static void append(struct fx *fx, const char *box, const char *text)
{
	struct store_append *app;
	assert_int_equal(store_append_begin(fx->user, box, &app), STORE_OK);
	assert_int_equal(store_append_write(app, text, strlen(text)), STORE_OK);
	struct store_append_meta meta = { 0 };
	assert_int_equal(store_append_commit(&app, &meta, NULL, NULL), STORE_OK);
}

static void test_status_recent_and_vsize(void **state)
{
	struct fx *fx = *state;
	const char *crlf = "Subject: a\r\n\r\nbody\r\n";      /* 20 bytes */
	const char *lf = "Subject: b\n\nbody\nmore\n";        /* 22 bytes, 26 with CRLF */
	append(fx, "INBOX", crlf);
	append(fx, "INBOX", lf);
	struct store_status st;
	assert_int_equal(store_status(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.recent, 0);           /* store_status does not count */
	assert_int_equal(st.size, 20 + 22);
	assert_int_equal(st.vsize, 20 + 26);
	assert_int_equal(store_status_recent(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.recent, 2);
	assert_int_equal(st.vsize, 20 + 26);
	/* a read-only view claims nothing; a read-write one claims both */
	struct store_mailbox *ro, *rw;
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", true, &ro), STORE_OK);
	assert_int_equal(store_status_recent(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.recent, 2);
	assert_int_equal(store_mailbox_open(fx->user, "INBOX", false, &rw), STORE_OK);
	assert_int_equal(store_status_recent(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.recent, 0);
	/* new mail is unclaimed until the view looks again */
	append(fx, "INBOX", crlf);
	append(fx, "INBOX", crlf);
	assert_int_equal(store_status_recent(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.recent, 2);
	struct store_status vs;
	assert_int_equal(store_mailbox_status(rw, &vs), STORE_OK);
	assert_int_equal(vs.recent, 4);           /* the view's own: all four */
	assert_int_equal(vs.vsize, 3 * 20 + 26);
	assert_int_equal(store_status_recent(fx->user, "INBOX", &st), STORE_OK);
	assert_int_equal(st.recent, 0);
	store_mailbox_close(&ro);
	store_mailbox_close(&rw);
	assert_int_equal(store_status_recent(fx->user, "Nope", &st), STORE_ENOTFOUND);
	assert_int_equal(store_status_recent(fx->user, "a//b", &st), STORE_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_provision_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_recent_and_vsize, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
