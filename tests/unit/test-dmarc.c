/* Unit tests of DMARC (server/mailauth/dmarc*.c): organizational domains
 * from a small Public Suffix List (wildcards, exceptions, the default
 * rule) and from Debian's list, the record grammar, the Author Domains of
 * From: fields (none, one, several addresses, several fields, groups,
 * broken addresses), and a table of evaluations against a fake zone:
 * aligned and unaligned SPF and DKIM, strict and relaxed, the subdomain
 * policy, pct sampling, the organizational fallback, missing, invalid and
 * duplicate records and DNS failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/mailauth/dmarc.h"
#include "server/mailauth/hdr-block.h"
#include "tests/support/fake-dns.h"

static const char psl_text[] =
	"// a comment\n"
	"com\n"
	"uk\nco.uk\n"
	"*.ck\n!www.ck\n"
	"jp\n*.kawasaki.jp\n!city.kawasaki.jp\n"
	"// ===BEGIN PRIVATE DOMAINS===\n"
	"blogspot.com\n";

static void test_org_domain(void **state)
{
	(void)state;
	struct dmarc_psl *psl = dmarc_psl_from_text(psl_text, sizeof(psl_text) - 1);
	static const char *const cases[][2] = {
		{ "mail.example.com", "example.com" }, { "Example.COM.", "example.com" },
		{ "com", "com" }, { "a.b.example.co.uk", "example.co.uk" }, { "co.uk", "co.uk" },
		{ "x.y.ck", "x.y.ck" }, { "a.x.y.ck", "x.y.ck" }, { "www.ck", "www.ck" },
		{ "a.www.ck", "www.ck" }, { "host.unknown-tld", "host.unknown-tld" },
		{ "a.b.unknown-tld", "b.unknown-tld" },
		{ "a.city.kawasaki.jp", "city.kawasaki.jp" }, { "a.b.kawasaki.jp", "a.b.kawasaki.jp" },
		{ "me.blogspot.com", "me.blogspot.com" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *org = dmarc_org_domain(psl, cases[i][0]);
		if (strcmp(org, cases[i][1]) != 0)
			fail_msg("%s -> %s, want %s", cases[i][0], org, cases[i][1]);
		free(org);
	}
	dmarc_psl_free(&psl);

	/* Debian's list (conf/install-deps.sh installs publicsuffix) */
	char *err = NULL;
	assert_int_equal(dmarc_psl_load("/usr/share/publicsuffix/public_suffix_list.dat", &psl,
					&err), 0);
	assert_true(dmarc_psl_rules(psl) > 5000);
	char *org = dmarc_org_domain(psl, "news.bbc.co.uk");
	assert_string_equal(org, "bbc.co.uk");
	free(org);
	org = dmarc_org_domain(psl, "mail.sub.example.org");
	assert_string_equal(org, "example.org");
	free(org);
	dmarc_psl_free(&psl);
	assert_int_not_equal(dmarc_psl_load("/nonexistent/psl.dat", &psl, &err), 0);
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));
	free(err);
}

