/* Worker loops and the network server object (see loop.h). Each worker is a
 * thread running one libuv loop that owns its listening handles (adopted from
 * sockets bound by listener.c) and every connection it accepted. The main
 * thread talks to a worker only through its uv_async handle and the atomic
 * stop flag; the snapshot pointer and the limits are shared under locks. */
#include "server/net/loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "server/net/limits.h"
#include "server/net/listener.h"
#include "server/net/post-private.h"
#include "server/net/worker.h"
#include "server/net/worker-ext.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"

#define WORKER_BUF_CACHE_MAX 256

struct worker_listener {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;           /* a UNIX socket listener */
	};
	struct worker *w;
	struct net_listener *l;
};

struct worker {
	struct net_server *srv;
	int index;
	uv_loop_t loop;
	uv_thread_t thread;
	bool thread_started;
	uv_async_t async;          /* commands from the main thread */
	uv_timer_t shutdown_timer; /* shutdown_timeout */
	uv_idle_t resume_idle;     /* delivers input of resumed connections */
	struct worker_listener *lh;
	size_t n_lh;
	struct conn_list conns;    /* kept by conn.c */
	char *scratch;             /* socket reads of ciphertext */
	char **buf_cache;          /* spare read buffers of WORKER_BUF_SIZE */
	unsigned n_buf_cache;
	uint64_t last_accept_warn;  /* uv_now() of the last accept error log */
	atomic_bool stop_requested;
	bool stopping;             /* this loop saw the stop request */
	bool forced;               /* shutdown_timeout passed */
	bool closed;               /* async/timers closed: loop may end */
	struct worker_post post;   /* inbox, holds, handle slots (post.c) */
	struct {                   /* worker-ext.h */
		void *ptr;
		const struct worker_ext_ops *ops;
	} ext[WORKER_EXT_MAX];
};

struct net_server {
	pthread_mutex_t lock;         /* guards snap */
	struct net_snapshot *snap;    /* for new connections */
	struct net_limits *limits;
	const struct conn_proto *protos[CONF_PROTO_COUNT];
	struct worker *workers;
	int n_workers;
	struct net_listener *listeners;
	size_t n_listeners;
	atomic_uint_fast64_t next_id;
	void *services;               /* net_server_set_services() */
};

/* ---- what a worker gives its connections (worker.h) ---- */

uv_loop_t *worker_loop(struct worker *w)
{
	return &w->loop;
}

struct conn_list *worker_conns(struct worker *w)
{
	return &w->conns;
}

char *worker_scratch(struct worker *w)
{
	return w->scratch;
}

bool worker_stopping(const struct worker *w)
{
	return w->stopping;
}

char *worker_buf_get(struct worker *w)
{
	if (w->n_buf_cache > 0)
		return w->buf_cache[--w->n_buf_cache];
	return xmalloc(WORKER_BUF_SIZE);
}

void worker_buf_put(struct worker *w, char *buf)
{
	if (w->n_buf_cache < WORKER_BUF_CACHE_MAX && !w->stopping)
		w->buf_cache[w->n_buf_cache++] = buf;
	else
		free(buf);
}

struct net_snapshot *worker_snapshot(struct worker *w)
{
	pthread_mutex_lock(&w->srv->lock);
	struct net_snapshot *s = net_snapshot_ref(w->srv->snap);
	pthread_mutex_unlock(&w->srv->lock);
	return s;
}

struct net_limits *worker_limits(struct worker *w)
{
	return w->srv->limits;
}

const struct conn_proto *worker_proto(struct worker *w, enum conf_proto p)
{
	return w->srv->protos[p];
}

uint64_t worker_next_conn_id(struct worker *w)
{
	return atomic_fetch_add(&w->srv->next_id, 1);
}

/* ---- per-worker objects of other modules (worker-ext.h) ---- */

void *worker_ext_get(struct worker *w, enum worker_ext_id id)
{
	return w->ext[id].ptr;
}

