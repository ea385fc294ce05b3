/* The rspamd HTTP client (see client.h). A connection (struct sconn) is a
 * libuv stream that lives until its close callback; a request owns a timer
 * and is freed in that timer's close callback, so neither is freed while
 * libuv may still call back into it. Writes are queued on the stream at
 * once (libuv holds them while a connect is in progress) and each copies
 * its bytes; a request counts the bytes it has queued to bound its buffer.
 * Kept-alive connections go on reading while idle, so a close by rspamd is
 * seen and the connection dropped before anyone reuses it. */
#include "server/spam/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/spam/http.h"

#define SCONN_RBUF 16384
#define SCONN_KEY_MAX 160

struct sconn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_connect_t connect_req;
	struct spam_pool *pool;
	struct spam_req *req;      /* the request using it; NULL when idle */
	struct sconn *next;        /* idle list */
	uint64_t idle_since;
	unsigned writes;           /* in flight */
	bool idle, closing;
	char key[SCONN_KEY_MAX];
	char rbuf[SCONN_RBUF];
};

struct spam_pool {
	uv_loop_t *loop;
	struct sconn *idle;        /* most recently used first */
	unsigned n_idle;
	bool stopped;
	uv_timer_t timer;          /* closes connections idle too long */
	uint64_t idle_timeout;
};

struct wbuf {
	uv_write_t w;
	struct spam_req *req;      /* the request that queued it */
	size_t len;
	char data[];
};

struct spam_req {
	struct spam_pool *pool;
	struct spam_client_settings set;
	struct sconn *conn;
	uv_timer_t timer;
	spam_req_done_fn *done;
	void *arg;
	enum spam_req_kind kind;
	int64_t body_size;
	uint64_t body_given;
	uint64_t start_ms;
	size_t buffered;           /* queued, not yet written */
	unsigned live_writes;      /* wbufs pointing at this request */
	bool chunked, ended, finished, connecting, want_room, timer_closed;
	void (*on_room)(void *arg);
	void *room_arg;
	struct spam_http http;
	struct spam_result_reader reader;
	int json_err;
	struct spam_reply reply;
};

const char *spam_fail_name(enum spam_fail f)
{
	static const char *const names[] = { "none", "connect", "timeout", "io", "protocol",
					     "http", "body" };
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

void spam_client_settings_from_config(const struct loft_config *cfg,
				      struct spam_client_settings *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	set_r->scan.address = cfg->spam_address;
	set_r->scan.port = cfg->spam_port;
	set_r->scan.socket = cfg->spam_socket;
	set_r->controller.address = cfg->spam_address;
	set_r->controller.port = cfg->spam_controller_port;
	set_r->controller.socket = cfg->spam_controller_socket;
	set_r->password = cfg->spam_password;
	set_r->connect_timeout_ms = cfg->spam_connect_timeout_ms;
	set_r->timeout_ms = cfg->spam_timeout_ms;
	set_r->max_idle = cfg->spam_max_idle;
	set_r->idle_timeout_ms = cfg->spam_idle_timeout_ms;
	set_r->max_reply = cfg->spam_max_reply;
}

/* ---- connections ---- */

static void sconn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void sconn_close(struct sconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->req = NULL;
	uv_close(&c->h.handle, sconn_closed);
}

static void idle_remove(struct spam_pool *pool, struct sconn *c)
{
	for (struct sconn **p = &pool->idle; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			pool->n_idle--;
			break;
		}
	}
	c->next = NULL;
	c->idle = false;
}

static void on_idle_timer(uv_timer_t *t)
{
	struct spam_pool *pool = t->data;
	uint64_t now = uv_now(pool->loop), next = 0;
	struct sconn *c = pool->idle;
	while (c != NULL) {
		struct sconn *n = c->next;
		if (now - c->idle_since >= pool->idle_timeout) {
			idle_remove(pool, c);
			sconn_close(c);
		} else {
			uint64_t left = pool->idle_timeout - (now - c->idle_since);
			if (next == 0 || left < next)
				next = left;
		}
		c = n;
	}
	if (next > 0)
		uv_timer_start(&pool->timer, on_idle_timer, next, 0);
}

