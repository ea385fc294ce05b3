/* What sessions use besides their connection: the mail store, the user
 * database, the work pools that run blocking calls off the event loops and
 * the network server (to post to another session). server.c creates one set
 * at start and destroys it after the last worker loop has stopped; sessions
 * reach it through conn_services() and only read these pointers. */
#ifndef LOFT_SERVER_SERVICES_H
#define LOFT_SERVER_SERVICES_H

#include "conf/config.h"

struct store;
struct userdb;
struct auth;
struct sieve_env;
struct relay;
struct work_pool;
struct net_server;

struct loft_services {
	struct store *store;
	struct userdb *users;
	struct work_pool *storage_pool;   /* store_* calls, message file reads */
	struct work_pool *hash_pool;      /* password hashing, SASL steps */
	struct net_server *net;           /* conn_post() to other sessions */
	struct auth *auth;                /* SASL (ManageSieve AUTHENTICATE) */
	struct relay *relay;              /* the smarthost for mail Loft sends */
	struct sieve_env *sieve;          /* compiled scripts, delivery plans */
};

/* Create store, user database, auth service, relay, Sieve environment and
 * pools from cfg. cfg must outlive the
 * services (the store borrows its strings). Returns 0, or -1 with a heap
 * message in *err_r and nothing left open. */
int services_open(const struct loft_config *cfg, struct loft_services **svc_r, char **err_r);
/* After every loop stopped: drain the pools, close the store. */
void services_close(struct loft_services **svc);

#endif