void worker_ext_set(struct worker *w, enum worker_ext_id id, void *ptr,
		    const struct worker_ext_ops *ops)
{
	w->ext[id].ptr = ptr;
	w->ext[id].ops = ops;
	if (w->stopping && ops->stop != NULL)
		ops->stop(ptr);   /* made during the drain: close it at once */
}

int worker_ext_stopping(struct worker *w)
{
	return w->stopping;
}

static void on_resume_idle(uv_idle_t *idle)
{
	struct worker *w = idle->data;
	conn_run_resumed(w);
	if (w->conns.resumed == NULL)
		uv_idle_stop(idle);
}

void worker_wake_resumed(struct worker *w)
{
	if (!w->closed)
		uv_idle_start(&w->resume_idle, on_resume_idle);
}

/* ---- what a worker gives posting (post-private.h) ---- */

struct worker_post *worker_post_state(struct worker *w)
{
	return &w->post;
}

int worker_index(const struct worker *w)
{
	return w->index;
}

uv_async_t *worker_async(struct worker *w)
{
	return &w->async;
}

struct worker *net_server_worker(struct net_server *srv, unsigned index)
{
	return &srv->workers[index];
}

unsigned net_server_n_workers(const struct net_server *srv)
{
	return (unsigned)srv->n_workers;
}

void net_server_set_services(struct net_server *srv, void *services)
{
	srv->services = services;
}

void *worker_services(struct worker *w)
{
	return w->srv->services;
}

void worker_maybe_finish(struct worker *w)
{
	/* Work in flight (holds) posts its completion back through the async
	 * handle, so the loop waits for it even when no connection is left. */
	if (!w->stopping || w->conns.n > 0 || worker_holds(w) || w->closed)
		return;
	w->closed = true;
	worker_post_close(w);
	uv_close((uv_handle_t *)&w->async, NULL);
	uv_close((uv_handle_t *)&w->shutdown_timer, NULL);
	uv_close((uv_handle_t *)&w->resume_idle, NULL);
}

void worker_conn_gone(struct worker *w)
{
	if (w->stopping)
		worker_maybe_finish(w);
}

/* ---- stopping ---- */

static void on_shutdown_timeout(uv_timer_t *t)
{
	struct worker *w = t->data;
	w->forced = true;
	if (w->conns.n > 0)
		log_info("worker=%d shutdown_timeout passed: closing %u connections",
			 w->index, w->conns.n);
	conn_shutdown_all(w, true);
}

static void begin_stop(struct worker *w)
{
	w->stopping = true;
	for (int i = 0; i < WORKER_EXT_MAX; i++)
		if (w->ext[i].ptr != NULL && w->ext[i].ops->stop != NULL)
			w->ext[i].ops->stop(w->ext[i].ptr);
	for (size_t i = 0; i < w->n_lh; i++)
		uv_close((uv_handle_t *)&w->lh[i].tcp, NULL);
	pthread_mutex_lock(&w->srv->lock);
	unsigned timeout = w->srv->snap->cfg->shutdown_timeout_ms;
	pthread_mutex_unlock(&w->srv->lock);
	conn_shutdown_all(w, false);
	if (w->conns.n > 0)
		uv_timer_start(&w->shutdown_timer, on_shutdown_timeout, timeout, 0);
	worker_maybe_finish(w);
}

static void on_async(uv_async_t *a)
{
	struct worker *w = a->data;
	worker_run_inbox(w);
	if (atomic_load(&w->stop_requested) && !w->stopping)
		begin_stop(w);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct worker_listener *wl = server->data;
	if (status < 0) {
		/* Out of descriptors, say: once a second per worker is enough. */
		uint64_t now = uv_now(&wl->w->loop);
		if (now - wl->w->last_accept_warn >= 1000 || wl->w->last_accept_warn == 0) {
			wl->w->last_accept_warn = now;
			log_warn("worker=%d listener=%s accept failed: %s", wl->w->index,
				 wl->l->conf.name, uv_strerror(status));
		}
		return;
	}
	conn_accept(wl->w, server, wl->l);
}

