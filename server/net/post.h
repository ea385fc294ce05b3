/* Reaching a worker loop from any thread. A message posted to a worker runs
 * on that worker's loop thread; posting takes only that worker's inbox lock
 * (never a lock shared by all sessions) and wakes the loop through its
 * uv_async, which merges wake-ups. On top of it, a connection has a handle
 * (worker, slot, generation) that another thread may keep and post to in
 * O(1): on the loop the handle is resolved, and a connection that has gone
 * away meanwhile is reported as NULL instead of being touched.
 *
 * Work in flight for a worker (a pool job whose completion will be posted
 * back) is counted with worker_hold()/worker_release(): a stopping worker
 * keeps its loop running until every hold is released. */
#ifndef LOFT_NET_POST_H
#define LOFT_NET_POST_H

#include <stdint.h>

struct conn;
struct worker;
struct net_server;

/* A message for a worker loop. The poster allocates it (or embeds it in a
 * larger object) and run() owns it from then on. */
struct net_msg {
	struct net_msg *next;
	void (*run)(struct net_msg *msg);    /* on the worker's loop thread */
};

/* Any thread. The loop runs msg->run(msg) soon; if the worker has already
 * finished (server stopped), run() is called during the final drain. */
void worker_post(struct worker *w, struct net_msg *msg);

/* Loop thread only: count work whose completion will come back here. */
void worker_hold(struct worker *w);
void worker_release(struct worker *w);

/* ---- posting to a connection by handle ---- */

/* 0 is never a valid handle. Loop thread of c. */
uint64_t conn_handle(const struct conn *c);

/* A message for one connection's session. deliver() runs on the
 * connection's loop with the live connection, or with c == NULL when the
 * connection has closed (then only free the message). */
struct conn_msg {
	struct net_msg base;                 /* internal */
	uint64_t handle;                     /* internal */
	struct net_server *srv;              /* internal */
	void (*deliver)(struct conn_msg *msg, struct conn *c);
};

/* Any thread. O(1): picks the worker from the handle. */
void conn_post(struct net_server *srv, uint64_t handle, struct conn_msg *msg);

#endif
