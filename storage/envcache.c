/* The cache of open user environments: finding or opening a user's shared
 * environment, reference counting and the LRU of unreferenced environments
 * (closed beyond index_cache_size, never while referenced or while writes
 * are queued). An environment is opened at most once per process (LMDB
 * forbids opening the same one twice: closing a duplicate would drop the
 * other's POSIX locks), so eviction closes it while holding the store lock. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-debug.h"
#include "storage/store-private.h"
#include "storage/store-recent.h"
#include "lib/thread-role.h"

static size_t hash_name(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static void user_free(struct store_user *u)
{
	store_recent_close(u);
	store_reader_cache_free(u);
	idx_close(&u->idx);
	if (u->notify_fd >= 0)
		close(u->notify_fd);
	pthread_mutex_destroy(&u->done_lock);
	pthread_mutex_destroy(&u->recent_lock);
	pthread_mutex_destroy(&u->crlf_lock);
	store_vcache_free(u);
	pthread_mutex_destroy(&u->vcache_lock);
	pthread_cond_destroy(&u->done_cond);
	free(u->name);
	free(u->dir);
	free(u->index_dir);
	free(u);
}

static void lru_unlink(struct store *s, struct store_user *u)
{
	if (!u->in_lru)
		return;
	if (u->lru_prev != NULL)
		u->lru_prev->lru_next = u->lru_next;
	else
		s->lru_head = u->lru_next;
	if (u->lru_next != NULL)
		u->lru_next->lru_prev = u->lru_prev;
	else
		s->lru_tail = u->lru_prev;
	u->lru_prev = u->lru_next = NULL;
	u->in_lru = false;
	s->n_lru--;
}

static void hash_unlink(struct store *s, struct store_user *u)
{
	struct store_user **pp = &s->users[hash_name(u->name) % s->n_buckets];
	while (*pp != NULL && *pp != u)
		pp = &(*pp)->hnext;
	if (*pp == u) {
		*pp = u->hnext;
		s->n_users--;
	}
}

void store_envcache_free_all(struct store *s)
{
	for (size_t b = 0; b < s->n_buckets; b++) {
		while (s->users[b] != NULL) {
			struct store_user *u = s->users[b];
			s->users[b] = u->hnext;
			if (u->refs > 0)
				log_warn("store: user=%s still open (%u refs) at store_destroy", u->name, u->refs);
			user_free(u);
		}
	}
	free(s->users);
	s->users = NULL;
}

static bool user_name_valid(const char *user)
{
	size_t n = strlen(user);
	if (n == 0 || n > 255 || user[0] == '.' || strchr(user, '/') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static bool user_busy(struct store *s, struct store_user *u)
{
	pthread_mutex_lock(&s->wlock);
	bool busy = u->scheduled || u->q_head != NULL;
	pthread_mutex_unlock(&s->wlock);
	return busy;
}

/* Close unreferenced environments beyond the cache size (store->lock held). */
static void lru_evict(struct store *s, size_t keep)
{
	struct store_user *u = s->lru_head;
	while (s->n_lru > keep && u != NULL) {
		struct store_user *next = u->lru_next;
		if (!user_busy(s, u)) {
			lru_unlink(s, u);
			hash_unlink(s, u);
			user_free(u);
		}
		u = next;
	}
}

void store_user_ref(struct store_user *u)
{
	struct store *s = u->store;
	pthread_mutex_lock(&s->lock);
	if (u->refs++ == 0)
		lru_unlink(s, u);
	pthread_mutex_unlock(&s->lock);
}

