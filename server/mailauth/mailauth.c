/* The sender checks driven on a session's loop: the pure machines (SPF,
 * DKIM, DMARC, DNSBL readers) asked for DNS answers through the loop's
 * resolver, the header block collected from the DATA stream, and the
 * timers that bound the waits ([mailauth] timeout) and hand callbacks over
 * on a fresh loop turn, one per turn, so a callback that frees its conn or
 * tx never returns into code that touches it. */
#include "server/mailauth/mailauth-private.h"

#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"

/* ---- the environment ---- */

int mailauth_env_new(const struct loft_config *cfg, struct mailauth_env **env_r, char **err_r)
{
	struct mailauth_env *env = xcalloc(1, sizeof(*env));
	unsigned checks = cfg->auth_checks;
	env->run_dmarc = (checks & CONF_CHECK_DMARC) != 0;
	env->run_spf = (checks & CONF_CHECK_SPF) != 0 || env->run_dmarc;
	env->run_dkim = (checks & CONF_CHECK_DKIM) != 0 || env->run_dmarc;
	env->on_lmtp = cfg->auth_on_lmtp;
	env->authserv_id = xstrdup(cfg->authserv_id != NULL ? cfg->authserv_id : cfg->hostname);
	env->timeout_ms = cfg->auth_timeout_ms;
	env->spf_fail_action = cfg->spf_fail_action;
	env->spf_lookup_limit = cfg->spf_lookup_limit;
	env->spf_void_limit = cfg->spf_void_limit;
	env->dkim.min_rsa_bits = cfg->dkim_min_rsa_bits;
	env->dkim.max_rsa_bits = cfg->dkim_max_rsa_bits;
	env->dkim.max_signatures = cfg->dkim_max_signatures;
	env->dkim.accept_sha1 = cfg->dkim_accept_sha1;
	env->dkim.clock_skew_s = cfg->dkim_clock_skew_ms / 1000u;
	env->max_header = cfg->auth_max_header;
	env->dmarc_reject_action = cfg->dmarc_reject_action;
	env->dmarc_quarantine_action = cfg->dmarc_quarantine_action;
	env->dnsbl_action = cfg->dnsbl_action;
	dns_config_from(cfg, &env->dns);
	if (cfg->dnsbl_zones != NULL) {
		char *copy = xstrdup(cfg->dnsbl_zones), *save = NULL;
		for (char *z = strtok_r(copy, " ", &save); z != NULL; z = strtok_r(NULL, " ", &save)) {
			env->zones = xrealloc(env->zones, (env->n_zones + 1) * sizeof(*env->zones));
			env->zones[env->n_zones++] = xstrdup(z);
		}
		free(copy);
	}
	if (env->run_dmarc) {
		int e = dmarc_psl_load(cfg->public_suffix_file, &env->psl, err_r);
		if (e != 0) {
			mailauth_env_free(&env);
			return e;
		}
	}
	*env_r = env;
	return 0;
}

void mailauth_env_free(struct mailauth_env **ep)
{
	struct mailauth_env *env = *ep;
	if (env == NULL)
		return;
	free(env->authserv_id);
	for (size_t i = 0; i < env->n_zones; i++)
		free(env->zones[i]);
	free(env->zones);
	dmarc_psl_free(&env->psl);
	x_free(ep);
}

bool mailauth_env_enabled(const struct mailauth_env *env, enum conf_proto p)
{
	bool any = env->run_spf || env->run_dkim || env->n_zones > 0;
	if (p == CONF_PROTO_SMTP)
		return any;
	return p == CONF_PROTO_LMTP && env->on_lmtp && any;
}

bool mailauth_env_dnsbl(const struct mailauth_env *env)
{
	return env->n_zones > 0;
}

const char *mailauth_env_authserv_id(const struct mailauth_env *env)
{
	return env->authserv_id;
}

