/* A connection's input (see conn.h): the read buffer lent to libuv (taken
 * from the worker's cache on demand and given back when empty), socket reads
 * handed to the session or to the TLS layer, the line and byte-count
 * readers over the buffer, and pausing and resuming input, with resumed
 * connections delivered from a fresh loop turn. */
#include "server/net/conn-private.h"

#include <string.h>
#include <sys/ioctl.h>

#include "server/net/tls.h"
#include "server/net/worker.h"
#include "lib/xmem.h"

#define CONN_BULK_BUF_SIZE 65536

/* ---- the read buffer ---- */

size_t conn_rbuf_prepare(struct conn *c)
{
	if (c->rbuf == NULL) {
		c->rbuf = worker_buf_get(c->w);
		c->rcap = WORKER_BUF_SIZE;
		c->rstart = c->rend = 0;
	}
	if (c->rstart == c->rend) {
		c->rstart = c->rend = 0;
	} else if (c->rstart > 0 && c->rcap - c->rend < 512) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	size_t want = c->rcap;
	if (c->rend == c->rcap) {
		size_t limit = c->rd.max_line + 2;
		if (limit < CONN_BULK_BUF_SIZE)
			limit = CONN_BULK_BUF_SIZE;
		if (c->rcap < limit)
			want = c->rcap * 2 < limit ? c->rcap * 2 : limit;
	}
	if (c->rd.literal_left > c->rcap - c->rend && c->rcap < CONN_BULK_BUF_SIZE)
		want = CONN_BULK_BUF_SIZE;
	if (want > c->rcap) {
		c->rbuf = xrealloc(c->rbuf, want);
		c->rcap = want;
	}
	return c->rcap - c->rend;
}

void conn_rbuf_release(struct conn *c)
{
	if (c->rbuf == NULL || c->rstart != c->rend)
		return;
	if (c->rcap == WORKER_BUF_SIZE)
		worker_buf_put(c->w, c->rbuf);
	else
		free(c->rbuf);
	c->rbuf = NULL;
	c->rstart = c->rend = c->rcap = 0;
}

bool conn_input_drained(struct conn *c)
{
	uv_os_fd_t fd;
	int pending = 0;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || ioctl(fd, FIONREAD, &pending) != 0)
		return false;
	return pending == 0 && c->rstart == c->rend;
}

/* ---- socket reads ---- */

void conn_update_reading(struct conn *c)
{
	bool want = !conn_closing(c) && !c->paused_session && !c->paused_output;
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) == 0)
			c->reading = true;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	if (c->tls != NULL || c->z != NULL || c->state >= CONN_STATE_FLUSHING) {
		*buf = uv_buf_init(worker_scratch(c->w), WORKER_SCRATCH_SIZE);
		return;
	}
	size_t n = conn_rbuf_prepare(c);
	*buf = uv_buf_init(c->rbuf + c->rend, (unsigned)n);
}

bool conn_can_deliver(const struct conn *c)
{
	return !conn_closing(c) && !c->paused_session && !c->paused_output && c->sess != NULL;
}

void conn_deliver(struct conn *c)
{
	if (conn_can_deliver(c) && c->rend > c->rstart)
		c->proto->session_input(c->sess);
	if (c->z != NULL)
		conn_compress_pump(c);
	else if (c->tls != NULL)
		conn_tls_pump(c);
}

void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->state == CONN_STATE_CLOSED)
		return;
	if (nread == UV_EOF) {
		c->peer_eof = true;
		c->reading = false; /* libuv stops reading at EOF */
	}
	if (c->state >= CONN_STATE_FLUSHING) {
		/* Closing: input is dropped. The client's EOF ends a linger, and
		 * lets a flush close without one; a read error ends it all. */
		if (nread > 0)
			c->bytes_in += (uint64_t)nread;
		else if (nread < 0 && (nread != UV_EOF || c->state == CONN_STATE_LINGERING))
			conn_close_handles(c);
		return;
	}
	conn_enter(c);
	if (nread > 0) {
		c->bytes_in += (uint64_t)nread;
		c->last_input_ms = uv_now(worker_loop(c->w));
		if (c->tls != NULL && buf->base == worker_scratch(c->w)) {
			conn_tls_input(c, buf->base, (size_t)nread);
		} else if (c->z != NULL && buf->base == worker_scratch(c->w)) {
			conn_compress_input(c, buf->base, (size_t)nread);
		} else {
			c->rend += (size_t)nread;
			conn_deliver(c);
		}
	} else if (nread == UV_ENOBUFS) {
		conn_warn(c, "input buffer full");
		conn_close(c, "input buffer full");
	} else if (nread < 0) {
		conn_close(c, nread == UV_EOF ? "eof" : uv_strerror((int)nread));
	}
	conn_leave(c);
}

