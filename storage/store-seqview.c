/* store_view: a session's list of UIDs and its sequence numbers (IMAP),
 * kept as runs of consecutive UIDs with the sequence number each run
 * starts at, so mapping either way is a binary search and a large mailbox
 * with few gaps costs a few bytes. The view moves only in store_view_sync,
 * which reads the modseq and tombstone tables from the view's last MODSEQ
 * in one read transaction; when retention pruned tombstones the view still
 * needs, it compares its UIDs with the index instead.
 *
 * Opening starts from the user environment's cached copy of the last view
 * of the mailbox (taken when a view opens or closes) and syncs it forward,
 * so a SELECT costs the runs and the changes since, not one cursor step
 * per message; only the first view of a mailbox in a process reads every
 * UID. */
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/store-private.h"

struct store_view {
	struct store_mailbox *mbox;
	uint32_t *run_uid;          /* first UID of each run */
	uint32_t *run_seq;          /* sequence number of that UID */
	size_t n_runs, cap_runs;
	uint32_t count;
	uint32_t uidnext;
	uint64_t modseq;            /* changes seen up to here */
	uint64_t expunge_modseq;    /* expunges applied up to here */
};

static void push_uid(struct store_view *v, uint32_t uid)
{
	if (v->n_runs > 0) {
		size_t last = v->n_runs - 1;
		uint32_t len = v->count + 1 - v->run_seq[last];
		if (v->run_uid[last] + len == uid) {
			v->count++;
			return;
		}
	}
	if (v->n_runs == v->cap_runs) {
		v->cap_runs = v->cap_runs ? v->cap_runs * 2 : 4;
		v->run_uid = xrealloc(v->run_uid, v->cap_runs * sizeof(*v->run_uid));
		v->run_seq = xrealloc(v->run_seq, v->cap_runs * sizeof(*v->run_seq));
	}
	v->run_uid[v->n_runs] = uid;
	v->run_seq[v->n_runs] = ++v->count;
	v->n_runs++;
}

static uint32_t run_len(const struct store_view *v, size_t i)
{
	uint32_t end = i + 1 < v->n_runs ? v->run_seq[i + 1] : v->count + 1;
	return end - v->run_seq[i];
}

uint32_t store_view_count(const struct store_view *v)
{
	return v->count;
}

uint32_t store_view_uid(const struct store_view *v, uint32_t seq)
{
	if (seq == 0 || seq > v->count)
		return 0;
	size_t lo = 0, hi = v->n_runs;      /* last run with run_seq <= seq */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->run_seq[mid] <= seq)
			lo = mid;
		else
			hi = mid;
	}
	return v->run_uid[lo] + (seq - v->run_seq[lo]);
}

uint32_t store_view_seq_ceil(const struct store_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n_runs;      /* first run whose last UID >= uid */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)v->run_uid[mid] + run_len(v, mid) - 1 < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == v->n_runs)
		return v->count + 1;
	if (uid <= v->run_uid[lo])
		return v->run_seq[lo];
	return v->run_seq[lo] + (uid - v->run_uid[lo]);
}

void store_view_uid_ranges(const struct store_view *v, uint32_t seq_lo, uint32_t seq_hi,
			   struct store_uid_set *set)
{
	if (seq_lo == 0)
		seq_lo = 1;
	if (seq_hi > v->count)
		seq_hi = v->count;
	if (seq_lo > seq_hi)
		return;
	size_t lo = 0, hi = v->n_runs;      /* last run with run_seq <= seq_lo */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->run_seq[mid] <= seq_lo)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < v->n_runs && v->run_seq[i] <= seq_hi; i++) {
		uint32_t first = v->run_seq[i] > seq_lo ? v->run_seq[i] : seq_lo;
		uint32_t last = v->run_seq[i] + run_len(v, i) - 1;
		if (last > seq_hi)
			last = seq_hi;
		uint32_t uid = v->run_uid[i] + (first - v->run_seq[i]);
		store_uid_set_push_range(set, uid, uid + (last - first));
	}
}

uint32_t store_view_seq(const struct store_view *v, uint32_t uid)
{
	uint32_t seq = store_view_seq_ceil(v, uid);
	return seq <= v->count && store_view_uid(v, seq) == uid ? seq : 0;
}

