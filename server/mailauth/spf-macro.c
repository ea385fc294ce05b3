/* SPF macros (RFC 7208 7): the syntax of macro-strings and domain-specs,
 * and their expansion against a check's context (sender, domain, client
 * address, HELO, the validated %{p} name), with the digit and reversal
 * transformers, the delimiters, URL escaping of upper-case letters and the
 * 253-octet cut of target names. Pure code. */
#include "server/mailauth/spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/message/message.h"

#define MAX_PARTS 256

static bool is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static bool letter_ok(char c, bool exp)
{
	c = (char)tolower((unsigned char)c);
	if (c != '\0' && strchr("slodiphv", c) != NULL)
		return true;
	return exp && c != '\0' && strchr("crt", c) != NULL;
}

/* Length of the macro-expand at s (s[0] == '%'), 0 if invalid. */
static size_t expand_len(const char *s, size_t len, bool exp)
{
	if (len < 2)
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || len < 4)
		return 0;
	size_t i = 2;
	if (!letter_ok(s[i], exp))
		return 0;
	i++;
	size_t digits = 0;
	bool nonzero = false;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (s[i] != '0')
			nonzero = true;
		i++;
		digits++;
	}
	if (digits > 0 && !nonzero)
		return 0;       /* RFC 7208 7.3: the value must be nonzero */
	if (i < len && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < len && is_delim(s[i]))
		i++;
	if (i >= len || s[i] != '}')
		return 0;
	return i + 1;
}

/* exp also allows spaces (explain-string = *( macro-string / SP )). */
static bool string_valid(const char *s, size_t len, bool exp, size_t *tail_r)
{
	size_t tail = 0;   /* start of the literal text after the last macro */
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			size_t n = expand_len(s + i, len - i, exp);
			if (n == 0)
				return false;
			i += n;
			tail = i;
		} else if ((c >= 0x21 && c <= 0x7e) || (exp && c == ' ')) {
			i++;
		} else {
			return false;
		}
	}
	if (tail_r != NULL)
		*tail_r = tail;
	return true;
}

bool spf_macro_valid(const char *s, size_t len, bool exp)
{
	return string_valid(s, len, exp, NULL);
}

static bool toplabel_valid(const char *s, size_t len)
{
	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	bool alpha = false, dash = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '-')
			dash = true;
		else if (isalpha(c))
			alpha = true;
		else if (!isdigit(c))
			return false;
	}
	return alpha || dash;
}

bool spf_domain_spec_valid(const char *s, size_t len)
{
	size_t tail;
	if (len == 0 || !string_valid(s, len, false, &tail))
		return false;
	if (tail == len && tail > 0)
		return true;          /* domain-end = macro-expand */
	size_t end = len;
	if (end > tail && s[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > tail && s[dot - 1] != '.')
		dot--;
	if (dot == tail)
		return false;         /* no "." before the toplabel */
	return toplabel_valid(s + dot, end - dot);
}

bool spf_macro_uses_p(const char *s)
{
	for (const char *p = s; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == '{' && (p[2] == 'p' || p[2] == 'P'))
			return true;
		if (p[1] == '\0')
			break;
	}
	return false;
}

/* %{i}: dotted IPv4, or IPv6 as dot-separated nibbles (upper case, as
 * the examples of RFC 7208 7.4 write them). */
static void ip_dotted(const struct spf_ip *ip, struct msg_buf *b)
{
	static const char hex[] = "0123456789ABCDEF";
	if (ip->family == 4) {
		msg_buf_printf(b, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
		return;
	}
	for (int i = 0; i < 16; i++) {
		if (i > 0)
			msg_buf_putc(b, '.');
		msg_buf_putc(b, hex[ip->a[i] >> 4]);
		msg_buf_putc(b, '.');
		msg_buf_putc(b, hex[ip->a[i] & 0xf]);
	}
}

static void letter_value(char letter, const struct spf_macro_ctx *c, struct msg_buf *b)
{
	char text[INET6_ADDRSTRLEN];
	switch (tolower((unsigned char)letter)) {
	case 's': msg_buf_puts(b, c->sender); break;
	case 'l': msg_buf_puts(b, c->local); break;
	case 'o': msg_buf_puts(b, c->sender_domain); break;
	case 'd': msg_buf_puts(b, c->domain); break;
	case 'i': ip_dotted(c->ip, b); break;
	case 'p': msg_buf_puts(b, c->p != NULL ? c->p : "unknown"); break;
	case 'v': msg_buf_puts(b, c->ip->family == 4 ? "in-addr" : "ip6"); break;
	case 'h': msg_buf_puts(b, c->helo); break;
	case 'c':
		inet_ntop(c->ip->family == 4 ? AF_INET : AF_INET6, c->ip->a, text, sizeof(text));
		msg_buf_puts(b, text);
		break;
	case 'r': msg_buf_puts(b, c->receiver != NULL ? c->receiver : "unknown"); break;
	case 't': msg_buf_printf(b, "%llu", (unsigned long long)c->now); break;
	}
}

static void url_escape(const char *s, size_t len, struct msg_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			msg_buf_putc(out, (char)c);
		} else {
			msg_buf_putc(out, '%');
			msg_buf_putc(out, hex[c >> 4]);
			msg_buf_putc(out, hex[c & 0xf]);
		}
	}
}