const char *mailauth_verdict_name(enum mailauth_verdict v)
{
	switch (v) {
	case MAILAUTH_ACCEPT: return "accept";
	case MAILAUTH_JUNK: return "junk";
	case MAILAUTH_REJECT: return "reject";
	}
	return "?";
}

/* ---- timers ---- */

static void timer_fire(uv_timer_t *h)
{
	struct ma_timer *t = h->data;
	t->fn(t->owner);
}

static struct ma_timer *timer_new(uv_loop_t *loop, void (*fn)(void *), void *owner)
{
	struct ma_timer *t = xcalloc(1, sizeof(*t));
	uv_timer_init(loop, &t->h);
	t->h.data = t;
	t->fn = fn;
	t->owner = owner;
	return t;
}

static void timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void timer_free(struct ma_timer **tp)
{
	struct ma_timer *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	uv_close((uv_handle_t *)&t->h, timer_closed);
}

static void timer_start(struct ma_timer *t, unsigned ms)
{
	uv_timer_start(&t->h, timer_fire, ms, 0);
}

/* ---- the connection and its blocklists ---- */

struct mailauth_conn *mailauth_conn_new(const struct mailauth_env *env, uv_loop_t *loop,
					const char *client_ip, const char *receiver,
					char **err_r)
{
	struct dns_resolver *dns = dns_loop_resolver(loop, &env->dns, err_r);
	if (dns == NULL)
		return NULL;
	struct mailauth_conn *c = xcalloc(1, sizeof(*c));
	c->env = env;
	c->loop = loop;
	c->dns = dns;
	c->ip_text = xstrdup(client_ip);
	c->ip_ok = spf_ip_parse(client_ip, &c->ip) == 0;
	c->receiver = xstrdup(receiver != NULL ? receiver : "unknown");
	c->helo = xstrdup("");
	return c;
}

void mailauth_conn_free(struct mailauth_conn **cp)
{
	struct mailauth_conn *c = *cp;
	if (c == NULL)
		return;
	for (size_t i = 0; c->bl != NULL && i < c->env->n_zones; i++)
		dns_cancel(&c->bl[i].q);
	free(c->bl);
	timer_free(&c->tick);
	free(c->ip_text);
	free(c->receiver);
	free(c->helo);
	free(c->bl_reply);
	x_free(cp);
}

void mailauth_conn_set_helo(struct mailauth_conn *c, const char *helo)
{
	free(c->helo);
	c->helo = xstrdup(helo != NULL ? helo : "");
}

static void conn_tick(void *owner)
{
	struct mailauth_conn *c = owner;
	mailauth_cb *cb = c->bl_cb;
	c->bl_cb = NULL;
	if (cb != NULL)
		cb(c->bl_arg);   /* last: the callback may free c */
}

static void bl_answer(struct mailauth_conn *c, size_t i, const struct dns_answer *a)
{
	c->bl[i].done = true;
	c->bl_left--;
	char code[20];
	if (dnsbl_interpret(a, code, sizeof(code)) == DNSBL_LISTED && !c->listed) {
		c->listed = true;
		c->listed_zone = c->env->zones[i];
		memcpy(c->listed_code, code, sizeof(code));
		c->bl_reply = xasprintf("554 5.7.1 Service unavailable; client host [%s] "
					"blocked using %s", c->ip_text, c->listed_zone);
	}
	if (c->bl_left == 0) {
		c->bl_done = true;
		timer_start(c->tick, 0);
	}
}

static void on_bl_dns(void *arg, const struct dns_answer *a)
{
	struct ma_pending *p = arg;
	p->q = NULL;
	bl_answer(p->owner, p->i, a);
}

