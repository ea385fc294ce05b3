/* DMARC evaluation of one Author Domain (RFC 7489 6.6): policy discovery
 * (_dmarc.<domain>, then _dmarc.<organizational domain> when the first
 * has no record), identifier alignment of the SPF-authenticated domain and
 * of every passing DKIM d= (strict: the same name; relaxed: the same
 * organizational domain), the result, and the policy to apply: sp= for a
 * subdomain whose record was found at its organizational domain, p=
 * otherwise, sampled by pct= (6.6.4: a message left out gets the next
 * milder policy). */
#include "server/mailauth/dmarc.h"

#include <ctype.h>
#include <string.h>

#include "lib/xmem.h"

struct dmarc_eval {
	const struct dmarc_psl *psl;
	char *from, *org;
	int stage;                 /* 0: ask the domain, 1: the org domain, 2: done */
	char *qname;
	bool have_record, at_org;
	struct dmarc_record rec;
	struct dmarc_result res;
};

struct dmarc_eval *dmarc_eval_new(const struct dmarc_psl *psl, const char *from_domain)
{
	struct dmarc_eval *e = xcalloc(1, sizeof(*e));
	e->psl = psl;
	e->from = xstrdup(from_domain);
	size_t fl = strlen(e->from);
	if (fl > 0 && e->from[fl - 1] == '.')
		e->from[fl - 1] = '\0';
	for (char *p = e->from; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	e->org = dmarc_org_domain(psl, e->from);
	e->res.from_domain = e->from;
	e->res.org_domain = e->org;
	e->res.status = DMARC_NONE;
	if (!dns_name_valid(e->from) || strlen(e->from) > 245) {
		e->stage = 2;
		e->res.status = DMARC_PERMERROR;
		e->res.why = "the From: domain is not a valid name";
	}
	return e;
}

void dmarc_eval_free(struct dmarc_eval **ep)
{
	struct dmarc_eval *e = *ep;
	if (e == NULL)
		return;
	free(e->from);
	free(e->org);
	free(e->qname);
	x_free(ep);
}

bool dmarc_eval_query(struct dmarc_eval *e, const char **name_r)
{
	if (e->stage >= 2)
		return false;
	free(e->qname);
	e->qname = xasprintf("_dmarc.%s", e->stage == 0 ? e->from : e->org);
	*name_r = e->qname;
	return true;
}

void dmarc_eval_answer(struct dmarc_eval *e, const struct dns_answer *a)
{
	if (e->stage >= 2)
		return;
	if (a->status == DNS_TEMPFAIL) {
		e->stage = 2;
		e->res.status = DMARC_TEMPERROR;
		e->res.why = "DNS error looking up the DMARC record";
		return;
	}
	const struct dns_rr *found = NULL;
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_ANSWER && i < a->n; i++) {
		if (dmarc_is_record(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			found = &a->rr[i];
			n++;
		}
	}
	if (n == 0) {
		if (e->stage == 0 && strcmp(e->from, e->org) != 0) {
			e->stage = 1;
			return;
		}
		e->stage = 2;
		e->res.why = "no DMARC record";
		return;
	}
	bool at_org = e->stage == 1;
	e->stage = 2;
	if (n > 1) {
		e->res.status = DMARC_PERMERROR;
		e->res.why = "more than one DMARC record";
		return;
	}
	const char *why;
	if (dmarc_record_parse(found->u.txt.data, found->u.txt.len, &e->rec, &why) != 0) {
		e->res.status = DMARC_PERMERROR;
		e->res.why = why;
		return;
	}
	e->have_record = true;
	e->at_org = at_org;
}

void dmarc_eval_abort(struct dmarc_eval *e)
{
	if (e->stage >= 2)
		return;
	e->stage = 2;
	e->res.status = DMARC_TEMPERROR;
	e->res.why = "DMARC record lookup timed out";
}

static bool aligned(const struct dmarc_eval *e, const char *domain, bool strict)
{
	if (domain == NULL || domain[0] == '\0')
		return false;
	if (dns_name_eq(domain, e->from))
		return true;
	if (strict)
		return false;
	char *org = dmarc_org_domain(e->psl, domain);
	bool same = dns_name_eq(org, e->org);
	free(org);
	return same;
}

void dmarc_eval_decide(struct dmarc_eval *e, const struct dmarc_auth *auth, unsigned sample)
{
	if (!e->have_record)
		return;   /* none, temperror or permerror, as the lookup ended */
	struct dmarc_result *r = &e->res;
	r->spf_aligned = auth->spf_pass && aligned(e, auth->spf_domain, e->rec.strict_spf);
	for (size_t i = 0; i < auth->n_dkim_pass && !r->dkim_aligned; i++)
		r->dkim_aligned = aligned(e, auth->dkim_pass[i], e->rec.strict_dkim);
	bool sub = e->at_org && strcmp(e->from, e->org) != 0;
	r->policy = sub ? e->rec.sp : e->rec.p;
	if (r->spf_aligned || r->dkim_aligned) {
		r->status = DMARC_PASS;
		r->applied = DMARC_P_NONE;
		r->why = NULL;
		return;
	}
	r->status = DMARC_FAIL;
	r->why = "neither SPF nor DKIM is aligned with From:";
	r->applied = r->policy;
	if (r->policy != DMARC_P_NONE && sample >= e->rec.pct) {
		r->sampled_out = true;
		r->applied = r->policy == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
	}
}

const struct dmarc_result *dmarc_eval_result(const struct dmarc_eval *e)
{
	return &e->res;
}
