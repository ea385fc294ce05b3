/* The checks of a message on its way in (see checks.h): the sender
 * checks' connection and transaction, the anti-forgery filter on the
 * stored copy, the wait for the DNSBL at MAIL and for SPF at DATA, and at
 * the end the sender checks' verdict followed by rspamd's, which reads the
 * spooled message (opened on the storage pool) with the SPF, DKIM and
 * DMARC results in its request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "server/lmtp/checks.h"
#include "server/lmtp/session.h"
#include "server/mailauth/mailauth.h"
#include "server/services.h"
#include "server/spam/spam.h"
#include "storage/message/message.h"

/* Room kept for the header lines the checks prepend (Authentication-
 * Results with its DKIM entries, X-Spamd-Result with rspamd's symbols). */
#define CHECKS_HEADROOM 65536
#define MAX_DKIM 16

struct open_job {
	struct sess_job job;
	struct delivery_msg *msg;
	int fd;
	uint64_t size;
};

struct smtp_checks {
	struct mailauth_ref *ref;        /* NULL: no sender checks */
	struct mailauth_conn *ma;
	bool dnsbl_pending;
	char *held_mail;                 /* MAIL waiting for the DNSBL */
	size_t held_len;
	bool spam;                       /* rspamd scans this protocol */
	/* the transaction */
	struct mailauth_tx *tx;
	struct authres_filter *filter;
	smtp_checks_cont_fn *cont;
	smtp_checks_done_fn *done;
	struct spam_scan *scan;
	int scan_fd;
	struct msg_buf headers;
	struct smtp_check_result res;
	char reject[256];
};

static enum conf_proto proto_of(const struct smtp_session *s)
{
	return s->lmtp ? CONF_PROTO_LMTP : CONF_PROTO_SMTP;
}

static void dnsbl_done(void *arg);

void smtp_checks_connect(struct smtp_session *s)
{
	const struct loft_services *svc = smtp_services(s);
	struct mailauth_ref *ref = services_mailauth_get(svc);
	bool ma = mailauth_env_enabled(ref->env, proto_of(s));
	bool spam = spam_scan_wanted(smtp_config(s), proto_of(s));
	if (!ma)
		services_mailauth_put(svc, &ref);
	if (!ma && !spam)
		return;
	struct smtp_checks *ck = xcalloc(1, sizeof(*ck));
	ck->scan_fd = -1;
	ck->spam = spam;
	s->checks = ck;
	if (!ma)
		return;
	char *err = NULL;
	ck->ma = mailauth_conn_new(ref->env, conn_loop(s->conn), conn_remote_ip(s->conn),
				   smtp_hostname(s), &err);
	if (ck->ma == NULL) {
		conn_warn(s->conn, "sender checks off for this connection: %s",
			  err != NULL ? err : "no resolver");
		free(err);
		services_mailauth_put(svc, &ref);
		return;
	}
	ck->ref = ref;
	if (mailauth_env_dnsbl(ref->env)) {
		ck->dnsbl_pending = true;
		mailauth_dnsbl_start(ck->ma, dnsbl_done, s);
	}
}

void smtp_checks_tx_reset(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL)
		return;
	mailauth_tx_free(&ck->tx);
	authres_filter_free(&ck->filter);
	spam_scan_abort(&ck->scan);
	if (ck->scan_fd >= 0)
		close(ck->scan_fd);
	ck->scan_fd = -1;
	msg_buf_free(&ck->headers);
	ck->cont = NULL;
	ck->done = NULL;
	memset(&ck->res, 0, sizeof(ck->res));
}

void smtp_checks_free(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL)
		return;
	smtp_checks_tx_reset(s);
	mailauth_conn_free(&ck->ma);
	services_mailauth_put(smtp_services(s), &ck->ref);
	free(ck->held_mail);
	free(ck);
	s->checks = NULL;
}

void smtp_checks_helo(struct smtp_session *s)
{
	if (s->checks != NULL && s->checks->ma != NULL)
		mailauth_conn_set_helo(s->checks->ma, s->helo);
}

