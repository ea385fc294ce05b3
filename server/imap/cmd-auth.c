/* IMAP commands of the not-authenticated state (RFC 9051 6.2): STARTTLS,
 * LOGIN and AUTHENTICATE. LOGIN checks the password on the hash pool, then
 * opens the user's store on the storage pool (and, at a user's first login,
 * creates the [storage] initial_mailboxes); the session waits (its command
 * held) and the loop serves other connections meanwhile. */
#include "server/imap/commands.h"

#include <stdio.h>
#include <string.h>

#include "auth/userdb.h"
#include "lib/error.h"
#include "server/engine/passcheck.h"
#include "lib/xmem.h"
#include "server/imap/special-use.h"
#include "server/services.h"
#include "storage/store.h"

enum imap_cmd_result imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "STARTTLS takes no arguments.");
		return IMAP_CMD_DONE;
	}
	if (conn_is_tls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "TLS is already active.");
		return IMAP_CMD_DONE;
	}
	if (!conn_can_starttls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "STARTTLS is not offered on this port.");
		return IMAP_CMD_DONE;
	}
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
	return IMAP_CMD_DONE;
}

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && !a->streamed;
}

struct login {
	struct sess_passcheck pc; /* first: the job, user, password */
	struct imap_session *s;
	int store_err;
	int provision_err;
	struct store_user *su;
	struct store_initial_mailbox *initial;  /* copied from the config */
	size_t n_initial;
};

static void login_free(void *ctx)
{
	struct login *l = ctx;
	sess_passcheck_clear(&l->pc);
	store_user_close(&l->su);
	imap_initial_mailboxes_free(l->initial, l->n_initial);
	free(l);
}

static void open_work(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	l->store_err = store_user_open(job->core->svc->store, l->pc.user, &l->su);
	if (l->store_err == STORE_OK)
		l->provision_err = store_user_provision(l->su, l->initial, l->n_initial);
}

static void open_done(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	struct imap_session *s = l->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (l->store_err != STORE_OK) {
		conn_error(s->conn, "login user=%s: cannot open mailbox: %s", l->pc.user,
			   store_strerror(l->store_err));
		imap_reply_tagged(s, imap_cmd_tag(s), "NO", "UNAVAILABLE",
				  "Your mailbox is temporarily unavailable.");
		imap_cmd_finish(s);
		return;
	}
	if (l->provision_err != STORE_OK)
		conn_warn(s->conn, "login user=%s: initial mailboxes not created: %s", l->pc.user,
			  store_strerror(l->provision_err));
	conn_info(s->conn, "login user=%s method=LOGIN", l->pc.user);
	imap_session_logged_in(s, l->pc.user, l->su);
	l->pc.user = NULL;
	l->su = NULL;
	char caps[512];
	imap_capability_string(s, caps, sizeof(caps));
	char text[600];
	snprintf(text, sizeof(text), "CAPABILITY %s", caps);
	imap_reply_tagged(s, imap_cmd_tag(s), "OK", text, "Logged in.");
	imap_cmd_finish(s);
}

static void verify_done(struct sess_job *job)
{
	struct login *l = (struct login *)job;
	struct imap_session *s = l->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (l->pc.result != USERDB_OK) {
		conn_info(s->conn, "login failed user=%s reason=%s", l->pc.user,
			  userdb_strerror(l->pc.result));
		imap_reply_tagged(s, imap_cmd_tag(s), "NO", "AUTHENTICATIONFAILED",
				  "Authentication failed.");
		imap_cmd_finish(s);
		return;
	}
	l->pc.job.work = open_work;
	l->pc.job.done = open_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &l->pc.job);
}

enum imap_cmd_result imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 2 || !is_astring(&cmd->args[0]) || !is_astring(&cmd->args[1])) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "LOGIN needs a user name and a password.");
		return IMAP_CMD_DONE;
	}
	if (!imap_plaintext_allowed(s)) {
		imap_reply_tagged(s, cmd->tag, "NO", "PRIVACYREQUIRED",
				  conn_can_starttls(s->conn)
				  ? "LOGIN is disabled without TLS; use STARTTLS first."
				  : "LOGIN is disabled without TLS; connect to the TLS port.");
		return IMAP_CMD_DONE;
	}
	const char *user = imap_arg_string(&cmd->args[0]);
	if (strlen(user) != cmd->args[0].len || !userdb_name_valid(user)) {
		imap_reply_tagged(s, cmd->tag, "NO", "AUTHENTICATIONFAILED",
				  "Authentication failed.");
		return IMAP_CMD_DONE;
	}
	struct login *l = xcalloc(1, sizeof(*l));
	l->s = s;
	imap_initial_mailboxes(conn_config(s->conn), &l->initial, &l->n_initial);
	imap_cmd_hold(s, cmd->tag, l, login_free);
	sess_passcheck_start(&s->core, &l->pc, xstrdup(user), cmd->args[1].str, cmd->args[1].len,
			     verify_done);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 1 || cmd->n_args > 2 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "AUTHENTICATE needs a mechanism name.");
		return IMAP_CMD_DONE;
	}
	imap_reply_tagged(s, cmd->tag, "NO", NULL,
			  "No authentication mechanism is offered (none in CAPABILITY).");
	return IMAP_CMD_DONE;
}
