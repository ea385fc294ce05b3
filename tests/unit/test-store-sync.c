/* Unit tests of the store support for IMAP sync, POP3 and the message
 * parser (storage/store.h): session views (sequence numbers, one atomic
 * sync, deferred expunges, pruned tombstones), ranged flag/expunge/copy in
 * batches, object ids, lazy \Recent and cache writes, the CRLF reader,
 * tombstone retention and the async writer calls. */
#include <pthread.h>
#include <time.h>

#include "store-fixture.h"
#include "storage/store-debug.h"

static uint32_t add_n(struct fx *fx, const char *box, unsigned n)
{
	uint32_t last = 0;
	for (unsigned i = 0; i < n; i++)
		last = add(fx->user, box, i);
	return last;
}

/* ---- views ---- */

static void test_view_mapping(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 10);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint32_t gone[] = { 3, 4, 7 };
	assert_int_equal(store_expunge(mbox, gone, 3, false, NULL), STORE_OK);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	assert_int_equal(store_view_count(v), 7);
	static const uint32_t want[] = { 1, 2, 5, 6, 8, 9, 10 };
	for (uint32_t s = 1; s <= 7; s++) {
		assert_int_equal(store_view_uid(v, s), want[s - 1]);
		assert_int_equal(store_view_seq(v, want[s - 1]), s);
	}
	assert_int_equal(store_view_uid(v, 0), 0);
	assert_int_equal(store_view_uid(v, 8), 0);
	assert_int_equal(store_view_seq(v, 3), 0);
	assert_int_equal(store_view_seq_ceil(v, 3), 3);
	assert_int_equal(store_view_seq_ceil(v, 7), 5);
	assert_int_equal(store_view_seq_ceil(v, 11), 8);
	assert_int_equal(store_view_uidnext(v), 11);
	store_view_close(&v);
	assert_null(v);
	store_mailbox_close(&mbox);
}

static void test_view_compact(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 600);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	assert_int_equal(store_view_count(v), 600);
	/* consecutive UIDs are one run: far less than 4 bytes a message */
	assert_true(store_view_memory(v) < 200);
	assert_int_equal(store_view_uid(v, 600), 600);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

struct sync_rec {
	uint32_t exp_seq[16], exp_uid[16], n_exp;
	uint32_t changed[16], changed_flags[16], n_changed;
	uint32_t added[16], n_added;
	uint64_t changed_modseq[16];
};

static int rec_expunged(uint32_t seq, uint32_t uid, void *ctx)
{
	struct sync_rec *r = ctx;
	r->exp_seq[r->n_exp] = seq;
	r->exp_uid[r->n_exp++] = uid;
	return 0;
}

static int rec_changed(const struct store_msg *m, void *ctx)
{
	struct sync_rec *r = ctx;
	r->changed_flags[r->n_changed] = m->flags;
	r->changed_modseq[r->n_changed] = m->modseq;
	r->changed[r->n_changed++] = m->uid;
	return 0;
}

static int rec_added(const struct store_msg *m, void *ctx)
{
	struct sync_rec *r = ctx;
	r->added[r->n_added++] = m->uid;
	return 0;
}

static const struct store_view_ops rec_ops = { rec_expunged, rec_changed, rec_added };

