/* Translation of the loaded configuration into auth's settings, in one place
 * for `loft serve`, `loft user` and `loft demo`: which config field feeds
 * which auth setting. */
#ifndef LOFT_SERVER_AUTH_CONFIG_H
#define LOFT_SERVER_AUTH_CONFIG_H

#include "auth/auth.h"
#include "conf/config.h"

/* Fill *set_r from cfg. Strings are borrowed from cfg, which must outlive
 * the call to auth_create (auth copies them). */
void auth_config_settings(const struct loft_config *cfg, struct auth_settings *set_r);

#endif
