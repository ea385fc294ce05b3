/* POP3 commands of the AUTHORIZATION state (RFC 1939 4, 7; RFC 2595 STLS;
 * RFC 5034 AUTH) and the login that opens the maildrop. USER/PASS and AUTH
 * run the engine's login pipeline (server/engine/login.h: the check on the
 * hash pool, a failure's delay on a timer, the user's store opened on the
 * storage pool); then the maildrop is opened on the storage pool: the
 * per-user POP3 lock ([IN-USE]), LOGIN-DELAY, INBOX and its snapshot. The
 * command is held meanwhile, so pipelined commands wait their turn. */
#include "server/pop3/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "lib/base64.h"
#include "lib/xmem.h"
#include "server/engine/login.h"
#include "server/services.h"
#include "storage/store.h"

#define POP3_LOCK_NAME "pop3"

enum pop3_cmd_result pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args != 0) {
		pop3_err(s, NULL, "STLS takes no arguments.");
		return POP3_CMD_DONE;
	}
	if (conn_is_tls(s->conn)) {
		pop3_err(s, NULL, "TLS is already active.");
		return POP3_CMD_DONE;
	}
	if (!conn_can_starttls(s->conn)) {
		pop3_err(s, NULL, "STLS is not offered on this port.");
		return POP3_CMD_DONE;
	}
	x_free(&s->user_arg);
	pop3_ok(s, "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
	return POP3_CMD_DONE;
}

static bool plaintext_refused(struct pop3_session *s)
{
	if (pop3_plaintext_allowed(s))
		return false;
	pop3_err(s, "AUTH", conn_can_starttls(s->conn)
		 ? "Plaintext authentication is disabled without TLS; use STLS first."
		 : "Plaintext authentication is disabled without TLS; use the TLS port.");
	return true;
}

enum pop3_cmd_result pop3_cmd_user(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args != 1) {
		pop3_err(s, NULL, "USER needs a user name.");
		return POP3_CMD_DONE;
	}
	if (plaintext_refused(s))
		return POP3_CMD_DONE;
	free(s->user_arg);
	s->user_arg = xstrndup(cmd->args[0], cmd->arg_len[0]);
	/* Whether the name exists is said only after PASS (no user probing). */
	pop3_ok(s, "Send your password.");
	return POP3_CMD_DONE;
}

/* ---- the login ---- */

struct login {
	struct sess_job job;          /* the maildrop step */
	struct pop3_session *s;
	struct sess_login *sasl;      /* AUTH, while it waits for a response */
	char *user;                   /* canonical, after the check */
	int err;                      /* store result */
	bool in_use, too_soon;
	int64_t wait_s;               /* LOGIN-DELAY left */
	struct pop3_policy policy;
	struct store_user *su;
	struct store_lock *lock;
	struct store_mailbox *inbox;
	struct pop3_maildrop *drop;
};

static void login_free(void *ctx)
{
	struct login *l = ctx;
	sess_login_free(&l->sasl);
	pop3_maildrop_free(&l->drop);
	store_mailbox_close(&l->inbox);
	store_lock_release(&l->lock);
	store_user_close(&l->su);
	free(l->user);
	free(l);
}

static void open_work(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	int64_t now = (int64_t)time(NULL), last = 0;
	l->err = store_lock_take(l->su, POP3_LOCK_NAME, &l->lock, &last);
	if (l->err == STORE_EINUSE) {
		l->in_use = true;
		return;
	}
	if (l->err == 0 && l->policy.login_delay_s > 0 && last > 0 &&
	    now - last < (int64_t)l->policy.login_delay_s && now >= last) {
		l->too_soon = true;
		l->wait_s = (int64_t)l->policy.login_delay_s - (now - last);
		store_lock_release(&l->lock);
		return;
	}
	if (l->err == 0)
		l->err = store_lock_stamp(l->lock, now);
	if (l->err == 0)
		l->err = store_mailbox_open(l->su, "INBOX", false, &l->inbox);
	if (l->err == 0)
		l->err = pop3_maildrop_build(l->inbox, &l->policy, now, &l->drop);
}

