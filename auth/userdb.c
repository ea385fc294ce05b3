/* The passwd-file user database: parsing into an immutable generation (file
 * text split in place + a hash map by name), change-driven reload that keeps
 * old generations alive for borrowed records, password checks, and the
 * locked, atomic line edits behind `loft user add|passwd|del|list`. */
#include "auth/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.h"
#include "lib/log.h"
#include "lib/path.h"
#include "lib/xmem.h"

/* Refuse users files above this size: a passwd-file of a million users is
 * ~150 MB; anything bigger is a mistake. */
#define USERDB_FILE_MAX (256u * 1024 * 1024)

struct userdb_gen {
	struct userdb_gen *prev;  /* older generation, kept until userdb_free */
	char *text;               /* file contents, fields NUL-split in place */
	size_t text_len;
	struct userdb_user *users;/* in file order */
	size_t n_users;
	uint32_t *buckets;        /* index+1 into users, 0 = end of chain */
	uint32_t *next;           /* per user: next index+1 in its chain */
	size_t n_buckets;         /* power of two */
};

struct userdb {
	char *path;
	pthread_mutex_t lock;        /* guards gen, have_st, st */
	pthread_mutex_t reload_lock; /* one reload at a time */
	struct userdb_gen *gen;
	bool have_st;
	struct stat st;
};

bool userdb_name_valid(const char *name)
{
	size_t len = name == NULL ? 0 : strlen(name);
	if (len == 0 || len > USERDB_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == '@' || c == '+' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static bool pw_field_valid(const char *pw)
{
	return pw != NULL && pw[0] != '\0' && strpbrk(pw, ":\r\n") == NULL;
}

/* FNV-1a: the keys come from the administrator's file, not from clients. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* ---- reading and parsing ---- */

/* Read the whole file; a missing file is empty text with *st_valid_r false. */
static int read_file(const char *path, char **text_r, size_t *len_r,
		     struct stat *st_r, bool *st_valid_r, char **err_r)
{
	*text_r = NULL;
	*st_valid_r = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*text_r = xstrdup("");
			*len_r = 0;
			return USERDB_OK;
		}
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return USERDB_EIO;
	}
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode) ||
	    (uint64_t)st_r->st_size > USERDB_FILE_MAX) {
		*err_r = xasprintf("%s: not a regular file of at most %u bytes", path,
				   USERDB_FILE_MAX);
		close(fd);
		return USERDB_EIO;
	}
	size_t cap = (size_t)st_r->st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > USERDB_FILE_MAX) {
				*err_r = xasprintf("%s: file grew past %u bytes", path,
						   USERDB_FILE_MAX);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*text_r = buf;
	*len_r = len;
	*st_valid_r = true;
	return USERDB_OK;
fail:
	close(fd);
	free(buf);
	return USERDB_EIO;
}

static const struct userdb_user *gen_lookup(const struct userdb_gen *gen, const char *name)
{
	if (gen->n_buckets == 0)
		return NULL;
	uint32_t i = gen->buckets[name_hash(name) & (gen->n_buckets - 1)];
	while (i != 0) {
		const struct userdb_user *u = &gen->users[i - 1];
		if (strcmp(u->name, name) == 0)
			return u;
		i = gen->next[i - 1];
	}
	return NULL;
}

/* Split one line (NUL-terminated, in the text buffer) into u. Returns false
 * for a malformed line. */
