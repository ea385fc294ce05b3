/* Where the top-level header of a message's CRLF form ends, found without
 * the MIME parser (BODY[HEADER] includes the blank line, BODY[TEXT] is
 * everything after it): an incremental byte machine that, fed the message
 * in chunks of any size, gives the same result for every split and never
 * reads a file itself (fetch-section.c feeds it from a store_reader). */
#ifndef LOFT_IMAP_FETCH_BODY_H
#define LOFT_IMAP_FETCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Finds the end of the header: the first empty line (CRLF at a line start,
 * also at offset 0). */
struct imap_hdr_end {
	uint64_t pos;            /* bytes fed */
	bool line_start, cr;
	bool found;
	uint64_t end;            /* when found: header length, blank line included */
};
void imap_hdr_end_init(struct imap_hdr_end *h);
/* Feed bytes; returns how many were used (all, or up to the end of the
 * blank line once found). */
size_t imap_hdr_end_feed(struct imap_hdr_end *h, const char *data, size_t len);

#endif
