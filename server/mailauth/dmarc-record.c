/* The DMARC policy record (RFC 7489 6.3, 6.4): a tag list beginning with
 * v=DMARC1. p= is required (an invalid or missing p= or sp= reads as
 * p=none when a valid rua= is there, else the record is unusable,
 * 6.6.3); other tags with bad values fall back to their defaults (6.3:
 * "discarded in favor of default values"). rua=, ruf=, fo=, rf=, ri= are
 * parsed and not used: Loft sends no reports. Fuzzed. */
#include "server/mailauth/dmarc.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "server/mailauth/dkim.h"

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_NONE: return "none";
	case DMARC_P_QUARANTINE: return "quarantine";
	case DMARC_P_REJECT: return "reject";
	}
	return "?";
}

const char *dmarc_status_name(enum dmarc_status s)
{
	switch (s) {
	case DMARC_NONE: return "none";
	case DMARC_PASS: return "pass";
	case DMARC_FAIL: return "fail";
	case DMARC_TEMPERROR: return "temperror";
	case DMARC_PERMERROR: return "permerror";
	}
	return "?";
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

bool dmarc_is_record(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != 'v')
		return false;
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return false;
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < len && is_wsp(s[i]))
		i++;
	return i == len || s[i] == ';';
}

static bool word(const struct dkim_tag *t, const char *w)
{
	return t->value_len == strlen(w) && strncasecmp(t->value, w, t->value_len) == 0;
}

static bool policy(const struct dkim_tag *t, enum dmarc_policy *p)
{
	if (word(t, "none"))
		*p = DMARC_P_NONE;
	else if (word(t, "quarantine"))
		*p = DMARC_P_QUARANTINE;
	else if (word(t, "reject"))
		*p = DMARC_P_REJECT;
	else
		return false;
	return true;
}

/* rua=: a comma-separated list of URIs; one "scheme:rest" is enough. */
static bool uri_list_ok(const struct dkim_tag *t)
{
	for (size_t p = 0; p < t->value_len;) {
		const char *comma = memchr(t->value + p, ',', t->value_len - p);
		size_t e = comma != NULL ? (size_t)(comma - t->value) : t->value_len;
		const char *colon = memchr(t->value + p, ':', e - p);
		if (colon != NULL && colon > t->value + p && isalpha((unsigned char)t->value[p]) &&
		    (size_t)(colon - t->value) + 1 < e)
			return true;
		p = e + 1;
	}
	return false;
}

int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec,
		       const char **why_r)
{
	struct dkim_tag tags[DKIM_MAX_TAGS];
	size_t n;
	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	if (!dmarc_is_record(text, len)) {
		*why_r = "not a DMARC record";
		return LOFT_EINVAL;
	}
	if (dkim_tags_parse(text, len, tags, DKIM_MAX_TAGS, &n) != 0) {
		*why_r = "DMARC record is not a valid tag list";
		return LOFT_EINVAL;
	}
	const struct dkim_tag *t = dkim_tag_get(tags, n, "rua");
	rec->has_rua = t != NULL && uri_list_ok(t);
	bool p_ok = (t = dkim_tag_get(tags, n, "p")) != NULL && policy(t, &rec->p);
	bool sp_ok = true;
	if ((t = dkim_tag_get(tags, n, "sp")) != NULL) {
		sp_ok = policy(t, &rec->sp);
		rec->has_sp = sp_ok;
	}
	if (!p_ok || !sp_ok) {
		if (!rec->has_rua) {
			*why_r = "DMARC record without a valid p=";
			return LOFT_EINVAL;
		}
		rec->p = DMARC_P_NONE;   /* RFC 7489 6.6.3 */
		rec->has_sp = false;
	}
	if (!rec->has_sp)
		rec->sp = rec->p;
	if ((t = dkim_tag_get(tags, n, "adkim")) != NULL && word(t, "s"))
		rec->strict_dkim = true;
	if ((t = dkim_tag_get(tags, n, "aspf")) != NULL && word(t, "s"))
		rec->strict_spf = true;
	if ((t = dkim_tag_get(tags, n, "pct")) != NULL && t->value_len > 0 && t->value_len <= 3) {
		unsigned v = 0;
		bool ok = true;
		for (size_t i = 0; i < t->value_len; i++) {
			if (!isdigit((unsigned char)t->value[i]))
				ok = false;
			else
				v = v * 10 + (unsigned)(t->value[i] - '0');
		}
		if (ok && v <= 100)
			rec->pct = v;
	}
	return 0;
}
