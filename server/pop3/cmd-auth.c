/* POP3 commands of the AUTHORIZATION state (RFC 1939 4, 7; RFC 2595 STLS;
 * RFC 5034 AUTH) and the login that opens the maildrop. The password check
 * runs on the hash pool, then the maildrop is opened on the storage pool:
 * the user's store, the per-user POP3 lock ([IN-USE]), LOGIN-DELAY, INBOX
 * and its snapshot. The command is held meanwhile, so pipelined commands
 * wait their turn. */
#include "server/pop3/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/userdb.h"
#include "server/engine/passcheck.h"
#include "lib/xmem.h"
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
	struct sess_passcheck pc;     /* first: the job, user, password */
	struct pop3_session *s;
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
	sess_passcheck_clear(&l->pc);
	pop3_maildrop_free(&l->drop);
	store_mailbox_close(&l->inbox);
	store_lock_release(&l->lock);
	store_user_close(&l->su);
	free(l);
}

static void open_work(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	struct store *store = job->core->svc->store;
	int64_t now = (int64_t)time(NULL), last = 0;
	l->err = store_user_open(store, l->pc.user, &l->su);
	if (l->err == 0)
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
		conn_info(s->conn, "login refused user=%s reason=in-use", l->pc.user);
		pop3_err(s, "IN-USE", "Another POP3 session of this user is active; try again later.");
	} else if (l->too_soon) {
		conn_info(s->conn, "login refused user=%s reason=login-delay", l->pc.user);
		char text[128];
		snprintf(text, sizeof(text), "Log in at most every %u seconds; %" PRId64 " to go.",
			 l->policy.login_delay_s, l->wait_s);
		pop3_err(s, "LOGIN-DELAY", text);
	} else if (l->err != 0) {
		char what[128];
		snprintf(what, sizeof(what), "login user=%s: cannot open the maildrop", l->pc.user);
		pop3_err_store(s, l->err, what);
	} else {
		const struct pop3_maildrop *d = l->drop;
		conn_info(s->conn, "login user=%s method=USER messages=%" PRIu32, l->pc.user, d->count);
		s->policy = l->policy;
		pop3_session_logged_in(s, l->pc.user, l->su, l->lock, l->inbox, l->drop);
		l->pc.user = NULL;
		l->su = NULL;
		l->lock = NULL;
		l->inbox = NULL;
		l->drop = NULL;
		pop3_ok(s, "Logged in; %" PRIu32 " messages (%" PRIu64 " octets).", d->count,
			d->total);
	}
	pop3_cmd_finish(s);
}

/* The maildrop step of every login: the user is authenticated. */
static void login_open(struct pop3_session *s, struct login *l)
{
	pop3_policy_get(conn_config(s->conn), l->pc.user, &l->policy);
	l->pc.job.work = open_work;
	l->pc.job.done = open_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &l->pc.job);
}

static void verify_done(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	struct pop3_session *s = l->s;
	if (!sess_alive(&s->core)) {
		pop3_cmd_finish(s);
		return;
	}
	if (l->pc.result != USERDB_OK) {
		conn_info(s->conn, "login failed user=%s reason=%s", l->pc.user,
			  userdb_strerror(l->pc.result));
		pop3_err(s, "AUTH", "Authentication failed.");
		pop3_cmd_finish(s);
		return;
	}
	login_open(s, l);
}

/* The credentials step of a password login (USER/PASS): the command is
 * held; the reply comes from verify_done/open_done. Takes user. */
static enum pop3_cmd_result login_password(struct pop3_session *s, char *user,
					   const char *password, size_t password_len)
{
	struct login *l = xcalloc(1, sizeof(*l));
	l->s = s;
	pop3_cmd_hold(s, l, login_free);
	sess_passcheck_start(&s->core, &l->pc, user, password, password_len, verify_done);
	return POP3_CMD_AGAIN;
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
	if (plaintext_refused(s) || !userdb_name_valid(user)) {
		if (pop3_plaintext_allowed(s))
			pop3_err(s, "AUTH", "Authentication failed.");
		free(user);
		return POP3_CMD_DONE;
	}
	return login_password(s, user, cmd->rest, cmd->rest_len);
}

enum pop3_cmd_result pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	/* CAPA lists no SASL mechanism: none is accepted (RFC 5034 4). */
	if (cmd->n_args == 0)
		pop3_err(s, NULL, "AUTH needs a mechanism; none is offered (see CAPA).");
	else
		pop3_err(s, NULL, "Unrecognized authentication type; none is offered (see CAPA).");
	return POP3_CMD_DONE;
}
