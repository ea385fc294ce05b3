/* An IMAP session: the state (RFC 9051 section 3), the command parser and
 * the reply helpers every command handler uses. Handlers live in
 * cmd-<family>.c and are reached through the dispatch table (commands.c). */
#ifndef LOFT_IMAP_SESSION_H
#define LOFT_IMAP_SESSION_H

#include <stdbool.h>

#include "server/imap/parser.h"
#include "server/net/conn.h"

enum imap_state {
	IMAP_STATE_NOT_AUTH = 0,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

#define IMAP_STATE_BIT(s) (1u << (s))

struct imap_session {
	struct conn *conn;
	enum imap_state state;
	struct imap_parser *parser;
	unsigned bad_in_row;   /* consecutive BAD answers */
};

void imap_enter_state(struct imap_session *s, enum imap_state state);
const char *imap_state_name(enum imap_state state);

/* "<tag> <status> [<code>] <text>\r\n"; code may be NULL. */
void imap_reply_tagged(struct imap_session *s, const char *tag, const char *status,
		       const char *code, const char *text);
/* The current capability list (depends on TLS state and listener). */
void imap_capability_string(const struct imap_session *s, char *buf, size_t size);
/* Write "* BYE <text>", then close the connection with reason. */
void imap_bye(struct imap_session *s, const char *text, const char *reason);

#endif
