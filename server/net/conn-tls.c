/* The glue between a connection and its TLS layer (tls.h): starting it
 * (implicit TLS at accept, STARTTLS on the session's word), feeding it the
 * ciphertext read from the socket, pulling plaintext out of it into the read
 * buffer, encrypting the session's output into the ciphertext queue, the
 * HANDSHAKING -> OPEN transition, and close_notify at close. */
#include "server/net/conn-private.h"

#include "server/net/listener.h"
#include "server/net/snapshot.h"
#include "server/net/tls.h"
#include "server/net/worker.h"
#include "lib/error.h"

bool conn_tls_ready(const struct conn *c)
{
	return c->tls != NULL && tls_conn_handshake_done(c->tls);
}

static void tls_output(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	conn_obuf_append(&c->wire, data, len);
}

int conn_tls_start(struct conn *c)
{
	c->tls = tls_conn_new(c->snap->tls_ctx, tls_output, c);
	if (c->tls == NULL) {
		conn_error(c, "cannot create TLS session");
		return LOFT_ENOMEM;
	}
	c->handshake_start_ms = uv_now(worker_loop(c->w));
	conn_enter_state(c, CONN_STATE_HANDSHAKING);
	conn_arm_timer(c);
	return 0;
}

bool conn_can_starttls(const struct conn *c)
{
	return c->lst->conf.tls == CONF_TLS_STARTTLS && c->tls == NULL && c->z == NULL &&
	       c->snap->tls_ctx != NULL;
}

int conn_starttls(struct conn *c)
{
	if (c->tls != NULL || c->z != NULL || c->snap->tls_ctx == NULL || conn_closing(c))
		return LOFT_EINVAL;
	/* What the session queued so far (its "begin TLS" reply) goes out
	 * in plaintext, ahead of the handshake. */
	if (obuf_len(&c->out) > 0) {
		conn_obuf_append(&c->wire, c->out.data + c->out.start, obuf_len(&c->out));
		conn_obuf_free(&c->out);
	}
	size_t pipelined = c->rend - c->rstart;
	if (pipelined > 0)
		conn_warn(c, "starttls: discarded %zu bytes sent after the command", pipelined);
	c->rstart = c->rend;
	size_t max_line = c->rd.max_line;
	reader_init(&c->rd, max_line);
	conn_info(c, "starttls");
	return conn_tls_start(c);
}

_Static_assert(CONN_CB_MAX_LEN >= TLS_CB_MAX_LEN, "channel binding buffer");

size_t conn_channel_bindings(const struct conn *c, struct conn_cb cb[CONN_CB_MAX])
{
	static const char *const types[CONN_CB_MAX] = { "tls-exporter", "tls-server-end-point" };
	size_t n = 0;
	for (size_t i = 0; c->tls != NULL && i < CONN_CB_MAX; i++) {
		if (tls_conn_channel_binding(c->tls, types[i], cb[n].data, sizeof(cb[n].data),
					     &cb[n].len) == 0) {
			cb[n].type = types[i];
			n++;
		}
	}
	return n;
}

void conn_tls_encrypt(struct conn *c)
{
	if (obuf_len(&c->out) == 0 || !tls_conn_handshake_done(c->tls))
		return;
	int r = tls_conn_write(c->tls, c->out.data + c->out.start, obuf_len(&c->out));
	conn_obuf_free(&c->out);
	if (r < 0) {
		conn_warn(c, "%s", tls_conn_error(c->tls));
		conn_close_now(c, "tls write error");
	}
}

static void handshake_done(struct conn *c)
{
	const char *sni = tls_conn_server_name(c->tls);
	conn_info(c, "tls established version=%s cipher=%s sni=%s resumed=%s",
		  tls_conn_version(c->tls), tls_conn_cipher(c->tls), sni ? sni : "-",
		  tls_conn_resumed(c->tls) ? "yes" : "no");
	conn_enter_state(c, CONN_STATE_OPEN);
	conn_arm_timer(c);
}

void conn_tls_pump(struct conn *c)
{
	while (conn_can_deliver(c) && c->tls != NULL) {
		if (c->z != NULL) {
			/* The session started compression: TLS plaintext is
			 * compressed from here on. */
			conn_compress_pump(c);
			return;
		}
		if (conn_rbuf_prepare(c) == 0) {
			conn_warn(c, "input buffer full");
			conn_close(c, "input buffer full");
			return;
		}
		long n = tls_conn_read(c->tls, c->rbuf + c->rend, c->rcap - c->rend);
		if (c->state == CONN_STATE_HANDSHAKING && tls_conn_handshake_done(c->tls))
			handshake_done(c);
		if (n > 0) {
			c->rend += (size_t)n;
			c->proto->session_input(c->sess);
			continue;
		}
		if (n == LOFT_ECLOSED) {
			conn_close(c, "tls closed by client");
		} else if (n == LOFT_EPROTO) {
			conn_info(c, "%s", tls_conn_error(c->tls));
			conn_close(c, c->state == CONN_STATE_HANDSHAKING ? "tls handshake failed"
									 : "tls error");
		}
		return;
	}
}

void conn_tls_input(struct conn *c, const char *data, size_t len)
{
	tls_conn_feed(c->tls, data, len);
	conn_tls_pump(c);
	if (c->tls != NULL)
		tls_conn_feed_end(c->tls);
}

void conn_tls_close(struct conn *c)
{
	if (tls_conn_handshake_done(c->tls)) {
		conn_tls_encrypt(c);
		if (c->state != CONN_STATE_CLOSED)
			tls_conn_shutdown(c->tls);
	} else {
		conn_obuf_free(&c->out); /* never got to encrypt it */
	}
}
