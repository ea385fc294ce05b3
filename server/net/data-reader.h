/* The message readers of LMTP and SMTP: DATA (dot-terminated, RFC 5321
 * 4.1.1.4 and 4.5.2) and CHUNKING's BDAT byte counts (RFC 3030), streaming
 * the message into a sink callback with the dots unstuffed and every line
 * ending CRLF. While reading they enforce the line length (RFC 5321
 * 4.5.3.1.6: 1000 octets with CRLF, stuffed dot not counted), the policy for
 * bare LF and bare CR (reject, or normalise to CRLF), the policy for NUL
 * bytes, the message size limit and the size the client declared (RFC
 * 1870), and report one error kind per failure so the session can answer
 * the right code. After an error nothing more reaches the sink, but the
 * reader still finds the end of the data so the session stays in sync.
 *
 * Only <CRLF>.<CRLF> ends DATA: a dot line after a bare LF or CR, or one
 * ending in a bare LF, is content (no SMTP smuggling through line endings
 * another server reads differently).
 *
 * Pure code: no libuv, no allocation, no configuration (see
 * data_reader_limits_from_config). It is handed bytes, never looks past the
 * length given, keeps no input (it consumes everything it is given until the
 * end of the data), and gives the same sink output and result for every
 * split of the input. */
#ifndef LOFT_NET_DATA_READER_H
#define LOFT_NET_DATA_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

/* What a line ending other than CRLF becomes (setting data_bare_newline). */
enum data_newline_policy {
	DATA_NEWLINE_REJECT,    /* DATA_ERR_BARE_LF / DATA_ERR_BARE_CR */
	DATA_NEWLINE_NORMALISE, /* written to the sink as CRLF */
};

/* What a NUL byte does (setting data_nul_bytes). */
enum data_nul_policy {
	DATA_NUL_REJECT,        /* DATA_ERR_NUL */
	DATA_NUL_STRIP,         /* dropped */
	DATA_NUL_KEEP,          /* passed on */
};

/* Why a message failed, with the reply the session should give. */
enum data_error {
	DATA_ERR_NONE = 0,
	DATA_ERR_TOO_BIG,       /* over max_size: 552 5.3.4 */
	DATA_ERR_OVER_DECLARED, /* over the SIZE= of MAIL FROM: 552 5.3.4 */
	DATA_ERR_LINE_TOO_LONG, /* a line over max_line: 500 5.5.2 */
	DATA_ERR_BARE_LF,       /* LF without CR, policy reject: 550 5.6.2 */
	DATA_ERR_BARE_CR,       /* CR without LF, policy reject: 550 5.6.2 */
	DATA_ERR_NUL,           /* NUL byte, policy reject: 550 5.6.0 */
	DATA_ERR_SINK,          /* the sink failed (storage): 451 4.3.0 */
};

struct data_reader_limits {
	size_t max_line;        /* longest line with its CRLF; 0 = no limit */
	uint64_t max_size;      /* largest message given to the sink; 0 = none */
	uint64_t declared_size; /* SIZE= of MAIL FROM; 0 = none declared */
	enum data_newline_policy bare_newline;
	enum data_nul_policy nul;
	bool binary;            /* BODY=BINARYMIME (BDAT only): no line, newline
				 * or NUL checks, nothing normalised */
};

/* The sink gets the message in order, in chunks; it returns 0, or a
 * negative LOFT_E* code that fails the message with DATA_ERR_SINK. */
typedef int data_sink_fn(void *ctx, const char *data, size_t len);

enum data_result {
	DATA_NEED_MORE = 0,     /* all given bytes consumed; feed more */
	DATA_CHUNK_DONE,        /* BDAT: this chunk is complete, not LAST */
	DATA_DONE,              /* the message is complete (end of DATA or the
				 * LAST chunk); check data_reader_error() */
};

/* All progress; the fields are private to data-reader.c. */
struct data_reader {
	struct data_reader_limits lim;
	data_sink_fn *sink;
	void *sink_ctx;
	int mode;               /* idle, dot, chunk */
	int state;              /* position in a line */
	bool crlf_start;        /* the line began after CRLF (or at the start) */
	bool last_chunk;
	size_t line_len;        /* octets of the current line, no EOL */
	uint64_t chunk_left;    /* BDAT bytes still to come */
	uint64_t size;          /* octets given (or that would have been given)
				 * to the sink */
	uint64_t received;      /* message octets as the client sent them */
	enum data_error error;  /* the first failure */
	int sink_error;         /* the sink's code for DATA_ERR_SINK */
};

/* Start a message (after MAIL/RCPT). sink gets the content. */
void data_reader_init(struct data_reader *r, const struct data_reader_limits *lim,
		      data_sink_fn *sink, void *sink_ctx);
/* DATA was answered 354: read up to <CRLF>.<CRLF>. */
void data_reader_begin_dot(struct data_reader *r);
/* BDAT n [LAST]: read exactly n bytes (chunks of one message share one
 * reader, so a line may span chunks). */
void data_reader_begin_chunk(struct data_reader *r, uint64_t n, bool last);
/* Take bytes. *consumed_r is how many belong to the data (all of len for
 * DATA_NEED_MORE; up to and including the terminator or the chunk's last
 * byte otherwise): the bytes after them are the next command. */
enum data_result data_reader_feed(struct data_reader *r, const char *data, size_t len,
				  size_t *consumed_r);

enum data_error data_reader_error(const struct data_reader *r);
/* The sink's code when data_reader_error() is DATA_ERR_SINK. */
int data_reader_sink_error(const struct data_reader *r);
/* Octets given to the sink so far (after unstuffing and normalising). */
uint64_t data_reader_size(const struct data_reader *r);
/* The reply for an error: "552 5.3.4 Message size exceeds ..." without CRLF
 * (LMTP gives it per recipient). NULL for DATA_ERR_NONE. */
const char *data_error_reply(enum data_error err);
const char *data_error_name(enum data_error err);

/* The limits from the configuration: data_max_line_length,
 * data_bare_newline, data_nul_bytes and max_literal_size (the largest
 * message), with the SIZE the client declared (0 = none). */
void data_reader_limits_from_config(const struct loft_config *cfg, uint64_t declared_size,
				    struct data_reader_limits *lim_r);

#endif
