/* IMAP commands valid in every state (RFC 9051 6.1): CAPABILITY, NOOP and
 * LOGOUT. */
#include "server/imap/commands.h"

#include "server/imap/reply.h"

enum imap_cmd_result imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "CAPABILITY takes no arguments.");
		return IMAP_CMD_DONE;
	}
	char caps[1024];
	imap_capability_string(s, caps, sizeof(caps));
	imap_write_untagged(s->conn, "CAPABILITY", NULL, caps);
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "Capability completed.");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "NOOP takes no arguments.");
		return IMAP_CMD_DONE;
	}
	if (s->state == IMAP_STATE_SELECTED)
		return imap_cmd_noop_selected(s, cmd);   /* reports changes */
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "NOOP completed.");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "LOGOUT takes no arguments.");
		return IMAP_CMD_DONE;
	}
	imap_write_untagged(s->conn, "BYE", NULL, "Logging out.");
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "Logout completed.");
	imap_enter_state(s, IMAP_STATE_LOGOUT);
	conn_close(s->conn, "logout");
	return IMAP_CMD_DONE;
}