struct spam_pool *spam_pool_create(uv_loop_t *loop)
{
	struct spam_pool *pool = xcalloc(1, sizeof(*pool));
	pool->loop = loop;
	uv_timer_init(loop, &pool->timer);
	pool->timer.data = pool;
	return pool;
}

void spam_pool_stop(struct spam_pool *pool)
{
	if (pool->stopped)
		return;
	pool->stopped = true;
	while (pool->idle != NULL) {
		struct sconn *c = pool->idle;
		idle_remove(pool, c);
		sconn_close(c);
	}
	uv_close((uv_handle_t *)&pool->timer, NULL);
}

void spam_pool_free(struct spam_pool **poolp)
{
	x_free(poolp);
}

unsigned spam_pool_idle(const struct spam_pool *pool)
{
	return pool->n_idle;
}

uv_loop_t *spam_pool_loop(const struct spam_pool *pool)
{
	return pool->loop;
}

static void target_key(const struct spam_target *t, char *key, size_t cap)
{
	if (t->socket != NULL && t->socket[0] != '\0')
		snprintf(key, cap, "unix:%s", t->socket);
	else
		snprintf(key, cap, "tcp:%s:%u", t->address != NULL ? t->address : "", t->port);
}

/* ---- finishing a request ---- */

static void on_timer(uv_timer_t *t);

/* A request is freed once its timer is closed and no write refers to it
 * (libuv runs close callbacks newest first, so a cancelled write of the
 * request's connection may come after the timer's close callback). */
static void req_freed(uv_handle_t *h)
{
	struct spam_req *r = h->data;
	r->timer_closed = true;
	if (r->live_writes == 0)
		free(r);
}

/* Hand the connection back to the pool or close it. */
static void release_conn(struct spam_req *r, bool reusable)
{
	struct sconn *c = r->conn;
	r->conn = NULL;
	if (c == NULL)
		return;
	c->req = NULL;
	struct spam_pool *pool = r->pool;
	if (!reusable || c->closing || c->writes > 0 || pool->stopped ||
	    pool->n_idle >= r->set.max_idle) {
		sconn_close(c);
		return;
	}
	c->idle = true;
	c->idle_since = uv_now(pool->loop);
	c->next = pool->idle;
	pool->idle = c;
	pool->n_idle++;
	pool->idle_timeout = r->set.idle_timeout_ms;
	if (!uv_is_active((uv_handle_t *)&pool->timer))
		uv_timer_start(&pool->timer, on_idle_timer, pool->idle_timeout, 0);
}

static void req_finish(struct spam_req *r, bool reusable)
{
	if (r->finished)
		return;
	r->finished = true;
	uv_timer_stop(&r->timer);
	r->reply.elapsed_ms = uv_now(r->pool->loop) - r->start_ms;
	release_conn(r, reusable);
	if (r->done != NULL)
		r->done(r, &r->reply, r->arg);
	uv_close((uv_handle_t *)&r->timer, req_freed);
}

static void req_fail(struct spam_req *r, enum spam_fail fail, const char *fmt, const char *what)
{
	if (r->finished)
		return;
	r->reply.fail = fail;
	snprintf(r->reply.detail, sizeof(r->reply.detail), fmt, what);
	req_finish(r, false);
}

/* A failure found inside a call of the caller's (write, end): reported
 * from the loop, so done() never runs inside spam_req_write/end. */
static void req_fail_later(struct spam_req *r, enum spam_fail fail, const char *fmt,
			   const char *what)
{
	if (r->finished || r->reply.fail != SPAM_FAIL_NONE)
		return;
	r->reply.fail = fail;
	snprintf(r->reply.detail, sizeof(r->reply.detail), fmt, what);
	uv_timer_start(&r->timer, on_timer, 0, 0);
}