/* ---- MAIL ---- */

/* Run the MAIL that waited for the DNSBL. */
static void replay_mail(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	char *args = ck->held_mail;
	ck->held_mail = NULL;
	s->timer_cb = NULL;   /* the overdue timer, if it is still set */
	conn_cork(s->conn);
	smtp_cmd_mail(s, args, ck->held_len);
	free(args);
	smtp_wait_done(s);
	if (s->conn != NULL)
		conn_uncork(s->conn);
}

static void dnsbl_done(void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_checks *ck = s->checks;
	ck->dnsbl_pending = false;
	if (ck->held_mail != NULL)
		replay_mail(s);
}

/* [mailauth] timeout passed at MAIL and some zone has not answered: the
 * client counts as not listed (what answers later still counts). */
static void dnsbl_overdue(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL || ck->held_mail == NULL)
		return;
	conn_info(s->conn, "DNSBL answers overdue after %u ms: MAIL goes on",
		  smtp_config(s)->auth_timeout_ms);
	ck->dnsbl_pending = false;
	replay_mail(s);
}

bool smtp_checks_hold_mail(struct smtp_session *s, const char *args, size_t len)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL || !ck->dnsbl_pending || s->authenticated)
		return false;
	free(ck->held_mail);
	ck->held_mail = xstrndup(args, len);
	ck->held_len = len;
	smtp_wait(s, SMTP_WAIT_CHECK);
	smtp_timer_start(s, smtp_config(s)->auth_timeout_ms, dnsbl_overdue);
	return true;
}

bool smtp_checks_mail_refused(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	const char *reply;
	if (ck == NULL || ck->ma == NULL || s->authenticated ||
	    mailauth_dnsbl_verdict(ck->ma, &reply) != MAILAUTH_REJECT)
		return false;
	conn_info(s->conn, "refused MAIL: client blocklisted (%s)", reply);
	smtp_reply_line(s, reply);
	return true;
}

void smtp_checks_tx_begin(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	/* an authenticated client sends as itself: SPF, DKIM and DMARC are
	 * for mail from elsewhere (rspamd still scans it) */
	if (ck == NULL || ck->ma == NULL || s->authenticated)
		return;
	mailauth_tx_free(&ck->tx);
	ck->tx = mailauth_tx_begin(ck->ma, s->tx->sender);
}

/* ---- DATA ---- */

static void spf_done(void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_checks *ck = s->checks;
	const char *reply = NULL;
	if (mailauth_tx_spf_verdict(ck->tx, &reply) == MAILAUTH_REJECT)
		conn_info(s->conn, "refused DATA id=%s: %s", s->tx->id, reply);
	smtp_checks_cont_fn *cont = ck->cont;
	ck->cont = NULL;
	conn_cork(s->conn);
	char line[256];
	snprintf(line, sizeof(line), "%s", reply != NULL ? reply : "");
	cont(s, reply != NULL ? line : NULL);
	smtp_wait_done(s);
	if (s->conn != NULL)
		conn_uncork(s->conn);
}

bool smtp_checks_before_data(struct smtp_session *s, smtp_checks_cont_fn *cont)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL || ck->tx == NULL || smtp_config(s)->spf_fail_action != CONF_ACT_REJECT)
		return false;
	ck->cont = cont;
	smtp_wait(s, SMTP_WAIT_CHECK);
	mailauth_tx_on_spf(ck->tx, spf_done, s);
	return true;
}

bool smtp_checks_data_begin(struct smtp_session *s, authres_out_fn *out, void *ctx)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL || ck->tx == NULL)
		return false;
	authres_filter_free(&ck->filter);
	ck->filter = authres_filter_new(mailauth_env_authserv_id(ck->ref->env), out, ctx);
	return true;
}

void smtp_checks_feed(struct smtp_session *s, const char *data, size_t len)
{
	struct smtp_checks *ck = s->checks;
	mailauth_tx_feed(ck->tx, data, len);
	authres_filter_feed(ck->filter, data, len);
}

void smtp_checks_data_end(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	if (ck != NULL && ck->filter != NULL)
		authres_filter_end(ck->filter);
}