void mailauth_dnsbl_start(struct mailauth_conn *c, mailauth_cb *cb, void *arg)
{
	c->bl_cb = cb;
	c->bl_arg = arg;
	if (c->tick == NULL)
		c->tick = timer_new(c->loop, conn_tick, c);
	size_t n = c->env->n_zones;
	if (n == 0 || !c->ip_ok || c->bl != NULL) {
		c->bl_done = true;
		timer_start(c->tick, 0);
		return;
	}
	c->bl = xcalloc(n, sizeof(*c->bl));
	c->bl_left = n;
	for (size_t i = 0; i < n; i++) {
		struct ma_pending *p = &c->bl[i];
		p->owner = c;
		p->i = i;
		char name[300];
		const struct dns_answer *now;
		if (!dnsbl_query_name(&c->ip, c->env->zones[i], name, sizeof(name))) {
			struct dns_answer *none = dns_answer_status(DNS_NXDOMAIN, DNS_T_A, NULL);
			bl_answer(c, i, none);
			dns_answer_free(&none);
		} else if (dns_lookup(c->dns, name, DNS_T_A, on_bl_dns, p, &p->q, &now) == 1) {
			bl_answer(c, i, now);
		}
	}
}

enum mailauth_verdict mailauth_dnsbl_verdict(const struct mailauth_conn *c, const char **reply_r)
{
	*reply_r = NULL;
	if (!c->listed || c->env->dnsbl_action != CONF_ACT_REJECT)
		return MAILAUTH_ACCEPT;
	*reply_r = c->bl_reply;
	return MAILAUTH_REJECT;
}

/* ---- the transaction ---- */

static void tx_tick(void *owner);
static void tx_wait_over(void *owner);
static void maybe_finish(struct mailauth_tx *tx);

static void spf_drive(struct mailauth_tx *tx);

static void on_spf_dns(void *arg, const struct dns_answer *a)
{
	struct ma_pending *p = arg;
	struct mailauth_tx *tx = p->owner;
	p->q = NULL;
	spf_eval_answer(tx->spf, a);
	spf_drive(tx);
}

static void spf_finished(struct mailauth_tx *tx)
{
	tx->spf_done = true;
	if (spf_eval_result(tx->spf) == SPF_FAIL)
		mailauth_spf_reply(tx);
	if (tx->spf_cb != NULL)
		timer_start(tx->tick, 0);
	maybe_finish(tx);
}

static void spf_drive(struct mailauth_tx *tx)
{
	while (!tx->spf_done) {
		const char *name;
		enum dns_type type;
		if (spf_eval_step(tx->spf, &name, &type) == SPF_STEP_DONE) {
			spf_finished(tx);
			return;
		}
		const struct dns_answer *now;
		if (dns_lookup(tx->c->dns, name, type, on_spf_dns, &tx->spf_q, &tx->spf_q.q,
			       &now) == 0)
			return;
		spf_eval_answer(tx->spf, now);
	}
}

struct mailauth_tx *mailauth_tx_begin(struct mailauth_conn *c, const char *mail_from)
{
	struct mailauth_tx *tx = xcalloc(1, sizeof(*tx));
	tx->c = c;
	tx->env = c->env;
	tx->mail_from = xstrdup(mail_from != NULL ? mail_from : "");
	tx->tick = timer_new(c->loop, tx_tick, tx);
	tx->wait = timer_new(c->loop, tx_wait_over, tx);
	tx->hdr = hdr_block_new(tx->env->max_header);
	tx->spf_q.owner = tx;
	if (!tx->env->run_spf) {
		tx->spf_done = true;
		return tx;
	}
	struct spf_params p = {
		.ip = c->ip_text,
		.mail_from = tx->mail_from,
		.helo = c->helo,
		.receiver = c->receiver,
		.lookup_limit = tx->env->spf_lookup_limit,
		.void_limit = tx->env->spf_void_limit,
		.now = (uint64_t)time(NULL),
	};
	tx->spf = spf_eval_new(&p);
	spf_drive(tx);
	return tx;
}

