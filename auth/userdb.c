/* The passwd-file user database: parsing into an immutable generation (file
 * text split in place + a hash map by canonical name + parsed extra fields),
 * change-driven reload that keeps old generations alive for borrowed
 * records, password checks, and the unknown-user dummy that costs what the
 * most common hash in the file costs. Editing lives in userdb-edit.c. */
#include "auth/userdb.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/afile.h"
#include "auth/password.h"
#include "auth/password-schemes.h"
#include "lib/log.h"
#include "lib/path.h"
#include "lib/xmem.h"

/* Refuse users files above this size: a passwd-file of a million users is
 * ~150 MB; anything bigger is a mistake. */
#define USERDB_FILE_MAX (256u * 1024 * 1024)
#define CLASS_MAX 64        /* length of a cost class text */
#define CLASSES_MAX 32      /* distinct cost classes counted per load */
#define UNKNOWN_MAX 16      /* distinct unknown field names listed per load */

struct cost_class {
	char name[CLASS_MAX];
	size_t count;
	const char *hash;         /* one user's stored hash of this class */
};

struct userdb_gen {
	struct userdb_gen *prev;  /* older generation, kept until userdb_free */
	char *text;               /* file contents, fields NUL-split in place */
	size_t text_len;
	struct userdb_user *users;/* in file order */
	size_t n_users;
	uint32_t *buckets;        /* index+1 into users, 0 = end of chain */
	uint32_t *next;           /* per user: next index+1 in its chain */
	size_t n_buckets;         /* power of two */
	char typical[CLASS_MAX];  /* most common cost class, "" if none */
	const char *typical_hash; /* a stored hash of that class (borrowed) */
	char *dummy;              /* made on first use under dummy_lock */
};

struct userdb {
	char *path;
	pthread_mutex_t lock;        /* guards gen, have_st, st */
	pthread_mutex_t reload_lock; /* one reload at a time */
	pthread_mutex_t dummy_lock;  /* making a generation's dummy */
	struct userdb_gen *gen;
	bool have_st;
	struct stat st;
	struct password_params params;
};

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

/* ---- parsing ---- */

struct parse_ctx {
	const char *path;
	unsigned line;
	const char *user;
	struct { char name[32]; size_t count; } unknown[UNKNOWN_MAX];
	size_t n_unknown, unknown_total;
	struct cost_class classes[CLASSES_MAX];
	size_t n_classes;
};

static void on_bad_field(void *ctx, const char *key, size_t key_len, const char *why)
{
	struct parse_ctx *c = ctx;
	log_warn("userdb: %s:%u: user %s: extra field %.*s: %s", c->path, c->line, c->user,
		 (int)(key_len > 40 ? 40 : key_len), key, why);
}

static void on_unknown_field(void *ctx, const char *key, size_t key_len)
{
	struct parse_ctx *c = ctx;
	c->unknown_total++;
	if (key_len >= sizeof(c->unknown[0].name))
		key_len = sizeof(c->unknown[0].name) - 1;
	for (size_t i = 0; i < c->n_unknown; i++) {
		if (strlen(c->unknown[i].name) == key_len &&
		    memcmp(c->unknown[i].name, key, key_len) == 0) {
			c->unknown[i].count++;
			return;
		}
	}
	if (c->n_unknown < UNKNOWN_MAX) {
		/* Only name characters reach the log. */
		char *n = c->unknown[c->n_unknown].name;
		for (size_t i = 0; i < key_len; i++)
			n[i] = (key[i] >= 0x21 && key[i] < 0x7f) ? key[i] : '?';
		n[key_len] = '\0';
		c->unknown[c->n_unknown++].count = 1;
	}
}

static void count_class(struct parse_ctx *c, const char *hash)
{
	char name[CLASS_MAX];
	if (!password_cost_class(hash, name, sizeof(name)))
		return;
	for (size_t i = 0; i < c->n_classes; i++) {
		if (strcmp(c->classes[i].name, name) == 0) {
			c->classes[i].count++;
			return;
		}
	}
	if (c->n_classes < CLASSES_MAX) {
		struct cost_class *k = &c->classes[c->n_classes++];
		memcpy(k->name, name, sizeof(name));
		k->count = 1;
		k->hash = hash;
	}
}

