/* Sequence sets: parsing and resolution against a view (see seqset.h).
 * Resolution turns the set into message-number ranges, sorts and merges
 * them and maps each onto the view's runs of consecutive UIDs
 * (store_view_uid_ranges), so "1:*" on a million messages costs a few
 * ranges, not a million entries. */
#include "server/imap/seqset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/outbuf.h"
#include "server/imap/parser.h"
#include "storage/store.h"

static const char *parse_number(const char *p, uint32_t *n_r)
{
	if (*p == '*') {
		*n_r = 0;
		return p + 1;
	}
	if (*p < '1' || *p > '9')
		return NULL;
	uint64_t n = 0;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return NULL;
		p++;
	}
	*n_r = (uint32_t)n;
	return p;
}

int imap_seqset_parse(const char *text, struct imap_seqset *set)
{
	memset(set, 0, sizeof(*set));
	if (strcmp(text, "$") == 0) {
		set->saved = true;
		return 0;
	}
	size_t cap = 0;
	const char *p = text;
	for (;;) {
		struct imap_seqrange r;
		p = parse_number(p, &r.a);
		if (p == NULL)
			goto bad;
		r.b = r.a;
		if (*p == ':') {
			p = parse_number(p + 1, &r.b);
			if (p == NULL)
				goto bad;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 4;
			set->r = xrealloc(set->r, cap * sizeof(*set->r));
		}
		set->r[set->n++] = r;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	imap_seqset_free(set);
	return -1;
}

int imap_seqset_parse_arg(const struct imap_arg *a, struct imap_seqset *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	if (a->type != IMAP_ARG_ATOM || strlen(a->str) != a->len)
		return -1;
	return imap_seqset_parse(a->str, set_r);
}

void imap_seqset_free(struct imap_seqset *set)
{
	x_free(&set->r);
	set->n = 0;
	set->saved = false;
}

static int range_cmp(const void *x, const void *y)
{
	const struct imap_seqrange *a = x, *b = y;
	return a->a < b->a ? -1 : a->a > b->a;
}

/* UID range lo..hi (either order) as message numbers of the view; false
 * when no message of the view lies in it. */
static bool uids_to_seqs(const struct store_view *view, uint32_t lo, uint32_t hi,
			 struct imap_seqrange *r)
{
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	uint32_t count = store_view_count(view);
	r->a = store_view_seq_ceil(view, lo);
	r->b = hi == UINT32_MAX ? count : store_view_seq_ceil(view, hi + 1) - 1;
	return r->a <= r->b && r->a >= 1;
}

int imap_seqset_resolve(const struct imap_seqset *set, bool by_uid, const struct store_view *view,
			const struct store_uid_set *saved, struct store_uid_set *out,
			const char **why_r)
{
	uint32_t count = store_view_count(view);
	uint32_t last_uid = count > 0 ? store_view_uid(view, count) : store_view_uidnext(view);
	size_t n_in = set->saved ? (saved != NULL ? saved->count : 0) : set->n;
	struct imap_seqrange *seqs = xmalloc((n_in ? n_in : 1) * sizeof(*seqs));
	size_t n = 0;
	for (size_t i = 0; i < n_in; i++) {
		struct imap_seqrange r;
		if (set->saved) {
			if (uids_to_seqs(view, saved->ranges[i].lo, saved->ranges[i].hi, &r))
				seqs[n++] = r;
			continue;
		}
		uint32_t a = set->r[i].a, b = set->r[i].b;
		if (by_uid) {
			if (uids_to_seqs(view, a ? a : last_uid, b ? b : last_uid, &r))
				seqs[n++] = r;
			continue;
		}
		if (count == 0) {
			free(seqs);
			*why_r = "No messages in the mailbox (sequence numbers start at 1).";
			return -1;
		}
		a = a ? a : count;
		b = b ? b : count;
		if (a > count || b > count) {
			free(seqs);
			*why_r = "Message sequence number out of range.";
			return -1;
		}
		seqs[n].a = a < b ? a : b;
		seqs[n].b = a < b ? b : a;
		n++;
	}
	qsort(seqs, n, sizeof(*seqs), range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && (uint64_t)seqs[i].a <= (uint64_t)seqs[m - 1].b + 1) {
			if (seqs[i].b > seqs[m - 1].b)
				seqs[m - 1].b = seqs[i].b;
		} else {
			seqs[m++] = seqs[i];
		}
	}
	for (size_t i = 0; i < m; i++)
		store_view_uid_ranges(view, seqs[i].a, seqs[i].b, out);
	free(seqs);
	return 0;
}

void imap_uidset_format(struct imap_outbuf *b, const struct store_uid_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct store_uid_range *r = &set->ranges[i];
		if (r->lo == r->hi)
			imap_outbuf_printf(b, "%s%u", i ? "," : "", r->lo);
		else
			imap_outbuf_printf(b, "%s%u:%u", i ? "," : "", r->lo, r->hi);
	}
}

bool imap_uidset_has(const struct store_uid_set *set, uint32_t uid)
{
	return store_uid_set_has(set, uid);
}
