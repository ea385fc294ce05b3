/* The DKIM-Signature field (RFC 6376 3.5, RFC 8463): its tags checked and
 * decoded into a struct dkim_sig, with the result RFC 8601 gives each
 * problem (6.1.1's checks): syntax errors are neutral; an i= outside d=
 * and an h= without From are permerror. Time checks (t=, x=) are the
 * verifier's, which knows the clock. Fuzzed. */
#include "server/mailauth/dkim.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/xmem.h"

#define MAX_SIG_BYTES 2048    /* a 16384-bit RSA signature */
#define MAX_H_FIELDS 256

void dkim_sig_free(struct dkim_sig **sp)
{
	struct dkim_sig *s = *sp;
	if (s == NULL)
		return;
	free(s->d);
	free(s->s);
	free(s->i);
	for (size_t k = 0; k < s->n_h; k++)
		free(s->h[k]);
	free(s->h);
	free(s->b);
	x_free(sp);
}

static bool eq(const struct dkim_tag *t, const char *lit)
{
	return t->value_len == strlen(lit) && strncasecmp(t->value, lit, t->value_len) == 0;
}

/* A domain or selector: labels of letters, digits, '-' and '_' (the
 * latter appears in selectors), separated by single dots. */
static bool name_ok(const char *s, size_t len, bool underscore)
{
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || (underscore && c == '_')) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static char *lower_dup(const char *s, size_t len)
{
	char *r = xstrndup(s, len);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static bool number(const struct dkim_tag *t, unsigned max_digits, uint64_t *out)
{
	if (t->value_len == 0 || t->value_len > max_digits)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < t->value_len; i++) {
		if (!isdigit((unsigned char)t->value[i]))
			return false;
		v = v * 10 + (uint64_t)(t->value[i] - '0');
	}
	*out = v;
	return true;
}

/* base64 with folding white space inside (RFC 6376 2.4). */
static long b64(const struct dkim_tag *t, uint8_t *out, size_t cap, char *first8)
{
	char *clean = xmalloc(t->value_len + 1);
	size_t n = 0;
	for (size_t i = 0; i < t->value_len; i++)
		if (!isspace((unsigned char)t->value[i]))
			clean[n++] = t->value[i];
	clean[n] = '\0';
	if (first8 != NULL) {
		size_t k = n < 8 ? n : 8;
		memcpy(first8, clean, k);
		first8[k] = '\0';
	}
	long r = n == 0 ? -1 : base64_decode(clean, n, out, cap, false);
	free(clean);
	return r;
}

static int bad(enum dkim_result r, const char *why, enum dkim_result *result_r,
	       const char **why_r)
{
	*result_r = r;
	*why_r = why;
	return LOFT_EINVAL;
}

int dkim_sig_parse(const char *value, size_t len, struct dkim_sig **sig_r,
		   enum dkim_result *result_r, const char **why_r)
{
	struct dkim_tag tags[DKIM_MAX_TAGS];
	size_t n;
	*sig_r = NULL;
	if (dkim_tags_parse(value, len, tags, DKIM_MAX_TAGS, &n) != 0)
		return bad(DKIM_NEUTRAL, "DKIM-Signature is not a valid tag list", result_r, why_r);
	static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (dkim_tag_get(tags, n, required[k]) == NULL)
			return bad(DKIM_NEUTRAL, "a required tag is missing", result_r, why_r);
	if (!eq(dkim_tag_get(tags, n, "v"), "1"))
		return bad(DKIM_NEUTRAL, "incompatible version (v= is not 1)", result_r, why_r);

	struct dkim_sig *s = xcalloc(1, sizeof(*s));
	enum dkim_result res = DKIM_NEUTRAL;
	const char *why = NULL;
	const struct dkim_tag *t = dkim_tag_get(tags, n, "a");
	if (eq(t, "rsa-sha256"))
		s->algo = DKIM_RSA_SHA256;
	else if (eq(t, "rsa-sha1"))
		s->algo = DKIM_RSA_SHA1;
	else if (eq(t, "ed25519-sha256"))
		s->algo = DKIM_ED25519_SHA256;
	else {
		why = "unsupported algorithm";
		goto fail;
	}