/* Split one line (NUL-terminated, in the text buffer) into u; the name is
 * lower-cased in place. Returns false for a malformed line. */
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
	char canon[USERDB_NAME_MAX + 1];
	if (n < 2 || !userdb_name_normalize(fields[0], canon))
		return false;
	memcpy(fields[0], canon, strlen(canon));
	for (size_t i = n; i < 8; i++)
		fields[i] = "";
	*u = (struct userdb_user){
		.name = fields[0], .password = fields[1], .uid = fields[2],
		.gid = fields[3], .gecos = fields[4], .home = fields[5],
		.shell = fields[6], .extra = fields[7],
	};
	return true;
}

static void log_unknown(const struct parse_ctx *c)
{
	if (c->unknown_total == 0)
		return;
	char list[UNKNOWN_MAX * 40] = "";
	size_t len = 0;
	for (size_t i = 0; i < c->n_unknown && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s(%zu)",
					i > 0 ? " " : "", c->unknown[i].name, c->unknown[i].count);
	log_info("userdb: %s: %zu extra field(s) Loft does not use, ignored: %s%s", c->path,
		 c->unknown_total, list, c->n_unknown == UNKNOWN_MAX ? " ..." : "");
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

	struct parse_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->path = path;
	struct userdb_fields_report report = {
		.bad = on_bad_field, .unknown = on_unknown_field, .ctx = ctx,
	};
	char *line = text;
	while (line != NULL && *line != '\0') {
		ctx->line++;
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
				 path, ctx->line);
		} else if (gen_lookup(gen, u.name) != NULL) {
			log_warn("userdb: %s:%u: user %s listed again, the first entry is used",
				 path, ctx->line, u.name);
		} else {
			ctx->user = u.name;
			userdb_fields_parse(u.extra, &u.fields, &report);
			count_class(ctx, u.password);
			size_t idx = gen->n_users++;
			gen->users[idx] = u;
			uint32_t b = name_hash(u.name) & (uint32_t)(gen->n_buckets - 1);
			gen->next[idx] = gen->buckets[b];
			gen->buckets[b] = (uint32_t)idx + 1;
		}
		line = next_line;
	}
	log_unknown(ctx);
	size_t best = 0;
	for (size_t i = 0; i < ctx->n_classes; i++) {
		if (ctx->classes[i].count > best) {
			best = ctx->classes[i].count;
			memcpy(gen->typical, ctx->classes[i].name, CLASS_MAX);
			gen->typical_hash = ctx->classes[i].hash;
		}
	}
	free(ctx);
	return gen;
}

static void gen_free_chain(struct userdb_gen *gen)
{
	while (gen != NULL) {
		struct userdb_gen *prev = gen->prev;
		for (size_t i = 0; i < gen->n_users; i++)
			userdb_fields_clear(&gen->users[i].fields);
		/* The text holds password hashes: wipe before freeing. */
		if (gen->text != NULL)
			x_wipe(gen->text, gen->text_len);
		free(gen->text);
		if (gen->dummy != NULL)
			x_wipe(gen->dummy, strlen(gen->dummy));
		free(gen->dummy);
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
	if (afile_read(path, USERDB_FILE_MAX, &text, &len, &st, &st_valid, err_r) < 0)
		return USERDB_EIO;
	struct userdb *db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->reload_lock, NULL);
	pthread_mutex_init(&db->dummy_lock, NULL);
	password_params_default(&db->params);
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
	pthread_mutex_destroy(&db->dummy_lock);
	free(db->path);
	free(db);
	*dbp = NULL;
}

void userdb_set_hash_params(struct userdb *db, const struct password_params *params)
{
	db->params = *params;
}

static int reload_locked(struct userdb *db, bool *changed_r, char **err_r);

