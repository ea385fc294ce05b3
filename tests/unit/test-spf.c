/* Unit tests of SPF (server/mailauth/spf*.c) beyond the RFC 7208 suite
 * (tests/conformance/): the macro examples of RFC 7208 7.4, the record
 * grammar (what parses, what is a permerror), and check_host() against a
 * fake zone for the limits (10 lookups, 2 void lookups, MX and PTR caps),
 * include and redirect loops, DNS timeouts, records of 64 KiB, the HELO
 * identity of a null reverse-path, %{p}, exp= and an aborted check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "server/mailauth/spf.h"
#include "tests/support/fake-dns.h"

/* ---- macros ---- */

static char *expand4(const char *s, bool uses_ip6)
{
	struct spf_ip ip;
	assert_int_equal(spf_ip_parse(uses_ip6 ? "2001:db8::cb01" : "192.0.2.3", &ip), 0);
	struct spf_macro_ctx c = {
		.sender = "strong-bad@email.example.com",
		.local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.ip = &ip,
		.helo = "mx.example.org",
		.receiver = "rcv.example.net",
		.p = NULL,
		.now = 1234,
	};
	return spf_macro_expand(s, &c, true, false);
}

static void test_macro_rfc_examples(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } v4[] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
		{ "%{S}", "strong-bad%40email.example.com" },
		{ "%%%_%-", "% %20" },
		{ "%{c} %{r} %{t} %{h} %{p}", "192.0.2.3 rcv.example.net 1234 mx.example.org unknown" },
	};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		char *r = expand4(v4[i].in, false);
		assert_non_null(r);
		if (strcmp(r, v4[i].out) != 0)
			fail_msg("%s -> %s, want %s", v4[i].in, r, v4[i].out);
		free(r);
	}
	char *r = expand4("%{ir}.%{v}._spf.%{d2}", true);
	assert_string_equal(r, "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"
			       ".ip6._spf.example.com");
	free(r);
	r = expand4("%{c}", true);
	assert_string_equal(r, "2001:db8::cb01");
	free(r);
}

static void test_macro_syntax(void **state)
{
	(void)state;
	static const char *const bad[] = { "%", "%{", "%{x}", "%{d0}", "%{d", "%a", "%{dz}",
					   "a b", "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(spf_macro_valid(bad[i], strlen(bad[i]), false));
	assert_true(spf_macro_valid("a b %{c}", 8, true));     /* explain-string */
	assert_false(spf_macro_valid("%{c}", 4, false));      /* c only in exp */
	assert_true(spf_domain_spec_valid("%{d}", 4));
	assert_true(spf_domain_spec_valid("a.example.com.", 14));
	assert_true(spf_domain_spec_valid("foo:bar/baz.example.com", 23));
	assert_true(spf_domain_spec_valid(".xn--zckzah", 11));
	assert_false(spf_domain_spec_valid("example", 7));     /* only a toplabel */
	assert_false(spf_domain_spec_valid("1.2.3.4", 7));     /* numeric toplabel */
	assert_false(spf_domain_spec_valid("a.-com", 6));
	assert_false(spf_domain_spec_valid("", 0));
	assert_true(spf_macro_uses_p("x.%{p}.y"));
	assert_true(spf_macro_uses_p("%{P2r}"));
	assert_false(spf_macro_uses_p("%%{p}"));
}

static void test_target_cut_to_253(void **state)
{
	(void)state;
	struct spf_ip ip;
	spf_ip_parse("192.0.2.1", &ip);
	char lp[300], sender[320];
	memset(lp, 'a', 250);
	for (int i = 60; i < 250; i += 61)
		lp[i] = '.';    /* labels of 60 octets */
	lp[250] = '\0';
	snprintf(sender, sizeof(sender), "%s@example.com", lp);
	struct spf_macro_ctx c = { sender, lp, "example.com", "example.com", &ip, "h", "r", NULL,
				   0 };
	char *r = spf_macro_expand("%{l}.example.com.", &c, false, true);
	assert_true(strlen(r) <= 253);
	assert_true(strlen(r) > 200);
	assert_string_equal(r + strlen(r) - 12, ".example.com");
	free(r);
}

/* ---- records ---- */

static void test_record_grammar(void **state)
{
	(void)state;
	static const char *const good[] = {
		"v=spf1", "v=spf1 ", "V=SPF1 -ALL", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all",
		"v=spf1 a mx ptr a:%{d} mx:example.com/24//64 a//64 exists:%{i}.bl.example.org",
		"v=spf1 include:_spf.example.com redirect=_spf.example.net",
		"v=spf1 exp=explain.%{d} -all", "v=spf1 moo.cow-far_out=man:dog/cat -all",
		"v=spf1  ip4:1.2.3.4   -all  ",
	};
	static const char *const bad[] = {
		"v=spf10", "v=spf1 all:x", "v=spf1 ip4:1.2.3", "v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip6:::1/129", "v=spf1 a/04", "v=spf1 include", "v=spf1 foo",
		"v=spf1 -redirect=x.example", "v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example", "v=spf1 a:", "v=spf1 mx:example",
		"v=spf1 exists:%{x}.example.com", "v=spf1 ip4:1.2.3.4\xff", "v=spf1 =x",
		"v=spf1 a:1.2.3.4",
	};
	struct spf_record *r;
	const char *why;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (spf_record_parse(good[i], strlen(good[i]), &r, &why) != 0)
			fail_msg("%s: %s", good[i], why);
		spf_record_free(&r);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (spf_record_parse(bad[i], strlen(bad[i]), &r, &why) == 0)
			fail_msg("%s parsed", bad[i]);
		assert_null(r);
	}
	const char *rec = "v=spf1 -mx:example.com/24//64 ?all";
	assert_int_equal(spf_record_parse(rec, strlen(rec), &r, &why), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->terms[0].mech, SPF_M_MX);
	assert_int_equal(r->terms[0].qualifier, SPF_FAIL);
	assert_int_equal(r->terms[0].cidr4, 24);
	assert_int_equal(r->terms[0].cidr6, 64);
	assert_string_equal(r->terms[0].domain_spec, "example.com");
	assert_string_equal(r->terms[1].text, "?all");
	assert_true(r->has_all);
	spf_record_free(&r);
}