static void test_view_sync(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 6);
	struct store_mailbox *mine = open_box(fx, "INBOX", false);
	struct store_mailbox *other = open_box(fx, "INBOX", false);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mine, &v), STORE_OK);
	struct store_view_sync_info info;
	struct sync_rec r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_view_sync(v, 0, &rec_ops, &r, &info), STORE_OK);
	assert_int_equal(r.n_exp + r.n_changed + r.n_added, 0);

	/* another session: expunge 2 and 4, flag 5, two new messages */
	uint32_t gone[] = { 2, 4 };
	assert_int_equal(store_expunge(other, gone, 2, false, NULL), STORE_OK);
	set_flags(other, 5, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED);
	add_n(fx, "INBOX", 2);
	/* nothing moved until we ask */
	assert_int_equal(store_view_count(v), 6);
	assert_int_equal(store_view_uid(v, 4), 4);

	assert_int_equal(store_view_sync(v, 0, &rec_ops, &r, &info), STORE_OK);
	/* EXPUNGE numbering: 2 is seq 2, then 4 has become seq 3 */
	assert_int_equal(r.n_exp, 2);
	assert_int_equal(r.exp_uid[0], 2);
	assert_int_equal(r.exp_seq[0], 2);
	assert_int_equal(r.exp_uid[1], 4);
	assert_int_equal(r.exp_seq[1], 3);
	assert_int_equal(r.n_changed, 1);
	assert_int_equal(r.changed[0], 5);
	assert_true(r.changed_flags[0] & STORE_FLAG_FLAGGED);
	assert_int_equal(r.n_added, 2);
	assert_int_equal(r.added[0], 7);
	assert_int_equal(r.added[1], 8);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(info.exists, st.messages);
	assert_int_equal(info.uidnext, st.uidnext);
	assert_int_equal(info.highestmodseq, st.highestmodseq);
	assert_int_equal(store_view_count(v), 6);
	assert_int_equal(store_view_uid(v, 5), 7);
	assert_int_equal(store_view_highestmodseq(v), st.highestmodseq);
	/* a second sync has nothing */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_view_sync(v, 0, &rec_ops, &r, &info), STORE_OK);
	assert_int_equal(r.n_exp + r.n_changed + r.n_added, 0);
	store_view_close(&v);
	store_mailbox_close(&mine);
	store_mailbox_close(&other);
}

static void test_view_no_expunge(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 4);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	uint32_t gone = 2;
	assert_int_equal(store_expunge(mbox, &gone, 1, false, NULL), STORE_OK);
	add_n(fx, "INBOX", 1);
	struct sync_rec r;
	memset(&r, 0, sizeof(r));
	struct store_view_sync_info info;
	assert_int_equal(store_view_sync(v, STORE_VIEW_NO_EXPUNGE, &rec_ops, &r, &info), STORE_OK);
	assert_true(info.expunges_pending);
	assert_int_equal(r.n_exp, 0);
	assert_int_equal(r.n_added, 1);
	assert_int_equal(store_view_count(v), 5);   /* 2 still holds its number */
	assert_int_equal(store_view_uid(v, 2), 2);
	assert_int_equal(store_view_sync(v, 0, &rec_ops, &r, &info), STORE_OK);
	assert_false(info.expunges_pending);
	assert_int_equal(r.n_exp, 1);
	assert_int_equal(r.exp_uid[0], 2);
	assert_int_equal(store_view_count(v), 4);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

/* Retention pruned the tombstones the view needs: the view still learns
 * every expunge (full compare), and status tells how far pruning went. */
static void test_view_sync_after_prune(void **state)
{
	struct fx *fx = *state;
	fx->set.tombstone_max_count = 1;
	fx_open(fx);
	add_n(fx, "INBOX", 6);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	for (uint32_t uid = 1; uid <= 3; uid++)
		assert_int_equal(store_expunge(mbox, &uid, 1, false, NULL), STORE_OK);
	struct store_status st = get_status(fx, "INBOX");
	assert_true(st.pruned_modseq > store_view_highestmodseq(v));
	struct store_uid_list vanished;
	assert_int_equal(store_changes_since(mbox, 0, NULL, NULL, &vanished), STORE_OK);
	assert_int_equal(vanished.count, 1);       /* only one tombstone kept */
	store_uid_list_free(&vanished);
	struct sync_rec r;
	memset(&r, 0, sizeof(r));
	struct store_view_sync_info info;
	assert_int_equal(store_view_sync(v, 0, &rec_ops, &r, &info), STORE_OK);
	assert_int_equal(r.n_exp, 3);
	assert_int_equal(r.exp_seq[0], 1);
	assert_int_equal(r.exp_seq[2], 1);
	assert_int_equal(info.pruned_modseq, st.pruned_modseq);
	assert_int_equal(store_view_count(v), 3);
	store_view_close(&v);
	store_mailbox_close(&mbox);
}

