/* Maps struct loft_config onto struct store_settings and creates the store
 * for CLI subcommands. The config's max_literal_size (APPENDLIMIT / SIZE) is
 * also the store's max_message_size so every delivery path enforces the
 * same limit. One-shot tools log warnings and errors only (to stderr, where
 * an MTA or an operator sees them); log_level = debug in the configuration
 * still shows everything. */
#include "server/store-config.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"

void store_config_settings(const struct loft_config *cfg, bool watch_external,
			   struct store_settings *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	set_r->mail_dir = cfg->mail_dir;
	set_r->lmdb_map_size = cfg->lmdb_map_size;
	set_r->index_cache_size = cfg->index_cache_size;
	set_r->writer_threads = cfg->writer_threads;
	set_r->batch_messages = cfg->write_batch_messages;
	set_r->tombstone_max_age = (uint64_t)cfg->tombstone_max_age_days * 86400;
	set_r->tombstone_max_count = cfg->tombstone_max_count;
	set_r->quota_bytes = cfg->quota_bytes;
	set_r->quota_messages = cfg->quota_messages;
	set_r->max_message_size = cfg->max_literal_size;
	set_r->spool_sync = (enum store_spool_sync)cfg->spool_sync;
	set_r->watch_external = watch_external;
	store_config_msg_limits(cfg, &set_r->msg_limits);
}

void store_config_msg_limits(const struct loft_config *cfg, struct msg_limits *lim_r)
{
	lim_r->max_parts = cfg->message_max_parts;
	lim_r->max_depth = cfg->message_max_depth;
	lim_r->max_header_field = cfg->message_max_header_field;
	lim_r->max_kept = cfg->message_max_kept;
}

int store_config_open(const char *path, bool watch_external,
		      struct loft_config **cfg_r, struct store **store_r)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;

	int r = conf_load(path, &cfg, &err);
	if (r < 0) {
		conf_print_errors(stderr, "loft: ", err, "cannot load configuration");
		x_free(&err);
		return r;
	}
	if (cfg->mail_dir == NULL || cfg->mail_dir[0] == '\0') {
		fprintf(stderr, "loft: %s: mail_dir is not set\n", path);
		conf_free(cfg);
		return LOFT_EINVAL;
	}
	log_set_level(cfg->log_level == LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	struct store_settings set;
	store_config_settings(cfg, watch_external, &set);
	int ret = store_create(&set, store_r);
	if (ret < 0) {
		fprintf(stderr, "loft: cannot open the mail store in %s: %s\n",
			cfg->mail_dir, store_strerror(ret));
		conf_free(cfg);
		return LOFT_EIO;
	}
	*cfg_r = cfg;
	return 0;
}
