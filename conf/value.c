/* Configuration value types: parsing sizes, durations, booleans, integers,
 * enums, IP addresses, host names, domain lists, cipher lists and paths,
 * storing them into the struct field a settings row describes, and
 * formatting stored values back to text. */
#include "conf/value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "conf/mailboxes.h"
#include "lib/xmem.h"

/* Leading decimal digits of s as a number; *end_r points past them. */
static int parse_digits(const char *s, uint64_t *v_r, const char **end_r)
{
	uint64_t v = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return LOFT_EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return LOFT_EINVAL;
		v = v * 10 + d;
	}
	*v_r = v;
	*end_r = p;
	return 0;
}

static int mul_checked(uint64_t v, uint64_t m, uint64_t *r)
{
	if (m != 0 && v > UINT64_MAX / m)
		return LOFT_EINVAL;
	*r = v * m;
	return 0;
}

int conf_parse_uint(const char *s, uint64_t *v_r)
{
	const char *end;
	if (parse_digits(s, v_r, &end) < 0 || *end != '\0')
		return LOFT_EINVAL;
	return 0;
}

int conf_parse_size(const char *s, uint64_t *v_r)
{
	uint64_t v, mul = 1;
	const char *end;
	if (parse_digits(s, &v, &end) < 0)
		return LOFT_EINVAL;
	if (*end != '\0') {
		switch (*end) {
		case 'K': case 'k': mul = 1024; break;
		case 'M': case 'm': mul = 1024 * 1024; break;
		case 'G': case 'g': mul = 1024 * 1024 * 1024; break;
		default: return LOFT_EINVAL;
		}
		if (end[1] != '\0')
			return LOFT_EINVAL;
	}
	return mul_checked(v, mul, v_r);
}

int conf_parse_duration(const char *s, uint64_t *ms_r)
{
	uint64_t v, mul;
	const char *end;
	if (parse_digits(s, &v, &end) < 0)
		return LOFT_EINVAL;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 60 * 60 * 1000;
	else
		return LOFT_EINVAL;
	return mul_checked(v, mul, ms_r);
}

int conf_parse_mode(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;
	if (*s == '\0' || strlen(s) > 5)
		return LOFT_EINVAL;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			return LOFT_EINVAL;
		v = v * 8 + (uint64_t)(*p - '0');
	}
	if (v > 07777)
		return LOFT_EINVAL;
	*v_r = v;
	return 0;
}

int conf_parse_bool(const char *s, bool *v_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v_r = false;
			return 0;
		}
	}
	return LOFT_EINVAL;
}

int conf_parse_address(const char *s)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return 0;
	return LOFT_EINVAL;
}

int conf_parse_hostname(const char *s, bool wildcard)
{
	if (wildcard && s[0] == '*' && s[1] == '.')
		s += 2;
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return LOFT_EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return LOFT_EINVAL;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return LOFT_EINVAL;
		if (label == 0 && c == '-')
			return LOFT_EINVAL;
		label++;
	}
	return 0;
}

/* Split on blanks, check each name, store lower-case joined by one space. */
static char *parse_domains(const char *s)
{
	char *copy = xstrdup(s), *save = NULL;
	size_t cap = strlen(s) + 1, len = 0;
	char *out = xmalloc(cap);
	out[0] = '\0';
	for (char *tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (conf_parse_hostname(tok, false) < 0) {
			free(copy);
			free(out);
			return NULL;
		}
		if (len > 0)
			out[len++] = ' ';
		for (char *p = tok; *p != '\0'; p++)
			out[len++] = (char)tolower((unsigned char)*p);
		out[len] = '\0';
	}
	free(copy);
	if (len == 0)
		x_free(&out);
	return out;
}

