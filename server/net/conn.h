/* A client connection as every protocol front end sees it: one read buffer
 * (lent to libuv, freed when idle and empty) read through the resumable line
 * and byte-count readers, a write queue with back-pressure, timeouts, an
 * optional TLS layer (implicit or STARTTLS), logging with the connection id,
 * and a deferred clean close. A front end supplies a struct conn_proto and
 * drives everything from the callbacks in it; all calls happen on the
 * connection's worker thread. */
#ifndef LOFT_NET_CONN_H
#define LOFT_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "server/net/compress.h"
#include "server/net/reader.h"
#include "lib/log.h"

struct conn;
struct worker;

enum conn_refuse_reason {
	CONN_REFUSE_TOTAL,   /* the server's max_connections */
	CONN_REFUSE_PER_IP,  /* max_connections_per_ip */
};

/* A protocol front end. Every callback gets the session pointer returned by
 * session_create and runs inside a connection callback: writes are batched
 * and sent when it returns, and a conn_close() takes effect then. */
struct conn_proto {
	const char *name;    /* "imap", "pop3", "lmtp", "smtp" */
	/* The protocol has no login (LMTP, SMTP delivery): login_deadline does
	 * not apply to it. */
	bool no_login;
	/* Create the session state and write the greeting. */
	void *(*session_create)(struct conn *c);
	/* Input is buffered: pull it with conn_read_line()/conn_read_bytes()
	 * until they say NEED_MORE, or stop early after conn_pause_input(). */
	void (*session_input)(void *sess);
	/* Output that was over max_output_buffer has drained (optional):
	 * continue a paused command. */
	void (*session_drained)(void *sess);
	/* The timeout set with conn_set_timeout() expired, or the login
	 * deadline passed: write the goodbye. The connection is closed right
	 * after (optional). */
	void (*session_timeout)(void *sess);
	/* The server is stopping. force=false: say goodbye and conn_close()
	 * now, or after the command in flight finishes. force=true (the
	 * shutdown_timeout passed): say goodbye and close now. */
	void (*session_shutdown)(void *sess, bool force);
	/* Free the session; the connection is going away (no more conn_*
	 * calls after this returns). */
	void (*session_free)(void *sess);
	/* Write the refusal for a connection over a limit (no session exists;
	 * the connection is closed after it). */
	void (*refuse)(struct conn *c, enum conn_refuse_reason why);
};

/* ---- identity and settings ---- */

/* The worker loop the connection lives on: blocking work for it goes to
 * uv_queue_work() on this loop, whose completion runs on the same thread.
 * If the connection closes meanwhile, session_free() comes first: a session
 * with work in flight keeps its own memory until the completion and does
 * not touch the connection any more. */
struct uv_loop_s *conn_loop(const struct conn *c);
/* The worker the connection lives on (for worker_post()/worker_hold(),
 * server/net/post.h). */
struct worker *conn_worker(const struct conn *c);
/* The server's services (struct loft_services, server/services.h). */
void *conn_services(const struct conn *c);
/* The session returned by session_create (NULL before it returned). */
void *conn_session(const struct conn *c);

const char *conn_id(const struct conn *c);          /* hex, e.g. "6a1f03" */
const char *conn_remote(const struct conn *c);      /* "1.2.3.4:5678", "[::1]:5678" */
const char *conn_remote_ip(const struct conn *c);   /* "1.2.3.4", "::1" */
bool conn_remote_is_loopback(const struct conn *c);
const char *conn_proto_name(const struct conn *c);
const struct conf_listener *conn_listener(const struct conn *c);
/* The configuration snapshot the connection was accepted under; valid for
 * the connection's whole life. */
const struct loft_config *conn_config(const struct conn *c);

/* ---- logging: "conn=<hex> proto=<p> remote=<addr> <message>" ---- */

