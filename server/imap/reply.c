/* The IMAP response writer (see reply.h): the RFC 9051 section 9 rules for
 * atoms, quoted strings, literals, nstrings and mailbox names, and the
 * framing of tagged, untagged and continuation responses. */
#include "server/imap/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "lib/utf8.h"
#include "lib/xmem.h"
#include "server/net/conn.h"

void imap_resp_init(struct imap_resp *r, bool utf8)
{
	memset(r, 0, sizeof(*r));
	r->utf8 = utf8;
}

void imap_resp_free(struct imap_resp *r)
{
	free(r->data);
	r->data = NULL;
	r->len = r->cap = 0;
}

static void reserve(struct imap_resp *r, size_t more)
{
	if (r->len + more + 1 <= r->cap)
		return;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < r->len + more + 1)
		cap *= 2;
	r->data = xrealloc(r->data, cap);
	r->cap = cap;
}

char *imap_resp_steal(struct imap_resp *r, size_t *len_r)
{
	reserve(r, 0);
	r->data[r->len] = '\0';
	char *p = r->data;
	*len_r = r->len;
	r->data = NULL;
	r->len = r->cap = 0;
	return p;
}

void imap_resp_rawn(struct imap_resp *r, const char *data, size_t len)
{
	reserve(r, len);
	memcpy(r->data + r->len, data, len);
	r->len += len;
}

void imap_resp_raw(struct imap_resp *r, const char *text)
{
	imap_resp_rawn(r, text, strlen(text));
}

void imap_resp_printf(struct imap_resp *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	reserve(r, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(r->data + r->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

void imap_resp_crlf(struct imap_resp *r)
{
	imap_resp_rawn(r, "\r\n", 2);
}

bool imap_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (p[i] == 0)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* utf8_decode reads up to 4 bytes or to a NUL: copy the tail
		 * so it never reads past len. */
		unsigned char b[5] = { 0 };
		size_t k = len - i < 4 ? len - i : 4;
		memcpy(b, p + i, k);
		uint32_t cp;
		size_t n = utf8_decode(b, &cp);
		if (n == 0 || n > k)
			return false;
		i += n;
	}
	return true;
}

/* Whether the bytes can go in a quoted string (RFC 9051 QUOTED-CHAR, with
 * UTF8-2/3/4 when UTF-8 is on). NUL is never counted here: it is dropped. */
static bool quotable(const struct imap_resp *r, const char *s, size_t len)
{
	if (len > IMAP_QUOTED_MAX)
		return false;
	bool eight = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\r' || ch == '\n')
			return false;
		if (ch >= 0x80)
			eight = true;
	}
	if (!eight)
		return true;
	if (!r->utf8)
		return false;
	/* Valid UTF-8 once the NULs are gone. */
	char *copy = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\0')
			copy[n++] = s[i];
	bool ok = imap_utf8_valid(copy, n);
	free(copy);
	return ok;
}

void imap_resp_string(struct imap_resp *r, const char *s, size_t len)
{
	size_t nuls = 0;
	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	if (quotable(r, s, len)) {
		reserve(r, 2 * len + 2);
		r->data[r->len++] = '"';
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '\0')
				continue;
			if (s[i] == '"' || s[i] == '\\')
				r->data[r->len++] = '\\';
			r->data[r->len++] = s[i];
		}
		r->data[r->len++] = '"';
		return;
	}
	imap_resp_printf(r, "{%zu}\r\n", len - nuls);
	reserve(r, len);
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\0')
			r->data[r->len++] = s[i];
}

void imap_resp_nstring(struct imap_resp *r, const char *s, size_t len)
{
	if (s == NULL)
		imap_resp_rawn(r, "NIL", 3);
	else
		imap_resp_string(r, s, len);
}

/* ASTRING-CHAR: ATOM-CHAR or ']'; ATOM-CHAR is any CHAR except
 * atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]". */
static bool astring_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\", ch) == NULL;
}

void imap_resp_astring(struct imap_resp *r, const char *s, size_t len)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);
	for (size_t i = 0; i < len && atom; i++)
		atom = astring_char((unsigned char)s[i]);
	if (atom)
		imap_resp_rawn(r, s, len);
	else
		imap_resp_string(r, s, len);
}

void imap_resp_mailbox(struct imap_resp *r, const char *name)
{
	if (strcmp(name, "INBOX") == 0) {
		imap_resp_rawn(r, "INBOX", 5);
		return;
	}
	if (r->utf8) {
		imap_resp_astring(r, name, strlen(name));
		return;
	}
	char *wire = utf8_to_mutf7(name);
	if (wire == NULL) {
		/* Store names are valid UTF-8, so this cannot happen; send the
		 * bytes rather than nothing. */
		imap_resp_string(r, name, strlen(name));
		return;
	}
	imap_resp_astring(r, wire, strlen(wire));
	free(wire);
}

void imap_resp_text(struct imap_resp *r, const char *text)
{
	size_t len = strlen(text);
	reserve(r, len + 1);
	if (text[0] == '[')
		r->data[r->len++] = ' ';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		r->data[r->len++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
}

void imap_resp_send(struct imap_resp *r, struct conn *c)
{
	if (c != NULL && r->len > 0)
		conn_write(c, r->data, r->len);
	r->len = 0;
}

/* "<tag> <status>[ [<code>]][ <text>]\r\n" without a heap allocation for
 * the usual short reply. */
static void write_status(struct conn *c, const char *tag, const char *status,
			 const char *code, const char *text)
{
	size_t tl = strlen(tag), sl = strlen(status), cl = code != NULL ? strlen(code) : 0;
	size_t xl = strlen(text);
	size_t need = tl + 1 + sl + (code != NULL ? cl + 3 : 0) + (xl > 0 ? xl + 2 : 0) + 2;
	char stack[512];
	char *buf = need <= sizeof(stack) ? stack : xmalloc(need);
	size_t n = 0;
	memcpy(buf + n, tag, tl);
	n += tl;
	if (sl > 0) {
		buf[n++] = ' ';
		memcpy(buf + n, status, sl);
		n += sl;
	}
	if (code != NULL) {
		memcpy(buf + n, " [", 2);
		memcpy(buf + n + 2, code, cl);
		buf[n + 2 + cl] = ']';
		n += cl + 3;
	}
	if (xl > 0) {
		buf[n++] = ' ';
		if (text[0] == '[')
			buf[n++] = ' ';
		for (size_t i = 0; i < xl; i++) {
			unsigned char ch = (unsigned char)text[i];
			buf[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
		}
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	conn_write(c, buf, n);
	if (buf != stack)
		free(buf);
}

void imap_write_tagged(struct conn *c, const char *tag, const char *status,
		       const char *code, const char *text)
{
	write_status(c, tag, status, code, text);
}

void imap_write_untagged(struct conn *c, const char *status, const char *code,
			 const char *text)
{
	write_status(c, "*", status, code, text);
}

void imap_write_continuation(struct conn *c, const char *text)
{
	write_status(c, "+", "", NULL, text);
}
