/* Checks on a loaded configuration that look outside the file itself:
 * conf_check_files() (TLS cipher lists accepted by the linked OpenSSL,
 * certificates and keys readable, state directories usable) and
 * conf_check_reload() (a SIGHUP reload changes only reloadable settings).
 * Errors name the file:line where the setting came from. */
#include "conf/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf/parse.h"
#include "conf/settings.h"
#include "conf/value.h"
#include "lib/error.h"
#include "lib/xmem.h"

/* A regular, non-empty file we can read a byte of. */
static int check_readable(const char *path, char **why_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why_r = xstrdup(strerror(errno));
		return LOFT_EINVAL;
	}
	struct stat st;
	char byte;
	int ret = 0;
	if (fstat(fd, &st) < 0) {
		*why_r = xstrdup(strerror(errno));
		ret = -1;
	} else if (!S_ISREG(st.st_mode)) {
		*why_r = xstrdup(S_ISDIR(st.st_mode) ? "it is a directory" : "it is not a regular file");
		ret = -1;
	} else if (read(fd, &byte, 1) != 1) {
		*why_r = xstrdup(st.st_size == 0 ? "it is empty" : strerror(errno));
		ret = -1;
	}
	close(fd);
	return ret;
}

/* An existing writable directory, or creatable below its nearest existing
 * ancestor. Nothing is created. */
static int check_dir_usable(const char *path, char **why_r)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*why_r = xstrdup("it exists and is not a directory");
			return LOFT_EINVAL;
		}
		if (access(path, W_OK | X_OK) < 0) {
			*why_r = xasprintf("it is not writable: %s", strerror(errno));
			return LOFT_EINVAL;
		}
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		*why_r = xstrdup(strerror(errno));
		return LOFT_EINVAL;
	}
	char *parent = xstrdup(path);
	for (;;) {
		char *slash = strrchr(parent, '/');
		if (slash == NULL || slash == parent) {
			strcpy(parent, "/");
		} else {
			*slash = '\0';
		}
		if (stat(parent, &st) == 0)
			break;
		if ((errno != ENOENT && errno != ENOTDIR) || strcmp(parent, "/") == 0) {
			*why_r = xasprintf("it does not exist and %s cannot be checked: %s", parent,
					   strerror(errno));
			free(parent);
			return LOFT_EINVAL;
		}
	}
	int ret = 0;
	if (!S_ISDIR(st.st_mode)) {
		*why_r = xasprintf("it does not exist and cannot be created because %s is not "
				   "a directory", parent);
		ret = -1;
	} else if (access(parent, W_OK | X_OK) < 0) {
		*why_r = xasprintf("it does not exist and cannot be created in %s: %s", parent,
				   strerror(errno));
		ret = -1;
	}
	free(parent);
	return ret;
}

static int check_file_setting(const struct loft_config *cfg, const struct conf_origin *o,
			      const char *label, const char *key, const char *path, char **err_r)
{
	char *why = NULL;
	if (path == NULL || check_readable(path, &why) == 0)
		return 0;
	conf_fail_at(cfg, o, err_r, "%s %s '%s' cannot be read: %s; fix the path or the file's "
		"permissions", label, key, path, why);
	free(why);
	return LOFT_EINVAL;
}

static int check_dir_setting(const struct loft_config *cfg, const char *key,
			     const char *path, char **err_r)
{
	char *why = NULL;
	if (check_dir_usable(path, &why) == 0)
		return 0;
	const struct conf_origin *o = conf_origin_of(cfg, "server", key);
	conf_fail_at(cfg, o, err_r, "[server] %s '%s'%s is not usable: %s; create it, fix its "
		"permissions or set %s to another directory", key, path,
		o->file == NULL ? " (the default)" : "", why, key);
	free(why);
	return LOFT_EINVAL;
}

/* TLS 1.3 suites among ctx's ciphers: their count, and their names
 * (colon separated) in *names_r when names_r is not NULL. */
