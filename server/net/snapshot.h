/* A configuration snapshot as the network layer uses it: the loaded config
 * plus the TLS context built from it, shared by reference count. Each
 * connection holds the snapshot it was accepted under for its whole life;
 * a reload publishes a new one for new connections. */
#ifndef LOFT_NET_SNAPSHOT_H
#define LOFT_NET_SNAPSHOT_H

#include <stdatomic.h>

#include <openssl/ssl.h>

#include "conf/config.h"

struct net_snapshot {
	atomic_uint refs;
	struct loft_config *cfg;  /* owned */
	SSL_CTX *tls_ctx;         /* NULL when no listener uses TLS */
};

/* Take ownership of cfg and build its TLS context. Returns NULL with a heap
 * message in *err_r (cfg is freed then too). */
struct net_snapshot *net_snapshot_create(struct loft_config *cfg, char **err_r);
struct net_snapshot *net_snapshot_ref(struct net_snapshot *snap);
void net_snapshot_unref(struct net_snapshot **snap);

#endif
