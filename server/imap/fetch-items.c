/* Parsing FETCH data items (see fetch-items.h). A section item arrives as
 * one atom, e.g. BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>, which is
 * split here into its name, section and partial range. */
#include "server/imap/fetch-items.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/parser.h"

static const struct {
	const char *name;
	enum imap_fetch_att att;
} simple_atts[] = {
	{ "FLAGS", IMAP_FA_FLAGS },
	{ "UID", IMAP_FA_UID },
	{ "INTERNALDATE", IMAP_FA_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FA_RFC822_SIZE },
	{ "EMAILID", IMAP_FA_EMAILID },
	{ "THREADID", IMAP_FA_THREADID },
	{ "SAVEDATE", IMAP_FA_SAVEDATE },
};

static const char *att_name(enum imap_fetch_att att)
{
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]); i++)
		if (simple_atts[i].att == att)
			return simple_atts[i].name;
	return "?";
}

static struct imap_fetch_item *new_item(struct imap_fetch_spec *spec)
{
	spec->items = xrealloc(spec->items, (spec->n + 1) * sizeof(*spec->items));
	struct imap_fetch_item *it = &spec->items[spec->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

void imap_fetch_spec_add(struct imap_fetch_spec *spec, enum imap_fetch_att att, bool first)
{
	for (size_t i = 0; i < spec->n; i++)
		if (spec->items[i].att == att)
			return;
	struct imap_fetch_item *it = new_item(spec);
	it->att = att;
	it->name = xstrdup(att_name(att));
	if (first && spec->n > 1) {
		struct imap_fetch_item tmp = *it;
		memmove(spec->items + 1, spec->items, (spec->n - 1) * sizeof(*spec->items));
		spec->items[0] = tmp;
	}
	if (att == IMAP_FA_FLAGS)
		spec->has_flags = true;
	if (att == IMAP_FA_UID)
		spec->has_uid = true;
}

/* "<origin.length>" at p (NUL-terminated); 0 or -1. */
static int parse_partial(const char *p, uint64_t *origin_r, uint64_t *length_r)
{
	if (*p++ != '<' || !isdigit((unsigned char)*p))
		return -1;
	uint64_t v[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)*p) || (*p == '0' && isdigit((unsigned char)p[1])))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (v[k] > (UINT64_MAX - 9) / 10)
				return -1;
			v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
		}
		if (*p++ != (k == 0 ? '.' : '>'))
			return -1;
	}
	if (*p != '\0' || v[1] == 0)
		return -1;
	*origin_r = v[0];
	*length_r = v[1];
	return 0;
}

static bool astring_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

/* " (name name ...)" after HEADER.FIELDS[.NOT]; names are astrings given
 * as atoms or quoted strings. */
static int parse_field_list(const char *p, const char *end, struct imap_fetch_item *it)
{
	if (p >= end || *p++ != ' ' || p >= end || *p++ != '(')
		return -1;
	for (;;) {
		if (p < end && *p == ')' && it->n_fields > 0) {
			p++;
			break;
		}
		if (it->n_fields > 0) {
			if (p >= end || *p++ != ' ')
				return -1;
		}
		char *name;
		if (p < end && *p == '"') {
			p++;
			name = xmalloc((size_t)(end - p) + 1);
			size_t n = 0;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
					p++;
				else if (*p == '\\')
					break;
				name[n++] = *p++;
			}
			name[n] = '\0';
			if (p >= end || *p != '"' || n == 0) {
				free(name);
				return -1;
			}
			p++;
		} else {
			const char *start = p;
			while (p < end && (astring_char((unsigned char)*p) || *p == ']'))
				p++;
			if (p == start)
				return -1;
			name = xstrndup(start, (size_t)(p - start));
		}
		if (strlen(name) > IMAP_FIELD_NAME_MAX) {
			free(name);
			return -1;
		}
		it->fields = xrealloc(it->fields, (it->n_fields + 1) * sizeof(*it->fields));
		it->fields[it->n_fields++] = name;
	}
	return p == end ? 0 : -1;
}

/* The text between [ and ]: section-spec without part numbers. */
static int parse_section(const char *p, const char *end, struct imap_fetch_item *it,
			 const char **why_r)
{
	size_t len = (size_t)(end - p);
	if (len == 0) {
		it->sec = IMAP_SEC_ALL;
		return 0;
	}
	if (isdigit((unsigned char)*p)) {
		*why_r = "Sections with part numbers are not supported.";
		return -1;
	}
	if (len == 6 && strncasecmp(p, "HEADER", 6) == 0) {
		it->sec = IMAP_SEC_HEADER;
		return 0;
	}
	if (len == 4 && strncasecmp(p, "TEXT", 4) == 0) {
		it->sec = IMAP_SEC_TEXT;
		return 0;
	}
	*why_r = "Invalid section.";
	if (len > 17 && strncasecmp(p, "HEADER.FIELDS.NOT", 17) == 0 && p[17] == ' ') {
		it->sec = IMAP_SEC_FIELDS_NOT;
		return parse_field_list(p + 17, end, it);
	}
	if (len > 13 && strncasecmp(p, "HEADER.FIELDS", 13) == 0 && p[13] == ' ') {
		it->sec = IMAP_SEC_FIELDS;
		return parse_field_list(p + 13, end, it);
	}
	return -1;
}

