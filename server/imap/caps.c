/* Which extensions a session has (caps.h): the switch names and the tokens
 * each one advertises, the parsing of switch lists, the filter of the
 * capability string and the checks command handlers ask before accepting
 * an extension's syntax. */
#include "server/imap/caps.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/imap/fetch-items.h"
#include "server/imap/session.h"
#include "server/imap/status-items.h"

/* A switch: its name and the capability tokens it takes away (a token
 * ending in '=' matches every token with that prefix). */
static const struct {
	const char *name;
	unsigned bit;
	const char *tokens[5];
} switches[] = {
	{ "WITHIN", IMAP_CAP_WITHIN, { "WITHIN" } },
	{ "SAVEDATE", IMAP_CAP_SAVEDATE, { "SAVEDATE" } },
	{ "MULTISEARCH", IMAP_CAP_MULTISEARCH, { "MULTISEARCH" } },
	{ "CONDSTORE", IMAP_CAP_CONDSTORE, { "CONDSTORE" } },
	{ "QRESYNC", IMAP_CAP_QRESYNC, { "QRESYNC" } },
	{ "NOTIFY", IMAP_CAP_NOTIFY, { "NOTIFY" } },
	{ "COMPRESS", IMAP_CAP_COMPRESS, { "COMPRESS=" } },
	{ "IDLE", IMAP_CAP_IDLE, { "IDLE" } },
	{ "MOVE", IMAP_CAP_MOVE, { "MOVE" } },
	{ "UNSELECT", IMAP_CAP_UNSELECT, { "UNSELECT" } },
	{ "QUOTA", IMAP_CAP_QUOTA, { "QUOTA", "QUOTA=" } },
	{ "URLAUTH", IMAP_CAP_URLAUTH, { "URLAUTH" } },
	{ "SORT", IMAP_CAP_SORT, { "SORT", "SORT=", "ESORT", "CONTEXT=SORT" } },
	{ "THREAD", IMAP_CAP_THREAD, { "THREAD=" } },
	{ "PREVIEW", IMAP_CAP_PREVIEW, { "PREVIEW" } },
	{ "REPLACE", IMAP_CAP_REPLACE, { "REPLACE" } },
	{ "INPROGRESS", IMAP_CAP_INPROGRESS, { "INPROGRESS" } },
	{ "OBJECTID", IMAP_CAP_OBJECTID, { "OBJECTID" } },
	{ "BINARY", IMAP_CAP_BINARY, { "BINARY" } },
	{ "METADATA", IMAP_CAP_METADATA, { "METADATA", "METADATA-SERVER", "LIST-METADATA" } },
	{ "UIDONLY", IMAP_CAP_UIDONLY, { "UIDONLY" } },
};
#define N_SWITCHES (sizeof(switches) / sizeof(switches[0]))

bool imap_caps_on(const struct imap_session *s, unsigned cap)
{
	return (s->caps_off & cap) == 0;
}

bool imap_caps_fetch_refused(const struct imap_session *s, const struct imap_fetch_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		enum imap_fetch_att att = spec->items[i].att;
		bool objectid = att == IMAP_FA_EMAILID || att == IMAP_FA_THREADID;
		bool binary = att == IMAP_FA_BINARY_SIZE ||
			      (att == IMAP_FA_SECTION && spec->items[i].binary);
		if ((att == IMAP_FA_SAVEDATE && !imap_caps_on(s, IMAP_CAP_SAVEDATE)) ||
		    (att == IMAP_FA_MODSEQ && !imap_caps_on(s, IMAP_CAP_CONDSTORE)) ||
		    (att == IMAP_FA_PREVIEW && !imap_caps_on(s, IMAP_CAP_PREVIEW)) ||
		    (objectid && !imap_caps_on(s, IMAP_CAP_OBJECTID)) ||
		    (binary && !imap_caps_on(s, IMAP_CAP_BINARY)))
			return true;
	}
	return false;
}

bool imap_caps_status_refused(const struct imap_session *s, const struct imap_status_req *req,
			      const char **why_r)
{
	bool mailboxid = false;
	for (size_t i = 0; i < req->n; i++)
		mailboxid |= req->items[i] == IMAP_STATUS_MAILBOXID;
	if ((req->highestmodseq && !imap_caps_on(s, IMAP_CAP_CONDSTORE)) ||
	    (mailboxid && !imap_caps_on(s, IMAP_CAP_OBJECTID))) {
		*why_r = "Unknown STATUS data item.";
		return true;
	}
	return false;
}

static bool token_matches(const char *pattern, const char *tok, size_t len)
{
	size_t pl = strlen(pattern);
	if (pl > 0 && pattern[pl - 1] == '=')
		return len >= pl && strncasecmp(pattern, tok, pl) == 0;
	return len == pl && strncasecmp(pattern, tok, pl) == 0;
}

/* The switch bits a token belongs to (0: none). */
static unsigned token_bits(const char *tok, size_t len, bool by_name)
{
	unsigned bits = 0;
	for (size_t i = 0; i < N_SWITCHES; i++) {
		if (by_name && strlen(switches[i].name) == len &&
		    strncasecmp(switches[i].name, tok, len) == 0)
			bits |= switches[i].bit;
		for (size_t k = 0; k < 5 && switches[i].tokens[k] != NULL; k++)
			if (token_matches(switches[i].tokens[k], tok, len))
				bits |= switches[i].bit;
	}
	return bits;
}

static bool is_sep(char c)
{
	return c == ' ' || c == ',' || c == '\t';
}

unsigned imap_caps_parse(const char *text, size_t len, const char **bad_r,
			 size_t *bad_len_r)
{
	unsigned bits = 0;
	bool bad = false;
	size_t i = 0;
	while (i < len) {
		while (i < len && is_sep(text[i]))
			i++;
		size_t start = i;
		while (i < len && !is_sep(text[i]))
			i++;
		if (i == start)
			break;
		unsigned b = token_bits(text + start, i - start, true);
		if (b == 0 && !bad) {
			bad = true;
			if (bad_r != NULL)
				*bad_r = text + start;
			if (bad_len_r != NULL)
				*bad_len_r = i - start;
		}
		bits |= b;
	}
	if (bits & IMAP_CAP_CONDSTORE)
		bits |= IMAP_CAP_QRESYNC;     /* RFC 7162 3.2: QRESYNC needs it */
	return bits;
}

void imap_caps_filter(char *buf, unsigned caps_off)
{
	if (caps_off == 0)
		return;
	char *out = buf;
	const char *p = buf;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *tok = p;
		while (*p != '\0' && *p != ' ')
			p++;
		size_t len = (size_t)(p - tok);
		if (len == 0 || (token_bits(tok, len, false) & caps_off) != 0)
			continue;
		if (out != buf)
			*out++ = ' ';
		memmove(out, tok, len);
		out += len;
	}
	*out = '\0';
}

void imap_caps_names(char *buf, size_t size, unsigned bits)
{
	size_t n = 0;
	if (size > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < N_SWITCHES && n + 1 < size; i++) {
		if ((switches[i].bit & bits) == 0)
			continue;
		int w = snprintf(buf + n, size - n, "%s%s", n > 0 ? " " : "", switches[i].name);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

void imap_caps_update(struct imap_session *s)
{
	s->caps_off = s->caps_user | s->caps_client;
}