static size_t tls13_suites(SSL_CTX *ctx, char **names_r)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	size_t n = 0;
	char *names = xstrdup("");
	for (int i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0)
			continue;
		char *more = xasprintf("%s%s%s", names, n > 0 ? ", " : "", SSL_CIPHER_get_name(c));
		free(names);
		names = more;
		n++;
	}
	if (names_r != NULL)
		*names_r = names;
	else
		free(names);
	return n;
}

/* [tls] ciphers: every plain element (not !x, -x, +x or @x) must select
 * something by itself, because OpenSSL silently skips a misspelt element as
 * long as another one matches; then OpenSSL must accept the whole list. */
static int check_cipher_list(const struct loft_config *cfg, SSL_CTX *ctx, char **err_r)
{
	const char *list = cfg->tls_ciphers;
	const struct conf_origin *o = conf_origin_of(cfg, "tls", "ciphers");
	if (list == NULL || list[0] == '\0')
		return 0;
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ":, ;");
		if (len > 0 && strchr("!-+@", p[0]) == NULL && memchr(p, '@', len) == NULL) {
			char *elem = xstrndup(p, len);
			if (SSL_CTX_set_cipher_list(ctx, elem) != 1) {
				bool is13 = SSL_CTX_set_ciphersuites(ctx, elem) == 1 &&
					    tls13_suites(ctx, NULL) == 1;
				conf_fail_at(cfg, o, err_r, "[tls] ciphers: '%s' matches no TLS 1.2 "
					"cipher this OpenSSL offers; %s", elem, is13
					? "TLS 1.3 suites belong in [tls] ciphersuites"
					: "check its spelling (`openssl ciphers -v` lists the names)");
				free(elem);
				return LOFT_EINVAL;
			}
			free(elem);
		}
		p += len;
		if (*p != '\0')
			p++;
	}
	if (SSL_CTX_set_cipher_list(ctx, list) != 1)
		return conf_fail_at(cfg, o, err_r, "[tls] ciphers '%s' selects no TLS 1.2 cipher "
			"this OpenSSL offers; fix the list (`openssl ciphers -v '%s'` shows what it "
			"selects)", list, list);
	return 0;
}

/* [tls] ciphersuites: every colon-separated name must be a TLS 1.3 suite
 * OpenSSL knows (it ignores unknown names when another one is known). */
static int check_ciphersuites(const struct loft_config *cfg, SSL_CTX *ctx, char **err_r)
{
	const char *list = cfg->tls_ciphersuites;
	const struct conf_origin *o = conf_origin_of(cfg, "tls", "ciphersuites");
	if (list == NULL || list[0] == '\0')
		return 0;
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ":");
		if (len > 0) {
			char *elem = xstrndup(p, len);
			if (SSL_CTX_set_ciphersuites(ctx, elem) != 1 || tls13_suites(ctx, NULL) == 0) {
				char *known = NULL;
				SSL_CTX *fresh = SSL_CTX_new(TLS_server_method());
				if (fresh != NULL)
					tls13_suites(fresh, &known);
				SSL_CTX_free(fresh);
				conf_fail_at(cfg, o, err_r, "[tls] ciphersuites: '%s' is not a TLS 1.3 "
					"cipher suite this OpenSSL knows; use names such as %s", elem,
					known != NULL && known[0] != '\0' ? known : "TLS_AES_256_GCM_SHA384");
				free(known);
				free(elem);
				return LOFT_EINVAL;
			}
			free(elem);
		}
		p += len;
		if (*p != '\0')
			p++;
	}
	if (SSL_CTX_set_ciphersuites(ctx, list) != 1 || tls13_suites(ctx, NULL) == 0)
		return conf_fail_at(cfg, o, err_r, "[tls] ciphersuites '%s' selects no TLS 1.3 "
			"cipher suite; list at least one such as TLS_AES_256_GCM_SHA384", list);
	return 0;
}

/* Both cipher settings, on a throwaway context, so a typo is reported with
 * its file:line before anything listens (the server's TLS contexts are
 * built later, in server/net/tls.c). */
