/* The IMAP dispatch table: one row per command the server answers, with the
 * states it is valid in, flags and the RFC that defines it. The dispatcher
 * (session.c) checks state and TLS before the handler runs. */
#ifndef LOFT_IMAP_COMMANDS_H
#define LOFT_IMAP_COMMANDS_H

#include "server/imap/session.h"

enum imap_cmd_flags {
	IMAP_CMD_NEEDS_TLS = 1u << 0,   /* refused without TLS */
	IMAP_CMD_USES_SEQS = 1u << 1,   /* uses message sequence numbers */
	IMAP_CMD_BREAKS_SEQS = 1u << 2, /* may expunge */
};

struct imap_command_def {
	const char *name;
	void (*handler)(struct imap_session *s, const struct imap_command *cmd);
	unsigned states;                /* IMAP_STATE_BIT() mask */
	unsigned flags;
	const char *rfc;
};

const struct imap_command_def *imap_command_find(const char *name);
/* Commands of the base protocol (RFC 3501/9051) that are valid only after
 * authentication; their names are known even where no row exists yet, so
 * a client gets a state error instead of "unknown command". */
bool imap_command_needs_auth(const char *name);

/* Handlers (cmd-any.c, cmd-auth.c). */
void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd);

#endif
