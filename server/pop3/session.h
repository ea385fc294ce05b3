/* A POP3 session (RFC 1939): the state, the command in flight, the reply
 * helpers every command uses and, after login, the user's store handles
 * and the maildrop snapshot. Commands are reached through the dispatch
 * table (commands.c) and live in commands.c (mailbox commands), cmd-auth.c
 * (AUTHORIZATION) and retr.c (RETR, TOP).
 *
 * Command lifecycle, as in IMAP: a handler finishes at once (reply sent,
 * POP3_CMD_DONE) or holds the command (pop3_cmd_hold) and returns
 * POP3_CMD_AGAIN while it waits for a pool job or for output to drain.
 * While a command is held no further input is parsed: pipelined commands
 * wait in the read buffer and are answered in order (RFC 2449 PIPELINING)
 * after pop3_cmd_finish(). The held command's state (ctx) survives the
 * connection going away; the session core keeps the session alive while
 * jobs are in flight. */
#ifndef LOFT_POP3_SESSION_H
#define LOFT_POP3_SESSION_H

#include <stdbool.h>

#include "server/engine/session.h"
#include "server/net/conn.h"
#include "server/pop3/maildrop.h"

enum pop3_state {
	POP3_STATE_AUTHORIZATION = 0,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
	POP3_STATE_LOGOUT,
};

#define POP3_STATE_BIT(s) (1u << (s))

enum pop3_cmd_result {
	POP3_CMD_DONE = 0,   /* the reply was sent */
	POP3_CMD_AGAIN,      /* held: pop3_cmd_finish() comes later */
};

struct pop3_session;
struct store_user;
struct store_mailbox;
struct store_lock;
struct pop3_readahead;

/* The command in flight. */
struct pop3_cmd {
	void *ctx;                      /* the handler's state */
	void (*free_ctx)(void *ctx);    /* frees ctx (also when the session dies) */
	/* Output fell below the low-water mark while the command waited for
	 * it (conn_output_full returned true): continue. Optional. */
	enum pop3_cmd_result (*on_drained)(struct pop3_session *s);
	/* A read-ahead job returned (readahead.h): continue. Optional. */
	enum pop3_cmd_result (*on_storage_idle)(struct pop3_session *s);
};

struct pop3_session {
	struct sess_core core;          /* first: the engine frees through it */
	struct conn *conn;              /* NULL once the connection is gone */
	enum pop3_state state;
	unsigned bad_in_row;            /* -ERR answers in a row */
	struct pop3_cmd *cmd;           /* in flight, or NULL */
	bool bye_after_command;         /* shutdown waits for the command */
	/* AUTHORIZATION: the name given with USER, until PASS. */
	char *user_arg;
	/* AUTH: the held command reads the client's responses as raw lines
	 * through this callback instead of parsing commands. */
	void (*read_line)(struct pop3_session *s, const char *line, size_t len, bool too_long);
	/* TRANSACTION (after login). */
	char *user;
	struct pop3_policy policy;
	struct store_user *store_user;
	struct store_lock *lock;        /* one POP3 session per user */
	struct store_mailbox *inbox;
	struct pop3_maildrop *drop;
	struct pop3_readahead *ra;      /* RETR read-ahead */
};

void pop3_enter_state(struct pop3_session *s, enum pop3_state state);
const char *pop3_state_name(enum pop3_state state);

/* "+OK[ text]\r\n"; resets the count of errors in a row. */
void pop3_ok(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "-ERR [code] text\r\n" (code may be NULL); counts towards
 * max_bad_commands. */
void pop3_err(struct pop3_session *s, const char *code, const char *text);
/* Map a store error to the reply: [SYS/TEMP] for what may pass (I/O,
 * space), [SYS/PERM] for what will not (corrupt index). Logs "what: error"
 * (what names the user and the operation). */
void pop3_err_store(struct pop3_session *s, int store_err, const char *what);

/* Hold the command being dispatched (the handler returns POP3_CMD_AGAIN);
 * ctx is freed with free_ctx when the command ends. */
struct pop3_cmd *pop3_cmd_hold(struct pop3_session *s, void *ctx, void (*free_ctx)(void *ctx));
/* End the held command and go on with pipelined input. Safe when the
 * session is gone. */
void pop3_cmd_finish(struct pop3_session *s);

/* Whether USER/PASS (and SASL PLAIN/LOGIN) may be used on this connection
 * (plaintext_auth, TLS, loopback). */
bool pop3_plaintext_allowed(const struct pop3_session *s);
/* The CAPA list (RFC 2449 5) for the session's state: "TAG args\r\n"
 * lines, without the status line and terminator. */
void pop3_capa_lines(const struct pop3_session *s, char *buf, size_t size);
/* Login succeeded and the maildrop is open: TRANSACTION state, the limits
 * of an authenticated session. Takes ownership of every pointer. */
void pop3_session_logged_in(struct pop3_session *s, char *user, struct store_user *su,
			    struct store_lock *lock, struct store_mailbox *inbox,
			    struct pop3_maildrop *drop);
/* Say goodbye with "-ERR text" (or "+OK" when ok) and close. */
void pop3_bye(struct pop3_session *s, bool ok, const char *text, const char *reason);

#endif