static int parse_ciphers(const char *s)
{
	if (*s == '\0')
		return LOFT_EINVAL;
	for (const char *p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_+:!@=.,-", *p) == NULL)
			return LOFT_EINVAL;
	return 0;
}

static void set_uint(const struct conf_setting *row, void *base, uint64_t v)
{
	char *f = (char *)base + row->offset;
	switch (row->size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(f, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(f, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(f, &x, 4); break; }
	default: memcpy(f, &v, 8); break;
	}
}

uint64_t conf_value_get_uint(const struct conf_setting *row, const void *base)
{
	const char *f = (const char *)base + row->offset;
	switch (row->size) {
	case 1: { uint8_t x; memcpy(&x, f, 1); return x; }
	case 2: { uint16_t x; memcpy(&x, f, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, f, 4); return x; }
	default: { uint64_t x; memcpy(&x, f, 8); return x; }
	}
}

static bool is_string_type(enum conf_type t)
{
	return t == CONF_T_STRING || t == CONF_T_PATH || t == CONF_T_ADDRESS ||
	       t == CONF_T_HOSTNAME || t == CONF_T_DOMAINS || t == CONF_T_CIPHERS ||
	       t == CONF_T_MAILBOXES;
}

const char *conf_value_get_str(const struct conf_setting *row, const void *base)
{
	if (!is_string_type(row->type))
		return NULL;
	char *s;
	memcpy(&s, (const char *)base + row->offset, sizeof(s));
	return s;
}

static void set_str(const struct conf_setting *row, void *base, char *s)
{
	char **f = (char **)(void *)((char *)base + row->offset);
	free(*f);
	*f = s;
}

const char *conf_type_name(enum conf_type type)
{
	switch (type) {
	case CONF_T_STRING: return "string";
	case CONF_T_PATH: return "path";
	case CONF_T_BOOL: return "bool";
	case CONF_T_UINT: return "integer";
	case CONF_T_SIZE: return "size";
	case CONF_T_DURATION: return "duration";
	case CONF_T_ENUM: return "enum";
	case CONF_T_ADDRESS: return "address";
	case CONF_T_HOSTNAME: return "host name";
	case CONF_T_DOMAINS: return "domain list";
	case CONF_T_CIPHERS: return "cipher list";
	case CONF_T_WORDS: return "word list";
	case CONF_T_MAILBOXES: return "mailbox list";
	case CONF_T_MODE: return "file mode";
	}
	return "?";
}

const char *conf_type_help(const struct conf_setting *row)
{
	switch (row->type) {
	case CONF_T_STRING: return "text without control characters";
	case CONF_T_PATH: return "a file system path (relative to this file's directory)";
	case CONF_T_BOOL: return "yes or no";
	case CONF_T_UINT:
		return (row->flags & CONF_F_AUTO) ? "auto or a whole number" : "a whole number";
	case CONF_T_SIZE:
		return "a size in bytes with an optional K, M or G suffix (e.g. 50M)";
	case CONF_T_DURATION:
		return "a duration with an ms, s, m or h suffix (e.g. 30s, 5m); a plain number is seconds";
	case CONF_T_ENUM: return "one of the listed words";
	case CONF_T_ADDRESS:
		return "an IPv4 or IPv6 address without brackets (e.g. 127.0.0.1, ::1, 0.0.0.0, ::)";
	case CONF_T_HOSTNAME:
		return (row->flags & CONF_F_WILDCARD)
			? "a host name such as mail.example.org or *.example.org"
			: "a host name such as mail.example.org";
	case CONF_T_DOMAINS: return "domain names separated by spaces (e.g. example.org example.net)";
	case CONF_T_CIPHERS: return "an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20";
	case CONF_T_WORDS: return "one or more of the listed words, separated by spaces";
	case CONF_T_MODE: return "an octal permission mode such as 0660";
	case CONF_T_MAILBOXES:
		return "mailbox names separated by commas, each with an optional special-use "
		       "attribute (e.g. Drafts \\Drafts, Sent \\Sent, Lists/Work)";
	}
	return "?";
}

char *conf_format_size(uint64_t bytes)
{
	static const char units[] = "GMK";
	for (int i = 0; i < 3; i++) {
		uint64_t m = 1ull << (10 * (3 - i));
		if (bytes != 0 && bytes % m == 0)
			return xasprintf("%llu%c", (unsigned long long)(bytes / m), units[i]);
	}
	return xasprintf("%llu", (unsigned long long)bytes);
}

char *conf_format_duration(uint64_t ms)
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};
	if (ms == 0)
		return xstrdup("0s");
	for (size_t i = 0; i < 3; i++)
		if (ms % units[i].ms == 0)
			return xasprintf("%llu%s", (unsigned long long)(ms / units[i].ms),
					 units[i].unit);
	return xasprintf("%llums", (unsigned long long)ms);
}

static char *format_number(const struct conf_setting *row, uint64_t v)
{
	if (row->type == CONF_T_SIZE)
		return conf_format_size(v);
	if (row->type == CONF_T_DURATION)
		return conf_format_duration(v);
	return xasprintf("%llu", (unsigned long long)v);
}