static int check_ciphers(const struct loft_config *cfg, char **err_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		ERR_clear_error();
		*err_r = xstrdup("cannot create a TLS context to check [tls] ciphers");
		return LOFT_EINVAL;
	}
	char *err = NULL;
	int r = 0;
	*err_r = NULL;
	if (check_cipher_list(cfg, ctx, &err) < 0) {
		conf_error_add(err_r, err);
		r = -1;
	}
	if (check_ciphersuites(cfg, ctx, &err) < 0) {
		conf_error_add(err_r, err);
		r = -1;
	}
	SSL_CTX_free(ctx);
	ERR_clear_error(); /* failed trial calls leave entries behind */
	return r;
}

/* When rc < 0, move the error in *err to the list in *errs. */
static void collect(int rc, char **err, char **errs)
{
	if (rc < 0) {
		conf_error_add(errs, *err);
		*err = NULL;
	}
}

int conf_check_files(const struct loft_config *cfg, char **err_r)
{
	char *errs = NULL, *err = NULL;
	collect(check_ciphers(cfg, &err), &err, &errs);
	collect(check_file_setting(cfg, conf_origin_of(cfg, "tls", "cert_file"), "[tls]",
				   "cert_file", cfg->tls_cert_file, &err), &err, &errs);
	collect(check_file_setting(cfg, conf_origin_of(cfg, "tls", "key_file"), "[tls]",
				   "key_file", cfg->tls_key_file, &err), &err, &errs);
	const struct conf_section *sec = conf_section_find("certificate");
	size_t cert_k = (size_t)(conf_setting_find(sec, "cert_file") - sec->rows);
	size_t key_k = (size_t)(conf_setting_find(sec, "key_file") - sec->rows);
	for (size_t i = 0; i < cfg->n_sni_certs; i++) {
		const struct conf_sni_cert *c = &cfg->sni_certs[i];
		char *label = xasprintf("[certificate %s]", c->name);
		collect(check_file_setting(cfg, &c->origins[cert_k], label, "cert_file",
					   c->cert_file, &err), &err, &errs);
		collect(check_file_setting(cfg, &c->origins[key_k], label, "key_file",
					   c->key_file, &err), &err, &errs);
		free(label);
	}
	collect(check_dir_setting(cfg, "state_dir", cfg->state_dir, &err), &err, &errs);
	collect(check_dir_setting(cfg, "mail_dir", cfg->mail_dir, &err), &err, &errs);
	if (errs == NULL)
		return 0;
	*err_r = errs;
	return LOFT_EINVAL;
}

static bool listener_equal(const struct conf_listener *a, const struct conf_listener *b)
{
	const struct conf_section *sec = conf_section_find("listener");
	if (strcmp(a->name, b->name) != 0)
		return false;
	for (size_t r = 0; r < sec->n_rows; r++)
		if (!conf_value_equal(&sec->rows[r], a, b))
			return false;
	return true;
}

int conf_check_reload(const struct loft_config *old, const struct loft_config *cur,
		      char **err_r)
{
	for (size_t i = 0; i < conf_n_settings; i++) {
		const struct conf_setting *row = &conf_settings[i];
		if ((row->flags & CONF_F_RELOAD) || conf_value_equal(row, old, cur))
			continue;
		char *was = conf_value_format(row, old), *now = conf_value_format(row, cur);
		conf_fail_at(cur, &cur->origins[i], err_r, "[%s] %s changed from '%s' to '%s', "
			"which a reload cannot apply; restart loft to use it", row->section,
			row->key, was, now);
		free(was);
		free(now);
		return LOFT_EINVAL;
	}
	size_t n = old->n_listeners > cur->n_listeners ? old->n_listeners : cur->n_listeners;
	for (size_t i = 0; i < n; i++) {
		if (i < old->n_listeners && i < cur->n_listeners &&
		    listener_equal(&old->listeners[i], &cur->listeners[i]))
			continue;
		static const struct conf_origin none = { NULL, 0 };
		const struct conf_listener *l = i < cur->n_listeners ? &cur->listeners[i]
								      : &old->listeners[i];
		return conf_fail_at(cur, i < cur->n_listeners ? &l->origin : &none, err_r,
			       "[listener %s] was added, removed or changed, which a reload "
			       "cannot apply; restart loft to use it", l->name);
	}
	return 0;
}
