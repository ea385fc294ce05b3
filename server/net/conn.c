/* Client connections (see conn.h): accept, the read buffer lent to libuv,
 * input delivery to the session (plain or through the TLS layer), the write
 * queue with back-pressure, timeouts, STARTTLS and the deferred close. Every
 * entry from libuv or from a session outside a callback goes through
 * enter()/leave(); leave() of the outermost level flushes output, applies a
 * pending close and frees the read buffer when it is empty. */
#include "server/net/conn.h"

#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/net/loop.h"
#include "server/net/tls.h"
#include "lib/error.h"
#include "lib/xmem.h"

#define CONN_CLOSE_FLUSH_MS 5000      /* wait this long for output at close */
#define CONN_CLOSE_FLUSH_STOP_MS 1000 /* ... when the server is stopping */
#define CONN_LINGER_MS 2000           /* read and drop input after our FIN */
#define CONN_DEFAULT_MAX_OUTPUT (256 * 1024)
#define CONN_BULK_BUF_SIZE 65536

struct obuf {
	char *data;
	size_t start, end, cap;
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	char *data;
	size_t len;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct worker *w;
	struct net_snapshot *snap;
	struct net_listener *lst;
	const struct conn_proto *proto;
	void *sess;
	struct conn *prev, *next;     /* worker's list */
	struct conn *resume_next;     /* worker's resumed list */

	char idhex[17];
	char remote[64];
	char ip[48];

	char *rbuf;                   /* read buffer, NULL while idle */
	size_t rstart, rend, rcap;
	struct reader rd;

	struct obuf out;              /* plaintext not yet sent/encrypted */
	struct obuf wire;             /* TLS: bytes for the socket */
	struct wreq *inflight;
	struct tls_conn *tls;

	uint64_t bytes_in, bytes_out;
	uint64_t start_ms;
	uint32_t slot;                /* in the worker's handle table */
	unsigned timeout_ms;
	int depth;
	int handles_open;
	char close_reason[80];

	bool reading, paused_session, paused_output;
	bool closing, close_flushing, lingering, handles_closing;
	bool counted, loopback, tls_done, in_resumed;
	bool drain_wanted;            /* the session saw conn_output_full() */
	bool drained_pending;         /* call session_drained from the loop */
};

static void leave(struct conn *c);
static void flush(struct conn *c);
static void schedule(struct conn *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* ---- output buffers ---- */

static size_t obuf_len(const struct obuf *b)
{
	return b->end - b->start;
}

static void obuf_free(struct obuf *b)
{
	x_free(&b->data);
	b->start = b->end = b->cap = 0;
}

static void obuf_append(struct obuf *b, const void *p, size_t n)
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

/* ---- identity, logging ---- */

struct uv_loop_s *conn_loop(const struct conn *c) { return &c->w->loop; }
struct worker *conn_worker(const struct conn *c) { return c->w; }
void *conn_services(const struct conn *c) { return worker_services(c->w); }
void *conn_session(const struct conn *c) { return c->sess; }
uint64_t conn_handle(const struct conn *c) { return worker_slot_handle(c->w, c->slot); }
const char *conn_id(const struct conn *c) { return c->idhex; }
const char *conn_remote(const struct conn *c) { return c->remote; }
const char *conn_remote_ip(const struct conn *c) { return c->ip; }
bool conn_remote_is_loopback(const struct conn *c) { return c->loopback; }
const char *conn_proto_name(const struct conn *c) { return c->proto->name; }
const struct conf_listener *conn_listener(const struct conn *c) { return &c->lst->conf; }
const struct loft_config *conn_config(const struct conn *c) { return c->snap->cfg; }
bool conn_is_closing(const struct conn *c) { return c->closing; }
bool conn_server_stopping(const struct conn *c) { return c->w->stopping; }
bool conn_is_tls(const struct conn *c) { return c->tls != NULL; }

void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
{
	if ((int)level < (int)log_get_level())
		return;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "conn=%s proto=%s remote=%s %s", c->idhex, c->proto->name,
		c->remote, msg);
}

