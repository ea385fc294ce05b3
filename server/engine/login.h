/* Logins for every front end: IMAP LOGIN and AUTHENTICATE, POP3 USER/PASS and
 * AUTH, SMTP AUTH all run the same pipeline here, so each front end only
 * speaks its protocol (how a challenge looks, how a result is worded):
 *
 *   password (sess_login_password) or SASL (sess_login_sasl_start + steps)
 *     -> the check on the hash pool (auth_password_login, sasl_work)
 *     -> failure: wait the throttle's delay on a loop timer (sess_delay)
 *     -> success: open the user's store on the storage pool and apply the
 *        quota of the user's fields (a durable write only when it changed;
 *        skipped for ops->skip_store)
 *     -> ops->done(result) on the session's loop
 *
 * The connection's facts (service, address, TLS, the channel bindings of
 * the TLS session for -PLUS) are taken from the session's connection when
 * the login starts. auth logs the attempt (user, mechanism, address,
 * app-password device) and records the login state; this file logs the
 * session's "login user=... mech=..." line with the connection id.
 *
 * A front end maps the result to its protocol in one function (see
 * enum auth_result in auth/auth.h for the suggested replies).
 *
 * Lifetime: the engine owns a struct sess_login from start until ops->done
 * returns, then frees it. While the exchange waits for the client's next
 * SASL response nothing is in flight: a session that ends then (timeout,
 * disconnect, shutdown) calls sess_login_free(). Once a step is in flight
 * the session core keeps the session alive and ops->done always comes
 * (with sess_alive() false when the connection went away: clean up only).
 * Everything here runs on the session's loop thread. */
#ifndef LOFT_ENGINE_LOGIN_H
#define LOFT_ENGINE_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "server/engine/session.h"

struct store_user;
struct sess_login;

struct sess_login_result {
	/* AUTH_OK, or a negative enum auth_result; AUTH_ETEMP also when the
	 * user's store could not be opened (logged). */
	int result;
	/* user (canonical on success), device, fields, retry_ms; borrowed
	 * until ops->done returns. */
	const struct auth_login *login;
	const char *mech;          /* "LOGIN" for a password login, else SASL's */
	/* AUTH_OK: the user's store, open, quota applied. Take it (set the
	 * pointer to NULL) or it is closed after ops->done. */
	struct store_user *store_user;
	/* AUTH_ETEMP from the store: why it could not be opened (enum
	 * store_error; STORE_ECORRUPT needs an index rebuild), else 0. */
	int store_err;
};

struct sess_login_ops {
	/* SASL only: the mechanism needs another client response. Send
	 * challenge (base64, may be "") the protocol's way (IMAP and POP3
	 * "+ <challenge>", SMTP "334 <challenge>"), then read the client's
	 * next line raw and hand it to sess_login_step(). May be called from
	 * inside sess_login_step(). */
	void (*challenge)(void *ctx, const char *challenge);
	/* The login is over. Never called from inside a sess_login_* call
	 * (always from a later loop callback). */
	void (*done)(void *ctx, struct sess_login_result *r);
	/* SMTP AUTH needs no mailbox: no store is opened (store_user stays
	 * NULL, no quota is applied). */
	bool skip_store;
	/* Optional, on the storage pool right after the store was opened
	 * (e.g. IMAP's initial mailboxes at a first login): its own errors
	 * are its to log; the login goes on. ctx is the login's. */
	void (*after_open)(struct store_user *su, void *ctx);
};

/* Check user and password (IMAP LOGIN, POP3 USER/PASS): both are copied;
 * the password copy is wiped after the check. Always ends in ops->done. */
void sess_login_password(struct sess_core *core, enum userdb_service service,
			 const char *user, const char *password,
			 const struct sess_login_ops *ops, void *ctx);

/* Start a SASL exchange with mechanism mech (any case). Returns 0 with the
 * exchange in *l_r (then call sess_login_step with the initial response or
 * NULL), AUTH_ENOMECH (unknown, not enabled, or -PLUS without channel
 * binding here) or AUTH_EPRIVACY (a cleartext mechanism where
 * auth_plaintext_allowed() says no): then nothing started and the front
 * end answers itself. */
int sess_login_sasl_start(struct sess_core *core, enum userdb_service service,
			  const char *mech, const struct sess_login_ops *ops, void *ctx,
			  struct sess_login **l_r);

/* Feed the client's response: the raw line without its line end; for the
 * first step the initial response (SASL-IR; "=" is an empty one) or NULL
 * when the client sent none. "*" cancels (done with AUTH_ECANCEL). Leads
 * to ops->challenge or ops->done. Only while the exchange waits for a
 * response (after start or a challenge). */
void sess_login_step(struct sess_login *l, const char *response, size_t len);

/* Whether l waits for the client's response (nothing in flight). */
bool sess_login_waiting(const struct sess_login *l);

/* Abandon an exchange that waits for the client's response (the session
 * ends, or the front end refused the response itself, e.g. a line over
 * its limit). No callback follows. Sets *l to NULL; NULL is fine. */
void sess_login_free(struct sess_login **l);

/* The auth_conn of c for service (address, TLS and channel bindings point
 * into cb_r and c; valid while both are). For front ends that only ask
 * auth_plaintext_allowed() or auth_mechanisms() (capability lists). */
void sess_login_auth_conn(struct conn *c, enum userdb_service service,
			  struct conn_cb cb_r[CONN_CB_MAX], struct auth_conn *ac_r);

#endif