/* A view opens from the cached copy of the last view and syncs forward:
 * after appends, expunges (also past the retention) and flag changes it
 * holds exactly the mailbox's UIDs, as a view built from scratch would. */
struct uids_of {
	uint32_t uids[64];
	size_t n;
};

static int uids_cb(const struct store_msg *m, void *ctx)
{
	struct uids_of *u = ctx;
	u->uids[u->n++] = m->uid;
	return 0;
}

static void check_view_exact(struct fx *fx, struct store_mailbox *mbox)
{
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	struct uids_of u = { .n = 0 };
	assert_int_equal(store_msg_scan(mbox, 1, UINT32_MAX, uids_cb, &u), STORE_OK);
	assert_int_equal(store_view_count(v), u.n);
	for (size_t i = 0; i < u.n; i++)
		assert_int_equal(store_view_uid(v, (uint32_t)i + 1), u.uids[i]);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(store_view_highestmodseq(v), st.highestmodseq);
	assert_int_equal(store_view_uidnext(v), st.uidnext);
	store_view_close(&v);
}

static void test_view_open_from_cache(void **state)
{
	struct fx *fx = *state;
	fx->set.tombstone_max_count = 2;
	fx_open(fx);
	add_n(fx, "INBOX", 10);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	check_view_exact(fx, mbox);                 /* built; cached at close */
	uint32_t gone[] = { 2, 5 };
	assert_int_equal(store_expunge(mbox, gone, 2, false, NULL), STORE_OK);
	add_n(fx, "INBOX", 3);
	set_flags(mbox, 7, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED);
	check_view_exact(fx, mbox);                 /* from the cache, synced */
	for (uint32_t uid = 6; uid <= 9; uid++)     /* past the retention */
		assert_int_equal(store_expunge(mbox, &uid, 1, false, NULL), STORE_OK);
	check_view_exact(fx, mbox);
	/* an open view with held expunges, cached at close, still converges */
	struct store_view *v = NULL;
	assert_int_equal(store_view_open(mbox, &v), STORE_OK);
	uint32_t one = 1;
	assert_int_equal(store_expunge(mbox, &one, 1, false, NULL), STORE_OK);
	struct store_view_sync_info info;
	assert_int_equal(store_view_sync(v, STORE_VIEW_NO_EXPUNGE, NULL, NULL, &info), STORE_OK);
	assert_true(info.expunges_pending);
	store_view_close(&v);
	check_view_exact(fx, mbox);
	store_mailbox_close(&mbox);
}

static void test_tombstone_age(void **state)
{
	struct fx *fx = *state;
	fx->set.tombstone_max_age = 1;
	fx_open(fx);
	add_n(fx, "INBOX", 3);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	uint32_t uid = 1;
	assert_int_equal(store_expunge(mbox, &uid, 1, false, NULL), STORE_OK);
	assert_int_equal(get_status(fx, "INBOX").pruned_modseq, 0);
	struct timespec ts = { 2, 100000000L };
	nanosleep(&ts, NULL);
	set_flags(mbox, 2, STORE_FLAGS_ADD, STORE_FLAG_SEEN);   /* any write prunes */
	assert_true(get_status(fx, "INBOX").pruned_modseq > 0);
	struct store_uid_list vanished;
	assert_int_equal(store_changes_since(mbox, 0, NULL, NULL, &vanished), STORE_OK);
	assert_int_equal(vanished.count, 0);
	store_mailbox_close(&mbox);
}

/* ---- ranges in batches ---- */

struct changes { uint32_t n, last_uid; uint64_t last_modseq; bool ordered; };

static int changes_cb(const struct store_msg *m, void *ctx)
{
	struct changes *c = ctx;
	if (m->uid <= c->last_uid || !(m->flags & STORE_FLAG_SEEN) || m->n_keywords != 1 ||
	    strcmp(m->keywords[0], "$Done") != 0)
		c->ordered = false;
	c->last_uid = m->uid;
	c->last_modseq = m->modseq;
	c->n++;
	return 0;
}

