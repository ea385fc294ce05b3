/* The IMAP URL parser (see url.h): RFC 5092 section 11 and RFC 4467
 * section 9 grammar, read left to right with a cursor over the given
 * bytes. Percent escapes are decoded into heap strings; a %00, a bad
 * escape, a character outside a part's class, a number out of range or
 * anything left over is an error with a reason. */
#include "server/imap/url.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/imap/reply.h"
#include "lib/xmem.h"

struct cur {
	const char *p, *end, *start;
	const char *why;
};

/* ---- character classes (RFC 5092 11, RFC 3986 2) ---- */

static bool is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_subdelims_sh(unsigned char c)
{
	return c != '\0' && strchr("!$'()*+,", c) != NULL;
}

/* achar = uchar / "&" / "=" / "~"; uchar = unreserved / sub-delims-sh /
 * pct-encoded (escapes are handled by the scanner). */
static bool is_achar(unsigned char c)
{
	return is_unreserved(c) || is_subdelims_sh(c) || c == '&' || c == '=';
}

/* bchar = achar / ":" / "@" / "/" */
static bool is_bchar(unsigned char c)
{
	return is_achar(c) || c == ':' || c == '@' || c == '/';
}

/* The user of a ;URLAUTH=user+/submit+ access identifier: achar, and an
 * unescaped '@' too, which clients write for a user@domain login (nothing
 * after the identifier but ':' can follow, so it is unambiguous). */
static bool is_access_char(unsigned char c)
{
	return is_achar(c) || c == '@';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ---- cursor helpers ---- */

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static bool peek_ci(const struct cur *c, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(c->end - c->p) >= n && strncasecmp(c->p, lit, n) == 0;
}

static bool take_ci(struct cur *c, const char *lit)
{
	if (!peek_ci(c, lit))
		return false;
	c->p += strlen(lit);
	return true;
}

static int fail(struct cur *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
	return -1;
}

/* The raw extent of a run of class characters and %XX escapes. */
static int span(struct cur *c, bool (*cls)(unsigned char), const char **a_r, const char **b_r)
{
	const char *p = c->p;
	while (p < c->end) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '%') {
			if (c->end - p < 3 || hexval((unsigned char)p[1]) < 0 ||
			    hexval((unsigned char)p[2]) < 0)
				return fail(c, "Invalid %-escape in URL.");
			p += 3;
		} else if (cls(ch)) {
			p++;
		} else {
			break;
		}
	}
	*a_r = c->p;
	*b_r = p;
	return 0;
}

/* Decode [a,b) (escapes known to be valid); NULL when it holds a NUL. */
static char *decode(const char *a, const char *b)
{
	char *out = xmalloc((size_t)(b - a) + 1), *o = out;
	for (const char *p = a; p < b; p++) {
		if (*p == '%') {
			*o = (char)(hexval((unsigned char)p[1]) << 4 | hexval((unsigned char)p[2]));
			p += 2;
		} else {
			*o = *p;
		}
		if (*o++ == '\0') {
			free(out);
			return NULL;
		}
	}
	*o = '\0';
	return out;
}

/* One or more class characters, decoded into *out_r. */
static int enc_part(struct cur *c, bool (*cls)(unsigned char), char **out_r, const char *what)
{
	const char *a, *b;
	if (span(c, cls, &a, &b) < 0)
		return -1;
	if (a == b)
		return fail(c, what);
	*out_r = decode(a, b);
	if (*out_r == NULL)
		return fail(c, "URL contains a NUL byte.");
	c->p = b;
	return 0;
}

/* 1*DIGIT as a 32-bit number; nz: must not be 0. */
static int number32(struct cur *c, bool nz, uint32_t *v_r, const char *what)
{
	uint64_t v = 0;
	const char *p = c->p;
	while (p < c->end && isdigit((unsigned char)*p)) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return fail(c, what);
		p++;
	}
	if (p == c->p || (nz && v == 0) || (nz && *c->p == '0'))
		return fail(c, what);
	c->p = p;
	*v_r = (uint32_t)v;
	return 0;
}

/* ---- server (RFC 5092 iserver) ---- */

