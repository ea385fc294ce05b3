/* What happens to a message given rspamd's answer (see spam.h,
 * spam_decide): the [spam] setting for rspamd's action chooses between
 * refusing (550, SMTP only), deferring (451), filing into Junk, marking
 * with headers, or ignoring; a failed scan follows on_failure. Also the
 * X-Spam/X-Spamd-Result header block and Sieve's spamtest values. Pure. */
#include "server/spam/spam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"

void spam_decision_clear(struct spam_decision *d)
{
	free(d->headers);
	d->headers = NULL;
}

void spam_policy_from_config(const struct loft_config *cfg, struct spam_policy *p_r)
{
	p_r->on_failure = cfg->spam_on_failure;
	p_r->reject = cfg->spam_reject;
	p_r->soft_reject = cfg->spam_soft_reject;
	p_r->greylist = cfg->spam_greylist;
	p_r->add_header = cfg->spam_add_header;
	p_r->rewrite_subject = cfg->spam_rewrite_subject;
	p_r->result_header = cfg->spam_result_header;
}

static int handling_for(const struct spam_policy *pol, enum spam_action a)
{
	switch (a) {
	case SPAM_ACTION_GREYLIST: return pol->greylist;
	case SPAM_ACTION_ADD_HEADER: return pol->add_header;
	case SPAM_ACTION_REWRITE_SUBJECT: return pol->rewrite_subject;
	case SPAM_ACTION_SOFT_REJECT: return pol->soft_reject;
	case SPAM_ACTION_REJECT: return pol->reject;
	default: return CONF_SPAM_IGNORE;
	}
}

static bool is_spam_action(enum spam_action a)
{
	return a == SPAM_ACTION_ADD_HEADER || a == SPAM_ACTION_REWRITE_SUBJECT ||
	       a == SPAM_ACTION_REJECT;
}

static int32_t milli(double v)
{
	double m = round(v * 1000.0);
	if (m > INT32_MAX)
		return INT32_MAX;
	if (m < -INT32_MAX)
		return -INT32_MAX;
	return (int32_t)m;
}

static int by_score(const void *a, const void *b)
{
	const struct spam_symbol *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Symbol names as header text: letters, digits and _ only. */
static void symbol_name(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (; *in != '\0' && n + 1 < cap; in++) {
		char c = *in;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

/* X-Spam: Yes (spam) and X-Spamd-Result: the verdict, score / threshold,
 * action, then one folded line per kept symbol, highest score first. */
static char *result_headers(const struct spam_result *res, bool spam, bool mark, bool result)
{
	size_t cap = 512 + (size_t)res->n_symbols * (SPAM_SYMBOL_NAME_MAX + 32);
	char *h = xmalloc(cap);
	size_t n = 0;
	h[0] = '\0';
	if (mark)
		n += (size_t)snprintf(h + n, cap - n, "X-Spam: Yes\r\n");
	if (result || mark) {
		n += (size_t)snprintf(h + n, cap - n,
				      "X-Spamd-Result: default: %s [%.2f / %.2f]; action=%s",
				      spam ? "True" : "False", res->score, res->required,
				      res->action == SPAM_ACTION_UNKNOWN ? "unknown"
				      : spam_action_name(res->action));
		struct spam_symbol sym[SPAM_RESULT_SYMBOLS_MAX];
		memcpy(sym, res->symbols, res->n_symbols * sizeof(sym[0]));
		qsort(sym, res->n_symbols, sizeof(sym[0]), by_score);
		for (unsigned i = 0; i < res->n_symbols; i++) {
			char name[SPAM_SYMBOL_NAME_MAX + 1];
			symbol_name(name, sizeof(name), sym[i].name);
			n += (size_t)snprintf(h + n, cap - n, ";\r\n\t%s(%.2f)", name, sym[i].score);
		}
		snprintf(h + n, cap - n, "\r\n");
	}
	if (h[0] == '\0') {
		free(h);
		return NULL;
	}
	return h;
}

static void set_reply(struct spam_decision *d, const char *base, const char *msg)
{
	if (msg != NULL && msg[0] != '\0')
		snprintf(d->reply, sizeof(d->reply), "%s (%s)", base, msg);
	else
		snprintf(d->reply, sizeof(d->reply), "%s", base);
}

void spam_decide(const struct spam_policy *pol, const struct spam_reply *reply,
		 bool can_reject, struct spam_decision *d_r)
{
	struct spam_decision *d = d_r;
	memset(d, 0, sizeof(*d));
	d->outcome = SPAM_DELIVER;
	d->fail = reply->fail;
	d->elapsed_ms = reply->elapsed_ms;
	if (reply->fail != SPAM_FAIL_NONE) {
		if (pol->on_failure == CONF_SPAM_TEMPFAIL) {
			d->outcome = SPAM_TEMPFAIL;
			set_reply(d, "451 4.7.1 Spam filter unavailable, try again later", NULL);
			return;
		}
		d->store.verdict = STORE_SPAM_UNSCANNED;
		d->headers = xasprintf("X-Spam-Status: Unscanned (rspamd %s)\r\n",
				       spam_fail_name(reply->fail));
		return;
	}
	const struct spam_result *res = &reply->result;
	d->scanned = true;
	d->action = res->action;
	d->score = res->score;
	d->required = res->required;
	bool spam = is_spam_action(res->action);
	d->store.verdict = spam ? STORE_SPAM_SPAM : STORE_SPAM_HAM;
	d->store.action = (uint8_t)res->action;
	d->store.score_milli = milli(res->score);
	d->store.required_milli = milli(res->required);
	int h = handling_for(pol, res->action);
	if (h == CONF_SPAM_REJECT && !can_reject)
		h = CONF_SPAM_JUNK;      /* never refuse after accepting (LMTP) */
	switch (h) {
	case CONF_SPAM_REJECT:
		d->outcome = SPAM_REJECT;
		set_reply(d, "550 5.7.1 Message refused as spam", res->smtp_message);
		return;
	case CONF_SPAM_TEMPFAIL:
		d->outcome = SPAM_TEMPFAIL;
		set_reply(d, "451 4.7.1 Message deferred, try again later", res->smtp_message);
		return;
	case CONF_SPAM_JUNK:
		d->junk = true;
		break;
	default:
		break;
	}
	bool mark = h == CONF_SPAM_JUNK || h == CONF_SPAM_HEADER;
	d->headers = result_headers(res, spam, mark, pol->result_header);
}

int spam_sieve_spamtest(const struct store_spam *s)
{
	if (s->verdict != STORE_SPAM_HAM && s->verdict != STORE_SPAM_SPAM)
		return 0;
	if (s->required_milli <= 0)
		return s->score_milli > 0 || s->verdict == STORE_SPAM_SPAM ? 10 : 1;
	double ratio = (double)s->score_milli / s->required_milli;
	if (ratio >= 1.0)
		return 10;
	if (ratio <= 0.0)
		return 1;
	return 1 + (int)ceil(ratio * 8.0);   /* 2..9 */
}

int spam_sieve_percent(const struct store_spam *s)
{
	if (s->verdict != STORE_SPAM_HAM && s->verdict != STORE_SPAM_SPAM)
		return -1;
	if (s->required_milli <= 0)
		return s->score_milli > 0 || s->verdict == STORE_SPAM_SPAM ? 100 : 0;
	double pct = 100.0 * s->score_milli / s->required_milli;
	return pct <= 0 ? 0 : pct >= 100 ? 100 : (int)lround(pct);
}
