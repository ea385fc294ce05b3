/* What the checks of a message come to: the verdict under the [mailauth]
 * actions (SPF fail: tag or 550 5.7.23 (RFC 7372); DMARC reject and
 * quarantine policies: reject with 550 5.7.1, the Junk folder, or tag;
 * the strictest wins) and the header fields prepended to the message:
 * Authentication-Results (RFC 8601) with spf, one dkim per signature and
 * one dmarc per Author Domain, and X-Loft-DNSBL for a tagged listing. */
#include "server/mailauth/mailauth-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/authres.h"
#include "storage/message/message.h"

/* Text from the sender's DNS made safe for a reply line. */
static void clean_text(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < cap; p++)
		out[o++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
	out[o] = '\0';
}

const char *mailauth_spf_reply(struct mailauth_tx *tx)
{
	if (tx->spf_reply != NULL)
		return tx->spf_reply;
	const char *exp = spf_eval_explanation(tx->spf);
	char text[201];
	if (exp != NULL)
		clean_text(exp, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "%s does not designate %s as permitted sender",
			 spf_eval_domain(tx->spf), tx->c->ip_text);
	tx->spf_reply = xasprintf("550 5.7.23 SPF validation failed: %s", text);
	return tx->spf_reply;
}

void mailauth_decide(struct mailauth_tx *tx)
{
	const struct mailauth_results *r = &tx->res;
	const struct mailauth_env *env = tx->env;
	enum mailauth_verdict v = MAILAUTH_ACCEPT;
	const char *reject_domain = NULL;
	for (size_t i = 0; i < r->n_dmarc; i++) {
		const struct dmarc_result *d = r->dmarc[i];
		if (d->status != DMARC_FAIL || d->applied == DMARC_P_NONE)
			continue;
		int action = d->applied == DMARC_P_REJECT ? env->dmarc_reject_action
							  : env->dmarc_quarantine_action;
		if (action == CONF_ACT_REJECT && reject_domain == NULL) {
			v = MAILAUTH_REJECT;
			reject_domain = d->from_domain;
		} else if (action == CONF_ACT_QUARANTINE && v == MAILAUTH_ACCEPT) {
			v = MAILAUTH_JUNK;
		}
	}
	free(tx->reply);
	tx->reply = NULL;
	if (reject_domain != NULL) {
		tx->reply = xasprintf("550 5.7.1 Email from %s rejected per its DMARC policy",
				      reject_domain);
	} else if (r->spf_checked && r->spf == SPF_FAIL &&
		   env->spf_fail_action == CONF_ACT_REJECT) {
		v = MAILAUTH_REJECT;
		tx->reply = xstrdup(mailauth_spf_reply(tx));
	}
	tx->verdict = v;
}

void mailauth_tx_header(const struct mailauth_tx *tx, struct msg_buf *out)
{
	const struct mailauth_results *r = &tx->res;
	size_t max = 3 + r->n_dkim + r->n_dmarc;
	struct authres_entry *e = xcalloc(max, sizeof(*e));
	char (*comment)[256] = xcalloc(max, sizeof(*comment));
	size_t n = 0;
	if (r->spf_checked) {
		e[n].method = "spf";
		e[n].result = spf_result_name(r->spf);
		if (r->spf_reason != NULL && r->spf_reason[0] != '\0')
			e[n].comment = r->spf_reason;
		e[n].props[0].name = r->spf_helo ? "smtp.helo" : "smtp.mailfrom";
		e[n].props[0].value = r->spf_identity;
		e[n].n_props = 1;
		n++;
	}
	if (r->dkim_checked && r->n_dkim == 0) {
		e[n].method = "dkim";
		e[n].result = "none";
		e[n].comment = "message not signed";
		n++;
	}
	for (size_t i = 0; i < r->n_dkim; i++) {
		const struct dkim_sig_result *d = r->dkim[i];
		char *c = comment[n];
		int k = 0;
		if (d->algo != NULL && d->key_bits > 0)
			k = snprintf(c, 256, "%s, %u-bit key", d->algo, d->key_bits);
		else if (d->algo != NULL)
			k = snprintf(c, 256, "%s", d->algo);
		if (d->weak && k >= 0 && k < 256)
			k += snprintf(c + k, 256 - (size_t)k, "%sweak", k ? ", " : "");
		if (d->testing && k >= 0 && k < 256)
			k += snprintf(c + k, 256 - (size_t)k, "%stesting", k ? ", " : "");
		if (d->why != NULL && k >= 0 && k < 256)
			snprintf(c + k, 256 - (size_t)k, "%s%s", k ? "; " : "", d->why);
		e[n].method = "dkim";
		e[n].result = dkim_result_name(d->result);
		e[n].comment = c[0] != '\0' ? c : NULL;
		e[n].props[0] = (struct authres_prop){ "header.d", d->d };
		e[n].props[1] = (struct authres_prop){ "header.s", d->s };
		e[n].props[2] = (struct authres_prop){ "header.b", d->b };
		e[n].n_props = 3;
		n++;
	}
	if (r->dmarc_checked && r->dmarc_problem != NULL) {
		e[n].method = "dmarc";
		e[n].result = "permerror";
		e[n].comment = r->dmarc_problem;
		n++;
	}
	for (size_t i = 0; i < r->n_dmarc; i++) {
		const struct dmarc_result *d = r->dmarc[i];
		char *c = comment[n];
		if (d->status == DMARC_PASS || d->status == DMARC_FAIL)
			snprintf(c, 256, "p=%s%s%s%s%s", dmarc_policy_name(d->policy),
				 d->sampled_out ? ", not applied (pct)" : "",
				 r->from_fields > 1 ? ", several From: fields" : "",
				 d->why != NULL ? "; " : "", d->why != NULL ? d->why : "");
		else if (d->why != NULL)
			snprintf(c, 256, "%s", d->why);
		e[n].method = "dmarc";
		e[n].result = dmarc_status_name(d->status);
		e[n].comment = c[0] != '\0' ? c : NULL;
		e[n].props[0] = (struct authres_prop){ "header.from", d->from_domain };
		e[n].n_props = 1;
		n++;
	}
	authres_write(out, tx->env->authserv_id, e, n);
	if (r->dnsbl_listed && tx->env->dnsbl_action == CONF_ACT_TAG)
		msg_buf_printf(out, "X-Loft-DNSBL: %s listed in %s (%s)\r\n", tx->c->ip_text,
			       r->dnsbl_zone, tx->c->listed_code);
	free(comment);
	free(e);
}
