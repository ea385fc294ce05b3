/* The IMAP command parser (see parser.h). Lines and literal bytes are cut
 * from the stream by the shared resumable reader; each line is tokenized
 * whole, and a command that spans literals keeps its partial argument tree
 * (a stack of open lists) here between lines. After an error in a command
 * the rest of it (including {n+} literals) is skipped without buffering. */
#include "server/imap/parser.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/net/reader.h"
#include "lib/xmem.h"

enum pstate {
	PS_LINE,            /* reading a command line (or its continuation) */
	PS_LITERAL,         /* buffering a literal's bytes */
	PS_SKIP_LITERAL,    /* dropping a {n+} literal of a failed command */
	PS_DECIDE,          /* a streamable literal awaits the caller's decision */
	PS_STREAM,          /* handing a literal's bytes out as they come */
};

struct level {
	struct imap_arg *items;
	size_t n, cap;
};

struct imap_parser {
	struct imap_parser_limits lim;      /* for the current command */
	struct imap_parser_limits next_lim; /* from the next command on */
	struct reader rd;
	enum pstate state;
	bool in_command;     /* tag and name seen */
	bool skipping;       /* an error is pending; skip to the command's end */
	bool need_sep;       /* the last token needs SP, ')' or EOL after it */
	bool handed_out;     /* cmd was returned; free it on the next feed */
	char *tag, *name;
	struct level *stack; /* stack[0]: the command's arguments */
	unsigned depth, stack_cap;
	unsigned n_args;
	char *lit;           /* literal being read */
	size_t lit_len, lit_size;
	bool lit8;           /* the literal being read or streamed is ~{n} */
	size_t lit_total;    /* buffered literal bytes in this command */
	bool error_pending;  /* report err_* at the next feed */
	imap_parser_stream_filter *filter;
	void *filter_ctx;
	struct imap_literal_info info; /* PS_DECIDE */
	struct imap_command partial;
	const char *chunk;   /* the last LITERAL_DATA chunk */
	size_t chunk_len;
	bool chunk_last;
	struct imap_command cmd;
	struct imap_parse_error err;
	char *err_tag;
	char err_text[128];
	const char *err_code;
	enum imap_error_kind err_kind;
};

static void free_args(struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(args[i].str);
		free_args(args[i].list, args[i].list_count);
	}
	free(args);
}

static void reset_command(struct imap_parser *p)
{
	for (unsigned i = 0; i <= p->depth && p->stack != NULL; i++) {
		free_args(p->stack[i].items, p->stack[i].n);
		memset(&p->stack[i], 0, sizeof(p->stack[i]));
	}
	p->depth = 0;
	p->n_args = 0;
	x_free(&p->tag);
	x_free(&p->name);
	x_free(&p->lit);
	p->lit_len = p->lit_size = 0;
	p->lit8 = false;
	p->lit_total = 0;
	p->error_pending = false;
	p->in_command = false;
	p->skipping = false;
	p->need_sep = false;
	p->handed_out = false;
	p->state = PS_LINE;
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->lim = p->next_lim;
	reader_set_max_line(&p->rd, p->lim.max_line);
}

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	p->lim = p->next_lim = *lim;
	reader_init(&p->rd, lim->max_line);
	p->stack_cap = 4;
	p->stack = xcalloc(p->stack_cap, sizeof(*p->stack));
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	reset_command(p);
	free(p->err_tag);
	free(p->stack);
	free(p);
	*pp = NULL;
}

void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *lim)
{
	p->next_lim = *lim;
	if (!p->in_command && p->state == PS_LINE) {
		p->lim = *lim;
		reader_set_max_line(&p->rd, lim->max_line);
	}
}

const struct imap_parser_limits *imap_parser_get_limits(const struct imap_parser *p)
{
	return &p->next_lim;
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_parse_error *imap_parser_error(const struct imap_parser *p)
{
	return &p->err;
}

bool imap_parser_in_command(const struct imap_parser *p)
{
	return p->in_command && !p->handed_out;
}

/* ---- character classes (RFC 9051 formal syntax) ---- */

static bool is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static bool is_tag_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\+", ch) == NULL;
}

