/* The IMAP command parser under the split-point driver (tests/support/
 * split.h), shared by tests/unit/test-imap-parser.c and tests/fuzz/fuzz-
 * imap-parser.c. Transcript: "+|" per continuation request, "C <tag> <NAME>
 * <args>|" per command (atoms as they are, quoted strings in "", literals as
 * {len:bytes}, literal8 as ~{len:bytes}, streamed literals as
 * {len:streamed}, lists in ()), "E <tag or *> <NO|BAD>[ [CODE]] <text>|"
 * per error, "L <tag> <size>[+][ lit8] args=<n> depth=<d>|" when an APPEND
 * literal is offered for streaming, "D <bytes>|" once a streamed literal is
 * complete, "R:<unconsumed byte count>" at the end. A command
 * "AUTHENTICATE <digit> ..." makes the next <digit> lines raw lines
 * (imap_parser_read_line), each written "W <line>|", or "T|" when it is
 * over the line limit. The decision at an
 * offered literal is the config's: 'b'uffer, 's'tream, 'r'efuse, or 'x'
 * (by the literal's size: size % 3 picks b, s or r). A command that breaks the
 * limits it was parsed under (depth, argument count, literal size) or an
 * argument that is not NUL-terminated at its length aborts. */
#ifndef LOFT_TESTS_IMAP_PARSER_DRIVER_H
#define LOFT_TESTS_IMAP_PARSER_DRIVER_H

#include "server/imap/parser.h"
#include "tests/support/split.h"

/* What imap_drv_start() takes. */
struct imap_drv_config {
	struct imap_parser_limits lim;
	char decide;
};

struct imap_drv {
	struct imap_parser *p;
	struct imap_parser_limits lim;
	char decide;
	struct split_in in;
	struct split_out out;
	struct split_out streamed;   /* bytes of the literal being streamed */
	unsigned raw_left;           /* raw lines to read before commands */
};

/* APPEND's literals are offered for streaming, as in the server. */
static inline bool imap_drv_stream_append(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "APPEND") == 0;
}

/* Returns the number of arguments, nested ones included. */
static inline size_t imap_drv_args(struct imap_drv *d, const struct imap_arg *args, size_t n,
				   unsigned depth)
{
	size_t count = 0;
	if (depth > d->lim.max_depth)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		count++;
		if (i > 0)
			split_out_str(&d->out, " ");
		if (a->type == IMAP_ARG_LIST) {
			split_out_str(&d->out, "(");
			count += imap_drv_args(d, a->list, a->list_count, depth + 1);
			split_out_str(&d->out, ")");
			continue;
		}
		if (a->streamed) {
			if (a->type != IMAP_ARG_LITERAL || a->str != NULL)
				abort();
			split_out_printf(&d->out, "%s{%zu:streamed}", a->literal8 ? "~" : "", a->len);
			continue;
		}
		if (a->str == NULL || a->str[a->len] != '\0')
			abort();
		if (a->type == IMAP_ARG_LITERAL) {
			if (a->len > d->lim.max_literal)
				abort();
			split_out_printf(&d->out, "%s{%zu:", a->literal8 ? "~" : "", a->len);
		} else if (a->type == IMAP_ARG_QUOTED) {
			split_out_str(&d->out, "\"");
		}
		split_out_put(&d->out, a->str, a->len);
		if (a->type == IMAP_ARG_LITERAL)
			split_out_str(&d->out, "}");
		else if (a->type == IMAP_ARG_QUOTED)
			split_out_str(&d->out, "\"");
	}
	return count;
}

/* arg: the struct imap_drv_config to parse under. */
static inline void *imap_drv_start(const void *arg)
{
	const struct imap_drv_config *cfg = arg;
	struct imap_drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	d->lim = cfg->lim;
	d->decide = cfg->decide;
	d->p = imap_parser_create(&cfg->lim);
	imap_parser_set_stream_filter(d->p, imap_drv_stream_append, NULL);
	split_in_init(&d->in);
	return d;
}