uint64_t store_view_highestmodseq(const struct store_view *v)
{
	return v->modseq;
}

uint32_t store_view_uidnext(const struct store_view *v)
{
	return v->uidnext;
}

size_t store_view_memory(const struct store_view *v)
{
	return sizeof(*v) + v->cap_runs * (sizeof(*v->run_uid) + sizeof(*v->run_seq));
}

/* ---- the per-user cache of the last view of each mailbox ---- */

struct store_vcache {
	struct store_vcache *next;
	uint32_t mbox_id, uidvalidity;
	struct store_view v;        /* runs owned; v.mbox unused */
};

#define VCACHE_MAX 64           /* mailboxes per user environment */

static void view_copy_runs(struct store_view *dst, const struct store_view *src)
{
	dst->n_runs = dst->cap_runs = src->n_runs;
	dst->run_uid = xmalloc((src->n_runs + 1) * sizeof(*dst->run_uid));
	dst->run_seq = xmalloc((src->n_runs + 1) * sizeof(*dst->run_seq));
	if (src->n_runs > 0) {
		memcpy(dst->run_uid, src->run_uid, src->n_runs * sizeof(*dst->run_uid));
		memcpy(dst->run_seq, src->run_seq, src->n_runs * sizeof(*dst->run_seq));
	}
	dst->count = src->count;
	dst->uidnext = src->uidnext;
	dst->modseq = src->modseq;
	dst->expunge_modseq = src->expunge_modseq;
}

/* Remember v as the mailbox's latest view (replacing an older one). */
static void vcache_put(const struct store_view *v)
{
	struct store_user *u = v->mbox->user;
	struct store_vcache *e = xcalloc(1, sizeof(*e));
	e->mbox_id = v->mbox->id;
	e->uidvalidity = v->mbox->uidvalidity;
	view_copy_runs(&e->v, v);
	struct store_vcache *old = NULL;
	size_t n = 0;
	pthread_mutex_lock(&u->vcache_lock);
	for (struct store_vcache **pp = &u->vcache; *pp != NULL;) {
		struct store_vcache *c = *pp;
		if (c->mbox_id == e->mbox_id) {
			if (c->v.modseq > e->v.modseq && c->uidvalidity == e->uidvalidity) {
				old = e;            /* a newer one is there */
				e = NULL;
				break;
			}
			*pp = c->next;
			old = c;
			continue;
		}
		if (++n >= VCACHE_MAX && c->next != NULL) {   /* keep the newest */
			struct store_vcache *tail = c->next;
			c->next = NULL;
			while (tail != NULL) {
				struct store_vcache *t = tail;
				tail = t->next;
				free(t->v.run_uid);
				free(t->v.run_seq);
				free(t);
			}
			break;
		}
		pp = &c->next;
	}
	if (e != NULL) {
		e->next = u->vcache;
		u->vcache = e;
	}
	pthread_mutex_unlock(&u->vcache_lock);
	if (old != NULL) {
		free(old->v.run_uid);
		free(old->v.run_seq);
		free(old);
	}
}