static void set_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	snprintf(c->ip, sizeof(c->ip), "unknown");
	snprintf(c->remote, sizeof(c->remote), "unknown");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, c->ip, sizeof(c->ip));
		snprintf(c->remote, sizeof(c->remote), "%s:%u", c->ip, ntohs(sin->sin_port));
		c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, c->ip, sizeof(c->ip));
		snprintf(c->remote, sizeof(c->remote), "[%s]:%u", c->ip, ntohs(sin6->sin6_port));
		c->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
}

/* ---- settings from the snapshot ---- */

static size_t max_output(const struct conn *c)
{
	size_t m = c->snap->cfg->max_output_buffer;
	return m ? m : CONN_DEFAULT_MAX_OUTPUT;
}

static unsigned handshake_timeout(const struct conn *c)
{
	unsigned t = c->snap->cfg->tls_handshake_timeout_ms;
	return t ? t : 30000;
}

/* ---- close ---- */

static void conn_destroy(struct conn *c)
{
	struct worker *w = c->w;
	uint64_t ms = uv_now(&w->loop) - c->start_ms;
	if (c->counted)
		conn_info(c, "disconnect reason=\"%s\" in=%llu out=%llu duration_ms=%llu",
			  c->close_reason[0] ? c->close_reason : "closed",
			  (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
			  (unsigned long long)ms);
	if (c->sess != NULL)
		c->proto->session_free(c->sess);
	c->sess = NULL;
	if (c->counted)
		net_limits_release(worker_limits(w), c->ip);
	worker_slot_release(w, c->slot);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->in_resumed) {
		struct conn **pp = &w->resumed;
		while (*pp != NULL && *pp != c)
			pp = &(*pp)->resume_next;
		if (*pp == c)
			*pp = c->resume_next;
	}
	w->n_conns--;
	if (c->rbuf != NULL) {
		if (c->rcap == WORKER_BUF_SIZE)
			worker_buf_put(w, c->rbuf);
		else
			free(c->rbuf);
	}
	obuf_free(&c->out);
	obuf_free(&c->wire);
	tls_conn_free(&c->tls);
	net_snapshot_unref(&c->snap);
	free(c);
	worker_conn_gone(w);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open == 0)
		conn_destroy(c);
}

static void close_handles(struct conn *c)
{
	if (c->handles_closing)
		return;
	c->handles_closing = true;
	c->closing = true;
	c->handles_open = 2;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void close_now(struct conn *c, const char *reason)
{
	if (!c->closing || c->close_reason[0] == '\0')
		snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	c->closing = true;
	close_handles(c);
}

static size_t unsent(const struct conn *c)
{
	size_t n = obuf_len(&c->wire) + (c->inflight ? c->inflight->len : 0);
	if (c->tls == NULL || c->tls_done)
		n += obuf_len(&c->out);
	return n;
}

static void on_timer(uv_timer_t *t);

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	free(req);
	if (c->handles_closing)
		return;
	if (status < 0) {
		close_handles(c);
		return;
	}
	/* Our FIN is out. Read and drop whatever the client still sends until
	 * its EOF (or the timer), so unread input does not turn the close into
	 * a reset that could destroy our last reply before the client read it. */
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		close_handles(c);
		return;
	}
	c->reading = true;
	uv_timer_start(&c->timer, on_timer, c->w->stopping ? CONN_CLOSE_FLUSH_STOP_MS
							: CONN_LINGER_MS, 0);
}

/* True when the kernel holds no unread input for this connection. */
static bool input_drained(struct conn *c)
{
	uv_os_fd_t fd;
	int pending = 0;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || ioctl(fd, FIONREAD, &pending) != 0)
		return false;
	return pending == 0 && c->rstart == c->rend;
}