/* ---- check_host() against a fake zone ---- */

struct run {
	enum spf_result result;
	unsigned queries;
	char reason[200];
	char exp[200];
};

/* Run check_host() to its end against z. */
static struct spf_eval *eval_with(struct fake_zone *z, const struct spf_params *p)
{
	struct spf_eval *e = spf_eval_new(p);
	const char *name;
	enum dns_type t;
	unsigned steps = 0;
	while (spf_eval_step(e, &name, &t) == SPF_STEP_QUERY) {
		struct dns_answer *a = fake_lookup(z, name, t);
		spf_eval_answer(e, a);
		dns_answer_free(&a);
		assert_true(++steps < 10000);
	}
	return e;
}

static struct run check(struct fake_zone *z, const char *ip, const char *from, const char *helo)
{
	struct spf_params p = { .ip = ip, .mail_from = from, .helo = helo, .receiver = "r.test",
				.lookup_limit = 10, .void_limit = 2, .now = 1 };
	unsigned before = z->queries;
	struct spf_eval *e = eval_with(z, &p);
	struct run r = { .result = spf_eval_result(e), .queries = z->queries - before };
	snprintf(r.reason, sizeof(r.reason), "%s", spf_eval_reason(e));
	snprintf(r.exp, sizeof(r.exp), "%s",
		 spf_eval_explanation(e) ? spf_eval_explanation(e) : "");
	spf_eval_free(&e);
	return r;
}

