/* The body of a RETR or TOP reply (RFC 1939 3, 7): a CRLF-normalised
 * message (as store_reader serves it) turned into the lines of a multi-line
 * response. Every line that begins with "." gets one more "." (byte
 * stuffing); for TOP the output stops after the header, the blank line
 * that ends it and the first n body lines. Incremental: the state carries
 * across chunks, so any split of the message gives the same bytes. */
#ifndef LOFT_POP3_STUFF_H
#define LOFT_POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pop3_stuffer {
	bool line_start;       /* the next byte begins a line */
	bool prev_cr;          /* the last byte was CR */
	unsigned line_bytes;   /* bytes of the current line so far, at most 2 */
	bool in_body;          /* TOP: past the blank line that ends the header */
	bool top;              /* stop after `lines` body lines */
	bool done;             /* TOP's limit was reached: ignore the rest */
	uint64_t lines;        /* TOP: body lines still to send */
};

/* top: TOP with `lines` body lines; otherwise the whole message (RETR). */
void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t lines);
/* Convert len input bytes into out, which must hold 2 * len bytes; returns
 * the output length. Input after TOP's limit is dropped (st->done). */
size_t pop3_stuff(struct pop3_stuffer *st, const char *in, size_t len, char *out);
/* The terminator to send after the last output: ".\r\n", preceded by CRLF
 * when the output did not end with a line end (a message whose last line
 * has none). */
const char *pop3_stuff_end(const struct pop3_stuffer *st);

#endif
