/* Translation of the loaded configuration into Sieve's settings ([sieve]
 * limits, the hostname, the global script directory), in one place for
 * `loft serve` and the tools that run scripts. */
#ifndef LOFT_SERVER_SIEVE_CONFIG_H
#define LOFT_SERVER_SIEVE_CONFIG_H

#include "conf/config.h"
#include "server/sieve/sieve.h"

/* Fill *set_r from cfg (strings borrowed from cfg; sieve_env_create copies
 * them). The outbox is left empty: the caller plugs in its relay. */
void sieve_config_settings(const struct loft_config *cfg, struct sieve_settings *set_r);

#endif