static void open_done(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	struct pop3_session *s = l->s;
	if (!sess_alive(&s->core)) {
		pop3_cmd_finish(s);
		return;
	}
	if (l->in_use) {
		conn_info(s->conn, "login refused user=%s reason=in-use", l->user);
		pop3_err(s, "IN-USE", "Another POP3 session of this user is active; try again later.");
	} else if (l->too_soon) {
		conn_info(s->conn, "login refused user=%s reason=login-delay", l->user);
		char text[128];
		snprintf(text, sizeof(text), "Log in at most every %u seconds; %" PRId64 " to go.",
			 l->policy.login_delay_s, l->wait_s);
		pop3_err(s, "LOGIN-DELAY", text);
	} else if (l->err != 0) {
		char what[128];
		snprintf(what, sizeof(what), "login user=%s: cannot open the maildrop", l->user);
		pop3_err_store(s, l->err, what);
	} else {
		const struct pop3_maildrop *d = l->drop;
		conn_info(s->conn, "login user=%s messages=%" PRIu32, l->user, d->count);
		s->policy = l->policy;
		pop3_session_logged_in(s, l->user, l->su, l->lock, l->inbox, l->drop);
		l->user = NULL;
		l->su = NULL;
		l->lock = NULL;
		l->inbox = NULL;
		l->drop = NULL;
		pop3_ok(s, "Logged in; %" PRIu32 " messages (%" PRIu64 " octets).", d->count,
			d->total);
	}
	pop3_cmd_finish(s);
}

/* The login outcome in POP3's words (RFC 2449 / 3206 response codes). */
static void login_refused(struct pop3_session *s, const struct sess_login_result *r)
{
	switch (r->result) {
	case AUTH_ETHROTTLED:
		pop3_err(s, "SYS/TEMP", "Too many failed logins; try again later.");
		return;
	case AUTH_ETEMP:
		if (r->store_err == STORE_ECORRUPT)
			pop3_err(s, "SYS/PERM", "Your mailbox needs repair; contact your administrator.");
		else
			pop3_err(s, "SYS/TEMP", "Your mailbox is temporarily unavailable.");
		return;
	case AUTH_EDISABLED:
		pop3_err(s, "SYS/PERM", "This account may not use POP3; contact your administrator.");
		return;
	case AUTH_EPRIVACY:
		pop3_err(s, "AUTH", "Plaintext authentication is disabled without TLS.");
		return;
	case AUTH_ECANCEL:
		pop3_err(s, NULL, "Authentication cancelled.");
		return;
	case AUTH_EBASE64:
		pop3_err(s, NULL, "Invalid base64 in the response.");
		return;
	case AUTH_ETOOLONG:
		pop3_err(s, NULL, "Response too long.");
		return;
	case AUTH_ENOMECH:
		pop3_err(s, NULL, "Unrecognized authentication type (see CAPA).");
		return;
	default:
		pop3_err(s, "AUTH", "Authentication failed.");
		return;
	}
}

static void login_done(void *ctx, struct sess_login_result *r)
{
	struct login *l = ctx;
	struct pop3_session *s = l->s;
	l->sasl = NULL;   /* the engine frees it after this returns */
	if (!sess_alive(&s->core)) {
		pop3_cmd_finish(s);
		return;
	}
	if (r->result != AUTH_OK) {
		login_refused(s, r);
		pop3_cmd_finish(s);
		return;
	}
	/* Authenticated, store open: now the maildrop, on the storage pool. */
	l->user = xstrdup(r->login->user);
	l->su = r->store_user;
	r->store_user = NULL;
	pop3_policy_get(conn_config(s->conn), &r->login->fields, &l->policy);
	l->job.work = open_work;
	l->job.done = open_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &l->job);
}

