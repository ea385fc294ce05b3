/* SASL server mechanisms as pure state machines that IMAP AUTHENTICATE,
 * POP3 AUTH and SMTP AUTH all drive the same way: PLAIN (RFC 4616), LOGIN,
 * CRAM-MD5 (RFC 2195), SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, 7677) and
 * their -PLUS variants with channel binding (RFC 5056; the front end hands
 * in the bytes of tls-exporter, RFC 9266, or tls-server-end-point, RFC
 * 5929). The machine speaks base64 text, the form every one of those
 * protocols puts on the wire, so cancel, bad base64 and overlong responses
 * are detected in one place.
 *
 * Driving a machine (every call but sasl_work() is quick, no I/O, no
 * hashing: call it on the loop):
 *
 *   sasl_start(auth, conn, "SCRAM-SHA-256", &s)   // or AUTH_ENOMECH, ...
 *   r = sasl_step(s, initial_response_or_NULL, len, &challenge);
 *   loop:
 *     r == SASL_CONTINUE:  send challenge (base64, may be ""), read the
 *                          client's next line, r = sasl_step(s, line, ...)
 *     r == SASL_NEED_WORK: run sasl_work(s) on the password-hashing pool;
 *                          back on the loop, r = sasl_resume(s, &challenge)
 *     r == AUTH_OK:        logged in as sasl_login(s)->user
 *     r <  0:              failed: enum auth_result; wait
 *                          sasl_login(s)->delay_ms before answering
 *   sasl_free(&s)
 *
 * sasl_work() may block (password hashing, re-reading the users file); it
 * touches only the machine, which the loop must leave alone meanwhile. A
 * session that goes away while work is in flight frees the machine after
 * the work returns. Secrets (passwords, keys, proofs) are wiped with
 * OPENSSL_cleanse as soon as they are used and again in sasl_free. */
#ifndef LOFT_AUTH_SASL_H
#define LOFT_AUTH_SASL_H

#include <stddef.h>

#include "auth/auth.h"

enum sasl_status {
	SASL_CONTINUE = 1,    /* send the challenge, feed the client's answer */
	SASL_NEED_WORK = 2,   /* run sasl_work() off the loop, then sasl_resume() */
};

struct sasl;

/* Start mechanism mech (case-insensitive name) for conn. Returns 0 and a
 * machine, AUTH_ENOMECH (unknown, disabled, or -PLUS without channel
 * binding on conn) or AUTH_EPRIVACY (a cleartext mechanism where
 * auth_plaintext_allowed() says no). conn's strings and bytes are copied. */
int sasl_start(struct auth *auth, const struct auth_conn *conn, const char *mech,
	       struct sasl **s_r);

/* Feed the client's response: the line it sent without CRLF, or for the
 * first call the initial response (SASL-IR; "=" means an empty one), or
 * NULL when the client sent none. "*" cancels (AUTH_ECANCEL). Returns
 * SASL_CONTINUE with *challenge_r (base64, borrowed until the next call),
 * SASL_NEED_WORK, AUTH_OK or a negative enum auth_result. After AUTH_OK or
 * an error the machine is finished: only sasl_login() and sasl_free(). */
int sasl_step(struct sasl *s, const char *response, size_t len, const char **challenge_r);

/* The blocking part after SASL_NEED_WORK: may block, run it on the
 * password-hashing pool. */
void sasl_work(struct sasl *s);

/* After sasl_work() returned, on the loop: the same results as sasl_step. */
int sasl_resume(struct sasl *s, const char **challenge_r);

/* The outcome so far (user, device, delay_ms, retry_ms, fields); borrowed
 * until sasl_free. */
const struct auth_login *sasl_login(const struct sasl *s);

/* The mechanism's name ("SCRAM-SHA-256"). */
const char *sasl_mech(const struct sasl *s);

/* Wipe and free; sets *s to NULL. */
void sasl_free(struct sasl **s);

/* Tests only: use nonce instead of random bytes for the server's part of
 * the SCRAM nonce, or as the whole CRAM-MD5 challenge, so the RFC examples
 * can be replayed. Call right after sasl_start. */
void sasl_set_test_nonce(struct sasl *s, const char *nonce);

#endif
