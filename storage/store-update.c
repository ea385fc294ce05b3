/* Changes to messages of a view: flag/keyword updates, expunge and
 * copy/move, over UID ranges split into durable batches (each batch one
 * writer op: one nested txn in a group commit) of at most batch_messages
 * messages, so `1:*` on a huge mailbox neither builds a per-message array
 * nor holds one giant transaction. The UID-array APIs are the same
 * operations on the ranges their UIDs form. Each changed message gets a new
 * MODSEQ; expunges leave tombstones. Expunges and copies fsync their
 * directories; flag renames do not (the index is authoritative for flags). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/msg-files.h"
#include "storage/store-keywords.h"
#include "storage/store-private.h"
#include "storage/store-quota.h"
#include "storage/writer.h"

#define DEFAULT_BATCH 1000

/* ---- UID sets ---- */

void store_uid_set_push(struct store_uid_set *set, uint32_t uid)
{
	if (set->count > 0 && set->ranges[set->count - 1].hi != UINT32_MAX &&
	    set->ranges[set->count - 1].hi + 1 == uid) {
		set->ranges[set->count - 1].hi = uid;
		return;
	}
	if (set->count == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 4;
		set->ranges = xrealloc(set->ranges, set->cap * sizeof(*set->ranges));
	}
	set->ranges[set->count++] = (struct store_uid_range){ uid, uid };
}

