/* MAIL and RCPT (RFC 5321 4.1.1.2-3) with their parameters: SIZE (RFC
 * 1870: the declared size against the limit), BODY (RFC 6152), SMTPUTF8
 * (RFC 6531: non-ASCII addresses only with it), RET and ENVID (MAIL),
 * NOTIFY and ORCPT (RCPT) of DSN (RFC 3461, when it is offered) and AUTH=
 * (RFC 4954 5). A recipient is resolved on the storage pool (the users file
 * is re-read when it changed, and the user's quota checked against the
 * declared size); the reply waits for it and so do pipelined commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "auth/auth.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/lmtp/checks.h"
#include "server/lmtp/ratelimit.h"
#include "server/lmtp/recipient.h"
#include "server/lmtp/session.h"
#include "server/services.h"

/* RFC 3461 4.4: ENVID at most 100 characters. */
#define ENVID_MAX 100

static bool dsn_offered(struct smtp_session *s)
{
	return !s->lmtp && smtp_config(s)->smtp_dsn_relay_host != NULL;
}

static bool param_is(const struct smtp_param *p, const char *key)
{
	return p->key_len == strlen(key) && strncasecmp(p->key, key, p->key_len) == 0;
}

static bool value_is(const struct smtp_param *p, const char *v)
{
	return p->value != NULL && p->value_len == strlen(v) &&
	       strncasecmp(p->value, v, p->value_len) == 0;
}

/* A repeated parameter, or NULL. */
static const struct smtp_param *repeated(const struct smtp_args *a)
{
	for (size_t i = 0; i < a->n_params; i++)
		for (size_t j = 0; j < i; j++)
			if (a->params[i].key_len == a->params[j].key_len &&
			    strncasecmp(a->params[i].key, a->params[j].key, a->params[i].key_len) == 0)
				return &a->params[i];
	return NULL;
}

