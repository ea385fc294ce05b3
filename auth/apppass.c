/* The app-password file: parsing into an immutable generation guarded by a
 * read-write lock, change-driven reload, checking a login's password
 * against a user's app passwords (canonical form, fast salted hash), and
 * the locked rewrites behind `loft user app-password add|revoke`. */
#include "auth/apppass.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/afile.h"
#include "auth/password-schemes.h"
#include "auth/password.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/xmem.h"

#define FILE_MAX (64u * 1024 * 1024)
#define SECRET_CHARS 20      /* base32: 100 bits */
#define GROUP 5

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

struct entry {
	char *user, *device, *hash;   /* point into gen->text */
	int64_t created;
};

struct gen {
	char *text;
	size_t text_len;
	struct entry *entries;
	size_t n;
};

struct apppass {
	char *path;
	pthread_rwlock_t lock;       /* guards gen, have_st, st */
	pthread_mutex_t reload_lock;
	struct gen *gen;
	bool have_st;
	struct stat st;
};

bool apppass_device_valid(const char *d)
{
	size_t len = d == NULL ? 0 : strlen(d);
	if (len == 0 || len > APPPASS_DEVICE_MAX || d[0] == '.' || d[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '.' && d[i] != '_' && d[i] != '-')
			return false;
	return true;
}

/* "abcde-fghij ..." -> 20 lower-case base32 characters, or false. */
static bool canonical(const char *pw, char out[SECRET_CHARS + 1])
{
	size_t n = 0;
	for (const char *p = pw; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		char c = (char)tolower((unsigned char)*p);
		if (strchr(b32, c) == NULL || c == '\0' || n == SECRET_CHARS)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == SECRET_CHARS;
}

static void gen_free(struct gen *g)
{
	if (g == NULL)
		return;
	x_wipe(g->text, g->text_len);
	free(g->text);
	free(g->entries);
	free(g);
}

/* Parse "user:device:created:hash" lines; text is taken over. */
static struct gen *gen_parse(const char *path, char *text, size_t len)
{
	struct gen *g = xcalloc(1, sizeof(*g));
	g->text = text;
	g->text_len = len;
	size_t max = 1;
	for (size_t i = 0; i < len; i++)
		max += text[i] == '\n';
	g->entries = xcalloc(max, sizeof(*g->entries));
	unsigned lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		char *f[4];
		size_t n = 0;
		char *p = line;
		f[n++] = p;
		while (n < 4 && (p = strchr(p, ':')) != NULL) {
			*p++ = '\0';
			f[n++] = p;
		}
		char *end = NULL;
		char canon[USERDB_NAME_MAX + 1];
		long long created = n == 4 ? strtoll(f[2], &end, 10) : 0;
		if (n != 4 || !userdb_name_normalize(f[0], canon) || !apppass_device_valid(f[1]) ||
		    end == f[2] || *end != '\0' || !password_scheme_supported(f[3])) {
			log_warn("apppass: %s:%u: malformed line skipped", path, lineno);
			continue;
		}
		memcpy(f[0], canon, strlen(canon));
		g->entries[g->n++] = (struct entry){ f[0], f[1], f[3], (int64_t)created };
	}
	return g;
}

int apppass_load(const char *path, struct apppass **ap_r, char **err_r)
{
	*ap_r = NULL;
	char *text;
	size_t len;
	struct stat st;
	bool exists;
	if (afile_read(path, FILE_MAX, &text, &len, &st, &exists, err_r) < 0)
		return USERDB_EIO;
	struct apppass *ap = xcalloc(1, sizeof(*ap));
	ap->path = xstrdup(path);
	pthread_rwlock_init(&ap->lock, NULL);
	pthread_mutex_init(&ap->reload_lock, NULL);
	ap->gen = gen_parse(path, text, len);
	ap->have_st = exists;
	if (exists)
		ap->st = st;
	*ap_r = ap;
	return 0;
}

void apppass_free(struct apppass **app)
{
	struct apppass *ap = *app;
	if (ap == NULL)
		return;
	gen_free(ap->gen);
	pthread_rwlock_destroy(&ap->lock);
	pthread_mutex_destroy(&ap->reload_lock);
	free(ap->path);
	free(ap);
	*app = NULL;
}

int apppass_reload(struct apppass *ap, char **err_r)
{
	/* Another thread checking right now: its result will do. */
	if (pthread_mutex_trylock(&ap->reload_lock) != 0)
		return 0;
	struct stat now;
	bool exists = stat(ap->path, &now) == 0;
	int ret = 0;
	if (!exists && errno != ENOENT) {
		*err_r = xasprintf("%s: %s", ap->path, strerror(errno));
		ret = USERDB_EIO;
		goto out;
	}
	pthread_rwlock_rdlock(&ap->lock);
	bool unchanged = exists ? ap->have_st && afile_same(&now, &ap->st) : !ap->have_st;
	pthread_rwlock_unlock(&ap->lock);
	if (unchanged)
		goto out;
	char *text;
	size_t len;
	struct stat st;
	if (afile_read(ap->path, FILE_MAX, &text, &len, &st, &exists, err_r) < 0) {
		ret = USERDB_EIO;
		goto out;
	}
	struct gen *g = gen_parse(ap->path, text, len);
	pthread_rwlock_wrlock(&ap->lock);
	struct gen *old = ap->gen;
	ap->gen = g;
	ap->have_st = exists;
	if (exists)
		ap->st = st;
	pthread_rwlock_unlock(&ap->lock);
	gen_free(old);
out:
	pthread_mutex_unlock(&ap->reload_lock);
	return ret;
}

bool apppass_verify(struct apppass *ap, const char *user, const char *password,
		    char device_r[APPPASS_DEVICE_MAX + 1])
{
	device_r[0] = '\0';
	char canon[SECRET_CHARS + 1];
	if (!canonical(password, canon))
		return false;   /* cannot be an app password: no work to hide */
	bool found = false;
	pthread_rwlock_rdlock(&ap->lock);
	const struct gen *g = ap->gen;
	for (size_t i = 0; i < g->n; i++) {
		const struct entry *e = &g->entries[i];
		/* Check every entry of the user, even after a match: the time
		 * depends on the number of app passwords only. */
		if (strcmp(e->user, user) == 0 && password_verify(canon, e->hash) == PASSWORD_OK &&
		    !found) {
			found = true;
			snprintf(device_r, APPPASS_DEVICE_MAX + 1, "%s", e->device);
		}
	}
	pthread_rwlock_unlock(&ap->lock);
	x_wipe(canon, sizeof(canon));
	return found;
}

int apppass_list(struct apppass *ap, const char *user, struct apppass_info **list_r,
		 size_t *count_r)
{
	pthread_rwlock_rdlock(&ap->lock);
	const struct gen *g = ap->gen;
	struct apppass_info *list = xcalloc(g->n + 1, sizeof(*list));
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (strcmp(g->entries[i].user, user) != 0)
			continue;
		snprintf(list[n].device, sizeof(list[n].device), "%s", g->entries[i].device);
		list[n++].created = g->entries[i].created;
	}
	pthread_rwlock_unlock(&ap->lock);
	*list_r = list;
	*count_r = n;
	return 0;
}

