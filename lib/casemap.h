/* The i;unicode-casemap collation (RFC 5051) that IMAP SEARCH, SORT and
 * THREAD compare text with: every character is mapped to its titlecase
 * (UnicodeData.txt simple mapping), then replaced by its full decomposition
 * (canonical and compatibility, recursively, each resulting character
 * mapped again), Hangul syllables decomposed algorithmically. Two strings
 * are equal when their mapped forms are; a substring matches when its
 * mapped form occurs in the other's (a byte search on UTF-8, which cannot
 * match inside a character); order is the octet order of the mapped forms.
 * Invalid UTF-8 bytes become U+FFFD. Tables: every code point of the
 * Unicode version in casemap_version() (lib/casemap-data.c, generated).
 * Limits (by the RFC's design): no full case folding ("ß" stays "ß", not
 * "SS"), no locale rules (Turkish dotless i), combining marks are kept (so
 * "E" finds "É", but "É" does not find "E"). */
#ifndef LOFT_LIB_CASEMAP_H
#define LOFT_LIB_CASEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct casemap_buf {
	char *data;       /* not NUL-terminated */
	size_t len, cap;
};
void casemap_buf_free(struct casemap_buf *b);

/* The mapped form of one code point, appended to out. */
void casemap_cp(uint32_t cp, struct casemap_buf *out);
/* Map UTF-8 text, appending to out. */
void casemap_utf8(const char *in, size_t len, struct casemap_buf *out);

/* Streaming: text may arrive cut inside a UTF-8 sequence; up to 3 bytes of
 * an unfinished sequence wait in the state for the next call. */
struct casemap_stream {
	unsigned char hold[4];
	size_t n_hold;
};
void casemap_stream_run(struct casemap_stream *st, const char *in, size_t len,
			struct casemap_buf *out);
/* End of text: an unfinished sequence becomes U+FFFD. */
void casemap_stream_finish(struct casemap_stream *st, struct casemap_buf *out);

/* Octet order of the mapped forms of a and b (<0, 0, >0). */
int casemap_compare(const char *a, size_t alen, const char *b, size_t blen);

const char *casemap_version(void);

#endif
