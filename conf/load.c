/* Loading a configuration: a new loft_config starts from the table defaults,
 * the parser fills in the file(s), then the values computed from others are
 * resolved (workers = auto, hostname, mail_dir, ...) and the checks that span
 * several settings run (TLS files for TLS listeners, unique address:port). */
#include "conf/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/parse.h"
#include "conf/settings.h"
#include "conf/value.h"
#include "lib/error.h"
#include "lib/xmem.h"

static void free_rows(const struct conf_section *sec, void *base)
{
	for (size_t i = 0; i < sec->n_rows; i++) {
		const char *s = conf_value_get_str(&sec->rows[i], base);
		if (s != NULL)
			free((char *)s);
	}
}

void conf_free(struct loft_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < conf_n_sections; i++) {
		const struct conf_section *sec = &conf_sections[i];
		if (!sec->named) {
			free_rows(sec, cfg);
		} else if (strcmp(sec->name, "listener") == 0) {
			for (size_t k = 0; k < cfg->n_listeners; k++) {
				free_rows(sec, &cfg->listeners[k]);
				free(cfg->listeners[k].name);
			}
		} else {
			for (size_t k = 0; k < cfg->n_sni_certs; k++) {
				free_rows(sec, &cfg->sni_certs[k]);
				free(cfg->sni_certs[k].name);
			}
		}
	}
	free(cfg->listeners);
	free(cfg->sni_certs);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->origins);
	free(cfg->path);
	free(cfg);
}

static struct loft_config *config_new(const char *path)
{
	struct loft_config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->origins = xcalloc(conf_n_settings, sizeof(*cfg->origins));
	conf_apply_defaults(conf_settings, conf_n_settings, cfg);
	return cfg;
}

static void resolve_computed(struct loft_config *cfg)
{
	if (cfg->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = n < 1 ? 1 : n > 256 ? 256 : (int)n;
	}
	if (cfg->hash_threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->hash_threads = n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
	}
	if (cfg->hostname == NULL) {
		char host[256] = "";
		if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
			strcpy(host, "localhost");
		cfg->hostname = xstrdup(host);
	}
	if (cfg->mail_dir == NULL)
		cfg->mail_dir = conf_resolve_path(cfg->state_dir, "mail");
	if (cfg->users_file == NULL)
		cfg->users_file = conf_resolve_path(cfg->state_dir, "users");
	if (cfg->app_passwords_file == NULL)
		cfg->app_passwords_file = conf_resolve_path(cfg->state_dir, "app-passwords");
	if (cfg->login_state_file == NULL)
		cfg->login_state_file = conf_resolve_path(cfg->state_dir, "logins");
	if (cfg->auth_secret_file == NULL)
		cfg->auth_secret_file = conf_resolve_path(cfg->state_dir, "auth-secret");
	if (cfg->authserv_id == NULL)
		cfg->authserv_id = xstrdup(cfg->hostname);
	if (cfg->local_domains == NULL) {
		cfg->local_domains = xstrdup(cfg->hostname);
		for (char *p = cfg->local_domains; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
}

/* The checks below add each problem they find to *errs and go on. */
static void check_tls_pair(const struct loft_config *cfg, char **errs)
{
	const struct conf_origin *co = conf_origin_of(cfg, "tls", "cert_file");
	const struct conf_origin *ko = conf_origin_of(cfg, "tls", "key_file");
	if (cfg->tls_cert_file != NULL && cfg->tls_key_file == NULL)
		conf_fail_more(cfg, co, errs, "[tls] cert_file is set but key_file is not; "
			       "set key_file to the certificate's private key");
	if (cfg->tls_key_file != NULL && cfg->tls_cert_file == NULL)
		conf_fail_more(cfg, ko, errs, "[tls] key_file is set but cert_file is not; "
			       "set cert_file to the certificate chain");
}

struct bind_addr {
	int family;
	unsigned char bytes[16];
	bool any;
};

static void bind_addr_of(const char *text, struct bind_addr *a)
{
	static const unsigned char zero[16];
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->family = AF_INET;
		a->any = memcmp(a->bytes, zero, 4) == 0;
	} else if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		a->family = AF_INET6;
		a->any = memcmp(a->bytes, zero, 16) == 0;
	}
}

/* Two listeners collide when binding both would fail: same port, same
 * family and the same address or a wildcard on either side. */
static bool binds_collide(const struct conf_listener *x, const struct conf_listener *y)
{
	struct bind_addr a, b;
	if (x->socket != NULL || y->socket != NULL)
		return x->socket != NULL && y->socket != NULL && strcmp(x->socket, y->socket) == 0;
	if (x->port != y->port)
		return false;
	bind_addr_of(x->address, &a);
	bind_addr_of(y->address, &b);
	if (a.family != b.family)
		return false;
	return a.any || b.any || memcmp(a.bytes, b.bytes, sizeof(a.bytes)) == 0;
}