static bool is_atom_char(unsigned char ch)
{
	/* Atoms here also carry list-wildcards, resp-specials and flags'
	 * backslash (LIST patterns, sequence sets, \Seen); 8-bit bytes are
	 * left for the command to judge. */
	return !is_ctl(ch) && ch != ' ' && strchr("(){\"", ch) == NULL;
}

/* ---- building the argument tree ---- */

static int add_arg(struct imap_parser *p, struct imap_arg *arg)
{
	if (++p->n_args > p->lim.max_args) {
		free(arg->str);
		free_args(arg->list, arg->list_count);
		return -1;
	}
	struct level *lv = &p->stack[p->depth];
	if (lv->n == lv->cap) {
		lv->cap = lv->cap ? lv->cap * 2 : 8;
		lv->items = xrealloc(lv->items, lv->cap * sizeof(*lv->items));
	}
	lv->items[lv->n++] = *arg;
	return 0;
}

static void set_error(struct imap_parser *p, enum imap_error_kind kind, const char *code,
		      const char *text)
{
	p->err_kind = kind;
	p->err_code = code;
	snprintf(p->err_text, sizeof(p->err_text), "%s", text);
}

/* Fill p->err for the caller and forget the command. */
static enum imap_parse_result report_error(struct imap_parser *p, bool too_long)
{
	x_free(&p->err_tag);
	p->err_tag = p->tag != NULL ? xstrdup(p->tag) : NULL;
	p->err.tag = p->err_tag;
	p->err.kind = p->err_kind;
	p->err.code = p->err_code;
	p->err.text = p->err_text;
	p->err.line_too_long = too_long;
	reset_command(p);
	return IMAP_PARSE_ERROR;
}

/* Does the line end with a literal announcement "{n}" or "{n+}"? */
static bool trailing_literal(const char *line, size_t len, size_t *n_r, bool *sync_r)
{
	if (len < 3 || line[len - 1] != '}')
		return false;
	size_t end = len - 1;
	*sync_r = true;
	if (line[end - 1] == '+') {
		*sync_r = false;
		end--;
	}
	size_t start = end;
	while (start > 0 && isdigit((unsigned char)line[start - 1]))
		start--;
	if (start == end || start == 0 || line[start - 1] != '{' || end - start > 19)
		return false;
	size_t n = 0;
	for (size_t i = start; i < end; i++)
		n = n * 10 + (size_t)(line[i] - '0');
	*n_r = n;
	return true;
}

/* An error in the line just read: skip any {n+} literal the client will
 * send anyway, otherwise answer now. Returns ERROR or NEED_MORE (skip). */
static enum imap_parse_result line_error(struct imap_parser *p, const char *line, size_t len)
{
	size_t n;
	bool sync;
	if (trailing_literal(line, len, &n, &sync) && !sync) {
		p->skipping = true;
		p->state = PS_SKIP_LITERAL;
		reader_bytes_begin(&p->rd, n);
		return IMAP_PARSE_NEED_MORE;
	}
	return report_error(p, false);
}

static int parse_quoted(struct imap_parser *p, const char *line, size_t len, size_t *pos)
{
	size_t i = *pos + 1;
	char *out = xmalloc(len - *pos);
	size_t o = 0;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (i + 1 >= len || (line[i + 1] != '"' && line[i + 1] != '\\')) {
				free(out);
				set_error(p, IMAP_ERROR_BAD, NULL, "Invalid escape in quoted string");
				return -1;
			}
			ch = (unsigned char)line[++i];
		} else if (ch == '\0' || ch == '\r') {
			free(out);
			set_error(p, IMAP_ERROR_BAD, NULL, "Invalid character in quoted string");
			return -1;
		}
		out[o++] = (char)ch;
	}
	if (i >= len) {
		free(out);
		set_error(p, IMAP_ERROR_BAD, NULL, "Unterminated quoted string");
		return -1;
	}
	out[o] = '\0';
	*pos = i + 1;
	struct imap_arg a = { .type = IMAP_ARG_QUOTED, .str = out, .len = o };
	if (add_arg(p, &a) < 0) {
		set_error(p, IMAP_ERROR_BAD, NULL, "Too many arguments");
		return -1;
	}
	return 0;
}

