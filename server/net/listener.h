/* Listening sockets: one per (listener, worker), each bound with SO_REUSEPORT
 * so the kernel spreads new connections over the workers. IPv6 sockets are
 * IPv6-only so "::" and "0.0.0.0" listeners can coexist. A UNIX socket
 * listener (conf.socket) binds its path once, with the configured mode and
 * owner, and every worker listens on a duplicate of that one socket. */
#ifndef LOFT_NET_LISTENER_H
#define LOFT_NET_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/config.h"

/* A listener as the server runs it (a copy of its [listener] section, valid
 * for the whole life of the server, plus one bound socket per worker). */
struct net_listener {
	struct conf_listener conf; /* strings owned */
	uint16_t bound_port;       /* the real port (differs when conf.port is 0) */
	int *fds;                  /* one per worker, -1 once handed to libuv */
	int n_fds;
	bool bound_path;           /* we made conf.socket: unlink it at free */
};

static inline bool net_listener_is_unix(const struct net_listener *l)
{
	return l->conf.socket != NULL;
}

/* Copy lconf and bind n sockets to its address with SO_REUSEPORT (all on
 * the same port, even for port 0), or its UNIX socket path (a stale socket
 * nobody listens on is replaced; a path in use or that is no socket is an
 * error). Returns 0, or LOFT_EINVAL (not an IP address, unknown owner) or
 * LOFT_EIO (socket, bind) with a heap message in *err_r naming the
 * listener. */
int net_listener_bind(struct net_listener *l, const struct conf_listener *lconf,
		      int n, char **err_r);
/* Close what was not handed to libuv, remove the UNIX socket we made. */
void net_listener_free(struct net_listener *l);

#endif