bool store_uid_set_has(const struct store_uid_set *set, uint32_t uid)
{
	size_t lo = 0, hi = set->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->ranges[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->count && set->ranges[lo].lo <= uid;
}

void store_uid_set_push_range(struct store_uid_set *set, uint32_t lo, uint32_t hi)
{
	if (set->count > 0 && set->ranges[set->count - 1].hi != UINT32_MAX &&
	    set->ranges[set->count - 1].hi + 1 == lo) {
		set->ranges[set->count - 1].hi = hi;
		return;
	}
	store_uid_set_push(set, lo);
	set->ranges[set->count - 1].hi = hi;
}

uint64_t store_uid_set_size(const struct store_uid_set *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

void store_uid_set_free(struct store_uid_set *set)
{
	if (set == NULL)
		return;
	x_free(&set->ranges);
	set->count = set->cap = 0;
}

static void set_to_list(struct store_uid_set *set, struct store_uid_list *list)
{
	uint64_t n = store_uid_set_size(set);
	list->uids = n > 0 ? xmalloc(n * sizeof(*list->uids)) : NULL;
	list->count = 0;
	for (size_t i = 0; i < set->count; i++) {
		for (uint64_t u = set->ranges[i].lo; u <= set->ranges[i].hi; u++)
			list->uids[list->count++] = (uint32_t)u;
	}
	store_uid_set_free(set);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The ranges an array of UIDs forms (sorted copy, duplicates merged). */
static struct store_uid_set set_of(const uint32_t *uids, size_t n)
{
	uint32_t *s = xmalloc((n ? n : 1) * sizeof(*s));
	memcpy(s, uids, n * sizeof(*s));
	store_qsort(s, n, sizeof(*s), cmp_u32);
	struct store_uid_set set = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (s[i] != 0 && (set.count == 0 || s[i] > set.ranges[set.count - 1].hi))
			store_uid_set_push(&set, s[i]);
	}
	free(s);
	return set;
}

/* ---- batches over ranges ---- */

struct cursor {
	const struct store_uid_range *r;
	size_t n, i;
	uint32_t next;              /* resume UID within r[i] (0 = its start) */
};

static bool cursor_done(const struct cursor *c)
{
	return c->i >= c->n;
}

/* Records of mailbox mbox_id from the cursor on, at most max, in UID
 * order; the cursor moves past them. buf holds max records. */
static int collect(struct wtxn *w, uint32_t mbox_id, struct cursor *c, size_t max,
		   struct idx_msg *buf, size_t *n_r)
{
	size_t n = 0;
	int err = 0;
	while (!cursor_done(c) && n < max && err == 0) {
		const struct store_uid_range *r = &c->r[c->i];
		uint32_t lo = c->next > r->lo ? c->next : r->lo;
		struct idx_iter it;
		int k = 0;
		err = idx_msg_iter_open(w->idx, w->txn, mbox_id, lo, &it);
		while (err == 0 && n < max && (k = idx_msg_iter_next(&it, &buf[n])) == 1 &&
		       buf[n].uid <= r->hi)
			n++;
		idx_iter_close(&it);
		if (k < 0)
			err = k;
		if (n == max && k == 1 && buf[n - 1].uid < r->hi) {
			c->next = buf[n - 1].uid + 1;   /* the batch is full inside r */
		} else {
			c->i++;
			c->next = 0;
		}
	}
	*n_r = n;
	return err;
}

static size_t batch_size(const struct store_mailbox *mbox)
{
	unsigned b = mbox->user->store->set.batch_messages;
	return b != 0 ? b : DEFAULT_BATCH;
}

static int view_mbox(struct wtxn *w, struct store_mailbox *mbox, struct idx_mbox *mb)
{
	int err = idx_mbox_get(w->idx, w->txn, mbox->id, mb);
	if (err == 0 && mb->uidvalidity != mbox->uidvalidity)
		err = STORE_ENOTFOUND;
	if (err == 0)
		store_view_follow(mbox, mb);   /* renamed meanwhile */
	return err;
}

/* Report changed records to cb with keyword names, in one read txn. */
static int report(struct store_mailbox *mbox, const struct idx_msg *msgs, size_t n,
		  store_msg_cb *cb, void *ctx)
{
	if (cb == NULL || n == 0)
		return 0;
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	struct kwcache kc = { 0 };
	for (size_t i = 0; i < n && err == 0; i++) {
		struct store_msg sm;
		store_fill_msg(&sm, &msgs[i], &kc, idx, txn);
		err = cb(&sm, ctx);
	}
	store_kwcache_free(&kc);
	if (txn != NULL)
		idx_read_end(idx, txn);
	return err;
}

/* ---- flags ---- */

struct op_flags {
	struct wop op;
	struct store_mailbox *mbox;
	struct cursor cur;
	size_t batch;
	enum store_flags_op how;
	uint32_t flags;
	const char *const *keywords;
	size_t n_keywords;
	uint64_t unchangedsince;
	struct idx_msg *buf;        /* the batch's records; changed ones first */
	size_t n_changed;
	struct store_uid_set failed;
	/* async: owned copies and the completion */
	struct store_uid_set owned;
	store_done_cb *cb;
	void *ctx;
};

static int keyword_ids(struct wtxn *w, struct op_flags *o, uint16_t *ids, size_t *n_ids)
{
	*n_ids = 0;
	if (o->how != STORE_FLAGS_REMOVE)
		return o->n_keywords > 0 ? store_keywords_resolve(w, o->keywords, o->n_keywords,
								  ids, n_ids) : 0;
	for (size_t i = 0; i < o->n_keywords; i++) {
		if (o->keywords[i] == NULL || !idx_keyword_valid(o->keywords[i]))
			return STORE_EINVALID;
		uint16_t id;
		int err = idx_keyword_id(w->idx, w->txn, o->keywords[i], false, &id, NULL);
		if (err == STORE_ENOTFOUND)
			continue;
		if (err != 0)
			return err;
		if (*n_ids < STORE_MAX_KEYWORDS_PER_MSG)
			ids[(*n_ids)++] = id;
	}
	return 0;
}

static int run_flags(struct wtxn *w, struct wop *op)
{
	struct op_flags *o = (struct op_flags *)op;
	struct idx_mbox mb;
	uint16_t ids[STORE_MAX_KEYWORDS_PER_MSG];
	size_t n_ids, n = 0;
	o->n_changed = 0;
	int err = view_mbox(w, o->mbox, &mb);
	if (err == 0)
		err = keyword_ids(w, o, ids, &n_ids);
	if (err == 0)
		err = collect(w, mb.id, &o->cur, o->batch, o->buf, &n);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg old = o->buf[i], m = old;
		if (o->unchangedsince != 0 && old.modseq > o->unchangedsince) {
			store_uid_set_push(&o->failed, old.uid);
			continue;
		}
		if ((err = msg_flags_apply(o->how, o->flags, ids, n_ids, &m)) != 0)
			break;
		if (msg_flags_same(&old, &m))
			continue;
		err = idx_msg_update(w->idx, w->txn, &mb, &old, &m);
		if (err == 0)
			err = msg_file_rename(w, o->mbox->dir, &old, &m);
		o->buf[o->n_changed++] = m;
	}
	if (err != 0 || o->n_changed == 0)
		return err;
	err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0)
		wtxn_touch(w, mb.id, o->mbox->dir, true);
	return err;
}

