/* TLS for connections: OpenSSL 3 server contexts built from a configuration
 * snapshot (TLS 1.2+, server cipher preference, session tickets, SNI
 * certificates) and a per-connection TLS layer over a memory BIO of our own:
 * ciphertext is handed in from the socket, plaintext comes out for the
 * reader, and plaintext written is turned into ciphertext for the write
 * queue through a callback. No socket, no libuv. */
#ifndef LOFT_NET_TLS_H
#define LOFT_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "conf/config.h"

/* Server context for cfg ([tls] and [certificate] sections). Returns NULL
 * with a heap message in *err_r when certificates or settings do not load. */
SSL_CTX *tls_ctx_create(const struct loft_config *cfg, char **err_r);
void tls_ctx_free(SSL_CTX *ctx);

/* Receives ciphertext produced by the TLS layer (handshake records, data,
 * alerts); must queue all of it. */
typedef void tls_output_fn(void *arg, const char *data, size_t len);

struct tls_conn;

struct tls_conn *tls_conn_new(SSL_CTX *ctx, tls_output_fn *out, void *arg);
void tls_conn_free(struct tls_conn **tls);

/* Hand over ciphertext read from the socket. The bytes are borrowed until
 * tls_conn_feed_end(), which copies whatever TLS did not consume yet. */
void tls_conn_feed(struct tls_conn *tls, const char *data, size_t len);
void tls_conn_feed_end(struct tls_conn *tls);

/* Decrypt into buf (drives the handshake first). Returns the number of
 * plaintext bytes (> 0), LOFT_EAGAIN when more ciphertext is needed,
 * LOFT_ECLOSED on close_notify, LOFT_EPROTO on a TLS failure (the reason is
 * in tls_conn_error()). */
long tls_conn_read(struct tls_conn *tls, char *buf, size_t cap);
/* Whether ciphertext or decrypted plaintext is waiting inside the layer. */
bool tls_conn_has_pending(const struct tls_conn *tls);
/* Encrypt len bytes (only after the handshake). Returns 0 or LOFT_EPROTO. */
int tls_conn_write(struct tls_conn *tls, const char *data, size_t len);
/* Queue a close_notify alert. */
void tls_conn_shutdown(struct tls_conn *tls);

bool tls_conn_handshake_done(const struct tls_conn *tls);
const char *tls_conn_version(const struct tls_conn *tls);
const char *tls_conn_cipher(const struct tls_conn *tls);
/* SNI host name the client sent, or NULL. */
const char *tls_conn_server_name(const struct tls_conn *tls);
bool tls_conn_resumed(const struct tls_conn *tls);
/* Channel-binding data (RFC 5056) of the finished handshake, by the type
 * names SASL uses: "tls-exporter" (RFC 9266: 32 bytes exported with label
 * "EXPORTER-Channel-Binding" and no context; offered for TLS 1.3 only, where
 * the exporter is bound to the whole handshake) or "tls-server-end-point"
 * (RFC 5929: a hash of our certificate, with the hash of its signature
 * algorithm, SHA-256 for MD5 and SHA-1). Writes *len_r bytes (at most cap;
 * TLS_CB_MAX_LEN is always enough) and returns 0, or LOFT_EINVAL when the
 * type is unknown or not defined here (handshake not done, TLS 1.2 for
 * tls-exporter, a certificate signed without a single hash such as
 * Ed25519 for tls-server-end-point). */
#define TLS_CB_MAX_LEN 64
int tls_conn_channel_binding(const struct tls_conn *tls, const char *type,
			     unsigned char *out, size_t cap, size_t *len_r);

/* The reason the last tls_conn_read/tls_conn_write that failed on this
 * thread gave (a static buffer per thread: read it before the next call). */
const char *tls_conn_error(const struct tls_conn *tls);

#endif