size_t smtp_checks_headroom(const struct smtp_session *s)
{
	return s->checks != NULL ? CHECKS_HEADROOM : 0;
}

/* ---- the end ---- */

static void finish(struct smtp_session *s)
{
	struct smtp_checks *ck = s->checks;
	smtp_checks_done_fn *done = ck->done;
	ck->done = NULL;
	/* a copy: done() may reset the transaction (the headers stay until
	 * then, as smtp_checks_tx_reset frees them) */
	struct smtp_check_result r = ck->res;
	if (r.reject == NULL && ck->headers.len > 0) {
		msg_buf_putc(&ck->headers, '\0');
		r.headers = ck->headers.data;
	}
	done(s, &r);
}

static void reject_with(struct smtp_checks *ck, const char *line)
{
	snprintf(ck->reject, sizeof(ck->reject), "%s", line);
	ck->res.reject = ck->reject;
}

static void scan_done(void *arg, struct spam_decision *d)
{
	struct smtp_session *s = arg;
	struct smtp_checks *ck = s->checks;
	ck->scan = NULL;
	close(ck->scan_fd);
	ck->scan_fd = -1;
	if (d->outcome != SPAM_DELIVER) {
		reject_with(ck, d->reply);
	} else {
		if (d->headers != NULL)
			msg_buf_puts(&ck->headers, d->headers);
		ck->res.junk |= d->junk;
		ck->res.spam = d->store;
	}
	conn_cork(s->conn);
	finish(s);
	if (s->conn != NULL)
		conn_uncork(s->conn);
}

/* What the sender checks found, for rspamd's request. */
static void spam_auth_of(const struct smtp_checks *ck, struct spam_auth *a,
			 struct spam_dkim *dkim)
{
	memset(a, 0, sizeof(*a));
	if (ck->tx == NULL)
		return;
	const struct mailauth_results *r = mailauth_tx_results(ck->tx);
	if (r->spf_checked)
		a->spf = spf_result_name(r->spf);
	if (r->dkim_checked) {
		for (size_t i = 0; i < r->n_dkim && i < MAX_DKIM; i++) {
			dkim[i].result = dkim_result_name(r->dkim[i]->result);
			dkim[i].domain = r->dkim[i]->d;
		}
		a->dkim = dkim;
		a->n_dkim = r->n_dkim < MAX_DKIM ? r->n_dkim : MAX_DKIM;
	}
	if (r->dmarc_checked && r->dmarc_problem != NULL) {
		a->dmarc = "permerror";
	} else if (r->dmarc_checked && r->n_dmarc > 0) {
		a->dmarc = dmarc_status_name(r->dmarc[0]->status);
		if (r->dmarc[0]->status == DMARC_FAIL)
			a->dmarc_policy = dmarc_policy_name(r->dmarc[0]->policy);
	}
}

static void start_scan(struct smtp_session *s, int fd, uint64_t size)
{
	struct smtp_checks *ck = s->checks;
	struct smtp_tx *tx = s->tx;
	const char **rcpts = xcalloc(tx->n_rcpts, sizeof(*rcpts));
	bool one_user = true;
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		rcpts[i] = tx->rcpts[i].address;
		one_user &= strcmp(tx->rcpts[i].user, tx->rcpts[0].user) == 0;
	}
	struct spam_auth auth;
	struct spam_dkim dkim[MAX_DKIM];
	spam_auth_of(ck, &auth, dkim);
	struct spam_envelope env = {
		.client_ip = conn_remote_ip(s->conn),
		.helo = s->helo,
		.mail_from = tx->sender,
		.rcpts = rcpts,
		.n_rcpts = tx->n_rcpts,
		.auth_user = s->authenticated ? s->auth_user : NULL,
		.queue_id = tx->id,
		.deliver_to = one_user ? tx->rcpts[0].user : NULL,
		.auth = ck->tx != NULL ? &auth : NULL,
	};
	ck->scan_fd = fd;
	ck->scan = spam_scan_file(&s->core, proto_of(s), &env, fd, size, scan_done, s);
	free(rcpts);
	if (ck->scan == NULL) {
		/* [spam] enabled went off in a reload after this session began */
		close(fd);
		ck->scan_fd = -1;
		finish(s);
	}
}