static void test_record(void **state)
{
	(void)state;
	struct dmarc_record r;
	const char *why;
	const char *s = "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=25; "
			"rua=mailto:d@example.com; fo=1";
	assert_true(dmarc_is_record(s, strlen(s)));
	assert_int_equal(dmarc_record_parse(s, strlen(s), &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_QUARANTINE);
	assert_int_equal(r.sp, DMARC_P_REJECT);
	assert_true(r.strict_dkim);
	assert_false(r.strict_spf);
	assert_int_equal(r.pct, 25);
	assert_true(r.has_rua);
	s = "v=DMARC1;p=reject";
	assert_int_equal(dmarc_record_parse(s, strlen(s), &r, &why), 0);
	assert_int_equal(r.sp, DMARC_P_REJECT);   /* sp defaults to p */
	assert_int_equal(r.pct, 100);
	/* bad values of other tags fall back to their defaults */
	s = "v=DMARC1; p=none; pct=150; adkim=x";
	assert_int_equal(dmarc_record_parse(s, strlen(s), &r, &why), 0);
	assert_int_equal(r.pct, 100);
	assert_false(r.strict_dkim);
	/* no valid p= but a valid rua=: p=none (RFC 7489 6.6.3) */
	s = "v=DMARC1; p=bogus; rua=mailto:x@example.com";
	assert_int_equal(dmarc_record_parse(s, strlen(s), &r, &why), 0);
	assert_int_equal(r.p, DMARC_P_NONE);
	static const char *const bad[] = { "v=DMARC1", "v=DMARC1; p=bogus", "v=dmarc1; p=none",
					   "p=none; v=DMARC1", "v=DMARC1; p=none; p=reject",
					   "v=DMARC1; sp=nope; p=reject" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dmarc_record_parse(bad[i], strlen(bad[i]), &r, &why) == 0)
			fail_msg("%s parsed", bad[i]);
	assert_false(dmarc_is_record("v=DMARC10; p=none", 17));
	assert_true(dmarc_is_record("v = DMARC1 ; p=none", 19));
}

static void from_of(const char *header, struct dmarc_from *f)
{
	struct hdr_block *h = hdr_block_new(65536);
	bool done;
	hdr_block_feed(h, header, strlen(header), &done);
	assert_true(done);
	dmarc_from_domains(h, f);
	hdr_block_free(&h);
}

static void test_author_domains(void **state)
{
	(void)state;
	struct dmarc_from f;
	from_of("To: x@y.test\r\n\r\n", &f);
	assert_int_equal(f.fields, 0);
	assert_int_equal(f.n, 0);
	from_of("From: \"Joe (x@evil.test)\" <Joe@Example.COM>\r\n\r\n", &f);
	assert_int_equal(f.fields, 1);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.domains[0], "example.com");
	assert_false(f.invalid);
	dmarc_from_free(&f);
	from_of("From: a@one.test, b@two.test,\r\n c@ONE.test\r\n\r\n", &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.domains[1], "two.test");
	dmarc_from_free(&f);
	from_of("From: a@one.test\r\nSubject: x\r\nfrom: b@three.test\r\n\r\n", &f);
	assert_int_equal(f.fields, 2);
	assert_int_equal(f.n, 2);
	dmarc_from_free(&f);
	from_of("From: friends: a@g.test, b@g.test;\r\n\r\n", &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.domains[0], "g.test");
	dmarc_from_free(&f);
	from_of("From: undisclosed\r\n\r\n", &f);
	assert_int_equal(f.n, 0);
	assert_true(f.invalid);
	/* an unterminated comment: no valid domain (never legitimate.com) */
	from_of("From: a@legitimate.com(.attacker.com\r\n\r\n", &f);
	assert_true(f.invalid);
	for (size_t i = 0; i < f.n; i++)
		assert_string_not_equal(f.domains[i], "legitimate.com");
	dmarc_from_free(&f);
	from_of("From: a@legitimate.com (a comment)\r\n\r\n", &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.domains[0], "legitimate.com");
	dmarc_from_free(&f);
}

/* ---- evaluation ---- */

struct dcase {
	const char *name;
	const char *from;
	bool spf_pass;
	const char *spf_domain;
	const char *dkim;          /* passing d= or NULL */
	unsigned sample;
	enum dmarc_status status;
	enum dmarc_policy policy, applied;
};

