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

enum pstate { PS_LINE, PS_LITERAL, PS_SKIP_LITERAL };

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

/* Returns 1 when a literal was announced (state changed), 0 when the line
 * was fully tokenized, -1 on error (p->err_* set). */
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
			bool sync;
			if (ch == '~') {
				set_error(p, IMAP_ERROR_BAD, NULL, "literal8 is not supported");
				return -1;
			}
			if (!trailing_literal(line + pos, len - pos, &n, &sync) ||
			    line[pos] != '{') {
				set_error(p, IMAP_ERROR_BAD, NULL,
					  "Invalid literal (must be {n} or {n+} at the end of the line)");
				return -1;
			}
			if (n > p->lim.max_literal) {
				set_error(p, sync ? IMAP_ERROR_NO : IMAP_ERROR_BAD, "TOOBIG",
					  "Literal too big");
				return -1;
			}
			p->lit = xmalloc(n + 1);
			p->lit_size = n;
			p->lit_len = 0;
			p->state = PS_LITERAL;
			reader_bytes_begin(&p->rd, n);
			*sync_r = sync;
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

	for (;;) {
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
						      .len = p->lit_len };
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

bool imap_arg_is_atom(const struct imap_arg *a, const char *upper)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, upper) == 0;
}

const char *imap_arg_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_LIST ? NULL : a->str;
}
