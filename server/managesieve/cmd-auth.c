/* ManageSieve commands of the login: STARTTLS (RFC 5804 2.2: capabilities
 * again after the handshake), AUTHENTICATE (2.1) with the SASL mechanisms
 * of auth/ (auth_mechanisms() for this connection, the plaintext policy of
 * plaintext_auth; challenges and responses are ManageSieve strings, "*"
 * cancels), the store opened for the user, and UNAUTHENTICATE (2.14). SASL
 * steps that hash run on the hash pool; a failed login is answered after
 * the throttle's delay, waited on a loop timer that keeps the session
 * alive like a job (the engine's delay helper on the authwire branch can
 * take its place). */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "auth/auth.h"
#include "auth/sasl.h"
#include "lib/xmem.h"
#include "server/managesieve/commands.h"
#include "server/net/post.h"
#include "server/services.h"
#include "storage/store.h"

static void auth_conn_of(struct ms_session *s, struct auth_conn *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->service = USERDB_SERVICE_SIEVE;
	ac->remote_addr = conn_remote_ip(s->conn);
	ac->tls = conn_is_tls(s->conn);
}

void ms_mechanisms(struct ms_session *s, char *buf, size_t size)
{
	struct auth_conn ac;
	auth_conn_of(s, &ac);
	const char *names[AUTH_MECH_COUNT];
	size_t n = auth_mechanisms(s->core.svc->auth, &ac, names, AUTH_MECH_COUNT);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? " " : "", names[i]);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
}

void ms_cmd_starttls(struct ms_session *s, struct ms_args *args)
{
	if (args->n != 1) {
		ms_no(s, NULL, "STARTTLS takes no arguments.");
		return;
	}
	if (conn_is_tls(s->conn)) {
		ms_no(s, NULL, "TLS is already active.");
		return;
	}
	if (!conn_can_starttls(s->conn)) {
		ms_no(s, NULL, "STARTTLS is not offered on this port.");
		return;
	}
	ms_ok(s, NULL, "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0) {
		conn_close(s->conn, "starttls failed");
		return;
	}
	/* RFC 5804 2.2: the capabilities again, over TLS */
	ms_capability(s);
	ms_ok(s, NULL, "TLS negotiation successful.");
}

/* ---- the exchange ---- */

struct ms_delay {
	uv_timer_t timer;
	struct ms_session *s;
	int result;
	unsigned retry_ms;
};

static void answer_failure(struct ms_session *s, int r, unsigned retry_ms)
{
	switch (r) {
	case AUTH_ETHROTTLED:
	case AUTH_ETEMP:
		ms_no(s, "TRYLATER", "Authentication is temporarily unavailable; try again later.");
		break;
	case AUTH_ECANCEL:
		ms_no(s, NULL, "Authentication cancelled.");
		break;
	case AUTH_EBASE64:
	case AUTH_ETOOLONG:
		ms_no(s, NULL, "Invalid SASL response.");
		break;
	case AUTH_EPRIVACY:
		ms_no(s, "ENCRYPT-NEEDED", "Plaintext authentication needs TLS; use STARTTLS first.");
		break;
	case AUTH_EDISABLED:
		ms_no(s, NULL, "This account may not use ManageSieve; contact your administrator.");
		break;
	case AUTH_EAUTHZ:
		ms_no(s, NULL, "Not authorized to act as that user.");
		break;
	default:
		ms_no(s, NULL, "Authentication failed.");
		break;
	}
	(void)retry_ms;
}

static void delay_closed(uv_handle_t *h)
{
	free(h->data);
}

static void delay_fired(uv_timer_t *t)
{
	struct ms_delay *d = t->data;
	struct ms_session *s = d->s;
	struct sess_core *core = &s->core;
	struct worker *home = core->home;
	s->delay = NULL;
	d->timer.data = d;
	uv_close((uv_handle_t *)&d->timer, delay_closed);
	if (sess_alive(core))
		answer_failure(s, d->result, d->retry_ms);
	ms_cmd_finish(s);
	if (--core->jobs == 0 && core->released)
		core->destroy(core);
	worker_release(home);
}

static void fail(struct ms_session *s, int r)
{
	const struct auth_login *login = s->sasl != NULL ? sasl_login(s->sasl) : NULL;
	unsigned delay = login != NULL && r != AUTH_ETHROTTLED ? login->delay_ms : 0;
	unsigned retry = login != NULL ? login->retry_ms : 0;
	if (s->conn != NULL)
		conn_info(s->conn, "login failed user=%s mech=%s reason=%s",
			  login != NULL && login->user[0] ? login->user : "?",
			  s->sasl != NULL ? sasl_mech(s->sasl) : "?", auth_strerror(r));
	sasl_free(&s->sasl);
	s->sasl_waiting = false;
	if (delay == 0 || s->conn == NULL) {
		answer_failure(s, r, retry);
		ms_cmd_finish(s);
		return;
	}
	struct ms_delay *d = xcalloc(1, sizeof(*d));
	d->s = s;
	d->result = r;
	d->retry_ms = retry;
	uv_timer_init(conn_loop(s->conn), &d->timer);
	d->timer.data = d;
	s->delay = d;
	/* counted like a job: the session outlives its connection until the
	 * answer was given */
	s->core.jobs++;
	worker_hold(s->core.home);
	ms_cmd_hold(s);
	uv_timer_start(&d->timer, delay_fired, delay, 0);
}