static bool parse_size(const struct smtp_param *p, uint64_t *v_r)
{
	if (p->value == NULL || p->value_len == 0 || p->value_len > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < p->value_len; i++) {
		if (p->value[i] < '0' || p->value[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p->value[i] - '0');
	}
	*v_r = v;
	return true;
}

static char *xtext(const struct smtp_param *p, size_t max)
{
	char *out = xmalloc(max + 1);
	if (p->value == NULL || smtp_xtext_decode(p->value, p->value_len, out, max + 1) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void bad_param(struct smtp_session *s, const struct smtp_param *p, const char *why)
{
	smtp_reply(s, 501, "5.5.4 %.*s: %s", (int)(p->key_len < 32 ? p->key_len : 32), p->key, why);
}

static void unknown_param(struct smtp_session *s, const struct smtp_param *p)
{
	smtp_reply(s, 555, "5.5.4 Unsupported parameter %.*s",
		   (int)(p->key_len < 32 ? p->key_len : 32), p->key);
}

/* MAIL parameters into tx; false after replying with the error. */
static bool mail_params(struct smtp_session *s, const struct smtp_args *a, struct smtp_tx *tx)
{
	const struct loft_config *cfg = smtp_config(s);
	for (size_t i = 0; i < a->n_params; i++) {
		const struct smtp_param *p = &a->params[i];
		if (param_is(p, "SIZE")) {
			if (!parse_size(p, &tx->declared_size)) {
				bad_param(s, p, "invalid size");
				return false;
			}
			if (cfg->max_literal_size != 0 && tx->declared_size > cfg->max_literal_size) {
				smtp_reply(s, 552, "5.3.4 Message size exceeds fixed maximum message "
					   "size");
				return false;
			}
		} else if (param_is(p, "BODY")) {
			if (value_is(p, "8BITMIME")) {
				tx->body_8bit = true;
			} else if (!value_is(p, "7BIT")) {
				bad_param(s, p, "must be 7BIT or 8BITMIME");
				return false;
			}
		} else if (param_is(p, "SMTPUTF8")) {
			if (p->value != NULL) {
				bad_param(s, p, "takes no value");
				return false;
			}
			tx->smtputf8 = true;
		} else if (param_is(p, "RET") && dsn_offered(s)) {
			if (value_is(p, "FULL")) {
				tx->ret = SMTP_RET_FULL;
			} else if (value_is(p, "HDRS")) {
				tx->ret = SMTP_RET_HDRS;
			} else {
				bad_param(s, p, "must be FULL or HDRS");
				return false;
			}
		} else if (param_is(p, "ENVID") && dsn_offered(s)) {
			tx->envid = xtext(p, ENVID_MAX);
			if (tx->envid == NULL) {
				bad_param(s, p, "invalid xtext or over 100 characters");
				return false;
			}
		} else if (param_is(p, "AUTH") && !s->lmtp) {
			/* RFC 4954 5: kept when the session is authenticated;
			 * otherwise not trusted, and so not kept. */
			char *v = xtext(p, SMTP_PATH_TEXT_MAX);
			if (v == NULL) {
				bad_param(s, p, "invalid xtext");
				return false;
			}
			if (s->authenticated)
				tx->auth = v;
			else
				free(v);
		} else {
			unknown_param(s, p);
			return false;
		}
	}
	return true;
}

void smtp_cmd_mail(struct smtp_session *s, const char *args, size_t len)
{
	const struct loft_config *cfg = smtp_config(s);
	if (s->tx != NULL) {
		smtp_reply(s, 503, "5.5.1 Nested MAIL command");
		return;
	}
	/* a blocklisted client is refused here, once its DNSBL answer came */
	if (smtp_checks_hold_mail(s, args, len) || smtp_checks_mail_refused(s))
		return;
	if (!s->lmtp && cfg->smtp_require_auth && !s->authenticated) {
		smtp_reply(s, 530, "5.7.0 Authentication required");
		return;
	}
	struct smtp_args a;
	enum smtp_parse_result r = smtp_parse_args(args, len, true, &a);
	if (r == SMTP_PARSE_VERB) {
		smtp_reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (r == SMTP_PARSE_PATH || (!s->lmtp && !a.path.null && !a.path.has_domain)) {
		smtp_reply(s, 501, "5.1.7 Bad sender address syntax");
		return;
	}
	if (r != SMTP_PARSE_OK || repeated(&a) != NULL) {
		smtp_reply(s, 501, "5.5.4 Syntax error in parameters");
		return;
	}
	struct smtp_tx *tx = smtp_tx_create(++s->n_tx, conn_id(s->conn));
	if (!mail_params(s, &a, tx)) {
		smtp_tx_free(&tx, s->core.svc->storage_pool);
		return;
	}
	if (a.path.utf8 && !tx->smtputf8) {
		smtp_tx_free(&tx, s->core.svc->storage_pool);
		smtp_reply(s, 553, "5.6.7 Non-ASCII sender address needs SMTPUTF8");
		return;
	}
	if (!s->lmtp && !smtp_rate_take(s->core.svc->smtp_rate, &s->net, SMTP_RATE_MESSAGES,
					cfg->smtp_message_rate, uv_now(conn_loop(s->conn)))) {
		smtp_tx_free(&tx, s->core.svc->storage_pool);
		conn_info(s->conn, "refused: message rate over %u a minute", cfg->smtp_message_rate);
		smtp_reply(s, 450, "4.7.1 Too much mail from your network, try again later");
		return;
	}
	char text[SMTP_PATH_TEXT_MAX];
	smtp_path_format(&a.path, text, sizeof(text));
	tx->sender = xstrdup(text);
	tx->sender_utf8 = a.path.utf8;
	s->tx = tx;
	smtp_checks_tx_begin(s);   /* SPF starts now */
	smtp_enter_state(s, SMTP_STATE_MAIL);
	smtp_reply(s, 250, "2.1.0 Sender OK");
}

/* ---- RCPT ---- */

struct rcpt_job {
	struct sess_job job;         /* first: the job is the struct */
	struct store *store;
	struct userdb *db;
	struct smtp_path path;
	char address[SMTP_PATH_TEXT_MAX];
	unsigned notify;
	char *orcpt;
	uint64_t size;
	struct rcpt_policy policy;   /* strings owned (copies of the config's) */
	enum rcpt_kind kind;
	struct rcpt_target target;
	struct userdb_fields quota;
	int store_err;
};

/* RFC 3461 4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY. */
static bool parse_notify(const struct smtp_param *p, unsigned *bits_r)
{
	unsigned bits = 0;
	const char *v = p->value, *end = p->value + p->value_len;
	if (v == NULL)
		return false;
	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		size_t n = (size_t)((comma != NULL ? comma : end) - v);
		if (n == 5 && strncasecmp(v, "NEVER", 5) == 0)
			bits |= SMTP_NOTIFY_NEVER;
		else if (n == 7 && strncasecmp(v, "SUCCESS", 7) == 0)
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (n == 7 && strncasecmp(v, "FAILURE", 7) == 0)
			bits |= SMTP_NOTIFY_FAILURE;
		else if (n == 5 && strncasecmp(v, "DELAY", 5) == 0)
			bits |= SMTP_NOTIFY_DELAY;
		else
			return false;
		v += n + (comma != NULL);
		if (comma != NULL && v == end)
			return false;
	}
	if (bits == 0 || ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER))
		return false;
	*bits_r = bits;
	return true;
}

/* ORCPT=addr-type ";" xtext (RFC 3461 4.2), kept decoded. */
static char *parse_orcpt(const struct smtp_param *p)
{
	char *v = xtext(p, 500);
	if (v == NULL)
		return NULL;
	char *semi = strchr(v, ';');
	if (semi == NULL || semi == v || semi[1] == '\0') {
		free(v);
		return NULL;
	}
	for (char *q = v; q < semi; q++) {
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		      (*q >= '0' && *q <= '9') || *q == '-')) {
			free(v);
			return NULL;
		}
	}
	return v;
}