static int check_flags_args(struct store_mailbox *mbox, enum store_flags_op op,
			    const char *const *keywords, size_t n_keywords)
{
	if (mbox->read_only)
		return STORE_ENOPERM;
	if ((n_keywords > 0 && keywords == NULL) ||
	    (op != STORE_FLAGS_SET && op != STORE_FLAGS_ADD && op != STORE_FLAGS_REMOVE))
		return STORE_EINVALID;
	return 0;
}

int store_flags_update_set(struct store_mailbox *mbox, const struct store_uid_range *ranges,
			   size_t n_ranges, enum store_flags_op op, uint32_t flags,
			   const char *const *keywords, size_t n_keywords,
			   uint64_t unchangedsince, store_msg_cb *changed_cb, void *ctx,
			   struct store_uid_set *failed_r)
{
	if (failed_r != NULL)
		*failed_r = (struct store_uid_set){ 0 };
	int err = check_flags_args(mbox, op, keywords, n_keywords);
	if (err != 0 || n_ranges == 0)
		return err;
	if (ranges == NULL)
		return STORE_EINVALID;
	struct op_flags o = { .op = { .run = run_flags, .mbox = { mbox->name } }, .mbox = mbox,
			      .cur = { ranges, n_ranges, 0, 0 }, .batch = batch_size(mbox),
			      .how = op, .flags = flags, .keywords = keywords,
			      .n_keywords = n_keywords, .unchangedsince = unchangedsince };
	o.buf = xmalloc(o.batch * sizeof(*o.buf));
	while (err == 0 && !cursor_done(&o.cur)) {
		err = writer_run(mbox->user, &o.op);
		if (err == 0)
			err = report(mbox, o.buf, o.n_changed, changed_cb, ctx);
	}
	free(o.buf);
	if (err == 0 && failed_r != NULL)
		*failed_r = o.failed;
	else
		store_uid_set_free(&o.failed);
	return err;
}

int store_flags_update(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		       enum store_flags_op op, uint32_t flags, const char *const *keywords,
		       size_t n_keywords, uint64_t unchangedsince, struct store_uid_list *failed_r)
{
	if (failed_r != NULL)
		*failed_r = (struct store_uid_list){ NULL, 0 };
	if (n_uids > 0 && uids == NULL)
		return STORE_EINVALID;
	struct store_uid_set set = set_of(uids, n_uids), failed;
	int err = store_flags_update_set(mbox, set.ranges, set.count, op, flags, keywords,
					 n_keywords, unchangedsince, NULL, NULL, &failed);
	store_uid_set_free(&set);
	if (err == 0 && failed_r != NULL)
		set_to_list(&failed, failed_r);
	else if (err == 0)
		store_uid_set_free(&failed);
	return err;
}

static void flags_done(struct wop *op)
{
	struct op_flags *o = (struct op_flags *)op;
	o->cb(o->op.result, o->ctx);
	store_uid_set_free(&o->owned);
	store_uid_set_free(&o->failed);
	free(o->buf);
	free(o);
}