static void sasl_line(struct pop3_session *s, const char *line, size_t len, bool too_long);

static void sasl_challenge(void *ctx, const char *challenge)
{
	struct login *l = ctx;
	/* RFC 5034 4: "+" SP base64 CRLF, then one line from the client */
	conn_printf(l->s->conn, "+ %s\r\n", challenge);
	l->s->read_line = sasl_line;
	conn_resume_input(l->s->conn);
}

static const struct sess_login_ops login_ops = {
	.challenge = sasl_challenge,
	.done = login_done,
};

static void sasl_line(struct pop3_session *s, const char *line, size_t len, bool too_long)
{
	struct login *l = s->cmd->ctx;
	if (too_long) {
		sess_login_free(&l->sasl);
		pop3_err(s, NULL, "Response too long.");
		pop3_cmd_finish(s);
		return;
	}
	conn_pause_input(s->conn);
	sess_login_step(l->sasl, line, len);
}

static struct login *login_new(struct pop3_session *s)
{
	struct login *l = xcalloc(1, sizeof(*l));
	l->s = s;
	pop3_cmd_hold(s, l, login_free);
	return l;
}

enum pop3_cmd_result pop3_cmd_pass(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (s->user_arg == NULL) {
		pop3_err(s, NULL, "Send USER first.");
		return POP3_CMD_DONE;
	}
	char *user = s->user_arg;
	s->user_arg = NULL; /* a failed PASS needs a new USER (RFC 1939 7) */
	if (cmd->rest_len == 0) {
		free(user);
		pop3_err(s, NULL, "PASS needs a password.");
		return POP3_CMD_DONE;
	}
	if (plaintext_refused(s)) {
		free(user);
		return POP3_CMD_DONE;
	}
	char *password = xstrndup(cmd->rest, cmd->rest_len);
	struct login *l = login_new(s);
	sess_login_password(&s->core, USERDB_SERVICE_POP3, user, password, &login_ops, l);
	x_wipe(password, cmd->rest_len);
	free(password);
	free(user);
	return POP3_CMD_AGAIN;
}

enum pop3_cmd_result pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args == 0) {
		/* RFC 5034 4 leaves the bare AUTH to RFC 1734's list: answer it
		 * (clients such as fetchmail ask). */
		struct conn_cb cb[CONN_CB_MAX];
		struct auth_conn ac;
		sess_login_auth_conn(s->conn, USERDB_SERVICE_POP3, cb, &ac);
		const char *mechs[AUTH_MECH_COUNT];
		size_t n = auth_mechanisms(s->core.svc->auth, &ac, mechs, AUTH_MECH_COUNT);
		x_wipe(cb, sizeof(cb));
		pop3_ok(s, "Methods follow");
		for (size_t i = 0; i < n; i++)
			conn_printf(s->conn, "%s\r\n", mechs[i]);
		conn_write_str(s->conn, ".\r\n");
		return POP3_CMD_DONE;
	}
	if (cmd->n_args > 2) {
		pop3_err(s, NULL, "AUTH takes a mechanism and an optional initial response.");
		return POP3_CMD_DONE;
	}
	char mech[64];
	snprintf(mech, sizeof(mech), "%.*s", (int)cmd->arg_len[0], cmd->args[0]);
	struct login *l = xcalloc(1, sizeof(*l));
	l->s = s;
	int r = sess_login_sasl_start(&s->core, USERDB_SERVICE_POP3, mech, &login_ops, l,
				      &l->sasl);
	if (r != 0) {
		free(l);
		struct sess_login_result res = { .result = r };
		login_refused(s, &res);
		return POP3_CMD_DONE;
	}
	pop3_cmd_hold(s, l, login_free);
	conn_pause_input(s->conn);
	if (cmd->n_args == 2)
		sess_login_step(l->sasl, cmd->args[1], cmd->arg_len[1]);
	else
		sess_login_step(l->sasl, NULL, 0);
	return POP3_CMD_AGAIN;
}