static bool parse_line(char *line, struct userdb_user *u)
{
	char *fields[8];
	size_t n = 0;
	char *p = line;
	fields[n++] = p;
	/* Seven separators at most: the extra fields may contain ':' themselves
	 * (userdb_quota_rule=*:storage=1G). */
	while (n < 8 && (p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		fields[n++] = p;
	}
	if (n < 2 || !userdb_name_valid(fields[0]))
		return false;
	for (size_t i = n; i < 8; i++)
		fields[i] = "";
	*u = (struct userdb_user){
		.name = fields[0], .password = fields[1], .uid = fields[2],
		.gid = fields[3], .gecos = fields[4], .home = fields[5],
		.shell = fields[6], .extra = fields[7],
	};
	return true;
}

/* Build a generation from text (taken over). Malformed lines and duplicates
 * are logged as path:line and skipped. */
static struct userdb_gen *gen_parse(const char *path, char *text, size_t len)
{
	struct userdb_gen *gen = xcalloc(1, sizeof(*gen));
	gen->text = text;
	gen->text_len = len;
	size_t max_users = 1;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			max_users++;
	gen->users = xcalloc(max_users, sizeof(*gen->users));
	gen->next = xcalloc(max_users, sizeof(*gen->next));
	gen->n_buckets = 16;
	while (gen->n_buckets < max_users * 2)
		gen->n_buckets *= 2;
	gen->buckets = xcalloc(gen->n_buckets, sizeof(*gen->buckets));

	unsigned lineno = 0;
	char *line = text;
	while (line != NULL && *line != '\0') {
		lineno++;
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		char *next_line = nl != NULL ? nl + 1 : NULL;
		if (l == 0 || line[0] == '#') {
			line = next_line;
			continue;
		}
		struct userdb_user u;
		if (!parse_line(line, &u)) {
			log_warn("userdb: %s:%u: malformed line skipped (want "
				 "name:{SCHEME}hash:..., name of [A-Za-z0-9._@+-])",
				 path, lineno);
		} else if (gen_lookup(gen, u.name) != NULL) {
			log_warn("userdb: %s:%u: user %s listed again, the first entry is used",
				 path, lineno, u.name);
		} else {
			size_t idx = gen->n_users++;
			gen->users[idx] = u;
			uint32_t b = name_hash(u.name) & (uint32_t)(gen->n_buckets - 1);
			gen->next[idx] = gen->buckets[b];
			gen->buckets[b] = (uint32_t)idx + 1;
		}
		line = next_line;
	}
	return gen;
}

static void gen_free_chain(struct userdb_gen *gen)
{
	while (gen != NULL) {
		struct userdb_gen *prev = gen->prev;
		/* The text holds password hashes: wipe before freeing. */
		if (gen->text != NULL)
			x_wipe(gen->text, gen->text_len);
		free(gen->text);
		free(gen->users);
		free(gen->next);
		free(gen->buckets);
		free(gen);
		gen = prev;
	}
}

int userdb_load(const char *path, struct userdb **db_r, char **err_r)
{
	*db_r = NULL;
	char *text;
	size_t len;
	struct stat st;
	bool st_valid;
	int ret = read_file(path, &text, &len, &st, &st_valid, err_r);
	if (ret < 0)
		return ret;
	struct userdb *db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->reload_lock, NULL);
	db->gen = gen_parse(path, text, len);
	db->have_st = st_valid;
	if (st_valid)
		db->st = st;
	*db_r = db;
	return USERDB_OK;
}

