/* Runs SPF test cases against Loft's check_host() (server/mailauth/spf.h)
 * with the zone data served by the fake resolver (tests/support/fake-dns.h).
 * tests/conformance/test_spf_suite.py turns the RFC 7208 suite's YAML into
 * lines on stdin, every text field "x" + hex:
 *   R                                   new scenario: empty zone
 *   Z <name> <TYPE> <value>             TXT (hex strings joined by ','),
 *                                       A, AAAA, PTR, CNAME, or MX <pref> <host>
 *   T <name> [TYPE]                     a TIMEOUT entry (bare, or for TYPE)
 *   C <id> <host> <mailfrom> <helo>     evaluate; prints
 *                                       "<id> <result> <explanation>" (tabs)
 * A fail without exp= prints the explanation "DEFAULT" (pyspf's driver). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/mailauth/spf.h"
#include "tests/support/fake-dns.h"

static char *unhex(const char *s, size_t *len_r)
{
	if (*s == 'x')
		s++;   /* every field begins with x, so none is empty */
	size_t n = strlen(s) / 2;
	char *out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (char)v;
	}
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return out;
}

static int type_of(const char *t)
{
	static const struct { const char *n; int t; } m[] = {
		{ "TXT", DNS_T_TXT }, { "A", DNS_T_A }, { "AAAA", DNS_T_AAAA },
		{ "MX", DNS_T_MX }, { "PTR", DNS_T_PTR }, { "CNAME", DNS_T_CNAME },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(m[i].n, t) == 0)
			return m[i].t;
	fprintf(stderr, "spf-suite: unknown type %s\n", t);
	exit(2);
}

static void add_record(struct fake_zone *z, char **f, int nf)
{
	char *name = unhex(f[1], NULL);
	int type = type_of(f[2]);
	if (type == DNS_T_TXT) {
		char buf[70000];
		size_t len = 0;
		char *save = NULL;
		for (char *part = strtok_r(nf > 3 ? f[3] : (char *)"", ",", &save); part != NULL;
		     part = strtok_r(NULL, ",", &save)) {
			size_t pl;
			char *p = unhex(part, &pl);
			if (len + pl > sizeof(buf))
				abort();
			memcpy(buf + len, p, pl);
			len += pl;
			free(p);
		}
		fake_txt(z, name, buf, len);
	} else if (type == DNS_T_MX) {
		char *host = unhex(f[4], NULL);
		fake_mx(z, name, (unsigned)atoi(f[3]), host);
		free(host);
	} else {
		char *v = unhex(f[3], NULL);
		if (type == DNS_T_A || type == DNS_T_AAAA)
			fake_addr(z, name, v);
		else
			fake_name(z, name, type, v);
		free(v);
	}
	free(name);
}

static void run_case(struct fake_zone *z, char **f)
{
	char *host = unhex(f[2], NULL), *from = unhex(f[3], NULL), *helo = unhex(f[4], NULL);
	struct spf_params p = {
		.ip = host,
		.mail_from = from,
		.helo = helo,
		.receiver = "receiver.example.net",
		.lookup_limit = 10,
		.void_limit = 2,
		.now = 1400000000,
	};
	struct spf_eval *e = spf_eval_new(&p);
	const char *qname;
	enum dns_type qtype;
	unsigned steps = 0;
	while (spf_eval_step(e, &qname, &qtype) == SPF_STEP_QUERY) {
		struct dns_answer *a = fake_lookup(z, qname, qtype);
		spf_eval_answer(e, a);
		dns_answer_free(&a);
		if (++steps > 1000) {
			fprintf(stderr, "spf-suite: %s does not end\n", f[1]);
			exit(3);
		}
	}
	enum spf_result r = spf_eval_result(e);
	const char *exp = spf_eval_explanation(e);
	if (exp == NULL)
		exp = r == SPF_FAIL ? "DEFAULT" : "";
	printf("%s\t%s\t%s\t%s\n", f[1], spf_result_name(r), exp, spf_eval_reason(e));
	spf_eval_free(&e);
	free(host);
	free(from);
	free(helo);
}

int main(void)
{
	struct fake_zone z = { 0 };
	char line[300000];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char *f[8] = { 0 };
		int nf = 0;
		char *save = NULL;
		for (char *t = strtok_r(line, "\t", &save); t != NULL && nf < 8;
		     t = strtok_r(NULL, "\t", &save))
			f[nf++] = t;
		if (nf == 0)
			continue;
		if (strcmp(f[0], "R") == 0) {
			fake_zone_clear(&z);
		} else if (strcmp(f[0], "Z") == 0 && nf >= 3) {
			add_record(&z, f, nf);
		} else if (strcmp(f[0], "T") == 0 && nf >= 2) {
			char *name = unhex(f[1], NULL);
			fake_timeout(&z, name, nf >= 3 ? type_of(f[2]) : FAKE_TIMEOUT_ALL);
			free(name);
		} else if (strcmp(f[0], "C") == 0 && nf >= 5) {
			run_case(&z, f);
		} else {
			fprintf(stderr, "spf-suite: bad line %s\n", f[0]);
			return 2;
		}
		fflush(stdout);
	}
	fake_zone_clear(&z);
	return 0;
}
