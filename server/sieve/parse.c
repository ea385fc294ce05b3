/* The Sieve lexer and parser (RFC 5228 section 8): script text to the flat
 * arrays of struct sieve_script (nodes, arguments, strings) without knowing
 * any command. Strings are stored processed (quoted-string escapes removed,
 * multi-line dot-stuffing undone, line ends as CRLF). Every error names the
 * line and column where it was found; nesting is bounded by max_nesting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/sieve/sieve-internal.h"

void sv_error(struct sv_errors *e, uint32_t line, uint32_t col, const char *fmt, ...)
{
	e->count++;
	if (e->count > SV_MAX_ERRORS)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msg_buf_printf(e->buf, "line %u, column %u: %s\n", line, col, text);
}

enum tok {
	T_EOF, T_IDENT, T_TAG, T_NUMBER, T_STRING, T_SEMI, T_COMMA, T_LBRACKET,
	T_RBRACKET, T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_ERROR,
};

struct parser {
	const char *p, *end;
	uint32_t line, col;          /* of p */
	const struct sieve_limits *lim;
	struct sieve_script *s;
	struct sv_errors *errs;
	uint32_t cap_nodes, cap_args, cap_strs, cap_pool;
	/* the current token */
	enum tok tok;
	uint32_t tline, tcol;
	uint32_t tstr;               /* T_IDENT/T_TAG/T_STRING: strs[] index */
	uint64_t tnum;
	bool limit_hit;
};

static const char *tok_name(enum tok t)
{
	static const char *const names[] = {
		"end of script", "identifier", "tag", "number", "string", "';'", "','",
		"'['", "']'", "'{'", "'}'", "'('", "')'", "invalid input",
	};
	return names[t];
}

/* ---- arrays ---- */

static void *grow(void *arr, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return arr;
	uint32_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	*cap = n;
	return xrealloc(arr, (size_t)n * elem);
}

static uint32_t pool_add(struct parser *ps, const char *data, size_t len)
{
	struct sieve_script *s = ps->s;
	s->pool = grow(s->pool, &ps->cap_pool, s->pool_len + (uint32_t)len + 1, 1);
	uint32_t off = s->pool_len;
	if (len > 0)
		memcpy(s->pool + off, data, len);
	s->pool[off + len] = '\0';
	s->pool_len += (uint32_t)len + 1;
	return off;
}

static uint32_t str_add(struct parser *ps, const char *data, size_t len)
{
	struct sieve_script *s = ps->s;
	s->strs = grow(s->strs, &ps->cap_strs, s->n_strs + 1, sizeof(*s->strs));
	struct sv_str *st = &s->strs[s->n_strs];
	st->off = pool_add(ps, data, len);
	st->len = (uint32_t)len;
	st->vars = memmem(data, len, "${", 2) != NULL;
	return s->n_strs++;
}

/* ---- lexer ---- */

static void advance(struct parser *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (*ps->p == '\n') {
			ps->line++;
			ps->col = 1;
		} else if (((unsigned char)*ps->p & 0xc0) != 0x80) {
			ps->col++;
		}
		ps->p++;
	}
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static enum tok lex_error(struct parser *ps, const char *fmt, const char *arg)
{
	sv_error(ps->errs, ps->tline, ps->tcol, fmt, arg);
	return T_ERROR;
}

/* Skip white space and comments; false on an unterminated comment. */
static bool skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			advance(ps, 1);
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				advance(ps, 1);
		} else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
			uint32_t line = ps->line, col = ps->col;
			advance(ps, 2);
			for (;;) {
				if (ps->p + 1 >= ps->end) {
					sv_error(ps->errs, line, col, "unterminated comment '/*'");
					ps->p = ps->end;
					return false;
				}
				if (ps->p[0] == '*' && ps->p[1] == '/') {
					advance(ps, 2);
					break;
				}
				advance(ps, 1);
			}
		} else {
			break;
		}
	}
	return true;
}

/* A string token's processed bytes are complete: check and keep them. */
static enum tok string_done(struct parser *ps, struct msg_buf *b)
{
	if (!sv_utf8_valid(b->data, b->len)) {
		msg_buf_free(b);
		return lex_error(ps, "string is not valid UTF-8%s", "");
	}
	ps->tstr = str_add(ps, b->data ? b->data : "", b->len);
	msg_buf_free(b);
	return T_STRING;
}