void userdb_free(struct userdb **dbp)
{
	struct userdb *db = *dbp;
	if (db == NULL)
		return;
	gen_free_chain(db->gen);
	pthread_mutex_destroy(&db->lock);
	pthread_mutex_destroy(&db->reload_lock);
	free(db->path);
	free(db);
	*dbp = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int userdb_reload(struct userdb *db, bool *changed_r, char **err_r)
{
	if (changed_r != NULL)
		*changed_r = false;
	pthread_mutex_lock(&db->reload_lock);
	struct stat now;
	bool exists = stat(db->path, &now) == 0;
	if (!exists && errno != ENOENT) {
		*err_r = xasprintf("%s: %s", db->path, strerror(errno));
		pthread_mutex_unlock(&db->reload_lock);
		return USERDB_EIO;
	}
	pthread_mutex_lock(&db->lock);
	bool unchanged = exists ? db->have_st && same_file(&now, &db->st) : !db->have_st;
	pthread_mutex_unlock(&db->lock);
	if (unchanged) {
		pthread_mutex_unlock(&db->reload_lock);
		return USERDB_OK;
	}
	char *text;
	size_t len;
	struct stat st;
	bool st_valid;
	int ret = read_file(db->path, &text, &len, &st, &st_valid, err_r);
	if (ret < 0) {
		pthread_mutex_unlock(&db->reload_lock);
		return ret;
	}
	struct userdb_gen *gen = gen_parse(db->path, text, len);
	pthread_mutex_lock(&db->lock);
	gen->prev = db->gen;
	db->gen = gen;
	db->have_st = st_valid;
	if (st_valid)
		db->st = st;
	pthread_mutex_unlock(&db->lock);
	pthread_mutex_unlock(&db->reload_lock);
	log_info("userdb: reloaded %s users=%zu", db->path, gen->n_users);
	if (changed_r != NULL)
		*changed_r = true;
	return USERDB_OK;
}

static struct userdb_gen *current_gen(struct userdb *db)
{
	pthread_mutex_lock(&db->lock);
	struct userdb_gen *gen = db->gen;
	pthread_mutex_unlock(&db->lock);
	return gen;
}

const struct userdb_user *userdb_lookup(struct userdb *db, const char *name)
{
	if (name == NULL)
		return NULL;
	return gen_lookup(current_gen(db), name);
}

size_t userdb_count(struct userdb *db)
{
	return current_gen(db)->n_users;
}

int userdb_verify(struct userdb *db, const char *name, const char *password)
{
	char *err = NULL;
	if (userdb_reload(db, NULL, &err) < 0) {
		log_warn("userdb: reload failed, using the loaded users: %s", err);
		free(err);
	}
	const struct userdb_user *u = userdb_lookup(db, name);
	if (u == NULL) {
		/* Burn the same work as a real SHA512-CRYPT check: a 86-character
		 * hash part makes crypt_r run all rounds, then mismatch. */
		char *dummy = xasprintf("{SHA512-CRYPT}$6$rounds=%u$loftdummysalt000$%086d",
					PASSWORD_DEFAULT_ROUNDS, 0);
		(void)password_verify(password, dummy);
		free(dummy);
		return USERDB_ENOTFOUND;
	}
	int ret = password_verify(password, u->password);
	if (ret == PASSWORD_OK)
		return USERDB_OK;
	if (ret == PASSWORD_MISMATCH)
		return USERDB_EMISMATCH;
	log_warn("userdb: user=%s stored password unusable: %s", name,
		 password_result_name(ret));
	return USERDB_EPASSWORD;
}

/* ---- editing ---- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replace path with buf: tmp file in the same directory, fsync, rename,
 * fsync the directory. */
static int write_atomic(const char *path, const char *buf, size_t len, char **err_r)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dir = path_dir_of(path);
	int ret = USERDB_EIO;
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		*err_r = xasprintf("%s: write: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		*err_r = xasprintf("%s: rename: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		*err_r = xasprintf("%s: fsync: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	ret = USERDB_OK;
out:
	free(tmp);
	free(dir);
	return ret;
}

enum edit_op { EDIT_ADD, EDIT_PASSWD, EDIT_DELETE };

/* Length of the user-name part of a raw line, or 0 for comments, blank
 * lines and lines without a name. */
static size_t line_name_len(const char *line, size_t len)
{
	if (len == 0 || line[0] == '#' || line[0] == '\r')
		return 0;
	const char *colon = memchr(line, ':', len);
	return colon == NULL ? 0 : (size_t)(colon - line);
}

static void buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap < 256 ? 256 : *cap * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Rewrite text into a new buffer with op applied. Returns 0 or an error. */
static int apply_edit(const char *text, size_t text_len, enum edit_op op,
		      const char *name, const char *pw_hash, char **out_r, size_t *out_len_r)
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	size_t name_len = strlen(name);
	bool found = false;
	const char *p = text, *end = text + text_len;
	buf_add(&out, &len, &cap, "", 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		size_t with_nl = nl != NULL ? line_len + 1 : line_len;
		size_t nlen = line_name_len(p, line_len);
		bool match = nlen == name_len && memcmp(p, name, name_len) == 0;
		if (match && op == EDIT_DELETE) {
			found = true;           /* drop every line of the user */
		} else if (match && op == EDIT_PASSWD && !found) {
			/* Replace field 2 only, keep everything after it. */
			found = true;
			const char *pw = p + nlen + 1;
			const char *pw_end = memchr(pw, ':', (size_t)(p + line_len - pw));
			if (pw_end == NULL)
				pw_end = p + line_len;
			buf_add(&out, &len, &cap, p, nlen + 1);
			buf_add(&out, &len, &cap, pw_hash, strlen(pw_hash));
			buf_add(&out, &len, &cap, pw_end, (size_t)(p + with_nl - pw_end));
		} else {
			if (match)
				found = true;
			buf_add(&out, &len, &cap, p, with_nl);
		}
		p += with_nl;
	}
	if (op == EDIT_ADD) {
		if (found) {
			x_wipe(out, len);
			free(out);
			return USERDB_EEXIST;
		}
		if (len > 0 && out[len - 1] != '\n')
			buf_add(&out, &len, &cap, "\n", 1);
		char *line = xasprintf("%s:%s::::::\n", name, pw_hash);
		buf_add(&out, &len, &cap, line, strlen(line));
		x_wipe(line, strlen(line));
		free(line);
	} else if (!found) {
		x_wipe(out, len);
		free(out);
		return USERDB_ENOTFOUND;
	}
	*out_r = out;
	*out_len_r = len;
	return USERDB_OK;
}

static int lock_file(const char *path, int *fd_r, char **err_r)
{
	char *lock_path = xasprintf("%s.lock", path);
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int ret = USERDB_OK;
	if (fd < 0) {
		*err_r = xasprintf("%s: %s", lock_path, strerror(errno));
		ret = USERDB_EIO;
	} else {
		while (flock(fd, LOCK_EX) < 0) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("%s: flock: %s", lock_path, strerror(errno));
			close(fd);
			fd = -1;
			ret = USERDB_EIO;
			break;
		}
	}
	free(lock_path);
	*fd_r = fd;
	return ret;
}

