/* libFuzzer target for the IMAP command parser (server/imap/parser.c). The
 * first four bytes pick the limits and two split points; the rest is parsed
 * whole and in three pieces (exact-size heap copies). Both feedings must give
 * the same events, commands (serialized argument trees) and errors; every
 * command must respect the limits. Otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/imap/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct drv {
	struct imap_parser *p;
	struct imap_parser_limits lim;
	char *pend;
	size_t plen;
	char *out;
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

static void emit_str(struct drv *d, const char *s)
{
	emit(d, s, strlen(s));
}

static size_t emit_args(struct drv *d, const struct imap_arg *args, size_t n, unsigned depth)
{
	size_t count = 0;
	if (depth > d->lim.max_depth)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		count++;
		char hdr[32];
		snprintf(hdr, sizeof(hdr), "<%d:%zu:", (int)a->type, a->len);
		emit_str(d, hdr);
		if (a->type == IMAP_ARG_LIST) {
			count += emit_args(d, a->list, a->list_count, depth + 1);
		} else {
			if (a->str == NULL || a->str[a->len] != '\0')
				abort();
			if (a->type == IMAP_ARG_LITERAL && a->len > d->lim.max_literal)
				abort();
			emit(d, a->str, a->len);
		}
		emit_str(d, ">");
	}
	return count;
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
		size_t used;
		enum imap_parse_result r = imap_parser_feed(d->p, d->pend, d->plen, &used);
		consume(d, used);
		if (r == IMAP_PARSE_NEED_MORE)
			return;
		if (r == IMAP_PARSE_CONTINUE) {
			emit_str(d, "+|");
		} else if (r == IMAP_PARSE_COMMAND) {
			const struct imap_command *c = imap_parser_command(d->p);
			if (c->tag == NULL || c->name == NULL || c->tag[0] == '\0' || c->name[0] == '\0')
				abort();
			emit_str(d, "C ");
			emit_str(d, c->tag);
			emit_str(d, " ");
			emit_str(d, c->name);
			if (emit_args(d, c->args, c->n_args, 0) > d->lim.max_args)
				abort();
			emit_str(d, "|");
		} else {
			const struct imap_parse_error *e = imap_parser_error(d->p);
			emit_str(d, "E ");
			emit_str(d, e->tag ? e->tag : "*");
			emit_str(d, e->kind == IMAP_ERROR_NO ? " NO " : " BAD ");
			emit_str(d, e->code ? e->code : "-");
			emit_str(d, e->text);
			emit_str(d, "|");
		}
	}
}

static char *run(const uint8_t *data, size_t size, const struct imap_parser_limits *lim,
		 size_t i, size_t j, size_t *olen_r)
{
	struct drv d;
	memset(&d, 0, sizeof(d));
	d.lim = *lim;
	d.p = imap_parser_create(lim);
	d.pend = malloc(1);
	feed(&d, data, i);
	feed(&d, data + i, j - i);
	feed(&d, data + j, size - j);
	char tail[32];
	snprintf(tail, sizeof(tail), "R%zu", d.plen);
	emit_str(&d, tail);
	free(d.pend);
	imap_parser_free(&d.p);
	*olen_r = d.olen;
	return d.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	struct imap_parser_limits lim = {
		.max_line = 8 + data[0] % 120,
		.max_literal = data[1] % 64,
		.max_depth = 1 + data[1] % 6,
		.max_args = 1 + data[0] % 40,
	};
	size_t body = size - 4;
	size_t i = body ? data[2] % (body + 1) : 0;
	size_t j = body ? data[3] % (body + 1) : 0;
	if (j < i) {
		size_t t = i;
		i = j;
		j = t;
	}
	data += 4;
	size_t wlen, slen;
	char *whole = run(data, body, &lim, body, body, &wlen);
	char *split = run(data, body, &lim, i, j, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, (const char *)whole,
			(int)slen, (const char *)split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