static inline void imap_drv_decide(struct imap_drv *d)
{
	const struct imap_literal_info *li = imap_parser_literal_info(d->p);
	if (li->partial == NULL || li->partial->tag == NULL)
		abort();
	split_out_printf(&d->out, "L %s %zu%s%s args=%zu depth=%u|", li->partial->tag, li->size,
			 li->sync ? "" : "+", li->literal8 ? " lit8" : "", li->partial->n_args,
			 li->depth);
	char how = d->decide == 'x' ? "bsr"[li->size % 3] : d->decide;
	d->streamed.len = 0;
	if (how == 's')
		imap_parser_literal_stream(d->p);
	else if (how == 'r')
		imap_parser_literal_refuse(d->p, IMAP_ERROR_NO, "TRYCREATE", "no box");
	else
		imap_parser_literal_buffer(d->p);
}

static inline void imap_drv_feed(void *drvp, const char *p, size_t n)
{
	struct imap_drv *d = drvp;
	split_in_append(&d->in, p, n);
	for (;;) {
		size_t used;
		if (d->raw_left > 0) {
			const char *line;
			size_t llen;
			enum imap_line_result lr = imap_parser_read_line(d->p, d->in.pend, d->in.plen,
									 &line, &llen, &used);
			if (lr == IMAP_LINE_DONE) {
				if (line < d->in.pend || line + llen > d->in.pend + used ||
				    llen > d->lim.max_line)
					abort();
				split_out_str(&d->out, "W ");
				split_out_put(&d->out, line, llen);
				split_out_str(&d->out, "|");
			} else if (lr == IMAP_LINE_TOO_LONG) {
				split_out_str(&d->out, "T|");
			}
			split_in_consume(&d->in, used);
			if (lr == IMAP_LINE_NEED_MORE)
				return;
			d->raw_left--;
			continue;
		}
		enum imap_parse_result r = imap_parser_feed(d->p, d->in.pend, d->in.plen, &used);
		bool last = false;
		if (r == IMAP_PARSE_LITERAL_DATA) {
			/* The chunk points into the input: copy it before consuming. */
			const char *chunk;
			size_t clen;
			imap_parser_literal_chunk(d->p, &chunk, &clen, &last);
			if (chunk < d->in.pend || chunk + clen > d->in.pend + used)
				abort();
			split_out_put(&d->streamed, chunk, clen);
		}
		split_in_consume(&d->in, used);
		if (r == IMAP_PARSE_NEED_MORE)
			return;
		if (r == IMAP_PARSE_CONTINUE) {
			split_out_str(&d->out, "+|");
		} else if (r == IMAP_PARSE_LITERAL) {
			imap_drv_decide(d);
		} else if (r == IMAP_PARSE_LITERAL_DATA) {
			if (last) {
				split_out_str(&d->out, "D ");
				split_out_put(&d->out, d->streamed.buf, d->streamed.len);
				split_out_str(&d->out, "|");
			}
		} else if (r == IMAP_PARSE_COMMAND) {
			const struct imap_command *c = imap_parser_command(d->p);
			if (c->tag == NULL || c->name == NULL || c->tag[0] == '\0' || c->name[0] == '\0')
				abort();
			split_out_printf(&d->out, "C %s %s", c->tag, c->name);
			if (c->n_args > 0)
				split_out_str(&d->out, " ");
			if (imap_drv_args(d, c->args, c->n_args, 0) > d->lim.max_args)
				abort();
			split_out_str(&d->out, "|");
			if (strcmp(c->name, "AUTHENTICATE") == 0 && c->n_args > 0 &&
			    c->args[0].type == IMAP_ARG_ATOM && c->args[0].len == 1 &&
			    c->args[0].str[0] >= '0' && c->args[0].str[0] <= '9')
				d->raw_left = (unsigned)(c->args[0].str[0] - '0');
		} else {
			const struct imap_parse_error *e = imap_parser_error(d->p);
			split_out_printf(&d->out, "E %s %s%s%s%s %s|", e->tag ? e->tag : "*",
					 e->kind == IMAP_ERROR_NO ? "NO" : "BAD",
					 e->code ? " [" : "", e->code ? e->code : "",
					 e->code ? "]" : "", e->text);
		}
	}
}

static inline char *imap_drv_finish(void *drvp, size_t *len_r)
{
	struct imap_drv *d = drvp;
	split_out_printf(&d->out, "R:%zu", d->in.plen);
	split_in_free(&d->in);
	free(d->streamed.buf);
	imap_parser_free(&d->p);
	if (d->p != NULL)
		abort();
	char *out = d->out.buf;
	*len_r = d->out.len;
	free(d);
	return out;
}

static const struct split_target imap_parser_target = {
	imap_drv_start, imap_drv_feed, imap_drv_finish
};

#endif