void mailauth_tx_free(struct mailauth_tx **tp)
{
	struct mailauth_tx *tx = *tp;
	if (tx == NULL)
		return;
	dns_cancel(&tx->spf_q.q);
	for (size_t i = 0; i < tx->n_keys; i++)
		dns_cancel(&tx->keys[i].q);
	for (size_t i = 0; i < tx->n_dm; i++) {
		dns_cancel(&tx->dmq[i].q);
		dmarc_eval_free(&tx->dm[i]);
	}
	timer_free(&tx->tick);
	timer_free(&tx->wait);
	spf_eval_free(&tx->spf);
	dkim_verifier_free(&tx->dkim);
	hdr_block_free(&tx->hdr);
	dmarc_from_free(&tx->from);
	free(tx->keys);
	free(tx->dm);
	free(tx->dmq);
	free(tx->dkim_res);
	free(tx->dm_res);
	free(tx->reply);
	free(tx->spf_reply);
	free(tx->mail_from);
	x_free(tp);
}

void mailauth_tx_on_spf(struct mailauth_tx *tx, mailauth_cb *cb, void *arg)
{
	tx->spf_cb = cb;
	tx->spf_arg = arg;
	if (tx->spf_done)
		timer_start(tx->tick, 0);
	else
		timer_start(tx->wait, tx->env->timeout_ms);
}

enum mailauth_verdict mailauth_tx_spf_verdict(const struct mailauth_tx *tx, const char **reply_r)
{
	*reply_r = NULL;
	if (tx->spf == NULL || !tx->spf_done || spf_eval_result(tx->spf) != SPF_FAIL ||
	    tx->env->spf_fail_action != CONF_ACT_REJECT)
		return MAILAUTH_ACCEPT;
	*reply_r = tx->spf_reply;   /* made when SPF ended in fail */
	return MAILAUTH_REJECT;
}

/* ---- DKIM keys and DMARC records ---- */

static void on_key_dns(void *arg, const struct dns_answer *a)
{
	struct ma_pending *p = arg;
	struct mailauth_tx *tx = p->owner;
	p->q = NULL;
	p->done = true;
	tx->keys_left--;
	dkim_verifier_key_answer(tx->dkim, p->i, a);
	maybe_finish(tx);
}

static void dmarc_drive(struct mailauth_tx *tx, size_t i);

static void on_dmarc_dns(void *arg, const struct dns_answer *a)
{
	struct ma_pending *p = arg;
	struct mailauth_tx *tx = p->owner;
	p->q = NULL;
	dmarc_eval_answer(tx->dm[p->i], a);
	dmarc_drive(tx, p->i);
	maybe_finish(tx);
}

static void dmarc_drive(struct mailauth_tx *tx, size_t i)
{
	struct ma_pending *p = &tx->dmq[i];
	const char *name;
	while (!p->done) {
		if (!dmarc_eval_query(tx->dm[i], &name)) {
			p->done = true;
			tx->dm_left--;
			return;
		}
		const struct dns_answer *now;
		if (dns_lookup(tx->c->dns, name, DNS_T_TXT, on_dmarc_dns, p, &p->q, &now) == 0)
			return;
		dmarc_eval_answer(tx->dm[i], now);
	}
}

