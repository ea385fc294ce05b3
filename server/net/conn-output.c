/* A connection's output (see conn.h): the plaintext queue the session
 * writes into, the flush that sends it (through the TLS layer when there is
 * one: conn-tls.c fills the ciphertext queue) with one uv_try_write and at
 * most one uv_write in flight, and the back-pressure that pauses reading
 * above max_output_buffer and calls session_drained below half of it. */
#include "server/net/conn-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xmem.h"

struct wreq {
	uv_write_t req;
	struct conn *c;
	char *data;
	size_t len;
};

/* ---- byte queues ---- */

void conn_obuf_free(struct obuf *b)
{
	x_free(&b->data);
	b->start = b->end = b->cap = 0;
}

void conn_obuf_append(struct obuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->start == b->end)
		b->start = b->end = 0;
	if (b->end + n > b->cap) {
		if (b->start > 0) {
			memmove(b->data, b->data + b->start, b->end - b->start);
			b->end -= b->start;
			b->start = 0;
		}
		if (b->end + n > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 1024;
			while (cap < b->end + n)
				cap *= 2;
			b->data = xrealloc(b->data, cap);
			b->cap = cap;
		}
	}
	memcpy(b->data + b->end, p, n);
	b->end += n;
}

/* ---- sending ---- */

size_t conn_unsent(const struct conn *c)
{
	size_t n = obuf_len(&c->wire) + (c->inflight ? c->inflight->len : 0);
	if (c->tls == NULL || conn_tls_ready(c))
		n += obuf_len(&c->out);
	return n;
}

static void on_write(uv_write_t *req, int status);

void conn_flush(struct conn *c)
{
	if (c->state == CONN_STATE_CLOSED)
		return;
	if (c->z != NULL)
		conn_compress_output(c);
	else if (c->tls != NULL)
		conn_tls_encrypt(c);
	if (c->state == CONN_STATE_CLOSED)
		return;
	struct obuf *src = c->tls != NULL || c->z != NULL ? &c->wire : &c->out;
	if (c->inflight != NULL)
		return; /* on_write continues */
	if (obuf_len(src) == 0) {
		conn_obuf_free(src);
		return;
	}
	uv_buf_t b = uv_buf_init(src->data + src->start, (unsigned)obuf_len(src));
	int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (r > 0) {
		src->start += (size_t)r;
		c->bytes_out += (uint64_t)r;
	} else if (r < 0 && r != UV_EAGAIN) {
		conn_close_now(c, "write error");
		return;
	}
	if (obuf_len(src) == 0) {
		conn_obuf_free(src);
		return;
	}
	/* The rest goes out with uv_write, which owns the buffer meanwhile. */
	struct wreq *wr = xmalloc(sizeof(*wr));
	wr->c = c;
	wr->data = src->data;
	wr->len = obuf_len(src);
	uv_buf_t rest = uv_buf_init(src->data + src->start, (unsigned)wr->len);
	src->data = NULL;
	src->start = src->end = src->cap = 0;
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &rest, 1, on_write) != 0) {
		free(wr->data);
		free(wr);
		conn_close_now(c, "write error");
		return;
	}
	c->inflight = wr;
}

bool conn_flush_final(struct conn *c)
{
	if (c->state == CONN_STATE_CLOSED)
		return false;
	if (c->inflight != NULL)
		return false; /* on_write comes back here */
	if (c->z != NULL)
		conn_compress_output(c);
	else if (c->tls != NULL)
		conn_tls_encrypt(c);
	struct obuf *src = c->tls != NULL || c->z != NULL ? &c->wire : &c->out;
	uv_os_fd_t fd;
	if (c->state == CONN_STATE_CLOSED || obuf_len(src) == 0 ||
	    uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
		goto rest;
	ssize_t n = send(fd, src->data + src->start, obuf_len(src),
			 MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		src->start += (size_t)n;
		c->bytes_out += (uint64_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_close_now(c, errno == EPIPE || errno == ECONNRESET ? "connection reset"
									: "write error");
		return false;
	}
rest:
	if (obuf_len(src) == 0) {
		conn_obuf_free(src);
		return c->state != CONN_STATE_CLOSED;
	}
	conn_flush(c); /* the rest, which also pushes what MSG_MORE held */
	return false;
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct conn *c = wr->c;
	c->inflight = NULL;
	if (status == 0)
		c->bytes_out += wr->len;
	free(wr->data);
	free(wr);
	if (c->state == CONN_STATE_CLOSED)
		return;
	if (status < 0) {
		conn_close_now(c, status == UV_EPIPE || status == UV_ECONNRESET
			       ? "connection reset" : "write error");
		return;
	}
	conn_enter(c);
	conn_flush(c);
	if (!conn_closing(c) && c->paused_output && conn_unsent(c) <= conn_max_output(c) / 2) {
		c->paused_output = false;
		c->drain_wanted = false;
		conn_debug(c, "output resumed: %zu bytes unsent", conn_unsent(c));
		if (c->proto->session_drained != NULL && c->sess != NULL)
			c->proto->session_drained(c->sess);
		conn_deliver(c);
	}
	conn_leave(c);
}

void conn_output_check(struct conn *c)
{
	size_t pending = conn_unsent(c), max = conn_max_output(c);
	if (!c->paused_output && (pending > max || (c->drain_wanted && pending > max / 2))) {
		c->paused_output = true; /* on_write resumes below the low mark */
		conn_debug(c, "output paused: %zu bytes unsent", pending);
	} else if (c->drain_wanted && !c->paused_output) {
		/* The session stopped for output that went out at once. */
		c->drain_wanted = false;
		c->drained_pending = true;
		conn_schedule(c);
	}
}

/* ---- the session's side ---- */

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state >= CONN_STATE_FLUSHING)
		return;
	conn_obuf_append(&c->out, data, len);
	if (c->depth == 0) {
		conn_enter(c);
		conn_leave(c);
	}
}

void conn_write_str(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf)) {
		conn_write(c, buf, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	conn_write(c, big, (size_t)n);
	free(big);
}

size_t conn_output_pending(const struct conn *c)
{
	return obuf_len(&c->out) + obuf_len(&c->wire) + (c->inflight ? c->inflight->len : 0);
}

bool conn_output_full(struct conn *c)
{
	if (conn_output_pending(c) <= conn_max_output(c))
		return false;
	c->drain_wanted = true;
	return true;
}
