/* Translation of the loaded configuration into the storage engine's settings.
 * serve, deliver and index all open the store the same way, so the mapping
 * (which config field feeds which store setting) lives in one place. */
#ifndef LOFT_SERVER_STORE_CONFIG_H
#define LOFT_SERVER_STORE_CONFIG_H

#include <stdbool.h>

#include "conf/config.h"
#include "storage/message/message.h"
#include "storage/store.h"

/* Fill *set_r from cfg. Strings in *set_r are borrowed from cfg, so cfg must
 * outlive any store created from it. watch_external is true for the server
 * (inotify thread for changes made by other processes) and false for
 * one-shot tools such as `loft deliver` and `loft index`. */
void store_config_settings(const struct loft_config *cfg, bool watch_external,
			   struct store_settings *set_r);

/* The message parser's limits (message_max_* in [limits]). */
void store_config_msg_limits(const struct loft_config *cfg, struct msg_limits *lim_r);

/* Load the configuration at path and create a store from it in one step (the
 * common prologue of CLI subcommands). On failure prints "loft: <why>" to
 * stderr and returns LOFT_EINVAL (configuration) or LOFT_EIO (the store
 * could not be opened); on success *cfg_r and *store_r are set and the
 * caller destroys the store before conf_free(*cfg_r). */
int store_config_open(const char *path, bool watch_external,
		      struct loft_config **cfg_r, struct store **store_r);

#endif
