/* The SMTP client Loft sends its own mail with (Sieve redirect, vacation
 * replies, reject notices): one message per call, handed to the configured
 * smarthost ([relay] host, port, tls) with RFC 5321 EHLO, optional
 * STARTTLS (RFC 3207, certificate checked against the host name), MAIL,
 * RCPT, DATA (dot-stuffed, line ends made CRLF, BODY=8BITMIME when
 * offered) and QUIT. The message is streamed: an in-memory head followed by
 * a range of a file (the message being redirected), never the whole of a
 * large message in memory.
 *
 * Blocking: relay_send runs on a pool thread (or in a CLI tool), never on an
 * event loop; every step is bounded by [relay] timeout. Thread-safe: a
 * struct relay is shared by all threads (each send has its own
 * connection). */
#ifndef LOFT_RELAY_RELAY_H
#define LOFT_RELAY_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

struct relay_settings {
	const char *host;        /* NULL: every send fails with LOFT_ENOENT */
	unsigned port;
	enum conf_tls_mode tls;
	unsigned timeout_ms;
	const char *helo;
};

struct relay;

/* Strings are copied. Returns NULL only when TLS could not be set up
 * (logged). */
struct relay *relay_create(const struct relay_settings *set);
void relay_free(struct relay **relay);
/* From the configuration ([relay], hostname for the EHLO default). */
void relay_config_settings(const struct loft_config *cfg, struct relay_settings *set_r);

/* Send msg (msg_len bytes) and then, when body_fd >= 0, the bytes
 * [body_offset, body_end) of body_fd, from mail_from ("" = <>) to rcpt.
 * Returns 0 once the smarthost accepted the message (250 after DATA), or
 * LOFT_EIO (connection, timeout), LOFT_EPROTO (a 4xx/5xx reply; logged with
 * the reply) or LOFT_ENOENT (no relay configured). May block. */
int relay_send(struct relay *relay, const char *mail_from, const char *rcpt, const char *msg,
	       size_t msg_len, int body_fd, uint64_t body_offset, uint64_t body_end);

/* The same, shaped as struct sieve_outbox's send (ctx is the relay). */
int relay_outbox_send(void *ctx, const char *mail_from, const char *rcpt, const char *msg,
		      size_t msg_len, int body_fd, uint64_t body_offset, uint64_t body_end);

#endif