/* Start v from the cached view of its mailbox; false when there is none. */
static bool vcache_get(struct store_view *v)
{
	struct store_user *u = v->mbox->user;
	bool hit = false;
	pthread_mutex_lock(&u->vcache_lock);
	for (struct store_vcache *c = u->vcache; c != NULL; c = c->next) {
		if (c->mbox_id == v->mbox->id && c->uidvalidity == v->mbox->uidvalidity) {
			view_copy_runs(v, &c->v);
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&u->vcache_lock);
	return hit;
}

void store_vcache_free(struct store_user *u)
{
	while (u->vcache != NULL) {
		struct store_vcache *c = u->vcache;
		u->vcache = c->next;
		free(c->v.run_uid);
		free(c->v.run_seq);
		free(c);
	}
}

void store_view_close(struct store_view **view)
{
	struct store_view *v = *view;
	if (v == NULL)
		return;
	*view = NULL;
	if (v->mbox != NULL && v->modseq != 0)
		vcache_put(v);
	free(v->run_uid);
	free(v->run_seq);
	free(v);
}

static int view_mbox(struct store_view *v, MDB_txn *txn, struct idx_mbox *mb)
{
	int err = idx_mbox_get(&v->mbox->user->idx, txn, v->mbox->id, mb);
	if (err == 0 && mb->uidvalidity != v->mbox->uidvalidity)
		err = STORE_ENOTFOUND;
	return err;
}

static int view_build(struct store_view *v)
{
	struct idx *idx = &v->mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	err = view_mbox(v, txn, &mb);
	struct idx_iter it = { 0 };
	uint32_t uid;
	int r;
	if (err == 0)
		err = idx_msg_iter_open(idx, txn, v->mbox->id, 0, &it);
	while (err == 0 && (r = idx_msg_iter_next_uid(&it, &uid)) != 0) {
		if (r < 0)
			err = r;
		else
			push_uid(v, uid);
	}
	idx_iter_close(&it);
	idx_read_end(idx, txn);
	if (err == 0) {
		v->uidnext = mb.uidnext;
		v->modseq = v->expunge_modseq = mb.highestmodseq;
	}
	return err;
}

int store_view_open(struct store_mailbox *mbox, struct store_view **view_r)
{
	*view_r = NULL;
	struct store_view *v = xcalloc(1, sizeof(*v));
	v->mbox = mbox;
	int err;
	if (vcache_get(v)) {
		/* forward from the cached view: what changed since, silently */
		err = store_view_sync(v, 0, NULL, NULL, NULL);
		if (err != 0 && err != STORE_ENOTFOUND) {
			free(v->run_uid);
			free(v->run_seq);
			memset(v, 0, sizeof(*v));
			v->mbox = mbox;
			err = view_build(v);
		}
	} else {
		err = view_build(v);
	}
	if (err != 0) {
		v->modseq = 0;             /* not cached */
		store_view_close(&v);
		return err;
	}
	vcache_put(v);
	*view_r = v;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Remove the sorted UIDs gone[] from the view, reporting each. */
static int apply_expunges(struct store_view *v, const uint32_t *gone, size_t n_gone,
			  const struct store_view_ops *ops, void *ctx, uint32_t *done_r)
{
	struct store_view old = *v;
	v->run_uid = NULL;
	v->run_seq = NULL;
	v->n_runs = v->cap_runs = 0;
	v->count = 0;
	size_t g = 0;
	uint32_t removed = 0;
	int err = 0;
	for (size_t i = 0; i < old.n_runs; i++) {
		uint32_t len = run_len(&old, i);
		for (uint32_t k = 0; k < len; k++) {
			uint32_t uid = old.run_uid[i] + k;
			while (g < n_gone && gone[g] < uid)
				g++;
			if (g < n_gone && gone[g] == uid) {
				uint32_t seq = old.run_seq[i] + k - removed;
				removed++;
				if (ops != NULL && ops->expunged != NULL && err == 0)
					err = ops->expunged(seq, uid, ctx);
				continue;
			}
			push_uid(v, uid);
		}
	}
	free(old.run_uid);
	free(old.run_seq);
	*done_r = removed;
	return err;
}

struct sync_state {
	uint32_t *gone, *added;
	size_t n_gone, n_added, cap_gone, cap_added;
};

static void push(uint32_t **a, size_t *n, size_t *cap, uint32_t uid)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*a = xrealloc(*a, *cap * sizeof(**a));
	}
	(*a)[(*n)++] = uid;
}

/* Tombstones since the view's expunge point, or (pruned) a full compare. */
static int collect_gone(struct store_view *v, struct idx *idx, MDB_txn *txn, uint64_t pruned,
			struct sync_state *st)
{
	struct idx_iter it;
	uint32_t uid;
	int r, err;
	if (pruned <= v->expunge_modseq) {
		uint64_t ms;
		int64_t when;
		err = idx_tomb_iter_open(idx, txn, v->mbox->id, v->expunge_modseq, &it);
		while (err == 0 && (r = idx_tomb_iter_next(&it, &ms, &uid, &when)) != 0) {
			if (r < 0)
				err = r;
			else if (uid < v->uidnext && store_view_seq(v, uid) != 0)
				push(&st->gone, &st->n_gone, &st->cap_gone, uid);
		}
		idx_iter_close(&it);
		store_qsort(st->gone, st->n_gone, sizeof(*st->gone), u32_cmp);
		return err;
	}
	/* the tombstones we need are gone: every UID of the view that the
	 * index no longer has */
	err = idx_msg_iter_open(idx, txn, v->mbox->id, 0, &it);
	uint32_t seq = 1, next = 0;
	while (err == 0 && seq <= v->count) {
		uint32_t want = store_view_uid(v, seq);
		while (err == 0 && next < want && next != UINT32_MAX) {
			r = idx_msg_iter_next_uid(&it, &uid);
			if (r < 0)
				err = r;
			next = r == 1 ? uid : UINT32_MAX;
		}
		if (err == 0 && next != want)
			push(&st->gone, &st->n_gone, &st->cap_gone, want);
		seq++;
	}
	idx_iter_close(&it);
	return err;
}

