/* Maps struct loft_config ([server] users_file, local_domains,
 * plaintext_auth, hostname and the [auth] section) onto struct
 * auth_settings. Mechanisms are matched by name, so the configuration's
 * word list and auth's enum cannot drift apart silently. */
#include "server/auth-config.h"

#include <string.h>

#include "conf/settings.h"

void auth_config_settings(const struct loft_config *cfg, struct auth_settings *s)
{
	auth_settings_default(s);
	s->users_file = cfg->users_file;
	s->app_passwords_file = cfg->app_passwords_file;
	s->login_state_file = cfg->login_state_file;
	s->login_state_flush_ms = cfg->login_state_flush_ms;
	s->secret_file = cfg->auth_secret_file;
	s->local_domains = cfg->local_domains;
	s->hostname = cfg->hostname;
	s->plaintext = cfg->plaintext_auth == CONF_PLAIN_NEVER ? AUTH_PLAINTEXT_NEVER
		     : cfg->plaintext_auth == CONF_PLAIN_ALWAYS ? AUTH_PLAINTEXT_ALWAYS
		     : AUTH_PLAINTEXT_LOOPBACK;
	s->mechanisms = 0;
	for (const struct conf_enum_name *n = conf_mechanism_names; n->name != NULL; n++) {
		int m = auth_mech_find(n->name);
		if (m >= 0 && (cfg->mechanisms & (1u << n->value)))
			s->mechanisms |= 1u << m;
	}
	s->hash.scheme = cfg->password_scheme == CONF_SCHEME_SHA512_CRYPT
		? PASSWORD_SCHEME_SHA512_CRYPT : PASSWORD_SCHEME_ARGON2ID;
	s->hash.argon2_memory_kib = (unsigned)(cfg->argon2_memory / 1024);
	s->hash.argon2_time = cfg->argon2_passes;
	s->hash.argon2_lanes = cfg->argon2_lanes;
	s->hash.crypt_rounds = cfg->sha512_crypt_rounds;
	s->store_scram_sha256 = cfg->store_scram != CONF_SCRAM_NO;
	s->store_scram_sha1 = cfg->store_scram == CONF_SCRAM_BOTH;
	s->store_cram_md5 = cfg->store_cram_md5;
	s->scram_iterations = cfg->scram_iterations;
	s->max_response = cfg->sasl_max_response;
	s->throttle.delay_base_ms = cfg->fail_delay_ms;
	s->throttle.delay_max_ms = cfg->fail_delay_max_ms;
	s->throttle.addr_limit = cfg->fail_limit_address;
	s->throttle.user_limit = cfg->fail_limit_user;
	s->throttle.block_ms = cfg->fail_block_ms;
	s->throttle.forget_ms = cfg->fail_forget_ms;
	s->throttle.ipv4_prefix = cfg->throttle_ipv4_prefix;
	s->throttle.ipv6_prefix = cfg->throttle_ipv6_prefix;
	s->throttle.entries = cfg->throttle_entries;
}