static void test_evaluation_table(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	fake_txt_str(&z, "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine");
	fake_txt_str(&z, "_dmarc.example.com", "some other text");
	fake_txt_str(&z, "_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s");
	fake_txt_str(&z, "_dmarc.pct.test", "v=DMARC1; p=reject; pct=30");
	fake_txt_str(&z, "_dmarc.q.test", "v=DMARC1; p=quarantine; pct=30");
	fake_txt_str(&z, "_dmarc.own.example.com", "v=DMARC1; p=none");
	fake_txt_str(&z, "_dmarc.two.test", "v=DMARC1; p=none");
	fake_txt_str(&z, "_dmarc.two.test", "v=DMARC1; p=reject");
	fake_txt_str(&z, "_dmarc.broken.test", "v=DMARC1; p=maybe");
	fake_timeout(&z, "_dmarc.slow.test", DNS_T_TXT);
	struct dmarc_psl *psl = dmarc_psl_from_text(psl_text, sizeof(psl_text) - 1);
	const struct dcase cases[] = {
		{ "dkim aligned exactly", "example.com", false, NULL, "example.com", 0,
		  DMARC_PASS, DMARC_P_REJECT, DMARC_P_NONE },
		{ "dkim aligned relaxed", "example.com", false, NULL, "mail.example.com", 0,
		  DMARC_PASS, DMARC_P_REJECT, DMARC_P_NONE },
		{ "spf aligned relaxed", "example.com", true, "bounce.example.com", NULL, 0,
		  DMARC_PASS, DMARC_P_REJECT, DMARC_P_NONE },
		{ "spf passes but unaligned", "example.com", true, "mailer.test", NULL, 0,
		  DMARC_FAIL, DMARC_P_REJECT, DMARC_P_REJECT },
		{ "dkim passes but unaligned", "example.com", false, NULL, "example.net", 0,
		  DMARC_FAIL, DMARC_P_REJECT, DMARC_P_REJECT },
		{ "subdomain gets sp", "news.example.com", false, NULL, NULL, 0,
		  DMARC_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE },
		{ "subdomain with its own record gets its p", "own.example.com", false, NULL, NULL,
		  0, DMARC_FAIL, DMARC_P_NONE, DMARC_P_NONE },
		{ "strict dkim: a subdomain is not aligned", "strict.test", false, NULL,
		  "a.strict.test", 0, DMARC_FAIL, DMARC_P_REJECT, DMARC_P_REJECT },
		{ "strict spf: exact name aligned", "strict.test", true, "strict.test", NULL, 0,
		  DMARC_PASS, DMARC_P_REJECT, DMARC_P_NONE },
		{ "pct: sampled in", "pct.test", false, NULL, NULL, 29,
		  DMARC_FAIL, DMARC_P_REJECT, DMARC_P_REJECT },
		{ "pct: sampled out, reject becomes quarantine", "pct.test", false, NULL, NULL, 30,
		  DMARC_FAIL, DMARC_P_REJECT, DMARC_P_QUARANTINE },
		{ "pct: sampled out, quarantine becomes none", "q.test", false, NULL, NULL, 99,
		  DMARC_FAIL, DMARC_P_QUARANTINE, DMARC_P_NONE },
		{ "missing record", "nothing.test", false, NULL, NULL, 0,
		  DMARC_NONE, DMARC_P_NONE, DMARC_P_NONE },
		{ "two records", "two.test", false, NULL, NULL, 0,
		  DMARC_PERMERROR, DMARC_P_NONE, DMARC_P_NONE },
		{ "invalid record", "broken.test", false, NULL, NULL, 0,
		  DMARC_PERMERROR, DMARC_P_NONE, DMARC_P_NONE },
		{ "record lookup times out", "slow.test", false, NULL, NULL, 0,
		  DMARC_TEMPERROR, DMARC_P_NONE, DMARC_P_NONE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct dmarc_eval *e = dmarc_eval_new(psl, c->from);
		const char *name;
		unsigned queries = 0;
		while (dmarc_eval_query(e, &name)) {
			struct dns_answer *a = fake_lookup(&z, name, DNS_T_TXT);
			dmarc_eval_answer(e, a);
			dns_answer_free(&a);
			assert_true(++queries <= 2);
		}
		const char *dkim[1] = { c->dkim };
		struct dmarc_auth auth = { c->spf_pass, c->spf_domain, dkim, c->dkim ? 1 : 0 };
		dmarc_eval_decide(e, &auth, c->sample);
		const struct dmarc_result *r = dmarc_eval_result(e);
		if (r->status != c->status || r->policy != c->policy || r->applied != c->applied)
			fail_msg("%s: %s p=%s applied=%s (%s), want %s p=%s applied=%s", c->name,
				 dmarc_status_name(r->status), dmarc_policy_name(r->policy),
				 dmarc_policy_name(r->applied), r->why ? r->why : "",
				 dmarc_status_name(c->status), dmarc_policy_name(c->policy),
				 dmarc_policy_name(c->applied));
		dmarc_eval_free(&e);
	}
	/* an abort while waiting is a temperror */
	struct dmarc_eval *e = dmarc_eval_new(psl, "example.com");
	const char *name;
	assert_true(dmarc_eval_query(e, &name));
	assert_string_equal(name, "_dmarc.example.com");
	dmarc_eval_abort(e);
	assert_false(dmarc_eval_query(e, &name));
	assert_int_equal(dmarc_eval_result(e)->status, DMARC_TEMPERROR);
	dmarc_eval_free(&e);
	dmarc_psl_free(&psl);
	fake_zone_clear(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_author_domains),
		cmocka_unit_test(test_evaluation_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