void store_user_unref(struct store_user *u)
{
	struct store *s = u->store;
	pthread_mutex_lock(&s->lock);
	if (--u->refs == 0) {
		u->lru_prev = s->lru_tail;
		u->lru_next = NULL;
		if (s->lru_tail != NULL)
			s->lru_tail->lru_next = u;
		else
			s->lru_head = u;
		s->lru_tail = u;
		u->in_lru = true;
		s->n_lru++;
		lru_evict(s, s->set.index_cache_size);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Find or open the environment of a user (store->lock held). */
static int user_get_locked(struct store *s, const char *user, struct store_user **u_r)
{
	size_t b = hash_name(user) % s->n_buckets;
	for (struct store_user *u = s->users[b]; u != NULL; u = u->hnext) {
		if (strcmp(u->name, user) == 0) {
			if (u->refs++ == 0)
				lru_unlink(s, u);
			*u_r = u;
			return 0;
		}
	}
	struct store_user *u = xcalloc(1, sizeof(*u));
	u->store = s;
	u->name = xstrdup(user);
	u->dir = xasprintf("%s/%s", s->mail_dir, user);
	u->index_dir = xasprintf("%s/index", u->dir);
	u->notify_fd = -1;
	atomic_init(&u->notify_slot, -1);
	pthread_mutex_init(&u->done_lock, NULL);
	pthread_mutex_init(&u->recent_lock, NULL);
	pthread_mutex_init(&u->crlf_lock, NULL);
	pthread_mutex_init(&u->vcache_lock, NULL);
	pthread_cond_init(&u->done_cond, NULL);
	/* maildir_create fsyncs two directories; an existing user needs none. */
	char *cur = xasprintf("%s/cur", u->dir);
	struct stat st;
	int r = stat(cur, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : maildir_create(u->dir);
	free(cur);
	if (r != 0) {
		log_error("store: create %s: %s", u->dir, strerror(-r));
		user_free(u);
		return STORE_EIO;
	}
	int err = idx_open(&u->idx, u->index_dir, s->set.lmdb_map_size);
	if (err != 0) {
		user_free(u);
		return err;
	}
	atomic_fetch_add(&s->env_opens, 1);
	u->refs = 1;
	u->hnext = s->users[b];
	s->users[b] = u;
	s->n_users++;
	*u_r = u;
	return 0;
}

/* Open a user's environment without the INBOX/reconcile work of
 * store_user_open (maintenance code). */
int store_user_get(struct store *s, const char *user, struct store_user **u_r)
{
	*u_r = NULL;
	thread_assert_may_block("store_user_open");
	if (user == NULL || !user_name_valid(user))
		return STORE_EINVALID;
	pthread_mutex_lock(&s->lock);
	int err = user_get_locked(s, user, u_r);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Close a cached, unreferenced environment of a user (index rebuild).
 * Returns STORE_EINUSE if it is referenced or has writes queued. */
int store_user_evict(struct store *s, const char *user)
{
	/* a writer may still be finishing the batch whose waiter already
	 * returned: wait for that (bounded), but not for real references */
	for (int attempt = 0;; attempt++) {
		int err = 0;
		bool busy = false;
		pthread_mutex_lock(&s->lock);
		size_t b = hash_name(user) % s->n_buckets;
		for (struct store_user *u = s->users[b]; u != NULL; u = u->hnext) {
			if (strcmp(u->name, user) != 0)
				continue;
			if (u->refs > 0) {
				err = STORE_EINUSE;
			} else if (user_busy(s, u)) {
				busy = true;
				err = STORE_EINUSE;
			} else {
				lru_unlink(s, u);
				hash_unlink(s, u);
				user_free(u);
			}
			break;
		}
		pthread_mutex_unlock(&s->lock);
		if (!busy || attempt >= 5000)
			return err;
		usleep(1000);
	}
}

/* ---- debug introspection of the cache (store-debug.h) ---- */

size_t store_debug_open_envs(struct store *store)
{
	pthread_mutex_lock(&store->lock);
	size_t n = store->n_users;
	pthread_mutex_unlock(&store->lock);
	return n;
}

bool store_debug_env_is_open(struct store *store, const char *user)
{
	bool found = false;
	pthread_mutex_lock(&store->lock);
	size_t b = hash_name(user) % store->n_buckets;
	for (struct store_user *u = store->users[b]; u != NULL && !found; u = u->hnext)
		found = strcmp(u->name, user) == 0;
	pthread_mutex_unlock(&store->lock);
	return found;
}