/* A complete HTTP response. */
static void reply_done(struct spam_req *r, bool extra)
{
	struct spam_reply *rep = &r->reply;
	rep->http_status = r->http.status;
	bool check = r->kind == SPAM_REQ_CHECK;
	int jerr = r->json_err != 0 ? r->json_err : spam_result_finish(&r->reader, check);
	bool reusable = r->http.keep_alive && r->ended && !extra;
	if (r->http.status != 200) {
		/* rspamd says why in {"error": ...} when it can */
		rep->fail = SPAM_FAIL_HTTP;
		snprintf(rep->detail, sizeof(rep->detail), "HTTP %d%s%s", r->http.status,
			 rep->result.error[0] != '\0' ? ": " : "", rep->result.error);
	} else if (jerr != 0) {
		rep->fail = SPAM_FAIL_PROTOCOL;
		snprintf(rep->detail, sizeof(rep->detail), "%s", spam_json_strerror(jerr));
		reusable = false;
	} else if (!check && !rep->result.success) {
		rep->fail = SPAM_FAIL_HTTP;
		snprintf(rep->detail, sizeof(rep->detail), "not learned: %s",
			 rep->result.error[0] != '\0' ? rep->result.error : "no success in reply");
	}
	req_finish(r, reusable);
}

/* ---- reading ---- */

static int body_sink(void *ctx, const char *data, size_t len)
{
	struct spam_req *r = ctx;
	r->json_err = spam_result_feed(&r->reader, data, len);
	return r->json_err != 0 ? -1 : 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	struct sconn *c = h->data;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct sconn *c = s->data;
	struct spam_req *r = c->req;
	if (n == 0)
		return;
	if (r == NULL) {
		/* idle: rspamd closed it (or said something unasked) */
		if (c->idle)
			idle_remove(c->pool, c);
		sconn_close(c);
		return;
	}
	if (n < 0) {
		if (n == UV_EOF && spam_http_eof(&r->http) == SPAM_HTTP_DONE) {
			r->http.keep_alive = false;
			reply_done(r, false);
		} else if (n == UV_EOF) {
			req_fail(r, SPAM_FAIL_IO, "%s", r->http.status != 0
				 ? "connection closed inside the reply"
				 : "connection closed before a reply");
		} else {
			req_fail(r, SPAM_FAIL_IO, "read: %s", uv_strerror((int)n));
		}
		return;
	}
	if (r->reply.fail != SPAM_FAIL_NONE)
		return;              /* already failed: the timer reports it */
	size_t used = 0;
	enum spam_http_result hr = spam_http_feed(&r->http, c->rbuf, (size_t)n, &used);
	if (hr == SPAM_HTTP_DONE)
		reply_done(r, used < (size_t)n);
	else if (hr == SPAM_HTTP_FAILED)
		req_fail(r, SPAM_FAIL_PROTOCOL, "%s", r->http.error == SPAM_HTTP_ESINK
			 ? spam_json_strerror(r->json_err) : spam_http_strerror(r->http.error));
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status)
{
	struct wbuf *b = (struct wbuf *)w;
	struct sconn *c = w->handle->data;
	c->writes--;
	struct spam_req *r = b->req;
	if (r != NULL) {
		r->buffered -= b->len;
		r->live_writes--;
		if (r->finished) {
			if (r->timer_closed && r->live_writes == 0)
				free(r);
			free(b);
			return;
		}
		/* while connecting, a failed connect is what on_connect reports */
		if (status < 0 && !r->connecting) {
			free(b);
			req_fail(r, SPAM_FAIL_IO, "write: %s", uv_strerror(status));
			return;
		}
		if (r->want_room && r->buffered <= SPAM_REQ_BUFFER / 2) {
			r->want_room = false;
			if (r->on_room != NULL)
				r->on_room(r->room_arg);
		}
	}
	free(b);
}

/* Queue bytes (pre, data, post concatenated) on the connection. */
static void send3(struct spam_req *r, const char *pre, size_t pre_len, const void *data,
		  size_t len, const char *post, size_t post_len)
{
	if (r->finished || r->conn == NULL || r->reply.fail != SPAM_FAIL_NONE)
		return;
	size_t total = pre_len + len + post_len;
	struct wbuf *b = xmalloc(sizeof(*b) + total);
	b->req = r;
	b->len = total;
	memcpy(b->data, pre, pre_len);
	if (len > 0)
		memcpy(b->data + pre_len, data, len);
	memcpy(b->data + pre_len + len, post, post_len);
	uv_buf_t ub = uv_buf_init(b->data, (unsigned)total);
	int e = uv_write(&b->w, &r->conn->h.stream, &ub, 1, on_write);
	if (e != 0) {
		free(b);
		/* a UNIX socket whose connect already failed refuses writes; the
		 * connect callback reports that failure */
		if (!r->connecting)
			req_fail_later(r, SPAM_FAIL_IO, "write: %s", uv_strerror(e));
		return;
	}
	r->conn->writes++;
	r->live_writes++;
	r->buffered += total;
}

