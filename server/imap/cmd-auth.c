/* IMAP commands of the not-authenticated state (RFC 9051 6.2): STARTTLS,
 * and the answers to AUTHENTICATE and LOGIN while this server offers no
 * authentication (no AUTH= mechanism, LOGINDISABLED advertised). */
#include "server/imap/commands.h"

#include "lib/error.h"

void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "STARTTLS takes no arguments.");
		return;
	}
	if (conn_is_tls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "TLS is already active.");
		return;
	}
	if (!conn_can_starttls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "STARTTLS is not offered on this port.");
		return;
	}
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
}

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST;
}

void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 2 || !is_astring(&cmd->args[0]) || !is_astring(&cmd->args[1])) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "LOGIN needs a user name and a password.");
		return;
	}
	if (!conn_is_tls(s->conn) && conn_can_starttls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "NO", "PRIVACYREQUIRED",
				  "LOGIN is disabled; use STARTTLS first.");
		return;
	}
	imap_reply_tagged(s, cmd->tag, "NO", "UNAVAILABLE",
			  "LOGIN is disabled on this server (LOGINDISABLED).");
}

void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 1 || cmd->n_args > 2 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "AUTHENTICATE needs a mechanism name.");
		return;
	}
	imap_reply_tagged(s, cmd->tag, "NO", NULL,
			  "No authentication mechanism is offered (none in CAPABILITY).");
}
