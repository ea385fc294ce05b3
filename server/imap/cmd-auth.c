/* IMAP commands of the not-authenticated state (RFC 9051 6.2): STARTTLS,
 * LOGIN and AUTHENTICATE (with SASL-IR, RFC 4959). Both logins run the
 * engine's login pipeline (server/engine/login.h: the check on the hash
 * pool, a failure's delay on a timer, the user's store opened on the
 * storage pool); the command is held meanwhile and the loop serves other
 * connections. AUTHENTICATE reads the client's responses as raw lines
 * (imap_cmd_read_line). Every outcome becomes a reply in login_reply(). */
#include "server/imap/commands.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/engine/login.h"
#include "server/imap/caps.h"
#include "server/imap/special-use.h"
#include "storage/store.h"
#include "lib/log.h"

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

/* ---- the outcome of a login, as IMAP says it (RFC 5530 codes) ---- */

static void login_reply(struct imap_session *s, const char *tag, struct sess_login_result *r)
{
	char text[160];
	switch (r->result) {
	case AUTH_OK:
		break;
	case AUTH_EFAIL:
	case AUTH_EMALFORMED:
	case AUTH_ECHANNEL:
		imap_reply_tagged(s, tag, "NO", "AUTHENTICATIONFAILED", "Authentication failed.");
		return;
	case AUTH_EDISABLED:
		imap_reply_tagged(s, tag, "NO", "CONTACTADMIN",
				  r->login->fields.disabled
				  ? "This account is disabled; contact your administrator."
				  : "This account may not use IMAP; contact your administrator.");
		return;
	case AUTH_EAUTHZ:
		imap_reply_tagged(s, tag, "NO", "AUTHORIZATIONFAILED",
				  "You may not act as that user.");
		return;
	case AUTH_ETHROTTLED:
		snprintf(text, sizeof(text),
			 "Too many failed logins; try again in %u seconds.",
			 (r->login->retry_ms + 999) / 1000);
		imap_reply_tagged(s, tag, "NO", "UNAVAILABLE", text);
		return;
	case AUTH_ECANCEL:
		imap_reply_tagged(s, tag, "BAD", NULL, "Authentication cancelled.");
		return;
	case AUTH_EBASE64:
		imap_reply_tagged(s, tag, "BAD", NULL, "Invalid base64 in the response.");
		return;
	case AUTH_ETOOLONG:
		imap_reply_tagged(s, tag, "BAD", NULL, "Response too long.");
		return;
	case AUTH_ENOMECH:
		imap_reply_tagged(s, tag, "NO", NULL,
				  "Unknown authentication mechanism (see CAPABILITY).");
		return;
	case AUTH_EPRIVACY:
		imap_reply_tagged(s, tag, "NO", "PRIVACYREQUIRED",
				  conn_can_starttls(s->conn)
				  ? "Passwords in clear text need TLS; use STARTTLS first."
				  : "Passwords in clear text need TLS; connect to the TLS port.");
		return;
	default:
		imap_reply_tagged(s, tag, "NO", "UNAVAILABLE",
				  "Authentication is temporarily unavailable.");
		return;
	}
	/* Logged in: the user's store, post-login limits, the capabilities
	 * of the authenticated state (RFC 9051 7.1: CAPABILITY code). */
	imap_session_logged_in(s, xstrdup(r->login->user), r->store_user);
	r->store_user = NULL;
	/* the user's imap_caps_off field (caps.h), before the CAPABILITY code */
	const char *caps_off = r->login->fields.imap_caps_off, *bad = NULL;
	size_t bad_len = 0;
	s->caps_user = imap_caps_parse(caps_off, strlen(caps_off), &bad, &bad_len);
	if (bad != NULL)
		conn_warn(s->conn, "user %s: imap_caps_off names \"%.*s\", which is no "
			  "capability switch; ignored", s->user, (int)bad_len, bad);
	imap_caps_update(s);
	char caps[1024], code[1100];
	imap_capability_string(s, caps, sizeof(caps));
	snprintf(code, sizeof(code), "CAPABILITY %s", caps);
	imap_reply_tagged(s, tag, "OK", code, "Logged in.");
}

/* ---- LOGIN and AUTHENTICATE: one held command each ---- */

struct auth_cmd {
	struct imap_session *s;
	struct sess_login *login;      /* SASL, while the exchange waits */
	/* [storage] initial_mailboxes, copied from the config for the pool */
	struct store_initial_mailbox *initial;
	size_t n_initial;
};

static struct auth_cmd *auth_cmd_new(struct imap_session *s)
{
	struct auth_cmd *a = xcalloc(1, sizeof(*a));
	a->s = s;
	imap_initial_mailboxes(conn_config(s->conn), &a->initial, &a->n_initial);
	return a;
}

