/* The interface between a worker loop (loop.c) and the connections it owns
 * (conn*.c), so neither includes the other's internals: the worker lends
 * its loop, read buffers, TLS scratch, snapshot and limits; the connection
 * side keeps the list of live connections and is driven through the three
 * entry points at the end. Everything here runs on the worker's thread. */
#ifndef LOFT_NET_WORKER_H
#define LOFT_NET_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "conf/config.h"

struct conn;
struct conn_proto;
struct net_listener;
struct net_limits;
struct net_snapshot;
struct worker;

/* The connections of one worker, kept by conn.c inside the worker. */
struct conn_list {
	struct conn *head;        /* every live connection */
	struct conn *resumed;     /* connections waiting for conn_run_resumed() */
	unsigned n;
};

/* Read buffers handed out and taken back by the worker (a small cache). */
#define WORKER_BUF_SIZE 4096
/* The worker's scratch buffer for socket reads of ciphertext. */
#define WORKER_SCRATCH_SIZE 65536

/* ---- what the worker gives its connections (loop.c) ---- */

uv_loop_t *worker_loop(struct worker *w);
struct conn_list *worker_conns(struct worker *w);
char *worker_buf_get(struct worker *w);
void worker_buf_put(struct worker *w, char *buf);
/* WORKER_SCRATCH_SIZE bytes, valid until the current callback returns. */
char *worker_scratch(struct worker *w);
/* The snapshot for a new connection (a new reference). */
struct net_snapshot *worker_snapshot(struct worker *w);
struct net_limits *worker_limits(struct worker *w);
const struct conn_proto *worker_proto(struct worker *w, enum conf_proto p);
uint64_t worker_next_conn_id(struct worker *w);
/* Whether this loop saw the stop request. */
bool worker_stopping(const struct worker *w);
/* A connection of this worker is gone (lets a stopping loop finish). */
void worker_conn_gone(struct worker *w);
/* Run conn_run_resumed() from a fresh loop iteration. */
void worker_wake_resumed(struct worker *w);

/* ---- what the worker calls on its connections (conn.c, conn-input.c) ---- */

/* Accept one connection from a listening handle that said it has one. */
void conn_accept(struct worker *w, uv_stream_t *server, struct net_listener *l);
/* Ask every connection of the worker to finish (force: close now). */
void conn_shutdown_all(struct worker *w, bool force);
/* Deliver buffered input of connections resumed with conn_resume_input(). */
void conn_run_resumed(struct worker *w);

#endif
