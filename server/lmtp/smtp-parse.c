/* MAIL/RCPT argument parsing (see smtp-parse.h): a cursor over the given
 * bytes, one function per grammar rule of RFC 5321 4.1.2 (with RFC 6531's
 * UTF-8 octets in atoms, quoted strings and domain labels). */
#include "server/lmtp/smtp-parse.h"

#include <string.h>
#include <strings.h>

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static int peek(const struct cur *c)
{
	return at_end(c) ? -1 : (unsigned char)*c->p;
}

static bool is_alpha(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 5322 atext, plus RFC 6531's UTF8-non-ascii octets. */
static bool is_atext(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch >= 0x80 ||
	       (ch > 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* Append one octet to out (cap includes the NUL). */
static bool put(char *out, size_t *n, size_t cap, int ch)
{
	if (*n + 1 >= cap)
		return false;
	out[(*n)++] = (char)ch;
	out[*n] = '\0';
	return true;
}

/* sub-domain = Let-dig [Ldh-str]; a UTF-8 label (U-label) when utf8. */
static bool parse_subdomain(struct cur *c, char *out, size_t *n, size_t cap, bool *utf8)
{
	int ch = peek(c);
	if (!(is_alpha(ch) || is_digit(ch) || ch >= 0x80))
		return false;
	int last = ch;
	while (!at_end(c)) {
		ch = peek(c);
		if (!(is_alpha(ch) || is_digit(ch) || ch == '-' || ch >= 0x80))
			break;
		if (ch >= 0x80)
			*utf8 = true;
		if (!put(out, n, cap, ch))
			return false;
		last = ch;
		c->p++;
	}
	return last != '-';
}

/* Domain = sub-domain *("." sub-domain): no empty label, no trailing dot. */
static bool parse_domain(struct cur *c, char *out, size_t cap, bool *utf8)
{
	size_t n = 0;
	out[0] = '\0';
	for (;;) {
		if (!parse_subdomain(c, out, &n, cap, utf8))
			return false;
		if (peek(c) != '.')
			return true;
		if (!put(out, &n, cap, '.'))
			return false;
		c->p++;
	}
}

/* address-literal = "[" ... "]" with dcontent (%d33-90 / %d94-126). */
static bool parse_literal(struct cur *c, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	if (peek(c) != '[' || !put(out, &n, cap, '['))
		return false;
	c->p++;
	size_t start = n;
	while (!at_end(c) && peek(c) != ']') {
		int ch = peek(c);
		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\' || !put(out, &n, cap, ch))
			return false;
		c->p++;
	}
	if (peek(c) != ']' || n == start || !put(out, &n, cap, ']'))
		return false;
	c->p++;
	return true;
}

/* Dot-string = Atom *("." Atom). */
static bool parse_dot_string(struct cur *c, struct smtp_path *path)
{
	size_t n = 0;
	bool atom = false;
	while (!at_end(c)) {
		int ch = peek(c);
		if (ch == '.') {
			if (!atom)
				return false;   /* leading or double dot */
			atom = false;
		} else if (is_atext(ch)) {
			atom = true;
			if (ch >= 0x80)
				path->utf8 = true;
		} else {
			break;
		}
		if (!put(path->local, &n, sizeof(path->local), ch))
			return false;
		c->p++;
	}
	return atom;             /* not empty, no trailing dot */
}

/* Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE, unquoted. */
static bool parse_quoted(struct cur *c, struct smtp_path *path)
{
	size_t n = 0;
	c->p++;                  /* DQUOTE */
	path->quoted = true;
	path->local[0] = '\0';
	while (!at_end(c)) {
		int ch = peek(c);
		c->p++;
		if (ch == '"')
			return true;
		if (ch == '\\') {
			ch = peek(c);
			if (ch < 32 || ch > 126)
				return false;
			c->p++;
		} else if (ch < 32 || ch == 127) {
			return false;
		}
		if (ch >= 0x80)
			path->utf8 = true;
		if (!put(path->local, &n, sizeof(path->local), ch))
			return false;
	}
	return false;
}

/* A-d-l = At-domain *("," At-domain) ":", the source route: accepted and
 * ignored (RFC 5321 4.1.2, C.). */
static bool skip_route(struct cur *c)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	bool utf8 = false;
	for (;;) {
		if (peek(c) != '@')
			return false;
		c->p++;
		if (!parse_domain(c, scratch, sizeof(scratch), &utf8))
			return false;
		if (peek(c) == ',') {
			c->p++;
			continue;
		}
		if (peek(c) != ':')
			return false;
		c->p++;
		return true;
	}
}

/* "<" [ A-d-l ":" ] Mailbox ">" or "<>". */
static bool parse_path(struct cur *c, bool allow_null, struct smtp_path *path)
{
	memset(path, 0, sizeof(*path));
	if (peek(c) != '<')
		return false;
	c->p++;
	if (peek(c) == '>') {
		c->p++;
		path->null = true;
		return allow_null;
	}
	if (peek(c) == '@' && !skip_route(c))
		return false;
	if (peek(c) == '"') {
		if (!parse_quoted(c, path))
			return false;
	} else if (!parse_dot_string(c, path)) {
		return false;
	}
	if (peek(c) == '@') {
		c->p++;
		path->has_domain = true;
		if (peek(c) == '[') {
			path->literal = true;
			if (!parse_literal(c, path->domain, sizeof(path->domain)))
				return false;
		} else if (!parse_domain(c, path->domain, sizeof(path->domain), &path->utf8)) {
			return false;
		}
	}
	if (peek(c) != '>')
		return false;
	c->p++;
	return true;
}

static bool is_keychar(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '-';
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value]; values are any octet but
 * "=", SP and controls (UTF-8 octets too, RFC 6531 3.3). */
static enum smtp_parse_result parse_params(struct cur *c, struct smtp_args *out)
{
	out->n_params = 0;
	while (!at_end(c)) {
		if (peek(c) != ' ')
			return SMTP_PARSE_PARAM;
		while (peek(c) == ' ')
			c->p++;
		if (at_end(c))
			break;
		if (out->n_params == SMTP_MAX_PARAMS)
			return SMTP_PARSE_TOO_MANY;
		struct smtp_param *p = &out->params[out->n_params];
		p->key = c->p;
		if (!is_alpha(peek(c)) && !is_digit(peek(c)))
			return SMTP_PARSE_PARAM;
		while (is_keychar(peek(c)))
			c->p++;
		p->key_len = (size_t)(c->p - p->key);
		p->value = NULL;
		p->value_len = 0;
		if (peek(c) == '=') {
			c->p++;
			p->value = c->p;
			while (!at_end(c) && peek(c) > 32 && peek(c) != '=' && peek(c) != 127)
				c->p++;
			p->value_len = (size_t)(c->p - p->value);
			if (p->value_len == 0)
				return SMTP_PARSE_PARAM;
		}
		if (!at_end(c) && peek(c) != ' ')
			return SMTP_PARSE_PARAM;
		out->n_params++;
	}
	return SMTP_PARSE_OK;
}

enum smtp_parse_result smtp_parse_args(const char *s, size_t len, bool mail,
				       struct smtp_args *out)
{
	const char *verb = mail ? "FROM:" : "TO:";
	size_t vlen = strlen(verb);
	memset(&out->path, 0, sizeof(out->path));
	out->n_params = 0;
	if (len < vlen || strncasecmp(s, verb, vlen) != 0)
		return SMTP_PARSE_VERB;
	struct cur c = { s + vlen, s + len };
	while (peek(&c) == ' ')
		c.p++;
	if (!parse_path(&c, mail, &out->path))
		return SMTP_PARSE_PATH;
	return parse_params(&c, out);
}

const struct smtp_param *smtp_param_find(const struct smtp_args *a, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < a->n_params; i++) {
		const struct smtp_param *p = &a->params[i];
		if (p->key_len == klen && strncasecmp(p->key, key, klen) == 0)
			return p;
	}
	return NULL;
}

static int hexval(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int smtp_xtext_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '+') {
			int hi = i + 1 < len ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			ch = hi * 16 + lo;
			i += 2;
			if (ch < 32 || ch > 126)
				return -1;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return -1;
		}
		if (!put(out, &n, cap, ch))
			return -1;
	}
	return (int)n;
}

