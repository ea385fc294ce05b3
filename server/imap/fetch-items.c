/* Parsing FETCH data items (see fetch-items.h). A section item arrives as
 * one atom, e.g. BODY.PEEK[1.2.HEADER.FIELDS (From "To")]<0.100>, which is
 * split here into its name, part numbers, section text and partial range. */
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
	{ "ENVELOPE", IMAP_FA_ENVELOPE },
	{ "BODY", IMAP_FA_BODY },
	{ "BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FA_MODSEQ },
	{ "SAVEDATE", IMAP_FA_SAVEDATE },
};

static const char *att_name(enum imap_fetch_att att)
{
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]); i++)
		if (simple_atts[i].att == att)
			return simple_atts[i].name;
	return att == IMAP_FA_PREVIEW ? "PREVIEW" : "?";
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
	if (att == IMAP_FA_MODSEQ)
		spec->has_modseq = true;
}

/* "<origin.length>" at p (NUL-terminated); 0 or -1. origin is a number
 * (RFC 9051 9: leading zeros allowed), length an nz-number. "<origin>"
 * alone, which Dovecot and its imaptest suite use, means up to the end
 * (*length_r = UINT64_MAX). */
static int parse_partial(const char *p, uint64_t *origin_r, uint64_t *length_r)
{
	if (*p++ != '<')
		return -1;
	uint64_t v[2] = { 0, UINT64_MAX };
	for (int k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)*p) || (k == 1 && *p == '0'))
			return -1;
		v[k] = 0;
		while (isdigit((unsigned char)*p)) {
			if (v[k] > (UINT64_MAX - 9) / 10)
				return -1;
			v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
		}
		if (k == 0 && *p == '>') {
			p++;
			break;
		}
		if (*p++ != (k == 0 ? '.' : '>'))
			return -1;
	}
	if (*p != '\0')
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
			if (p >= end || *p != '"') {
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

/* nz-number (RFC 9051 9): 1-4294967295 without leading zeros. Returns
 * the characters used, 0 when there is none. */
static size_t parse_nz(const char *p, const char *end, uint32_t *v_r)
{
	if (p >= end || *p < '1' || *p > '9')
		return 0;
	uint64_t v = 0;
	size_t n = 0;
	while (p + n < end && isdigit((unsigned char)p[n])) {
		v = v * 10 + (uint64_t)(p[n] - '0');
		if (v > UINT32_MAX)
			return 0;
		n++;
	}
	*v_r = (uint32_t)v;
	return n;
}

static bool word_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) == n && strncasecmp(p, word, n) == 0;
}

/* The text between [ and ]: section-spec (RFC 9051 9). BINARY takes it
 * too, not only RFC 3516's section-part, as Dovecot does: HEADER, MIME and
 * HEADER.FIELDS are served as BODY's, TEXT decoded like a part (see
 * imap_fetch_item_decodes). */