/* ---- starting ---- */

static void on_timer(uv_timer_t *t)
{
	struct spam_req *r = t->data;
	if (r->reply.fail != SPAM_FAIL_NONE)
		req_finish(r, false);       /* failed in spam_req_start */
	else if (r->connecting)
		req_fail(r, SPAM_FAIL_TIMEOUT, "%s", "connect timeout");
	else
		req_fail(r, SPAM_FAIL_TIMEOUT, "%s", "no verdict within the timeout");
}

static void on_connect(uv_connect_t *cr, int status)
{
	struct sconn *c = cr->handle->data;
	struct spam_req *r = c->req;
	if (r == NULL || c->closing)
		return;           /* the request went away meanwhile */
	if (status < 0) {
		req_fail(r, SPAM_FAIL_CONNECT, "%s", uv_strerror(status));
		return;
	}
	r->connecting = false;
	uint64_t spent = uv_now(r->pool->loop) - r->start_ms;
	uint64_t left = r->set.timeout_ms > spent ? r->set.timeout_ms - spent : 1;
	uv_timer_start(&r->timer, on_timer, left, 0);
	if (c->h.handle.type == UV_TCP)
		uv_tcp_nodelay(&c->h.tcp, 1);
	int e = uv_read_start(&c->h.stream, on_alloc, on_read);
	if (e != 0)
		req_fail(r, SPAM_FAIL_IO, "read: %s", uv_strerror(e));
}

/* A kept-alive connection to the same target, or a new one. */
static int get_conn(struct spam_req *r, const struct spam_target *t)
{
	struct spam_pool *pool = r->pool;
	char key[SCONN_KEY_MAX];
	target_key(t, key, sizeof(key));
	for (struct sconn *c = pool->idle; c != NULL; c = c->next) {
		if (strcmp(c->key, key) == 0) {
			idle_remove(pool, c);
			c->req = r;
			r->conn = c;
			r->reply.reused = true;
			return 0;
		}
	}
	struct sconn *c = xcalloc(1, sizeof(*c));
	c->pool = pool;
	memcpy(c->key, key, sizeof(key));
	c->req = r;
	r->conn = c;
	r->connecting = true;
	int e;
	if (t->socket != NULL && t->socket[0] != '\0') {
		uv_pipe_init(pool->loop, &c->h.pipe, 0);
		c->h.handle.data = c;
		uv_pipe_connect(&c->connect_req, &c->h.pipe, t->socket, on_connect);
		return 0;
	}
	uv_tcp_init(pool->loop, &c->h.tcp);
	c->h.handle.data = c;
	struct sockaddr_storage ss;
	if (t->address != NULL && strchr(t->address, ':') != NULL)
		e = uv_ip6_addr(t->address, (int)t->port, (struct sockaddr_in6 *)&ss);
	else
		e = uv_ip4_addr(t->address != NULL ? t->address : "", (int)t->port,
				(struct sockaddr_in *)&ss);
	if (e == 0)
		e = uv_tcp_connect(&c->connect_req, &c->h.tcp, (struct sockaddr *)&ss, on_connect);
	return e;
}

static const char *path_of(enum spam_req_kind k)
{
	return k == SPAM_REQ_CHECK ? "/checkv2" : k == SPAM_REQ_LEARN_SPAM ? "/learnspam"
									 : "/learnham";
}

