/* libFuzzer target for the IMAP command parser (server/imap/parser.c). The
 * first four bytes pick the limits and two split points; the rest is parsed
 * whole and in three pieces (tests/support/split.h). Both feedings must give
 * the same events, commands (serialized argument trees) and errors; every
 * command must respect the limits. Otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/imap/parser.h"
#include "tests/support/split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct drv {
	struct imap_parser *p;
	struct imap_parser_limits lim;
	struct split_in in;
	struct split_out out;
};

static size_t emit_args(struct drv *d, const struct imap_arg *args, size_t n, unsigned depth)
{
	size_t count = 0;
	if (depth > d->lim.max_depth)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		count++;
		split_out_printf(&d->out, "<%d:%zu:", (int)a->type, a->len);
		if (a->type == IMAP_ARG_LIST) {
			count += emit_args(d, a->list, a->list_count, depth + 1);
		} else {
			if (a->str == NULL || a->str[a->len] != '\0')
				abort();
			if (a->type == IMAP_ARG_LITERAL && a->len > d->lim.max_literal)
				abort();
			split_out_put(&d->out, a->str, a->len);
		}
		split_out_str(&d->out, ">");
	}
	return count;
}

static void *drv_start(const void *lim)
{
	struct drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	d->lim = *(const struct imap_parser_limits *)lim;
	d->p = imap_parser_create(lim);
	split_in_init(&d->in);
	return d;
}

static void drv_feed(void *drvp, const char *p, size_t n)
{
	struct drv *d = drvp;
	split_in_append(&d->in, p, n);
	for (;;) {
		size_t used;
		enum imap_parse_result r = imap_parser_feed(d->p, d->in.pend, d->in.plen, &used);
		split_in_consume(&d->in, used);
		if (r == IMAP_PARSE_NEED_MORE)
			return;
		if (r == IMAP_PARSE_CONTINUE) {
			split_out_str(&d->out, "+|");
		} else if (r == IMAP_PARSE_COMMAND) {
			const struct imap_command *c = imap_parser_command(d->p);
			if (c->tag == NULL || c->name == NULL || c->tag[0] == '\0' || c->name[0] == '\0')
				abort();
			split_out_printf(&d->out, "C %s %s", c->tag, c->name);
			if (emit_args(d, c->args, c->n_args, 0) > d->lim.max_args)
				abort();
			split_out_str(&d->out, "|");
		} else {
			const struct imap_parse_error *e = imap_parser_error(d->p);
			split_out_printf(&d->out, "E %s %s %s%s|", e->tag ? e->tag : "*",
					 e->kind == IMAP_ERROR_NO ? "NO" : "BAD",
					 e->code ? e->code : "-", e->text);
		}
	}
}

static char *drv_finish(void *drvp, size_t *len_r)
{
	struct drv *d = drvp;
	split_out_printf(&d->out, "R%zu", d->in.plen);
	split_in_free(&d->in);
	imap_parser_free(&d->p);
	char *out = d->out.buf;
	*len_r = d->out.len;
	free(d);
	return out;
}

static const struct split_target parser_target = { drv_start, drv_feed, drv_finish };

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
	const char *in = (const char *)data + 4;
	size_t wlen, slen;
	char *whole = split_run3(&parser_target, &lim, in, body, body, body, &wlen);
	char *split = split_run3(&parser_target, &lim, in, body, i, j, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, whole, (int)slen, split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
