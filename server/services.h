/* What sessions use besides their connection: the mail store, the
 * authentication service (users file, app passwords, login state,
 * throttling), the work pools that run blocking calls off the event loops
 * the SMTP rate limits and the network server (to post to another
 * session). server.c creates one
 * set at start and destroys it after the last worker loop has stopped;
 * sessions reach it through conn_services() and only read these pointers.
 * Front ends log users in through server/engine/login.h, which uses the
 * auth service and the pools. */
#ifndef LOFT_SERVER_SERVICES_H
#define LOFT_SERVER_SERVICES_H

#include "conf/config.h"

struct store;
struct auth;
struct sieve_env;
struct relay;
struct work_pool;
struct net_server;
struct spam_learner;
struct smtp_rate;
struct mailauth_env;
struct services_mailauth;

/* A counted reference to the sender checks' environment (mailauth.h):
 * sessions take one at connect and keep it for their life, so a reload
 * that swaps in a new environment frees the old one only after its last
 * session is gone. */
struct mailauth_ref {
	struct mailauth_env *env;
	unsigned refs;               /* under the holder's lock */
};

struct loft_services {
	struct store *store;
	struct auth *auth;                /* the server's one auth service */
	struct smtp_rate *smtp_rate;      /* SMTP connection and message rates */
	struct work_pool *storage_pool;   /* store_* calls, message file reads */
	struct work_pool *hash_pool;      /* password hashing, SASL steps */
	struct net_server *net;           /* conn_post() to other sessions */
	/* rspamd learning (server/spam/learn.h): spam_learn_moved() from IMAP
	 * COPY/MOVE; NULL when [spam] learn is off. */
	struct spam_learner *spam_learner;
	struct relay *relay;              /* the smarthost for mail Loft sends */
	struct sieve_env *sieve;          /* compiled scripts, delivery plans */
	/* [mailauth]: the current environment (services_mailauth_get). */
	struct services_mailauth *mailauth;
};

/* Create store, auth service, relay, Sieve and sender-checks environments
 * and pools from cfg. cfg must outlive the
 * services (the store borrows its strings). Returns 0, or -1 with a heap
 * message in *err_r and nothing left open. May block (file I/O). */
int services_open(const struct loft_config *cfg, struct loft_services **svc_r, char **err_r);
/* A configuration reload (main thread): hand the reloadable auth policy
 * (plaintext_auth, local_domains, hostname) of cfg to the auth service,
 * and make the [mailauth] environment anew (the old one stays when that
 * fails: logged). */
void services_reload(struct loft_services *svc, const struct loft_config *cfg);
/* Any thread: the current sender-checks environment with a reference
 * (never NULL while the services are open); give it back with
 * services_mailauth_put(), which sets *ref to NULL. */
struct mailauth_ref *services_mailauth_get(const struct loft_services *svc);
void services_mailauth_put(const struct loft_services *svc, struct mailauth_ref **ref);

/* After every loop stopped: drain the pools, then flush the login state
 * and close auth and the store. */
void services_close(struct loft_services **svc);

#endif