static void test_ranges_batched(void **state)
{
	struct fx *fx = *state;
	fx->set.batch_messages = 7;
	fx_open(fx);
	add_n(fx, "INBOX", 50);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	set_flags(mbox, 10, STORE_FLAGS_ADD, STORE_FLAG_SEEN);
	const char *kw[] = { "$Done" };
	struct store_uid_range all = { 1, UINT32_MAX };
	struct changes c = { .ordered = true };
	uint64_t commits = store_debug_commit_count(fx->store);
	struct store_uid_set failed;
	uint64_t hms = get_status(fx, "INBOX").highestmodseq;
	assert_int_equal(store_flags_update_set(mbox, &all, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, kw,
						1, 0, changes_cb, &c, &failed), STORE_OK);
	assert_int_equal(failed.count, 0);
	assert_int_equal(c.n, 50);
	assert_true(c.ordered);
	assert_int_equal(c.last_modseq, get_status(fx, "INBOX").highestmodseq);
	assert_true(c.last_modseq > hms);
	/* 50 messages in batches of 7: 8 durable commits, not one */
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 8);

	/* UNCHANGEDSINCE over a range: a compact failed set */
	struct store_uid_range some = { 20, 29 };
	set_flags(mbox, 25, STORE_FLAGS_ADD, STORE_FLAG_ANSWERED);
	assert_int_equal(store_flags_update_set(mbox, &some, 1, STORE_FLAGS_ADD, STORE_FLAG_FLAGGED,
						NULL, 0, c.last_modseq, NULL, NULL, &failed), STORE_OK);
	assert_int_equal(failed.count, 1);
	assert_int_equal(failed.ranges[0].lo, 25);
	assert_int_equal(failed.ranges[0].hi, 25);
	store_uid_set_free(&failed);

	/* copy 1:* as COPYUID ranges */
	assert_int_equal(store_mailbox_create(fx->user, "Archive", 0), STORE_OK);
	struct store_uid_set src, dst;
	uint32_t uv = 0;
	assert_int_equal(store_copy_set(mbox, &all, 1, "Archive", false, &src, &dst, &uv), STORE_OK);
	assert_int_equal(src.count, 1);
	assert_int_equal(src.ranges[0].lo, 1);
	assert_int_equal(src.ranges[0].hi, 50);
	assert_int_equal(dst.count, 1);
	assert_int_equal(store_uid_set_size(&dst), 50);
	assert_int_equal(uv, get_status(fx, "Archive").uidvalidity);
	store_uid_set_free(&src);
	store_uid_set_free(&dst);

	/* expunge two ranges */
	struct store_uid_range two[] = { { 3, 5 }, { 40, UINT32_MAX } };
	struct store_uid_set gone;
	assert_int_equal(store_expunge_set(mbox, two, 2, false, &gone), STORE_OK);
	assert_int_equal(gone.count, 2);
	assert_int_equal(store_uid_set_size(&gone), 3 + 11);
	store_uid_set_free(&gone);
	assert_int_equal(get_status(fx, "INBOX").messages, 50 - 14);
	store_mailbox_close(&mbox);
}

/* A copy that fails after its first batches leaves the destination with
 * no new messages. */