static void open_work(struct sess_job *job)
{
	struct open_job *j = (struct open_job *)job;
	j->fd = delivery_msg_open(j->msg);
	j->size = j->msg->size;
}

static void open_done(struct sess_job *job)
{
	struct open_job *j = (struct open_job *)job;
	struct smtp_session *s = (struct smtp_session *)job->core;
	int fd = j->fd;
	uint64_t size = j->size;
	free(j);
	if (!sess_alive(&s->core)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	s->wait = SMTP_WAIT_CHECK;
	conn_cork(s->conn);
	if (fd < 0) {
		conn_warn(s->conn, "spam: id=%s spooled message not readable", s->tx->id);
		reject_with(s->checks, "451 4.3.0 Temporary local problem, try again later");
		finish(s);
	} else {
		start_scan(s, fd, size);
	}
	if (s->conn != NULL)
		conn_uncork(s->conn);
}

/* rspamd reads the spool: opened on the storage pool. */
static void scan_spool(struct smtp_session *s)
{
	struct open_job *j = xcalloc(1, sizeof(*j));
	j->msg = s->tx->msg;
	j->fd = -1;
	j->job.work = open_work;
	j->job.done = open_done;
	smtp_wait(s, SMTP_WAIT_JOB);   /* the pool reads tx->msg */
	sess_submit(&s->core, smtp_services(s)->storage_pool, &j->job);
}

static void log_auth(struct smtp_session *s, enum mailauth_verdict v)
{
	const struct mailauth_results *r = mailauth_tx_results(s->checks->tx);
	char dkim[128] = "";
	size_t k = 0;
	for (size_t i = 0; i < r->n_dkim && k < sizeof(dkim) - 1; i++) {
		int n = snprintf(dkim + k, sizeof(dkim) - k, "%s%s", i ? "," : "",
				 dkim_result_name(r->dkim[i]->result));
		if (n < 0)
			break;
		k += (size_t)n;
	}
	conn_info(s->conn, "mailauth id=%s spf=%s dkim=%s dmarc=%s dnsbl=%s verdict=%s",
		  s->tx->id, r->spf_checked ? spf_result_name(r->spf) : "-",
		  !r->dkim_checked ? "-" : r->n_dkim == 0 ? "none" : dkim,
		  !r->dmarc_checked ? "-" : r->dmarc_problem != NULL ? "permerror"
		  : r->n_dmarc > 0 ? dmarc_status_name(r->dmarc[0]->status) : "none",
		  r->dnsbl_listed ? r->dnsbl_zone : "-", mailauth_verdict_name(v));
}

static void auth_done(void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_checks *ck = s->checks;
	const char *reply = NULL;
	enum mailauth_verdict v = mailauth_tx_verdict(ck->tx, &reply);
	log_auth(s, v);
	conn_cork(s->conn);
	if (v == MAILAUTH_REJECT) {
		reject_with(ck, reply);
		finish(s);
	} else {
		ck->res.junk = v == MAILAUTH_JUNK;
		mailauth_tx_header(ck->tx, &ck->headers);
		if (ck->spam)
			scan_spool(s);
		else
			finish(s);
	}
	if (s->conn != NULL)
		conn_uncork(s->conn);
}

void smtp_checks_end(struct smtp_session *s, smtp_checks_done_fn *done)
{
	struct smtp_checks *ck = s->checks;
	if (ck == NULL || (ck->tx == NULL && !ck->spam)) {
		struct smtp_check_result none = { 0 };
		done(s, &none);
		return;
	}
	ck->done = done;
	memset(&ck->res, 0, sizeof(ck->res));
	smtp_wait(s, SMTP_WAIT_CHECK);
	if (ck->tx != NULL)
		mailauth_tx_end(ck->tx, auth_done, s);
	else
		scan_spool(s);
}
