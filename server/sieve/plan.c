/* Sieve at delivery: the environment (settings, the cache of compiled
 * scripts), sieve_deliver_plan (find the user's active script, compile it
 * or take it from the cache while its file is unchanged, run it, turn the
 * run into the list of actions, or into the fallback keep when anything
 * failed: RFC 5228 2.10.6), sieve_plan_finish (the mail the plan sends, the
 * marks it records) and sieve_check (ManageSieve's compile). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/sieve/run.h"
#include "storage/store.h"

struct cache_entry {
	char *key;                   /* "p:<user>/<name>" or "g:<name>" */
	struct store_script_stamp stamp;
	struct sieve_script *script;
	uint64_t used;
};

struct sieve_env {
	struct sieve_settings set;
	char *global_dir, *hostname, *delimiter;
	pthread_mutex_t lock;
	struct cache_entry *cache;
	size_t n_cache;
	uint64_t tick;
};

struct sieve_plan_state {
	struct store_mark *marks;
	size_t n_marks;
	unsigned char vac_mark[32];
	uint32_t vac_period;
	bool has_vacation;
};

struct sieve_env *sieve_env_create(const struct sieve_settings *set)
{
	struct sieve_env *env = xcalloc(1, sizeof(*env));
	env->set = *set;
	env->global_dir = set->global_dir ? xstrdup(set->global_dir) : NULL;
	env->hostname = xstrdup(set->hostname ? set->hostname : "localhost");
	env->delimiter = xstrdup(set->delimiter ? set->delimiter : "+");
	env->set.global_dir = env->global_dir;
	env->set.hostname = env->hostname;
	env->set.delimiter = env->delimiter;
	if (env->set.cache_size == 0)
		env->set.cache_size = 1;
	pthread_mutex_init(&env->lock, NULL);
	env->cache = xcalloc(env->set.cache_size, sizeof(*env->cache));
	return env;
}

void sieve_env_free(struct sieve_env **envp)
{
	struct sieve_env *env = *envp;
	if (env == NULL)
		return;
	*envp = NULL;
	for (size_t i = 0; i < env->n_cache; i++) {
		free(env->cache[i].key);
		sieve_script_unref(&env->cache[i].script);
	}
	free(env->cache);
	pthread_mutex_destroy(&env->lock);
	free(env->global_dir);
	free(env->hostname);
	free(env->delimiter);
	free(env);
}

const struct sieve_limits *sieve_env_limits(const struct sieve_env *env)
{
	return &env->set.limits;
}

int sieve_check(const struct sieve_env *env, const char *text, size_t len, char **err_r)
{
	struct sieve_script *s = NULL;
	int r = sieve_compile(&env->set.limits, "check", text, len, &s, err_r);
	sieve_script_unref(&s);
	return r;
}

/* ---- the cache ---- */

static struct sieve_script *cache_get(struct sieve_env *env, const char *key,
				      const struct store_script_stamp *stamp)
{
	struct sieve_script *s = NULL;
	pthread_mutex_lock(&env->lock);
	for (size_t i = 0; i < env->n_cache; i++) {
		struct cache_entry *e = &env->cache[i];
		if (strcmp(e->key, key) == 0 && memcmp(&e->stamp, stamp, sizeof(*stamp)) == 0) {
			e->used = ++env->tick;
			s = e->script;
			sieve_script_ref(s);
			break;
		}
	}
	pthread_mutex_unlock(&env->lock);
	return s;
}

static void cache_put(struct sieve_env *env, const char *key,
		      const struct store_script_stamp *stamp, struct sieve_script *s)
{
	pthread_mutex_lock(&env->lock);
	struct cache_entry *slot = NULL;
	for (size_t i = 0; i < env->n_cache; i++)
		if (strcmp(env->cache[i].key, key) == 0)
			slot = &env->cache[i];
	if (slot == NULL && env->n_cache < env->set.cache_size) {
		slot = &env->cache[env->n_cache++];
		memset(slot, 0, sizeof(*slot));
	}
	if (slot == NULL) {
		slot = &env->cache[0];
		for (size_t i = 1; i < env->n_cache; i++)
			if (env->cache[i].used < slot->used)
				slot = &env->cache[i];
	}
	free(slot->key);
	sieve_script_unref(&slot->script);
	slot->key = xstrdup(key);
	slot->stamp = *stamp;
	slot->script = s;
	sieve_script_ref(s);
	slot->used = ++env->tick;
	pthread_mutex_unlock(&env->lock);
}