static bool rcpt_params(struct smtp_session *s, const struct smtp_args *a, struct rcpt_job *j)
{
	for (size_t i = 0; i < a->n_params; i++) {
		const struct smtp_param *p = &a->params[i];
		if (param_is(p, "NOTIFY") && dsn_offered(s)) {
			if (!parse_notify(p, &j->notify)) {
				bad_param(s, p, "must be NEVER or SUCCESS, FAILURE, DELAY");
				return false;
			}
		} else if (param_is(p, "ORCPT") && dsn_offered(s)) {
			j->orcpt = parse_orcpt(p);
			if (j->orcpt == NULL) {
				bad_param(s, p, "must be addr-type;xtext");
				return false;
			}
		} else {
			unknown_param(s, p);
			return false;
		}
	}
	return true;
}

static void rcpt_work(struct sess_job *job)
{
	struct rcpt_job *j = (struct rcpt_job *)job;
	struct userdb *db = j->db;
	char *err = NULL;
	if (userdb_refresh(db, &err) != USERDB_OK) {
		log_warn("lmtp: users file: %s", err != NULL ? err : "cannot be read");
		free(err);
	}
	j->kind = rcpt_resolve(db, &j->policy, &j->path, &j->target);
	if (j->kind != RCPT_LOCAL)
		return;
	const struct userdb_fields *f = &j->target.record->fields;
	j->quota.has_quota_bytes = f->has_quota_bytes;
	j->quota.quota_bytes = f->quota_bytes;
	j->quota.has_quota_messages = f->has_quota_messages;
	j->quota.quota_messages = f->quota_messages;
	j->store_err = delivery_quota_check(j->store, j->target.user, &j->quota, j->size);
}

static void rcpt_job_free(struct rcpt_job *j)
{
	free(j->orcpt);
	free((char *)j->policy.local_domains);
	free((char *)j->policy.delimiter);
	free((char *)j->policy.postmaster);
	free(j);
}