static void check_listeners(const struct loft_config *cfg, char **errs)
{
	const struct conf_section *sec = conf_section_find("listener");
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct conf_listener *l = &cfg->listeners[i];
		bool complete = true;
		for (size_t r = 0; r < sec->n_rows; r++) {
			const struct conf_setting *row = &sec->rows[r];
			if ((row->flags & CONF_F_REQUIRED) && l->origins[r].file == NULL) {
				conf_fail_more(cfg, &l->origin, errs, "[listener %s] has no %s; "
					       "add e.g. '%s = %s'", l->name, row->key, row->key,
					       row->example);
				complete = false;
			}
		}
		size_t tls_k = (size_t)(conf_setting_find(sec, "tls") - sec->rows);
		size_t port_k = (size_t)(conf_setting_find(sec, "port") - sec->rows);
		size_t sock_k = (size_t)(conf_setting_find(sec, "socket") - sec->rows);
		if (l->socket == NULL && l->origins[port_k].file == NULL) {
			conf_fail_more(cfg, &l->origin, errs, "[listener %s] has no port; add "
				       "e.g. 'port = 143', or 'socket = /run/loft/lmtp' for a "
				       "UNIX socket", l->name);
			complete = false;
		} else if (l->socket != NULL && l->origins[port_k].file != NULL) {
			conf_fail_more(cfg, &l->origins[sock_k], errs, "[listener %s] has both "
				       "socket and port; a listener is a UNIX socket or a TCP "
				       "port, remove one", l->name);
			complete = false;
		}
		if (l->tls != CONF_TLS_NONE &&
		    (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL))
			conf_fail_more(cfg, &l->origins[tls_k], errs,
				       "[listener %s] has tls = %s but [tls] cert_file and "
				       "key_file are not set; set both in [tls] or use tls = none",
				       l->name, conf_tls_mode_name(l->tls));
		for (size_t j = 0; j < i && complete; j++) {
			const struct conf_listener *o = &cfg->listeners[j];
			if (!binds_collide(l, o))
				continue;
			char *at = conf_origin_text(cfg, &o->origin);
			if (l->socket != NULL)
				conf_fail_more(cfg, &l->origins[sock_k], errs,
					"[listener %s] uses socket %s, which [listener %s] (at "
					"%s) already uses; give each its own path", l->name,
					l->socket, o->name, at);
			else
				conf_fail_more(cfg, &l->origins[port_k], errs,
					"[listener %s] binds %s port %u, which [listener %s] (at "
					"%s) already binds as %s; use another port or address",
					l->name, l->address, (unsigned)l->port, o->name, at,
					o->address);
			free(at);
			break;
		}
	}
}

static void check_certificates(const struct loft_config *cfg, char **errs)
{
	const struct conf_section *sec = conf_section_find("certificate");
	for (size_t i = 0; i < cfg->n_sni_certs; i++) {
		const struct conf_sni_cert *c = &cfg->sni_certs[i];
		for (size_t r = 0; r < sec->n_rows; r++) {
			const struct conf_setting *row = &sec->rows[r];
			if ((row->flags & CONF_F_REQUIRED) && c->origins[r].file == NULL)
				conf_fail_more(cfg, &c->origin, errs, "[certificate %s] has no "
					       "%s; add e.g. '%s = %s'", c->name, row->key,
					       row->key, row->example);
		}
		size_t sn_k = (size_t)(conf_setting_find(sec, "server_name") - sec->rows);
		for (size_t j = 0; j < i; j++) {
			const struct conf_sni_cert *o = &cfg->sni_certs[j];
			if (strcasecmp(o->server_name, c->server_name) != 0)
				continue;
			char *at = conf_origin_text(cfg, &o->origins[sn_k]);
			conf_fail_more(cfg, &c->origins[sn_k], errs, "[certificate %s] repeats "
				"server_name %s of [certificate %s] (at %s); give each "
				"certificate its own name", c->name, c->server_name, o->name, at);
			free(at);
			break;
		}
	}
}

static int load_text(const char *abs_path, const char *text, struct loft_config **cfg_r,
		     char **err_r)
{
	struct loft_config *cfg = config_new(abs_path);
	char *errs = NULL;
	/* Settings that failed to parse would show up again below as missing:
	 * the cross-setting checks run on a file that parsed. */
	if (conf_parse_text(cfg, abs_path, text, &errs) == 0) {
		check_tls_pair(cfg, &errs);
		check_listeners(cfg, &errs);
		check_certificates(cfg, &errs);
	}
	if (errs != NULL) {
		*err_r = errs;
		conf_free(cfg);
		return LOFT_EINVAL;
	}
	resolve_computed(cfg);
	*cfg_r = cfg;
	return 0;
}

int conf_load_string(const char *name, const char *text, struct loft_config **cfg_r,
		     char **err_r)
{
	char *abs_path;
	if (name[0] == '/') {
		abs_path = xstrdup(name);
	} else {
		char *cwd = getcwd(NULL, 0);
		abs_path = conf_resolve_path(cwd != NULL ? cwd : "/", name);
		free(cwd);
	}
	int ret = load_text(abs_path, text, cfg_r, err_r);
	free(abs_path);
	return ret;
}

int conf_load(const char *file, struct loft_config **cfg_r, char **err_r)
{
	char *real = realpath(file, NULL);
	if (real == NULL) {
		if (errno == ENOENT)
			*err_r = xasprintf("%s: cannot read configuration file: %s; create it "
					   "(`loft config example > %s` writes a template) or "
					   "pass another with -c FILE", file, strerror(errno), file);
		else
			*err_r = xasprintf("%s: cannot read configuration file: %s; check the "
					   "path and its permissions", file, strerror(errno));
		return LOFT_EIO;
	}
	char *text = NULL, *why = NULL;
	int r = conf_read_file(real, &text, &why);
	if (r < 0) {
		*err_r = xasprintf("%s: cannot read configuration file: %s; pass a readable "
				   "text file with -c FILE", real, why);
		free(why);
		free(real);
		return r;
	}
	int ret = load_text(real, text, cfg_r, err_r);
	free(text);
	free(real);
	return ret;
}
