/* The RFC 8970 preview: a short plain-text extract of the message body,
 * built while the body streams through the parser. Input is the decoded
 * content of the first text/plain (and, as a fallback, text/html) part that
 * is not an attachment; it is converted to UTF-8, HTML tags, style and script
 * are dropped and entities decoded, quoted reply lines ("> ...") skipped,
 * white space collapsed, and it stops at 200 characters. */
#include "storage/message/msg-internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"

void msg_preview_start(struct msg_preview *pv, bool html, const char *charset, size_t charset_len)
{
	memset(pv, 0, sizeof(*pv));
	pv->html = html;
	pv->at_line_start = true;
	struct msg_conv *c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	msg_conv_open(c, charset, charset_len);
	pv->conv = c;
}

static void put_char(struct msg_preview *pv, const char *u, size_t n, bool space)
{
	if (pv->done)
		return;
	if (space) {
		if (pv->text.len > 0)
			pv->pending_space = true;
		return;
	}
	if (pv->pending_space) {
		pv->pending_space = false;
		msg_buf_putc(&pv->text, ' ');
		if (++pv->chars >= MSG_PREVIEW_MAX_CHARS) {
			pv->done = true;
			return;
		}
	}
	msg_buf_append(&pv->text, u, n);
	if (++pv->chars >= MSG_PREVIEW_MAX_CHARS)
		pv->done = true;
}

/* One decoded character of text content (after tags were removed). */
static void text_char(struct msg_preview *pv, const char *u, size_t n)
{
	unsigned char c = (unsigned char)u[0];
	if (c == '\n') {
		pv->at_line_start = true;
		pv->quoted = false;
		put_char(pv, u, n, true);
		return;
	}
	if (pv->at_line_start && !pv->html) {
		if (c == '>') {
			pv->quoted = true;
			pv->at_line_start = false;
			return;
		}
		if (c != ' ' && c != '\t' && c != '\r')
			pv->at_line_start = false;
	}
	if (pv->quoted)
		return;
	bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		(n == 2 && (unsigned char)u[0] == 0xC2 && (unsigned char)u[1] == 0xA0);
	if (c < 0x20 && !space)
		return;
	put_char(pv, u, n, space);
}

static void entity_done(struct msg_preview *pv)
{
	static const struct { const char *name; const char *utf8; } ents[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" },
		{ "apos", "'" }, { "nbsp", " " }, { "copy", "\xC2\xA9" },
		{ "reg", "\xC2\xAE" }, { "hellip", "\xE2\x80\xA6" }, { "mdash", "\xE2\x80\x94" },
		{ "ndash", "\xE2\x80\x93" }, { "rsquo", "\xE2\x80\x99" }, { "lsquo", "\xE2\x80\x98" },
		{ "rdquo", "\xE2\x80\x9D" }, { "ldquo", "\xE2\x80\x9C" },
	};
	char *e = pv->entity;
	e[pv->entity_len] = '\0';
	pv->in_entity = false;
	if (e[0] == '#') {
		unsigned long cp = e[1] == 'x' || e[1] == 'X' ? strtoul(e + 2, NULL, 16) :
			strtoul(e + 1, NULL, 10);
		char u[4];
		if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return;
		size_t n = utf8_encode(u, (uint32_t)cp);
		text_char(pv, u, n);
		return;
	}
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if (strcmp(e, ents[i].name) == 0) {
			text_char(pv, ents[i].utf8, strlen(ents[i].utf8));
			return;
		}
	}
}

/* Tag names whose contents are not text. */
static bool skip_tag(const char *name)
{
	return strcasecmp(name, "style") == 0 || strcasecmp(name, "script") == 0 ||
		strcasecmp(name, "head") == 0 || strcasecmp(name, "title") == 0;
}

static void html_char(struct msg_preview *pv, const char *u, size_t n)
{
	char c = u[0];
	if (pv->in_tag) {
		if (c == '>') {
			pv->in_tag = false;
			pv->entity[pv->entity_len] = '\0';
			const char *name = pv->entity;
			bool closing = name[0] == '/';
			if (closing)
				name++;
			if (skip_tag(name))
				pv->quoted = !closing;   /* quoted = inside a skipped element */
			else if (strcasecmp(name, "br") == 0 || strcasecmp(name, "p") == 0 ||
				 strcasecmp(name, "div") == 0 || strcasecmp(name, "tr") == 0 ||
				 strcasecmp(name, "li") == 0)
				put_char(pv, " ", 1, true);
			pv->entity_len = 0;
		} else if (pv->at_line_start) {
			/* collecting the tag name */
			if ((c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/') &&
			    pv->entity_len > 0 && !(c == '/' && pv->entity_len == 0))
				pv->at_line_start = false;
			else if (pv->entity_len < sizeof(pv->entity) - 1)
				pv->entity[pv->entity_len++] = c;
		}
		return;
	}
	if (pv->in_entity) {
		if (c == ';') {
			entity_done(pv);
		} else if (pv->entity_len < sizeof(pv->entity) - 1 && (unsigned char)c > ' ') {
			pv->entity[pv->entity_len++] = c;
		} else {
			pv->in_entity = false;   /* not an entity after all: drop it */
		}
		return;
	}
	if (c == '<') {
		pv->in_tag = true;
		pv->at_line_start = true;   /* reading the name */
		pv->entity_len = 0;
		return;
	}
	if (pv->quoted)
		return;
	if (c == '&') {
		pv->in_entity = true;
		pv->entity_len = 0;
		return;
	}
	bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		(n == 2 && (unsigned char)u[0] == 0xC2 && (unsigned char)u[1] == 0xA0);
	if ((unsigned char)c < 0x20 && !space)
		return;
	put_char(pv, u, n, space);
}

void msg_preview_feed(struct msg_preview *pv, const void *data, size_t len)
{
	if (pv->done || len == 0)
		return;
	pv->utf8.len = 0;
	msg_conv_run(pv->conv, data, len, &pv->utf8);
	const unsigned char *p = (const unsigned char *)pv->utf8.data;
	size_t n = pv->utf8.len;
	for (size_t i = 0; i < n && !pv->done;) {
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
		if (i + k > n)
			k = n - i;
		if (pv->html)
			html_char(pv, (const char *)p + i, k);
		else
			text_char(pv, (const char *)p + i, k);
		i += k;
	}
}

void msg_preview_free(struct msg_preview *pv)
{
	if (pv->conv != NULL) {
		msg_conv_close(pv->conv);
		free(pv->conv);
		pv->conv = NULL;
	}
	msg_buf_free(&pv->text);
	msg_buf_free(&pv->utf8);
}
