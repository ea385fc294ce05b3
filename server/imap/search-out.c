/* Paged writing of message sets as IMAP numbers (see search-out.h). A UID
 * range of a result holds consecutive UIDs that are all in the view, so it
 * maps to consecutive sequence numbers: sequence sets are written range by
 * range, never message by message. */
#include "server/imap/search-out.h"

void imap_numbers_init(struct imap_numbers *w, const struct store_uid_set *set,
		       const struct store_view *view, bool by_uid, bool as_set)
{
	*w = (struct imap_numbers){ .set = set, .view = view, .by_uid = by_uid,
				    .as_set = as_set, .first = true };
}

uint32_t imap_numbers_of(const struct imap_numbers *w, uint32_t uid)
{
	return w->by_uid ? uid : store_view_seq(w->view, uid);
}

static void put_range(struct imap_numbers *w, struct imap_outbuf *out, uint32_t a, uint32_t b)
{
	const char *sep = w->first ? "" : ",";
	w->first = false;
	if (a == b)
		imap_outbuf_printf(out, "%s%u", sep, a);
	else
		imap_outbuf_printf(out, "%s%u:%u", sep, a, b);
}

bool imap_numbers_write(struct imap_numbers *w, struct imap_outbuf *out, size_t page)
{
	const struct store_uid_set *set = w->set;
	while (w->ri < set->count) {
		if (out->len >= page)
			return false;
		const struct store_uid_range *r = &set->ranges[w->ri];
		if (w->as_set) {
			uint32_t a = imap_numbers_of(w, r->lo);
			uint32_t b = a + (r->hi - r->lo);
			w->ri++;
			if (a == 0)
				continue;      /* not in the view (cannot happen) */
			if (w->pend_a != 0 && (uint64_t)w->pend_b + 1 == a) {
				w->pend_b = b;
				continue;
			}
			if (w->pend_a != 0)
				put_range(w, out, w->pend_a, w->pend_b);
			w->pend_a = a;
			w->pend_b = b;
			continue;
		}
		uint32_t uid = w->next > r->lo ? w->next : r->lo;
		for (;;) {
			uint32_t n = imap_numbers_of(w, uid);
			if (n != 0) {
				imap_outbuf_printf(out, "%s%u", w->first ? "" : " ", n);
				w->first = false;
			}
			if (uid == r->hi) {
				w->ri++;
				w->next = 0;
				break;
			}
			uid++;
			if (out->len >= page) {
				w->next = uid;
				return false;
			}
		}
	}
	if (w->as_set && w->pend_a != 0) {
		put_range(w, out, w->pend_a, w->pend_b);
		w->pend_a = 0;
	}
	return true;
}