static void rcpt_done(struct sess_job *job)
{
	struct smtp_session *s = (struct smtp_session *)job->core;
	struct rcpt_job *j = (struct rcpt_job *)job;
	if (!sess_alive(&s->core)) {
		rcpt_job_free(j);
		return;
	}
	const struct loft_config *cfg = smtp_config(s);
	conn_cork(s->conn);
	if (s->tx == NULL) {
		/* nothing can reset the transaction while input waits */
	} else if (j->kind == RCPT_NOT_LOCAL) {
		s->tx->refused++;
		if (s->lmtp)
			smtp_reply(s, 550, "5.1.1 <%s>: Not a local address", j->address);
		else
			smtp_reply(s, 550, "5.7.1 <%s>: Relay access denied", j->address);
		conn_info(s->conn, "rcpt refused: not local rcpt=<%s>", j->address);
	} else if (j->kind == RCPT_UNKNOWN) {
		s->tx->refused++;
		smtp_reply(s, 550, "5.1.1 <%s>: User unknown", j->address);
		conn_info(s->conn, "rcpt refused: unknown user rcpt=<%s>", j->address);
	} else if (j->store_err != STORE_OK) {
		s->tx->refused++;
		const char *line = delivery_reply(j->store_err, cfg->quota_full_tempfail);
		smtp_reply(s, atoi(line), "%.5s <%s>: %s", line + 4, j->address, line + 10);
		conn_info(s->conn, "rcpt refused: rcpt=<%s> user=%s %s", j->address, j->target.user,
			  store_strerror(j->store_err));
	} else {
		struct smtp_rcpt *r = smtp_tx_add_rcpt(s->tx);
		r->address = xstrdup(j->address);
		r->utf8 = j->path.utf8;
		memcpy(r->user, j->target.user, sizeof(r->user));
		r->detail = j->target.detail[0] != '\0' ? xstrdup(j->target.detail) : NULL;
		r->quota = j->quota;
		r->notify = j->notify;
		r->orcpt = j->orcpt;
		j->orcpt = NULL;
		smtp_enter_state(s, SMTP_STATE_RCPT);
		smtp_reply(s, 250, "2.1.5 <%s> OK", j->address);
	}
	rcpt_job_free(j);
	smtp_wait_done(s);
	conn_uncork(s->conn);
}

void smtp_cmd_rcpt(struct smtp_session *s, const char *args, size_t len)
{
	const struct loft_config *cfg = smtp_config(s);
	if (s->tx == NULL || (s->state != SMTP_STATE_MAIL && s->state != SMTP_STATE_RCPT)) {
		smtp_reply(s, 503, "5.5.1 Need MAIL command first");
		return;
	}
	if (s->tx->n_rcpts >= cfg->max_recipients) {
		smtp_reply(s, 452, "4.5.3 Too many recipients");
		return;
	}
	struct smtp_args a;
	enum smtp_parse_result r = smtp_parse_args(args, len, false, &a);
	if (r == SMTP_PARSE_VERB) {
		smtp_reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (r == SMTP_PARSE_PATH) {
		smtp_reply(s, 501, "5.1.3 Bad recipient address syntax");
		return;
	}
	if (r != SMTP_PARSE_OK || repeated(&a) != NULL) {
		smtp_reply(s, 501, "5.5.4 Syntax error in parameters");
		return;
	}
	if (a.path.utf8 && !s->tx->smtputf8) {
		smtp_reply(s, 553, "5.6.7 Non-ASCII recipient address needs SMTPUTF8");
		return;
	}
	struct rcpt_job *j = xcalloc(1, sizeof(*j));
	if (!rcpt_params(s, &a, j)) {
		rcpt_job_free(j);
		return;
	}
	j->path = a.path;
	smtp_path_format(&a.path, j->address, sizeof(j->address));
	j->size = s->tx->declared_size;
	/* the job may outlive the connection and its configuration */
	j->policy = (struct rcpt_policy){
		.local_domains = xstrdup(cfg->local_domains != NULL ? cfg->local_domains : ""),
		.delimiter = xstrdup(cfg->recipient_delimiter != NULL ? cfg->recipient_delimiter
								       : ""),
		.plus_addressing = cfg->plus_addressing,
		.postmaster = xstrdup(cfg->postmaster_user != NULL ? cfg->postmaster_user : ""),
		.lmtp = s->lmtp,
	};
	j->store = s->core.svc->store;
	j->db = auth_userdb(s->core.svc->auth);
	j->job.work = rcpt_work;
	j->job.done = rcpt_done;
	smtp_wait(s, SMTP_WAIT_JOB);
	sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
}
