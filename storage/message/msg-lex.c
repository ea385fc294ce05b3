/* The RFC 5322 / MIME lexer under every structured header field: comments,
 * quoted strings, atoms, dot-atoms, MIME tokens, phrases and domains. It is
 * deliberately lenient (8-bit bytes count as atext, RFC 6532) and each call
 * consumes input left to right, so every field parses in linear time. */
#include "storage/message/msg-internal.h"

/* 1 = atext, 2 = alphanumeric or 8-bit, 4 = atext that is a MIME tspecial */
const unsigned char msg_atext[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4,   /*  !"#$%&'()*+,-./ */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4,   /* 0-9:;<=>? */
	0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,   /* @A-O */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1,   /* P-Z[\]^_ */
	1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,   /* `a-o */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0,   /* p-z{|}~ */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void msg_lex_init(struct msg_lex *l, const void *data, size_t len)
{
	l->p = data;
	l->end = l->p + len;
	l->last_comment = NULL;
}

static int more(const struct msg_lex *l)
{
	return l->p < l->end ? 1 : 0;
}

static int skip_comment(struct msg_lex *l)
{
	const unsigned char *start = ++l->p;
	unsigned level = 1;
	if (l->last_comment != NULL)
		l->last_comment->len = 0;
	for (; l->p < l->end; l->p++) {
		if (*l->p == '(') {
			level++;
		} else if (*l->p == ')') {
			if (--level == 0) {
				if (l->last_comment != NULL)
					msg_buf_append(l->last_comment, start, (size_t)(l->p - start));
				l->p++;
				return more(l);
			}
		} else if (*l->p == '\\') {
			if (l->last_comment != NULL)
				msg_buf_append(l->last_comment, start, (size_t)(l->p - start));
			start = l->p + 1;
			if (++l->p >= l->end)
				return -1;
		}
	}
	return -1;
}

int msg_lex_skip_ws(struct msg_lex *l)
{
	while (l->p < l->end) {
		unsigned char c = *l->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->p++;
			continue;
		}
		if (c != '(')
			break;
		if (skip_comment(l) < 0)
			return -1;
	}
	return more(l);
}

int msg_lex_atom(struct msg_lex *l, struct msg_buf *out)
{
	if (l->p >= l->end || !MSG_IS_ATEXT(*l->p))
		return -1;
	const unsigned char *start = l->p++;
	while (l->p < l->end && MSG_IS_ATEXT(*l->p))
		l->p++;
	msg_buf_append(out, start, (size_t)(l->p - start));
	return msg_lex_skip_ws(l);
}

int msg_lex_dot_atom(struct msg_lex *l, struct msg_buf *out)
{
	if (l->p >= l->end || !MSG_IS_ATEXT(*l->p))
		return -1;
	for (;;) {
		const unsigned char *start = l->p;
		while (l->p < l->end && MSG_IS_ATEXT(*l->p))
			l->p++;
		msg_buf_append(out, start, (size_t)(l->p - start));
		if (l->p >= l->end)
			return 0;
		int r = msg_lex_skip_ws(l);
		if (r <= 0)
			return r;
		if (*l->p != '.')
			return 1;
		l->p++;
		msg_buf_putc(out, '.');
		r = msg_lex_skip_ws(l);
		if (r <= 0)
			return r;
	}
}

int msg_lex_token(struct msg_lex *l, struct msg_buf *out)
{
	const unsigned char *start = l->p;
	while (l->p < l->end && (MSG_IS_TOKEN(*l->p) || *l->p == '.'))
		l->p++;
	msg_buf_append(out, start, (size_t)(l->p - start));
	if (l->p >= l->end)
		return 0;
	return msg_lex_skip_ws(l);
}

int msg_lex_quoted(struct msg_lex *l, struct msg_buf *out)
{
	const unsigned char *start = ++l->p;
	for (; l->p < l->end; l->p++) {
		if (*l->p == '"') {
			msg_buf_append(out, start, (size_t)(l->p - start));
			l->p++;
			return msg_lex_skip_ws(l);
		}
		if (*l->p == '\n') {
			/* folding: drop the line break, keep the whitespace */
			size_t n = (size_t)(l->p - start);
			if (n > 0 && start[n - 1] == '\r')
				n--;
			msg_buf_append(out, start, n);
			start = l->p + 1;
		} else if (*l->p == '\\') {
			if (++l->p >= l->end)
				return -1;
			msg_buf_append(out, start, (size_t)(l->p - start - 1));
			start = l->p;
		}
	}
	return -1;
}

/* An atom that may contain '.', without skipping whitespace inside. */
static int atom_or_dot(struct msg_lex *l, struct msg_buf *out)
{
	const unsigned char *start = l->p;
	while (l->p < l->end && (MSG_IS_ATEXT(*l->p) || *l->p == '.'))
		l->p++;
	msg_buf_append(out, start, (size_t)(l->p - start));
	if (l->p >= l->end)
		return 0;
	return msg_lex_skip_ws(l);
}

int msg_lex_phrase(struct msg_lex *l, struct msg_buf *out)
{
	if (l->p >= l->end)
		return 0;
	if (*l->p == '.')
		return -1;
	for (;;) {
		int r = *l->p == '"' ? msg_lex_quoted(l, out) : atom_or_dot(l, out);
		if (r <= 0)
			return r;
		if (!MSG_IS_ATEXT(*l->p) && *l->p != '"' && *l->p != '.')
			break;
		msg_buf_putc(out, ' ');
	}
	return msg_lex_skip_ws(l);
}

static int domain_literal(struct msg_lex *l, struct msg_buf *out)
{
	const unsigned char *start = l->p;
	for (; l->p < l->end; l->p++) {
		if (*l->p == '\\') {
			if (++l->p >= l->end)
				break;
		} else if (*l->p == ']') {
			l->p++;
			msg_buf_append(out, start, (size_t)(l->p - start));
			return msg_lex_skip_ws(l);
		}
	}
	return -1;
}

int msg_lex_domain(struct msg_lex *l, struct msg_buf *out)
{
	l->p++;   /* '@' */
	if (msg_lex_skip_ws(l) <= 0)
		return -1;
	if (*l->p == '[')
		return domain_literal(l, out);
	return msg_lex_dot_atom(l, out);
}

int msg_lex_content_type(struct msg_lex *l, struct msg_buf *out)
{
	size_t start = out->len;
	if (msg_lex_skip_ws(l) <= 0)
		return -1;
	if (msg_lex_token(l, out) <= 0 || out->len == start)
		return -1;
	if (*l->p != '/') {
		out->len = start;
		return -1;
	}
	l->p++;
	if (msg_lex_skip_ws(l) <= 0)
		return -1;
	msg_buf_putc(out, '/');
	int r = msg_lex_token(l, out);
	if (r > 0 && *l->p != ';') {
		/* junk after the subtype: the whole value is unusable */
		out->len = start;
		return -1;
	}
	return r;
}