static void test_lookup_limits(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	/* ten terms that cause lookups are allowed, the eleventh is not */
	fake_txt_str(&z, "ten.test", "v=spf1 a a a a a a a a a ip4:192.0.2.1 a -all");
	fake_txt_str(&z, "eleven.test", "v=spf1 a a a a a a a a a a a ip4:192.0.2.1 -all");
	fake_addr(&z, "ten.test", "198.51.100.1");
	fake_addr(&z, "eleven.test", "198.51.100.1");
	assert_int_equal(check(&z, "192.0.2.1", "x@ten.test", "h").result, SPF_PASS);
	struct run r = check(&z, "192.0.2.1", "x@eleven.test", "h");
	assert_int_equal(r.result, SPF_PERMERROR);
	assert_string_equal(r.reason, "too many DNS lookups");

	/* two void lookups are allowed, the third is a permerror */
	fake_txt_str(&z, "void2.test", "v=spf1 a:n1.test a:n2.test ?all");
	fake_txt_str(&z, "void3.test", "v=spf1 a:n1.test a:n2.test exists:n3.test ?all");
	assert_int_equal(check(&z, "192.0.2.1", "x@void2.test", "h").result, SPF_NEUTRAL);
	assert_int_equal(check(&z, "192.0.2.1", "x@void3.test", "h").result, SPF_PERMERROR);

	/* more than ten MX records: permerror; PTR names past ten are ignored */
	fake_txt_str(&z, "mx11.test", "v=spf1 mx -all");
	for (unsigned i = 0; i < 11; i++)
		fake_mx(&z, "mx11.test", i, "mail.mx11.test");
	assert_int_equal(check(&z, "192.0.2.1", "x@mx11.test", "h").result, SPF_PERMERROR);
	fake_txt_str(&z, "ptr.test", "v=spf1 ptr -all");
	for (unsigned i = 0; i < 12; i++) {
		char n[32];
		snprintf(n, sizeof(n), "h%u.ptr.test", i);
		fake_name(&z, "1.2.0.192.in-addr.arpa", DNS_T_PTR, n);
		fake_addr(&z, n, "192.0.2.1");
	}
	r = check(&z, "192.0.2.1", "x@ptr.test", "h");
	assert_int_equal(r.result, SPF_PASS);
	fake_zone_clear(&z);
}

static void test_loops(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	fake_txt_str(&z, "a.test", "v=spf1 include:b.test -all");
	fake_txt_str(&z, "b.test", "v=spf1 include:a.test -all");
	fake_txt_str(&z, "self.test", "v=spf1 include:self.test -all");
	fake_txt_str(&z, "r1.test", "v=spf1 redirect=r2.test");
	fake_txt_str(&z, "r2.test", "v=spf1 redirect=r1.test");
	const char *froms[] = { "x@a.test", "x@self.test", "x@r1.test" };
	for (size_t i = 0; i < 3; i++) {
		struct run r = check(&z, "192.0.2.1", froms[i], "h");
		assert_int_equal(r.result, SPF_PERMERROR);
		assert_true(r.queries <= 12);
	}
	fake_zone_clear(&z);
}

static void test_dns_errors(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	fake_timeout(&z, "slow.test", DNS_T_TXT);
	fake_txt_str(&z, "inc.test", "v=spf1 include:slow.test -all");
	fake_txt_str(&z, "a.test", "v=spf1 a:slowa.test -all");
	fake_timeout(&z, "slowa.test", FAKE_TIMEOUT_ALL);
	fake_txt_str(&z, "noinc.test", "v=spf1 include:nothing.test -all");
	fake_txt_str(&z, "two.test", "v=spf1 -all");
	fake_txt_str(&z, "two.test", "v=spf1 +all");
	assert_int_equal(check(&z, "192.0.2.1", "x@slow.test", "h").result, SPF_TEMPERROR);
	assert_int_equal(check(&z, "192.0.2.1", "x@inc.test", "h").result, SPF_TEMPERROR);
	assert_int_equal(check(&z, "192.0.2.1", "x@a.test", "h").result, SPF_TEMPERROR);
	assert_int_equal(check(&z, "192.0.2.1", "x@noinc.test", "h").result, SPF_PERMERROR);
	assert_int_equal(check(&z, "192.0.2.1", "x@nothing.test", "h").result, SPF_NONE);
	assert_int_equal(check(&z, "192.0.2.1", "x@two.test", "h").result, SPF_PERMERROR);
	fake_zone_clear(&z);
}

static void test_big_records(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	/* a 64 KiB SPF record of ordinary terms evaluates to the end */
	size_t cap = 65535;
	char *rec = malloc(cap + 1);
	size_t len = (size_t)snprintf(rec, cap, "v=spf1");
	unsigned i = 0;
	while (len + 40 < cap)
		len += (size_t)snprintf(rec + len, cap - len, " ip4:10.%u.%u.%u", (i >> 16) & 255,
					(i >> 8) & 255, i & 255), i++;
	len += (size_t)snprintf(rec + len, cap - len, " ip4:192.0.2.1 -all");
	assert_true(len > 65000);
	fake_txt(&z, "big.test", rec, len);
	assert_int_equal(check(&z, "192.0.2.1", "x@big.test", "h").result, SPF_PASS);
	assert_int_equal(check(&z, "192.0.2.9", "x@big.test", "h").result, SPF_FAIL);
	/* a 64 KiB TXT record that is not SPF is none of our business */
	memset(rec, 'x', 65000);
	fake_txt(&z, "other.test", rec, 65000);
	fake_txt_str(&z, "other.test", "v=spf1 ip4:192.0.2.1 -all");
	assert_int_equal(check(&z, "192.0.2.1", "x@other.test", "h").result, SPF_PASS);
	/* more terms than SPF_MAX_TERMS: permerror */
	len = (size_t)snprintf(rec, cap, "v=spf1");
	for (i = 0; i <= SPF_MAX_TERMS; i++)
		len += (size_t)snprintf(rec + len, cap - len, " ?all");
	fake_txt(&z, "many.test", rec, len);
	assert_int_equal(check(&z, "192.0.2.1", "x@many.test", "h").result, SPF_PERMERROR);
	free(rec);
	fake_zone_clear(&z);
}

