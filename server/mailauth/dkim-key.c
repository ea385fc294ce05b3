/* DKIM key records (RFC 6376 3.6.1, RFC 8463 4) and the signature check
 * with OpenSSL 3: v=DKIM1 first if present, k= (rsa, ed25519) matching the
 * signature's algorithm, h= allowing its hash, s= allowing email, t=s
 * (i= must be exactly d=), t=y (testing), p= empty for a revoked key. An
 * RSA key larger than [mailauth] dkim_max_rsa_bits is refused from its
 * length alone, before OpenSSL parses it; one below dkim_min_rsa_bits
 * after (both policy). */
#include "server/mailauth/dkim.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/xmem.h"

struct dkim_key {
	EVP_PKEY *pkey;
	bool ed25519;
	unsigned bits;
	bool testing;
};

void dkim_key_free(struct dkim_key **kp)
{
	struct dkim_key *k = *kp;
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	x_free(kp);
}

unsigned dkim_key_bits(const struct dkim_key *key)
{
	return key->bits;
}

bool dkim_key_testing(const struct dkim_key *key)
{
	return key->testing;
}

static int bad(enum dkim_result r, const char *why, enum dkim_result *result_r,
	       const char **why_r)
{
	*result_r = r;
	*why_r = why;
	return LOFT_EINVAL;
}

int dkim_key_parse(const char *txt, size_t len, const struct dkim_sig *sig,
		   const struct dkim_key_policy *pol, struct dkim_key **key_r,
		   enum dkim_result *result_r, const char **why_r)
{
	struct dkim_tag tags[DKIM_MAX_TAGS];
	size_t n;
	*key_r = NULL;
	if (dkim_tags_parse(txt, len, tags, DKIM_MAX_TAGS, &n) != 0)
		return bad(DKIM_PERMERROR, "key record syntax error", result_r, why_r);
	const struct dkim_tag *t = dkim_tag_get(tags, n, "v");
	if (t != NULL && (t != &tags[0] || t->value_len != 5 || memcmp(t->value, "DKIM1", 5) != 0))
		return bad(DKIM_PERMERROR, "key record v= is not DKIM1 first", result_r, why_r);
	bool ed = sig->algo == DKIM_ED25519_SHA256;
	t = dkim_tag_get(tags, n, "k");
	if (t != NULL && !((ed && t->value_len == 7 && strncasecmp(t->value, "ed25519", 7) == 0) ||
			   (!ed && t->value_len == 3 && strncasecmp(t->value, "rsa", 3) == 0)))
		return bad(DKIM_PERMERROR, "key type (k=) does not match a=", result_r, why_r);
	if (t == NULL && ed)
		return bad(DKIM_PERMERROR, "key type (k=) does not match a=", result_r, why_r);
	if ((t = dkim_tag_get(tags, n, "h")) != NULL &&
	    !dkim_list_has(t, sig->algo == DKIM_RSA_SHA1 ? "sha1" : "sha256"))
		return bad(DKIM_PERMERROR, "key does not allow this hash (h=)", result_r, why_r);
	if ((t = dkim_tag_get(tags, n, "s")) != NULL && !dkim_list_has(t, "*") &&
	    !dkim_list_has(t, "email"))
		return bad(DKIM_PERMERROR, "key is not for email (s=)", result_r, why_r);
	bool testing = false;
	if ((t = dkim_tag_get(tags, n, "t")) != NULL) {
		testing = dkim_list_has(t, "y");
		if (dkim_list_has(t, "s")) {
			const char *at = strrchr(sig->i, '@');
			if (at == NULL || strcasecmp(at + 1, sig->d) != 0)
				return bad(DKIM_PERMERROR, "key has t=s but i= is a subdomain of d=",
					   result_r, why_r);
		}
	}
	t = dkim_tag_get(tags, n, "p");
	if (t == NULL)
		return bad(DKIM_PERMERROR, "key record has no p=", result_r, why_r);
	char *clean = xmalloc(t->value_len + 1);
	size_t cl = 0;
	for (size_t i = 0; i < t->value_len; i++)
		if (!isspace((unsigned char)t->value[i]))
			clean[cl++] = t->value[i];
	if (cl == 0) {
		free(clean);
		return bad(DKIM_PERMERROR, "key revoked (empty p=)", result_r, why_r);
	}
	/* DER of an RSA key of B bits is B/8 plus ~40 bytes of structure */
	size_t der_max = pol->max_rsa_bits / 8 + 64;
	if (!ed && cl / 4 * 3 > der_max) {
		free(clean);
		return bad(DKIM_POLICY, "RSA key larger than dkim_max_rsa_bits", result_r, why_r);
	}
	uint8_t *der = xmalloc(BASE64_DECODED_MAX(cl));
	long dl = base64_decode(clean, cl, der, BASE64_DECODED_MAX(cl), false);
	free(clean);
	EVP_PKEY *pkey = NULL;
	if (dl > 0 && ed) {
		if (dl == 32)
			pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else if (dl > 0) {
		const unsigned char *p = der;
		pkey = d2i_PUBKEY(NULL, &p, dl);
		if (pkey == NULL) {
			p = der;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dl);
		}
		if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	free(der);
	if (pkey == NULL)
		return bad(DKIM_PERMERROR, "key p= is not a usable public key", result_r, why_r);
	unsigned bits = (unsigned)EVP_PKEY_get_bits(pkey);
	if (!ed && bits < pol->min_rsa_bits) {
		EVP_PKEY_free(pkey);
		return bad(DKIM_POLICY, "RSA key smaller than dkim_min_rsa_bits", result_r, why_r);
	}
	if (!ed && bits > pol->max_rsa_bits) {
		EVP_PKEY_free(pkey);
		return bad(DKIM_POLICY, "RSA key larger than dkim_max_rsa_bits", result_r, why_r);
	}
	struct dkim_key *k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->ed25519 = ed;
	k->bits = bits;
	k->testing = testing;
	*key_r = k;
	return 0;
}

bool dkim_key_verify(const struct dkim_key *key, const struct dkim_sig *sig, const void *data,
		     size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	if (key->ed25519) {
		/* RFC 8463 3: Ed25519 over the SHA-256 hash of the header data */
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned dlen = 0;
		if (EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1)
			ok = EVP_DigestVerify(ctx, sig->b, sig->b_len, digest, dlen) == 1;
	} else {
		const EVP_MD *md = sig->algo == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
		if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key->pkey) == 1 &&
		    EVP_DigestVerifyUpdate(ctx, data, len) == 1)
			ok = EVP_DigestVerifyFinal(ctx, sig->b, sig->b_len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}
