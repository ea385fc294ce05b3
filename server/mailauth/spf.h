/* SPF (RFC 7208): the record parser, macro expansion and check_host() as a
 * pure state machine. The machine never does I/O: spf_eval_step() says
 * which DNS question it needs next (or that it is done) and
 * spf_eval_answer() hands it the answer, so it runs the same against the
 * loop's resolver (server/mailauth/mailauth.c) and against a fake zone in
 * the tests (the RFC 7208 suite in tests/conformance/). */
#ifndef LOFT_MAILAUTH_SPF_H
#define LOFT_MAILAUTH_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns/dns.h"

enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};
const char *spf_result_name(enum spf_result r);

/* An address as SPF sees it: an IPv4-mapped IPv6 address is IPv4. */
struct spf_ip {
	int family;          /* 4 or 6 */
	uint8_t a[16];
};
/* "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4". Returns 0 or LOFT_EINVAL. */
int spf_ip_parse(const char *text, struct spf_ip *ip_r);

/* ---- records ---- */

enum spf_mech {
	SPF_M_ALL, SPF_M_INCLUDE, SPF_M_A, SPF_M_MX, SPF_M_PTR, SPF_M_IP4, SPF_M_IP6,
	SPF_M_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier;   /* PASS, FAIL, SOFTFAIL or NEUTRAL */
	char *domain_spec;           /* macro-string; NULL = the current domain */
	uint8_t addr[16];            /* ip4 (4 bytes) / ip6 network */
	int cidr4, cidr6;            /* prefix lengths (32 / 128 when absent) */
	const char *text;            /* the term as written (in the record's buf) */
};

struct spf_record {
	struct spf_term *terms;
	size_t n, cap;
	char *redirect;              /* domain-spec or NULL */
	char *exp;                   /* domain-spec or NULL */
	bool has_all;
	char *buf;                   /* the record, each term NUL-terminated */
};

/* "v=spf1" followed by a space or the end, any case (RFC 7208 4.5). */
bool spf_is_record(const char *text, size_t len);
/* Parse a whole record (beginning "v=spf1"). Any syntax error anywhere is
 * LOFT_EINVAL with a short reason in *why_r (static string); so is a
 * record of more than SPF_MAX_TERMS terms (a local bound: a 64 KiB TXT
 * record of ordinary terms stays below it). Caller frees. */
#define SPF_MAX_TERMS 8192
int spf_record_parse(const char *text, size_t len, struct spf_record **rec_r,
		     const char **why_r);
void spf_record_free(struct spf_record **rec);

/* ---- macros (RFC 7208 7) ---- */

/* Whether s[0..len) is a valid macro-string (exp: the explain-string
 * letters c, r, t are allowed too) / domain-spec. */
bool spf_macro_valid(const char *s, size_t len, bool exp);
bool spf_domain_spec_valid(const char *s, size_t len);
/* Whether a macro-string uses %{p}. */
bool spf_macro_uses_p(const char *s);

struct spf_macro_ctx {
	const char *sender;          /* local-part@domain */
	const char *local;           /* local-part */
	const char *sender_domain;   /* domain of sender */
	const char *domain;          /* current <domain> */
	const struct spf_ip *ip;
	const char *helo;
	const char *receiver;        /* %{r} */
	const char *p;               /* %{p}: the validated name, or "unknown" */
	uint64_t now;                /* %{t} */
};
/* Expand a valid macro-string. domain: the result is a target name (a
 * trailing dot dropped; longer than 253 octets cut from the left, RFC
 * 7208 7.3). Returns a heap string, or NULL if the string is invalid. */
char *spf_macro_expand(const char *s, const struct spf_macro_ctx *ctx, bool exp,
		       bool domain);

/* ---- check_host() ---- */

struct spf_params {
	const char *ip;              /* the SMTP client's address */
	const char *mail_from;       /* reverse-path without <>; "" = null */
	const char *helo;            /* HELO/EHLO argument */
	const char *receiver;        /* our host name, for %{r} */
	bool helo_identity;          /* check the HELO identity instead */
	unsigned lookup_limit;       /* RFC 7208 4.6.4: 10 */
	unsigned void_limit;         /* RFC 7208 4.6.4: 2 */
	uint64_t now;                /* seconds since the epoch, for %{t} */
};

enum spf_step { SPF_STEP_DONE, SPF_STEP_QUERY };

struct spf_eval;
/* Never fails (allocation aborts). A null reverse-path checks
 * postmaster@<helo> (RFC 7208 2.4). */
struct spf_eval *spf_eval_new(const struct spf_params *p);
void spf_eval_free(struct spf_eval **e);
/* Advance. SPF_STEP_QUERY: *name_r (valid until the next call) and
 * *type_r are the question; answer it with spf_eval_answer(). */
enum spf_step spf_eval_step(struct spf_eval *e, const char **name_r, enum dns_type *type_r);
/* The answer to the last question (borrowed, copied as needed). */
void spf_eval_answer(struct spf_eval *e, const struct dns_answer *a);
/* Give up (the overall time limit passed): the result becomes temperror. */
void spf_eval_abort(struct spf_eval *e, const char *why);

/* After SPF_STEP_DONE. */
enum spf_result spf_eval_result(const struct spf_eval *e);
/* The exp= explanation of a fail, or NULL. */
const char *spf_eval_explanation(const struct spf_eval *e);
/* Why: the term that matched, or the error ("too many DNS lookups"). */
const char *spf_eval_reason(const struct spf_eval *e);
/* The identity checked: "postmaster@helo" for a null path. */
const char *spf_eval_sender(const struct spf_eval *e);
/* The domain check_host() began with (MAIL FROM domain or HELO). */
const char *spf_eval_domain(const struct spf_eval *e);
/* DNS lookups counted toward the limit, and void lookups. */
unsigned spf_eval_lookups(const struct spf_eval *e);
unsigned spf_eval_voids(const struct spf_eval *e);

#endif