static void test_helo_and_null_path(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	fake_txt_str(&z, "mail.example.org", "v=spf1 ip4:192.0.2.1 -all");
	fake_txt_str(&z, "example.org", "v=spf1 exists:%{l}.users.example.org -all");
	fake_addr(&z, "postmaster.users.example.org", "127.0.0.2");
	struct spf_params p = { .ip = "192.0.2.1", .mail_from = "", .helo = "mail.example.org",
				.lookup_limit = 10, .void_limit = 2 };
	struct spf_eval *e = eval_with(&z, &p);
	assert_int_equal(spf_eval_result(e), SPF_PASS);
	assert_string_equal(spf_eval_sender(e), "postmaster@mail.example.org");
	assert_string_equal(spf_eval_domain(e), "mail.example.org");
	spf_eval_free(&e);
	/* an empty local part is postmaster */
	assert_int_equal(check(&z, "192.0.2.1", "@example.org", "h").result, SPF_PASS);
	/* a HELO that is no domain name: none without any lookup */
	struct run r = check(&z, "192.0.2.1", "", "[192.0.2.1]");
	assert_int_equal(r.result, SPF_NONE);
	assert_int_equal(r.queries, 0);
	assert_int_equal(check(&z, "not-an-ip", "x@example.org", "h").result, SPF_PERMERROR);
	fake_zone_clear(&z);
}

static void test_p_macro_and_exp(void **state)
{
	(void)state;
	struct fake_zone z = { 0 };
	fake_txt_str(&z, "e.test", "v=spf1 exists:%{p}.ok.test exp=why.e.test -all");
	fake_name(&z, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "mail.e.test");
	fake_name(&z, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "fake.other.test");
	fake_addr(&z, "mail.e.test", "192.0.2.1");
	fake_addr(&z, "mail.e.test.ok.test", "127.0.0.2");
	fake_txt_str(&z, "why.e.test", "%{i} is not one of %{d}'s hosts (%{c})");
	assert_int_equal(check(&z, "192.0.2.1", "x@e.test", "h").result, SPF_PASS);
	struct run r = check(&z, "192.0.2.9", "x@e.test", "h");
	assert_int_equal(r.result, SPF_FAIL);
	assert_string_equal(r.exp, "192.0.2.9 is not one of e.test's hosts (192.0.2.9)");
	fake_zone_clear(&z);
}

static void test_abort(void **state)
{
	(void)state;
	struct spf_params p = { .ip = "192.0.2.1", .mail_from = "x@example.org", .helo = "h",
				.lookup_limit = 10, .void_limit = 2 };
	struct spf_eval *e = spf_eval_new(&p);
	const char *name;
	enum dns_type t;
	assert_int_equal(spf_eval_step(e, &name, &t), SPF_STEP_QUERY);
	assert_string_equal(name, "example.org");
	assert_int_equal(t, DNS_T_TXT);
	spf_eval_abort(e, "timed out");
	assert_int_equal(spf_eval_step(e, &name, &t), SPF_STEP_DONE);
	assert_int_equal(spf_eval_result(e), SPF_TEMPERROR);
	spf_eval_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_macro_rfc_examples),
		cmocka_unit_test(test_macro_syntax),
		cmocka_unit_test(test_target_cut_to_253),
		cmocka_unit_test(test_record_grammar),
		cmocka_unit_test(test_lookup_limits),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_dns_errors),
		cmocka_unit_test(test_big_records),
		cmocka_unit_test(test_helo_and_null_path),
		cmocka_unit_test(test_p_macro_and_exp),
		cmocka_unit_test(test_abort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