	s->hcanon = s->bcanon = DKIM_SIMPLE;
	if ((t = dkim_tag_get(tags, n, "c")) != NULL) {
		const char *slash = memchr(t->value, '/', t->value_len);
		size_t hl = slash != NULL ? (size_t)(slash - t->value) : t->value_len;
		struct dkim_tag part = *t;
		part.value_len = hl;
		if (eq(&part, "relaxed"))
			s->hcanon = DKIM_RELAXED;
		else if (!eq(&part, "simple")) {
			why = "unknown canonicalization";
			goto fail;
		}
		if (slash != NULL) {
			part.value = slash + 1;
			part.value_len = t->value_len - hl - 1;
			if (eq(&part, "relaxed"))
				s->bcanon = DKIM_RELAXED;
			else if (!eq(&part, "simple")) {
				why = "unknown canonicalization";
				goto fail;
			}
		}
	}

	t = dkim_tag_get(tags, n, "d");
	if (!name_ok(t->value, t->value_len, false)) {
		why = "d= is not a domain name";
		goto fail;
	}
	s->d = lower_dup(t->value, t->value_len);
	t = dkim_tag_get(tags, n, "s");
	if (!name_ok(t->value, t->value_len, true)) {
		why = "s= is not a selector";
		goto fail;
	}
	s->s = lower_dup(t->value, t->value_len);

	if ((t = dkim_tag_get(tags, n, "i")) != NULL) {
		const char *at = memchr(t->value, '@', t->value_len);
		if (at == NULL) {
			why = "i= has no @";
			goto fail;
		}
		size_t dl = t->value_len - (size_t)(at + 1 - t->value);
		if (!name_ok(at + 1, dl, false)) {
			why = "i= domain is not a domain name";
			goto fail;
		}
		size_t sl = strlen(s->d);
		const char *idom = at + 1;
		bool within = (dl == sl && strncasecmp(idom, s->d, sl) == 0) ||
			      (dl > sl && idom[dl - sl - 1] == '.' &&
			       strncasecmp(idom + dl - sl, s->d, sl) == 0);
		if (!within) {
			res = DKIM_PERMERROR;
			why = "i= is not within d= (RFC 6376 6.1.1)";
			goto fail;
		}
		s->i = xstrndup(t->value, t->value_len);
	} else {
		s->i = xasprintf("@%s", s->d);
	}

	t = dkim_tag_get(tags, n, "h");
	bool from = false;
	const char *item;
	size_t il, pos = 0;
	while (dkim_list_next(t, &pos, &item, &il)) {
		bool ok = il > 0 && s->n_h < MAX_H_FIELDS;
		for (size_t k = 0; k < il && ok; k++)
			ok = item[k] > ' ' && item[k] < 0x7f;
		if (!ok) {
			why = "invalid h= list";
			goto fail;
		}
		s->h = xrealloc(s->h, (s->n_h + 1) * sizeof(*s->h));
		s->h[s->n_h++] = xstrndup(item, il);
		if (il == 4 && strncasecmp(item, "from", 4) == 0)
			from = true;
	}
	if (!from) {
		res = DKIM_PERMERROR;
		why = "From is not signed (RFC 6376 5.4)";
		goto fail;
	}

	if ((t = dkim_tag_get(tags, n, "l")) != NULL) {
		if (!number(t, 19, &s->l)) {
			why = "invalid l=";
			goto fail;
		}
		s->has_l = true;
	}
	if ((t = dkim_tag_get(tags, n, "t")) != NULL) {
		if (!number(t, 12, &s->t)) {
			why = "invalid t=";
			goto fail;
		}
		s->has_t = true;
	}
	if ((t = dkim_tag_get(tags, n, "x")) != NULL) {
		if (!number(t, 12, &s->x)) {
			why = "invalid x=";
			goto fail;
		}
		s->has_x = true;
	}
	if (s->has_t && s->has_x && s->x < s->t) {
		why = "x= is before t=";
		goto fail;
	}
	if ((t = dkim_tag_get(tags, n, "q")) != NULL && !dkim_list_has(t, "dns/txt")) {
		why = "unsupported query method (q=)";
		goto fail;
	}

	t = dkim_tag_get(tags, n, "bh");
	long bl = b64(t, s->bh, sizeof(s->bh), NULL);
	if (bl <= 0) {
		why = "bh= is not base64";
		goto fail;
	}
	s->bh_len = (size_t)bl;
	t = dkim_tag_get(tags, n, "b");
	s->b = xmalloc(MAX_SIG_BYTES);
	bl = b64(t, s->b, MAX_SIG_BYTES, s->b_text);
	if (bl <= 0) {
		why = "b= is not base64";
		goto fail;
	}
	s->b_len = (size_t)bl;
	s->b_start = t->seg_start;
	s->b_end = t->seg_end;
	*sig_r = s;
	return 0;
fail:
	dkim_sig_free(&s);
	return bad(res, why, result_r, why_r);
}
