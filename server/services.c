/* Creating and tearing down the server's services (see services.h). Pools
 * stop before the store so that no pool thread is inside a store call when
 * the store is destroyed. */
#include "server/services.h"

#include <stdlib.h>

#include "auth/auth.h"
#include "auth/userdb.h"
#include "lib/xmem.h"
#include "server/auth-config.h"
#include "server/engine/pool.h"
#include "server/relay/relay.h"
#include "server/sieve-config.h"
#include "server/store-config.h"
#include "storage/store.h"

int services_open(const struct loft_config *cfg, struct loft_services **svc_r, char **err_r)
{
	*svc_r = NULL;
	struct loft_services *svc = xcalloc(1, sizeof(*svc));
	struct store_settings set;
	store_config_settings(cfg, true, &set);
	int r = store_create(&set, &svc->store);
	if (r != 0) {
		*err_r = xasprintf("cannot open the mail store in %s: %s", cfg->mail_dir,
				   store_strerror(r));
		free(svc);
		return -1;
	}
	char *uerr = NULL;
	if (userdb_load(cfg->users_file, &svc->users, &uerr) != 0) {
		*err_r = xasprintf("cannot read users_file: %s", uerr ? uerr : "error");
		free(uerr);
		services_close(&svc);
		return -1;
	}
	struct auth_settings aset;
	auth_config_settings(cfg, &aset);
	char *aerr = NULL;
	if (auth_create(&aset, &svc->auth, &aerr) != AUTH_OK) {
		*err_r = xasprintf("cannot start authentication: %s", aerr ? aerr : "error");
		free(aerr);
		services_close(&svc);
		return -1;
	}
	struct relay_settings rset;
	relay_config_settings(cfg, &rset);
	svc->relay = relay_create(&rset);
	struct sieve_settings sset;
	sieve_config_settings(cfg, &sset);
	if (svc->relay != NULL) {
		sset.outbox.send = relay_outbox_send;
		sset.outbox.ctx = svc->relay;
	}
	svc->sieve = sieve_env_create(&sset);
	svc->storage_pool = work_pool_create("storage", cfg->storage_threads);
	svc->hash_pool = work_pool_create("hash", cfg->hash_threads);
	if (svc->storage_pool == NULL || svc->hash_pool == NULL) {
		*err_r = xasprintf("cannot start the work pool threads");
		services_close(&svc);
		return -1;
	}
	*svc_r = svc;
	return 0;
}

void services_close(struct loft_services **svcp)
{
	struct loft_services *svc = *svcp;
	if (svc == NULL)
		return;
	*svcp = NULL;
	work_pool_destroy(&svc->storage_pool);
	work_pool_destroy(&svc->hash_pool);
	userdb_free(&svc->users);
	sieve_env_free(&svc->sieve);
	relay_free(&svc->relay);
	auth_free(&svc->auth);
	store_destroy(&svc->store);
	free(svc);
}