static void auth_cmd_free(void *ctx)
{
	struct auth_cmd *a = ctx;
	sess_login_free(&a->login);
	imap_initial_mailboxes_free(a->initial, a->n_initial);
	free(a);
}

/* On the storage pool after the store opened: a user's first login creates
 * and subscribes the initial mailboxes (once; the store remembers). */
static void provision(struct store_user *su, void *ctx)
{
	struct auth_cmd *a = ctx;
	int err = store_user_provision(su, a->initial, a->n_initial);
	if (err != STORE_OK)
		log_warn("login user=%s: initial mailboxes not created: %s", store_user_name(su),
			 store_strerror(err));
}

static void login_done(void *ctx, struct sess_login_result *r)
{
	struct auth_cmd *a = ctx;
	struct imap_session *s = a->s;
	a->login = NULL;   /* the engine frees it after this returns */
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	conn_cork(s->conn);
	login_reply(s, imap_cmd_tag(s), r);
	imap_cmd_finish(s);
	conn_uncork(s->conn);
}

static void auth_line(struct imap_session *s, const char *line, size_t len, bool too_long);

static void auth_challenge(void *ctx, const char *challenge)
{
	struct auth_cmd *a = ctx;
	/* RFC 9051: continue-req = "+" SP (resp-text / base64) CRLF */
	conn_printf(a->s->conn, "+ %s\r\n", challenge);
	imap_cmd_read_line(a->s, auth_line);
}

static const struct sess_login_ops login_ops = {
	.challenge = auth_challenge,
	.done = login_done,
	.after_open = provision,
};

static void auth_line(struct imap_session *s, const char *line, size_t len, bool too_long)
{
	struct auth_cmd *a = s->cmd->ctx;
	if (too_long) {
		sess_login_free(&a->login);
		imap_reply_tagged(s, imap_cmd_tag(s), "BAD", NULL, "Response too long.");
		imap_cmd_finish(s);
		return;
	}
	sess_login_step(a->login, line, len);
}

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && !a->streamed;
}

enum imap_cmd_result imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 2 || !is_astring(&cmd->args[0]) || !is_astring(&cmd->args[1])) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "LOGIN needs a user name and a password.");
		return IMAP_CMD_DONE;
	}
	if (!imap_plaintext_allowed(s)) {
		struct sess_login_result r = { .result = AUTH_EPRIVACY };
		login_reply(s, cmd->tag, &r);
		return IMAP_CMD_DONE;
	}
	const struct imap_arg *user = &cmd->args[0], *pw = &cmd->args[1];
	if (strlen(user->str) != user->len || strlen(pw->str) != pw->len) {
		/* A NUL cannot be in a name or a password of the users file. */
		imap_reply_tagged(s, cmd->tag, "NO", "AUTHENTICATIONFAILED",
				  "Authentication failed.");
		return IMAP_CMD_DONE;
	}
	struct auth_cmd *a = auth_cmd_new(s);
	imap_cmd_hold(s, cmd->tag, a, auth_cmd_free);
	sess_login_password(&s->core, USERDB_SERVICE_IMAP, user->str, pw->str, &login_ops, a);
	x_wipe(pw->str, pw->len);   /* the parser's copy; the login has its own */
	return IMAP_CMD_AGAIN;
}

/* AUTHENTICATE SP auth-type [SP (base64 / "=")] (RFC 9051, RFC 4959) */
enum imap_cmd_result imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 1 || cmd->n_args > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->n_args == 2 && cmd->args[1].type != IMAP_ARG_ATOM)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  "AUTHENTICATE needs a mechanism name and at most an initial "
				  "response.");
		return IMAP_CMD_DONE;
	}
	struct auth_cmd *a = auth_cmd_new(s);
	int r = sess_login_sasl_start(&s->core, USERDB_SERVICE_IMAP, cmd->args[0].str,
				      &login_ops, a, &a->login);
	if (r != 0) {
		auth_cmd_free(a);
		struct sess_login_result res = { .result = r };
		login_reply(s, cmd->tag, &res);
		return IMAP_CMD_DONE;
	}
	imap_cmd_hold(s, cmd->tag, a, auth_cmd_free);
	if (cmd->n_args == 2) {
		sess_login_step(a->login, cmd->args[1].str, cmd->args[1].len);
		x_wipe(cmd->args[1].str, cmd->args[1].len);   /* PLAIN carries a password */
	} else {
		sess_login_step(a->login, NULL, 0);
	}
	return IMAP_CMD_AGAIN;
}
