/* The pieces of a message's CRLF form that top-level FETCH sections name,
 * found without a MIME parser: where the header ends (BODY[HEADER] includes
 * the blank line, BODY[TEXT] is everything after it) and the header lines
 * HEADER.FIELDS / HEADER.FIELDS.NOT select. Both are incremental byte
 * machines: fed the message in chunks of any size, they give the same
 * result for every split, hold no more than one field name and never read
 * a file themselves (fetch.c feeds them from a store_reader). */
#ifndef LOFT_IMAP_FETCH_BODY_H
#define LOFT_IMAP_FETCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/fetch-items.h"

struct imap_outbuf;

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

/* Selects header fields by name (ASCII case-insensitive), each with its
 * continuation lines. Feed the header (the blank line that ends it, and
 * anything after, is recognised and ignored); finish adds the CRLF blank
 * line that ends every header fetch. */
struct imap_hdr_filter {
	char *const *names;      /* borrowed */
	size_t n_names;
	bool not;                /* HEADER.FIELDS.NOT */
	int st;                  /* private */
	bool keep;
	size_t name_len;
	char name[IMAP_FIELD_NAME_MAX + 2];
	uint64_t out_total;      /* bytes produced so far */
};
void imap_hdr_filter_init(struct imap_hdr_filter *f, char *const *names, size_t n_names, bool not);
/* Selected bytes go to out (NULL: only counted in out_total). */
void imap_hdr_filter_feed(struct imap_hdr_filter *f, const char *data, size_t len,
			  struct imap_outbuf *out);
void imap_hdr_filter_finish(struct imap_hdr_filter *f, struct imap_outbuf *out);

#endif
