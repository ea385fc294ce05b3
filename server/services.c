/* Creating and tearing down the server's services (see services.h). Pools
 * stop before auth and the store so that no pool thread is inside a
 * password check or a store call when they are destroyed. */
#include "server/services.h"

#include <stdlib.h>

#include "auth/auth.h"
#include "lib/xmem.h"
#include "server/auth-config.h"
#include "server/engine/pool.h"
#include "server/spam/learn.h"
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
	struct auth_settings aset;
	auth_config_settings(cfg, &aset);
	char *aerr = NULL;
	if (auth_create(&aset, &svc->auth, &aerr) != AUTH_OK) {
		*err_r = xasprintf("cannot start authentication: %s", aerr ? aerr : "error");
		free(aerr);
		services_close(&svc);
		return -1;
	}
	svc->storage_pool = work_pool_create("storage", cfg->storage_threads);
	svc->hash_pool = work_pool_create("hash", cfg->hash_threads);
	if (svc->storage_pool == NULL || svc->hash_pool == NULL) {
		*err_r = xasprintf("cannot start the work pool threads");
		services_close(&svc);
		return -1;
	}
	if (cfg->spam_learn && spam_learner_start(cfg, &svc->spam_learner, err_r) != 0) {
		services_close(&svc);
		return -1;
	}
	*svc_r = svc;
	return 0;
}

void services_reload(struct loft_services *svc, const struct loft_config *cfg)
{
	struct auth_settings aset;
	auth_config_settings(cfg, &aset);
	auth_reconfigure(svc->auth, &aset);
}

void services_close(struct loft_services **svcp)
{
	struct loft_services *svc = *svcp;
	if (svc == NULL)
		return;
	*svcp = NULL;
	spam_learner_stop(&svc->spam_learner);
	work_pool_destroy(&svc->storage_pool);
	work_pool_destroy(&svc->hash_pool);
	auth_free(&svc->auth);
	store_destroy(&svc->store);
	free(svc);
}
