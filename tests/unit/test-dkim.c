/* Unit tests of DKIM (server/mailauth/dkim*.c, hdr-block.c): the tag-list
 * grammar, the DKIM-Signature and key record checks with the RFC 8601
 * result each problem gets, key size policy (a 16384-bit key is refused
 * from its length, before OpenSSL parses it), the canonicalisation
 * examples of RFC 6376 3.4.6 at every split point, the header block at
 * every split, and the verifier on RFC 8463's example (ed25519-sha256 and
 * rsa-sha256, over-signed h=) fed at every split point, tampered, out of
 * time, over limits; l= and x= on messages signed here. The matrix of
 * algorithms and canonicalisations signed by an independent signer
 * (dkimpy) is tests/e2e/test_mailauth.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/base64.h"
#include "lib/xmem.h"
#include "server/mailauth/dkim.h"
#include "storage/message/message.h"
#include "tests/support/fake-dns.h"
#include "tests/support/message-file.h"

/* ---- tag lists ---- */

static void test_tags(void **state)
{
	(void)state;
	struct dkim_tag t[8];
	size_t n;
	const char *s = " v=1; a = rsa-sha256 ;\r\n\tb=ab c\r\n d;;";
	assert_int_equal(dkim_tags_parse(s, strlen(s), t, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(t[1].value_len, 10);
	assert_memory_equal(t[1].value, "rsa-sha256", 10);
	assert_int_equal(t[2].value_len, 8);   /* "ab c\r\n d" */
	assert_non_null(dkim_tag_get(t, n, "b"));
	assert_null(dkim_tag_get(t, n, "B"));
	static const char *const bad[] = { "v=1; v=2", "a", "1a=x", "a=\x7f", "a=b;c", "=x",
					   "a=caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(dkim_tags_parse(bad[i], strlen(bad[i]), t, 8, &n), 0);
	assert_int_equal(dkim_tags_parse("", 0, t, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_not_equal(dkim_tags_parse("a=1;b=2;c=3", 11, t, 2, &n), 0);
}

/* ---- canonicalisation ---- */

static void collect(void *ctx, const char *data, size_t len)
{
	msg_buf_append(ctx, data, len);
}

static void body_case(enum dkim_canon c, const char *in, const char *want)
{
	size_t len = strlen(in);
	for (size_t cut = 0; cut <= len; cut++) {
		for (size_t cut2 = cut; cut2 <= len; cut2 += (len > 40 ? 7 : 1)) {
			struct dkim_body_canon bc;
			struct msg_buf out = { 0 };
			dkim_body_canon_init(&bc, c);
			dkim_body_canon_feed(&bc, in, cut, collect, &out);
			dkim_body_canon_feed(&bc, in + cut, cut2 - cut, collect, &out);
			dkim_body_canon_feed(&bc, in + cut2, len - cut2, collect, &out);
			dkim_body_canon_end(&bc, collect, &out);
			msg_buf_putc(&out, '\0');
			if (strcmp(out.data, want) != 0)
				fail_msg("%s canon of [%s] cut %zu/%zu: [%s], want [%s]",
					 c == DKIM_SIMPLE ? "simple" : "relaxed", in, cut, cut2,
					 out.data, want);
			msg_buf_free(&out);
		}
	}
}

static void test_body_canon(void **state)
{
	(void)state;
	/* RFC 6376 3.4.6 */
	body_case(DKIM_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	body_case(DKIM_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
	body_case(DKIM_SIMPLE, "", "\r\n");
	body_case(DKIM_RELAXED, "", "");
	body_case(DKIM_SIMPLE, "\r\n\r\n", "\r\n");
	body_case(DKIM_RELAXED, "\r\n \t\r\n", "");
	body_case(DKIM_SIMPLE, "abc", "abc\r\n");
	body_case(DKIM_RELAXED, "abc \t", "abc\r\n");
	body_case(DKIM_RELAXED, "a\r\n  \r\nb\r\n", "a\r\n\r\nb\r\n");
	body_case(DKIM_SIMPLE, "a\r\n  \r\nb\r\n\r\n", "a\r\n  \r\nb\r\n");
	body_case(DKIM_SIMPLE, "a\rb\r\n\r", "a\rb\r\n\r\r\n");
	body_case(DKIM_RELAXED, "\t lead\r\n", " lead\r\n");
}

static void test_header_block_and_canon(void **state)
{
	(void)state;
	const char *msg = "A: X\r\nB : Y\t\r\n\tZ  \r\nNoColon\r\nC:\r\n\r\nbody\r\n";
	size_t len = strlen(msg);
	size_t hdr_len = strlen(msg) - 6;
	for (size_t cut = 0; cut <= len; cut++) {
		struct hdr_block *h = hdr_block_new(1024);
		bool done = false;
		size_t used = hdr_block_feed(h, msg, cut, &done);
		if (!done)
			used += hdr_block_feed(h, msg + cut, len - cut, &done);
		assert_true(done);
		assert_int_equal(used, hdr_len);
		assert_int_equal(hdr_block_count(h), 4);
		const struct hdr_field *f = hdr_block_field(h, 1);
		assert_true(hdr_field_is(f, "b"));
		assert_int_equal(hdr_block_field(h, 2)->name_len, 0);   /* NoColon */
		struct msg_buf r = { 0 }, s = { 0 };
		for (size_t i = 0; i < 2; i++) {
			f = hdr_block_field(h, i);
			dkim_header_canon(DKIM_RELAXED, f->name, f->name_len, f->value, f->value_len,
					  f->raw, f->raw_len, false, &r);
			dkim_header_canon(DKIM_SIMPLE, f->name, f->name_len, f->value, f->value_len,
					  f->raw, f->raw_len, false, &s);
		}
		msg_buf_putc(&r, '\0');
		msg_buf_putc(&s, '\0');
		assert_string_equal(r.data, "a:X\r\nb:Y Z\r\n");   /* RFC 6376 3.4.6 */
		assert_string_equal(s.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
		msg_buf_free(&r);
		msg_buf_free(&s);
		hdr_block_free(&h);
	}
	/* over the limit: no fields kept, the end still found */
	struct hdr_block *h = hdr_block_new(16);
	bool done;
	assert_int_equal(hdr_block_feed(h, msg, len, &done), hdr_len);
	assert_true(done);
	assert_true(hdr_block_overflow(h));
	assert_int_equal(hdr_block_count(h), 0);
	hdr_block_free(&h);
	/* no blank line: the header ends with the message */
	h = hdr_block_new(1024);
	assert_int_equal(hdr_block_feed(h, "A: b\r\n", 6, &done), 6);
	assert_false(done);
	hdr_block_end(h);
	assert_int_equal(hdr_block_count(h), 1);
	hdr_block_free(&h);
}

/* ---- DKIM-Signature ---- */

static void test_sig_parse(void **state)
{
	(void)state;
	static const struct { const char *v; enum dkim_result r; } bad[] = {
		{ "a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s", DKIM_NEUTRAL },  /* no v */
		{ "v=2; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-md5; b=AAAA; bh=AAAA; d=x.com; h=from; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; c=fancy; b=AAAA; bh=AAAA; d=x.com; h=from; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=legitimate.com(.attacker.com; h=from; s=s",
		  DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=!!!!; d=x.com; h=from; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=not base64 at all; d=x.com; h=from; s=s",
		  DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=; bh=AAAA; d=x.com; h=from; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s; q=http", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s; t=20; x=10",
		  DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s; l=ten", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from:; s=s", DKIM_NEUTRAL },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=to:subject; s=s", DKIM_PERMERROR },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; i=a@y.com; h=from; s=s",
		  DKIM_PERMERROR },
		{ "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; i=a@evilx.com; h=from; s=s",
		  DKIM_PERMERROR },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dkim_sig *sig;
		enum dkim_result r;
		const char *why;
		if (dkim_sig_parse(bad[i].v, strlen(bad[i].v), &sig, &r, &why) == 0)
			fail_msg("%s parsed", bad[i].v);
		if (r != bad[i].r)
			fail_msg("%s: %s (%s), want %s", bad[i].v, dkim_result_name(r), why,
				 dkim_result_name(bad[i].r));
	}
	const char *v = "v=1; a=Ed25519-SHA256; c=relaxed; d=Example.COM; i=joe@sub.example.com;"
			" h=From : To:from; s=sel_1; l=10; t=5; x=6; bh=AAAA;\r\n b=AAAA\r\n BBBB";
	struct dkim_sig *sig;
	enum dkim_result r;
	const char *why;
	assert_int_equal(dkim_sig_parse(v, strlen(v), &sig, &r, &why), 0);
	assert_int_equal(sig->algo, DKIM_ED25519_SHA256);
	assert_int_equal(sig->hcanon, DKIM_RELAXED);
	assert_int_equal(sig->bcanon, DKIM_SIMPLE);
	assert_string_equal(sig->d, "example.com");
	assert_string_equal(sig->s, "sel_1");
	assert_int_equal(sig->n_h, 3);
	assert_string_equal(sig->h[1], "To");
	assert_true(sig->has_l && sig->l == 10);
	assert_int_equal(sig->b_len, 6);
	assert_string_equal(sig->b_text, "AAAABBBB");
	assert_memory_equal(v + sig->b_start, "AAAA", 0);
	assert_int_equal(sig->b_end, strlen(v));
	dkim_sig_free(&sig);
}

/* ---- keys ---- */

static char *rsa_record(unsigned bits, const char *extra)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);
	assert_non_null(k);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);
	char *b64 = base64_encode_str(der, (size_t)len);
	char *rec = xasprintf("v=DKIM1; %sp=%s", extra, b64);
	OPENSSL_free(der);
	free(b64);
	EVP_PKEY_free(k);
	return rec;
}

static enum dkim_result key_result(const char *rec, const char *sigv, const char **why_r)
{
	struct dkim_sig *sig;
	enum dkim_result r;
	assert_int_equal(dkim_sig_parse(sigv, strlen(sigv), &sig, &r, why_r), 0);
	struct dkim_key_policy pol = { 1024, 2048 };
	struct dkim_key *key = NULL;
	if (dkim_key_parse(rec, strlen(rec), sig, &pol, &key, &r, why_r) == 0) {
		r = DKIM_PASS;
		*why_r = dkim_key_testing(key) ? "testing" : "";
	}
	dkim_key_free(&key);
	dkim_sig_free(&sig);
	return r;
}

static void test_keys(void **state)
{
	(void)state;
	const char *rsa = "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s";
	const char *rsa_i = "v=1; a=rsa-sha256; b=AAAA; bh=AAAA; d=x.com; i=@a.x.com; h=from; s=s";
	const char *sha1 = "v=1; a=rsa-sha1; b=AAAA; bh=AAAA; d=x.com; h=from; s=s";
	const char *ed = "v=1; a=ed25519-sha256; b=AAAA; bh=AAAA; d=x.com; h=from; s=s";
	const char *why;
	char *k1024 = rsa_record(1024, "");
	char *k512 = rsa_record(512, "");
	char *k3072 = rsa_record(3072, "");
	char *ktest = rsa_record(1024, "t=y:s; h=sha1:sha256; s=email; k=rsa; ");
	assert_int_equal(key_result(k1024, rsa, &why), DKIM_PASS);
	assert_int_equal(key_result(k512, rsa, &why), DKIM_POLICY);
	assert_int_equal(key_result(k3072, rsa, &why), DKIM_POLICY);
	assert_int_equal(key_result(ktest, rsa, &why), DKIM_PASS);
	assert_string_equal(why, "testing");
	assert_int_equal(key_result(ktest, rsa_i, &why), DKIM_PERMERROR);   /* t=s */
	static const char *const perm[] = {
		"v=DKIM1; p=", "v=DKIM1; k=ed25519; p=AAAA", "v=DKIM1; h=sha1; p=AAAA",
		"v=DKIM1; s=ftp; p=AAAA", "v=DKIM2; p=AAAA", "k=rsa; v=DKIM1; p=AAAA",
		"v=DKIM1; p=AAAA", "not a tag list", "v=DKIM1; k=rsa",
	};
	for (size_t i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (key_result(perm[i], rsa, &why) != DKIM_PERMERROR)
			fail_msg("%s: not permerror", perm[i]);
	assert_int_equal(key_result(k1024, ed, &why), DKIM_PERMERROR);
	char *k1024sha256 = rsa_record(1024, "h=sha256; ");
	assert_int_equal(key_result(k1024sha256, sha1, &why), DKIM_PERMERROR);
	assert_int_equal(key_result("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaa"
				    "PcHURo=", ed, &why), DKIM_PASS);
	/* a 16384-bit key's length: refused before anything parses it (these
	 * bytes would not even parse) */
	size_t big = 16384 / 8 + 40;
	unsigned char *junk = xcalloc(1, big);
	char *b64 = base64_encode_str(junk, big);
	char *rec = xasprintf("v=DKIM1; p=%s", b64);
	assert_int_equal(key_result(rec, rsa, &why), DKIM_POLICY);
	assert_string_equal(why, "RSA key larger than dkim_max_rsa_bits");
	free(rec);
	free(b64);
	free(junk);
	free(k1024);
	free(k512);
	free(k3072);
	free(ktest);
	free(k1024sha256);
}

/* ---- the verifier ---- */

static struct msg_buf read_corpus(const char *rel)
{
	const char *src = getenv("LOFT_SOURCE_DIR");
	char *path = xasprintf("%s/tests/corpus/mail/%s", src != NULL ? src : ".", rel);
	struct msg_buf out;
	assert_true(message_file_crlf(path, &out));
	free(path);
	return out;
}

static struct fake_zone football(void)
{
	struct fake_zone z = { 0 };
	fake_txt_str(&z, "brisbane._domainkey.football.example.com",
		     "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	fake_txt_str(&z, "test._domainkey.football.example.com",
		     "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3"
		     "idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR"
		     "+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QID"
		     "AQAB");
	return z;
}

/* Verify msg fed in three pieces; results as "pass,fail" into out. */
static void verify(struct fake_zone *z, const struct dkim_limits *lim, const char *msg,
		   size_t len, size_t cut1, size_t cut2, char *out, size_t cap)
{
	struct hdr_block *h = hdr_block_new(64 * 1024);
	struct dkim_verifier *v = NULL;
	size_t cuts[4] = { 0, cut1, cut2, len };
	for (int k = 0; k < 3; k++) {
		const char *p = msg + cuts[k];
		size_t n = cuts[k + 1] - cuts[k];
		if (v == NULL) {
			bool done;
			size_t used = hdr_block_feed(h, p, n, &done);
			if (!done)
				continue;
			v = dkim_verifier_new(lim, h);
			p += used;
			n -= used;
		}
		dkim_verifier_body(v, p, n);
	}
	if (v == NULL) {
		hdr_block_end(h);
		v = dkim_verifier_new(lim, h);
	}
	dkim_verifier_body_end(v);
	for (size_t i = 0; i < dkim_verifier_count(v); i++) {
		const char *name = dkim_verifier_key_name(v, i);
		if (name != NULL) {
			struct dns_answer *a = fake_lookup(z, name, DNS_T_TXT);
			dkim_verifier_key_answer(v, i, a);
			dns_answer_free(&a);
		}
	}
	dkim_verifier_finish(v);
	out[0] = '\0';
	for (size_t i = 0; i < dkim_verifier_count(v); i++) {
		const struct dkim_sig_result *r = dkim_verifier_result(v, i);
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", i ? "," : "", dkim_result_name(r->result));
	}
	dkim_verifier_free(&v);
	hdr_block_free(&h);
}

static struct dkim_limits limits(uint64_t now)
{
	struct dkim_limits lim = { 1024, 8192, 8, false, now, 300 };
	return lim;
}

static void test_rfc8463_every_split(void **state)
{
	(void)state;
	struct fake_zone z = football();
	struct msg_buf m = read_corpus("crymap/rfc-8463.eml");
	struct dkim_limits lim = limits(1528637909 + 60);
	char out[128];
	for (size_t c1 = 0; c1 <= m.len; c1 += 3) {
		for (size_t c2 = c1; c2 <= m.len; c2 += 97) {
			verify(&z, &lim, m.data, m.len, c1, c2, out, sizeof(out));
			if (strcmp(out, "pass,pass") != 0)
				fail_msg("cut %zu/%zu: %s", c1, c2, out);
		}
	}
	/* a body byte changed: the body hash fails; a header changed: the
	 * signature fails; a signed field added: over-signing catches it */
	char *t = xmalloc(m.len + 64);
	memcpy(t, m.data, m.len);
	char *p = strstr(t, "We lost");
	p[3] = 'w';
	verify(&z, &lim, t, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "fail,fail");
	memcpy(t, m.data, m.len);
	p = strstr(t, "Is dinner");
	p[0] = 'I';
	p[1] = 'S';
	verify(&z, &lim, t, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "fail,fail");
	const char *extra = "Subject: another subject\r\n";
	size_t hl = (size_t)(strstr(m.data, "\r\n\r\n") + 2 - m.data);
	memcpy(t, m.data, hl);
	memcpy(t + hl, extra, strlen(extra));
	memcpy(t + hl + strlen(extra), m.data + hl, m.len - hl);
	verify(&z, &lim, t, m.len + strlen(extra), 0, 0, out, sizeof(out));
	assert_string_equal(out, "fail,fail");
	free(t);
	/* the clock: t= ahead of now beyond the skew */
	lim = limits(1528637909 - 1000);
	verify(&z, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "permerror,permerror");
	/* one signature allowed: the other gets policy */
	lim = limits(1528637909 + 60);
	lim.max_signatures = 1;
	verify(&z, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "pass,policy");
	/* no keys: permerror; a key that times out: temperror */
	struct fake_zone empty = { 0 };
	lim = limits(1528637909 + 60);
	verify(&empty, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "permerror,permerror");
	fake_timeout(&empty, "football.example.com", FAKE_TIMEOUT_ALL);
	fake_timeout(&empty, "brisbane._domainkey.football.example.com", DNS_T_TXT);
	fake_timeout(&empty, "test._domainkey.football.example.com", DNS_T_TXT);
	verify(&empty, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "temperror,temperror");
	fake_zone_clear(&empty);
	/* a header block over the limit: one policy result */
	struct hdr_block *h = hdr_block_new(100);
	bool done;
	hdr_block_feed(h, m.data, m.len, &done);
	struct dkim_verifier *v = dkim_verifier_new(&lim, h);
	assert_int_equal(dkim_verifier_count(v), 1);
	dkim_verifier_finish(v);
	assert_int_equal(dkim_verifier_result(v, 0)->result, DKIM_POLICY);
	dkim_verifier_free(&v);
	hdr_block_free(&h);
	msg_buf_free(&m);
	fake_zone_clear(&z);
}

/* Sign with an ed25519 key made here: the DKIM-Signature value given
 * (with "b=" last and empty) is completed and prepended. Uses Loft's own
 * canonicalisation: only for l= and x=, whose meaning is tested; dkimpy
 * checks the canonicalisation itself (tests/e2e/test_mailauth.py). */
static char *sign(EVP_PKEY *key, const char *sigv, const char *hdr, const char *body,
		  uint64_t l)
{
	struct dkim_body_canon bc;
	struct msg_buf canon = { 0 };
	dkim_body_canon_init(&bc, DKIM_RELAXED);
	dkim_body_canon_feed(&bc, body, strlen(body), collect, &canon);
	dkim_body_canon_end(&bc, collect, &canon);
	unsigned char bh[32];
	unsigned bhl;
	EVP_Digest(canon.data, l < canon.len ? l : canon.len, bh, &bhl, EVP_sha256(), NULL);
	char bh64[64];
	base64_encode(bh, 32, bh64);
	char *value = xasprintf(" %s bh=%s; b=", sigv, bh64);
	struct msg_buf data = { 0 };
	msg_buf_puts(&data, "from:");
	const char *from = strstr(hdr, "From:") + 5;
	while (*from == ' ')
		from++;
	msg_buf_append(&data, from, (size_t)(strchr(from, '\r') - from));
	msg_buf_puts(&data, "\r\n");
	dkim_header_canon(DKIM_RELAXED, "DKIM-Signature", 14, value, strlen(value), NULL, 0, true,
			  &data);
	unsigned char digest[32], sig[64];
	size_t sl = sizeof(sig);
	EVP_Digest(data.data, data.len, digest, NULL, EVP_sha256(), NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestSignInit(ctx, NULL, NULL, NULL, key);
	EVP_DigestSign(ctx, sig, &sl, digest, 32);
	EVP_MD_CTX_free(ctx);
	char b64[100];
	base64_encode(sig, sl, b64);
	char *msg = xasprintf("DKIM-Signature:%s%s\r\n%s\r\n%s", value, b64, hdr, body);
	free(value);
	msg_buf_free(&data);
	msg_buf_free(&canon);
	return msg;
}

static void test_l_and_x(void **state)
{
	(void)state;
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_keygen(kc, &key);
	EVP_PKEY_CTX_free(kc);
	unsigned char pub[32];
	size_t pl = 32;
	EVP_PKEY_get_raw_public_key(key, pub, &pl);
	char p64[64];
	base64_encode(pub, 32, p64);
	struct fake_zone z = { 0 };
	char *rec = xasprintf("v=DKIM1; k=ed25519; p=%s", p64);
	fake_txt_str(&z, "s._domainkey.x.test", rec);
	free(rec);
	const char *hdr = "From: a@x.test\r\nSubject: s\r\n";
	const char *base = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=x.test; s=s; h=from;";
	struct dkim_limits lim = limits(1000000);
	char out[64];

	char *m = sign(key, base, hdr, "line one\r\nline two\r\n", UINT64_MAX);
	verify(&z, &lim, m, strlen(m), 0, 0, out, sizeof(out));
	assert_string_equal(out, "pass");
	free(m);
	/* l=10: text appended after the signed length still passes; a body
	 * shorter than l= fails */
	char *sv = xasprintf("%s l=10;", base);
	m = sign(key, sv, hdr, "line one\r\nline two\r\n", 10);
	char *longer = xasprintf("%sappended\r\n", m);
	verify(&z, &lim, longer, strlen(longer), 0, 0, out, sizeof(out));
	assert_string_equal(out, "pass");
	char *shorter = xstrdup(m);
	strcpy(strstr(shorter, "line one") + 4, "\r\n");
	verify(&z, &lim, shorter, strlen(shorter), 0, 0, out, sizeof(out));
	assert_string_equal(out, "fail");
	free(sv);
	free(m);
	free(longer);
	free(shorter);
	/* x=: valid until then (and the skew), permerror after */
	sv = xasprintf("%s t=999000; x=999500;", base);
	m = sign(key, sv, hdr, "hi\r\n", UINT64_MAX);
	lim = limits(999600);
	verify(&z, &lim, m, strlen(m), 0, 0, out, sizeof(out));
	assert_string_equal(out, "pass");
	lim = limits(999900);
	verify(&z, &lim, m, strlen(m), 0, 0, out, sizeof(out));
	assert_string_equal(out, "permerror");
	free(sv);
	free(m);
	EVP_PKEY_free(key);
	fake_zone_clear(&z);
}

static void test_sha1_policy(void **state)
{
	(void)state;
	const char *src = getenv("LOFT_SOURCE_DIR");
	(void)src;
	struct msg_buf m = read_corpus("crymap/dkim-lingl-rsa-sha1.eml");
	struct fake_zone z = { 0 };
	/* the lin.gl key from tests/corpus/mail/dkim-keys/keys.tsv */
	struct msg_buf keys = read_corpus("dkim-keys/keys.tsv");
	char *line = strstr(keys.data, "selector1._domainkey.lin.gl\t");
	assert_non_null(line);
	char *val = strchr(line, '\t') + 1;
	*strchr(val, '\t') = '\0';
	fake_txt_str(&z, "selector1._domainkey.lin.gl", val);
	struct dkim_limits lim = limits(1683577174 + 60);
	char out[64];
	verify(&z, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "policy");
	lim.accept_sha1 = true;
	verify(&z, &lim, m.data, m.len, 0, 0, out, sizeof(out));
	assert_string_equal(out, "pass");
	msg_buf_free(&keys);
	msg_buf_free(&m);
	fake_zone_clear(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_body_canon),
		cmocka_unit_test(test_header_block_and_canon),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rfc8463_every_split),
		cmocka_unit_test(test_l_and_x),
		cmocka_unit_test(test_sha1_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
