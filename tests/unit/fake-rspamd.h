/* A scripted stand-in for rspamd for the unit tests of server/spam/: an
 * HTTP/1.1 server on loopback TCP and a UNIX socket, run by its own thread
 * and libuv loop, that records each request (head and de-chunked body) and
 * answers the next step of a script (a reply with a status and body, kept
 * alive or closed; silence; a hang-up), then a default clean verdict.
 * srv_setup/srv_teardown are cmocka group fixtures. Header-only. */
#ifndef LOFT_TESTS_FAKE_RSPAMD_H
#define LOFT_TESTS_FAKE_RSPAMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "lib/xmem.h"

enum step_mode { STEP_REPLY, STEP_SILENT, STEP_CLOSE };
struct step {
	enum step_mode mode;
	int status;
	const char *body;
	bool close_after;          /* Connection: close */
};

#define MAX_STEPS 16
#define MAX_SEEN 64

static struct {
	pthread_mutex_t lock;
	struct step steps[MAX_STEPS];
	int n_steps, next_step;
	char *seen_head[MAX_SEEN];
	char *seen_body[MAX_SEEN];
	size_t seen_len[MAX_SEEN];
	int n_seen;
	int accepted;
	uv_loop_t loop;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
	uv_async_t stop;
	pthread_t thread;
	int port;
	char sock_path[128];
} srv;

struct fconn {
	union { uv_tcp_t tcp; uv_pipe_t pipe; uv_stream_t s; uv_handle_t h; } u;
	char *buf;
	size_t len, cap;
	bool silent;
};

static void fc_closed(uv_handle_t *h)
{
	struct fconn *c = h->data;
	free(c->buf);
	free(c);
}

static void fc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	*b = uv_buf_init(malloc(hint), (unsigned)hint);
}

static void fc_written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

static void fc_send(struct fconn *c, const char *s)
{
	uv_write_t *w = malloc(sizeof(*w));
	w->data = strdup(s);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)strlen(s));
	uv_write(w, &c->u.s, &b, 1, fc_written);
}

/* A complete request at the start of c->buf: its length, or 0. */
static size_t request_complete(struct fconn *c, char **head_r, char **body_r, size_t *blen_r)
{
	c->buf[c->len] = '\0';
	char *end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return 0;
	size_t hlen = (size_t)(end - c->buf) + 4;
	const char *cl = strstr(c->buf, "Content-Length: ");
	char *body = malloc(c->len + 1);
	size_t blen = 0, pos = hlen;
	if (cl != NULL && cl < end) {
		size_t n = strtoul(cl + 16, NULL, 10);
		if (c->len < hlen + n) {
			free(body);
			return 0;
		}
		memcpy(body, c->buf + hlen, n);
		blen = n;
		pos = hlen + n;
	} else {
		for (;;) {   /* chunked */
			char *line_end = strstr(c->buf + pos, "\r\n");
			if (line_end == NULL) {
				free(body);
				return 0;
			}
			size_t n = strtoul(c->buf + pos, NULL, 16);
			size_t data = (size_t)(line_end - c->buf) + 2;
			if (c->len < data + n + 2) {
				free(body);
				return 0;
			}
			memcpy(body + blen, c->buf + data, n);
			blen += n;
			pos = data + n + 2;
			if (n == 0)
				break;
		}
	}
	*head_r = strndup(c->buf, hlen);
	*body_r = body;
	*blen_r = blen;
	return pos;
}