static void test_copy_failure_undone(void **state)
{
	struct fx *fx = *state;
	fx->set.batch_messages = 4;
	fx->set.quota_messages = 16;
	fx_open(fx);
	add_n(fx, "INBOX", 10);
	assert_int_equal(store_mailbox_create(fx->user, "Dest", 0), STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct store_uid_range all = { 1, UINT32_MAX };
	assert_int_equal(store_copy_set(mbox, &all, 1, "Dest", false, NULL, NULL, NULL),
			 STORE_EQUOTA);
	assert_int_equal(get_status(fx, "Dest").messages, 0);
	assert_int_equal(get_status(fx, "INBOX").messages, 10);
	store_mailbox_close(&mbox);
}

/* ---- ids ---- */

static bool id_chars_ok(const char *s)
{
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

struct ids { char uidl[STORE_ID_LEN + 1], emailid[STORE_ID_LEN + 2]; uint32_t uid; };

static struct ids ids_of(struct store_mailbox *mbox, uint32_t uid)
{
	struct store_msg m = get_msg(mbox, uid);
	struct ids r = { .uid = uid };
	store_msg_uidl(&m, r.uidl);
	store_msg_emailid(&m, r.emailid);
	return r;
}

static void test_ids(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 3);
	assert_int_equal(store_mailbox_create(fx->user, "Copy", 0), STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	struct ids a = ids_of(mbox, 1), b = ids_of(mbox, 2);
	assert_int_equal(strlen(a.uidl), STORE_ID_LEN);
	assert_true(id_chars_ok(a.uidl));
	assert_true(a.emailid[0] == 'M' && id_chars_ok(a.emailid));
	assert_string_not_equal(a.uidl, b.uidl);
	assert_string_not_equal(a.emailid, b.emailid);
	uint32_t uid = 1;
	struct store_uid_list s, d;
	assert_int_equal(store_copy(mbox, &uid, 1, "INBOX", false, &s, &d, NULL), STORE_OK);
	struct ids c = ids_of(mbox, d.uids[0]);
	assert_string_equal(c.emailid, a.emailid);       /* same email */
	assert_string_not_equal(c.uidl, a.uidl);         /* another file, another UIDL */
	store_uid_list_free(&s);
	store_uid_list_free(&d);
	uid = 2;
	assert_int_equal(store_copy(mbox, &uid, 1, "Copy", true, &s, &d, NULL), STORE_OK);
	struct store_mailbox *cp = open_box(fx, "Copy", true);
	struct ids moved = ids_of(cp, d.uids[0]);
	assert_string_equal(moved.uidl, b.uidl);         /* a move keeps both */
	assert_string_equal(moved.emailid, b.emailid);
	store_uid_list_free(&s);
	store_uid_list_free(&d);
	store_mailbox_close(&cp);
	store_mailbox_close(&mbox);

	/* ids survive a rebuild */
	store_user_close(&fx->user);
	assert_int_equal(store_index_rebuild(fx->store, "alice", NULL, NULL), STORE_OK);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);
	mbox = open_box(fx, "INBOX", false);
	struct ids a2 = ids_of(mbox, 1), c2 = ids_of(mbox, c.uid);
	assert_string_equal(a2.uidl, a.uidl);
	assert_string_equal(c2.uidl, c.uidl);
	assert_string_equal(c2.emailid, a.emailid);
	store_mailbox_close(&mbox);
}

/* ---- lazy bookkeeping ---- */

static void test_recent_no_commit(void **state)
{
	struct fx *fx = *state;
	add_n(fx, "INBOX", 3);
	uint64_t commits = store_debug_commit_count(fx->store);
	uint64_t lazy = store_debug_lazy_commit_count(fx->store);
	struct store_mailbox *m1 = open_box(fx, "INBOX", false);
	struct store_status st;
	assert_int_equal(store_mailbox_status(m1, &st), STORE_OK);
	assert_int_equal(st.recent, 3);
	struct store_mailbox *m2 = open_box(fx, "INBOX", false);
	assert_int_equal(store_mailbox_status(m2, &st), STORE_OK);
	assert_int_equal(st.recent, 0);
	/* claiming cost no commit at all */
	assert_int_equal(store_debug_commit_count(fx->store), commits);
	assert_int_equal(store_debug_lazy_commit_count(fx->store), lazy);
	store_mailbox_close(&m1);
	store_mailbox_close(&m2);
	/* the claim is written when the environment closes */
	fx_reopen(fx);
	m1 = open_box(fx, "INBOX", false);
	assert_int_equal(store_mailbox_status(m1, &st), STORE_OK);
	assert_int_equal(st.recent, 0);
	store_mailbox_close(&m1);
	/* and rides the next commit: a new message, claimed, then a crash-free
	 * reopen after another write still shows it claimed */
	add_n(fx, "INBOX", 1);
	m1 = open_box(fx, "INBOX", false);
	assert_int_equal(store_mailbox_status(m1, &st), STORE_OK);
	assert_int_equal(st.recent, 1);
	store_mailbox_close(&m1);
}

static void test_cache_lazy(void **state)
{
	struct fx *fx = *state;
	char *text = make_msg(1, 2, "\r\n");
	const char blob[] = "parsed-v1";
	struct store_append_meta meta = { .cache = blob, .cache_len = sizeof(blob) };
	uint64_t commits = store_debug_commit_count(fx->store);
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, "INBOX", text, strlen(text), &meta, &uid, NULL),
			 STORE_OK);
	free(text);
	assert_int_equal(store_debug_commit_count(fx->store) - commits, 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	void *data = NULL;
	size_t len = 0;
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(data, blob, len);
	free(data);
	commits = store_debug_commit_count(fx->store);
	uint64_t lazy = store_debug_lazy_commit_count(fx->store);
	assert_int_equal(store_msg_cache_set(mbox, uid, "v2", 2), STORE_OK);
	assert_int_equal(store_debug_commit_count(fx->store), commits);
	assert_int_equal(store_debug_lazy_commit_count(fx->store) - lazy, 1);
	assert_int_equal(store_msg_cache_get(mbox, uid, &data, &len), STORE_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(data, "v2", 2);
	free(data);
	store_mailbox_close(&mbox);
}

/* ---- the CRLF reader ---- */

static void check_reader(struct fx *fx, const char *text, size_t len)
{
	/* the expected CRLF form */
	char *want = xmalloc(2 * len + 1);
	size_t wl = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			want[wl++] = '\r';
		want[wl++] = text[i];
	}
	uint32_t uid = 0;
	assert_int_equal(try_append(fx->user, "INBOX", text, len, NULL, &uid, NULL), STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	assert_int_equal(get_msg(mbox, uid).vsize, wl);
	struct store_reader *r = NULL;
	uint64_t vsize = 0;
	assert_int_equal(store_reader_open(mbox, uid, &r, &vsize), STORE_OK);
	assert_int_equal(vsize, wl);
	char *got = xmalloc(wl + 1);
	size_t off = 0, n;
	do {   /* odd chunk sizes split CR from LF */
		assert_int_equal(store_reader_read(r, got + off, 4093 < wl + 1 - off ? 4093 :
						   wl + 1 - off, &n), STORE_OK);
		off += n;
	} while (n > 0);
	assert_int_equal(off, wl);
	assert_memory_equal(got, want, wl);
	/* seeks: every checkpoint neighbourhood and offsets inside CRLFs */
	uint64_t offs[] = { 0, 1, 65535, 65536, 65537, 131071, 131072, wl / 2, wl - 1, wl };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (uint64_t d = 0; d < 3; d++) {
			uint64_t o = offs[i] + d > wl ? wl : offs[i] + d;
			char piece[300];
			assert_int_equal(store_reader_seek(r, o), STORE_OK);
			assert_int_equal(store_reader_read(r, piece, sizeof(piece), &n), STORE_OK);
			size_t exp = wl - o < sizeof(piece) ? wl - o : sizeof(piece);
			assert_int_equal(n, exp);
			assert_memory_equal(piece, want + o, n);
		}
	}
	/* raw offsets at line starts map to their CRLF offsets (the section
	 * ranges of the MIME parser), and pread gives the stored bytes */
	uint64_t virt = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == 0 || text[i - 1] == '\n') {
			uint64_t at = 0;
			assert_int_equal(store_reader_seek_raw(r, i, &at), STORE_OK);
			assert_int_equal(at, virt);
			if (i % 7 == 0 || i > len - 200) {
				char piece[100];
				assert_int_equal(store_reader_read(r, piece, sizeof(piece), &n), STORE_OK);
				assert_int_equal(n, wl - at < sizeof(piece) ? wl - at : sizeof(piece));
				assert_memory_equal(piece, want + at, n);
			}
		}
		if (i < len)
			virt += text[i] == '\n' && (i == 0 || text[i - 1] != '\r') ? 2 : 1;
	}
	char raw[200];
	assert_int_equal(store_reader_pread(r, len / 2, raw, sizeof(raw), &n), STORE_OK);
	assert_int_equal(n, len - len / 2 < sizeof(raw) ? len - len / 2 : sizeof(raw));
	assert_memory_equal(raw, text + len / 2, n);
	assert_int_equal(store_reader_pread(r, len, raw, sizeof(raw), &n), STORE_OK);
	assert_int_equal(n, 0);
	store_reader_close(&r);
	assert_null(r);
	free(got);
	free(want);
	store_mailbox_close(&mbox);
}