static bool is_host_char(unsigned char c)
{
	return is_unreserved(c) || is_subdelims_sh(c) || c == '&' || c == '=';
}

static int server(struct cur *c, struct imap_url *u)
{
	/* The authority ends at the path or the end; userinfo at its '@'. */
	const char *auth_end = c->p;
	while (auth_end < c->end && *auth_end != '/')
		auth_end++;
	const char *at = memchr(c->p, '@', (size_t)(auth_end - c->p));
	if (at != NULL) {
		struct cur uc = { c->p, at, c->start, NULL };
		if (!peek_ci(&uc, ";AUTH=")) {
			if (enc_part(&uc, is_achar, &u->user, "Invalid user in URL.") < 0)
				return fail(c, uc.why);
		}
		if (take_ci(&uc, ";AUTH=")) {
			if (uc.p < uc.end && *uc.p == '*' && uc.p + 1 == uc.end) {
				u->auth = xstrdup("*");
				uc.p++;
			} else if (enc_part(&uc, is_achar, &u->auth, "Invalid ;AUTH= in URL.") < 0) {
				return fail(c, uc.why);
			}
		}
		if (uc.p != uc.end)
			return fail(c, "Invalid user information in URL.");
		c->p = at + 1;
	}
	if (c->p < auth_end && *c->p == '[') {
		const char *close = memchr(c->p, ']', (size_t)(auth_end - c->p));
		if (close == NULL || close == c->p + 1)
			return fail(c, "Invalid IP literal in URL.");
		for (const char *p = c->p + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return fail(c, "Invalid IP literal in URL.");
		u->host = xstrndup(c->p, (size_t)(close + 1 - c->p));
		c->p = close + 1;
	} else {
		const char *a, *b;
		if (span(c, is_host_char, &a, &b) < 0)
			return -1;
		if (a == b)
			return fail(c, "URL has no host.");
		u->host = decode(a, b);
		if (u->host == NULL)
			return fail(c, "URL contains a NUL byte.");
		for (char *h = u->host; *h; h++)
			*h = (char)tolower((unsigned char)*h);
		c->p = b;
	}
	if (c->p < auth_end && *c->p == ':') {
		c->p++;
		uint32_t port = 0;
		if (c->p < auth_end) {
			if (number32(c, false, &port, "Invalid port in URL.") < 0)
				return -1;
			if (port > 65535)
				return fail(c, "Invalid port in URL.");
		}
		u->port = port;
	}
	if (c->p != auth_end)
		return fail(c, "Invalid server in URL.");
	return 0;
}

/* ---- URLAUTH (RFC 4467 9) ---- */

static int two(const char *p)
{
	return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])
		? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int date_time(struct cur *c, int64_t *t_r)
{
	const char *p = c->p;
	if (c->end - p < 20 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || !isdigit((unsigned char)p[3]) || p[4] != '-' ||
	    p[7] != '-' || (p[10] != 'T' && p[10] != 't') || p[13] != ':' || p[16] != ':')
		return fail(c, "Invalid ;EXPIRE= date-time in URL.");
	int year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + two(p + 2);
	int mon = two(p + 5), day = two(p + 8), hour = two(p + 11), min = two(p + 14),
	    sec = two(p + 17);
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 ||
	    min > 59 || sec < 0 || sec > 60)
		return fail(c, "Invalid ;EXPIRE= date-time in URL.");
	p += 19;
	if (p < c->end && *p == '.') {
		const char *f = ++p;
		while (p < c->end && isdigit((unsigned char)*p))
			p++;
		if (p == f)
			return fail(c, "Invalid ;EXPIRE= date-time in URL.");
	}
	int offset = 0;
	if (p < c->end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (c->end - p >= 6 && (*p == '+' || *p == '-') && p[3] == ':') {
		int oh = two(p + 1), om = two(p + 4);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return fail(c, "Invalid ;EXPIRE= date-time in URL.");
		offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return fail(c, "Invalid ;EXPIRE= date-time in URL.");
	}
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
			 .tm_hour = hour, .tm_min = min, .tm_sec = sec == 60 ? 59 : sec };
	time_t t = timegm(&tm);
	*t_r = (int64_t)t - offset;
	c->p = p;
	return 0;
}