static void worker_thread(void *arg)
{
	struct worker *w = arg;
	thread_role_set(THREAD_ROLE_LOOP);
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* ---- the server ---- */

static int worker_init(struct net_server *srv, struct worker *w, int index, char **err_r)
{
	w->srv = srv;
	w->index = index;
	atomic_init(&w->stop_requested, false);
	worker_post_init(&w->post);
	uv_loop_init(&w->loop);
	uv_async_init(&w->loop, &w->async, on_async);
	w->async.data = w;
	uv_timer_init(&w->loop, &w->shutdown_timer);
	w->shutdown_timer.data = w;
	uv_idle_init(&w->loop, &w->resume_idle);
	w->resume_idle.data = w;
	w->scratch = xmalloc(WORKER_SCRATCH_SIZE);
	w->buf_cache = xcalloc(WORKER_BUF_CACHE_MAX, sizeof(char *));
	w->lh = xcalloc(srv->n_listeners, sizeof(*w->lh));
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct worker_listener *wl = &w->lh[i];
		struct net_listener *l = &srv->listeners[i];
		int e;
		if (net_listener_is_unix(l)) {
			uv_pipe_init(&w->loop, &wl->pipe, 0);
			e = uv_pipe_open(&wl->pipe, l->fds[index]);
		} else {
			uv_tcp_init(&w->loop, &wl->tcp);
			e = uv_tcp_open(&wl->tcp, l->fds[index]);
		}
		wl->tcp.data = wl;
		wl->w = w;
		wl->l = l;
		w->n_lh++;
		if (e == 0)
			l->fds[index] = -1; /* the handle owns it now */
		if (e == 0)
			e = uv_listen((uv_stream_t *)&wl->tcp, 1024, on_connection);
		if (e != 0) {
			*err_r = xasprintf("listener %s: cannot listen: %s", l->conf.name,
					   uv_strerror(e));
			return LOFT_EIO;
		}
	}
	return 0;
}

/* Close every handle of a worker whose thread never ran, and free it. */
static void worker_discard(struct worker *w)
{
	for (size_t i = 0; i < w->n_lh; i++)
		uv_close((uv_handle_t *)&w->lh[i].tcp, NULL);
	uv_close((uv_handle_t *)&w->async, NULL);
	uv_close((uv_handle_t *)&w->shutdown_timer, NULL);
	uv_close((uv_handle_t *)&w->resume_idle, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	w->post.inbox_closed = true;
}

static void worker_free(struct worker *w)
{
	for (int i = 0; i < WORKER_EXT_MAX; i++)
		if (w->ext[i].ptr != NULL && w->ext[i].ops->free != NULL)
			w->ext[i].ops->free(w->ext[i].ptr);
	worker_post_free(&w->post);
	for (unsigned i = 0; i < w->n_buf_cache; i++)
		free(w->buf_cache[i]);
	x_free(&w->buf_cache);
	x_free(&w->scratch);
	x_free(&w->lh);
}

static void server_free(struct net_server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++)
		net_listener_free(&srv->listeners[i]);
	free(srv->listeners);
	free(srv->workers);
	net_limits_free(&srv->limits);
	net_snapshot_unref(&srv->snap);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int net_server_create(struct net_snapshot *snap, const net_proto_table protos,
		      struct net_server **srv_r, char **err_r)
{
	*err_r = NULL;
	*srv_r = NULL;
	const struct loft_config *cfg = snap->cfg;
	struct net_server *srv = xcalloc(1, sizeof(*srv));
	pthread_mutex_init(&srv->lock, NULL);
	srv->snap = net_snapshot_ref(snap);
	srv->limits = net_limits_create();
	for (int i = 0; i < CONF_PROTO_COUNT; i++)
		srv->protos[i] = protos[i];
	atomic_init(&srv->next_id,
		    ((uint64_t)(time(NULL) & 0xffffff) << 20) ^ ((uint64_t)getpid() << 8));
	srv->n_workers = cfg->workers > 0 ? cfg->workers : 1;

	srv->listeners = xcalloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(*srv->listeners));
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		srv->n_listeners++;
		if (srv->protos[cfg->listeners[i].protocol] == NULL) {
			*err_r = xasprintf("listener %s: protocol %s is not available",
					   cfg->listeners[i].name,
					   conf_proto_name(cfg->listeners[i].protocol));
			server_free(srv);
			return LOFT_EINVAL;
		}
		int r = net_listener_bind(&srv->listeners[i], &cfg->listeners[i], srv->n_workers,
					  err_r);
		if (r < 0) {
			server_free(srv);
			return r;
		}
	}
	srv->workers = xcalloc((size_t)srv->n_workers, sizeof(*srv->workers));
	for (int i = 0; i < srv->n_workers; i++) {
		if (worker_init(srv, &srv->workers[i], i, err_r) < 0) {
			for (int k = 0; k <= i; k++) {
				worker_discard(&srv->workers[k]);
				worker_free(&srv->workers[k]);
			}
			server_free(srv);
			return LOFT_EIO;
		}
	}
	*srv_r = srv;
	return 0;
}