static void header_checks(struct mailauth_tx *tx)
{
	tx->header_done = true;
	if (tx->env->run_dkim) {
		struct dkim_limits lim = tx->env->dkim;
		lim.now = (uint64_t)time(NULL);
		tx->dkim = dkim_verifier_new(&lim, tx->hdr);
		tx->n_keys = dkim_verifier_count(tx->dkim);
		tx->keys = xcalloc(tx->n_keys ? tx->n_keys : 1, sizeof(*tx->keys));
		for (size_t i = 0; i < tx->n_keys; i++) {
			struct ma_pending *p = &tx->keys[i];
			p->owner = tx;
			p->i = i;
			const char *name = dkim_verifier_key_name(tx->dkim, i);
			const struct dns_answer *now;
			if (name == NULL) {
				p->done = true;
				continue;
			}
			tx->keys_left++;
			if (dns_lookup(tx->c->dns, name, DNS_T_TXT, on_key_dns, p, &p->q, &now) == 1) {
				p->done = true;
				tx->keys_left--;
				dkim_verifier_key_answer(tx->dkim, i, now);
			}
		}
	}
	if (tx->env->run_dmarc && !hdr_block_overflow(tx->hdr)) {
		dmarc_from_domains(tx->hdr, &tx->from);
		tx->n_dm = tx->from.n;
		tx->dm = xcalloc(tx->n_dm ? tx->n_dm : 1, sizeof(*tx->dm));
		tx->dmq = xcalloc(tx->n_dm ? tx->n_dm : 1, sizeof(*tx->dmq));
		tx->dm_left = tx->n_dm;
		for (size_t i = 0; i < tx->n_dm; i++) {
			tx->dm[i] = dmarc_eval_new(tx->env->psl, tx->from.domains[i]);
			tx->dmq[i].owner = tx;
			tx->dmq[i].i = i;
			dmarc_drive(tx, i);
		}
	}
}

int mailauth_tx_feed(void *arg, const char *data, size_t len)
{
	struct mailauth_tx *tx = arg;
	if (tx->ended)
		return 0;
	if (!tx->header_done) {
		bool done;
		size_t used = hdr_block_feed(tx->hdr, data, len, &done);
		if (!done)
			return 0;
		header_checks(tx);
		data += used;
		len -= used;
	}
	if (tx->dkim != NULL && len > 0)
		dkim_verifier_body(tx->dkim, data, len);
	return 0;
}

void mailauth_tx_end(struct mailauth_tx *tx, mailauth_cb *cb, void *arg)
{
	if (!tx->header_done) {
		hdr_block_end(tx->hdr);
		header_checks(tx);
	}
	if (tx->dkim != NULL)
		dkim_verifier_body_end(tx->dkim);
	tx->ended = true;
	tx->end_cb = cb;
	tx->end_arg = arg;
	maybe_finish(tx);
	if (tx->finished)
		timer_start(tx->tick, 0);
	else
		timer_start(tx->wait, tx->env->timeout_ms);
}

/* ---- the end ---- */

static void finish(struct mailauth_tx *tx)
{
	tx->finished = true;
	uv_timer_stop(&tx->wait->h);
	struct mailauth_results *r = &tx->res;
	const char **pass_d = NULL;
	size_t n_pass = 0;
	if (tx->spf != NULL) {
		r->spf_checked = true;
		r->spf = spf_eval_result(tx->spf);
		r->spf_helo = tx->mail_from[0] == '\0';
		r->spf_identity = r->spf_helo ? tx->c->helo : spf_eval_sender(tx->spf);
		r->spf_domain = spf_eval_domain(tx->spf);
		r->spf_reason = spf_eval_reason(tx->spf);
		r->spf_explanation = spf_eval_explanation(tx->spf);
	}
	if (tx->dkim != NULL) {
		dkim_verifier_finish(tx->dkim);
		r->dkim_checked = true;
		r->n_dkim = dkim_verifier_count(tx->dkim);
		tx->dkim_res = xcalloc(r->n_dkim ? r->n_dkim : 1, sizeof(*tx->dkim_res));
		pass_d = xcalloc(r->n_dkim ? r->n_dkim : 1, sizeof(*pass_d));
		for (size_t i = 0; i < r->n_dkim; i++) {
			tx->dkim_res[i] = dkim_verifier_result(tx->dkim, i);
			if (tx->dkim_res[i]->result == DKIM_PASS)
				pass_d[n_pass++] = tx->dkim_res[i]->d;
		}
		r->dkim = tx->dkim_res;
	}
	if (tx->env->run_dmarc) {
		r->dmarc_checked = true;
		r->from_fields = tx->from.fields;
		if (hdr_block_overflow(tx->hdr))
			r->dmarc_problem = "header block larger than max_header";
		else if (tx->from.fields == 0)
			r->dmarc_problem = "no From: field";
		else if (tx->from.n == 0)
			r->dmarc_problem = "no valid domain in From:";
		struct dmarc_auth auth = {
			.spf_pass = r->spf_checked && r->spf == SPF_PASS,
			.spf_domain = r->spf_domain,
			.dkim_pass = pass_d,
			.n_dkim_pass = n_pass,
		};
		unsigned char rnd[2] = { 0, 0 };
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			rnd[0] = rnd[1] = 0;
		unsigned sample = (unsigned)((rnd[0] << 8 | rnd[1]) % 100);
		r->n_dmarc = tx->n_dm;
		tx->dm_res = xcalloc(tx->n_dm ? tx->n_dm : 1, sizeof(*tx->dm_res));
		for (size_t i = 0; i < tx->n_dm; i++) {
			dmarc_eval_decide(tx->dm[i], &auth, sample);
			tx->dm_res[i] = dmarc_eval_result(tx->dm[i]);
		}
		r->dmarc = tx->dm_res;
	}
	free(pass_d);
	r->dnsbl_listed = tx->c->listed;
	r->dnsbl_zone = tx->c->listed_zone;
	mailauth_decide(tx);
	timer_start(tx->tick, 0);
}