/* ---- editing ---- */

enum op { OP_ADD, OP_REVOKE, OP_REMOVE_USER };

/* Rewrite text with op applied into out. */
static int apply(const char *text, enum op op, const char *user, const char *device,
		 const char *line_to_add, struct afile_buf *out)
{
	size_t ul = strlen(user), dl = device != NULL ? strlen(device) : 0;
	size_t of_user = 0;
	bool found = false;
	afile_buf_add(out, "", 0);
	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		size_t with_nl = len + (p[len] == '\n');
		bool user_match = len > ul && p[ul] == ':' && strncasecmp(p, user, ul) == 0;
		bool dev_match = user_match && device != NULL && len > ul + 1 + dl &&
				 p[ul + 1 + dl] == ':' && strncmp(p + ul + 1, device, dl) == 0;
		of_user += user_match;
		found |= (op == OP_REMOVE_USER ? user_match : dev_match);
		bool drop = (op == OP_REVOKE && dev_match) || (op == OP_REMOVE_USER && user_match);
		if (!drop)
			afile_buf_add(out, p, with_nl);
		p += with_nl;
	}
	if (op == OP_ADD) {
		if (found)
			return USERDB_EEXIST;
		if (of_user >= APPPASS_PER_USER_MAX)
			return USERDB_EINVAL;
		if (out->len == 0)
			afile_buf_printf(out, "# Loft app passwords, managed by `loft user "
					 "app-password`: user:device:created:hash\n");
		else if (out->data[out->len - 1] != '\n')
			afile_buf_add(out, "\n", 1);
		afile_buf_add(out, line_to_add, strlen(line_to_add));
	} else if (op == OP_REVOKE && !found) {
		return USERDB_ENOTFOUND;
	}
	return 0;
}

