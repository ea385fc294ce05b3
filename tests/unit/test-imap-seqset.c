/* Unit tests of IMAP sequence sets (server/imap/seqset.c): the grammar of
 * RFC 9051 (numbers, ranges, "*", "$"), resolution against a real store
 * view with gaps (RFC 9051 rules for "*" on an empty mailbox, numbers past
 * EXISTS, reversed ranges, UID ranges past the last UID) and the store
 * helpers it rests on: store_view_uid_ranges, store_uid_set_push_range and
 * store_keywords. */
#include "store-fixture.h"

#include "server/imap/outbuf.h"
#include "server/imap/seqset.h"

static void test_parse(void **state)
{
	(void)state;
	static const char *const good[] = {
		"1", "*", "1:*", "*:1", "1,2,3", "5:7,9,*", "4294967295", "2:4294967295", "$",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct imap_seqset s;
		assert_int_equal(imap_seqset_parse(good[i], &s), 0);
		imap_seqset_free(&s);
	}
	static const char *const bad[] = {
		"", "0", "01", "1:", ":1", "1,", ",1", "1:2:3", "a", "1 2", "4294967296", "$,1",
		"1,$", "-1", "1:0", "**", "1;2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_seqset s;
		assert_int_equal(imap_seqset_parse(bad[i], &s), -1);
		assert_null(s.r);
	}
	struct imap_seqset s;
	assert_int_equal(imap_seqset_parse("3:*,7", &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].a, 3);
	assert_int_equal(s.r[0].b, 0);
	assert_int_equal(s.r[1].a, 7);
	assert_int_equal(s.r[1].b, 7);
	imap_seqset_free(&s);
}

/* A view of UIDs 1 2 5 6 8 9 10 (3, 4, 7 expunged). */
static struct store_view *gappy_view(struct fx *fx, struct store_mailbox **mbox_r)
{
	for (unsigned i = 0; i < 10; i++)
		add(fx->user, "INBOX", i);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint32_t gone[] = { 3, 4, 7 };
	assert_int_equal(store_expunge(mbox, gone, 3, false, NULL), STORE_OK);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	*mbox_r = mbox;
	return v;
}

/* Resolve text and compare the formatted UID set with want (NULL: BAD). */
static void check(const struct store_view *v, const char *text, bool by_uid,
		  const struct store_uid_set *saved, const char *want)
{
	struct imap_seqset s;
	assert_int_equal(imap_seqset_parse(text, &s), 0);
	struct store_uid_set out = { 0 };
	const char *why = NULL;
	int r = imap_seqset_resolve(&s, by_uid, v, saved, &out, &why);
	imap_seqset_free(&s);
	if (want == NULL) {
		assert_int_equal(r, -1);
		assert_non_null(why);
		store_uid_set_free(&out);
		return;
	}
	assert_int_equal(r, 0);
	struct imap_outbuf b = { 0 };
	imap_uidset_format(&b, &out);
	assert_string_equal(b.len ? b.data : "", want);
	imap_outbuf_free(&b);
	store_uid_set_free(&out);
}