static void maybe_finish(struct mailauth_tx *tx)
{
	if (tx->finished || !tx->ended || !tx->spf_done || tx->keys_left > 0 || tx->dm_left > 0)
		return;
	finish(tx);
}

/* [mailauth] timeout: what is still waiting becomes a temperror. */
static void tx_wait_over(void *owner)
{
	struct mailauth_tx *tx = owner;
	if (!tx->spf_done) {
		dns_cancel(&tx->spf_q.q);
		spf_eval_abort(tx->spf, "sender checks timed out");
		spf_finished(tx);
	}
	if (!tx->ended)
		return;
	struct dns_answer *tf = dns_answer_status(DNS_TEMPFAIL, DNS_T_TXT, "timeout");
	for (size_t i = 0; i < tx->n_keys; i++) {
		struct ma_pending *p = &tx->keys[i];
		if (p->done)
			continue;
		dns_cancel(&p->q);
		p->done = true;
		tx->keys_left--;
		dkim_verifier_key_answer(tx->dkim, i, tf);
	}
	dns_answer_free(&tf);
	for (size_t i = 0; i < tx->n_dm; i++) {
		struct ma_pending *p = &tx->dmq[i];
		if (p->done)
			continue;
		dns_cancel(&p->q);
		dmarc_eval_abort(tx->dm[i]);
		p->done = true;
		tx->dm_left--;
	}
	log_info("mailauth: sender checks timed out after %u ms", tx->env->timeout_ms);
	maybe_finish(tx);
}

/* One user callback per loop turn, always the last thing done. */
static void tx_tick(void *owner)
{
	struct mailauth_tx *tx = owner;
	mailauth_cb *cb = NULL;
	void *arg = NULL;
	if (tx->spf_cb != NULL && tx->spf_done) {
		cb = tx->spf_cb;
		arg = tx->spf_arg;
		tx->spf_cb = NULL;
	} else if (tx->end_cb != NULL && tx->finished) {
		cb = tx->end_cb;
		arg = tx->end_arg;
		tx->end_cb = NULL;
	}
	if (cb == NULL)
		return;
	if ((tx->end_cb != NULL && tx->finished) || (tx->spf_cb != NULL && tx->spf_done))
		timer_start(tx->tick, 0);
	cb(arg);
}

const struct mailauth_results *mailauth_tx_results(const struct mailauth_tx *tx)
{
	return &tx->res;
}

enum mailauth_verdict mailauth_tx_verdict(const struct mailauth_tx *tx, const char **reply_r)
{
	*reply_r = tx->verdict == MAILAUTH_REJECT ? tx->reply : NULL;
	return tx->verdict;
}
