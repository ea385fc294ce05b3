/* libFuzzer target for the SPF record parser and macro expander
 * (server/mailauth/spf-record.c, spf-macro.c) and check_host() running on
 * what they produce: the input is a TXT record. A record that parses must
 * hold only valid domain-specs, whose expansion never fails and never
 * yields a target name over 253 octets that could have been cut; then the
 * record is evaluated with a fake zone answering every TXT question with
 * the input itself (includes and redirects loop into it), every A and MX
 * question with a record: the evaluation must end within the lookup
 * limits. Read on an exact-size copy, so ASan sees any read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/spf.h"
#include "tests/support/fake-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_answer *answer(const char *txt, size_t len, const char *name,
				 enum dns_type t)
{
	struct dns_rr rr;
	memset(&rr, 0, sizeof(rr));
	rr.type = t;
	switch (t) {
	case DNS_T_TXT:
		rr.u.txt.data = txt;
		rr.u.txt.len = len;
		break;
	case DNS_T_A:
		rr.u.a[0] = 192, rr.u.a[1] = 0, rr.u.a[2] = 2, rr.u.a[3] = (uint8_t)strlen(name);
		break;
	case DNS_T_MX:
		rr.u.mx.host = "mx.fuzz.test";
		break;
	case DNS_T_PTR:
		rr.u.name = "ptr.fuzz.test";
		break;
	default:
		return dns_answer_status(DNS_NODATA, t, NULL);
	}
	return dns_answer_make(DNS_ANSWER, t, 60, NULL, &rr, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = xmalloc(size ? size : 1);
	memcpy(txt, data, size);
	bool is = spf_is_record(txt, size);
	struct spf_record *rec = NULL;
	const char *why = NULL;
	int e = spf_record_parse(txt, size, &rec, &why);
	if ((e == 0) != (rec != NULL) || (e != 0 && why == NULL) || (e == 0 && !is))
		abort();
	if (rec != NULL) {
		struct spf_ip ip;
		spf_ip_parse("192.0.2.1", &ip);
		struct spf_macro_ctx c = { "a.b@fuzz.test", "a.b", "fuzz.test", "fuzz.test", &ip,
					   "helo.fuzz.test", "r.test", NULL, 1 };
		for (size_t i = 0; i < rec->n; i++) {
			const char *s = rec->terms[i].domain_spec;
			if (s == NULL)
				continue;
			if (!spf_domain_spec_valid(s, strlen(s)))
				abort();
			char *x = spf_macro_expand(s, &c, false, true);
			if (x == NULL)
				abort();
			if (strlen(x) > 253 && strchr(x, '.') != NULL &&
			    strchr(x, '.') - x + 1 < (long)strlen(x) - 253)
				abort();
			free(x);
		}
		spf_record_free(&rec);
	}
	struct spf_params p = { .ip = "192.0.2.1", .mail_from = "user@fuzz.test",
				.helo = "helo.fuzz.test", .receiver = "r.test",
				.lookup_limit = 10, .void_limit = 2, .now = 1 };
	struct spf_eval *ev = spf_eval_new(&p);
	const char *name;
	enum dns_type t;
	unsigned steps = 0;
	while (spf_eval_step(ev, &name, &t) == SPF_STEP_QUERY) {
		struct dns_answer *a = answer(txt, size, name, t);
		spf_eval_answer(ev, a);
		dns_answer_free(&a);
		if (++steps > 400)
			abort();   /* 10 terms, 10 MX hosts, 10 PTR names, exp */
	}
	if (spf_eval_result(ev) > SPF_PERMERROR)
		abort();
	spf_eval_free(&ev);
	free(txt);
	return 0;
}