static enum tok lex_quoted(struct parser *ps)
{
	struct msg_buf b = { 0 };
	advance(ps, 1);
	for (;;) {
		if (ps->p >= ps->end) {
			msg_buf_free(&b);
			return lex_error(ps, "unterminated string%s", "");
		}
		char c = *ps->p;
		if (c == '"')
			break;
		if (c == '\\') {
			if (ps->p + 1 >= ps->end) {
				msg_buf_free(&b);
				return lex_error(ps, "unterminated string%s", "");
			}
			/* RFC 5228 2.4.2: \" and \\ are escapes; any other
			 * backslash is dropped. */
			advance(ps, 1);
			c = *ps->p;
		}
		if (c == '\n' && (b.len == 0 || b.data[b.len - 1] != '\r'))
			msg_buf_putc(&b, '\r');
		msg_buf_putc(&b, c);
		advance(ps, 1);
	}
	advance(ps, 1);
	return string_done(ps, &b);
}

/* "text:" has been seen at p (5 bytes). */
static enum tok lex_multiline(struct parser *ps)
{
	advance(ps, 5);
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		advance(ps, 1);
	if (ps->p < ps->end && *ps->p == '#') {
		while (ps->p < ps->end && *ps->p != '\n')
			advance(ps, 1);
	} else if (ps->p < ps->end && *ps->p == '\r') {
		advance(ps, 1);
	}
	if (ps->p >= ps->end || *ps->p != '\n')
		return lex_error(ps, "'text:' must be followed by the end of the line%s", "");
	advance(ps, 1);
	struct msg_buf b = { 0 };
	for (;;) {
		if (ps->p >= ps->end) {
			msg_buf_free(&b);
			return lex_error(ps, "unterminated multi-line string (no line with a "
					 "single '.')%s", "");
		}
		const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		const char *eol = nl != NULL ? nl : ps->end;
		size_t n = (size_t)(eol - ps->p);
		if (n > 0 && ps->p[n - 1] == '\r')
			n--;
		if (n == 1 && ps->p[0] == '.') {
			advance(ps, (size_t)(eol - ps->p) + (nl != NULL));
			break;
		}
		if (nl == NULL) {
			/* the last line has no end: it cannot be the "." line */
			advance(ps, (size_t)(eol - ps->p));
			continue;
		}
		const char *line = ps->p;
		if (n > 0 && line[0] == '.') {
			line++;
			n--;
		}
		msg_buf_append(&b, line, n);
		msg_buf_append(&b, "\r\n", 2);
		advance(ps, (size_t)(eol - ps->p) + 1);
	}
	return string_done(ps, &b);
}

static enum tok lex_number(struct parser *ps)
{
	uint64_t v = 0;
	bool overflow = false;
	while (ps->p < ps->end && is_digit(*ps->p)) {
		unsigned d = (unsigned)(*ps->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
		advance(ps, 1);
	}
	if (ps->p < ps->end) {
		unsigned shift = 0;
		switch (*ps->p) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		}
		if (shift != 0) {
			if (v > (UINT64_MAX >> shift))
				overflow = true;
			v <<= shift;
			advance(ps, 1);
		}
	}
	if (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p)))
		return lex_error(ps, "invalid number%s", "");
	/* RFC 5228 2.4.1: at least up to 2^31; we keep 63 bits. */
	if (overflow || v > INT64_MAX)
		return lex_error(ps, "number too large%s", "");
	ps->tnum = v;
	return T_NUMBER;
}

static enum tok lex_next(struct parser *ps)
{
	if (!skip_space(ps))
		return T_ERROR;
	ps->tline = ps->line;
	ps->tcol = ps->col;
	if (ps->p >= ps->end)
		return T_EOF;
	char c = *ps->p;
	switch (c) {
	case ';': advance(ps, 1); return T_SEMI;
	case ',': advance(ps, 1); return T_COMMA;
	case '[': advance(ps, 1); return T_LBRACKET;
	case ']': advance(ps, 1); return T_RBRACKET;
	case '{': advance(ps, 1); return T_LBRACE;
	case '}': advance(ps, 1); return T_RBRACE;
	case '(': advance(ps, 1); return T_LPAREN;
	case ')': advance(ps, 1); return T_RPAREN;
	case '"': return lex_quoted(ps);
	default: break;
	}
	if (is_digit(c))
		return lex_number(ps);
	if (c == ':') {
		if (ps->p + 1 >= ps->end || !is_alpha(ps->p[1])) {
			advance(ps, 1);
			return lex_error(ps, "':' must start a tag such as ':is'%s", "");
		}
		advance(ps, 1);
		const char *start = ps->p;
		while (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p)))
			advance(ps, 1);
		ps->tstr = str_add(ps, start, (size_t)(ps->p - start));
		return T_TAG;
	}
	if (is_alpha(c)) {
		if (ps->end - ps->p >= 5 && strncasecmp(ps->p, "text:", 5) == 0)
			return lex_multiline(ps);
		const char *start = ps->p;
		while (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p)))
			advance(ps, 1);
		ps->tstr = str_add(ps, start, (size_t)(ps->p - start));
		return T_IDENT;
	}
	char shown[8];
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		snprintf(shown, sizeof(shown), "'%c'", c);
	else
		snprintf(shown, sizeof(shown), "0x%02x", (unsigned char)c);
	advance(ps, 1);
	return lex_error(ps, "unexpected character %s", shown);
}