/* Read a global script: <global_dir>/<name>.sieve. */
static int global_read(struct sieve_env *env, const char *name, char **text_r, size_t *len_r,
		       struct store_script_stamp *stamp_r, bool stamp_only)
{
	if (env->global_dir == NULL)
		return SIEVE_ENOTFOUND;
	char *path = xasprintf("%s/%s.sieve", env->global_dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? SIEVE_ENOTFOUND : SIEVE_EIO;
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > env->set.limits.max_script_size) {
		close(fd);
		return SIEVE_ELIMIT;
	}
	stamp_r->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	stamp_r->size = (uint64_t)st.st_size;
	stamp_r->ino = (uint64_t)st.st_ino;
	if (stamp_only) {
		close(fd);
		return 0;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *text = xmalloc(size + 1);
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	*text_r = text;
	*len_r = got;
	return 0;
}

static int map_store(int r)
{
	return r == STORE_ENOTFOUND ? SIEVE_ENOTFOUND : r == STORE_ETOOBIG ? SIEVE_ELIMIT
	       : SIEVE_EIO;
}

/* The compiled script name of user (or global), from the cache or compiled
 * now. err_r: the compile errors. */
static int load(struct sieve_env *env, struct store_user *user, const char *name, bool global,
		struct sieve_script **script_r, char **err_r)
{
	*script_r = NULL;
	struct store_script_stamp stamp;
	char *key = global ? xasprintf("g:%s", name)
			   : xasprintf("p:%s/%s", store_user_name(user), name);
	int r;
	if (global)
		r = global_read(env, name, NULL, NULL, &stamp, true);
	else
		r = store_script_stamp(user, name, &stamp) == STORE_OK ? 0 : SIEVE_ENOTFOUND;
	if (r != 0) {
		free(key);
		return r;
	}
	struct sieve_script *s = cache_get(env, key, &stamp);
	if (s != NULL) {
		free(key);
		*script_r = s;
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	if (global) {
		r = global_read(env, name, &text, &len, &stamp, false);
	} else {
		int sr = store_script_read(user, name, env->set.limits.max_script_size, &text, &len,
					   &stamp);
		r = sr == STORE_OK ? 0 : map_store(sr);
	}
	if (r == 0) {
		r = sieve_compile(&env->set.limits, name, text, len, &s, err_r);
		if (r == 0)
			cache_put(env, key, &stamp, s);
	}
	free(text);
	free(key);
	*script_r = s;
	return r;
}

struct loader_ctx {
	struct sieve_env *env;
	struct store_user *user;
};

static int include_loader(void *ctx, const char *name, bool global,
			  struct sieve_script **script_r, char **err_r)
{
	struct loader_ctx *lc = ctx;
	if (!global && lc->user == NULL)
		return SIEVE_ENOTFOUND;
	return load(lc->env, lc->user, name, global, script_r, err_r);
}

static int mark_check(void *ctx, const unsigned char key[32], bool *seen_r)
{
	const struct sieve_delivery *d = ctx;
	*seen_r = false;
	if (d->user == NULL)
		return 0;
	time_t now = d->now ? d->now : time(NULL);
	return store_mark_check(d->user, key, (int64_t)now, seen_r) == STORE_OK ? 0 : SIEVE_EIO;
}

/* ---- plans ---- */

static struct sieve_action *plan_add(struct sieve_plan *p, enum sieve_action_kind kind)
{
	p->actions = xrealloc(p->actions, (p->n_actions + 1) * sizeof(*p->actions));
	struct sieve_action *a = &p->actions[p->n_actions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

static void plan_keep(struct sieve_plan *p, bool implicit, uint32_t flags,
		      char **keywords, size_t n_keywords)
{
	struct sieve_action *a = plan_add(p, SIEVE_ACT_KEEP);
	a->mailbox = xstrdup("INBOX");
	a->flags = flags;
	a->keywords = keywords;
	a->n_keywords = n_keywords;
	p->implicit_keep = implicit;
}

static void actions_free(struct sieve_plan *p)
{
	for (size_t i = 0; i < p->n_actions; i++) {
		struct sieve_action *a = &p->actions[i];
		free(a->mailbox);
		for (size_t k = 0; k < a->n_keywords; k++)
			free(a->keywords[k]);
		free(a->keywords);
		free(a->address);
		free(a->text);
	}
	free(p->actions);
}

static void plan_fallback(struct sieve_plan *p, const char *user, const char *script,
			  const char *what)
{
	actions_free(p);
	p->actions = NULL;
	p->n_actions = 0;
	x_free(&p->header);
	p->header_len = 0;
	p->body_offset = 0;
	if (p->state != NULL)
		p->state->n_marks = 0, p->state->has_vacation = false;
	plan_keep(p, true, 0, NULL, 0);
	p->error = xstrdup(what);
	log_warn("sieve: user=%s script=%s: %s; the message is kept in INBOX",
		 user != NULL ? user : "?", script != NULL ? script : "?", what);
}

int sieve_deliver_plan(struct sieve_env *env, const struct sieve_delivery *d,
		       struct sieve_plan **plan_r)
{
	struct sieve_plan *p = xcalloc(1, sizeof(*p));
	p->state = xcalloc(1, sizeof(*p->state));
	*plan_r = p;
	const char *uname = d->user != NULL ? store_user_name(d->user) : d->user_address;
	char *name = NULL;
	if (d->compiled != NULL) {
		name = xstrdup(d->compiled->name);
	} else if (d->script != NULL) {
		name = xstrdup(d->script);
	} else if (d->user == NULL || store_script_active(d->user, &name) != STORE_OK) {
		plan_keep(p, true, 0, NULL, 0);
		return 0;
	}
	struct sieve_script *script = NULL;
	char *err = NULL;
	int r = 0;
	if (d->compiled != NULL) {
		script = d->compiled;
		sieve_script_ref(script);
	} else {
		r = load(env, d->user, name, false, &script, &err);
	}
	if (r != 0) {
		char *what = xasprintf("the script does not compile (%s)%s%s", sieve_strerror(r),
				       err ? ": " : "", err ? err : "");
		for (char *q = what; *q; q++)
			if (*q == '\n')
				*q = ' ';
		plan_fallback(p, uname, name, what);
		free(what);
		free(err);
		free(name);
		return r == SIEVE_ENOTFOUND ? SIEVE_EIO : r;
	}
	struct sv_run run;
	memset(&run, 0, sizeof(run));
	run.lim = &env->set.limits;
	run.d = d;
	run.hostname = env->hostname;
	run.delimiter = env->delimiter;
	run.now = d->now ? d->now : time(NULL);
	sv_msg_init(&run.msg, d->fd, d->size, d->info, run.lim);
	struct loader_ctx lc = { env, d->user };
	run.loader = include_loader;
	run.loader_ctx = &lc;
	run.mark_check = mark_check;
	run.mark_ctx = (void *)d;
	run.stack = xcalloc(1, sizeof(*run.stack));
	run.stack[0] = xasprintf("p:%s", name);
	run.depth = 1;
	p->script_ran = true;
	r = sv_run_script(&run, script);
	sieve_script_unref(&script);
	if (r != 0) {
		plan_fallback(p, uname, name, run.error ? run.error : sieve_strerror(r));
		sv_run_free(&run);
		free(name);
		return r;
	}
	/* the actions, in order; the implicit keep last */
	for (size_t i = 0; i < run.n_actions; i++) {
		struct sv_action *ra = &run.actions[i];
		struct sieve_action *a = plan_add(p, ra->kind);
		a->mailbox = ra->mailbox;
		a->create = ra->create;
		a->copy = ra->copy;
		a->flags = ra->flags;
		a->keywords = ra->keywords;
		a->n_keywords = ra->n_keywords;
		a->address = ra->address;
		a->text = ra->text;
		if (ra->kind == SIEVE_ACT_VACATION) {
			memcpy(p->state->vac_mark, ra->mark, 32);
			p->state->vac_period = ra->period;
			p->state->has_vacation = true;
		}
		memset(ra, 0, sizeof(*ra));
	}
	run.n_actions = 0;
	if (run.implicit_keep) {
		uint32_t flags;
		char **kw;
		size_t n_kw;
		/* RFC 5232 3: the implicit keep uses the internal variable */
		sv_flags_to_store(run.flags ? run.flags : "", &flags, &kw, &n_kw);
		plan_keep(p, true, flags, kw, n_kw);
	} else if (p->n_actions == 0) {
		plan_add(p, SIEVE_ACT_DISCARD);
	}
	if (run.msg.edited) {
		struct msg_buf hb = { 0 };
		sv_msg_header_block(&run.msg, &hb);
		p->header = hb.data;
		p->header_len = hb.len;
		p->body_offset = run.msg.body_offset;
	}
	if (run.n_marks > 0) {
		p->state->marks = xcalloc(run.n_marks, sizeof(*p->state->marks));
		for (size_t i = 0; i < run.n_marks; i++) {
			if (run.marks[i].exists && !run.marks[i].refresh)
				continue;
			struct store_mark *m = &p->state->marks[p->state->n_marks++];
			memcpy(m->key, run.marks[i].key, 32);
			m->expires = (int64_t)run.now + run.marks[i].period;
			m->refresh = run.marks[i].refresh;
		}
	}
	sv_run_free(&run);
	free(name);
	return 0;
}

/* ---- finishing ---- */

static int send_redirect(struct sieve_env *env, const struct sieve_delivery *d,
			 const struct sieve_plan *p, const char *to)
{
	/* the envelope rule: the original sender stays the sender (RFC 5228
	 * 4.2 allows it; bounces go where they went before) */
	const char *from = d->mail_from != NULL ? d->mail_from : "";
	if (p->header != NULL)
		return env->set.outbox.send(env->set.outbox.ctx, from, to, p->header, p->header_len,
					    d->fd, p->body_offset, d->size);
	return env->set.outbox.send(env->set.outbox.ctx, from, to, "", 0, d->fd, 0, d->size);
}

int sieve_plan_finish(struct sieve_env *env, const struct sieve_delivery *d,
		      struct sieve_plan *p, bool stored_ok, bool refused)
{
	if (!stored_ok || p->error != NULL)
		return 0;
	int failed = 0;
	const char *uname = d->user != NULL ? store_user_name(d->user) : d->user_address;
	time_t now = d->now ? d->now : time(NULL);
	bool vacation_sent = false;
	for (size_t i = 0; i < p->n_actions; i++) {
		struct sieve_action *a = &p->actions[i];
		int r = 0;
		const char *what = NULL;
		if (a->kind == SIEVE_ACT_REDIRECT) {
			what = "redirect";
			r = env->set.outbox.send ? send_redirect(env, d, p, a->address) : -1;
		} else if (a->kind == SIEVE_ACT_VACATION) {
			what = "vacation reply";
			/* RFC 3834 3.3 / RFC 5230 4.3: from the null sender */
			r = env->set.outbox.send ? env->set.outbox.send(env->set.outbox.ctx, "",
									a->address, a->text,
									strlen(a->text), -1, 0, 0)
				: -1;
			vacation_sent = r == 0;
		} else if ((a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT) && !refused &&
			   d->mail_from != NULL && d->mail_from[0] != '\0') {
			what = "reject notice";
			struct sv_msg m;
			sv_msg_init(&m, d->fd, d->size, d->info, &env->set.limits);
			char *notice = sv_reject_notice(&m, d->user_address, d->mail_from, a->text,
							env->hostname, now);
			sv_msg_free(&m);
			r = env->set.outbox.send ? env->set.outbox.send(env->set.outbox.ctx, "",
									d->mail_from, notice,
									strlen(notice), -1, 0, 0)
				: -1;
			free(notice);
		}
		if (what == NULL)
			continue;
		if (r != 0) {
			failed++;
			log_error("sieve: user=%s: %s to <%s> failed%s", uname, what,
				  a->address ? a->address : d->mail_from,
				  env->set.outbox.send ? "" : " (no relay configured)");
		} else {
			log_info("sieve: user=%s: %s sent to <%s>", uname, what,
				 a->address ? a->address : d->mail_from);
		}
	}
	/* the marks: duplicate ids always, the vacation mark once sent */
	struct sieve_plan_state *st = p->state;
	size_t n = st->n_marks;
	struct store_mark *marks = xcalloc(n + 1, sizeof(*marks));
	if (n > 0)
		memcpy(marks, st->marks, n * sizeof(*marks));
	if (st->has_vacation && vacation_sent) {
		memcpy(marks[n].key, st->vac_mark, 32);
		marks[n].expires = (int64_t)now + st->vac_period;
		marks[n].refresh = true;
		n++;
	}
	if (n > 0 && d->user != NULL &&
	    store_mark_put(d->user, marks, n, (int64_t)now, env->set.limits.max_marks) != STORE_OK) {
		log_error("sieve: user=%s: the tracking marks could not be saved", uname);
		failed++;
	}
	free(marks);
	return failed;
}

void sieve_plan_free(struct sieve_plan **pp)
{
	struct sieve_plan *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	actions_free(p);
	free(p->error);
	free(p->header);
	if (p->state != NULL)
		free(p->state->marks);
	free(p->state);
	free(p);
}