static int parse_atom(struct imap_parser *p, const char *line, size_t len, size_t *pos)
{
	size_t i = *pos;
	unsigned brackets = 0;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (brackets > 0) {
			/* Inside a section, e.g. BODY[HEADER.FIELDS (From To)]. */
			if (ch == '\0' || ch == '\r') {
				set_error(p, IMAP_ERROR_BAD, NULL, "Invalid characters in atom");
				return -1;
			}
			if (ch == '[')
				brackets++;
			else if (ch == ']')
				brackets--;
			continue;
		}
		if (ch == ' ' || ch == ')')
			break;
		if (ch == '[') {
			brackets++;
			continue;
		}
		if (!is_atom_char(ch)) {
			set_error(p, IMAP_ERROR_BAD, NULL, "Invalid characters in atom");
			return -1;
		}
	}
	if (brackets > 0) {
		set_error(p, IMAP_ERROR_BAD, NULL, "Missing ']'");
		return -1;
	}
	struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = xstrndup(line + *pos, i - *pos),
			      .len = i - *pos };
	*pos = i;
	if (add_arg(p, &a) < 0) {
		set_error(p, IMAP_ERROR_BAD, NULL, "Too many arguments");
		return -1;
	}
	return 0;
}

/* Over max_literal, or over the command's total? Sets the error: NO
 * [TOOBIG] before the client sends a {n}, BAD once a {n+} came anyway. */
static bool literal_too_big(struct imap_parser *p, size_t n, bool sync)
{
	if (n > p->lim.max_literal ||
	    (p->lim.max_literal_total != 0 && n > p->lim.max_literal_total - p->lit_total)) {
		set_error(p, sync ? IMAP_ERROR_NO : IMAP_ERROR_BAD, "TOOBIG",
			  n > p->lim.max_literal ? "Literal too big"
						 : "Too much literal data in one command");
		return true;
	}
	return false;
}

static void begin_buffered(struct imap_parser *p, size_t n, bool lit8)
{
	p->lit = xmalloc(n + 1);
	p->lit_size = n;
	p->lit_len = 0;
	p->lit8 = lit8;
	p->lit_total += n;
	p->state = PS_LITERAL;
	reader_bytes_begin(&p->rd, n);
}

static void offer_literal(struct imap_parser *p, size_t n, bool sync, bool lit8)
{
	p->partial.tag = p->tag;
	p->partial.name = p->name;
	p->partial.args = p->stack[0].items;
	p->partial.n_args = p->stack[0].n;
	p->info = (struct imap_literal_info){
		.size = n, .sync = sync, .literal8 = lit8, .partial = &p->partial,
		.depth = p->depth, .siblings = p->stack[p->depth].items,
		.n_siblings = p->stack[p->depth].n,
	};
	p->state = PS_DECIDE;
}

/* A failed literal: a {n+} one is skipped unread and the error reported at
 * the command's end; for {n} the error is reported at once (the client
 * sends nothing until it sees "+"). */
static void fail_literal(struct imap_parser *p, size_t n, bool sync)
{
	if (sync) {
		p->error_pending = true;
		p->state = PS_LINE;
		return;
	}
	p->skipping = true;
	p->state = PS_SKIP_LITERAL;
	reader_bytes_begin(&p->rd, n);
}

void imap_parser_set_stream_filter(struct imap_parser *p, imap_parser_stream_filter *fn,
				   void *ctx)
{
	p->filter = fn;
	p->filter_ctx = ctx;
}

const struct imap_literal_info *imap_parser_literal_info(const struct imap_parser *p)
{
	return &p->info;
}