void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define conn_debug(c, ...) do { if (log_get_level() <= LOG_LEVEL_DEBUG) \
	conn_log((c), LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define conn_info(c, ...)  conn_log((c), LOG_LEVEL_INFO, __VA_ARGS__)
#define conn_warn(c, ...)  conn_log((c), LOG_LEVEL_WARN, __VA_ARGS__)
#define conn_error(c, ...) conn_log((c), LOG_LEVEL_ERROR, __VA_ARGS__)

/* ---- input ---- */

/* Next line from the buffered input (see reader_line). The line's bytes
 * stay valid until the session callback returns. READER_TOO_LONG means a
 * line over the current limit was dropped (answer the protocol's error and
 * go on). */
enum reader_result conn_read_line(struct conn *c, struct reader_line *line_r);
/* Set the longest accepted line (e.g. larger after login). */
void conn_set_max_line(struct conn *c, size_t max_line);
/* Start reading a payload of exactly n bytes (literal). */
void conn_read_bytes_begin(struct conn *c, size_t n);
/* Next chunk of the payload: data_r and len_r are valid until the callback
 * returns. Returns true when the payload is complete (the last chunk may be
 * empty), false when more input is needed (stop and wait for input). */
bool conn_read_bytes(struct conn *c, const char **data_r, size_t *len_r);
size_t conn_read_bytes_left(const struct conn *c);
/* Stop delivering input (a command waits for something); buffered bytes are
 * kept and the socket is not read. conn_resume_input() delivers them again
 * from a fresh callback. */
void conn_pause_input(struct conn *c);
void conn_resume_input(struct conn *c);
/* Raw access for a parser with its own reader (IMAP): the buffered input,
 * valid until the callback returns; conn_consume() drops n bytes of it.
 * conn_set_max_line() must still announce the parser's longest line so the
 * buffer can grow to hold it. */
void conn_input(struct conn *c, const char **data_r, size_t *len_r);
void conn_consume(struct conn *c, size_t n);
/* Whether unconsumed input is buffered (pipelined commands). */
bool conn_has_input(const struct conn *c);

/* ---- output ---- */

void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_str(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Unsent output is above max_output_buffer: a long command should save its
 * place and return; once this said true, session_drained() is called (from
 * a later callback) when the output is below half the limit again. Reading
 * from the client is stopped meanwhile. */
bool conn_output_full(struct conn *c);
size_t conn_output_pending(const struct conn *c);
/* Outside a connection callback (an async completion), batch several
 * writes: conn_cork(); writes; conn_uncork() sends them. */
void conn_cork(struct conn *c);
void conn_uncork(struct conn *c);

/* ---- timeouts ---- */

/* Inactivity timeout: the timer restarts whenever input arrives. 0 = none.
 * Accepted connections start with preauth_timeout. */
void conn_set_timeout(struct conn *c, unsigned ms);
/* The client logged in: ends the login deadline (login_deadline: an
 * absolute bound from accept to login, however active the client is, for
 * protocols without no_login) and switches to the idle_timeout of
 * authenticated sessions. When the deadline passes first, session_timeout()
 * says goodbye and the connection closes. */
void conn_set_authenticated(struct conn *c);

/* The client dropped its identity without closing (IMAP UNAUTHENTICATE,
 * RFC 8437): the login deadline runs again from now and preauth_timeout
 * applies, as for a new connection. */
void conn_set_unauthenticated(struct conn *c);

/* ---- TLS ---- */

/* Whether TLS is active (handshake may still run) on this connection. */
bool conn_is_tls(const struct conn *c);
/* Whether this connection may still upgrade (listener tls=starttls, no TLS
 * yet, a certificate is configured). */
bool conn_can_starttls(const struct conn *c);
/* Start the TLS handshake now. Write the protocol's "go ahead" first: output
 * queued before this call is sent in plaintext. Input buffered after the
 * command line is discarded and logged. Returns 0 or LOFT_EINVAL when TLS
 * cannot start (already TLS, no certificate). */
int conn_starttls(struct conn *c);

/* Channel bindings (RFC 5056) the connection's TLS session offers to SASL's
 * -PLUS mechanisms, by their RFC names: "tls-exporter" (RFC 9266, TLS 1.3
 * only) and "tls-server-end-point" (RFC 5929). */
#define CONN_CB_MAX 2
#define CONN_CB_MAX_LEN 64
struct conn_cb {
	const char *type;               /* static string */
	unsigned char data[CONN_CB_MAX_LEN];
	size_t len;
};
/* Fill cb_r with the bindings of the finished handshake, tls-exporter
 * first; returns how many (0 without TLS). */
size_t conn_channel_bindings(const struct conn *c, struct conn_cb cb_r[CONN_CB_MAX]);
/* ---- compression (RFC 4978 COMPRESS=DEFLATE) ---- */

/* Start DEFLATE in both directions, above TLS. What was queued so far (the
 * command's OK) is sent uncompressed; input buffered after the command line
 * is taken as compressed, since the client compresses from the next byte.
 * STARTTLS is refused from then on (compression must sit above TLS).
 * Returns 0, LOFT_EINVAL when compression is active already (or TLS is
 * still handshaking), LOFT_ENOMEM when zlib cannot start. */
int conn_compress_start(struct conn *c, const struct compress_settings *set);
bool conn_is_compressed(const struct conn *c);
/* Bytes the compression layer holds now (0 without compression). */
size_t conn_compress_memory(const struct conn *c);

/* ---- closing ---- */

/* Send what is queued, then close. The reason goes into the disconnect log
 * line. After this, writes are ignored and no callback but session_free
 * comes. Safe to call more than once and from any callback. */
void conn_close(struct conn *c, const char *reason);
/* Whether conn_close() was called. */
bool conn_is_closing(const struct conn *c);
/* Whether the server is shutting down (a session should finish its command
 * and say goodbye). */
bool conn_server_stopping(const struct conn *c);

#endif
