/* Reading one HTTP/1.x response from rspamd (RFC 9112): the status line,
 * the header fields the client needs (Content-Length, Transfer-Encoding:
 * chunked, Connection, Content-Encoding), and the body, de-chunked and
 * handed to a sink (the JSON reader). Bounded: a header line is at most
 * SPAM_HTTP_LINE_MAX bytes, a response has at most SPAM_HTTP_FIELDS_MAX
 * fields, and the body at most the caller's max_body (setting
 * [spam] max_reply_size). Strict: a malformed status line, field, chunk
 * size, a Content-Length that disagrees with itself, both a length and
 * chunked, or a compressed body is an error.
 *
 * Resumable and pure: handed bytes in chunks of any size, never looks past
 * the length given, same result for every split. No allocation, no I/O. */
#ifndef LOFT_SPAM_HTTP_H
#define LOFT_SPAM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPAM_HTTP_LINE_MAX 8192
#define SPAM_HTTP_FIELDS_MAX 100

enum spam_http_error {
	SPAM_HTTP_OK = 0,
	SPAM_HTTP_ESYNTAX,      /* not an HTTP/1.x response */
	SPAM_HTTP_ELINE,        /* a status or header line too long */
	SPAM_HTTP_EFIELDS,      /* too many header fields */
	SPAM_HTTP_ETOOBIG,      /* body over max_body */
	SPAM_HTTP_EENCODING,    /* a transfer or content coding we never ask for */
	SPAM_HTTP_ETRUNCATED,   /* the connection ended inside the response */
	SPAM_HTTP_ESINK,        /* the body sink refused the body */
};

enum spam_http_result {
	SPAM_HTTP_NEED_MORE = 0,
	SPAM_HTTP_DONE,         /* a complete response; see status, keep_alive */
	SPAM_HTTP_FAILED,       /* see error */
};

/* Body bytes in order; return 0, or non-zero to fail with SPAM_HTTP_ESINK. */
typedef int spam_http_sink(void *ctx, const char *data, size_t len);

/* All progress; fields other than the results are private to http.c. */
struct spam_http {
	/* results */
	int status;               /* e.g. 200 */
	bool keep_alive;          /* the connection may carry another request */
	uint64_t body_len;        /* body bytes given to the sink */
	int error;
	/* private */
	spam_http_sink *sink;
	void *sink_ctx;
	uint64_t max_body;
	int state;
	int minor;                /* HTTP/1.minor */
	bool have_length, chunked, conn_close, conn_keep;
	unsigned fields;
	uint64_t length;          /* Content-Length, or the current chunk's */
	uint64_t left;            /* body or chunk bytes still to come */
	size_t line_len;
	char line[SPAM_HTTP_LINE_MAX + 1];
};

void spam_http_init(struct spam_http *h, uint64_t max_body, spam_http_sink *sink, void *ctx);
/* Feed bytes; *used_r gets how many were part of this response (the rest,
 * if DONE came early, belongs to nothing we asked for). */
enum spam_http_result spam_http_feed(struct spam_http *h, const void *data, size_t len,
				     size_t *used_r);
/* The peer closed: completes a response delimited by the close, else
 * fails with SPAM_HTTP_ETRUNCATED (or keeps an earlier result). */
enum spam_http_result spam_http_eof(struct spam_http *h);
const char *spam_http_strerror(int err);

#endif
