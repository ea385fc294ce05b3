/* The header block of a message being received, kept while the message
 * streams past for the checks that need header fields (DKIM header
 * hashing, the From: domain of DMARC, our own Authentication-Results):
 * fed the message's bytes (CRLF line ends, as the DATA reader gives them)
 * in chunks of any size, it says where the header ends so the rest can go
 * to the body hashers, and splits the block into fields. The block kept is
 * bounded ([mailauth] max_header); a larger header is reported, not kept.
 * Pure code. */
#ifndef LOFT_MAILAUTH_HDR_BLOCK_H
#define LOFT_MAILAUTH_HDR_BLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* One field as received: raw is "Name: value\r\n" with its folding. */
struct hdr_field {
	const char *raw;
	size_t raw_len;         /* with the final CRLF */
	const char *name;       /* into raw; name_len 0: a line without ':' */
	size_t name_len;
	const char *value;      /* after the ':', up to the final CRLF */
	size_t value_len;
};

struct hdr_block;
struct hdr_block *hdr_block_new(size_t max);
void hdr_block_free(struct hdr_block **h);
/* Feed bytes; returns how many belong to the header (the blank line
 * included); the rest of data is body. *done_r turns true once the blank
 * line was seen (then feeding again returns 0). */
size_t hdr_block_feed(struct hdr_block *h, const char *data, size_t len, bool *done_r);
/* The message ended: a header without a blank line ends here. */
void hdr_block_end(struct hdr_block *h);
bool hdr_block_done(const struct hdr_block *h);
/* More than max bytes of header: no fields are kept. */
bool hdr_block_overflow(const struct hdr_block *h);
/* Fields, in order (valid after done, until free). */
size_t hdr_block_count(const struct hdr_block *h);
const struct hdr_field *hdr_block_field(const struct hdr_block *h, size_t i);
/* Whether f's name is name, ASCII case-insensitively. */
bool hdr_field_is(const struct hdr_field *f, const char *name);

#endif
