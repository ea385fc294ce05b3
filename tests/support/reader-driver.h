/* The reader under the split-point driver (tests/support/split.h), shared by
 * tests/unit/test-reader.c and tests/fuzz/fuzz-reader.c. A line ending in
 * "{n}" announces an n-byte payload, read with reader_bytes. Transcript:
 * "Lc:<line>|" or "Ln:<line>|" per line (CRLF or LF), "T:<first max_line
 * bytes>|" per overlong line, "B:<payload>|" per payload (its bytes as they
 * come), and "R:<unconsumed tail>" at the end; bytes are copied as they are.
 * Broken reader invariants abort. */
#ifndef LOFT_TESTS_READER_DRIVER_H
#define LOFT_TESTS_READER_DRIVER_H

#include <stdbool.h>

#include "server/net/reader.h"
#include "tests/support/split.h"

struct reader_drv {
	struct reader r;
	struct split_in in;
	bool in_literal;
	struct split_out out;
};

static inline bool reader_drv_literal(const char *s, size_t len, size_t *n_r)
{
	if (len < 3 || s[len - 1] != '}')
		return false;
	size_t i = len - 1, n = 0, digits = 0;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' && digits < 4) {
		i--;
		digits++;
	}
	if (digits == 0 || i == 0 || s[i - 1] != '{')
		return false;
	for (size_t k = i; k < len - 1; k++)
		n = n * 10 + (size_t)(s[k] - '0');
	*n_r = n;
	return true;
}

/* arg: the max_line (size_t). */
static inline void *reader_drv_start(const void *arg)
{
	struct reader_drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	reader_init(&d->r, *(const size_t *)arg);
	split_in_init(&d->in);
	return d;
}

static inline void reader_drv_feed(void *drvp, const char *p, size_t n)
{
	struct reader_drv *d = drvp;
	split_in_append(&d->in, p, n);
	for (;;) {
		if (d->in_literal) {
			size_t chunk;
			bool done = reader_bytes(&d->r, d->in.pend, d->in.plen, &chunk);
			if (chunk > d->in.plen)
				abort();
			split_out_put(&d->out, d->in.pend, chunk);
			split_in_consume(&d->in, chunk);
			if (!done)
				return;
			split_out_str(&d->out, "|");
			d->in_literal = false;
			continue;
		}
		struct reader_line line;
		size_t used;
		enum reader_result res = reader_line(&d->r, d->in.pend, d->in.plen, &line, &used);
		if (used > d->in.plen)
			abort();
		if (res == READER_LINE) {
			if (line.data < d->in.pend || line.data + line.len > d->in.pend + d->in.plen ||
			    line.len > d->r.max_line)
				abort();
			split_out_str(&d->out, line.eol == READER_EOL_CRLF ? "Lc:" : "Ln:");
			split_out_put(&d->out, line.data, line.len);
			split_out_str(&d->out, "|");
			size_t lit;
			if (reader_drv_literal(line.data, line.len, &lit)) {
				reader_bytes_begin(&d->r, lit);
				d->in_literal = true;
				split_out_str(&d->out, "B:");
			}
		} else if (res == READER_TOO_LONG) {
			if (line.len != d->r.max_line)
				abort();
			split_out_str(&d->out, "T:");
			split_out_put(&d->out, line.data, line.len);
			split_out_str(&d->out, "|");
		}
		split_in_consume(&d->in, used);
		if (res == READER_NEED_MORE)
			return;
	}
}

static inline char *reader_drv_finish(void *drvp, size_t *len_r)
{
	struct reader_drv *d = drvp;
	split_out_str(&d->out, "R:");
	split_out_put(&d->out, d->in.pend, d->in.plen);
	split_in_free(&d->in);
	char *out = d->out.buf;
	*len_r = d->out.len;
	free(d);
	return out;
}

static const struct split_target reader_target = {
	reader_drv_start, reader_drv_feed, reader_drv_finish
};

#endif
