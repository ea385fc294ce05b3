/* DKIM (RFC 6376, RFC 8463, RFC 8301) verification of every DKIM-Signature
 * of a message: the tag-list parser (also DMARC's record syntax), the
 * DKIM-Signature and key record parsers, simple and relaxed
 * canonicalisation, and a verifier that hashes the body as it streams past
 * (never holding it) while the header block stays bounded.
 *
 * The verifier does no I/O: after the header it names the key records it
 * needs (dkim_verifier_key_name), the caller looks them up (the loop's
 * resolver, or a fake zone in tests) and hands the answers back; results
 * come per signature once the body has ended and every key is in.
 * Results follow RFC 8601 2.7.1: syntax errors are neutral, a missing or
 * unusable key or an unsigned From: is permerror, a lookup failure is
 * temperror, a failed hash or signature is fail, and what our settings
 * refuse (key sizes, rsa-sha1, too many signatures, a huge header) is
 * policy. */
#ifndef LOFT_MAILAUTH_DKIM_H
#define LOFT_MAILAUTH_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns/dns.h"
#include "server/mailauth/hdr-block.h"

/* ---- tag lists (RFC 6376 3.2) ---- */

struct dkim_tag {
	const char *name;        /* into the input */
	size_t name_len;
	const char *value;       /* leading and trailing FWS removed */
	size_t value_len;
	size_t seg_start;        /* offset just after '=' */
	size_t seg_end;          /* offset of the ';' or the end */
};
#define DKIM_MAX_TAGS 64
/* Parse s[0..len): LOFT_EINVAL for a syntax error, a repeated tag name or
 * more than max tags. Empty segments (";;", a trailing ';') are allowed. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_tag *tags, size_t max,
		    size_t *n_r);
/* The tag named name (case-sensitive, as RFC 6376 says), or NULL. */
const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, size_t n, const char *name);
/* The items of a colon-separated value (h=, k=, q=, s=, t=), white space
 * trimmed, empty ones included. *pos starts at 0; false after the last. */
bool dkim_list_next(const struct dkim_tag *t, size_t *pos, const char **item_r,
		    size_t *len_r);
/* Whether such a list holds word (ASCII case-insensitive). */
bool dkim_list_has(const struct dkim_tag *t, const char *word);

/* ---- results ---- */

enum dkim_result {
	DKIM_PASS, DKIM_FAIL, DKIM_NEUTRAL, DKIM_POLICY, DKIM_TEMPERROR, DKIM_PERMERROR,
};
const char *dkim_result_name(enum dkim_result r);

enum dkim_algo { DKIM_RSA_SHA256, DKIM_RSA_SHA1, DKIM_ED25519_SHA256 };
const char *dkim_algo_name(enum dkim_algo a);
enum dkim_canon { DKIM_SIMPLE, DKIM_RELAXED };

/* ---- DKIM-Signature (RFC 6376 3.5) ---- */

struct dkim_sig {
	enum dkim_algo algo;
	enum dkim_canon hcanon, bcanon;
	char *d;                 /* SDID, lower case */
	char *s;                 /* selector */
	char *i;                 /* AUID ("@d" when absent) */
	char **h;                /* signed header field names */
	size_t n_h;
	bool has_l;
	uint64_t l;
	bool has_t, has_x;
	uint64_t t, x;
	uint8_t bh[64];
	size_t bh_len;
	uint8_t *b;              /* the signature */
	size_t b_len;
	char b_text[16];         /* first 8 base64 characters, for header.b */
	size_t b_start, b_end;   /* the b= value's segment in the field value */
};
/* Parse a DKIM-Signature field value. Errors: LOFT_EINVAL with *why_r
 * (static) and *result_r the RFC 8601 result it makes (neutral for
 * syntax, permerror for what RFC 6376 6.1.1 makes unacceptable). */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig **sig_r,
		   enum dkim_result *result_r, const char **why_r);