int net_server_start(struct net_server *srv, char **err_r)
{
	*err_r = NULL;
	for (int i = 0; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		int e = uv_thread_create(&w->thread, worker_thread, w);
		if (e != 0) {
			*err_r = xasprintf("cannot start worker thread: %s", uv_strerror(e));
			return LOFT_EIO;
		}
		w->thread_started = true;
	}
	for (size_t i = 0; i < srv->n_listeners; i++) {
		const struct net_listener *l = &srv->listeners[i];
		if (net_listener_is_unix(l))
			log_info("listening listener=%s proto=%s socket=%s mode=%04o tls=%s "
				 "workers=%d", l->conf.name, conf_proto_name(l->conf.protocol),
				 l->conf.socket, l->conf.socket_mode,
				 conf_tls_mode_name(l->conf.tls), srv->n_workers);
		else
			log_info("listening listener=%s proto=%s address=%s port=%u tls=%s "
				 "workers=%d", l->conf.name, conf_proto_name(l->conf.protocol),
				 l->conf.address, l->bound_port, conf_tls_mode_name(l->conf.tls),
				 srv->n_workers);
	}
	return 0;
}

/* Listeners and workers are the same as at start: conf_check_reload() (the
 * one place reload policy lives) refuses a configuration that changes them. */
void net_server_reload(struct net_server *srv, struct net_snapshot *snap)
{
	struct net_snapshot *ref = net_snapshot_ref(snap);
	pthread_mutex_lock(&srv->lock);
	struct net_snapshot *old = srv->snap;
	srv->snap = ref;
	pthread_mutex_unlock(&srv->lock);
	net_snapshot_unref(&old);
}

void net_server_stop(struct net_server *srv)
{
	for (int i = 0; i < srv->n_workers; i++) {
		atomic_store(&srv->workers[i].stop_requested, true);
		uv_async_send(&srv->workers[i].async);
	}
}

void net_server_join(struct net_server **srvp)
{
	struct net_server *srv = *srvp;
	if (srv == NULL)
		return;
	*srvp = NULL;
	for (int i = 0; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		if (w->thread_started) {
			uv_thread_join(&w->thread);
			if (uv_loop_close(&w->loop) != 0)
				log_warn("worker=%d loop closed with handles open", i);
		} else {
			worker_discard(w);
		}
		worker_free(w);
	}
	server_free(srv);
}

uint16_t net_server_port(const struct net_server *srv, size_t i)
{
	return i < srv->n_listeners ? srv->listeners[i].bound_port : 0;
}