char *conf_range_text(const struct conf_setting *row)
{
	if (row->type != CONF_T_UINT && row->type != CONF_T_SIZE &&
	    row->type != CONF_T_DURATION)
		return NULL;
	if (row->min == 0 && row->max == UINT64_MAX)
		return NULL;
	char *lo = format_number(row, row->min);
	char *out;
	if (row->max == UINT64_MAX) {
		out = xasprintf("at least %s", lo);
	} else {
		char *hi = format_number(row, row->max);
		out = xasprintf("%s..%s", lo, hi);
		free(hi);
	}
	free(lo);
	return out;
}

char *conf_enum_list(const struct conf_setting *row)
{
	size_t n = 0, len = 1;
	for (const struct conf_enum_name *e = row->names; e->name != NULL; e++, n++)
		len += strlen(e->name) + 4;
	char *out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, i + 1 == n ? " or " : ", ");
		strcat(out, row->names[i].name);
	}
	return out;
}

char *conf_resolve_path(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL)
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (path[0] == '/')
			path++;
	}
	if (path[0] == '\0' || strcmp(path, ".") == 0)
		return xstrdup(dir);
	size_t dl = strlen(dir);
	if (dl > 0 && dir[dl - 1] == '/')
		return xasprintf("%s%s", dir, path);
	return xasprintf("%s/%s", dir, path);
}

static int set_number(const struct conf_setting *row, void *base, const char *text,
		      char **why_r)
{
	uint64_t v;
	int r;
	if (row->type == CONF_T_UINT && (row->flags & CONF_F_AUTO) &&
	    strcmp(text, "auto") == 0) {
		set_uint(row, base, 0);
		return 0;
	}
	if (row->type == CONF_T_MODE)
		r = conf_parse_mode(text, &v);
	else if (row->type == CONF_T_SIZE)
		r = conf_parse_size(text, &v);
	else if (row->type == CONF_T_DURATION)
		r = conf_parse_duration(text, &v);
	else
		r = conf_parse_uint(text, &v);
	if (r < 0) {
		*why_r = xasprintf("'%s' is not valid; use %s", text, conf_type_help(row));
		return LOFT_EINVAL;
	}
	if (v < row->min || v > row->max) {
		char *range = conf_range_text(row);
		*why_r = xasprintf("'%s' is out of range; use %s", text, range);
		free(range);
		return LOFT_EINVAL;
	}
	set_uint(row, base, v);
	return 0;
}

static int set_enum(const struct conf_setting *row, void *base, const char *text,
		    char **why_r)
{
	for (const struct conf_enum_name *e = row->names; e->name != NULL; e++) {
		if (strcmp(e->name, text) == 0) {
			set_uint(row, base, (uint64_t)(uint32_t)e->value);
			return 0;
		}
	}
	char *list = conf_enum_list(row);
	if (row->names[0].name != NULL && strncmp(row->names[0].name, "TLSv", 4) == 0 &&
	    (strncasecmp(text, "TLSv1", 5) == 0 || strncasecmp(text, "SSL", 3) == 0))
		*why_r = xasprintf("'%s' is not supported (nothing below TLS 1.2 is offered); "
				   "use %s", text, list);
	else
		*why_r = xasprintf("'%s' is not valid; use %s", text, list);
	free(list);
	return LOFT_EINVAL;
}

static int set_words(const struct conf_setting *row, void *base, const char *text,
		     char **why_r)
{
	uint64_t mask = 0;
	const char *p = text;
	while (*p != '\0') {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len == 0)
			break;
		const struct conf_enum_name *e = row->names;
		for (; e->name != NULL; e++)
			if (strlen(e->name) == len && strncasecmp(e->name, p, len) == 0)
				break;
		if (e->name == NULL) {
			char *list = conf_enum_list(row);
			*why_r = xasprintf("'%.*s' is not valid; use words from %s", (int)len, p,
					   list);
			free(list);
			return -1;
		}
		mask |= 1ull << e->value;
		p += len;
	}
	if (mask == 0) {
		*why_r = xasprintf("the list is empty; use %s", conf_type_help(row));
		return -1;
	}
	set_uint(row, base, mask);
	return 0;
}

