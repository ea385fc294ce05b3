/* i;unicode-casemap (RFC 5051): table look-up of each code point's mapped
 * form (casemap-data.c), Hangul syllables by the Unicode algorithm, ASCII
 * on a fast path. See casemap.h for the rules and their limits. */
#include "lib/casemap.h"

#include <stdlib.h>
#include <string.h>

#include "lib/casemap-data.h"
#include "lib/utf8.h"
#include "lib/xmem.h"

#define HANGUL_S 0xAC00u
#define HANGUL_L 0x1100u
#define HANGUL_V 0x1161u
#define HANGUL_T 0x11A7u
#define HANGUL_N_T 28u
#define HANGUL_N_V 21u
#define HANGUL_COUNT 11172u

void casemap_buf_free(struct casemap_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static char *reserve(struct casemap_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap - b->len < n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

static void put_cp(struct casemap_buf *b, uint32_t cp)
{
	char *p = reserve(b, 4);
	b->len += utf8_encode(p, cp);
}

void casemap_cp(uint32_t cp, struct casemap_buf *out)
{
	if (cp < 0x80) {
		char *p = reserve(out, 1);
		*p = (char)(cp >= 'a' && cp <= 'z' ? cp - 32 : cp);
		out->len++;
		return;
	}
	if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_COUNT) {
		uint32_t s = cp - HANGUL_S;
		put_cp(out, HANGUL_L + s / (HANGUL_N_V * HANGUL_N_T));
		put_cp(out, HANGUL_V + (s % (HANGUL_N_V * HANGUL_N_T)) / HANGUL_N_T);
		if (s % HANGUL_N_T != 0)
			put_cp(out, HANGUL_T + s % HANGUL_N_T);
		return;
	}
	size_t lo = 0, hi = casemap_n_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (casemap_entries[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < casemap_n_entries && casemap_entries[lo].cp == cp) {
		const struct casemap_entry *e = &casemap_entries[lo];
		memcpy(reserve(out, e->len), casemap_pool + e->off, e->len);
		out->len += e->len;
		return;
	}
	put_cp(out, cp);
}

/* Length of the UTF-8 sequence a lead byte announces (0: not a lead). */
static size_t seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Map the complete sequences of in[0..len); returns how many bytes at the
 * end form an unfinished (but so far valid) sequence. */
static size_t map_run(const unsigned char *in, size_t len, struct casemap_buf *out, bool final)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = in[i];
		if (c < 0x80) {
			char *p = reserve(out, 1);
			*p = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
			out->len++;
			i++;
			continue;
		}
		size_t n = seq_len(c);
		if (n == 0) {
			put_cp(out, 0xFFFD);
			i++;
			continue;
		}
		if (len - i < n) {
			/* unfinished: valid so far? */
			bool ok = true;
			for (size_t k = i + 1; k < len; k++)
				if ((in[k] & 0xc0) != 0x80)
					ok = false;
			if (ok && !final)
				return len - i;
			put_cp(out, 0xFFFD);
			i++;
			continue;
		}
		unsigned char tmp[5] = { 0 };
		memcpy(tmp, in + i, n);
		uint32_t cp;
		size_t got = utf8_decode(tmp, &cp);
		if (got != n) {
			put_cp(out, 0xFFFD);
			i++;
			continue;
		}
		casemap_cp(cp, out);
		i += n;
	}
	return 0;
}

void casemap_utf8(const char *in, size_t len, struct casemap_buf *out)
{
	(void)map_run((const unsigned char *)in, len, out, true);
}

void casemap_stream_run(struct casemap_stream *st, const char *in, size_t len,
			struct casemap_buf *out)
{
	const unsigned char *u = (const unsigned char *)in;
	/* complete a held sequence first */
	while (st->n_hold > 0 && len > 0) {
		st->hold[st->n_hold++] = *u++;
		len--;
		size_t left = map_run(st->hold, st->n_hold, out, false);
		if (left == 0) {
			st->n_hold = 0;
			break;
		}
		if (left != st->n_hold) {
			memmove(st->hold, st->hold + st->n_hold - left, left);
			st->n_hold = left;
		}
	}
	if (len == 0)
		return;
	size_t left = map_run(u, len, out, false);
	memcpy(st->hold, u + len - left, left);
	st->n_hold = left;
}

void casemap_stream_finish(struct casemap_stream *st, struct casemap_buf *out)
{
	if (st->n_hold > 0)
		(void)map_run(st->hold, st->n_hold, out, true);
	st->n_hold = 0;
}

int casemap_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	struct casemap_buf x = { 0 }, y = { 0 };
	casemap_utf8(a, alen, &x);
	casemap_utf8(b, blen, &y);
	size_t n = x.len < y.len ? x.len : y.len;
	int r = n > 0 ? memcmp(x.data, y.data, n) : 0;
	if (r == 0)
		r = x.len < y.len ? -1 : x.len > y.len;
	casemap_buf_free(&x);
	casemap_buf_free(&y);
	return r;
}

const char *casemap_version(void)
{
	return casemap_unicode_version;
}