static void send_head(struct spam_req *r, const char *headers)
{
	char length[64];
	if (r->chunked)
		snprintf(length, sizeof(length), "Transfer-Encoding: chunked\r\n");
	else
		snprintf(length, sizeof(length), "Content-Length: %lld\r\n",
			 (long long)r->body_size);
	bool pw = r->kind != SPAM_REQ_CHECK && r->set.password != NULL &&
		  r->set.password[0] != '\0';
	char *head = xasprintf("POST %s HTTP/1.1\r\nHost: rspamd\r\nConnection: keep-alive\r\n"
			       "%s%s%s%s%s\r\n", path_of(r->kind), length,
			       pw ? "Password: " : "", pw ? r->set.password : "", pw ? "\r\n" : "",
			       headers != NULL ? headers : "");
	send3(r, head, strlen(head), NULL, 0, "", 0);
	explicit_bzero(head, strlen(head));
	free(head);
}

struct spam_req *spam_req_start(struct spam_pool *pool, const struct spam_req_params *p,
				spam_req_done_fn *done, void *arg)
{
	struct spam_req *r = xcalloc(1, sizeof(*r));
	r->pool = pool;
	r->set = *p->set;
	r->done = done;
	r->arg = arg;
	r->kind = p->kind;
	r->body_size = p->body_size;
	r->chunked = p->body_size < 0;
	/* the loop's clock is that of the iteration's start: a caller that
	 * worked a while before this call would start the timers short */
	uv_update_time(pool->loop);
	r->start_ms = uv_now(pool->loop);
	uv_timer_init(pool->loop, &r->timer);
	r->timer.data = r;
	spam_http_init(&r->http, r->set.max_reply, body_sink, r);
	spam_result_reader_init(&r->reader, &r->reply.result);
	const struct spam_target *t = p->kind == SPAM_REQ_CHECK ? &r->set.scan : &r->set.controller;
	int e = get_conn(r, t);
	if (e != 0) {
		/* reported from the loop, like every other failure */
		r->reply.fail = SPAM_FAIL_CONNECT;
		snprintf(r->reply.detail, sizeof(r->reply.detail), "%s", uv_strerror(e));
		uv_timer_start(&r->timer, on_timer, 0, 0);
		return r;
	}
	uint64_t first = r->connecting && r->set.connect_timeout_ms < r->set.timeout_ms
			 ? r->set.connect_timeout_ms : r->set.timeout_ms;
	uv_timer_start(&r->timer, on_timer, first, 0);
	send_head(r, p->headers);
	return r;
}

size_t spam_req_room(const struct spam_req *r)
{
	if (r->finished || r->reply.fail != SPAM_FAIL_NONE)
		return SIZE_MAX;
	return r->buffered < SPAM_REQ_BUFFER ? SPAM_REQ_BUFFER - r->buffered : 0;
}

size_t spam_req_write(struct spam_req *r, const void *data, size_t len)
{
	if (r->finished || r->ended || r->reply.fail != SPAM_FAIL_NONE)
		return len;
	size_t room = spam_req_room(r);
	size_t n = len < room ? len : room;
	if (n == 0)
		return 0;
	r->body_given += n;
	if (!r->chunked && r->body_given > (uint64_t)r->body_size) {
		req_fail_later(r, SPAM_FAIL_BODY, "%s", "body larger than its announced size");
		return len;
	}
	if (r->chunked) {
		char pre[24];
		int pl = snprintf(pre, sizeof(pre), "%zx\r\n", n);
		send3(r, pre, (size_t)pl, data, n, "\r\n", 2);
	} else {
		send3(r, "", 0, data, n, "", 0);
	}
	return n;
}

void spam_req_on_room(struct spam_req *r, void (*on_room)(void *arg), void *arg)
{
	r->on_room = on_room;
	r->room_arg = arg;
	r->want_room = true;
}

void spam_req_end(struct spam_req *r)
{
	if (r->finished || r->ended)
		return;
	r->ended = true;
	if (!r->chunked && r->body_given != (uint64_t)r->body_size)
		req_fail_later(r, SPAM_FAIL_BODY, "%s", "body shorter than its announced size");
	else if (r->chunked)
		send3(r, "0\r\n\r\n", 5, NULL, 0, "", 0);
}

void spam_req_cancel(struct spam_req **rp)
{
	struct spam_req *r = *rp;
	*rp = NULL;
	if (r == NULL || r->finished)
		return;
	r->done = NULL;
	req_finish(r, false);
}