int store_view_sync(struct store_view *v, unsigned flags, const struct store_view_ops *ops,
		    void *ctx, struct store_view_sync_info *info_r)
{
	static const struct store_view_ops none = { 0 };
	if (ops == NULL)
		ops = &none;
	struct store_view_sync_info info;
	memset(&info, 0, sizeof(info));
	struct idx *idx = &v->mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	struct sync_state st = { 0 };
	struct kwcache kc = { 0 };
	uint64_t pruned = 0;
	err = view_mbox(v, txn, &mb);
	if (err == 0)
		err = idx_tomb_pruned(idx, txn, v->mbox->id, &pruned);
	/* 1. expunges (before numbering anything new) */
	if (err == 0 && mb.highestmodseq > v->expunge_modseq)
		err = collect_gone(v, idx, txn, pruned, &st);
	if (err == 0 && st.n_gone > 0 && (flags & STORE_VIEW_NO_EXPUNGE))
		info.expunges_pending = true;
	else if (err == 0) {
		uint32_t done = 0;
		if (st.n_gone > 0)
			err = apply_expunges(v, st.gone, st.n_gone, ops, ctx, &done);
		info.expunged = done;
		if (err == 0)
			v->expunge_modseq = mb.highestmodseq;
	}
	/* 2. changed and new messages, in MODSEQ order */
	if (err == 0 && mb.highestmodseq > v->modseq) {
		struct idx_iter it;
		uint64_t ms;
		uint32_t uid;
		int r;
		err = idx_modseq_iter_open(idx, txn, v->mbox->id, v->modseq, &it);
		while (err == 0 && (r = idx_modseq_iter_next(&it, &ms, &uid)) != 0) {
			if (r < 0) {
				err = r;
				break;
			}
			if (uid >= v->uidnext) {
				push(&st.added, &st.n_added, &st.cap_added, uid);
				continue;
			}
			if (store_view_seq(v, uid) == 0)
				continue;
			info.changed++;
			if (ops->changed == NULL)
				continue;
			struct idx_msg m;
			struct store_msg sm;
			if ((err = idx_msg_get(idx, txn, v->mbox->id, uid, &m)) == 0) {
				store_fill_msg(&sm, &m, &kc, idx, txn);
				err = ops->changed(&sm, ctx);
			}
		}
		idx_iter_close(&it);
	}
	store_qsort(st.added, st.n_added, sizeof(*st.added), u32_cmp);
	for (size_t i = 0; i < st.n_added && err == 0; i++) {
		push_uid(v, st.added[i]);
		info.added++;
		if (ops->added != NULL) {
			struct idx_msg m;
			struct store_msg sm;
			if ((err = idx_msg_get(idx, txn, v->mbox->id, st.added[i], &m)) == 0) {
				store_fill_msg(&sm, &m, &kc, idx, txn);
				err = ops->added(&sm, ctx);
			}
		}
	}
	if (err == 0) {
		v->modseq = mb.highestmodseq;
		if (mb.uidnext > v->uidnext)
			v->uidnext = mb.uidnext;
	}
	store_kwcache_free(&kc);
	idx_read_end(idx, txn);
	free(st.gone);
	free(st.added);
	info.exists = v->count;
	info.uidnext = v->uidnext;
	info.highestmodseq = v->modseq;
	info.pruned_modseq = pruned;
	if (info_r != NULL)
		*info_r = info;
	return err;
}
