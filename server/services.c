/* Creating and tearing down the server's services (see services.h). Pools
 * stop before auth and the store so that no pool thread is inside a
 * password check or a store call when they are destroyed. */
#include "server/services.h"

#include <pthread.h>
#include <stdlib.h>

#include "auth/auth.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/auth-config.h"
#include "server/engine/pool.h"
#include "server/lmtp/ratelimit.h"
#include "server/mailauth/mailauth.h"
#include "server/spam/learn.h"
#include "server/relay/relay.h"
#include "server/sieve-config.h"
#include "server/store-config.h"
#include "storage/store-debug.h"
#include "storage/store.h"

/* The sender checks' environment, swapped on reload; each reference
 * (mailauth_ref) counts, the holder's own included. */
struct services_mailauth {
	pthread_mutex_t lock;
	struct mailauth_ref *cur;
};

static struct mailauth_ref *mailauth_ref_new(struct mailauth_env *env)
{
	struct mailauth_ref *r = xcalloc(1, sizeof(*r));
	r->env = env;
	r->refs = 1;
	return r;
}

/* Under the lock: drop one reference. */
static void mailauth_ref_drop(struct mailauth_ref *r)
{
	if (--r->refs > 0)
		return;
	mailauth_env_free(&r->env);
	free(r);
}

struct mailauth_ref *services_mailauth_get(const struct loft_services *svc)
{
	struct services_mailauth *h = svc->mailauth;
	pthread_mutex_lock(&h->lock);
	struct mailauth_ref *r = h->cur;
	r->refs++;
	pthread_mutex_unlock(&h->lock);
	return r;
}

void services_mailauth_put(const struct loft_services *svc, struct mailauth_ref **ref)
{
	struct mailauth_ref *r = *ref;
	if (r == NULL)
		return;
	*ref = NULL;
	struct services_mailauth *h = svc->mailauth;
	pthread_mutex_lock(&h->lock);
	mailauth_ref_drop(r);
	pthread_mutex_unlock(&h->lock);
}

static void mailauth_close(struct services_mailauth **hp)
{
	struct services_mailauth *h = *hp;
	if (h == NULL)
		return;
	*hp = NULL;
	if (h->cur != NULL)
		mailauth_ref_drop(h->cur);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Client networks whose SMTP rates are tracked at once (32 bytes each). */
#define SMTP_RATE_SLOTS 65536

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
	svc->smtp_rate = smtp_rate_create(SMTP_RATE_SLOTS);
	struct mailauth_env *menv = NULL;
	char *merr = NULL;
	if (mailauth_env_new(cfg, &menv, &merr) != 0) {
		*err_r = xasprintf("cannot start the sender checks: %s", merr ? merr : "error");
		free(merr);
		services_close(&svc);
		return -1;
	}
	svc->mailauth = xcalloc(1, sizeof(*svc->mailauth));
	pthread_mutex_init(&svc->mailauth->lock, NULL);
	svc->mailauth->cur = mailauth_ref_new(menv);
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
	struct mailauth_env *menv = NULL;
	char *merr = NULL;
	if (mailauth_env_new(cfg, &menv, &merr) != 0) {
		log_error("reload: sender checks keep their old settings: %s",
			  merr ? merr : "error");
		free(merr);
		return;
	}
	struct mailauth_ref *fresh = mailauth_ref_new(menv);
	struct services_mailauth *h = svc->mailauth;
	pthread_mutex_lock(&h->lock);
	struct mailauth_ref *old = h->cur;
	h->cur = fresh;
	mailauth_ref_drop(old);
	pthread_mutex_unlock(&h->lock);
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
	if (svc->store != NULL) {
		/* what group commit achieved, for operators and benchmarks */
		uint64_t commits = store_debug_commit_count(svc->store);
		uint64_t ops = store_debug_op_count(svc->store);
		uint64_t syncs = store_debug_spool_sync_count(svc->store);
		uint64_t spools = store_debug_spool_file_count(svc->store);
		log_info("store totals: durable_commits=%llu write_ops=%llu ops_per_commit=%.2f "
			 "spool_syncs=%llu spools=%llu spools_per_sync=%.2f",
			 (unsigned long long)commits, (unsigned long long)ops,
			 commits ? (double)ops / (double)commits : 0.0, (unsigned long long)syncs,
			 (unsigned long long)spools, syncs ? (double)spools / (double)syncs : 0.0);
	}
	mailauth_close(&svc->mailauth);
	sieve_env_free(&svc->sieve);
	relay_free(&svc->relay);
	auth_free(&svc->auth);
	smtp_rate_free(&svc->smtp_rate);
	store_destroy(&svc->store);
	free(svc);
}