static bool is_mech_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.';
}

static int urlauth(struct cur *c, struct imap_url *u)
{
	if (take_ci(c, ";EXPIRE=")) {
		if (date_time(c, &u->expire) < 0)
			return -1;
		u->has_expire = true;
	}
	if (!take_ci(c, ";URLAUTH="))
		return fail(c, "Invalid URL (;EXPIRE= without ;URLAUTH=).");
	if (take_ci(c, "submit+"))
		u->access = IMAP_URL_ACCESS_SUBMIT;
	else if (take_ci(c, "user+"))
		u->access = IMAP_URL_ACCESS_USER;
	else if (take_ci(c, "authuser"))
		u->access = IMAP_URL_ACCESS_AUTHUSER;
	else if (take_ci(c, "anonymous"))
		u->access = IMAP_URL_ACCESS_ANONYMOUS;
	else
		return fail(c, "Invalid URLAUTH access identifier.");
	if ((u->access == IMAP_URL_ACCESS_SUBMIT || u->access == IMAP_URL_ACCESS_USER) &&
	    enc_part(c, is_access_char, &u->access_user, "Invalid URLAUTH access user.") < 0)
		return -1;
	u->rump_len = (size_t)(c->p - c->start);
	if (at_end(c))
		return 0;
	if (*c->p != ':')
		return fail(c, "Invalid URLAUTH in URL.");
	c->p++;
	const char *m = c->p;
	while (c->p < c->end && is_mech_char((unsigned char)*c->p))
		c->p++;
	if (c->p == m || at_end(c) || *c->p != ':')
		return fail(c, "Invalid URLAUTH mechanism in URL.");
	u->mechanism = xstrndup(m, (size_t)(c->p - m));
	for (char *s = u->mechanism; *s; s++)
		*s = (char)toupper((unsigned char)*s);
	const char *h = ++c->p;
	while (c->p < c->end && isxdigit((unsigned char)*c->p))
		c->p++;
	if (c->p - h < 32)
		return fail(c, "Invalid URLAUTH token in URL (32 hex digits at least).");
	u->token = xstrndup(h, (size_t)(c->p - h));
	for (char *s = u->token; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	return 0;
}

/* ---- the message part: [/;SECTION=...][/;PARTIAL=...] after a UID ---- */

static int partial(struct cur *c, struct imap_url *u)
{
	uint32_t off, len = 0;
	if (number32(c, false, &off, "Invalid ;PARTIAL= in URL.") < 0)
		return -1;
	if (!at_end(c) && *c->p == '.') {
		c->p++;
		if (number32(c, true, &len, "Invalid ;PARTIAL= in URL.") < 0)
			return -1;
	}
	u->has_partial = true;
	u->partial_offset = off;
	u->partial_length = len;
	return 0;
}

/* sep: the parts are preceded by "/" (after a UID) or not (relative). */
static int section_partial(struct cur *c, struct imap_url *u, bool sep)
{
	if (take_ci(c, sep ? "/;SECTION=" : ";SECTION=")) {
		const char *a, *b;
		if (span(c, is_bchar, &a, &b) < 0)
			return -1;
		/* A '/' right before a ';' belongs to "/;PARTIAL=". */
		if (b > a && b[-1] == '/' && b < c->end && *b == ';')
			b--;
		if (a == b)
			return fail(c, "Invalid ;SECTION= in URL.");
		u->section = decode(a, b);
		if (u->section == NULL)
			return fail(c, "URL contains a NUL byte.");
		c->p = b;
		sep = true;
	}
	if (take_ci(c, sep ? "/;PARTIAL=" : ";PARTIAL="))
		return partial(c, u);
	return 0;
}

/* icommand = imessagelist / imessagepart [iurlauth]; a relative path
 * (!full) may only be an imessagelist. */
static int command(struct cur *c, struct imap_url *u, bool full)
{
	const char *a, *b;
	if (span(c, is_bchar, &a, &b) < 0)
		return -1;
	/* The mailbox runs to the first ';' or '?'; a '/' right before a ';'
	 * that is not ;UIDVALIDITY= belongs to "/;UID=". */
	struct cur rest = { b, c->end, c->start, NULL };
	if (b > a && b[-1] == '/' && b < c->end && *b == ';' && !peek_ci(&rest, ";UIDVALIDITY="))
		b--;
	if (a == b)
		return fail(c, "URL has no mailbox.");
	u->mailbox = decode(a, b);
	if (u->mailbox == NULL)
		return fail(c, "URL contains a NUL byte.");
	if (!imap_utf8_valid(u->mailbox, strlen(u->mailbox)))
		return fail(c, "Mailbox name in URL is not UTF-8.");
	c->p = b;
	if (take_ci(c, ";UIDVALIDITY=") &&
	    number32(c, true, &u->uidvalidity, "Invalid ;UIDVALIDITY= in URL.") < 0)
		return -1;
	if (at_end(c))
		return 0;
	if (*c->p == '?') {
		c->p++;
		return enc_part(c, is_bchar, &u->search, "Invalid search in URL.");
	}
	if (!full || !take_ci(c, "/;UID="))
		return fail(c, "Invalid URL after the mailbox.");
	if (number32(c, true, &u->uid, "Invalid ;UID= in URL.") < 0 ||
	    section_partial(c, u, true) < 0)
		return -1;
	if (at_end(c))
		return 0;
	if (!peek_ci(c, ";URLAUTH=") && !peek_ci(c, ";EXPIRE="))
		return fail(c, "Invalid URL after the message part.");
	return urlauth(c, u);
}

/* ["/" [icommand]] after a server */
static int path_query(struct cur *c, struct imap_url *u)
{
	if (at_end(c))
		return 0;
	if (*c->p != '/')
		return fail(c, "Invalid URL after the server.");
	c->p++;
	return at_end(c) ? 0 : command(c, u, true);
}

/* RFC 3986 4.2: a relative path's first segment has no ':' (else it is
 * another scheme's URI, "http://..."). */
static bool has_scheme(const struct cur *c)
{
	for (const char *p = c->p; p < c->end && *p != '/' && *p != ';' && *p != '?'; p++)
		if (*p == ':')
			return true;
	return false;
}

int imap_url_parse(const char *s, size_t len, struct imap_url *u, const char **why_r)
{
	memset(u, 0, sizeof(*u));
	struct cur c = { s, s + len, s, NULL };
	int r;
	if (take_ci(&c, "imap://")) {
		u->form = IMAP_URL_FULL;
		r = server(&c, u) < 0 ? -1 : path_query(&c, u);
	} else if (take_ci(&c, "//")) {
		u->form = IMAP_URL_NETWORK;
		r = server(&c, u) < 0 ? -1 : path_query(&c, u);
	} else if (!at_end(&c) && *c.p == '/') {
		u->form = IMAP_URL_ABSPATH;
		c.p++;
		r = at_end(&c) ? 0 : command(&c, u, true);
	} else if (at_end(&c)) {
		u->form = IMAP_URL_EMPTY;
		r = 0;
	} else {
		u->form = IMAP_URL_RELATIVE;
		if (take_ci(&c, ";UID="))
			r = number32(&c, true, &u->uid, "Invalid ;UID= in URL.") < 0 ? -1
				: section_partial(&c, u, true);
		else if (peek_ci(&c, ";SECTION=") || peek_ci(&c, ";PARTIAL="))
			r = section_partial(&c, u, false);
		else if (*c.p == ';' || has_scheme(&c))
			r = fail(&c, "Invalid relative URL (or not an IMAP URL).");
		else
			r = command(&c, u, false);
		if (r == 0 && !at_end(&c))
			r = fail(&c, "Invalid relative URL.");
	}
	if (r == 0 && !at_end(&c))
		r = fail(&c, "Invalid characters at the end of the URL.");
	if (r < 0) {
		*why_r = c.why != NULL ? c.why : "Invalid URL.";
		imap_url_free(u);
		return -1;
	}
	return 0;
}

void imap_url_free(struct imap_url *u)
{
	free(u->user);
	free(u->auth);
	free(u->host);
	free(u->mailbox);
	free(u->search);
	free(u->section);
	free(u->access_user);
	free(u->mechanism);
	free(u->token);
	memset(u, 0, sizeof(*u));
}
