/* LIST patterns (see list-match.h). A pattern compiles to tokens: literal
 * bytes, STAR and PCT, with runs of wildcards collapsed ("*%" is "*", "%%"
 * is "%"). NFA state i means "tokens before i matched"; the set of live
 * states is a bitset stepped once per name byte. */
#include "server/imap/list-match.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "storage/mailbox-name.h"

#define INBOX_LEN 5

struct imap_match {
	size_t n_tokens;
	size_t words;                /* uint64_t words per state set */
	bool never;                  /* cannot match any valid name */
	bool ends_pct;               /* the pattern's last byte is '%' */
	uint64_t *star, *pct;        /* states whose token is * / % */
	uint64_t *lit[256];          /* states whose token is that byte; NULL: none */
	uint64_t *mem;               /* one allocation behind all sets */
};

static void bit_set(uint64_t *set, size_t i)
{
	set[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool bit_get(const uint64_t *set, size_t i)
{
	return (set[i / 64] >> (i % 64)) & 1;
}

struct imap_match *imap_match_compile(const char *pattern)
{
	struct imap_match *m = xcalloc(1, sizeof(*m));
	size_t len = strlen(pattern);
	m->ends_pct = len > 0 && pattern[len - 1] == '%';
	/* tokens: 0 = literal (byte in lits[]), 1 = star, 2 = pct */
	unsigned char *kind = xmalloc(len + 1), *lits = xmalloc(len + 1);
	size_t n = 0, literals = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)pattern[i];
		if (ch == '*' || ch == '%') {
			unsigned char k = ch == '*' ? 1 : 2;
			if (n > 0 && kind[n - 1] != 0) {
				if (k == 1)
					kind[n - 1] = 1;
				continue;
			}
			kind[n++] = k;
		} else {
			kind[n] = 0;
			lits[n++] = ch;
			literals++;
		}
	}
	if (literals > MAILBOX_NAME_MAX) {
		m->never = true;
		free(kind);
		free(lits);
		return m;
	}
	m->n_tokens = n;
	m->words = (n + 1 + 63) / 64;
	/* star, pct, and one set per distinct literal byte */
	size_t distinct = 0;
	bool seen[256] = { false };
	for (size_t i = 0; i < n; i++)
		if (kind[i] == 0 && !seen[lits[i]]) {
			seen[lits[i]] = true;
			distinct++;
		}
	m->mem = xcalloc((2 + distinct) * m->words, sizeof(uint64_t));
	m->star = m->mem;
	m->pct = m->mem + m->words;
	uint64_t *next = m->mem + 2 * m->words;
	for (size_t i = 0; i < n; i++) {
		if (kind[i] == 1) {
			bit_set(m->star, i);
		} else if (kind[i] == 2) {
			bit_set(m->pct, i);
		} else {
			if (m->lit[lits[i]] == NULL) {
				m->lit[lits[i]] = next;
				next += m->words;
			}
			bit_set(m->lit[lits[i]], i);
		}
	}
	free(kind);
	free(lits);
	return m;
}

void imap_match_free(struct imap_match **mp)
{
	struct imap_match *m = *mp;
	if (m == NULL)
		return;
	*mp = NULL;
	free(m->mem);
	free(m);
}

/* set |= (set & wild) << 1: a wildcard may match nothing. Wildcards never
 * follow each other after compiling, so one shift closes the set. */
static void closure(uint64_t *set, const uint64_t *star, const uint64_t *pct, size_t words)
{
	uint64_t carry = 0;
	for (size_t w = 0; w < words; w++) {
		uint64_t x = set[w] & (star[w] | pct[w]);
		uint64_t out = (x << 1) | carry;
		carry = x >> 63;
		set[w] |= out;
	}
}

static bool name_has_inbox(const char *name)
{
	return strncmp(name, "INBOX", INBOX_LEN) == 0 &&
	       (name[INBOX_LEN] == '\0' || name[INBOX_LEN] == '/');
}

bool imap_match(const struct imap_match *m, const char *name)
{
	if (m->never)
		return false;
	size_t words = m->words;
	uint64_t stack[2 * 8];
	uint64_t *cur = words <= 8 ? stack : xmalloc(2 * words * sizeof(uint64_t));
	uint64_t *nxt = cur + words;
	memset(cur, 0, words * sizeof(uint64_t));
	cur[0] = 1;
	closure(cur, m->star, m->pct, words);
	bool inbox = name_has_inbox(name);
	bool alive = true;
	for (size_t i = 0; name[i] != '\0' && alive; i++) {
		unsigned char ch = (unsigned char)name[i];
		const uint64_t *lit = m->lit[ch];
		const uint64_t *alt = NULL;
		if (inbox && i < INBOX_LEN) {
			unsigned char lower = (unsigned char)(ch - 'A' + 'a');
			alt = m->lit[lower];
		}
		uint64_t carry = 0;
		alive = false;
		for (size_t w = 0; w < words; w++) {
			uint64_t lits = 0;
			if (lit != NULL)
				lits |= lit[w];
			if (alt != NULL)
				lits |= alt[w];
			uint64_t step = cur[w] & lits;
			uint64_t stay = cur[w] & (m->star[w] | (ch != '/' ? m->pct[w] : 0));
			nxt[w] = (step << 1) | carry | stay;
			carry = step >> 63;
			alive |= nxt[w] != 0;
		}
		closure(nxt, m->star, m->pct, words);
		uint64_t *t = cur;
		cur = nxt;
		nxt = t;
	}
	bool ok = alive && bit_get(cur, m->n_tokens);
	if (words > 8)
		free(cur < nxt ? cur : nxt);
	return ok;
}

bool imap_match_ends_pct(const struct imap_match *m)
{
	return m->ends_pct;
}

char *imap_match_canonical(const char *reference, const char *pattern)
{
	char *p = xasprintf("%s%s", reference, pattern);
	if (strncasecmp(p, "INBOX", INBOX_LEN) == 0 &&
	    (p[INBOX_LEN] == '\0' || p[INBOX_LEN] == '/'))
		memcpy(p, "INBOX", INBOX_LEN);
	return p;
}
