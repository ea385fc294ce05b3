/* Writing a set of messages of the selected view as IMAP numbers, paged: the
 * "n n n" list of a SEARCH response (RFC 9051 7.3.5 of rev1 / RFC 3501
 * 7.2.5) or the sequence-set of an ESEARCH ALL (RFC 4731 3.1), as message
 * sequence numbers or UIDs. A set of a million messages never becomes one
 * buffer: each call appends up to a page to the output buffer and says
 * whether more follows. */
#ifndef LOFT_IMAP_SEARCH_OUT_H
#define LOFT_IMAP_SEARCH_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/outbuf.h"
#include "storage/store.h"

struct imap_numbers {
	const struct store_uid_set *set;   /* UIDs of the view (borrowed) */
	const struct store_view *view;
	bool by_uid;                       /* UIDs, else sequence numbers */
	bool as_set;                       /* "1:3,7" rather than "1 2 3 7" */
	size_t ri;                         /* cursor */
	uint32_t next;
	uint32_t pend_a, pend_b;           /* as_set: range not yet written */
	bool first;
};

void imap_numbers_init(struct imap_numbers *w, const struct store_uid_set *set,
		       const struct store_view *view, bool by_uid, bool as_set);
/* Append numbers until out holds about page bytes; true when all are out. */
bool imap_numbers_write(struct imap_numbers *w, struct imap_outbuf *out, size_t page);
/* The output number of uid (its sequence number or itself). */
uint32_t imap_numbers_of(const struct imap_numbers *w, uint32_t uid);

#endif
