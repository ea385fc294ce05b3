/* DMARC (RFC 7489): the organizational domain from the Public Suffix List,
 * the policy record parser, and an evaluator that asks for the record
 * (the Author Domain's, then the organizational domain's) and, once SPF
 * and DKIM are known, decides alignment, the result and the policy to
 * apply (p or sp, with pct sampling). Pure code: the record lookups are
 * asked for and answered like the SPF machine's. */
#ifndef LOFT_MAILAUTH_DMARC_H
#define LOFT_MAILAUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "server/dns/dns.h"

/* ---- Public Suffix List (https://publicsuffix.org/list/) ---- */

struct dmarc_psl;
/* Load the list (blocking: read at start or reload, never on a loop).
 * Returns 0, or LOFT_EIO/LOFT_EINVAL with a heap message in *err_r. */
int dmarc_psl_load(const char *path, struct dmarc_psl **psl_r, char **err_r);
/* From the list's text (tests). */
struct dmarc_psl *dmarc_psl_from_text(const char *text, size_t len);
void dmarc_psl_free(struct dmarc_psl **psl);
size_t dmarc_psl_rules(const struct dmarc_psl *psl);
/* RFC 7489 3.2: the public suffix plus one label (a heap string, lower
 * case); a name that is itself a public suffix is its own. */
char *dmarc_org_domain(const struct dmarc_psl *psl, const char *domain);

/* ---- records (RFC 7489 6.3) ---- */

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_record {
	enum dmarc_policy p, sp;
	bool has_sp;
	bool strict_dkim, strict_spf;   /* adkim=s, aspf=s */
	unsigned pct;                   /* 0..100 */
	bool has_rua;                   /* rua= present (parsed, not used) */
};
/* Whether a TXT string is a DMARC record: it begins with the tag v=DMARC1. */
bool dmarc_is_record(const char *text, size_t len);
/* Returns 0, or LOFT_EINVAL with *why_r (static). An invalid p= with a
 * valid rua= reads as p=none (6.6.3). */
int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec,
		       const char **why_r);

/* ---- the Author Domains (RFC 7489 6.6.1) ---- */

#define DMARC_MAX_AUTHORS 8
struct hdr_block;
struct dmarc_from {
	unsigned fields;                    /* From: fields in the header */
	char *domains[DMARC_MAX_AUTHORS];   /* distinct, lower case */
	size_t n;
	bool invalid;                       /* an address without a valid domain */
	bool truncated;                     /* more than DMARC_MAX_AUTHORS domains */
};
/* Every domain of every From: field (RFC 5322 address lists, groups and
 * comments handled by storage/message's parser). */
void dmarc_from_domains(const struct hdr_block *h, struct dmarc_from *out);
void dmarc_from_free(struct dmarc_from *f);

/* ---- evaluation ---- */

enum dmarc_status { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };
const char *dmarc_status_name(enum dmarc_status s);

/* What SPF and DKIM established. */
struct dmarc_auth {
	bool spf_pass;
	const char *spf_domain;         /* the SPF-authenticated domain */
	const char *const *dkim_pass;   /* d= of every passing signature */
	size_t n_dkim_pass;
};

struct dmarc_eval;
struct dmarc_eval *dmarc_eval_new(const struct dmarc_psl *psl, const char *from_domain);
void dmarc_eval_free(struct dmarc_eval **e);
/* Same protocol as spf_eval_step/answer: the record lookups. */
bool dmarc_eval_query(struct dmarc_eval *e, const char **name_r);
void dmarc_eval_answer(struct dmarc_eval *e, const struct dns_answer *a);
void dmarc_eval_abort(struct dmarc_eval *e);
/* After the lookups: decide. sample is a number in [0, 100) drawn per
 * message for pct= (a message with sample < pct gets the policy). */
void dmarc_eval_decide(struct dmarc_eval *e, const struct dmarc_auth *auth, unsigned sample);

struct dmarc_result {
	enum dmarc_status status;
	const char *from_domain;
	const char *org_domain;
	enum dmarc_policy policy;       /* p or sp as published */
	enum dmarc_policy applied;      /* after pct (fail only; else none) */
	bool spf_aligned, dkim_aligned;
	bool sampled_out;               /* pct kept the policy from applying */
	const char *why;                /* NULL or a short reason */
};
const struct dmarc_result *dmarc_eval_result(const struct dmarc_eval *e);

#endif
