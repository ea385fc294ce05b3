/* libFuzzer target for the line and byte-count readers (server/net/
 * reader.c). The first three bytes pick the line limit and two split points;
 * the rest is read whole and in three pieces (exact-size heap copies, so a
 * read past the given length trips ASan), treating a line ending in "{n}" as
 * announcing an n-byte payload. Both feedings must give the same transcript
 * (lines, overlong reports, payload bytes); otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/net/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct drv {
	struct reader r;
	char *pend;
	size_t plen;
	bool in_literal;
	uint8_t *out;     /* transcript */
	size_t olen, ocap;
};

static void emit(struct drv *d, const void *p, size_t n)
{
	if (d->olen + n > d->ocap) {
		d->ocap = (d->olen + n) * 2 + 64;
		d->out = realloc(d->out, d->ocap);
		if (d->out == NULL)
			abort();
	}
	memcpy(d->out + d->olen, p, n);
	d->olen += n;
}

static void consume(struct drv *d, size_t n)
{
	if (n > d->plen)
		abort();
	size_t rest = d->plen - n;
	char *nb = malloc(rest ? rest : 1);
	memcpy(nb, d->pend + n, rest);
	free(d->pend);
	d->pend = nb;
	d->plen = rest;
}

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

static void feed(struct drv *d, const uint8_t *p, size_t n)
{
	char *nb = malloc(d->plen + n ? d->plen + n : 1);
	memcpy(nb, d->pend, d->plen);
	if (n > 0)
		memcpy(nb + d->plen, p, n);
	free(d->pend);
	d->pend = nb;
	d->plen += n;
	for (;;) {
		if (d->in_literal) {
			size_t chunk;
			bool done = reader_bytes(&d->r, d->pend, d->plen, &chunk);
			if (chunk > d->plen)
				abort();
			emit(d, d->pend, chunk);
			consume(d, chunk);
			if (!done)
				return;
			emit(d, "|", 1);
			d->in_literal = false;
			continue;
		}
		struct reader_line line;
		size_t used;
		enum reader_result res = reader_line(&d->r, d->pend, d->plen, &line, &used);
		if (used > d->plen)
			abort();
		if (res == READER_LINE) {
			if (line.data < d->pend || line.data + line.len > d->pend + d->plen ||
			    line.len > d->r.max_line)
				abort();
			emit(d, line.eol == READER_EOL_CRLF ? "Lc" : "Ln", 2);
			emit(d, line.data, line.len);
			emit(d, "|", 1);
			size_t lit;
			if (literal_announce(line.data, line.len, &lit)) {
				reader_bytes_begin(&d->r, lit);
				d->in_literal = true;
				emit(d, "B", 1);
			}
		} else if (res == READER_TOO_LONG) {
			if (line.len != d->r.max_line)
				abort();
			emit(d, "T", 1);
			emit(d, line.data, line.len);
			emit(d, "|", 1);
		}
		consume(d, used);
		if (res == READER_NEED_MORE)
			return;
	}
}

static void run(const uint8_t *data, size_t size, size_t max_line, size_t i, size_t j,
		uint8_t **out_r, size_t *olen_r)
{
	struct drv d;
	memset(&d, 0, sizeof(d));
	reader_init(&d.r, max_line);
	d.pend = malloc(1);
	feed(&d, data, i);
	feed(&d, data + i, j - i);
	feed(&d, data + j, size - j);
	emit(&d, "R", 1);
	emit(&d, d.pend, d.plen);
	free(d.pend);
	*out_r = d.out;
	*olen_r = d.olen;
}

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
	data += 3;
	uint8_t *whole, *split;
	size_t wlen, slen;
	run(data, body, max_line, body, body, &whole, &wlen);
	run(data, body, max_line, i, j, &split, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, (const char *)whole,
			(int)slen, (const char *)split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
