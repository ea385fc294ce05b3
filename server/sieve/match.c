/* Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and
 * match types (RFC 5228 2.7: :is, :contains, :matches; RFC 5231: :value,
 * :count). :matches captures its wildcards for match variables (RFC 5229
 * 3.2): earlier wildcards match as little as possible. The glob matcher
 * backtracks only to the last '*', so it runs in O(value * pattern) for any
 * pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sieve/sieve-internal.h"

static inline unsigned char fold(enum sv_cmp cmp, unsigned char c)
{
	if (cmp != SV_CMP_OCTET && c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	return c;
}

/* Length of the UTF-8 character at s (1 for an invalid byte). */
static size_t char_len(const char *s, size_t left)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

int sv_numeric_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	bool ainf = alen == 0 || a[0] < '0' || a[0] > '9';
	bool binf = blen == 0 || b[0] < '0' || b[0] > '9';
	if (ainf || binf)
		return ainf == binf ? 0 : ainf ? 1 : -1;
	size_t ad = 0, bd = 0;
	while (ad < alen && a[ad] >= '0' && a[ad] <= '9')
		ad++;
	while (bd < blen && b[bd] >= '0' && b[bd] <= '9')
		bd++;
	/* skip leading zeros, then the longer number is larger */
	size_t ai = 0, bi = 0;
	while (ai + 1 < ad && a[ai] == '0')
		ai++;
	while (bi + 1 < bd && b[bi] == '0')
		bi++;
	size_t an = ad - ai, bn = bd - bi;
	if (an != bn)
		return an < bn ? -1 : 1;
	int c = memcmp(a + ai, b + bi, an);
	return c < 0 ? -1 : c > 0 ? 1 : 0;
}

static int order(enum sv_cmp cmp, const char *a, size_t alen, const char *b, size_t blen)
{
	if (cmp == SV_CMP_NUMERIC)
		return sv_numeric_cmp(a, alen, b, blen);
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = fold(cmp, (unsigned char)a[i]);
		unsigned char y = fold(cmp, (unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

static bool rel_holds(enum sv_rel rel, int c)
{
	switch (rel) {
	case SV_REL_GT: return c > 0;
	case SV_REL_GE: return c >= 0;
	case SV_REL_LT: return c < 0;
	case SV_REL_LE: return c <= 0;
	case SV_REL_EQ: return c == 0;
	case SV_REL_NE: return c != 0;
	default: return false;
	}
}

static bool contains(enum sv_cmp cmp, const char *v, size_t vlen, const char *k, size_t klen)
{
	if (klen == 0)
		return true;
	if (klen > vlen)
		return false;
	unsigned char k0 = fold(cmp, (unsigned char)k[0]);
	for (size_t i = 0; i + klen <= vlen; i++) {
		if (fold(cmp, (unsigned char)v[i]) != k0)
			continue;
		size_t j = 1;
		while (j < klen && fold(cmp, (unsigned char)v[i + j]) == fold(cmp, (unsigned char)k[j]))
			j++;
		if (j == klen)
			return true;
	}
	return false;
}

/* A compiled pattern element. */
struct pel {
	char kind;           /* 'c' character, '?' one character, '*' any */
	unsigned char c;
	int cap;             /* wildcard number (1-based), for captures */
};

static bool glob(enum sv_cmp cmp, const char *v, size_t vlen, const char *k, size_t klen,
		 struct sv_caps *caps)
{
	/* Compile the pattern: escapes resolved. Patterns longer than the
	 * buffer fall back to a heap array. */
	struct pel stackp[256];
	struct pel *pat = klen <= 256 ? stackp : malloc(klen * sizeof(*pat));
	if (pat == NULL)
		return false;
	size_t plen = 0;
	int ncap = 0;
	for (size_t i = 0; i < klen; i++) {
		if (k[i] == '\\' && i + 1 < klen) {
			i++;
			pat[plen++] = (struct pel){ 'c', (unsigned char)k[i], 0 };
		} else if (k[i] == '*' || k[i] == '?') {
			/* a run of '*' is one '*' (same captures as its first) */
			if (k[i] == '*' && plen > 0 && pat[plen - 1].kind == '*') {
				ncap++;
				continue;
			}
			pat[plen++] = (struct pel){ k[i], 0, ++ncap };
		} else {
			pat[plen++] = (struct pel){ 'c', (unsigned char)k[i], 0 };
		}
	}
	size_t start[64] = { 0 }, end[64] = { 0 };
	size_t p = 0, x = 0;
	size_t star_p = SIZE_MAX, star_x = 0;
	bool ok = true;
	while (x < vlen) {
		if (p < plen && pat[p].kind == '?') {
			size_t n = char_len(v + x, vlen - x);
			if (pat[p].cap < 64) {
				start[pat[p].cap] = x;
				end[pat[p].cap] = x + n;
			}
			p++;
			x += n;
		} else if (p < plen && pat[p].kind == 'c' &&
			   fold(cmp, pat[p].c) == fold(cmp, (unsigned char)v[x])) {
			p++;
			x++;
		} else if (p < plen && pat[p].kind == '*') {
			star_p = p;
			star_x = x;
			if (pat[p].cap < 64)
				start[pat[p].cap] = end[pat[p].cap] = x;
			p++;
		} else if (star_p != SIZE_MAX) {
			star_x += char_len(v + star_x, vlen - star_x);
			x = star_x;
			p = star_p + 1;
			if (pat[star_p].cap < 64)
				end[pat[star_p].cap] = x;
		} else {
			ok = false;
			break;
		}
	}
	if (ok) {
		while (p < plen && pat[p].kind == '*') {
			if (pat[p].cap < 64)
				start[pat[p].cap] = end[pat[p].cap] = vlen;
			p++;
		}
		ok = p == plen;
	}
	/* the last star took everything up to where the rest matched */
	if (ok && caps != NULL) {
		caps->n = 0;
		caps->s[0] = v;
		caps->len[0] = vlen;
		caps->n = 1;
		for (int c = 1; c <= ncap && c < 10; c++) {
			caps->s[c] = v + start[c];
			caps->len[c] = end[c] >= start[c] ? end[c] - start[c] : 0;
			caps->n = (unsigned)c + 1;
		}
	}
	if (pat != stackp)
		free(pat);
	return ok;
}

bool sv_match(enum sv_cmp cmp, enum sv_match match, enum sv_rel rel, const char *value,
	      size_t vlen, const char *key, size_t klen, struct sv_caps *caps)
{
	switch (match) {
	case SV_MATCH_IS:
		return order(cmp, value, vlen, key, klen) == 0;
	case SV_MATCH_CONTAINS:
		return contains(cmp, value, vlen, key, klen);
	case SV_MATCH_MATCHES:
		return glob(cmp, value, vlen, key, klen, caps);
	case SV_MATCH_VALUE:
		return rel_holds(rel, order(cmp, value, vlen, key, klen));
	case SV_MATCH_COUNT:
		return false; /* see sv_match_count */
	}
	return false;
}

bool sv_match_count(enum sv_cmp cmp, enum sv_rel rel, uint64_t n, const char *key, size_t klen)
{
	char buf[24];
	int len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
	return rel_holds(rel, order(cmp, buf, (size_t)len, key, klen));
}