/* All output is sent: half-close, then linger (see on_shutdown). A plain
 * connection with no unread input closes at once: close() then sends a FIN,
 * not a reset, so the last reply is safe and the linger round trip (a
 * shutdown, a wake-up and a read per connection) is saved. TLS always
 * lingers, since the client's close_notify is still on its way. */
static void linger(struct conn *c)
{
	if (c->lingering)
		return;
	if (c->tls == NULL && input_drained(c)) {
		close_handles(c);
		return;
	}
	c->lingering = true;
	uv_shutdown_t *req = xmalloc(sizeof(*req));
	req->data = c;
	if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		free(req);
		close_handles(c);
	}
}

static void finish_close(struct conn *c)
{
	if (c->handles_closing)
		return;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	if (!c->close_flushing) {
		c->close_flushing = true;
		if (c->tls != NULL && c->tls_done) {
			flush(c);
			tls_conn_shutdown(c->tls);
		} else if (c->tls != NULL) {
			obuf_free(&c->out); /* never got to encrypt it */
		}
		uv_timer_start(&c->timer, on_timer,
			       c->w->stopping ? CONN_CLOSE_FLUSH_STOP_MS : CONN_CLOSE_FLUSH_MS, 0);
	}
	if (c->handles_closing || c->lingering)
		return;
	flush(c);
	if (!c->handles_closing && unsent(c) == 0)
		linger(c);
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "closed");
	if (c->depth == 0) {
		c->depth++;
		leave(c);
	}
}

/* ---- callbacks' frame ---- */

static void enter(struct conn *c)
{
	c->depth++;
}

static void update_reading(struct conn *c)
{
	bool want = !c->closing && !c->paused_session && !c->paused_output;
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
			c->reading = true;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void release_rbuf(struct conn *c)
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

static void leave(struct conn *c)
{
	if (--c->depth > 0 || c->handles_closing)
		return;
	if (c->closing) {
		finish_close(c);
		return;
	}
	flush(c);
	if (c->handles_closing)
		return;
	size_t pending = unsent(c);
	if (!c->paused_output && (pending > max_output(c) ||
				  (c->drain_wanted && pending > max_output(c) / 2))) {
		c->paused_output = true; /* on_write resumes below the low mark */
	} else if (c->drain_wanted && !c->paused_output) {
		/* The session stopped for output that went out at once. */
		c->drain_wanted = false;
		c->drained_pending = true;
		schedule(c);
	}
	update_reading(c);
	release_rbuf(c);
}

/* ---- output ---- */

static void on_write(uv_write_t *req, int status);

static void flush(struct conn *c)
{
	if (c->handles_closing)
		return;
	if (c->tls != NULL && c->tls_done && obuf_len(&c->out) > 0) {
		int r = tls_conn_write(c->tls, c->out.data + c->out.start, obuf_len(&c->out));
		obuf_free(&c->out);
		if (r < 0) {
			conn_warn(c, "%s", tls_conn_error(c->tls));
			close_now(c, "tls write error");
			return;
		}
	}
	struct obuf *src = c->tls != NULL ? &c->wire : &c->out;
	if (c->inflight != NULL)
		return; /* on_write continues */
	if (obuf_len(src) == 0) {
		obuf_free(src);
		return;
	}
	uv_buf_t b = uv_buf_init(src->data + src->start, (unsigned)obuf_len(src));
	int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (r > 0) {
		src->start += (size_t)r;
		c->bytes_out += (uint64_t)r;
	} else if (r < 0 && r != UV_EAGAIN) {
		close_now(c, "write error");
		return;
	}
	if (obuf_len(src) == 0) {
		obuf_free(src);
		return;
	}
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
		close_now(c, "write error");
		return;
	}
	c->inflight = wr;
}

static void deliver(struct conn *c);