int userdb_reload(struct userdb *db, bool *changed_r, char **err_r)
{
	if (changed_r != NULL)
		*changed_r = false;
	pthread_mutex_lock(&db->reload_lock);
	return reload_locked(db, changed_r, err_r);
}

int userdb_refresh(struct userdb *db, char **err_r)
{
	if (pthread_mutex_trylock(&db->reload_lock) != 0)
		return USERDB_OK;   /* another thread is checking right now */
	return reload_locked(db, NULL, err_r);
}

/* The body of a reload; called with reload_lock held, releases it. */
static int reload_locked(struct userdb *db, bool *changed_r, char **err_r)
{
	struct stat now;
	bool exists = stat(db->path, &now) == 0;
	if (!exists && errno != ENOENT) {
		*err_r = xasprintf("%s: %s", db->path, strerror(errno));
		pthread_mutex_unlock(&db->reload_lock);
		return USERDB_EIO;
	}
	pthread_mutex_lock(&db->lock);
	bool unchanged = exists ? db->have_st && afile_same(&now, &db->st) : !db->have_st;
	pthread_mutex_unlock(&db->lock);
	if (unchanged) {
		pthread_mutex_unlock(&db->reload_lock);
		return USERDB_OK;
	}
	char *text;
	size_t len;
	struct stat st;
	bool st_valid;
	if (afile_read(db->path, USERDB_FILE_MAX, &text, &len, &st, &st_valid, err_r) < 0) {
		pthread_mutex_unlock(&db->reload_lock);
		return USERDB_EIO;
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
	char canon[USERDB_NAME_MAX + 1];
	if (name == NULL || !userdb_name_normalize(name, canon))
		return NULL;
	return gen_lookup(current_gen(db), canon);
}

size_t userdb_count(struct userdb *db)
{
	return current_gen(db)->n_users;
}

const struct userdb_user *userdb_user_at(struct userdb *db, size_t i)
{
	struct userdb_gen *gen = current_gen(db);
	return i < gen->n_users ? &gen->users[i] : NULL;
}

/* The generation's dummy hash, made on first use from a random password. */
static const char *gen_dummy(struct userdb *db, struct userdb_gen *gen)
{
	pthread_mutex_lock(&db->dummy_lock);
	if (gen->dummy == NULL) {
		unsigned char rnd[16];
		char pw[33];
		if (pw_random_bytes(rnd, sizeof(rnd)) < 0)
			memset(rnd, 0x5a, sizeof(rnd)); /* still never a user's hash */
		pw_hex_encode(rnd, sizeof(rnd), pw);
		if (gen->typical_hash != NULL)
			(void)password_hash_like(gen->typical_hash, pw, &gen->dummy);
		if (gen->dummy == NULL)
			(void)password_hash_params(pw, &db->params, &gen->dummy);
		x_wipe(pw, sizeof(pw));
		x_wipe(rnd, sizeof(rnd));
	}
	const char *dummy = gen->dummy;
	pthread_mutex_unlock(&db->dummy_lock);
	return dummy;
}

void userdb_verify_dummy(struct userdb *db, const char *password)
{
	const char *dummy = gen_dummy(db, current_gen(db));
	if (dummy != NULL)
		(void)password_verify(password, dummy);
}

void userdb_dummy_class(struct userdb *db, char *buf, size_t size)
{
	const char *dummy = gen_dummy(db, current_gen(db));
	if (dummy == NULL || !password_cost_class(dummy, buf, size))
		snprintf(buf, size, "none");
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
		userdb_verify_dummy(db, password);
		return USERDB_ENOTFOUND;
	}
	int ret = password_verify(password, u->password);
	if (ret == PASSWORD_OK)
		return USERDB_OK;
	if (ret == PASSWORD_MISMATCH)
		return USERDB_EMISMATCH;
	log_warn("userdb: user=%s stored password unusable: %s", u->name,
		 password_result_name(ret));
	return USERDB_EPASSWORD;
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