/* ---- the readers ---- */

enum reader_result conn_read_line(struct conn *c, struct reader_line *line_r)
{
	if (conn_closing(c)) {
		memset(line_r, 0, sizeof(*line_r));
		return READER_NEED_MORE;
	}
	size_t consumed;
	const char *data = c->rbuf != NULL ? c->rbuf + c->rstart : "";
	enum reader_result r = reader_line(&c->rd, data, c->rend - c->rstart, line_r,
					   &consumed);
	c->rstart += consumed;
	if (r == READER_TOO_LONG)
		conn_info(c, "line too long (limit %zu)", c->rd.max_line);
	return r;
}

void conn_set_max_line(struct conn *c, size_t max_line)
{
	reader_set_max_line(&c->rd, max_line);
}

void conn_read_bytes_begin(struct conn *c, size_t n)
{
	reader_bytes_begin(&c->rd, n);
}

bool conn_read_bytes(struct conn *c, const char **data_r, size_t *len_r)
{
	size_t chunk;
	const char *data = c->rbuf != NULL ? c->rbuf + c->rstart : "";
	bool done = reader_bytes(&c->rd, data, c->rend - c->rstart, &chunk);
	*data_r = data;
	*len_r = chunk;
	c->rstart += chunk;
	return done;
}

size_t conn_read_bytes_left(const struct conn *c)
{
	return reader_bytes_left(&c->rd);
}

void conn_input(struct conn *c, const char **data_r, size_t *len_r)
{
	if (conn_closing(c) || c->rbuf == NULL) {
		*data_r = "";
		*len_r = 0;
		return;
	}
	*data_r = c->rbuf + c->rstart;
	*len_r = c->rend - c->rstart;
}

void conn_consume(struct conn *c, size_t n)
{
	if (n > c->rend - c->rstart)
		n = c->rend - c->rstart;
	c->rstart += n;
}

bool conn_has_input(const struct conn *c)
{
	return c->rend > c->rstart || (c->tls != NULL && tls_conn_has_pending(c->tls)) ||
	       conn_compress_has_pending(c);
}

/* ---- pause and resume ---- */

void conn_pause_input(struct conn *c)
{
	c->paused_session = true;
	if (c->depth == 0)
		conn_update_reading(c);
}

void conn_resume_input(struct conn *c)
{
	if (!c->paused_session)
		return;
	c->paused_session = false;
	if (conn_has_input(c))
		conn_schedule(c);
	if (c->depth == 0) {
		conn_enter(c);
		conn_leave(c);
	}
}

void conn_schedule(struct conn *c)
{
	if (c->in_resumed || c->state == CONN_STATE_CLOSED)
		return;
	struct conn_list *list = worker_conns(c->w);
	c->in_resumed = true;
	c->resume_next = list->resumed;
	list->resumed = c;
	worker_wake_resumed(c->w);
}

void conn_run_resumed(struct worker *w)
{
	struct conn_list *list = worker_conns(w);
	while (list->resumed != NULL) {
		struct conn *c = list->resumed;
		list->resumed = c->resume_next;
		c->in_resumed = false;
		c->resume_next = NULL;
		if (c->state == CONN_STATE_CLOSED)
			continue;
		conn_enter(c);
		if (c->drained_pending) {
			c->drained_pending = false;
			if (!conn_closing(c) && c->sess != NULL && c->proto->session_drained != NULL)
				c->proto->session_drained(c->sess);
		}
		conn_deliver(c);
		conn_leave(c);
	}
}