void imap_parser_literal_buffer(struct imap_parser *p)
{
	if (p->state != PS_DECIDE)
		return;
	if (literal_too_big(p, p->info.size, p->info.sync)) {
		fail_literal(p, p->info.size, p->info.sync);
		return;
	}
	begin_buffered(p, p->info.size, p->info.literal8);
}

bool imap_parser_buffering(const struct imap_parser *p)
{
	return p->state == PS_LITERAL;
}

void imap_parser_literal_stream(struct imap_parser *p)
{
	if (p->state != PS_DECIDE)
		return;
	p->lit_size = p->info.size;
	p->lit8 = p->info.literal8;
	p->state = PS_STREAM;
	reader_bytes_begin(&p->rd, p->info.size);
}

void imap_parser_literal_refuse(struct imap_parser *p, enum imap_error_kind kind,
				const char *code, const char *text)
{
	if (p->state != PS_DECIDE)
		return;
	set_error(p, kind, code, text);
	fail_literal(p, p->info.size, p->info.sync);
}

bool imap_parser_streaming(const struct imap_parser *p)
{
	return p->state == PS_STREAM;
}

void imap_parser_literal_chunk(const struct imap_parser *p, const char **data_r,
			       size_t *len_r, bool *last_r)
{
	*data_r = p->chunk;
	*len_r = p->chunk_len;
	*last_r = p->chunk_last;
}

/* Returns 2 when a streamable literal was offered (PS_DECIDE), 1 when a
 * literal was announced (state changed), 0 when the line was fully
 * tokenized, -1 on error (p->err_* set). */
static int tokenize(struct imap_parser *p, const char *line, size_t len, size_t pos,
		    bool *sync_r)
{
	while (pos < len) {
		unsigned char ch = (unsigned char)line[pos];
		if (ch == ' ') {
			pos++;
			p->need_sep = false;
			continue;
		}
		if (ch == ')') {
			if (p->depth == 0) {
				set_error(p, IMAP_ERROR_BAD, NULL, "Unexpected ')'");
				return -1;
			}
			struct level lv = p->stack[p->depth];
			memset(&p->stack[p->depth], 0, sizeof(lv));
			p->depth--;
			struct imap_arg a = { .type = IMAP_ARG_LIST, .list = lv.items,
					      .list_count = lv.n };
			struct level *parent = &p->stack[p->depth];
			if (parent->n == parent->cap) {
				parent->cap = parent->cap ? parent->cap * 2 : 8;
				parent->items = xrealloc(parent->items, parent->cap * sizeof(a));
			}
			parent->items[parent->n++] = a;
			pos++;
			p->need_sep = true;
			continue;
		}
		if (p->need_sep) {
			set_error(p, IMAP_ERROR_BAD, NULL, "Missing space between arguments");
			return -1;
		}
		if (ch == '(') {
			if (p->depth + 1 > p->lim.max_depth) {
				set_error(p, IMAP_ERROR_BAD, NULL, "Lists nested too deeply");
				return -1;
			}
			if (++p->n_args > p->lim.max_args) {
				set_error(p, IMAP_ERROR_BAD, NULL, "Too many arguments");
				return -1;
			}
			if (p->depth + 1 >= p->stack_cap) {
				unsigned cap = p->stack_cap * 2;
				p->stack = xrealloc(p->stack, cap * sizeof(*p->stack));
				memset(p->stack + p->stack_cap, 0,
				       (cap - p->stack_cap) * sizeof(*p->stack));
				p->stack_cap = cap;
			}
			p->depth++;
			pos++;
			continue;
		}
		if (ch == '"') {
			if (parse_quoted(p, line, len, &pos) < 0)
				return -1;
			p->need_sep = true;
			continue;
		}
		if (ch == '{' || (ch == '~' && pos + 1 < len && line[pos + 1] == '{')) {
			size_t n;
			bool sync, lit8 = ch == '~';
			size_t at = lit8 ? pos + 1 : pos;
			if (!trailing_literal(line + at, len - at, &n, &sync) || line[at] != '{') {
				set_error(p, IMAP_ERROR_BAD, NULL,
					  "Invalid literal (must be {n} or {n+} at the end of the line)");
				return -1;
			}
			*sync_r = sync;
			if (p->filter != NULL && p->filter(p->name, p->filter_ctx)) {
				offer_literal(p, n, sync, lit8);
				return 2;
			}
			if (literal_too_big(p, n, sync))
				return -1;
			begin_buffered(p, n, lit8);
			return 1;
		}
		if (parse_atom(p, line, len, &pos) < 0)
			return -1;
		p->need_sep = true;
	}
	return 0;
}