static void next(struct parser *ps)
{
	ps->tok = lex_next(ps);
}

/* ---- parser ---- */

static bool expect_fail(struct parser *ps, const char *what)
{
	if (ps->tok != T_ERROR)
		sv_error(ps->errs, ps->tline, ps->tcol, "expected %s, found %s", what,
			 tok_name(ps->tok));
	return false;
}

static uint32_t node_new(struct parser *ps)
{
	struct sieve_script *s = ps->s;
	if (s->n_nodes >= UINT32_MAX / 2) {
		ps->limit_hit = true;
		return SV_NONE;
	}
	s->nodes = grow(s->nodes, &ps->cap_nodes, s->n_nodes + 1, sizeof(*s->nodes));
	struct sv_node *n = &s->nodes[s->n_nodes];
	memset(n, 0, sizeof(*n));
	n->line = ps->tline;
	n->col = ps->tcol;
	n->name = ps->tstr;
	n->test = n->block = n->next = SV_NONE;
	n->args = s->n_args;
	for (int i = 0; i < SV_SLOTS; i++)
		n->slot[i] = SV_NONE;
	for (int i = 0; i < 3; i++)
		n->pos[i] = SV_NONE;
	return s->n_nodes++;
}

static struct sv_arg *arg_new(struct parser *ps)
{
	struct sieve_script *s = ps->s;
	s->args = grow(s->args, &ps->cap_args, s->n_args + 1, sizeof(*s->args));
	struct sv_arg *a = &s->args[s->n_args++];
	memset(a, 0, sizeof(*a));
	a->line = ps->tline;
	a->col = ps->tcol;
	return a;
}

static bool parse_test(struct parser *ps, uint32_t *node_r, unsigned depth);

/* Arguments of a command or test: the args must be contiguous in args[],
 * so string lists put their strings in strs[] (already contiguous: each
 * string token was added as it was lexed). */
static bool parse_arguments(struct parser *ps, uint32_t node, unsigned depth)
{
	struct sieve_script *s = ps->s;
	for (;;) {
		if (ps->tok == T_STRING) {
			struct sv_arg *a = arg_new(ps);
			a->type = SV_ARG_STRLIST;
			a->single = true;
			a->first = ps->tstr;
			a->n = 1;
			next(ps);
		} else if (ps->tok == T_LBRACKET) {
			struct sv_arg *a = arg_new(ps);
			uint32_t ai = s->n_args - 1;
			a->type = SV_ARG_STRLIST;
			next(ps);
			uint32_t first = SV_NONE, n = 0;
			for (;;) {
				if (ps->tok != T_STRING)
					return expect_fail(ps, "a string in the list");
				/* strings of one list are contiguous: nothing else
				 * is lexed in between */
				if (first == SV_NONE)
					first = ps->tstr;
				n++;
				next(ps);
				if (ps->tok == T_RBRACKET)
					break;
				if (ps->tok != T_COMMA)
					return expect_fail(ps, "',' or ']'");
				next(ps);
			}
			s->args[ai].first = first;
			s->args[ai].n = n;
			next(ps);
		} else if (ps->tok == T_NUMBER) {
			struct sv_arg *a = arg_new(ps);
			a->type = SV_ARG_NUMBER;
			a->num = ps->tnum;
			next(ps);
		} else if (ps->tok == T_TAG) {
			struct sv_arg *a = arg_new(ps);
			a->type = SV_ARG_TAG;
			a->first = ps->tstr;
			a->n = 1;
			next(ps);
		} else {
			break;
		}
		s->nodes[node].n_args++;
		if (s->nodes[node].n_args == UINT16_MAX) {
			sv_error(ps->errs, ps->tline, ps->tcol, "too many arguments");
			return false;
		}
	}
	/* [ test / test-list ] */
	if (ps->tok == T_IDENT) {
		uint32_t t;
		if (!parse_test(ps, &t, depth + 1))
			return false;
		s->nodes[node].test = t;
		s->nodes[node].n_tests = 1;
	} else if (ps->tok == T_LPAREN) {
		s->nodes[node].test_list = true;
		uint32_t line = ps->tline, col = ps->tcol;
		if (depth + 1 > ps->lim->max_nesting) {
			sv_error(ps->errs, line, col, "tests nested too deeply (max_nesting %u)",
				 ps->lim->max_nesting);
			ps->limit_hit = true;
			return false;
		}
		next(ps);
		uint32_t prev = SV_NONE;
		for (;;) {
			uint32_t t;
			if (ps->tok != T_IDENT)
				return expect_fail(ps, "a test");
			if (!parse_test(ps, &t, depth + 1))
				return false;
			if (prev == SV_NONE)
				s->nodes[node].test = t;
			else
				s->nodes[prev].next = t;
			prev = t;
			s->nodes[node].n_tests++;
			if (ps->tok == T_RPAREN)
				break;
			if (ps->tok != T_COMMA)
				return expect_fail(ps, "',' or ')'");
			next(ps);
		}
		next(ps);
	}
	return true;
}

