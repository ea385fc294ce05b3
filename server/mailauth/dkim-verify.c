/* The DKIM verifier of one message (RFC 6376 6.1). From the header block it
 * takes every DKIM-Signature (up to dkim_max_signatures), checks its tags
 * and times, and starts one body canonicaliser and hash per signature; the
 * body then streams through them (l= limits what is hashed). Once the body
 * has ended and the keys are in, each signature's header hash is computed
 * over the fields its h= names, taken bottom-up (an h= name with no field
 * left signs its absence: over-signing), and the DKIM-Signature itself
 * with its b= value emptied, and the signature is checked. */
#include "server/mailauth/dkim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "lib/xmem.h"
#include "storage/message/message.h"

struct sigstate {
	struct dkim_sig *sig;            /* NULL when the field did not parse */
	const struct hdr_field *field;
	struct dkim_body_canon bc;
	EVP_MD_CTX *bh;
	uint64_t total;                  /* canonical body bytes seen */
	struct dkim_key *key;
	char *key_name;
	bool decided;
	struct dkim_sig_result res;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
};

struct dkim_verifier {
	struct dkim_limits lim;
	const struct hdr_block *hdr;
	struct sigstate *s;
	size_t n;
	bool ended;
};

static void decide(struct sigstate *st, enum dkim_result r, const char *why)
{
	st->decided = true;
	st->res.result = r;
	st->res.why = why;
	if (st->bh != NULL) {
		EVP_MD_CTX_free(st->bh);
		st->bh = NULL;
	}
}

struct dkim_verifier *dkim_verifier_new(const struct dkim_limits *lim,
					const struct hdr_block *hdr)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));
	v->lim = *lim;
	v->hdr = hdr;
	if (hdr_block_overflow(hdr)) {
		v->s = xcalloc(1, sizeof(*v->s));
		v->n = 1;
		decide(&v->s[0], DKIM_POLICY, "header block larger than max_header");
		return v;
	}
	size_t count = 0;
	for (size_t i = 0; i < hdr_block_count(hdr); i++)
		if (hdr_field_is(hdr_block_field(hdr, i), "DKIM-Signature"))
			count++;
	v->s = xcalloc(count ? count : 1, sizeof(*v->s));
	for (size_t i = 0; i < hdr_block_count(hdr); i++) {
		const struct hdr_field *f = hdr_block_field(hdr, i);
		if (!hdr_field_is(f, "DKIM-Signature"))
			continue;
		struct sigstate *st = &v->s[v->n++];
		st->field = f;
		if (v->n > lim->max_signatures) {
			decide(st, DKIM_POLICY, "more signatures than dkim_max_signatures");
			continue;
		}
		enum dkim_result r;
		const char *why;
		if (dkim_sig_parse(f->value, f->value_len, &st->sig, &r, &why) != 0) {
			decide(st, r, why);
			continue;
		}
		struct dkim_sig *sig = st->sig;
		st->res.d = sig->d;
		st->res.s = sig->s;
		st->res.i = sig->i;
		st->res.b = sig->b_text;
		st->res.algo = dkim_algo_name(sig->algo);
		st->res.weak = sig->algo == DKIM_RSA_SHA1;
		if (sig->has_x && sig->x + lim->clock_skew_s < lim->now) {
			decide(st, DKIM_PERMERROR, "signature expired (x=)");
			continue;
		}
		if (sig->has_t && sig->t > lim->now + lim->clock_skew_s) {
			decide(st, DKIM_PERMERROR, "signature timestamp (t=) in the future");
			continue;
		}
		dkim_body_canon_init(&st->bc, sig->bcanon);
		st->bh = EVP_MD_CTX_new();
		EVP_DigestInit_ex(st->bh, sig->algo == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256(),
				  NULL);
		st->key_name = xasprintf("%s._domainkey.%s", sig->s, sig->d);
	}
	if (v->n == 0)
		x_free(&v->s);
	return v;
}

void dkim_verifier_free(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		struct sigstate *st = &v->s[i];
		EVP_MD_CTX_free(st->bh);
		dkim_sig_free(&st->sig);
		dkim_key_free(&st->key);
		free(st->key_name);
	}
	free(v->s);
	x_free(vp);
}

static void hash_out(void *ctx, const char *data, size_t len)
{
	struct sigstate *st = ctx;
	const struct dkim_sig *sig = st->sig;
	size_t take = len;
	if (sig->has_l) {
		uint64_t room = st->total < sig->l ? sig->l - st->total : 0;
		if (take > room)
			take = (size_t)room;
	}
	if (take > 0)
		EVP_DigestUpdate(st->bh, data, take);
	st->total += len;
}

void dkim_verifier_body(struct dkim_verifier *v, const char *data, size_t len)
{
	for (size_t i = 0; i < v->n; i++) {
		struct sigstate *st = &v->s[i];
		if (!st->decided)
			dkim_body_canon_feed(&st->bc, data, len, hash_out, st);
	}
}