/* BODY[...]<..> / BODY.PEEK[...]<..>: returns 1 when the atom is one, 0 when
 * it is not a section item, -1 on error. */
static int parse_body_item(const char *s, struct imap_fetch_spec *spec, const char **why_r)
{
	const char *br = strchr(s, '[');
	if (br == NULL)
		return 0;
	size_t nlen = (size_t)(br - s);
	bool peek;
	if (nlen == 4 && strncasecmp(s, "BODY", 4) == 0)
		peek = false;
	else if (nlen == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0)
		peek = true;
	else
		return 0;
	const char *close = strrchr(s, ']');
	if (close == NULL || close < br) {
		*why_r = "Invalid section.";
		return -1;
	}
	struct imap_fetch_item *it = new_item(spec);
	it->att = IMAP_FA_SECTION;
	it->peek = peek;
	*why_r = "Invalid section.";
	if (parse_section(br + 1, close, it, why_r) < 0)
		return -1;
	if (close[1] != '\0') {
		if (parse_partial(close + 1, &it->origin, &it->length) < 0) {
			*why_r = "Invalid partial range (<origin.length>).";
			return -1;
		}
		it->partial = true;
	}
	size_t slen = (size_t)(close - br - 1);
	it->name = xmalloc(slen + 32);
	memcpy(it->name, "BODY[", 5);
	memcpy(it->name + 5, br + 1, slen);
	if (it->partial)
		snprintf(it->name + 5 + slen, 27, "]<%llu>", (unsigned long long)it->origin);
	else
		strcpy(it->name + 5 + slen, "]");
	return 1;
}

static int parse_one(const struct imap_arg *a, struct imap_fetch_spec *spec, const char **why_r)
{
	*why_r = "Unknown FETCH attribute.";
	if (a->type != IMAP_ARG_ATOM || strlen(a->str) != a->len)
		return -1;
	const char *s = a->str;
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]); i++) {
		if (strcasecmp(s, simple_atts[i].name) == 0) {
			imap_fetch_spec_add(spec, simple_atts[i].att, false);
			return 0;
		}
	}
	static const struct {
		const char *name;
		enum imap_section_kind sec;
		bool peek;
	} rfc822[] = {
		{ "RFC822", IMAP_SEC_ALL, false },
		{ "RFC822.HEADER", IMAP_SEC_HEADER, true },
		{ "RFC822.TEXT", IMAP_SEC_TEXT, false },
	};
	for (size_t i = 0; i < sizeof(rfc822) / sizeof(rfc822[0]); i++) {
		if (strcasecmp(s, rfc822[i].name) == 0) {
			struct imap_fetch_item *it = new_item(spec);
			it->att = IMAP_FA_SECTION;
			it->sec = rfc822[i].sec;
			it->peek = rfc822[i].peek;
			it->name = xstrdup(rfc822[i].name);
			return 0;
		}
	}
	int r = parse_body_item(s, spec, why_r);
	return r == 1 ? 0 : -1;
}

static void finish(struct imap_fetch_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		const struct imap_fetch_item *it = &spec->items[i];
		if (it->att != IMAP_FA_SECTION)
			continue;
		spec->body = true;
		if (!it->peek)
			spec->seen = true;
		if (it->sec != IMAP_SEC_ALL)
			spec->header = true;
	}
}

int imap_fetch_spec_parse(const struct imap_arg *arg, struct imap_fetch_spec *spec,
			  const char **why_r)
{
	memset(spec, 0, sizeof(*spec));
	if (arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, "FAST") == 0) {
		imap_fetch_spec_add(spec, IMAP_FA_FLAGS, false);
		imap_fetch_spec_add(spec, IMAP_FA_INTERNALDATE, false);
		imap_fetch_spec_add(spec, IMAP_FA_RFC822_SIZE, false);
		return 0;
	}
	const struct imap_arg *items = arg;
	size_t n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->list_count;
		if (n == 0) {
			*why_r = "Empty FETCH attribute list.";
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_one(&items[i], spec, why_r) < 0) {
			imap_fetch_spec_free(spec);
			return -1;
		}
	}
	finish(spec);
	return 0;
}

void imap_fetch_spec_free(struct imap_fetch_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		struct imap_fetch_item *it = &spec->items[i];
		free(it->name);
		for (size_t k = 0; k < it->n_fields; k++)
			free(it->fields[k]);
		free(it->fields);
	}
	free(spec->items);
	memset(spec, 0, sizeof(*spec));
}