void store_flags_update_async(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
			      enum store_flags_op op, uint32_t flags,
			      const char *const *keywords, size_t n_keywords,
			      store_done_cb *cb, void *ctx)
{
	int err = check_flags_args(mbox, op, keywords, n_keywords);
	if (err == 0 && n_uids > 0 && uids == NULL)
		err = STORE_EINVALID;
	if (err != 0 || n_uids == 0) {
		cb(err, ctx);
		return;
	}
	struct op_flags *o = xcalloc(1, sizeof(*o));
	o->op = (struct wop){ .run = run_flags, .mbox = { mbox->name }, .free_fn = flags_done };
	o->mbox = mbox;
	o->owned = set_of(uids, n_uids);
	o->cur = (struct cursor){ o->owned.ranges, o->owned.count, 0, 0 };
	o->batch = n_uids;   /* one op: the caller's array bounds it */
	o->buf = xmalloc(n_uids * sizeof(*o->buf));
	o->how = op;
	o->flags = flags;
	o->keywords = keywords;
	o->n_keywords = n_keywords;
	o->cb = cb;
	o->ctx = ctx;
	writer_submit_detached(mbox->user, &o->op);
}

/* ---- expunge ---- */

struct op_expunge {
	struct wop op;
	struct store_mailbox *mbox;
	struct cursor cur;
	size_t batch;
	bool only_deleted;
	struct idx_msg *buf;
	struct store_uid_set done;
	struct store_uid_set owned;
	store_done_cb *cb;
	void *ctx;
};

static int run_expunge(struct wtxn *w, struct wop *op)
{
	struct op_expunge *o = (struct op_expunge *)op;
	struct idx_mbox mb;
	size_t n = 0, removed = 0;
	int err = view_mbox(w, o->mbox, &mb);
	if (err == 0)
		err = collect(w, mb.id, &o->cur, o->batch, o->buf, &n);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg *m = &o->buf[i];
		if (o->only_deleted && !(m->flags & STORE_FLAG_DELETED))
			continue;
		err = idx_msg_remove(w->idx, w->txn, &mb, m);
		if (err == 0)
			err = msg_file_retire(w, o->mbox->dir, m);
		if (err == 0) {
			store_uid_set_push(&o->done, m->uid);
			removed++;
		}
	}
	if (err != 0 || removed == 0)
		return err;
	err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0) {
		char *cur = xasprintf("%s/cur", o->mbox->dir);
		wtxn_fsync_dir(w, cur);
		free(cur);
		wtxn_touch(w, mb.id, o->mbox->dir, true);
	}
	return err;
}

int store_expunge_in_op(struct wtxn *w, struct store_mailbox *mbox, uint32_t uid)
{
	struct store_uid_range r = { uid, uid };
	struct idx_msg m;
	struct op_expunge o = { .mbox = mbox, .cur = { &r, 1, 0, 0 }, .batch = 1, .buf = &m };
	int err = mbox->read_only ? STORE_ENOPERM : run_expunge(w, &o.op);
	bool gone = err == 0 && o.done.count == 0;
	store_uid_set_free(&o.done);
	return err != 0 ? err : gone ? STORE_ENOTFOUND : 0;
}

int store_expunge_set(struct store_mailbox *mbox, const struct store_uid_range *ranges,
		      size_t n_ranges, bool only_deleted, struct store_uid_set *expunged_r)
{
	if (expunged_r != NULL)
		*expunged_r = (struct store_uid_set){ 0 };
	if (mbox->read_only)
		return STORE_ENOPERM;
	if (n_ranges > 0 && ranges == NULL)
		return STORE_EINVALID;
	struct op_expunge o = { .op = { .run = run_expunge, .mbox = { mbox->name } },
				.mbox = mbox, .cur = { ranges, n_ranges, 0, 0 },
				.batch = batch_size(mbox), .only_deleted = only_deleted };
	o.buf = xmalloc(o.batch * sizeof(*o.buf));
	int err = 0;
	while (err == 0 && !cursor_done(&o.cur))
		err = writer_run(mbox->user, &o.op);
	free(o.buf);
	if (expunged_r != NULL && err == 0)
		*expunged_r = o.done;
	else
		store_uid_set_free(&o.done);
	return err;
}

int store_expunge(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		  bool only_deleted, struct store_uid_list *expunged_r)
{
	if (expunged_r != NULL)
		*expunged_r = (struct store_uid_list){ NULL, 0 };
	if (n_uids > 0 && uids == NULL)
		return STORE_EINVALID;
	struct store_uid_set set = set_of(uids, n_uids), done;
	int err = store_expunge_set(mbox, set.ranges, set.count, only_deleted, &done);
	store_uid_set_free(&set);
	if (err == 0 && expunged_r != NULL)
		set_to_list(&done, expunged_r);
	else if (err == 0)
		store_uid_set_free(&done);
	return err;
}