/* One %{...} (s points at '{' + 1 .. the closing brace excluded). */
static void expand_one(const char *s, size_t len, const struct spf_macro_ctx *ctx,
		       struct msg_buf *out)
{
	char letter = s[0];
	size_t i = 1;
	unsigned keep = 0;
	while (i < len && isdigit((unsigned char)s[i])) {
		if (keep < 1000)
			keep = keep * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	bool reverse = false;
	if (i < len && (s[i] == 'r' || s[i] == 'R')) {
		reverse = true;
		i++;
	}
	const char *delims = s + i;
	size_t n_delims = len - i;

	struct msg_buf val = { 0 };
	letter_value(letter, ctx, &val);
	/* Split on the delimiters (default "."). */
	const char *part[MAX_PARTS];
	size_t plen[MAX_PARTS];
	size_t n = 0;
	size_t start = 0;
	for (size_t k = 0; k <= val.len; k++) {
		bool cut = k == val.len;
		if (!cut) {
			char c = val.data[k];
			cut = n_delims == 0 ? c == '.' : memchr(delims, c, n_delims) != NULL;
		}
		if (cut) {
			if (n < MAX_PARTS) {
				part[n] = val.data != NULL ? val.data + start : "";
				plen[n] = k - start;
				n++;
			} else {
				/* beyond MAX_PARTS: the rest joins the last part */
				plen[n - 1] = k - (size_t)(part[n - 1] - val.data);
			}
			start = k + 1;
		}
	}
	if (reverse) {
		for (size_t a = 0, z = n - 1; a < z; a++, z--) {
			const char *tp = part[a];
			part[a] = part[z];
			part[z] = tp;
			size_t tl = plen[a];
			plen[a] = plen[z];
			plen[z] = tl;
		}
	}
	size_t first = keep > 0 && keep < n ? n - keep : 0;
	struct msg_buf joined = { 0 };
	for (size_t k = first; k < n; k++) {
		if (k > first)
			msg_buf_putc(&joined, '.');
		msg_buf_append(&joined, part[k], plen[k]);
	}
	if (isupper((unsigned char)letter))
		url_escape(joined.data != NULL ? joined.data : "", joined.len, out);
	else
		msg_buf_append(out, joined.data != NULL ? joined.data : "", joined.len);
	msg_buf_free(&joined);
	msg_buf_free(&val);
}

char *spf_macro_expand(const char *s, const struct spf_macro_ctx *ctx, bool exp, bool domain)
{
	size_t len = strlen(s);
	if (!string_valid(s, len, exp, NULL))
		return NULL;
	struct msg_buf out = { 0 };
	for (size_t i = 0; i < len;) {
		if (s[i] != '%') {
			msg_buf_putc(&out, s[i++]);
			continue;
		}
		size_t n = expand_len(s + i, len - i, exp);
		if (s[i + 1] == '%')
			msg_buf_putc(&out, '%');
		else if (s[i + 1] == '_')
			msg_buf_putc(&out, ' ');
		else if (s[i + 1] == '-')
			msg_buf_puts(&out, "%20");
		else
			expand_one(s + i + 2, n - 3, ctx, &out);
		i += n;
	}
	msg_buf_putc(&out, '\0');
	char *r = out.data;
	if (domain) {
		size_t rl = strlen(r);
		if (rl > 0 && r[rl - 1] == '.')
			r[--rl] = '\0';
		size_t cut = 0;
		while (rl - cut > 253) {
			const char *dot = strchr(r + cut, '.');
			if (dot == NULL)
				break;
			cut = (size_t)(dot - r) + 1;
		}
		if (cut > 0)
			memmove(r, r + cut, rl - cut + 1);
	}
	return r;
}
