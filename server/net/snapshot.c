/* Reference-counted configuration snapshots (see snapshot.h). The last
 * unref, on whichever thread drops it, frees the config and TLS context. */
#include "server/net/snapshot.h"

#include <stdlib.h>

#include "server/net/tls.h"
#include "lib/xmem.h"

struct net_snapshot *net_snapshot_create(struct loft_config *cfg, char **err_r)
{
	*err_r = NULL;
	bool need_tls = false;
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].tls != CONF_TLS_NONE)
			need_tls = true;
	struct net_snapshot *snap = xcalloc(1, sizeof(*snap));
	atomic_init(&snap->refs, 1);
	snap->cfg = cfg;
	if (need_tls || cfg->tls_cert_file != NULL) {
		snap->tls_ctx = tls_ctx_create(cfg, err_r);
		if (snap->tls_ctx == NULL) {
			conf_free(cfg);
			free(snap);
			return NULL;
		}
	}
	return snap;
}

struct net_snapshot *net_snapshot_ref(struct net_snapshot *snap)
{
	atomic_fetch_add(&snap->refs, 1);
	return snap;
}

void net_snapshot_unref(struct net_snapshot **snapp)
{
	struct net_snapshot *snap = *snapp;
	if (snap == NULL)
		return;
	*snapp = NULL;
	if (atomic_fetch_sub(&snap->refs, 1) != 1)
		return;
	if (snap->tls_ctx != NULL)
		tls_ctx_free(snap->tls_ctx);
	conf_free(snap->cfg);
	free(snap);
}