static void expunge_done(struct wop *op)
{
	struct op_expunge *o = (struct op_expunge *)op;
	o->cb(o->op.result, o->ctx);
	store_uid_set_free(&o->owned);
	store_uid_set_free(&o->done);
	free(o->buf);
	free(o);
}

void store_expunge_async(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
			 bool only_deleted, store_done_cb *cb, void *ctx)
{
	int err = mbox->read_only ? STORE_ENOPERM : n_uids > 0 && uids == NULL ? STORE_EINVALID : 0;
	if (err != 0 || n_uids == 0) {
		cb(err, ctx);
		return;
	}
	struct op_expunge *o = xcalloc(1, sizeof(*o));
	o->op = (struct wop){ .run = run_expunge, .mbox = { mbox->name }, .free_fn = expunge_done };
	o->mbox = mbox;
	o->owned = set_of(uids, n_uids);
	o->cur = (struct cursor){ o->owned.ranges, o->owned.count, 0, 0 };
	o->batch = n_uids;
	o->buf = xmalloc(n_uids * sizeof(*o->buf));
	o->only_deleted = only_deleted;
	o->cb = cb;
	o->ctx = ctx;
	writer_submit_detached(mbox->user, &o->op);
}

/* ---- copy / move ---- */

struct op_copy {
	struct wop op;
	struct store_mailbox *src;
	const char *dst_name;
	struct cursor cur;
	size_t batch;
	bool move;
	struct idx_msg *buf;
	struct store_uid_set src_uids, dst_uids;
	uint32_t dst_uidvalidity;
};

static int run_copy(struct wtxn *w, struct wop *op)
{
	struct op_copy *o = (struct op_copy *)op;
	struct idx_mbox src, dst_rec, *dst = &dst_rec;
	size_t n = 0;
	int err = view_mbox(w, o->src, &src);
	if (err == 0)
		err = idx_mbox_by_name(w->idx, w->txn, o->dst_name, &dst_rec);
	if (err == 0 && dst_rec.id == src.id)
		dst = &src;
	if (err == 0)
		err = collect(w, src.id, &o->cur, o->batch, o->buf, &n);
	if (err != 0)
		return err;
	o->dst_uidvalidity = dst->uidvalidity;
	if (n == 0)
		return 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += o->buf[i].size;
	if (!o->move)
		err = store_quota_check(w, bytes, n);
	if (err == 0 && idx_space_low(w->idx, w->txn))
		err = STORE_EIO;
	if (err == 0 && (uint64_t)dst->uidnext + n >= UINT32_MAX)
		err = STORE_EIO;
	char *dst_dir = store_mailbox_path(w->u, o->dst_name);
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg *m = &o->buf[i], nm = *m;
		nm.uid = dst->uidnext++;
		nm.save_date = now;
		if (!o->move) {
			/* a copy is a new file but the same email (EMAILID) */
			if (nm.origin[0] == '\0')
				memcpy(nm.origin, nm.base, sizeof(nm.origin));
			maildir_new_base(nm.base, sizeof(nm.base));
		}
		/* the verdict first: removing the source drops its entry */
		err = idx_spam_carry(w->idx, w->txn, src.id, m->uid, dst->id, nm.uid);
		if (err == 0 && o->move)
			err = idx_msg_remove(w->idx, w->txn, &src, m);
		if (err == 0)
			err = idx_msg_insert(w->idx, w->txn, dst, &nm);
		if (err == 0)
			err = msg_file_place(w, o->move, o->src->dir, dst_dir, m, &nm);
		if (err == 0) {
			store_uid_set_push(&o->src_uids, m->uid);
			store_uid_set_push(&o->dst_uids, nm.uid);
		}
	}
	if (err == 0 && dst != &src)
		err = idx_mbox_put(w->idx, w->txn, dst, false);
	if (err == 0 && (o->move || dst == &src))
		err = idx_mbox_put(w->idx, w->txn, &src, false);
	if (err == 0) {
		char *cur = xasprintf("%s/cur", dst_dir);
		wtxn_fsync_dir(w, cur);
		free(cur);
		wtxn_touch(w, dst->id, dst_dir, true);
		if (o->move) {
			cur = xasprintf("%s/cur", o->src->dir);
			wtxn_fsync_dir(w, cur);
			free(cur);
			wtxn_touch(w, src.id, o->src->dir, true);
		}
	}
	free(dst_dir);
	return err;
}

