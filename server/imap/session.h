/* An IMAP session: the state (RFC 9051 section 3), the command parser, the
 * command in flight and the reply helpers every command handler uses.
 * Handlers live in cmd-<family>.c and are reached through the dispatch
 * table (commands.c).
 *
 * Command lifecycle: a handler either finishes at once (tagged reply sent,
 * returns IMAP_CMD_DONE) or holds the command (imap_cmd_hold) and returns
 * IMAP_CMD_AGAIN while it waits for a pool job or for output to drain. While
 * a command is held the session parses no further input (pipelined commands
 * wait in the read buffer and run in order afterwards); imap_cmd_finish()
 * ends it and resumes input. A held command's state lives in its ctx, which
 * survives the connection going away (the session core keeps the session
 * alive while jobs are in flight). */
#ifndef LOFT_IMAP_SESSION_H
#define LOFT_IMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "server/engine/session.h"
#include "server/imap/parser.h"
#include "server/net/conn.h"

enum imap_state {
	IMAP_STATE_NOT_AUTH = 0,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

#define IMAP_STATE_BIT(s) (1u << (s))

enum imap_cmd_result {
	IMAP_CMD_DONE = 0,   /* the tagged reply was sent */
	IMAP_CMD_AGAIN,      /* held: imap_cmd_finish() comes later */
};

/* Extensions the client turned on with ENABLE (RFC 5161), one bit each;
 * cmd-enable.c has the table of names. */
enum imap_enabled {
	IMAP_ENABLED_UTF8_ACCEPT = 1u << 0,   /* RFC 9755: UTF-8 names, strings */
	IMAP_ENABLED_IMAP4REV2 = 1u << 1,     /* RFC 9051: see imap_session_rev2 */
	/* RFC 7162 3.1: on by ENABLE or implicitly by the first command that
	 * uses a MODSEQ (then every FETCH of a flag change shows UID and
	 * MODSEQ, and updates after expunges show HIGHESTMODSEQ). */
	IMAP_ENABLED_CONDSTORE = 1u << 2,
	/* RFC 7162 3.2: VANISHED instead of EXPUNGE, [CLOSED], SELECT
	 * (QRESYNC ...); implies CONDSTORE. */
	IMAP_ENABLED_QRESYNC = 1u << 3,
	/* RFC 9586: no sequence numbers either way (uidonly.h). */
	IMAP_ENABLED_UIDONLY = 1u << 8,
};

struct imap_session;
struct imap_command;
struct imap_command_def;
struct imap_selected;
struct store_user;

/* A raw line for a held command (imap_cmd_read_line): the line without
 * its end, or too_long (line NULL) when it was over the line limit and is
 * being dropped. */
typedef void imap_line_fn(struct imap_session *s, const char *line, size_t len,
			  bool too_long);

/* The command in flight. */
struct imap_cmd {
	const struct imap_command_def *def;
	char *tag;                      /* copied: the parser's is gone */
	void *ctx;                      /* the handler's state */
	void (*free_ctx)(void *ctx);    /* frees ctx (also when the session dies) */
	/* Output fell below the low-water mark while the command waited for
	 * it (conn_output_full returned true): continue. Optional. */
	enum imap_cmd_result (*on_drained)(struct imap_session *s);
	/* Held while its literals stream in: input keeps being parsed until
	 * the command line is complete, then the handler runs. */
	bool collecting;
	/* Waiting for a raw line from the client (imap_cmd_read_line). */
	imap_line_fn *on_line;
	/* A held command that reads raw input lines itself (IDLE's DONE):
	 * called with input while it is held; returns true when it ended
	 * (imap_cmd_finish was called) and parsing goes on. Optional. */
	bool (*on_input)(struct imap_session *s);
};

struct imap_session {
	struct sess_core core;          /* first: the engine frees through it */
	struct conn *conn;              /* NULL once the connection is gone */
	enum imap_state state;
	struct imap_parser *parser;       /* NULL until the first input arrives */
	unsigned bad_in_row;            /* consecutive BAD answers */
	struct imap_cmd *cmd;           /* in flight, or NULL */
	/* The selected mailbox (selected.h), NULL outside the selected state. */
	struct imap_selected *sel;
	bool bye_after_command;         /* shutdown waits for the command */
	/* A streaming command's literal waits for its handler's decision
	 * (made after async work): no input is parsed meanwhile. */
	bool literal_pending;
	/* After login. */
	char *user;
	struct store_user *store_user;
	/* IMAP_ENABLED_* bits (ENABLE). */
	unsigned enabled;
	/* RFC 5465 NOTIFY subscription (notify.h), NULL when none. */
	struct imap_notify *notify;
	/* IMAP_CAP_* extensions switched off for this session (caps.h):
	 * caps_user (the user's imap_caps_off field, from login) | caps_client
	 * (the [imap] rules matched on the client's ID). */
	unsigned caps_off;
	unsigned caps_user, caps_client;
};

/* Whether mailbox names and quoted strings are UTF-8 for this session
 * (IMAP4rev2 or UTF8=ACCEPT enabled) rather than modified UTF-7 / 7-bit. */
static inline bool imap_session_utf8(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_UTF8_ACCEPT | IMAP_ENABLED_IMAP4REV2)) != 0;
}

