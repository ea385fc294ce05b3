/* CONDSTORE/QRESYNC resynchronisation (see qresync.h): the QRESYNC
 * parameter of SELECT, the changed and vanished UIDs since a MODSEQ, and
 * the VANISHED response. */
#include "server/imap/qresync.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/outbuf.h"
#include "server/imap/parser.h"

#define VANISHED_RANGES_PER_LINE 4096u

/* A non-zero number atom of at most max. */
static int parse_nz(const struct imap_arg *a, uint64_t max, uint64_t *v_r)
{
	return imap_arg_u64(a, max, v_r) == 0 && *v_r != 0 ? 0 : -1;
}

static int parse_set(const struct imap_arg *a, struct imap_seqset *set)
{
	if (a->type != IMAP_ARG_ATOM || imap_seqset_parse(a->str, set) < 0)
		return -1;
	if (set->saved) {                /* "$" is no known-uids */
		imap_seqset_free(set);
		return -1;
	}
	return 0;
}

int imap_qresync_parse(const struct imap_arg *list, struct imap_qresync_req *req,
		       const char **why_r)
{
	memset(req, 0, sizeof(*req));
	*why_r = "QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]]).";
	if (list->type != IMAP_ARG_LIST || list->list_count < 2 || list->list_count > 4)
		return -1;
	const struct imap_arg *a = list->list;
	uint64_t v;
	if (parse_nz(&a[0], UINT32_MAX, &v) < 0)
		return -1;
	req->uidvalidity = (uint32_t)v;
	if (parse_nz(&a[1], INT64_MAX, &req->modseq) < 0)
		return -1;
	if (list->list_count >= 3) {
		if (parse_set(&a[2], &req->known) < 0)
			goto bad;
		req->has_known = true;
	}
	if (list->list_count == 4) {
		const struct imap_arg *m = &a[3];
		if (m->type != IMAP_ARG_LIST || m->list_count != 2 ||
		    parse_set(&m->list[0], &req->match_seq) < 0)
			goto bad;
		if (parse_set(&m->list[1], &req->match_uid) < 0)
			goto bad;
		req->has_match = true;
	}
	return 0;
bad:
	imap_qresync_req_free(req);
	return -1;
}

void imap_qresync_req_free(struct imap_qresync_req *req)
{
	imap_seqset_free(&req->known);
	imap_seqset_free(&req->match_seq);
	imap_seqset_free(&req->match_uid);
	req->has_known = req->has_match = false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct store_uid_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void imap_qresync_uid_ranges(const struct imap_seqset *set, uint32_t star,
			     struct store_uid_set *out)
{
	if (set->n == 0)
		return;
	struct store_uid_range *r = xmalloc(set->n * sizeof(*r));
	size_t n = 0;
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->r[i].a ? set->r[i].a : star;
		uint32_t b = set->r[i].b ? set->r[i].b : star;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (a == 0)
			a = 1;
		if (b == 0)
			continue;            /* "*" of an empty mailbox */
		r[n++] = (struct store_uid_range){ a, b };
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = r[i].lo, hi = r[i].hi;
		if (out->count > 0) {
			struct store_uid_range *last = &out->ranges[out->count - 1];
			if (hi <= last->hi)
				continue;
			if (lo <= last->hi)
				lo = last->hi + 1;
		}
		store_uid_set_push_range(out, lo, hi);
	}
	free(r);
}

/* Walks a parsed set's numbers in the order given. */
struct set_walk {
	const struct imap_seqset *set;
	size_t i;
	uint64_t next;               /* next number of range i; 0: not started */
};

static bool walk_next(struct set_walk *w, uint32_t *n_r)
{
	while (w->i < w->set->n) {
		const struct imap_seqrange *r = &w->set->r[w->i];
		if (r->a == 0 || r->b == 0)
			return false;        /* "*" matches nothing definite */
		uint32_t lo = r->a < r->b ? r->a : r->b, hi = r->a < r->b ? r->b : r->a;
		if (w->next == 0)
			w->next = lo;
		if (w->next <= hi) {
			*n_r = (uint32_t)w->next++;
			return true;
		}
		w->i++;
		w->next = 0;
	}
	return false;
}

uint32_t imap_qresync_match_floor(const struct store_view *view, const struct imap_seqset *seqs,
				  const struct imap_seqset *uids)
{
	struct set_walk ws = { seqs, 0, 0 }, wu = { uids, 0, 0 };
	uint32_t seq, uid, floor = 0;
	while (walk_next(&ws, &seq) && walk_next(&wu, &uid)) {
		if (store_view_uid(view, seq) != uid)
			break;
		if (uid > floor)
			floor = uid;
	}
	return floor;
}

struct chg_ctx {
	const struct store_view *view;
	const struct store_uid_set *within;
	uint32_t *uids;
	size_t n, cap;
};

