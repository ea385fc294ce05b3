/* A ManageSieve session (RFC 5804): the state, the command being assembled
 * from lines and literals (literals are counted against the limits before
 * a byte is kept; one over the limit is read and dropped), the command in
 * flight and the reply helpers. Commands are reached through the dispatch
 * table (commands.c) and live in commands.c (scripts, capabilities) and
 * cmd-auth.c (STARTTLS, AUTHENTICATE, UNAUTHENTICATE). A command that waits
 * for a pool job holds the session (ms_cmd_hold): pipelined commands stay
 * in the read buffer until ms_cmd_finish(). */
#ifndef LOFT_MANAGESIEVE_SESSION_H
#define LOFT_MANAGESIEVE_SESSION_H

#include <stdbool.h>

#include "server/engine/session.h"
#include "server/managesieve/parse.h"
#include "server/net/conn.h"
#include "storage/message/message.h"

enum ms_state {
	MS_STATE_NONAUTH = 0,
	MS_STATE_AUTH,
	MS_STATE_LOGOUT,
};
#define MS_STATE_BIT(s) (1u << (s))

struct store_user;
struct sasl;
struct ms_delay;

struct ms_session {
	struct sess_core core;          /* first: the engine frees through it */
	struct conn *conn;              /* NULL once the connection is gone */
	enum ms_state state;
	unsigned bad_in_row;
	bool held;                      /* a command waits for a job */
	bool bye_after_command;         /* shutdown waits for the command */
	/* the command being read */
	struct ms_args args;
	bool in_literal, literal_drop, continuation;
	size_t literal_total;           /* literal bytes of this command */
	struct msg_buf literal;
	/* AUTHENTICATE in progress */
	struct sasl *sasl;
	bool sasl_waiting;              /* the next line is a SASL response */
	struct ms_delay *delay;         /* a failed login's wait */
	/* AUTH */
	char *user;
	struct store_user *store_user;
};

void ms_enter_state(struct ms_session *s, enum ms_state state);

/* "OK [(code)] "text"\r\n" (code may be NULL). */
void ms_ok(struct ms_session *s, const char *code, const char *text);
/* "NO ..." (counts towards max_bad_commands). */
void ms_no(struct ms_session *s, const char *code, const char *text);
/* Write the capability lines (RFC 5804 1.7), without the OK. */
void ms_capability(struct ms_session *s);
/* Map a store error to NO with the RFC 5804 response code. */
void ms_no_store(struct ms_session *s, int store_err, const char *what);

/* Hold the session while a job runs; ms_cmd_finish() resumes input. */
void ms_cmd_hold(struct ms_session *s);
void ms_cmd_finish(struct ms_session *s);

/* The login succeeded: AUTH state, the user's store (taken). */
void ms_logged_in(struct ms_session *s, char *user, struct store_user *su);
/* Back to NONAUTH (UNAUTHENTICATE). */
void ms_logged_out(struct ms_session *s);
/* Start the SASL exchange of AUTHENTICATE (cmd-auth.c); a line that is the
 * client's next response goes to ms_sasl_response. */
void ms_sasl_response(struct ms_session *s, const char *line, size_t len);
/* Free login state (timers, SASL) when the session ends. */
void ms_auth_free(struct ms_session *s);
/* The SASL mechanisms for this connection, space separated, into buf. */
void ms_mechanisms(struct ms_session *s, char *buf, size_t size);

#endif
