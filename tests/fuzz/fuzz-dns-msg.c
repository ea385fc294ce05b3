/* libFuzzer target for the DNS reply parser (server/dns/dns-msg.c): the
 * first byte picks the type asked for, the rest is the reply. Whatever
 * the bytes, the answer is well formed: a status in range, records only
 * with DNS_ANSWER and then of the type asked, names of printable text.
 * Read on an exact-size copy, so ASan sees any read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT,
					       DNS_T_PTR };
	if (size < 1)
		return 0;
	enum dns_type t = types[data[0] % 5];
	uint8_t *msg = xmalloc(size - 1 ? size - 1 : 1);
	memcpy(msg, data + 1, size - 1);
	struct dns_answer *a = dns_msg_parse(msg, size - 1, "x.test", t);
	if (a->status > DNS_TEMPFAIL || (a->status == DNS_ANSWER) != (a->n > 0))
		abort();
	for (size_t i = 0; i < a->n; i++) {
		if (a->rr[i].type != t)
			abort();
		const char *s = t == DNS_T_MX ? a->rr[i].u.mx.host
			      : t == DNS_T_PTR ? a->rr[i].u.name : NULL;
		for (; s != NULL && *s; s++)
			if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
				abort();
	}
	struct dns_answer *d = dns_answer_dup(a);
	if (d->n != a->n)
		abort();
	dns_answer_free(&d);
	dns_answer_free(&a);
	free(msg);
	return 0;
}