int conf_value_set(const struct conf_setting *row, void *base, const char *text,
		   const char *dir, char **why_r)
{
	if (text[0] == '\0' && row->type != CONF_T_MAILBOXES) {   /* a list may be empty */
		*why_r = xasprintf("the value is empty; use %s", conf_type_help(row));
		return LOFT_EINVAL;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			*why_r = xasprintf("the value contains a control character; use %s",
					   conf_type_help(row));
			return LOFT_EINVAL;
		}
	}
	switch (row->type) {
	case CONF_T_UINT:
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_MODE:
		return set_number(row, base, text, why_r);
	case CONF_T_ENUM:
		return set_enum(row, base, text, why_r);
	case CONF_T_WORDS:
		return set_words(row, base, text, why_r);
	case CONF_T_BOOL: {
		bool b;
		if (conf_parse_bool(text, &b) < 0) {
			*why_r = xasprintf("'%s' is not valid; use yes or no", text);
			return LOFT_EINVAL;
		}
		set_uint(row, base, b ? 1 : 0);
		return 0;
	}
	case CONF_T_STRING:
		set_str(row, base, xstrdup(text));
		return 0;
	case CONF_T_PATH:
		if ((row->flags & CONF_F_STDERR) && strcmp(text, "stderr") == 0)
			set_str(row, base, xstrdup(text));
		else
			set_str(row, base, conf_resolve_path(dir, text));
		return 0;
	case CONF_T_ADDRESS:
		if (conf_parse_address(text) < 0) {
			if (text[0] == '[')
				*why_r = xasprintf("'%s' has brackets; write IPv6 addresses "
						   "without them (e.g. ::1)", text);
			else
				*why_r = xasprintf("'%s' is not an IP address; use %s", text,
						   conf_type_help(row));
			return LOFT_EINVAL;
		}
		set_str(row, base, xstrdup(text));
		return 0;
	case CONF_T_HOSTNAME:
		if (conf_parse_hostname(text, row->flags & CONF_F_WILDCARD) < 0) {
			*why_r = xasprintf("'%s' is not a valid host name; use %s", text,
					   conf_type_help(row));
			return LOFT_EINVAL;
		}
		set_str(row, base, xstrdup(text));
		return 0;
	case CONF_T_DOMAINS: {
		char *list = parse_domains(text);
		if (list == NULL) {
			*why_r = xasprintf("'%s' is not a list of domain names; use %s", text,
					   conf_type_help(row));
			return LOFT_EINVAL;
		}
		set_str(row, base, list);
		return 0;
	}
	case CONF_T_MAILBOXES: {
		struct conf_mailbox *list;
		size_t n;
		char *why = NULL;
		if (conf_mailboxes_parse(text, &list, &n, &why) < 0) {
			*why_r = xasprintf("%s; use %s", why, conf_type_help(row));
			free(why);
			return -1;
		}
		conf_mailboxes_free(list, n);
		set_str(row, base, xstrdup(text));
		return 0;
	}
	case CONF_T_CIPHERS:
		if (parse_ciphers(text) < 0) {
			*why_r = xasprintf("'%s' is not a cipher list; use %s", text,
					   conf_type_help(row));
			return LOFT_EINVAL;
		}
		set_str(row, base, xstrdup(text));
		return 0;
	}
	*why_r = xstrdup("unknown value type");
	return LOFT_EINVAL;
}

bool conf_value_equal(const struct conf_setting *row, const void *a, const void *b)
{
	if (is_string_type(row->type)) {
		const char *x = conf_value_get_str(row, a), *y = conf_value_get_str(row, b);
		if (x == NULL || y == NULL)
			return x == y;
		return strcmp(x, y) == 0;
	}
	return conf_value_get_uint(row, a) == conf_value_get_uint(row, b);
}

char *conf_value_format(const struct conf_setting *row, const void *base)
{
	if (is_string_type(row->type)) {
		const char *s = conf_value_get_str(row, base);
		return xstrdup(s != NULL ? s : "");
	}
	uint64_t v = conf_value_get_uint(row, base);
	switch (row->type) {
	case CONF_T_BOOL:
		return xstrdup(v ? "yes" : "no");
	case CONF_T_ENUM:
		for (const struct conf_enum_name *e = row->names; e->name != NULL; e++)
			if ((uint64_t)(uint32_t)e->value == v)
				return xstrdup(e->name);
		return xasprintf("%llu", (unsigned long long)v);
	case CONF_T_WORDS: {
		char *out = xstrdup("");
		for (const struct conf_enum_name *e = row->names; e->name != NULL; e++) {
			if (!(v & (1ull << e->value)))
				continue;
			char *more = xasprintf("%s%s%s", out, out[0] != '\0' ? " " : "", e->name);
			free(out);
			out = more;
		}
		return out;
	}
	case CONF_T_MODE:
		return xasprintf("%04llo", (unsigned long long)v);
	case CONF_T_UINT:
		if ((row->flags & CONF_F_AUTO) && v == 0)
			return xstrdup("auto");
		return format_number(row, v);
	default:
		return format_number(row, v);
	}
}