static void test_resolve_seq(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox *mbox;
	struct store_view *v = gappy_view(fx, &mbox);
	check(v, "1:*", false, NULL, "1:2,5:6,8:10");
	check(v, "*", false, NULL, "10");
	check(v, "*:3", false, NULL, "5:6,8:10");       /* a range reads either way */
	check(v, "2,1", false, NULL, "1:2");
	check(v, "3:4,4:5", false, NULL, "5:6,8");
	check(v, "7", false, NULL, "10");
	check(v, "8", false, NULL, NULL);               /* past EXISTS: BAD */
	check(v, "1:8", false, NULL, NULL);
	check(v, "4294967295", false, NULL, NULL);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

static void test_resolve_uid(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox *mbox;
	struct store_view *v = gappy_view(fx, &mbox);
	check(v, "1:*", true, NULL, "1:2,5:6,8:10");
	check(v, "3:4", true, NULL, "");                /* expunged: nothing */
	check(v, "3:7", true, NULL, "5:6");
	check(v, "100:*", true, NULL, "10");            /* always the last one */
	check(v, "*:100", true, NULL, "10");
	check(v, "11:20", true, NULL, "");
	check(v, "4294967295", true, NULL, "");
	check(v, "1:4294967295", true, NULL, "1:2,5:6,8:10");
	check(v, "9,2,5:6", true, NULL, "2,5:6,9");
	/* "$": the saved result, only what is still in the view */
	struct store_uid_set saved = { 0 };
	store_uid_set_push_range(&saved, 2, 4);
	store_uid_set_push(&saved, 9);
	check(v, "$", true, &saved, "2,9");
	check(v, "$", false, &saved, "2,9");
	check(v, "$", false, NULL, "");
	store_uid_set_free(&saved);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

static void test_resolve_empty(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	/* RFC 9051 9: "*" in an empty mailbox is a BAD for message numbers */
	check(v, "*", false, NULL, NULL);
	check(v, "1:*", false, NULL, NULL);
	check(v, "1", false, NULL, NULL);
	/* and UIDNEXT for UIDs: nothing to name */
	check(v, "1:*", true, NULL, "");
	check(v, "*", true, NULL, "");
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

static void test_view_uid_ranges(void **state)
{
	struct fx *fx = *state;
	struct store_mailbox *mbox;
	struct store_view *v = gappy_view(fx, &mbox);
	struct store_uid_set set = { 0 };
	store_view_uid_ranges(v, 2, 5, &set);          /* UIDs 2 5 6 8 */
	assert_int_equal(set.count, 3);
	assert_int_equal(set.ranges[0].lo, 2);
	assert_int_equal(set.ranges[0].hi, 2);
	assert_int_equal(set.ranges[1].lo, 5);
	assert_int_equal(set.ranges[1].hi, 6);
	assert_int_equal(set.ranges[2].lo, 8);
	assert_int_equal(set.ranges[2].hi, 8);
	store_view_uid_ranges(v, 6, 100, &set);        /* 9 10: joins the 8 */
	assert_int_equal(set.count, 3);
	assert_int_equal(set.ranges[2].hi, 10);
	assert_int_equal(store_uid_set_size(&set), 6);
	store_uid_set_free(&set);
	store_view_uid_ranges(v, 0, 0, &set);
	store_view_uid_ranges(v, 8, 9, &set);
	assert_int_equal(set.count, 0);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

static void test_keyword_list(void **state)
{
	struct fx *fx = *state;
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(store_keywords(fx->user, &names, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_strv_free(names, n);
	uint32_t uid = add(fx->user, "INBOX", 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	const char *zeta = "zeta", *alpha = "Alpha";
	assert_int_equal(store_flags_update(mbox, &uid, 1, STORE_FLAGS_ADD, 0, &zeta, 1, 0, NULL), 0);
	assert_int_equal(store_flags_update(mbox, &uid, 1, STORE_FLAGS_ADD, 0, &alpha, 1, 0, NULL), 0);
	assert_int_equal(store_flags_update(mbox, &uid, 1, STORE_FLAGS_REMOVE, 0, &zeta, 1, 0, NULL),
			 0);
	assert_int_equal(store_keywords(fx->user, &names, &n), STORE_OK);
	assert_int_equal(n, 2);                         /* known, even when unused */
	assert_string_equal(names[0], "Alpha");
	assert_string_equal(names[1], "zeta");
	store_strv_free(names, n);
	store_mailbox_close(&mbox);
}

static void test_uidset_helpers(void **state)
{
	(void)state;
	struct store_uid_set set = { 0 };
	store_uid_set_push_range(&set, 3, 5);
	store_uid_set_push_range(&set, 6, 6);
	store_uid_set_push(&set, 9);
	store_uid_set_push_range(&set, 11, UINT32_MAX);
	assert_int_equal(set.count, 3);
	assert_true(imap_uidset_has(&set, 3));
	assert_true(imap_uidset_has(&set, 6));
	assert_false(imap_uidset_has(&set, 7));
	assert_true(imap_uidset_has(&set, 9));
	assert_false(imap_uidset_has(&set, 10));
	assert_true(imap_uidset_has(&set, UINT32_MAX));
	assert_false(imap_uidset_has(&set, 1));
	struct imap_outbuf b = { 0 };
	imap_uidset_format(&b, &set);
	assert_string_equal(b.data, "3:6,9,11:4294967295");
	imap_outbuf_free(&b);
	store_uid_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_resolve_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_uid_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyword_list, setup, teardown),
		cmocka_unit_test(test_uidset_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