/* Whether the client enabled IMAP4rev2 (ENABLE IMAP4rev2, RFC 9051
 * 6.3.1): no \Recent flag, RECENT response or UNSEEN code, a LIST
 * response in SELECT, ESEARCH responses to SEARCH, message/global shown as
 * body-type-msg. Without it the session speaks IMAP4rev1. */
static inline bool imap_session_rev2(const struct imap_session *s)
{
	return (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0;
}

/* RFC 7162 3.1 "CONDSTORE enabling command": a command that uses a MODSEQ
 * turns CONDSTORE on for the rest of the connection. */
static inline void imap_session_condstore_on(struct imap_session *s)
{
	s->enabled |= IMAP_ENABLED_CONDSTORE;
}

static inline bool imap_session_condstore(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC)) != 0;
}

static inline bool imap_session_qresync(const struct imap_session *s)
{
	return (s->enabled & IMAP_ENABLED_QRESYNC) != 0;
}

void imap_enter_state(struct imap_session *s, enum imap_state state);
const char *imap_state_name(enum imap_state state);

/* "<tag> <status> [<code>] <text>\r\n"; code may be NULL. */
void imap_reply_tagged(struct imap_session *s, const char *tag, const char *status,
		       const char *code, const char *text);
/* The current capability list (depends on TLS state, login and listener). */
void imap_capability_string(const struct imap_session *s, char *buf, size_t size);
/* Write "* BYE <text>", then close the connection with reason. */
void imap_bye(struct imap_session *s, const char *text, const char *reason);

/* Hold the command being dispatched (handler returns IMAP_CMD_AGAIN). ctx
 * is the handler's state, freed with free_ctx when the command ends. */
struct imap_cmd *imap_cmd_hold(struct imap_session *s, const char *tag, void *ctx,
			       void (*free_ctx)(void *ctx));
/* The held command continues with a bare line from the client (AUTHENTICATE
 * after a "+ " continuation, RFC 9051 6.2.2): the next line, read by the
 * parser's line reader under the session's line limit, goes to fn (once)
 * instead of the command parser. Input resumes for it now. */
void imap_cmd_read_line(struct imap_session *s, imap_line_fn *fn);
/* End the held command (its tagged reply was sent, or the session is gone)
 * and go on with pipelined input. Safe when the session is gone. */
void imap_cmd_finish(struct imap_session *s);
/* The tag of the held command. */
const char *imap_cmd_tag(const struct imap_session *s);

/* Run a command's handler now, as the dispatcher would (for a command whose
 * start was deferred: its parsed arguments stay valid because no input is
 * parsed while it is held). */
void imap_session_run_handler(struct imap_session *s, const struct imap_command_def *def,
			      const struct imap_command *cmd);

/* Go on reading input after a decision made outside the input callback
 * (e.g. a literal accepted or refused by a pool job's completion). */
void imap_session_resume(struct imap_session *s);

/* The connection as the auth service sees it (service imap), with its
 * channel bindings in cb_r. */
void imap_auth_conn(const struct imap_session *s, struct conn_cb cb_r[CONN_CB_MAX],
		    struct auth_conn *ac_r);
/* Whether cleartext passwords (LOGIN, AUTH=PLAIN) are allowed on this
 * connection (the auth service's plaintext policy, TLS, loopback). */
bool imap_plaintext_allowed(const struct imap_session *s);
/* Login succeeded: state, limits and timeouts of an authenticated session.
 * Takes ownership of user and store_user. */
void imap_session_logged_in(struct imap_session *s, char *user, struct store_user *store_user);
/* UNAUTHENTICATE (RFC 8437): the selected state is dropped
 * (imap_sel_close), ENABLEd extensions and the user are forgotten, and the
 * limits and timeouts before login apply again. Returns the user's store
 * handle for the caller to release on the storage pool. */
struct store_user *imap_session_logged_out(struct imap_session *s);

#endif