static bool parse_test(struct parser *ps, uint32_t *node_r, unsigned depth)
{
	if (depth > ps->lim->max_nesting) {
		sv_error(ps->errs, ps->tline, ps->tcol, "tests nested too deeply (max_nesting %u)",
			 ps->lim->max_nesting);
		ps->limit_hit = true;
		return false;
	}
	uint32_t node = node_new(ps);
	if (node == SV_NONE)
		return false;
	next(ps);
	if (!parse_arguments(ps, node, depth))
		return false;
	*node_r = node;
	return true;
}

static bool parse_commands(struct parser *ps, uint32_t *first_r, unsigned depth);

static bool parse_command(struct parser *ps, uint32_t *node_r, unsigned depth)
{
	uint32_t node = node_new(ps);
	if (node == SV_NONE)
		return false;
	next(ps);
	if (!parse_arguments(ps, node, depth))
		return false;
	struct sieve_script *s = ps->s;
	if (ps->tok == T_SEMI) {
		next(ps);
	} else if (ps->tok == T_LBRACE) {
		if (depth + 1 > ps->lim->max_nesting) {
			sv_error(ps->errs, ps->tline, ps->tcol,
				 "blocks nested too deeply (max_nesting %u)", ps->lim->max_nesting);
			ps->limit_hit = true;
			return false;
		}
		next(ps);
		uint32_t first;
		if (!parse_commands(ps, &first, depth + 1))
			return false;
		if (ps->tok != T_RBRACE)
			return expect_fail(ps, "a command or '}'");
		s->nodes[node].block = first;
		s->nodes[node].has_block = true;
		next(ps);
	} else {
		return expect_fail(ps, "';' or '{' after the command's arguments");
	}
	*node_r = node;
	return true;
}

static bool parse_commands(struct parser *ps, uint32_t *first_r, unsigned depth)
{
	uint32_t first = SV_NONE, prev = SV_NONE;
	while (ps->tok == T_IDENT) {
		uint32_t c;
		if (!parse_command(ps, &c, depth))
			return false;
		if (prev == SV_NONE)
			first = c;
		else
			ps->s->nodes[prev].next = c;
		prev = c;
	}
	*first_r = first;
	return true;
}

int sv_parse(const struct sieve_limits *lim, const char *text, size_t len,
	     struct sieve_script *script, struct sv_errors *errs)
{
	struct parser ps = {
		.p = text, .end = text + len, .line = 1, .col = 1, .lim = lim, .s = script,
		.errs = errs,
	};
	script->root = SV_NONE;
	if (len > lim->max_script_size) {
		sv_error(errs, 1, 1, "script too large: %zu bytes (max_script_size %zu)", len,
			 lim->max_script_size);
		return SIEVE_ELIMIT;
	}
	next(&ps);
	uint32_t first;
	bool ok = parse_commands(&ps, &first, 0);
	if (ok && ps.tok != T_EOF)
		ok = expect_fail(&ps, "a command");
	if (!ok) {
		if (errs->count == 0)
			sv_error(errs, ps.tline, ps.tcol, "syntax error");
		return ps.limit_hit ? SIEVE_ELIMIT : SIEVE_ESYNTAX;
	}
	script->root = first;
	return SIEVE_OK;
}

void sv_script_destroy(struct sieve_script *s)
{
	free(s->nodes);
	free(s->args);
	free(s->strs);
	free(s->pool);
	free(s->name);
	free(s);
}