static void test_reader_lf(void **state)
{
	struct fx *fx = *state;
	char *text = make_msg(7, 4000, "\n");   /* ~250 KiB with bare LF */
	check_reader(fx, text, strlen(text));
	free(text);
	text = make_msg(8, 3000, "\r\n");       /* already CRLF */
	check_reader(fx, text, strlen(text));
	free(text);
	/* mixed, and a CR at a checkpoint boundary before an LF */
	size_t len = 3 * 65536 + 100;
	char *mix = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		mix[i] = i % 61 == 60 ? '\n' : i % 97 == 96 ? '\r' : 'x';
	mix[65535] = '\r';
	mix[65536] = '\n';
	mix[131071] = 'y';
	mix[131072] = '\n';
	check_reader(fx, mix, len);
	/* under one checkpoint step: no index pass, the same bytes */
	check_reader(fx, mix, 4000);
	mix[3998] = '\r';
	mix[3999] = '\n';
	check_reader(fx, mix, 4000);
	free(mix);
	text = make_msg(9, 40, "\n");
	check_reader(fx, text, strlen(text));
	free(text);
}

/* ---- async ---- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls, err;
	uint32_t uid;
	pthread_t thread;
};

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

static void waiter_wait(struct waiter *w, int calls)
{
	pthread_mutex_lock(&w->lock);
	while (w->calls < calls)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void append_cb(int err, uint32_t uid, uint32_t uidvalidity, void *ctx)
{
	struct waiter *w = ctx;
	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->uid = uidvalidity != 0 ? uid : 0;
	w->thread = pthread_self();
	w->calls++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void done_cb(int err, void *ctx)
{
	append_cb(err, 1, 1, ctx);
}

static void test_async(void **state)
{
	struct fx *fx = *state;
	struct waiter w;
	waiter_init(&w);
	struct store_append *app = NULL;
	assert_int_equal(store_append_begin(fx->user, "INBOX", &app), STORE_OK);
	char *text = make_msg(3, 1, "\r\n");
	assert_int_equal(store_append_write(app, text, strlen(text)), STORE_OK);
	free(text);
	struct store_append_meta meta = { .flags = STORE_FLAG_DRAFT };
	store_append_commit_async(&app, &meta, append_cb, &w);
	assert_null(app);
	waiter_wait(&w, 1);
	assert_int_equal(w.err, STORE_OK);
	assert_int_equal(w.uid, 1);
	assert_false(pthread_equal(w.thread, pthread_self()));   /* a writer thread */
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	assert_true(get_msg(mbox, 1).flags & STORE_FLAG_DRAFT);
	uint32_t uid = 1;
	store_flags_update_async(mbox, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0,
				 done_cb, &w);
	waiter_wait(&w, 2);
	assert_int_equal(w.err, STORE_OK);
	assert_true(get_msg(mbox, 1).flags & STORE_FLAG_DELETED);
	store_expunge_async(mbox, &uid, 1, true, done_cb, &w);
	waiter_wait(&w, 3);
	assert_int_equal(w.err, STORE_OK);
	struct store_msg m;
	assert_int_equal(store_msg_get(mbox, 1, &m, NULL), STORE_ENOTFOUND);
	/* errors reach the callback too */
	struct store_mailbox *ro = open_box(fx, "INBOX", true);
	store_expunge_async(ro, &uid, 1, true, done_cb, &w);
	waiter_wait(&w, 4);
	assert_int_equal(w.err, STORE_ENOPERM);
	store_mailbox_close(&ro);
	store_mailbox_close(&mbox);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_view_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_open_from_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_no_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_sync_after_prune, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_age, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_batched, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_copy_failure_undone, setup_closed, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent_no_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_lf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
	};
	return FX_RUN("store-sync", tests);
}