void dkim_verifier_body_end(struct dkim_verifier *v)
{
	if (v->ended)
		return;
	v->ended = true;
	for (size_t i = 0; i < v->n; i++) {
		struct sigstate *st = &v->s[i];
		if (st->decided)
			continue;
		dkim_body_canon_end(&st->bc, hash_out, st);
		EVP_DigestFinal_ex(st->bh, st->digest, &st->digest_len);
		EVP_MD_CTX_free(st->bh);
		st->bh = NULL;
	}
}

size_t dkim_verifier_count(const struct dkim_verifier *v)
{
	return v->n;
}

const char *dkim_verifier_key_name(const struct dkim_verifier *v, size_t i)
{
	const struct sigstate *st = &v->s[i];
	return st->decided || st->key != NULL ? NULL : st->key_name;
}

void dkim_verifier_key_answer(struct dkim_verifier *v, size_t i, const struct dns_answer *a)
{
	struct sigstate *st = &v->s[i];
	if (st->decided || st->key != NULL)
		return;
	if (a->status == DNS_TEMPFAIL) {
		decide(st, DKIM_TEMPERROR, "key lookup failed");
		return;
	}
	if (a->status != DNS_ANSWER) {
		decide(st, DKIM_PERMERROR, "no key for signature");
		return;
	}
	struct dkim_key_policy pol = { v->lim.min_rsa_bits, v->lim.max_rsa_bits };
	enum dkim_result r;
	const char *why;
	if (dkim_key_parse(a->rr[0].u.txt.data, a->rr[0].u.txt.len, st->sig, &pol, &st->key, &r,
			   &why) != 0) {
		decide(st, r, why);
		return;
	}
	if (st->sig->algo != DKIM_ED25519_SHA256)
		st->res.key_bits = dkim_key_bits(st->key);   /* Ed25519's is fixed */
	st->res.testing = dkim_key_testing(st->key);
}

/* The header data signature st signs (RFC 6376 3.7 steps 2 and 3). */
static void header_data(const struct dkim_verifier *v, const struct sigstate *st,
			struct msg_buf *out)
{
	const struct dkim_sig *sig = st->sig;
	size_t nf = hdr_block_count(v->hdr);
	bool *used = xcalloc(nf ? nf : 1, sizeof(bool));
	for (size_t k = 0; k < sig->n_h; k++) {
		for (size_t j = nf; j-- > 0;) {
			const struct hdr_field *f = hdr_block_field(v->hdr, j);
			if (used[j] || f == st->field || !hdr_field_is(f, sig->h[k]))
				continue;
			used[j] = true;
			dkim_header_canon(sig->hcanon, f->name, f->name_len, f->value,
					  f->value_len, f->raw, f->raw_len, false, out);
			break;
		}
	}
	free(used);
	/* the signature's own field, b= emptied, no final CRLF */
	const struct hdr_field *f = st->field;
	struct msg_buf val = { 0 };
	msg_buf_append(&val, f->value, sig->b_start);
	msg_buf_append(&val, f->value + sig->b_end, f->value_len - sig->b_end);
	size_t head = (size_t)(f->value - f->raw);   /* name and ':' as written */
	struct msg_buf raw = { 0 };
	msg_buf_append(&raw, f->raw, head);
	msg_buf_append(&raw, val.data != NULL ? val.data : "", val.len);
	dkim_header_canon(sig->hcanon, f->name, f->name_len, val.data != NULL ? val.data : "",
			  val.len, raw.data, raw.len, true, out);
	msg_buf_free(&val);
	msg_buf_free(&raw);
}

void dkim_verifier_finish(struct dkim_verifier *v)
{
	dkim_verifier_body_end(v);
	for (size_t i = 0; i < v->n; i++) {
		struct sigstate *st = &v->s[i];
		if (st->decided)
			continue;
		const struct dkim_sig *sig = st->sig;
		if (st->key == NULL) {
			decide(st, DKIM_TEMPERROR, "key not looked up");
			continue;
		}
		if (sig->has_l && st->total < sig->l) {
			decide(st, DKIM_FAIL, "body shorter than l=");
			continue;
		}
		if (st->digest_len != sig->bh_len || memcmp(st->digest, sig->bh, sig->bh_len) != 0) {
			decide(st, DKIM_FAIL, "body hash did not verify");
			continue;
		}
		struct msg_buf data = { 0 };
		header_data(v, st, &data);
		bool ok = dkim_key_verify(st->key, sig, data.data != NULL ? data.data : "", data.len);
		msg_buf_free(&data);
		if (!ok)
			decide(st, DKIM_FAIL, "signature did not verify");
		else if (sig->algo == DKIM_RSA_SHA1 && !v->lim.accept_sha1)
			decide(st, DKIM_POLICY, "rsa-sha1 is weak (RFC 8301)");
		else
			decide(st, DKIM_PASS, NULL);
	}
}

const struct dkim_sig_result *dkim_verifier_result(const struct dkim_verifier *v, size_t i)
{
	return &v->s[i].res;
}