/* A copy failed after earlier batches committed: expunge what it made. */
static void undo_copies(struct store_user *user, const char *dst, const struct store_uid_set *made)
{
	struct store_mailbox *mbox = NULL;
	if (made->count == 0 || store_mailbox_open(user, dst, true, &mbox) != 0)
		return;
	mbox->read_only = false;   /* a view of our own, never claims \Recent */
	if (store_expunge_set(mbox, made->ranges, made->count, false, NULL) != 0)
		log_warn("store: user=%s: copies of a failed COPY to %s remain", user->name, dst);
	store_mailbox_close(&mbox);
}

int store_copy_set(struct store_mailbox *src, const struct store_uid_range *ranges,
		   size_t n_ranges, const char *dst_mailbox, bool move,
		   struct store_uid_set *src_r, struct store_uid_set *dst_r,
		   uint32_t *dst_uidvalidity_r)
{
	if (src_r != NULL)
		*src_r = (struct store_uid_set){ 0 };
	if (dst_r != NULL)
		*dst_r = (struct store_uid_set){ 0 };
	if (move && src->read_only)
		return STORE_ENOPERM;
	if (n_ranges > 0 && ranges == NULL)
		return STORE_EINVALID;
	char *dst = store_name_canonical(dst_mailbox);
	if (dst == NULL)
		return STORE_EINVALID;
	struct op_copy o = { .op = { .run = run_copy, .mbox = { src->name, dst } }, .src = src,
			     .dst_name = dst, .cur = { ranges, n_ranges, 0, 0 },
			     .batch = batch_size(src), .move = move };
	o.buf = xmalloc(o.batch * sizeof(*o.buf));
	int err = 0;
	bool first = true;
	/* an empty set still checks that the destination exists */
	while (err == 0 && (first || !cursor_done(&o.cur))) {
		first = false;
		err = writer_run(src->user, &o.op);
	}
	if (err != 0 && !move)
		undo_copies(src->user, dst, &o.dst_uids);
	free(o.buf);
	if (err == 0) {
		if (dst_uidvalidity_r != NULL)
			*dst_uidvalidity_r = o.dst_uidvalidity;
		if (src_r != NULL) {
			*src_r = o.src_uids;
			o.src_uids = (struct store_uid_set){ 0 };
		}
		if (dst_r != NULL) {
			*dst_r = o.dst_uids;
			o.dst_uids = (struct store_uid_set){ 0 };
		}
	}
	store_uid_set_free(&o.src_uids);
	store_uid_set_free(&o.dst_uids);
	free(dst);
	return err;
}

int store_copy(struct store_mailbox *src, const uint32_t *uids, size_t n_uids,
	       const char *dst_mailbox, bool move, struct store_uid_list *src_uids_r,
	       struct store_uid_list *dst_uids_r, uint32_t *dst_uidvalidity_r)
{
	if (src_uids_r != NULL)
		*src_uids_r = (struct store_uid_list){ NULL, 0 };
	if (dst_uids_r != NULL)
		*dst_uids_r = (struct store_uid_list){ NULL, 0 };
	if (n_uids > 0 && uids == NULL)
		return STORE_EINVALID;
	struct store_uid_set set = set_of(uids, n_uids), s, d;
	int err = store_copy_set(src, set.ranges, set.count, dst_mailbox, move, &s, &d,
				 dst_uidvalidity_r);
	store_uid_set_free(&set);
	if (err != 0)
		return err;
	if (src_uids_r != NULL)
		set_to_list(&s, src_uids_r);
	else
		store_uid_set_free(&s);
	if (dst_uids_r != NULL)
		set_to_list(&d, dst_uids_r);
	else
		store_uid_set_free(&d);
	return 0;
}
