/* Unit tests of the annotations (store_annot_get/set, IMAP METADATA):
 * per mailbox and for the server, DEPTH, delete by NULL value, one commit
 * per set, the limits (all or nothing), kept across a reopen and a
 * rename, gone with a deleted mailbox, and values holding NULs. */
#include "storage/store-debug.h"
#include "store-fixture.h"

static const struct store_annot_limits LIM = { .max_value = 8, .max_entries = 3 };

static void set1(struct fx *fx, const char *mbox, const char *entry, const char *value, int want)
{
	struct store_annot a = { (char *)entry, (char *)value, value ? strlen(value) : 0 };
	assert_int_equal(store_annot_set(fx->user, mbox, &a, 1, &LIM), want);
}

/* "name=value,name=value" of what get returns. */
static char *get(struct fx *fx, const char *mbox, const char *entry, int depth)
{
	struct store_annot *l;
	size_t n;
	static char buf[512];
	buf[0] = '\0';
	int err = store_annot_get(fx->user, mbox, &entry, 1, depth, &l, &n);
	if (err != 0) {
		snprintf(buf, sizeof(buf), "error %d", err);
		return buf;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s=%s", i ? "," : "",
			 l[i].entry, l[i].value);
	store_annot_free(l, n);
	return buf;
}

static void test_get_set_depth(void **state)
{
	struct fx *fx = *state;
	uint64_t commits = store_debug_commit_count(fx->store);
	struct store_annot two[] = { { "/shared/a", "1", 1 }, { "/shared/a/b", "2", 1 } };
	assert_int_equal(store_annot_set(fx->user, "INBOX", two, 2, &LIM), STORE_OK);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	set1(fx, "INBOX", "/shared/a/b/c", "3", STORE_OK);
	assert_string_equal(get(fx, "INBOX", "/shared/a", 0), "/shared/a=1");
	assert_string_equal(get(fx, "INBOX", "/shared/a", 1), "/shared/a=1,/shared/a/b=2");
	assert_string_equal(get(fx, "INBOX", "/shared", STORE_ANNOT_INFINITY),
			    "/shared/a=1,/shared/a/b=2,/shared/a/b/c=3");
	/* "/shared/a" is no prefix of "/shared/ab" */
	assert_string_equal(get(fx, "INBOX", "/shared/a/", 0), "");
	assert_string_equal(get(fx, "INBOX", "/shared/a/b", 0), "/shared/a/b=2");
	/* the server's are apart */
	assert_string_equal(get(fx, NULL, "/shared", STORE_ANNOT_INFINITY), "");
	set1(fx, NULL, "/private/x", "s", STORE_OK);
	assert_string_equal(get(fx, NULL, "/private/x", 0), "/private/x=s");
	assert_string_equal(get(fx, "inbox", "/private/x", 0), "");
	/* delete */
	set1(fx, "INBOX", "/shared/a/b", NULL, STORE_OK);
	set1(fx, "INBOX", "/shared/none", NULL, STORE_OK);
	assert_string_equal(get(fx, "INBOX", "/shared", STORE_ANNOT_INFINITY),
			    "/shared/a=1,/shared/a/b/c=3");
	fx_reopen(fx);
	assert_string_equal(get(fx, NULL, "/private/x", 0), "/private/x=s");
	assert_string_equal(get(fx, "Nope", "/private/x", 0), "error -1");
	set1(fx, "Nope", "/private/x", "1", STORE_ENOTFOUND);
}

static void test_limits(void **state)
{
	struct fx *fx = *state;
	set1(fx, "INBOX", "/private/a", "12345678", STORE_OK);
	set1(fx, "INBOX", "/private/b", "123456789", STORE_ETOOBIG);
	struct store_annot three[] = { { "/private/b", "1", 1 }, { "/private/c", "2", 1 },
				       { "/private/d", "3", 1 } };
	assert_int_equal(store_annot_set(fx->user, "INBOX", three, 3, &LIM), STORE_EQUOTA);
	assert_string_equal(get(fx, "INBOX", "/private", 1), "/private/a=12345678");
	assert_int_equal(store_annot_set(fx->user, "INBOX", three, 2, &LIM), STORE_OK);
	set1(fx, "INBOX", "/private/d", "3", STORE_EQUOTA);
	set1(fx, "INBOX", "/private/a", "new", STORE_OK);   /* no growth */
	/* a value with NULs */
	struct store_annot nul = { "/private/n", "a\0b", 3 };
	set1(fx, "INBOX", "/private/c", NULL, STORE_OK);
	assert_int_equal(store_annot_set(fx->user, "INBOX", &nul, 1, &LIM), STORE_OK);
	struct store_annot *l;
	size_t n;
	const char *e = "/private/n";
	assert_int_equal(store_annot_get(fx->user, "INBOX", &e, 1, 0, &l, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].len, 3);
	assert_memory_equal(l[0].value, "a\0b", 3);
	store_annot_free(l, n);
}

static void test_rename_delete(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Tmp", 0), STORE_OK);
	set1(fx, "Tmp", "/shared/comment", "t", STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "Tmp", "Kept"), STORE_OK);
	assert_string_equal(get(fx, "Kept", "/shared/comment", 0), "/shared/comment=t");
	assert_int_equal(store_mailbox_delete(fx->user, "Kept"), STORE_OK);
	assert_int_equal(store_mailbox_create(fx->user, "Kept", 0), STORE_OK);
	assert_string_equal(get(fx, "Kept", "/shared/comment", 0), "");
	set1(fx, "INBOX", "/shared/comment", "in", STORE_OK);
	assert_int_equal(store_mailbox_rename(fx->user, "INBOX", "Old"), STORE_OK);
	assert_string_equal(get(fx, "Old", "/shared/comment", 0), "/shared/comment=in");
	assert_string_equal(get(fx, "INBOX", "/shared/comment", 0), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_set_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_delete, setup, teardown),
	};
	return FX_RUN("store-annot", tests);
}