static int edit(const char *path, enum op op, const char *raw_user, const char *device,
		const char *line_to_add, char **err_r)
{
	char *dummy = NULL;
	if (err_r == NULL)
		err_r = &dummy;
	*err_r = NULL;
	char user[USERDB_NAME_MAX + 1];
	if (!userdb_name_normalize(raw_user, user) ||
	    (op != OP_REMOVE_USER && !apppass_device_valid(device))) {
		*err_r = xasprintf("invalid %s", user[0] == '\0' ? "user name" :
				   "device name: use 1-32 characters of A-Z a-z 0-9 . _ -");
		free(dummy);
		return USERDB_EINVAL;
	}
	int fd;
	if (afile_lock(path, &fd, err_r) < 0) {
		free(dummy);
		return USERDB_EIO;
	}
	char *text = NULL;
	size_t len;
	struct stat st;
	bool exists;
	struct afile_buf out = { 0 };
	int ret = USERDB_EIO;
	if (afile_read(path, FILE_MAX, &text, &len, &st, &exists, err_r) == 0) {
		ret = apply(text, op, user, device, line_to_add, &out);
		if (ret == USERDB_EEXIST)
			*err_r = xasprintf("user %s already has an app password for device %s; "
					   "revoke it first", user, device);
		else if (ret == USERDB_EINVAL)
			*err_r = xasprintf("user %s already has %d app passwords", user,
					   APPPASS_PER_USER_MAX);
		else if (ret == USERDB_ENOTFOUND)
			*err_r = xasprintf("user %s has no app password for device %s", user,
					   device);
		else if ((op != OP_REMOVE_USER || exists) &&
			 afile_write(path, out.data, out.len, 0600, err_r) < 0)
			ret = USERDB_EIO;
	}
	if (text != NULL) {
		x_wipe(text, len);
		free(text);
	}
	afile_buf_free(&out);
	close(fd);
	free(dummy);
	return ret;
}

int apppass_file_add(const char *path, const char *user, const char *device,
		     int64_t now, char **password_r, char **err_r)
{
	*password_r = NULL;
	unsigned char rnd[SECRET_CHARS];
	char canon[SECRET_CHARS + 1];
	if (pw_random_bytes(rnd, sizeof(rnd)) < 0) {
		if (err_r != NULL)
			*err_r = xstrdup("no randomness");
		return USERDB_EIO;
	}
	for (size_t i = 0; i < SECRET_CHARS; i++)
		canon[i] = b32[rnd[i] & 31];
	canon[SECRET_CHARS] = '\0';
	char *hash = NULL;
	if (password_hash_fast(canon, &hash) < 0) {
		if (err_r != NULL)
			*err_r = xstrdup("hashing failed");
		return USERDB_EIO;
	}
	char norm[USERDB_NAME_MAX + 1];
	(void)userdb_name_normalize(user, norm);
	char *line = xasprintf("%s:%s:%" PRId64 ":%s\n", norm, device != NULL ? device : "",
			       now, hash);
	int ret = edit(path, OP_ADD, user, device, line, err_r);
	if (ret == 0) {
		char shown[SECRET_CHARS + SECRET_CHARS / GROUP];
		size_t o = 0;
		for (size_t i = 0; i < SECRET_CHARS; i++) {
			if (i > 0 && i % GROUP == 0)
				shown[o++] = '-';
			shown[o++] = canon[i];
		}
		shown[o] = '\0';
		*password_r = xstrdup(shown);
		x_wipe(shown, sizeof(shown));
	}
	x_wipe(line, strlen(line));
	free(line);
	x_wipe(hash, strlen(hash));
	free(hash);
	x_wipe(canon, sizeof(canon));
	x_wipe(rnd, sizeof(rnd));
	return ret;
}

int apppass_file_revoke(const char *path, const char *user, const char *device,
			char **err_r)
{
	return edit(path, OP_REVOKE, user, device, NULL, err_r);
}

int apppass_file_remove_user(const char *path, const char *user, char **err_r)
{
	return edit(path, OP_REMOVE_USER, user, NULL, NULL, err_r);
}