struct open_job {
	struct sess_job job;
	struct ms_session *s;
	char *user;
	struct store_user *su;
	int err;
};

static void open_work(struct sess_job *job)
{
	struct open_job *o = (struct open_job *)job;
	o->err = store_user_open(job->core->svc->store, o->user, &o->su);
}

static void open_done(struct sess_job *job)
{
	struct open_job *o = (struct open_job *)job;
	struct ms_session *s = o->s;
	if (sess_alive(&s->core)) {
		if (o->err != STORE_OK) {
			conn_error(s->conn, "login user=%s: cannot open the user's store: %s", o->user,
				   store_strerror(o->err));
			ms_no(s, "TRYLATER", "Your scripts are temporarily unavailable; try again later.");
		} else {
			conn_info(s->conn, "login user=%s mech=%s", o->user,
				  s->sasl ? sasl_mech(s->sasl) : "?");
			ms_logged_in(s, o->user, o->su);
			o->user = NULL;
			o->su = NULL;
			ms_ok(s, NULL, "Logged in.");
		}
	}
	sasl_free(&s->sasl);
	store_user_close(&o->su);
	free(o->user);
	free(o);
	ms_cmd_finish(s);
}

static void step_result(struct ms_session *s, int r, const char *challenge);

static void work_sasl(struct sess_job *job)
{
	struct ms_session *s = *(struct ms_session **)(job + 1);
	sasl_work(s->sasl);
}

static void work_done(struct sess_job *job)
{
	struct ms_session *s = *(struct ms_session **)(job + 1);
	free(job);
	if (!sess_alive(&s->core)) {
		sasl_free(&s->sasl);
		ms_cmd_finish(s);
		return;
	}
	const char *challenge = NULL;
	int r = sasl_resume(s->sasl, &challenge);
	s->held = false;
	step_result(s, r, challenge);
	if (!s->held)
		ms_cmd_finish(s);
}

static void step_result(struct ms_session *s, int r, const char *challenge)
{
	if (r == SASL_CONTINUE) {
		struct msg_buf b = { 0 };
		ms_put_string(&b, challenge, strlen(challenge));
		msg_buf_puts(&b, "\r\n");
		conn_write(s->conn, b.data, b.len);
		msg_buf_free(&b);
		s->sasl_waiting = true;
		return;
	}
	if (r == SASL_NEED_WORK) {
		struct sess_job *job = xcalloc(1, sizeof(*job) + sizeof(s));
		*(struct ms_session **)(job + 1) = s;
		job->work = work_sasl;
		job->done = work_done;
		ms_cmd_hold(s);
		sess_submit(&s->core, s->core.svc->hash_pool, job);
		return;
	}
	if (r == AUTH_OK) {
		struct open_job *o = xcalloc(1, sizeof(*o));
		o->s = s;
		o->user = xstrdup(sasl_login(s->sasl)->user);
		o->job.work = open_work;
		o->job.done = open_done;
		ms_cmd_hold(s);
		sess_submit(&s->core, s->core.svc->storage_pool, &o->job);
		return;
	}
	fail(s, r);
}

void ms_cmd_authenticate(struct ms_session *s, struct ms_args *args)
{
	if (args->n < 2 || args->n > 3 || args->v[1].type != MS_ARG_STRING ||
	    (args->n == 3 && args->v[2].type != MS_ARG_STRING)) {
		ms_no(s, NULL, "AUTHENTICATE takes a mechanism and an optional initial response.");
		return;
	}
	struct auth_conn ac;
	auth_conn_of(s, &ac);
	sasl_free(&s->sasl);
	int r = sasl_start(s->core.svc->auth, &ac, args->v[1].data, &s->sasl);
	if (r == AUTH_ENOMECH) {
		ms_no(s, NULL, "Unsupported authentication mechanism.");
		return;
	}
	if (r != AUTH_OK) {
		answer_failure(s, r, 0);
		return;
	}
	const char *challenge = NULL;
	if (args->n == 3) {
		/* an empty initial response is "=" to the machine (SASL-IR) */
		const char *ir = args->v[2].len == 0 ? "=" : args->v[2].data;
		r = sasl_step(s->sasl, ir, args->v[2].len == 0 ? 1 : args->v[2].len, &challenge);
	} else {
		r = sasl_step(s->sasl, NULL, 0, &challenge);
	}
	step_result(s, r, challenge);
}

void ms_sasl_response(struct ms_session *s, const char *line, size_t len)
{
	s->sasl_waiting = false;
	if (s->sasl == NULL)
		return;
	if (line == NULL) {
		fail(s, AUTH_EBASE64);
		return;
	}
	const char *challenge = NULL;
	int r = sasl_step(s->sasl, line, len, &challenge);
	step_result(s, r, challenge);
}

void ms_cmd_unauthenticate(struct ms_session *s, struct ms_args *args)
{
	if (args->n != 1) {
		ms_no(s, NULL, "UNAUTHENTICATE takes no arguments.");
		return;
	}
	conn_info(s->conn, "unauthenticate user=%s", s->user ? s->user : "?");
	ms_logged_out(s);
	ms_ok(s, NULL, "Unauthenticated.");
}

void ms_auth_free(struct ms_session *s)
{
	sasl_free(&s->sasl);
	/* a pending delay holds the session: it is never freed before the
	 * timer fired (delay_fired) */
}
