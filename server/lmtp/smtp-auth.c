/* SMTP AUTH (RFC 4954), on the SMTP listener only: offered after STARTTLS
 * (or also before it with [smtp] auth_without_tls; plaintext_auth still
 * decides about PLAIN and LOGIN), driving the SASL machines of auth/sasl.h:
 * 334 challenges, responses read as lines, the blocking step on the hash
 * pool, a failed login answered after the delay auth asks for (on the
 * session timer), AUTH refused inside a transaction or once logged in. An
 * authenticated client may then send mail to local users ([smtp]
 * require_auth makes that the only way); relaying stays refused. */
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "auth/sasl.h"
#include "lib/xmem.h"
#include "server/lmtp/session.h"
#include "server/services.h"

static bool auth_allowed_here(struct smtp_session *s)
{
	return conn_is_tls(s->conn) || smtp_config(s)->smtp_auth_without_tls;
}

static void auth_conn_of(struct smtp_session *s, struct auth_conn *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->service = USERDB_SERVICE_SMTP;
	ac->remote_addr = conn_remote_ip(s->conn);
	ac->tls = conn_is_tls(s->conn);
}

size_t smtp_auth_mechanisms(struct smtp_session *s, const char **names, size_t max)
{
	if (s->lmtp || !auth_allowed_here(s))
		return 0;
	struct auth_conn ac;
	auth_conn_of(s, &ac);
	return auth_mechanisms(smtp_services(s)->auth, &ac, names, max);
}

void smtp_auth_free(struct smtp_session *s)
{
	sasl_free(&s->sasl);
}

/* Back to commands after the exchange, whatever its outcome. */
static void auth_end(struct smtp_session *s)
{
	sasl_free(&s->sasl);
	const struct loft_config *cfg = smtp_config(s);
	conn_set_max_line(s->conn, cfg->max_line_length_preauth ? cfg->max_line_length_preauth
								 : 8192);
	smtp_enter_state(s, SMTP_STATE_READY);
}

static void reply_failure(struct smtp_session *s, int r)
{
	switch (r) {
	case AUTH_ETHROTTLED:
	case AUTH_ETEMP:
		smtp_reply(s, 454, "4.7.0 Temporary authentication failure");
		break;
	case AUTH_ECANCEL:
		smtp_reply(s, 501, "5.0.0 Authentication canceled");
		break;
	case AUTH_EBASE64:
		smtp_reply(s, 501, "5.5.2 Cannot decode the response");
		break;
	case AUTH_ETOOLONG:
		smtp_reply(s, 500, "5.5.6 Authentication exchange line is too long");
		break;
	case AUTH_ENOMECH:
		smtp_reply(s, 504, "5.5.4 Unrecognized authentication type");
		break;
	case AUTH_EPRIVACY:
		smtp_reply(s, 538, "5.7.11 Encryption required for requested authentication "
			   "mechanism");
		break;
	default:
		smtp_reply(s, 535, "5.7.8 Authentication credentials invalid");
		break;
	}
}

struct auth_job {
	struct sess_job job;
	struct sasl *sasl;           /* borrowed from the session */
	int failed;                  /* a failure waiting for its delay */
};

static void result(struct smtp_session *s, int r, const char *challenge);

static void delayed_failure(struct smtp_session *s)
{
	int r = s->auth_failed;
	s->auth_failed = 0;
	reply_failure(s, r);
	auth_end(s);
	smtp_wait_done(s);
}

static void work_run(struct sess_job *job)
{
	struct auth_job *j = (struct auth_job *)job;
	sasl_work(j->sasl);
}

static void work_done(struct sess_job *job)
{
	struct smtp_session *s = (struct smtp_session *)job->core;
	struct auth_job *j = (struct auth_job *)job;
	free(j);
	if (!sess_alive(&s->core))
		return;   /* the machine goes with the session */
	const char *challenge = NULL;
	int r = sasl_resume(s->sasl, &challenge);
	conn_cork(s->conn);
	s->wait = SMTP_WAIT_NONE;
	result(s, r, challenge);
	if (s->wait == SMTP_WAIT_NONE)
		smtp_wait_done(s);
	conn_uncork(s->conn);
}

/* What a step of the machine said: a challenge, work for the hash pool,
 * success or failure. */
static void result(struct smtp_session *s, int r, const char *challenge)
{
	if (r == SASL_CONTINUE) {
		const struct loft_config *cfg = smtp_config(s);
		smtp_enter_state(s, SMTP_STATE_AUTH);
		conn_set_max_line(s->conn, cfg->sasl_max_response + 16);
		conn_printf(s->conn, "334 %s\r\n", challenge != NULL ? challenge : "");
		return;
	}
	if (r == SASL_NEED_WORK) {
		struct auth_job *j = xcalloc(1, sizeof(*j));
		j->sasl = s->sasl;
		j->job.work = work_run;
		j->job.done = work_done;
		smtp_wait(s, SMTP_WAIT_JOB);
		sess_submit(&s->core, smtp_services(s)->hash_pool, &j->job);
		return;
	}
	const struct auth_login *login = sasl_login(s->sasl);
	if (r == AUTH_OK) {
		s->authenticated = true;
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", login->user);
		conn_info(s->conn, "login user=%s mech=%s", login->user, sasl_mech(s->sasl));
		smtp_reply(s, 235, "2.7.0 Authentication successful");
		auth_end(s);
		return;
	}
	conn_info(s->conn, "login failed user=%s mech=%s: %s", login->user,
		  sasl_mech(s->sasl), auth_strerror(r));
	if (login->delay_ms > 0 && r != AUTH_ETHROTTLED) {
		s->auth_failed = r;
		smtp_wait(s, SMTP_WAIT_TIMER);
		smtp_timer_start(s, login->delay_ms, delayed_failure);
		return;
	}
	reply_failure(s, r);
	auth_end(s);
}

void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len)
{
	if (s->authenticated) {
		smtp_reply(s, 503, "5.5.1 Already authenticated");
		return;
	}
	if (s->tx != NULL) {
		smtp_reply(s, 503, "5.5.1 AUTH is not permitted during a mail transaction");
		return;
	}
	if (!auth_allowed_here(s)) {
		smtp_reply(s, 530, "5.7.0 Must issue a STARTTLS command first");
		return;
	}
	size_t mlen = 0;
	while (mlen < len && args[mlen] != ' ')
		mlen++;
	if (mlen == 0 || mlen > 40) {
		smtp_reply(s, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
		return;
	}
	char mech[41];
	memcpy(mech, args, mlen);
	mech[mlen] = '\0';
	const char *initial = mlen < len ? args + mlen + 1 : NULL;
	size_t ilen = initial != NULL ? len - mlen - 1 : 0;
	struct auth_conn ac;
	auth_conn_of(s, &ac);
	int r = sasl_start(smtp_services(s)->auth, &ac, mech, &s->sasl);
	if (r != 0) {
		reply_failure(s, r);
		return;
	}
	const char *challenge = NULL;
	r = sasl_step(s->sasl, initial, ilen, &challenge);
	result(s, r, challenge);
	OPENSSL_cleanse((void *)args, len);   /* an initial response may hold a password */
}

void smtp_auth_response(struct smtp_session *s, const char *line, size_t len)
{
	const char *challenge = NULL;
	int r = sasl_step(s->sasl, line, len, &challenge);
	result(s, r, challenge);
	/* the response may hold a password */
	OPENSSL_cleanse((void *)line, len);
}
