/* The glue between a connection and its COMPRESS=DEFLATE layer
 * (compress.h), which sits above TLS and below the reader: bytes from the
 * socket (or TLS plaintext) are inflated into the read buffer as far as it
 * has room and the session reads them; what the session wrote is deflated
 * with a sync flush at every flush of the output and handed to TLS or the
 * socket queue. Starting it keeps the command's OK uncompressed and takes
 * the input already buffered after the command line as compressed. */
#include "server/net/conn-private.h"

#include "server/net/compress.h"
#include "server/net/tls.h"
#include "lib/error.h"

#define TLS_PLAIN_CHUNK 16384

bool conn_is_compressed(const struct conn *c)
{
	return c->z != NULL;
}

size_t conn_compress_memory(const struct conn *c)
{
	return c->z != NULL ? compress_conn_memory(c->z) : 0;
}

int conn_compress_start(struct conn *c, const struct compress_settings *set)
{
	if (c->z != NULL)
		return LOFT_EINVAL;
	if (conn_closing(c) || (c->tls != NULL && !conn_tls_ready(c)))
		return LOFT_EINVAL;
	struct compress_conn *z = compress_conn_new(set);
	if (z == NULL) {
		conn_error(c, "cannot start compression");
		return LOFT_ENOMEM;
	}
	/* What is queued (the command's OK) leaves uncompressed, ahead of
	 * everything compressed. */
	if (c->tls != NULL) {
		conn_tls_encrypt(c);
	} else if (obuf_len(&c->out) > 0) {
		conn_obuf_append(&c->wire, c->out.data + c->out.start, obuf_len(&c->out));
		conn_obuf_free(&c->out);
	}
	/* The client compresses from the byte after the command's CRLF: what
	 * it pipelined is compressed input. */
	if (c->rend > c->rstart) {
		compress_conn_feed(z, c->rbuf + c->rstart, c->rend - c->rstart);
		compress_conn_feed_end(z);
		c->rstart = c->rend;
	}
	c->z = z;
	conn_info(c, "compression started (deflate level=%d window_bits=%d mem_level=%d)",
		  set->level, set->window_bits, set->mem_level);
	return 0;
}

/* Inflate what the layer holds into the read buffer and hand it to the
 * session, pulling more plaintext out of TLS when it runs dry. */
void conn_compress_pump(struct conn *c)
{
	while (conn_can_deliver(c) && c->z != NULL) {
		if (conn_rbuf_prepare(c) == 0) {
			conn_warn(c, "input buffer full");
			conn_close(c, "input buffer full");
			return;
		}
		long n = compress_conn_read(c->z, c->rbuf + c->rend, c->rcap - c->rend);
		if (n > 0) {
			c->rend += (size_t)n;
			c->proto->session_input(c->sess);
			continue;
		}
		if (n == LOFT_EPROTO) {
			conn_info(c, "invalid compressed input");
			conn_close(c, "compression error");
			return;
		}
		if (n == LOFT_ECLOSED) {
			conn_info(c, "client ended its compressed stream");
			conn_close(c, "compressed stream ended");
			return;
		}
		if (c->tls == NULL)
			return;
		char plain[TLS_PLAIN_CHUNK];
		long m = tls_conn_read(c->tls, plain, sizeof(plain));
		if (m > 0) {
			compress_conn_feed(c->z, plain, (size_t)m);
			compress_conn_feed_end(c->z);
			continue;
		}
		if (m == LOFT_ECLOSED) {
			conn_close(c, "tls closed by client");
		} else if (m == LOFT_EPROTO) {
			conn_info(c, "%s", tls_conn_error(c->tls));
			conn_close(c, "tls error");
		}
		return;
	}
}

void conn_compress_input(struct conn *c, const char *data, size_t len)
{
	compress_conn_feed(c->z, data, len);
	conn_compress_pump(c);
	if (c->z != NULL)
		compress_conn_feed_end(c->z);
}

bool conn_compress_has_pending(const struct conn *c)
{
	return c->z != NULL && compress_conn_has_pending(c->z);
}

static int to_tls(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	return tls_conn_write(c->tls, data, len);
}

static int to_wire(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	conn_obuf_append(&c->wire, data, len);
	return 0;
}

void conn_compress_output(struct conn *c)
{
	if (c->z == NULL || obuf_len(&c->out) == 0)
		return;
	int r = compress_conn_write(c->z, c->out.data + c->out.start, obuf_len(&c->out),
				    c->tls != NULL ? to_tls : to_wire, c);
	conn_obuf_free(&c->out);
	if (r < 0) {
		conn_warn(c, "%s", c->tls != NULL && r == LOFT_EPROTO ? tls_conn_error(c->tls)
								   : "compression failed");
		conn_close_now(c, "compression write error");
	}
}

void conn_compress_end(struct conn *c)
{
	if (c->z == NULL)
		return;
	unsigned long long pin, zin, pout, zout;
	compress_conn_totals(c->z, &pin, &zin, &pout, &zout);
	conn_debug(c, "compression in=%llu/%llu out=%llu/%llu (compressed/plain)", zin, pin,
		   zout, pout);
	compress_conn_free(&c->z);
}
