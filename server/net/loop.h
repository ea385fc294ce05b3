/* The network server: N worker threads, each running its own libuv loop with
 * its own listening socket per listener, the shared connection limits and
 * the current configuration snapshot. server.c creates it, starts it, hands
 * it new snapshots on reload and stops it on SIGTERM; conn.c uses the
 * worker internals declared at the end. */
#ifndef LOFT_NET_LOOP_H
#define LOFT_NET_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "server/net/conn.h"
#include "server/net/limits.h"
#include "server/net/listener.h"
#include "server/net/post.h"
#include "server/net/snapshot.h"

struct net_server;

/* Front ends by enum conf_proto (IMAP, POP3, LMTP, SMTP). */
typedef const struct conn_proto *net_proto_table[4];

/* Bind every listener of snap (workers = snap->cfg->workers) and prepare the
 * loops without running them. Takes a reference on snap. Returns 0, or
 * LOFT_EINVAL (a listener's address or protocol) or LOFT_EIO (a socket or
 * loop could not be set up) with a heap message in *err_r (nothing stays
 * open then). */
int net_server_create(struct net_snapshot *snap, const net_proto_table protos,
		      struct net_server **srv_r, char **err_r);
/* The server's services (store, users, pools: server/services.h), handed to
 * sessions through conn_services(). Set before net_server_start(). */
void net_server_set_services(struct net_server *srv, void *services);

/* Start the worker threads; logs one "listening" line per listener.
 * Returns 0 or LOFT_EIO with a heap message in *err_r. */
int net_server_start(struct net_server *srv, char **err_r);
/* Publish a new snapshot for new connections (takes a reference). Listeners
 * whose section changed are logged as needing a restart. */
void net_server_reload(struct net_server *srv, struct net_snapshot *snap);
/* Ask every worker to stop accepting, say goodbye and close (bounded by
 * shutdown_timeout). Returns at once; net_server_join() waits. */
void net_server_stop(struct net_server *srv);
/* Wait for the workers to finish, then free everything. */
void net_server_join(struct net_server **srv);
/* The port listener i really listens on (tests and logs). */
uint16_t net_server_port(const struct net_server *srv, size_t i);

/* ---- internals shared with conn.c ---- */

struct worker_listener {
	uv_tcp_t tcp;
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
	struct conn *conns;        /* all live connections (list) */
	unsigned n_conns;
	struct conn *resumed;      /* connections with conn_resume_input() */
	char *scratch;             /* TLS ciphertext read buffer */
	char **buf_cache;          /* spare read buffers of WORKER_BUF_SIZE */
	unsigned n_buf_cache;
	uint64_t last_accept_warn;  /* uv_now() of the last accept error log */
	atomic_bool stop_requested;
	bool stopping;             /* this loop saw the stop request */
	bool forced;               /* shutdown_timeout passed */
	bool closed;               /* async/timers closed: loop may end */

	/* post.c: messages from other threads, work in flight, slots that
	 * turn connection handles into connections. */
	pthread_mutex_t inbox_lock;
	struct net_msg *inbox_head, *inbox_tail;
	bool inbox_closed;         /* the loop is gone: run posts at once */
	unsigned holds;            /* worker_hold() minus worker_release() */
	struct conn **slots;
	uint32_t *slot_gen;
	uint32_t *slot_free;       /* stack of free slot numbers */
	uint32_t n_slots, n_free;
};

#define WORKER_BUF_SIZE 4096
#define WORKER_SCRATCH_SIZE 65536
#define WORKER_BUF_CACHE_MAX 256

char *worker_buf_get(struct worker *w);
void worker_buf_put(struct worker *w, char *buf);
/* The snapshot for a new connection (a new reference). */
struct net_snapshot *worker_snapshot(struct worker *w);
struct net_limits *worker_limits(struct worker *w);
const struct conn_proto *worker_proto(struct worker *w, enum conf_proto p);
uint64_t worker_next_conn_id(struct worker *w);
/* A connection of this worker is gone (lets a stopping loop finish). */
void worker_conn_gone(struct worker *w);

void *worker_services(struct worker *w);
/* The worker with this index (post.c resolves handles with it). */
struct worker *net_server_worker(struct net_server *srv, unsigned index);
unsigned net_server_n_workers(const struct net_server *srv);

/* post.c: inbox and slots of a worker. */
void worker_post_init(struct worker *w);
/* Run every posted message (from the loop's async callback). */
void worker_run_inbox(struct worker *w);
/* The loop is finishing: later posts run at once on the posting thread. */
void worker_post_close(struct worker *w);
void worker_post_free(struct worker *w);
uint32_t worker_slot_acquire(struct worker *w, struct conn *c);
void worker_slot_release(struct worker *w, uint32_t slot);
uint64_t worker_slot_handle(const struct worker *w, uint32_t slot);
/* Let a stopping worker finish once nothing holds it. */
void worker_maybe_finish(struct worker *w);

/* Run conn_run_resumed() from a fresh loop iteration. */
void worker_wake_resumed(struct worker *w);

/* conn.c entry points used by the loops. */
void conn_accept(struct worker *w, struct worker_listener *wl);
void conn_shutdown(struct conn *c, bool force);
/* conn_shutdown() every connection of the worker. */
void conn_shutdown_all(struct worker *w, bool force);
/* Deliver buffered input of connections resumed with conn_resume_input(). */
void conn_run_resumed(struct worker *w);

#endif