static void fc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fconn *c = s->data;
	if (n < 0) {
		free(b->base);
		if (!uv_is_closing(&c->u.h))
			uv_close(&c->u.h, fc_closed);
		return;
	}
	if (c->len + (size_t)n + 1 > c->cap) {
		c->cap = (c->len + (size_t)n + 1) * 2;
		c->buf = realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, b->base, (size_t)n);
	c->len += (size_t)n;
	free(b->base);
	while (!c->silent) {
		char *head, *body;
		size_t blen, used = request_complete(c, &head, &body, &blen);
		if (used == 0)
			return;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		pthread_mutex_lock(&srv.lock);
		struct step st = { STEP_REPLY, 200, "{\"action\":\"no action\",\"score\":0}", false };
		if (srv.next_step < srv.n_steps)
			st = srv.steps[srv.next_step++];
		if (srv.n_seen < MAX_SEEN) {
			srv.seen_head[srv.n_seen] = head;
			srv.seen_body[srv.n_seen] = body;
			srv.seen_len[srv.n_seen++] = blen;
		} else {
			free(head);
			free(body);
		}
		pthread_mutex_unlock(&srv.lock);
		if (st.mode == STEP_SILENT) {
			c->silent = true;
			return;
		}
		if (st.mode == STEP_CLOSE) {
			uv_close(&c->u.h, fc_closed);
			return;
		}
		char *reply = xasprintf("HTTP/1.1 %d X\r\nConnection: %s\r\nContent-Length: %zu\r\n\r\n%s",
					st.status, st.close_after ? "close" : "keep-alive",
					strlen(st.body), st.body);
		fc_send(c, reply);
		free(reply);
		if (st.close_after) {
			uv_close(&c->u.h, fc_closed);
			return;
		}
	}
}

static void on_conn(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	struct fconn *c = calloc(1, sizeof(*c));
	if (server->type == UV_TCP)
		uv_tcp_init(&srv.loop, &c->u.tcp);
	else
		uv_pipe_init(&srv.loop, &c->u.pipe, 0);
	c->u.h.data = c;
	uv_accept(server, &c->u.s);
	pthread_mutex_lock(&srv.lock);
	srv.accepted++;
	pthread_mutex_unlock(&srv.lock);
	uv_read_start(&c->u.s, fc_alloc, fc_read);
}

static void close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, h->type == UV_TCP || h->type == UV_NAMED_PIPE ? (h->data ? fc_closed : NULL)
									 : NULL);
}

static void on_stop(uv_async_t *a)
{
	(void)a;
	srv.tcp.data = NULL;
	srv.pipe.data = NULL;
	uv_walk(&srv.loop, close_all, NULL);
}

static void *srv_main(void *arg)
{
	(void)arg;
	uv_run(&srv.loop, UV_RUN_DEFAULT);
	return NULL;
}

static int srv_setup(void **state)
{
	(void)state;
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	uv_loop_init(&srv.loop);
	uv_tcp_init(&srv.loop, &srv.tcp);
	struct sockaddr_in sa;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	uv_tcp_bind(&srv.tcp, (struct sockaddr *)&sa, 0);
	uv_listen((uv_stream_t *)&srv.tcp, 64, on_conn);
	int len = sizeof(sa);
	uv_tcp_getsockname(&srv.tcp, (struct sockaddr *)&sa, &len);
	srv.port = ntohs(sa.sin_port);
	snprintf(srv.sock_path, sizeof(srv.sock_path), "/tmp/loft-spam-test-%d.sock", getpid());
	unlink(srv.sock_path);
	uv_pipe_init(&srv.loop, &srv.pipe, 0);
	uv_pipe_bind(&srv.pipe, srv.sock_path);
	uv_listen((uv_stream_t *)&srv.pipe, 64, on_conn);
	uv_async_init(&srv.loop, &srv.stop, on_stop);
	pthread_create(&srv.thread, NULL, srv_main, NULL);
	return 0;
}

static int srv_teardown(void **state)
{
	(void)state;
	uv_async_send(&srv.stop);
	pthread_join(srv.thread, NULL);
	assert_int_equal(uv_loop_close(&srv.loop), 0);
	unlink(srv.sock_path);
	for (int i = 0; i < srv.n_seen; i++) {
		free(srv.seen_head[i]);
		free(srv.seen_body[i]);
	}
	pthread_mutex_destroy(&srv.lock);
	return 0;
}

static void script(const struct step *steps, int n)
{
	pthread_mutex_lock(&srv.lock);
	if (n > 0)
		memcpy(srv.steps, steps, (size_t)n * sizeof(*steps));
	srv.n_steps = n;
	srv.next_step = 0;
	pthread_mutex_unlock(&srv.lock);
}

static int seen(void)
{
	pthread_mutex_lock(&srv.lock);
	int n = srv.n_seen;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

#endif
