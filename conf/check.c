/* Checks on a loaded configuration that look outside the file itself:
 * conf_check_files() (certificates and keys readable, state directories
 * usable) and conf_check_reload() (a SIGHUP reload changes only reloadable
 * settings). Errors name the file:line where the setting came from. */
#include "conf/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/parse.h"
#include "conf/settings.h"
#include "conf/value.h"
#include "server/util/xmem.h"

/* A regular, non-empty file we can read a byte of. */
static int check_readable(const char *path, char **why_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why_r = xstrdup(strerror(errno));
		return -1;
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
			return -1;
		}
		if (access(path, W_OK | X_OK) < 0) {
			*why_r = xasprintf("it is not writable: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		*why_r = xstrdup(strerror(errno));
		return -1;
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
			return -1;
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
	return -1;
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
	return -1;
}

int conf_check_files(const struct loft_config *cfg, char **err_r)
{
	if (check_file_setting(cfg, conf_origin_of(cfg, "tls", "cert_file"), "[tls]", "cert_file",
			       cfg->tls_cert_file, err_r) < 0 ||
	    check_file_setting(cfg, conf_origin_of(cfg, "tls", "key_file"), "[tls]", "key_file",
			       cfg->tls_key_file, err_r) < 0)
		return -1;
	const struct conf_section *sec = conf_section_find("certificate");
	size_t cert_k = (size_t)(conf_setting_find(sec, "cert_file") - sec->rows);
	size_t key_k = (size_t)(conf_setting_find(sec, "key_file") - sec->rows);
	for (size_t i = 0; i < cfg->n_sni_certs; i++) {
		const struct conf_sni_cert *c = &cfg->sni_certs[i];
		char *label = xasprintf("[certificate %s]", c->name);
		int r = check_file_setting(cfg, &c->origins[cert_k], label, "cert_file",
					   c->cert_file, err_r);
		if (r == 0)
			r = check_file_setting(cfg, &c->origins[key_k], label, "key_file",
					       c->key_file, err_r);
		free(label);
		if (r < 0)
			return -1;
	}
	if (check_dir_setting(cfg, "state_dir", cfg->state_dir, err_r) < 0 ||
	    check_dir_setting(cfg, "mail_dir", cfg->mail_dir, err_r) < 0)
		return -1;
	return 0;
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
		return -1;
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
