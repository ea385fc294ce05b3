/* libFuzzer target for the IMAP response writer (server/imap/reply.c):
 * whatever bytes a string holds, what imap_resp_string/astring/nstring
 * write must read back, by the RFC 9051 grammar, as exactly those bytes
 * (minus NULs, which no IMAP string can carry): an atom of ASTRING-CHARs,
 * a quoted string of allowed characters with \" and \\ escapes, or a
 * literal with the right length. Input: one flags byte, then the string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse one string form at p (len bytes); returns the decoded heap bytes
 * and their length, or aborts on anything the grammar does not allow. */
static char *read_back(const struct imap_resp *r, const char *p, size_t len, bool atom_ok,
		       size_t *out_len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	if (len > 0 && p[0] == '"') {
		size_t i = 1;
		for (; i < len && p[i] != '"'; i++) {
			unsigned char ch = (unsigned char)p[i];
			if (ch == '\\') {
				i++;
				if (i >= len || (p[i] != '"' && p[i] != '\\'))
					abort();
				out[n++] = p[i];
				continue;
			}
			if (ch == '\r' || ch == '\n' || ch == 0 || (ch >= 0x80 && !r->utf8))
				abort();
			out[n++] = (char)ch;
		}
		if (i != len - 1)
			abort();
		if (!imap_utf8_valid(out, n) && r->utf8)
			abort();
	} else if (len > 0 && p[0] == '{') {
		char *end;
		unsigned long k = strtoul(p + 1, &end, 10);
		if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
			abort();
		size_t head = (size_t)(end + 3 - p);
		if (head + k != len)
			abort();
		memcpy(out, p + head, k);
		n = k;
		if (memchr(out, 0, n) != NULL)
			abort();
	} else {
		if (!atom_ok || len == 0)
			abort();
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)p[i];
			if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\", ch) != NULL)
				abort();
		}
		memcpy(out, p, len);
		n = len;
	}
	*out_len = n;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool utf8 = data[0] & 1, atom = data[0] & 2;
	const char *s = (const char *)data + 1;
	size_t len = size - 1;
	char *want = xmalloc(len + 1);
	size_t wn = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\0')
			want[wn++] = s[i];
	struct imap_resp r;
	imap_resp_init(&r, utf8);
	if (atom)
		imap_resp_astring(&r, s, len);
	else
		imap_resp_string(&r, s, len);
	size_t got_len;
	char *got = read_back(&r, r.data != NULL ? r.data : "", r.len, atom, &got_len);
	if (got_len != wn || memcmp(got, want, wn) != 0)
		abort();
	if (atom && wn == 3 && r.data[0] != '"' && memcmp(r.data, "NIL", 3) == 0)
		abort();
	free(got);
	free(want);
	imap_resp_free(&r);
	return 0;
}
