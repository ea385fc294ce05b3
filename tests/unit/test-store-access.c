/* Unit tests of the store API (storage/store.h) that POP3 relies on:
 * named exclusive locks (store_lock_*: held once across opens, freed on
 * release, their stamp kept) and UIDLs imported from a Dovecot
 * dovecot-uidlist (store_legacy_uidls: versions 1 and 3, P fields, the
 * pop3_uidl_format expansion, bad lines and duplicates skipped). */
#include "store-fixture.h"

static void test_lock(void **state)
{
	struct fx *fx = *state;
	struct store_lock *a = NULL, *b = NULL;
	int64_t last = -1;
	assert_int_equal(store_lock_take(fx->user, "pop3", &a, &last), STORE_OK);
	assert_int_equal(last, 0);
	assert_int_equal(store_lock_take(fx->user, "pop3", &b, NULL), STORE_EINUSE);
	assert_null(b);
	assert_int_equal(store_lock_take(fx->user, "other", &b, NULL), STORE_OK);
	store_lock_release(&b);
	assert_int_equal(store_lock_take(fx->user, "../x", &b, NULL), STORE_EINVALID);
	assert_int_equal(store_lock_take(fx->user, "", &b, NULL), STORE_EINVALID);
	assert_int_equal(store_lock_stamp(a, 1700000000), STORE_OK);
	store_lock_release(&a);
	assert_null(a);
	store_lock_release(&a);   /* twice is harmless */
	/* another open of the same user (shares the environment) */
	struct store_user *again = NULL;
	assert_int_equal(store_user_open(fx->store, "alice", &again), STORE_OK);
	assert_int_equal(store_lock_take(again, "pop3", &a, &last), STORE_OK);
	assert_int_equal(last, 1700000000);
	assert_int_equal(store_lock_take(fx->user, "pop3", &b, NULL), STORE_EINUSE);
	store_lock_release(&a);
	store_user_close(&again);
	/* survives a restart of the store; the index check ignores the file */
	fx_reopen(fx);
	assert_int_equal(store_lock_take(fx->user, "pop3", &a, &last), STORE_OK);
	assert_int_equal(last, 1700000000);
	store_lock_release(&a);
	struct store_check_report rep;
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
}

struct got { uint32_t uid[16]; char uidl[16][80]; size_t n; };

static void collect(uint32_t uid, const char *uidl, void *ctx)
{
	struct got *g = ctx;
	assert_true(g->n < 16);
	g->uid[g->n] = uid;
	snprintf(g->uidl[g->n], sizeof(g->uidl[0]), "%s", uidl);
	g->n++;
}

static const char *uidl_of(const struct got *g, uint32_t uid)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->uid[i] == uid)
			return g->uidl[i];
	return NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Drop the named files into INBOX's cur/ and let the store adopt them
 * (another program's files, as a migration leaves them). */
static void adopt(struct fx *fx, const char *const *names, size_t n)
{
	const char *dir = store_user_dir(fx->user);
	for (size_t i = 0; i < n; i++) {
		char path[700];
		snprintf(path, sizeof(path), "%s/cur/%s", dir, names[i]);
		write_file(path, "Subject: migrated\n\nhello\n");
	}
	fx_reopen(fx);
}

static int find_uid(const struct store_msg *m, void *ctx)
{
	struct { const char *base; uint32_t uid; } *w = ctx;
	if (strcmp(m->id_base, w->base) == 0)
		w->uid = m->uid;
	return 0;
}

static uint32_t uid_of_base(struct fx *fx, const char *base)
{
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct { const char *base; uint32_t uid; } w = { base, 0 };
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, find_uid, &w), STORE_OK);
	store_mailbox_close(&mbox);
	assert_int_not_equal(w.uid, 0);
	return w.uid;
}

static struct got legacy(struct fx *fx, const char *format, int want_err)
{
	struct got g = { 0 };
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	assert_int_equal(store_legacy_uidls(mbox, format, collect, &g), want_err);
	store_mailbox_close(&mbox);
	return g;
}

static void test_legacy_uidls(void **state)
{
	struct fx *fx = *state;
	legacy(fx, "%08Xu%08Xv", STORE_ENOTFOUND);      /* no list */
	static const char *const names[] = {
		"1700000001.M1P1.old,S=24,W=27:2,S", "1700000002.M2P2.old,S=24:2,",
		"1700000003.M3P3.old", "1700000004.M4P4.old:2,", "1700000005.M5P5.old",
	};
	adopt(fx, names, 5);
	char path[700];
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", store_user_dir(fx->user));
	write_file(path,
		   "3 V1234567890 N9 Gfeedbeef\n"
		   "1 :1700000001.M1P1.old,S=24,W=27\n"
		   "2 P0000abcd W27 :1700000002.M2P2.old,S=24\n"
		   "3 G0123 :1700000003.M3P3.old\r\n"
		   "4 P0000abcd :1700000004.M4P4.old\n"          /* duplicate UIDL */
		   "junk line\n"
		   "0 :1700000009.M9P9.old\n"                  /* UID 0 */
		   "6 :1700000006.M6P6.notthere\n"             /* no such file */
		   "7 Pwith\x01ctl :1700000005.M5P5.old\n");   /* not printable */
	struct got g = legacy(fx, "%08Xu%08Xv", STORE_OK);
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000001.M1P1.old")),
			    "00000001499602D2");
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000002.M2P2.old")), "0000abcd");
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000003.M3P3.old")),
			    "00000003499602D2");
	assert_null(uidl_of(&g, uid_of_base(fx, "1700000004.M4P4.old")));
	assert_null(uidl_of(&g, uid_of_base(fx, "1700000005.M5P5.old")));
	assert_int_equal(g.n, 3);
	g = legacy(fx, "%v.%u-%f%%", STORE_OK);
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000001.M1P1.old")),
			    "1234567890.1-1700000001.M1P1.old%");
	g = legacy(fx, "%5x", STORE_OK);                  /* "%5xu": width 5, hex */
	assert_int_equal(g.n, 1);                         /* only the P field */
	g = legacy(fx, "%5xu", STORE_OK);                 /* "    1": spaces */
	assert_int_equal(g.n, 1);
	g = legacy(fx, "%05xu", STORE_OK);
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000003.M3P3.old")), "00003");
	assert_int_equal(g.n, 3);
	/* version 1 */
	write_file(path, "1 42 9\n1 1700000001.M1P1.old,S=24\n3 1700000003.M3P3.old:2,S\n");
	g = legacy(fx, "%u-%v", STORE_OK);
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000001.M1P1.old")), "1-42");
	assert_string_equal(uidl_of(&g, uid_of_base(fx, "1700000003.M3P3.old")), "3-42");
	/* an unknown version is no list */
	write_file(path, "7 V1\n1 :1700000001.M1P1.old\n");
	g = legacy(fx, "%u", STORE_OK);
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_uidls, setup, teardown),
	};
	return FX_RUN("store-access", tests);
}