static int chg_cb(const struct store_msg *m, void *ctx)
{
	struct chg_ctx *c = ctx;
	if (store_view_seq(c->view, m->uid) == 0 ||
	    (c->within != NULL && !imap_uidset_has(c->within, m->uid)))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->uids = xrealloc(c->uids, c->cap * sizeof(*c->uids));
	}
	c->uids[c->n++] = m->uid;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The UIDs in lo..hi that the view does not hold. */
static void gaps(const struct store_view *view, uint32_t lo, uint32_t hi,
		 struct store_uid_set *out)
{
	struct store_uid_set present = { 0 };
	uint32_t seq_lo = store_view_seq_ceil(view, lo);
	uint32_t seq_hi = hi == UINT32_MAX ? store_view_count(view)
					   : store_view_seq_ceil(view, hi + 1) - 1;
	if (seq_lo <= seq_hi)
		store_view_uid_ranges(view, seq_lo, seq_hi, &present);
	uint64_t cursor = lo;
	for (size_t i = 0; i < present.count; i++) {
		if (present.ranges[i].lo > cursor)
			store_uid_set_push_range(out, (uint32_t)cursor, present.ranges[i].lo - 1);
		cursor = (uint64_t)present.ranges[i].hi + 1;
	}
	if (cursor <= hi)
		store_uid_set_push_range(out, (uint32_t)cursor, hi);
	store_uid_set_free(&present);
}

int imap_qresync_compute(struct store_user *user, const char *name, struct store_mailbox *mbox,
			 const struct store_view *view, uint64_t since,
			 const struct store_uid_set *within, bool want_vanished,
			 const struct store_uid_set *within_vanished, uint32_t floor,
			 struct imap_qresync_result *res)
{
	memset(res, 0, sizeof(*res));
	struct chg_ctx c = { .view = view, .within = within };
	struct store_uid_list van = { NULL, 0 };
	int err = store_changes_since(mbox, since, chg_cb, &c, want_vanished ? &van : NULL);
	if (err == 0 && c.n > 1)
		qsort(c.uids, c.n, sizeof(*c.uids), u32_cmp);
	for (size_t i = 0; err == 0 && i < c.n; i++) {
		if (i > 0 && c.uids[i] == c.uids[i - 1])
			continue;
		store_uid_set_push(&res->changed, c.uids[i]);
	}
	free(c.uids);
	uint32_t top = store_view_uidnext(view);   /* UIDs the view could know */
	if (err == 0 && want_vanished && top > 1) {
		struct store_status st;
		/* read after the tombstones: pruning only grows pruned_modseq */
		err = store_status(user, name, &st);
		if (err == 0 && st.pruned_modseq > since) {
			res->pruned = true;
			struct store_uid_set all = { 0 };
			if (within_vanished == NULL)
				store_uid_set_push_range(&all, 1, top - 1);
			const struct store_uid_set *w = within_vanished ? within_vanished : &all;
			for (size_t i = 0; i < w->count; i++) {
				uint32_t lo = w->ranges[i].lo, hi = w->ranges[i].hi;
				if (lo <= floor)
					lo = floor + 1;
				if (hi > top - 1)
					hi = top - 1;
				if (lo != 0 && lo <= hi)
					gaps(view, lo, hi, &res->vanished);
			}
			store_uid_set_free(&all);
		} else if (err == 0) {
			for (size_t i = 0; i < van.count; i++) {
				uint32_t uid = van.uids[i];
				if (uid >= top || store_view_seq(view, uid) != 0 ||
				    (within_vanished != NULL && !imap_uidset_has(within_vanished, uid)) ||
				    (res->vanished.count > 0 &&
				     uid <= res->vanished.ranges[res->vanished.count - 1].hi))
					continue;
				store_uid_set_push(&res->vanished, uid);
			}
		}
	}
	store_uid_list_free(&van);
	if (err != 0)
		imap_qresync_result_free(res);
	return err;
}

void imap_qresync_result_free(struct imap_qresync_result *res)
{
	store_uid_set_free(&res->vanished);
	store_uid_set_free(&res->changed);
}

void imap_qresync_write_vanished(struct imap_outbuf *out, const struct store_uid_set *set,
				 bool earlier)
{
	for (size_t i = 0; i < set->count; i += VANISHED_RANGES_PER_LINE) {
		size_t n = set->count - i;
		if (n > VANISHED_RANGES_PER_LINE)
			n = VANISHED_RANGES_PER_LINE;
		struct store_uid_set part = { .ranges = set->ranges + i, .count = n, .cap = n };
		imap_outbuf_str(out, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
		imap_uidset_format(out, &part);
		imap_outbuf_str(out, "\r\n");
	}
}
