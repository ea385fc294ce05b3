/* Internal to server/lmtp/: the LMTP/SMTP session every file of the front
 * end shares. One machine serves both protocols; `lmtp` says which. The
 * session's life is one state (changed by smtp_enter_state, which logs),
 * plus what it waits for while a pool job or the message sink runs (input
 * is paused meanwhile, so pipelined commands wait their turn).
 *
 *   greeting -> greeted -(LHLO/EHLO/HELO)-> ready -(MAIL)-> mail
 *     -(RCPT ok)-> rcpt -(DATA)-> data -(end)-> ready
 *                       -(BDAT)-> bdat -(chunk)-> rcpt ... -(LAST)-> ready
 *   ready -(AUTH)-> auth -> ready;  any -(QUIT)-> logout
 * STARTTLS and RSET go back to greeted / ready.
 *
 * Files: session.c (connection callbacks, input loop, replies, limits),
 * commands.c (the table and the simple commands), cmd-mail.c (MAIL, RCPT),
 * cmd-data.c (DATA, BDAT, the delivery step and its replies), smtp-auth.c
 * (AUTH, SMTP only), tx.c (the transaction), checks.c (sender checks and
 * rspamd on the way in). */
#ifndef LOFT_LMTP_SESSION_H
#define LOFT_LMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/userdb.h"
#include "server/engine/session.h"
#include "server/lmtp/tx.h"
#include "server/net/conn.h"
#include "server/net/limits.h"

struct sasl;
struct uv_timer_s;

enum smtp_state {
	SMTP_STATE_GREETING = 0, /* SMTP: the greeting is held back (early talkers) */
	SMTP_STATE_GREETED,      /* waiting for LHLO/EHLO/HELO */
	SMTP_STATE_READY,        /* hello done, no transaction */
	SMTP_STATE_MAIL,         /* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,         /* at least one recipient accepted */
	SMTP_STATE_DATA,         /* reading a message after DATA */
	SMTP_STATE_BDAT,         /* reading a BDAT chunk */
	SMTP_STATE_AUTH,         /* a SASL exchange: lines are responses */
	SMTP_STATE_LOGOUT,
};

/* What the session waits for (input is paused while not NONE). */
enum smtp_wait {
	SMTP_WAIT_NONE = 0,
	SMTP_WAIT_JOB,           /* a pool job (RCPT lookup, AUTH, delivery) */
	SMTP_WAIT_SINK,          /* room in the message sink */
	SMTP_WAIT_FLUSH,         /* the sink writing the message's last bytes */
	SMTP_WAIT_TIMER,         /* the greeting delay, a failed login's delay */
	SMTP_WAIT_CHECK,         /* sender checks or rspamd (checks.h) */
};

struct smtp_session {
	struct sess_core core;
	struct conn *conn;       /* NULL once the connection is gone */
	bool lmtp;
	enum smtp_state state;
	enum smtp_wait wait;
	char *helo;              /* the client's hello argument */
	bool esmtp;              /* EHLO/LHLO (not HELO) */
	unsigned bad_in_row;     /* max_bad_commands */
	unsigned errors;         /* [smtp] max_errors */
	struct net_addr_key net; /* the client network (rate limits) */
	struct smtp_tx *tx;      /* the mail transaction, or NULL */
	unsigned n_tx;           /* transactions so far (ids) */
	struct smtp_checks *checks;  /* checks.h; NULL when none run */
	struct uv_timer_s *timer;   /* greeting delay, AUTH failure delay */
	void (*timer_cb)(struct smtp_session *s);
	/* BDAT whose bytes are read and dropped (no valid transaction) */
	uint64_t discard_left;
	bool discarding;
	enum smtp_state discard_state;   /* the state to go back to */
	char discard_reply[128];         /* the reply once all is read */
	/* AUTH */
	struct sasl *sasl;
	bool authenticated;
	int auth_failed;         /* a failure answered after its delay */
	char auth_user[USERDB_NAME_MAX + 1];
};

/* ---- session.c ---- */
void smtp_enter_state(struct smtp_session *s, enum smtp_state state);
const char *smtp_hostname(const struct smtp_session *s);
/* One reply line "code text" (text starts with the enhanced code). Counts
 * errors for max_bad_commands and [smtp] max_errors. */
void smtp_reply(struct smtp_session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A reply given as one "ddd x.y.z text" string. */
void smtp_reply_line(struct smtp_session *s, const char *line);
/* Wait for job/sink/timer: pause input (and the inactivity timeout). */
void smtp_wait(struct smtp_session *s, enum smtp_wait what);
/* The wait is over: resume input and go on with what is buffered. Only
 * from outside a connection callback (a job's done, a timer, the sink). */
void smtp_wait_done(struct smtp_session *s);
/* Run cb on the loop after ms (one timer per session). */
void smtp_timer_start(struct smtp_session *s, unsigned ms, void (*cb)(struct smtp_session *s));
/* Drop the transaction (RSET, after delivery, STARTTLS). */
void smtp_tx_reset(struct smtp_session *s);
/* The services of the session's server. */
const struct loft_services *smtp_services(const struct smtp_session *s);
const struct loft_config *smtp_config(const struct smtp_session *s);

/* ---- commands.c ---- */
void smtp_dispatch(struct smtp_session *s, const char *line, size_t len);
/* The greeting, once any greeting delay passed. */
void smtp_greet(struct smtp_session *s);

/* ---- cmd-mail.c ---- */
void smtp_cmd_mail(struct smtp_session *s, const char *args, size_t len);
void smtp_cmd_rcpt(struct smtp_session *s, const char *args, size_t len);

/* ---- cmd-data.c ---- */
void smtp_cmd_data(struct smtp_session *s, const char *args, size_t len);
void smtp_cmd_bdat(struct smtp_session *s, const char *args, size_t len);
/* In state DATA/BDAT: take message bytes from the input. Returns true when
 * the loop may go on (more input, back to commands), false to stop. */
bool smtp_data_input(struct smtp_session *s);

/* ---- smtp-auth.c ---- */
/* Whether AUTH is offered now, and the mechanisms (up to max names). */
size_t smtp_auth_mechanisms(struct smtp_session *s, const char **names, size_t max);
void smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len);
/* In state AUTH: the client's response line. */
void smtp_auth_response(struct smtp_session *s, const char *line, size_t len);
void smtp_auth_free(struct smtp_session *s);

#endif