static int parse_section(const char *p, const char *end, struct imap_fetch_item *it,
			 const char **why_r)
{
	*why_r = "Invalid section.";
	it->sec = IMAP_SEC_ALL;
	/* section-part: nz-number *("." nz-number) */
	while (p < end && isdigit((unsigned char)*p)) {
		uint32_t v;
		size_t n = parse_nz(p, end, &v);
		if (n == 0)
			return -1;
		it->path = xrealloc(it->path, (it->depth + 1) * sizeof(*it->path));
		it->path[it->depth++] = v;
		p += n;
		if (p == end)
			return 0;
		if (*p++ != '.' || p == end)
			return -1;
	}
	if (p == end)
		return 0;                   /* [] */
	if (word_is(p, end, "HEADER")) {
		it->sec = IMAP_SEC_HEADER;
		return 0;
	}
	if (word_is(p, end, "TEXT")) {
		it->sec = IMAP_SEC_TEXT;
		return 0;
	}
	if (word_is(p, end, "MIME")) {
		it->sec = IMAP_SEC_MIME;
		return it->depth > 0 ? 0 : -1;   /* MIME follows a part number */
	}
	size_t len = (size_t)(end - p);
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

/* The item kinds that take a section. */
static const struct {
	const char *name;           /* as the client writes it */
	const char *shown;          /* as the response names it */
	bool peek, binary, size;
} section_atts[] = {
	{ "BODY", "BODY", false, false, false },
	{ "BODY.PEEK", "BODY", true, false, false },
	{ "BINARY", "BINARY", false, true, false },
	{ "BINARY.PEEK", "BINARY", true, true, false },
	{ "BINARY.SIZE", "BINARY.SIZE", true, true, true },
};

/* BODY[...]<..>, BINARY[...]<..>, BINARY.SIZE[...]: returns 1 when the atom
 * is one, 0 when it is not a section item, -1 on error. */
static int parse_body_item(const char *s, struct imap_fetch_spec *spec, const char **why_r)
{
	const char *br = strchr(s, '[');
	if (br == NULL)
		return 0;
	size_t nlen = (size_t)(br - s), k = 0;
	while (k < sizeof(section_atts) / sizeof(section_atts[0]) &&
	       !(strlen(section_atts[k].name) == nlen &&
		 strncasecmp(s, section_atts[k].name, nlen) == 0))
		k++;
	if (k == sizeof(section_atts) / sizeof(section_atts[0]))
		return 0;
	const char *close = strrchr(s, ']');
	if (close == NULL || close < br) {
		*why_r = "Invalid section.";
		return -1;
	}
	struct imap_fetch_item *it = new_item(spec);
	it->att = section_atts[k].size ? IMAP_FA_BINARY_SIZE : IMAP_FA_SECTION;
	it->peek = section_atts[k].peek;
	it->binary = section_atts[k].binary;
	if (parse_section(br + 1, close, it, why_r) < 0)
		return -1;
	if (close[1] != '\0') {
		if (section_atts[k].size || parse_partial(close + 1, &it->origin, &it->length) < 0) {
			*why_r = "Invalid partial range (<origin.length>).";
			return -1;
		}
		it->partial = true;
	}
	size_t slen = (size_t)(close - br - 1);
	const char *shown = section_atts[k].shown;
	size_t shlen = strlen(shown);
	it->name = xmalloc(shlen + slen + 32);
	memcpy(it->name, shown, shlen);
	it->name[shlen] = '[';
	memcpy(it->name + shlen + 1, br + 1, slen);
	/* the section's words as RFC 9051 spells them (header.fields ->
	 * HEADER.FIELDS); field names stay as the client wrote them */
	for (size_t i = shlen + 1; i < shlen + 1 + slen && it->name[i] != ' '; i++)
		it->name[i] = (char)toupper((unsigned char)it->name[i]);
	if (it->partial)
		snprintf(it->name + shlen + 1 + slen, 27, "]<%llu>", (unsigned long long)it->origin);
	else
		strcpy(it->name + shlen + 1 + slen, "]");
	return 1;
}

/* PREVIEW's optional modifier list (RFC 8970 6): "(LAZY)". Whether LAZY
 * is given changes nothing here: a preview is always at hand (it is part
 * of the cached structure), so it is never answered NIL. */
static int parse_preview_mods(const struct imap_arg *a, const char **why_r)
{
	*why_r = "Invalid PREVIEW modifier.";
	if (a->list_count == 0)
		return -1;
	for (size_t i = 0; i < a->list_count; i++) {
		const struct imap_arg *m = &a->list[i];
		if (m->type != IMAP_ARG_ATOM || strcasecmp(m->str, "LAZY") != 0)
			return -1;
	}
	return 0;
}

/* One item at items[i]; *used_r: how many arguments it took. */
static int parse_one(const struct imap_arg *items, size_t i, size_t n,
		     struct imap_fetch_spec *spec, size_t *used_r, const char **why_r)
{
	const struct imap_arg *a = &items[i];
	*used_r = 1;
	*why_r = "Unknown FETCH attribute.";
	if (a->type != IMAP_ARG_ATOM || strlen(a->str) != a->len)
		return -1;
	const char *s = a->str;
	for (size_t k = 0; k < sizeof(simple_atts) / sizeof(simple_atts[0]); k++) {
		if (strcasecmp(s, simple_atts[k].name) == 0) {
			imap_fetch_spec_add(spec, simple_atts[k].att, false);
			return 0;
		}
	}
	if (strcasecmp(s, "PREVIEW") == 0) {
		if (i + 1 < n && items[i + 1].type == IMAP_ARG_LIST) {
			if (parse_preview_mods(&items[i + 1], why_r) < 0)
				return -1;
			*used_r = 2;
		}
		imap_fetch_spec_add(spec, IMAP_FA_PREVIEW, false);
		return 0;
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
	for (size_t k = 0; k < sizeof(rfc822) / sizeof(rfc822[0]); k++) {
		if (strcasecmp(s, rfc822[k].name) == 0) {
			struct imap_fetch_item *it = new_item(spec);
			it->att = IMAP_FA_SECTION;
			it->sec = rfc822[k].sec;
			it->peek = rfc822[k].peek;
			it->name = xstrdup(rfc822[k].name);
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
		switch (it->att) {
		case IMAP_FA_ENVELOPE:
		case IMAP_FA_BODY:
		case IMAP_FA_BODYSTRUCTURE:
		case IMAP_FA_PREVIEW:
			spec->body = spec->mime = true;
			break;
		case IMAP_FA_SECTION:
		case IMAP_FA_BINARY_SIZE:
			spec->body = true;
			if (it->att == IMAP_FA_SECTION) {
				spec->reader = true;
				if (!it->peek)
					spec->seen = true;
			}
			if (imap_fetch_item_decodes(it)) {
				spec->mime = true;   /* part ranges, encodings */
				break;
			}
			spec->reader = true;         /* a header is read to size it */
			if (it->depth > 0)
				spec->mime = true;
			else if (it->sec != IMAP_SEC_ALL)
				spec->header = true;
			break;
		default:
			break;
		}
	}
}

static void add_macro(struct imap_fetch_spec *spec, const enum imap_fetch_att *atts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		imap_fetch_spec_add(spec, atts[i], false);
}

int imap_fetch_spec_parse(const struct imap_arg *arg, struct imap_fetch_spec *spec,
			  const char **why_r)
{
	memset(spec, 0, sizeof(*spec));
	/* the macros (RFC 9051 6.4.5), only on their own */
	static const enum imap_fetch_att macro[] = {
		IMAP_FA_FLAGS, IMAP_FA_INTERNALDATE, IMAP_FA_RFC822_SIZE, IMAP_FA_ENVELOPE,
		IMAP_FA_BODY,
	};
	if (arg->type == IMAP_ARG_ATOM) {
		size_t n = strcasecmp(arg->str, "FAST") == 0 ? 3
			: strcasecmp(arg->str, "ALL") == 0 ? 4
			: strcasecmp(arg->str, "FULL") == 0 ? 5 : 0;
		if (n > 0) {
			add_macro(spec, macro, n);
			finish(spec);
			return 0;
		}
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
	for (size_t i = 0; i < n;) {
		size_t used;
		if (parse_one(items, i, n, spec, &used, why_r) < 0) {
			imap_fetch_spec_free(spec);
			return -1;
		}
		i += used;
	}
	finish(spec);
	return 0;
}

void imap_fetch_spec_free(struct imap_fetch_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		struct imap_fetch_item *it = &spec->items[i];
		free(it->name);
		free(it->path);
		for (size_t k = 0; k < it->n_fields; k++)
			free(it->fields[k]);
		free(it->fields);
	}
	free(spec->items);
	memset(spec, 0, sizeof(*spec));
}