/* The command line (or a continuation after a literal) is complete. */
static enum imap_parse_result line_done(struct imap_parser *p)
{
	if (p->depth > 0) {
		set_error(p, IMAP_ERROR_BAD, NULL, "Missing ')'");
		return report_error(p, false);
	}
	p->cmd.tag = p->tag;
	p->cmd.name = p->name;
	p->cmd.args = p->stack[0].items;
	p->cmd.n_args = p->stack[0].n;
	p->handed_out = true; /* the next feed resets and frees it */
	return IMAP_PARSE_COMMAND;
}

static enum imap_parse_result parse_line(struct imap_parser *p, const char *line, size_t len)
{
	size_t pos = 0;
	if (p->skipping) {
		size_t n;
		bool sync;
		if (trailing_literal(line, len, &n, &sync) && !sync) {
			p->state = PS_SKIP_LITERAL;
			reader_bytes_begin(&p->rd, n);
			return IMAP_PARSE_NEED_MORE;
		}
		return report_error(p, false);
	}
	if (!p->in_command) {
		if (len == 0)
			return IMAP_PARSE_NEED_MORE; /* empty line: ignored */
		while (pos < len && line[pos] != ' ')
			pos++;
		bool tag_ok = pos > 0;
		for (size_t i = 0; i < pos; i++)
			if (!is_tag_char((unsigned char)line[i]))
				tag_ok = false;
		if (!tag_ok) {
			set_error(p, IMAP_ERROR_BAD, NULL, "Invalid tag");
			return line_error(p, line, len);
		}
		p->tag = xstrndup(line, pos);
		if (pos >= len || pos + 1 >= len) {
			set_error(p, IMAP_ERROR_BAD, NULL, "Missing command");
			return line_error(p, line, len);
		}
		size_t start = ++pos;
		while (pos < len && line[pos] != ' ')
			pos++;
		for (size_t i = start; i < pos; i++) {
			unsigned char ch = (unsigned char)line[i];
			if (!is_atom_char(ch) || ch == '[' || ch == ']' || ch >= 0x80) {
				set_error(p, IMAP_ERROR_BAD, NULL, "Invalid command name");
				return line_error(p, line, len);
			}
		}
		if (pos == start) {
			set_error(p, IMAP_ERROR_BAD, NULL, "Missing command");
			return line_error(p, line, len);
		}
		p->name = xstrndup(line + start, pos - start);
		for (char *s = p->name; *s; s++)
			*s = (char)toupper((unsigned char)*s);
		p->in_command = true;
		p->need_sep = false;
		if (pos < len)
			pos++; /* the SP after the name */
	}
	bool sync = false;
	int r = tokenize(p, line, len, pos, &sync);
	if (r < 0)
		return line_error(p, line, len);
	if (r == 2)
		return IMAP_PARSE_LITERAL;
	if (r > 0)
		return sync ? IMAP_PARSE_CONTINUE : IMAP_PARSE_NEED_MORE;
	return line_done(p);
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data,
					size_t len, size_t *consumed_r)
{
	size_t used = 0;
	*consumed_r = 0;
	if (p->handed_out)
		reset_command(p);

	if (p->state == PS_DECIDE)
		imap_parser_literal_buffer(p); /* no decision: the safe default */
	if (p->error_pending) {
		p->error_pending = false;
		return report_error(p, false);
	}

	for (;;) {
		if (p->state == PS_STREAM) {
			size_t chunk;
			bool done = reader_bytes(&p->rd, data + used, len - used, &chunk);
			p->chunk = data + used;
			p->chunk_len = chunk;
			p->chunk_last = done;
			used += chunk;
			*consumed_r = used;
			if (!done && chunk == 0)
				return IMAP_PARSE_NEED_MORE;
			if (done) {
				struct imap_arg a = { .type = IMAP_ARG_LITERAL, .len = p->lit_size,
						      .literal8 = p->lit8, .streamed = true };
				p->lit_size = 0;
				p->state = PS_LINE;
				p->need_sep = true;
				if (add_arg(p, &a) < 0) {
					set_error(p, IMAP_ERROR_BAD, NULL, "Too many arguments");
					p->skipping = true;
				}
			}
			return IMAP_PARSE_LITERAL_DATA;
		}
		if (p->state == PS_LITERAL || p->state == PS_SKIP_LITERAL) {
			size_t chunk;
			bool done = reader_bytes(&p->rd, data + used, len - used, &chunk);
			if (p->state == PS_LITERAL && chunk > 0) {
				memcpy(p->lit + p->lit_len, data + used, chunk);
				p->lit_len += chunk;
			}
			used += chunk;
			if (!done) {
				*consumed_r = used;
				return IMAP_PARSE_NEED_MORE;
			}
			if (p->state == PS_LITERAL) {
				p->lit[p->lit_len] = '\0';
				struct imap_arg a = { .type = IMAP_ARG_LITERAL, .str = p->lit,
						      .len = p->lit_len, .literal8 = p->lit8 };
				p->lit = NULL;
				p->lit_len = p->lit_size = 0;
				p->state = PS_LINE;
				if (add_arg(p, &a) < 0) {
					set_error(p, IMAP_ERROR_BAD, NULL, "Too many arguments");
					p->skipping = true;
				}
				p->need_sep = true;
			} else {
				p->state = PS_LINE;
			}
			continue;
		}

		struct reader_line line;
		size_t n;
		enum reader_result r = reader_line(&p->rd, data + used, len - used, &line, &n);
		used += n;
		*consumed_r = used;
		if (r == READER_NEED_MORE)
			return IMAP_PARSE_NEED_MORE;
		if (r == READER_TOO_LONG) {
			if (p->tag == NULL) {
				/* The tag from the start of the line, if it is one. */
				size_t t = 0;
				while (t < line.len && is_tag_char((unsigned char)line.data[t]))
					t++;
				if (t > 0 && t < line.len && line.data[t] == ' ')
					p->tag = xstrndup(line.data, t);
			}
			set_error(p, IMAP_ERROR_BAD, NULL, "Command line too long");
			return report_error(p, true);
		}
		enum imap_parse_result res = parse_line(p, line.data, line.len);
		if (res != IMAP_PARSE_NEED_MORE)
			return res;
	}
}

enum imap_line_result imap_parser_read_line(struct imap_parser *p, const char *data,
					    size_t len, const char **line_r,
					    size_t *line_len_r, size_t *consumed_r)
{
	*line_r = NULL;
	*line_len_r = 0;
	*consumed_r = 0;
	if (p->handed_out)
		reset_command(p);
	if (p->in_command || p->state != PS_LINE)
		return IMAP_LINE_NEED_MORE; /* misuse: a command is being parsed */
	struct reader_line line;
	enum reader_result r = reader_line(&p->rd, data, len, &line, consumed_r);
	if (r == READER_NEED_MORE)
		return IMAP_LINE_NEED_MORE;
	if (r == READER_TOO_LONG)
		return IMAP_LINE_TOO_LONG;
	*line_r = line.data;
	*line_len_r = line.len;
	return IMAP_LINE_DONE;
}

bool imap_arg_is_atom(const struct imap_arg *a, const char *upper)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, upper) == 0;
}

const char *imap_arg_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_LIST ? NULL : a->str;
}