static int edit_file(const char *path, enum edit_op op, const char *name,
		     const char *pw_hash, char **err_r)
{
	char *dummy_err = NULL;
	if (err_r == NULL)
		err_r = &dummy_err;
	*err_r = NULL;
	if (!userdb_name_valid(name)) {
		*err_r = xasprintf("invalid user name '%s': use 1-%d characters of "
				   "A-Z a-z 0-9 . _ @ + -, not starting with '.' or '-'",
				   name, USERDB_NAME_MAX);
		free(dummy_err);
		return USERDB_EINVAL;
	}
	if (op != EDIT_DELETE && !pw_field_valid(pw_hash)) {
		*err_r = xstrdup("invalid password hash (empty, or contains ':' or a newline)");
		free(dummy_err);
		return USERDB_EINVAL;
	}
	int lock_fd;
	int ret = lock_file(path, &lock_fd, err_r);
	if (ret < 0) {
		free(dummy_err);
		return ret;
	}
	char *text = NULL, *out = NULL;
	size_t text_len, out_len = 0;
	struct stat st;
	bool st_valid;
	ret = read_file(path, &text, &text_len, &st, &st_valid, err_r);
	if (ret == USERDB_OK)
		ret = apply_edit(text, text_len, op, name, pw_hash, &out, &out_len);
	if (ret == USERDB_EEXIST)
		*err_r = xasprintf("user %s already exists in %s", name, path);
	else if (ret == USERDB_ENOTFOUND)
		*err_r = xasprintf("no user %s in %s", name, path);
	else if (ret == USERDB_OK)
		ret = write_atomic(path, out, out_len, err_r);
	if (text != NULL) {
		x_wipe(text, text_len);
		free(text);
	}
	if (out != NULL) {
		x_wipe(out, out_len);
		free(out);
	}
	close(lock_fd);
	free(dummy_err);
	return ret;
}

int userdb_file_add(const char *path, const char *name, const char *pw_hash, char **err_r)
{
	return edit_file(path, EDIT_ADD, name, pw_hash, err_r);
}

int userdb_file_set_password(const char *path, const char *name, const char *pw_hash,
			     char **err_r)
{
	return edit_file(path, EDIT_PASSWD, name, pw_hash, err_r);
}

int userdb_file_delete(const char *path, const char *name, char **err_r)
{
	return edit_file(path, EDIT_DELETE, name, NULL, err_r);
}

int userdb_file_list(const char *path, char ***names_r, size_t *count_r, char **err_r)
{
	*names_r = NULL;
	*count_r = 0;
	char *dummy_err = NULL;
	struct userdb *db;
	int ret = userdb_load(path, &db, err_r != NULL ? err_r : &dummy_err);
	free(dummy_err);
	if (ret < 0)
		return ret;
	struct userdb_gen *gen = db->gen;
	char **names = xcalloc(gen->n_users + 1, sizeof(*names));
	for (size_t i = 0; i < gen->n_users; i++)
		names[i] = xstrdup(gen->users[i].name);
	*names_r = names;
	*count_r = gen->n_users;
	userdb_free(&db);
	return USERDB_OK;
}

const char *userdb_strerror(int err)
{
	switch (err) {
	case USERDB_OK: return "OK";
	case USERDB_ENOTFOUND: return "ENOTFOUND";
	case USERDB_EEXIST: return "EEXIST";
	case USERDB_EINVAL: return "EINVAL";
	case USERDB_EIO: return "EIO";
	case USERDB_EMISMATCH: return "EMISMATCH";
	case USERDB_EPASSWORD: return "EPASSWORD";
	}
	return "EUNKNOWN";
}