void dkim_sig_free(struct dkim_sig **sig);

/* ---- key records (RFC 6376 3.6.1) ---- */

struct dkim_key;
struct dkim_key_policy {
	unsigned min_rsa_bits;
	unsigned max_rsa_bits;
};
/* Parse a key record and load the key for sig. On error returns
 * LOFT_EINVAL with *result_r (permerror, or policy for key sizes) and
 * *why_r (static). */
int dkim_key_parse(const char *txt, size_t len, const struct dkim_sig *sig,
		   const struct dkim_key_policy *pol, struct dkim_key **key_r,
		   enum dkim_result *result_r, const char **why_r);
void dkim_key_free(struct dkim_key **key);
unsigned dkim_key_bits(const struct dkim_key *key);
bool dkim_key_testing(const struct dkim_key *key);
/* Verify sig->b over the canonicalised header data. */
bool dkim_key_verify(const struct dkim_key *key, const struct dkim_sig *sig,
		     const void *data, size_t len);

/* ---- canonicalisation (RFC 6376 3.4) ---- */

/* Body canonicaliser: fed the body in chunks of any size, writes the
 * canonical form to out (any split gives the same output). */
struct dkim_body_canon {
	enum dkim_canon c;
	bool line_has_content;
	bool cr;                 /* a CR waits for its LF */
	bool wsp;                /* relaxed: whitespace waits */
	uint64_t empty_lines;    /* empty lines not yet written */
	bool any;                /* something was written */
};
typedef void dkim_out_fn(void *ctx, const char *data, size_t len);
void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c);
void dkim_body_canon_feed(struct dkim_body_canon *bc, const char *data, size_t len,
			  dkim_out_fn *out, void *ctx);
void dkim_body_canon_end(struct dkim_body_canon *bc, dkim_out_fn *out, void *ctx);

/* One header field canonicalised (with CRLF unless no_crlf); the value may
 * be given apart from the field (the b= value removed). Appends to out. */
struct msg_buf;
void dkim_header_canon(enum dkim_canon c, const char *name, size_t name_len,
		       const char *value, size_t value_len, const char *raw, size_t raw_len,
		       bool no_crlf, struct msg_buf *out);

/* ---- the verifier ---- */

struct dkim_limits {
	unsigned min_rsa_bits, max_rsa_bits;
	unsigned max_signatures;
	bool accept_sha1;
	uint64_t now;            /* seconds since the epoch */
	unsigned clock_skew_s;
};

struct dkim_sig_result {
	enum dkim_result result;
	const char *why;         /* NULL for pass */
	const char *d, *s, *i;   /* NULL when the field did not parse */
	const char *b;           /* header.b: the first 8 characters of b= */
	const char *algo;
	unsigned key_bits;       /* RSA key size; 0 for Ed25519 */
	bool weak;               /* rsa-sha1 */
	bool testing;            /* the key's t=y */
};

struct dkim_verifier;
/* After the header block is done. Signatures beyond max_signatures get
 * policy. A header over the limit makes one policy result. */
struct dkim_verifier *dkim_verifier_new(const struct dkim_limits *lim,
					const struct hdr_block *hdr);
void dkim_verifier_free(struct dkim_verifier **v);
void dkim_verifier_body(struct dkim_verifier *v, const char *data, size_t len);
void dkim_verifier_body_end(struct dkim_verifier *v);
size_t dkim_verifier_count(const struct dkim_verifier *v);
/* "selector._domainkey.domain" to look up for signature i, NULL when that
 * signature needs no key (it already has its result). */
const char *dkim_verifier_key_name(const struct dkim_verifier *v, size_t i);
void dkim_verifier_key_answer(struct dkim_verifier *v, size_t i, const struct dns_answer *a);
/* After body_end and every key answer: verify. */
void dkim_verifier_finish(struct dkim_verifier *v);
const struct dkim_sig_result *dkim_verifier_result(const struct dkim_verifier *v, size_t i);

#endif