static void on_write(uv_write_t *req, int status)
{
	struct wreq *wr = (struct wreq *)req;
	struct conn *c = wr->c;
	c->inflight = NULL;
	if (status == 0)
		c->bytes_out += wr->len;
	free(wr->data);
	free(wr);
	if (c->handles_closing)
		return;
	if (status < 0) {
		close_now(c, status == UV_EPIPE || status == UV_ECONNRESET
			  ? "connection reset" : "write error");
		return;
	}
	enter(c);
	flush(c);
	if (!c->closing && !c->handles_closing && c->paused_output &&
	    unsent(c) <= max_output(c) / 2) {
		c->paused_output = false;
		c->drain_wanted = false;
		if (c->proto->session_drained != NULL && c->sess != NULL)
			c->proto->session_drained(c->sess);
		deliver(c);
	}
	leave(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closing && c->close_flushing)
		return;
	if (c->handles_closing)
		return;
	obuf_append(&c->out, data, len);
	if (c->depth == 0) {
		enter(c);
		leave(c);
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

bool conn_output_full(struct conn *c)
{
	if (obuf_len(&c->out) + obuf_len(&c->wire) +
	    (c->inflight ? c->inflight->len : 0) <= max_output(c))
		return false;
	c->drain_wanted = true;
	return true;
}

size_t conn_output_pending(const struct conn *c)
{
	return obuf_len(&c->out) + obuf_len(&c->wire) + (c->inflight ? c->inflight->len : 0);
}

void conn_cork(struct conn *c)
{
	enter(c);
}

void conn_uncork(struct conn *c)
{
	leave(c);
}

/* ---- timeouts ---- */

static void restart_timer(struct conn *c)
{
	if (c->closing || c->handles_closing)
		return;
	unsigned ms = c->tls != NULL && !c->tls_done ? handshake_timeout(c) : c->timeout_ms;
	if (ms == 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, ms, 0);
}

void conn_set_timeout(struct conn *c, unsigned ms)
{
	c->timeout_ms = ms;
	restart_timer(c);
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->handles_closing)
		return;
	if (c->closing) {
		close_handles(c); /* output did not drain in time */
		return;
	}
	enter(c);
	if (c->tls != NULL && !c->tls_done) {
		conn_info(c, "tls handshake timeout");
		conn_close(c, "tls handshake timeout");
	} else {
		conn_info(c, "timeout after %u ms", c->timeout_ms);
		if (c->proto->session_timeout != NULL && c->sess != NULL)
			c->proto->session_timeout(c->sess);
		conn_close(c, "timeout");
	}
	leave(c);
}

/* ---- input ---- */

/* Make room at the end of the read buffer; returns the free bytes. */
static size_t rbuf_prepare(struct conn *c)
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	if (c->tls != NULL || c->lingering) {
		*buf = uv_buf_init(c->w->scratch, WORKER_SCRATCH_SIZE);
		return;
	}
	size_t n = rbuf_prepare(c);
	*buf = uv_buf_init(c->rbuf + c->rend, (unsigned)n);
}

static bool can_deliver(const struct conn *c)
{
	return !c->closing && !c->paused_session && !c->paused_output && c->sess != NULL;
}

static void tls_pump(struct conn *c)
{
	while (can_deliver(c) && c->tls != NULL) {
		if (rbuf_prepare(c) == 0) {
			conn_warn(c, "input buffer full");
			conn_close(c, "input buffer full");
			return;
		}
		long n = tls_conn_read(c->tls, c->rbuf + c->rend, c->rcap - c->rend);
		if (!c->tls_done && tls_conn_handshake_done(c->tls)) {
			c->tls_done = true;
			const char *sni = tls_conn_server_name(c->tls);
			conn_info(c, "tls established version=%s cipher=%s sni=%s resumed=%s",
				  tls_conn_version(c->tls), tls_conn_cipher(c->tls),
				  sni ? sni : "-", tls_conn_resumed(c->tls) ? "yes" : "no");
			restart_timer(c);
		}
		if (n > 0) {
			c->rend += (size_t)n;
			c->proto->session_input(c->sess);
			continue;
		}
		if (n == LOFT_ECLOSED) {
			conn_close(c, "tls closed by client");
		} else if (n == LOFT_EPROTO) {
			conn_info(c, "%s", tls_conn_error(c->tls));
			conn_close(c, c->tls_done ? "tls error" : "tls handshake failed");
		}
		return;
	}
}

