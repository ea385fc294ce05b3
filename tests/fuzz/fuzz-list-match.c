/* libFuzzer target for LIST pattern matching (server/imap/list-match.c):
 * the bit-parallel NFA must agree with a plain backtracking matcher (with
 * memo) on every pattern and name up to 64 bytes, and never fail on longer
 * ones. Input: one length byte, the pattern, then the name. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/list-match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX 64

struct ref {
	const char *p, *n;
	size_t plen, nlen;
	bool inbox;
	signed char memo[REF_MAX + 1][REF_MAX + 1];
};

static bool lit_eq(const struct ref *r, char pc, size_t ni)
{
	char nc = r->n[ni];
	return pc == nc || (r->inbox && ni < 5 && toupper((unsigned char)pc) == nc);
}

static bool ref_match(struct ref *r, size_t pi, size_t ni)
{
	if (r->memo[pi][ni] >= 0)
		return r->memo[pi][ni];
	bool ok;
	if (pi == r->plen) {
		ok = ni == r->nlen;
	} else if (r->p[pi] == '*' || r->p[pi] == '%') {
		ok = ref_match(r, pi + 1, ni);
		for (size_t k = ni; !ok && k < r->nlen; k++) {
			if (r->p[pi] == '%' && r->n[k] == '/')
				break;
			ok = ref_match(r, pi + 1, k + 1);
		}
	} else {
		ok = ni < r->nlen && lit_eq(r, r->p[pi], ni) && ref_match(r, pi + 1, ni + 1);
	}
	r->memo[pi][ni] = ok;
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t plen = data[0] % (size < 256 ? size : 256);
	char *pattern = xstrndup((const char *)data + 1, plen);
	char *name = xstrndup((const char *)data + 1 + plen, size - 1 - plen);
	struct imap_match *m = imap_match_compile(pattern);
	bool got = imap_match(m, name);
	imap_match_free(&m);
	struct ref *r = xmalloc(sizeof(*r));
	r->p = pattern;
	r->n = name;
	r->plen = strlen(pattern);
	r->nlen = strlen(name);
	r->inbox = strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/');
	if (r->plen <= REF_MAX && r->nlen <= REF_MAX) {
		memset(r->memo, -1, sizeof(r->memo));
		if (ref_match(r, 0, 0) != got)
			abort();
	}
	free(r);
	free(pattern);
	free(name);
	return 0;
}
