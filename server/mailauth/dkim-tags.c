/* The tag=value list of RFC 6376 3.2, shared by DKIM-Signature fields, DKIM
 * key records and DMARC records (RFC 7489 6.4): tags separated by ';',
 * names of ALPHA *(ALPHA / DIGIT / "_"), values of printable characters
 * other than ';' with folding white space allowed inside and trimmed
 * around. A repeated tag is an error (RFC 6376 3.2). Fuzzed. */
#include "server/mailauth/dkim.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dkim_tags_parse(const char *s, size_t len, struct dkim_tag *tags, size_t max, size_t *n_r)
{
	size_t n = 0;
	size_t pos = 0;
	*n_r = 0;
	while (pos <= len) {
		const char *semi = pos < len ? memchr(s + pos, ';', len - pos) : NULL;
		size_t end = semi != NULL ? (size_t)(semi - s) : len;
		size_t p = pos;
		while (p < end && is_fws(s[p]))
			p++;
		if (p < end) {
			if (!isalpha((unsigned char)s[p]))
				return LOFT_EINVAL;
			size_t name = p;
			while (p < end && (isalnum((unsigned char)s[p]) || s[p] == '_'))
				p++;
			size_t name_len = p - name;
			while (p < end && is_fws(s[p]))
				p++;
			if (p >= end || s[p] != '=')
				return LOFT_EINVAL;
			p++;
			size_t seg_start = p;
			while (p < end && is_fws(s[p]))
				p++;
			size_t v = p, vend = p;
			for (; p < end; p++) {
				unsigned char c = (unsigned char)s[p];
				if (is_fws((char)c))
					continue;
				if (c < 0x21 || c > 0x7e)
					return LOFT_EINVAL;
				vend = p + 1;
			}
			for (size_t k = 0; k < n; k++)
				if (tags[k].name_len == name_len &&
				    memcmp(tags[k].name, s + name, name_len) == 0)
					return LOFT_EINVAL;
			if (n == max)
				return LOFT_EINVAL;
			tags[n].name = s + name;
			tags[n].name_len = name_len;
			tags[n].value = s + v;
			tags[n].value_len = vend - v;
			tags[n].seg_start = seg_start;
			tags[n].seg_end = end;
			n++;
		}
		if (semi == NULL)
			break;
		pos = end + 1;
	}
	*n_r = n;
	return 0;
}

const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (tags[i].name_len == nl && memcmp(tags[i].name, name, nl) == 0)
			return &tags[i];
	return NULL;
}

bool dkim_list_next(const struct dkim_tag *t, size_t *pos, const char **item_r,
		    size_t *len_r)
{
	if (*pos > t->value_len)
		return false;
	const char *colon = memchr(t->value + *pos, ':', t->value_len - *pos);
	size_t e = colon != NULL ? (size_t)(colon - t->value) : t->value_len;
	size_t a = *pos, z = e;
	while (a < z && is_fws(t->value[a]))
		a++;
	while (z > a && is_fws(t->value[z - 1]))
		z--;
	*item_r = t->value + a;
	*len_r = z - a;
	*pos = e + 1;
	return true;
}

bool dkim_list_has(const struct dkim_tag *t, const char *word)
{
	size_t pos = 0, len, wl = strlen(word);
	const char *item;
	while (dkim_list_next(t, &pos, &item, &len))
		if (len == wl && strncasecmp(item, word, wl) == 0)
			return true;
	return false;
}

const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_POLICY: return "policy";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "?";
}

const char *dkim_algo_name(enum dkim_algo a)
{
	switch (a) {
	case DKIM_RSA_SHA256: return "rsa-sha256";
	case DKIM_RSA_SHA1: return "rsa-sha1";
	case DKIM_ED25519_SHA256: return "ed25519-sha256";
	}
	return "?";
}
