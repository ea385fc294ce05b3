/* libFuzzer target for the line and byte-count readers (server/net/
 * reader.c). The first three bytes pick the line limit and two split points;
 * the rest is read whole and in three pieces (tests/support/split.h: exact-
 * size heap copies, so a read past the given length trips ASan), treating a line ending in "{n}" as
 * announcing an n-byte payload. Both feedings must give the same transcript
 * (lines, overlong reports, payload bytes); otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/net/reader.h"
#include "tests/support/split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct drv {
	struct reader r;
	struct split_in in;
	bool in_literal;
	struct split_out out;     /* transcript */
};

static bool literal_announce(const char *s, size_t len, size_t *n_r)
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

static void *drv_start(const void *arg)
{
	struct drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	reader_init(&d->r, *(const size_t *)arg);
	split_in_init(&d->in);
	return d;
}

static void drv_feed(void *drvp, const char *p, size_t n)
{
	struct drv *d = drvp;
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
			split_out_str(&d->out, line.eol == READER_EOL_CRLF ? "Lc" : "Ln");
			split_out_put(&d->out, line.data, line.len);
			split_out_str(&d->out, "|");
			size_t lit;
			if (literal_announce(line.data, line.len, &lit)) {
				reader_bytes_begin(&d->r, lit);
				d->in_literal = true;
				split_out_str(&d->out, "B");
			}
		} else if (res == READER_TOO_LONG) {
			if (line.len != d->r.max_line)
				abort();
			split_out_str(&d->out, "T");
			split_out_put(&d->out, line.data, line.len);
			split_out_str(&d->out, "|");
		}
		split_in_consume(&d->in, used);
		if (res == READER_NEED_MORE)
			return;
	}
}

static char *drv_finish(void *drvp, size_t *len_r)
{
	struct drv *d = drvp;
	split_out_str(&d->out, "R");
	split_out_put(&d->out, d->in.pend, d->in.plen);
	split_in_free(&d->in);
	char *out = d->out.buf != NULL ? d->out.buf : calloc(1, 1);
	*len_r = d->out.len;
	free(d);
	return out;
}

static const struct split_target reader_target = { drv_start, drv_feed, drv_finish };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t max_line = data[0] % 80;
	size_t body = size - 3;
	size_t i = body ? data[1] % (body + 1) : 0;
	size_t j = body ? data[2] % (body + 1) : 0;
	if (j < i) {
		size_t t = i;
		i = j;
		j = t;
	}
	const char *in = (const char *)data + 3;
	size_t wlen, slen;
	char *whole = split_run3(&reader_target, &max_line, in, body, body, body, &wlen);
	char *split = split_run3(&reader_target, &max_line, in, body, i, j, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, whole, (int)slen, split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
