/* [sieve] settings to struct sieve_settings (see sieve-config.h). */
#include "server/sieve-config.h"

#include <string.h>

void sieve_config_settings(const struct loft_config *cfg, struct sieve_settings *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	struct sieve_limits *l = &set_r->limits;
	sieve_limits_default(l);
	l->max_script_size = cfg->sieve_max_script_size;
	l->max_scripts = cfg->sieve_max_scripts;
	l->max_actions = cfg->sieve_max_actions;
	l->max_redirects = cfg->sieve_max_redirects;
	l->max_steps = cfg->sieve_max_cpu_steps;
	l->max_nesting = cfg->sieve_max_nesting;
	l->max_include_depth = cfg->sieve_max_include_depth;
	l->max_variable_size = cfg->sieve_max_variable_size;
	l->max_variables = cfg->sieve_max_variables;
	l->max_body_size = cfg->sieve_max_body_size;
	l->max_header_size = cfg->sieve_max_header_size;
	l->vacation_min_period = (uint32_t)(cfg->sieve_vacation_min_period_ms / 1000);
	l->vacation_max_period = (uint32_t)(cfg->sieve_vacation_max_period_ms / 1000);
	l->vacation_default_period = (uint32_t)(cfg->sieve_vacation_default_period_ms / 1000);
	l->duplicate_default_period = (uint32_t)(cfg->sieve_duplicate_default_period_ms / 1000);
	l->duplicate_max_period = (uint32_t)(cfg->sieve_duplicate_max_period_ms / 1000);
	l->max_marks = cfg->sieve_max_marks;
	set_r->global_dir = cfg->sieve_global_dir;
	set_r->hostname = cfg->hostname;
	set_r->delimiter = "+";
	set_r->cache_size = cfg->sieve_cache_size;
}
