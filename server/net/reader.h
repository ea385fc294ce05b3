/* Resumable input readers shared by every protocol: a line reader (CRLF or
 * bare LF, with a length limit and discard-to-LF after an overlong line) and
 * a byte-count reader for literals and DATA-like payloads. Pure code: no
 * libuv, no allocation; it is handed bytes, never looks past the length it
 * was given, and gives the same sequence of results for any split of input. */
#ifndef LOFT_NET_READER_H
#define LOFT_NET_READER_H

#include <stdbool.h>
#include <stddef.h>

enum reader_eol {
	READER_EOL_NONE = 0,  /* only for READER_TOO_LONG */
	READER_EOL_LF,        /* bare LF */
	READER_EOL_CRLF,
};

enum reader_result {
	READER_NEED_MORE = 0, /* everything given was consumed or must be kept */
	READER_LINE,          /* a complete line (line_r) */
	READER_TOO_LONG,      /* a line over max_line: reported once, the rest
			       * up to and including its LF is discarded;
			       * line_r holds its first max_line bytes (to
			       * find an IMAP tag, say) */
};

struct reader_line {
	const char *data;     /* borrowed from the caller's buffer; no EOL */
	size_t len;
	enum reader_eol eol;
};

struct reader {
	size_t max_line;      /* longest accepted line, EOL excluded */
	size_t scanned;       /* bytes of the pending line already searched */
	bool discarding;      /* skipping the tail of an overlong line */
	size_t literal_left;  /* bytes left of a byte-count read */
};

void reader_init(struct reader *r, size_t max_line);
/* Change the limit (e.g. after login); applies from the next line on. */
void reader_set_max_line(struct reader *r, size_t max_line);

/* Look for the next line at the start of data[0..len). The caller keeps the
 * unconsumed bytes and passes them again (from the same first byte, with
 * anything new appended) on the next call. *consumed_r tells how many bytes
 * of data the caller must drop: for READER_LINE the line and its EOL, for
 * READER_TOO_LONG and while discarding whatever was discarded, and for
 * READER_NEED_MORE possibly the discarded tail of an overlong line.
 * The caller's buffer must hold at least max_line + 2 bytes. */
enum reader_result reader_line(struct reader *r, const char *data, size_t len,
			       struct reader_line *line_r, size_t *consumed_r);

/* Start a byte-count read of n bytes (an IMAP literal, say). */
void reader_bytes_begin(struct reader *r, size_t n);
/* Bytes of the byte-count read still expected. */
size_t reader_bytes_left(const struct reader *r);
/* Take up to reader_bytes_left() bytes from data[0..len): *chunk_len_r bytes
 * at data belong to the payload (consume them). Returns true when the
 * payload is complete (possibly with *chunk_len_r == 0 when n was 0). */
bool reader_bytes(struct reader *r, const char *data, size_t len,
		  size_t *chunk_len_r);

#endif
