/* A real net_server for unit tests that run a protocol of their own
 * (test-engine, test-spam-session): the configuration text given, every
 * listener speaking proto, and services holding a storage pool and the
 * server itself. Header-only. */
#ifndef LOFT_TESTS_NET_FIXTURE_H
#define LOFT_TESTS_NET_FIXTURE_H

#include <stdlib.h>

#include "conf/config.h"
#include "lib/xmem.h"
#include "server/engine/pool.h"
#include "server/net/loop.h"
#include "server/services.h"

struct fixture {
	struct net_server *srv;
	struct loft_services svc;
	uint16_t port;               /* of the first listener */
};

static inline struct fixture *net_fixture_start(const char *name, const char *config_text,
						 const struct conn_proto *proto,
						 unsigned pool_threads)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct loft_config *cfg;
	char *err = NULL;
	if (conf_load_string(name, config_text, &cfg, &err) != 0)
		fail_msg("config: %s", err);
	struct net_snapshot *snap = net_snapshot_create(cfg, &err);
	assert_non_null(snap);
	net_proto_table protos = { proto, proto, proto, proto };
	if (net_server_create(snap, protos, &f->srv, &err) != 0)
		fail_msg("create: %s", err);
	net_snapshot_unref(&snap);
	f->svc.storage_pool = work_pool_create("test", pool_threads);
	f->svc.net = f->srv;
	net_server_set_services(f->srv, &f->svc);
	assert_int_equal(net_server_start(f->srv, &err), 0);
	f->port = net_server_port(f->srv, 0);
	return f;
}

/* Stop (unless a test already joined it) and free. */
static inline void net_fixture_stop(struct fixture *f)
{
	if (f->srv != NULL) {
		net_server_stop(f->srv);
		net_server_join(&f->srv);
	}
	work_pool_destroy(&f->svc.storage_pool);
	free(f);
}

#endif