bool smtp_hello_valid(const char *s, size_t len)
{
	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return false;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++) {
			int ch = (unsigned char)s[i];
			if (ch < 33 || ch > 126 || ch == '[' || ch == ']' || ch == '\\')
				return false;
		}
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (!(is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '.' || ch == '_' ||
		      ch >= 0x80))
			return false;
	}
	return true;
}

static bool is_dot_string(const char *s)
{
	bool atom = false;
	for (; *s != '\0'; s++) {
		int ch = (unsigned char)*s;
		if (ch == '.') {
			if (!atom)
				return false;
			atom = false;
		} else if (is_atext(ch)) {
			atom = true;
		} else {
			return false;
		}
	}
	return atom;
}

bool smtp_path_format(const struct smtp_path *path, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return false;
	buf[0] = '\0';
	if (path->null)
		return true;
	bool quote = !is_dot_string(path->local);
	if (quote && !put(buf, &n, cap, '"'))
		return false;
	for (const char *p = path->local; *p != '\0'; p++) {
		if (quote && (*p == '"' || *p == '\\') && !put(buf, &n, cap, '\\'))
			return false;
		if (!put(buf, &n, cap, (unsigned char)*p))
			return false;
	}
	if (quote && !put(buf, &n, cap, '"'))
		return false;
	if (!path->has_domain)
		return true;
	if (!put(buf, &n, cap, '@'))
		return false;
	for (const char *p = path->domain; *p != '\0'; p++)
		if (!put(buf, &n, cap, (unsigned char)*p))
			return false;
	return true;
}
