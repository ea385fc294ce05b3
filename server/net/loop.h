/* The network server: N worker threads, each running its own libuv loop with
 * its own listening socket per listener, the shared connection limits and
 * the current configuration snapshot. server.c creates it, starts it, hands
 * it new snapshots on reload and stops it on SIGTERM. What a worker and its
 * connections need from each other is in worker.h. */
#ifndef LOFT_NET_LOOP_H
#define LOFT_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/net/conn.h"
#include "server/net/snapshot.h"

struct net_server;

/* Front ends by enum conf_proto (IMAP, POP3, LMTP, SMTP). */
typedef const struct conn_proto *net_proto_table[CONF_PROTO_COUNT];

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

#endif