static void deliver(struct conn *c)
{
	if (can_deliver(c) && c->rend > c->rstart)
		c->proto->session_input(c->sess);
	if (c->tls != NULL)
		tls_pump(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->handles_closing)
		return;
	if (c->lingering) {
		if (nread < 0)
			close_handles(c); /* the client's EOF: done */
		return;
	}
	enter(c);
	if (nread > 0) {
		c->bytes_in += (uint64_t)nread;
		if (c->tls != NULL && buf->base == c->w->scratch) {
			tls_conn_feed(c->tls, buf->base, (size_t)nread);
			restart_timer(c);
			tls_pump(c);
			if (c->tls != NULL)
				tls_conn_feed_end(c->tls);
		} else {
			c->rend += (size_t)nread;
			restart_timer(c);
			deliver(c);
		}
	} else if (nread == UV_ENOBUFS) {
		conn_warn(c, "input buffer full");
		conn_close(c, "input buffer full");
	} else if (nread < 0) {
		conn_close(c, nread == UV_EOF ? "eof" : uv_strerror((int)nread));
	}
	leave(c);
}

enum reader_result conn_read_line(struct conn *c, struct reader_line *line_r)
{
	if (c->closing) {
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
	if (c->closing || c->rbuf == NULL) {
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
	return c->rend > c->rstart || (c->tls != NULL && tls_conn_has_pending(c->tls));
}

void conn_pause_input(struct conn *c)
{
	c->paused_session = true;
	if (c->depth == 0)
		update_reading(c);
}

void conn_resume_input(struct conn *c)
{
	if (!c->paused_session)
		return;
	c->paused_session = false;
	if (conn_has_input(c))
		schedule(c);
	if (c->depth == 0) {
		enter(c);
		leave(c);
	}
}

/* Run deliver() (and a pending session_drained) from the next loop turn. */
static void schedule(struct conn *c)
{
	if (c->in_resumed || c->handles_closing)
		return;
	c->in_resumed = true;
	c->resume_next = c->w->resumed;
	c->w->resumed = c;
	worker_wake_resumed(c->w);
}

void conn_run_resumed(struct worker *w)
{
	while (w->resumed != NULL) {
		struct conn *c = w->resumed;
		w->resumed = c->resume_next;
		c->in_resumed = false;
		c->resume_next = NULL;
		if (c->handles_closing)
			continue;
		enter(c);
		if (c->drained_pending) {
			c->drained_pending = false;
			if (!c->closing && c->sess != NULL && c->proto->session_drained != NULL)
				c->proto->session_drained(c->sess);
		}
		deliver(c);
		leave(c);
	}
}

/* ---- TLS ---- */

static void tls_output(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;
	obuf_append(&c->wire, data, len);
}

bool conn_can_starttls(const struct conn *c)
{
	return c->lst->conf.tls == CONF_TLS_STARTTLS && c->tls == NULL &&
	       c->snap->tls_ctx != NULL;
}

static int start_tls(struct conn *c)
{
	c->tls = tls_conn_new(c->snap->tls_ctx, tls_output, c);
	if (c->tls == NULL) {
		conn_error(c, "cannot create TLS session");
		return LOFT_ENOMEM;
	}
	restart_timer(c);
	return 0;
}

int conn_starttls(struct conn *c)
{
	if (c->tls != NULL || c->snap->tls_ctx == NULL || c->closing)
		return LOFT_EINVAL;
	/* What the session queued so far (its "begin TLS" reply) goes out
	 * in plaintext, ahead of the handshake. */
	if (obuf_len(&c->out) > 0) {
		obuf_append(&c->wire, c->out.data + c->out.start, obuf_len(&c->out));
		obuf_free(&c->out);
	}
	size_t pipelined = c->rend - c->rstart;
	if (pipelined > 0)
		conn_warn(c, "starttls: discarded %zu bytes sent after the command", pipelined);
	c->rstart = c->rend;
	size_t max_line = c->rd.max_line;
	reader_init(&c->rd, max_line);
	conn_info(c, "starttls");
	return start_tls(c);
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

/* ---- accept and shutdown ---- */

static void on_accept_failed_closed(uv_handle_t *h)
{
	free(h);
}

void conn_accept(struct worker *w, struct worker_listener *wl)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	uv_tcp_init(&w->loop, &c->tcp);
	if (uv_accept((uv_stream_t *)&wl->tcp, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, on_accept_failed_closed);
		return;
	}
	uv_timer_init(&w->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->w = w;
	c->lst = wl->l;
	c->proto = worker_proto(w, wl->l->conf.protocol);
	c->snap = worker_snapshot(w);
	snprintf(c->idhex, sizeof(c->idhex), "%llx", (unsigned long long)worker_next_conn_id(w));
	c->start_ms = uv_now(&w->loop);
	c->slot = worker_slot_acquire(w, c);
	set_peer(c);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	const struct loft_config *cfg = c->snap->cfg;
	reader_init(&c->rd, cfg->max_line_length_preauth ? cfg->max_line_length_preauth : 8192);
	/* TCP_NODELAY and keepalive are inherited from the listening socket
	 * (listener.c), which saves five setsockopt calls per connection. */

	enter(c);
	enum net_limit_result lim = NET_LIMIT_OK;
	if (!w->stopping)
		lim = net_limits_acquire(worker_limits(w), c->ip, cfg->max_connections,
					 cfg->max_connections_per_ip);
	if (w->stopping || lim != NET_LIMIT_OK) {
		const char *why = w->stopping ? "server stopping"
			: lim == NET_LIMIT_TOTAL ? "max_connections reached"
						 : "max_connections_per_ip reached";
		conn_warn(c, "connection refused: %s listener=%s", why, c->lst->conf.name);
		/* An implicit-TLS client cannot read a plaintext refusal. */
		if (c->lst->conf.tls != CONF_TLS_IMPLICIT && !w->stopping)
			c->proto->refuse(c, lim == NET_LIMIT_TOTAL ? CONN_REFUSE_TOTAL
								   : CONN_REFUSE_PER_IP);
		conn_close(c, why);
		leave(c);
		return;
	}
	c->counted = true;
	conn_info(c, "connect listener=%s tls=%s", c->lst->conf.name,
		  conf_tls_mode_name(c->lst->conf.tls));
	c->timeout_ms = cfg->preauth_timeout_ms;
	if (c->lst->conf.tls == CONF_TLS_IMPLICIT) {
		if (c->snap->tls_ctx == NULL || start_tls(c) < 0) {
			conn_close(c, "no TLS context");
			leave(c);
			return;
		}
	}
	restart_timer(c);
	c->sess = c->proto->session_create(c);
	leave(c);
}

void conn_shutdown(struct conn *c, bool force)
{
	if (c->handles_closing)
		return;
	if (c->closing) {
		if (force)
			uv_timer_start(&c->timer, on_timer, CONN_CLOSE_FLUSH_STOP_MS, 0);
		return;
	}
	enter(c);
	if (c->sess != NULL && c->proto->session_shutdown != NULL)
		c->proto->session_shutdown(c->sess, force);
	if (force || c->sess == NULL || c->proto->session_shutdown == NULL)
		conn_close(c, "server shutdown");
	leave(c);
}

void conn_shutdown_all(struct worker *w, bool force)
{
	/* conn_shutdown() never frees a connection synchronously (only the
	 * uv_close callbacks do), so the list stays intact during the walk. */
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		conn_shutdown(c, force);
}
