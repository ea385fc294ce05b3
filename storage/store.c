/* The store object: store_create wires the writer threads, the change
 * notification and the environment cache together (the writer reaches
 * reconcile and notify only through the hooks given here, so neither
 * includes the other), store_destroy takes them down in order, and the
 * writer's debug counters. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/notify.h"
#include "storage/reconcile.h"
#include "storage/store-debug.h"
#include "storage/store-private.h"
#include "storage/store-spool.h"
#include "storage/writer.h"

#define STORE_BUCKETS 1024

static const struct writer_hooks hooks = {
	.check_mailbox = reconcile_if_changed,
	.published = notify_publish,
};

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	int r = -ENOENT;
	if (slash != NULL && slash != copy) {
		*slash = '\0';
		r = mkdir_p(copy);
	}
	free(copy);
	if (r == 0 && mkdir(path, 0700) != 0 && errno != EEXIST)
		r = -errno;
	return r;
}

int store_create(const struct store_settings *set, struct store **store_r)
{
	*store_r = NULL;
	if (set == NULL || set->mail_dir == NULL || set->mail_dir[0] == '\0')
		return STORE_EINVALID;
	int r = mkdir_p(set->mail_dir);
	if (r != 0) {
		log_error("store: mail_dir %s: %s", set->mail_dir, strerror(-r));
		return STORE_EIO;
	}
	struct store *s = xcalloc(1, sizeof(*s));
	s->set = *set;
	s->mail_dir = xstrdup(set->mail_dir);
	s->set.mail_dir = s->mail_dir;
	if (s->set.index_cache_size == 0)
		s->set.index_cache_size = 1024;
	if (s->set.msg_limits.max_parts == 0)
		msg_limits_default(&s->set.msg_limits);
	if (s->set.writer_threads == 0)
		s->set.writer_threads = 2;
	s->n_buckets = STORE_BUCKETS;
	s->users = xcalloc(s->n_buckets, sizeof(*s->users));
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_cond_init(&s->wcond, NULL);
	store_spool_init(s);
	int err = writer_start(s, s->set.writer_threads, &hooks);
	if (err == 0)
		err = notify_create(s);
	if (err != 0) {
		store_destroy(&s);
		return err;
	}
	*store_r = s;
	return 0;
}

void store_destroy(struct store **store)
{
	struct store *s = *store;
	if (s == NULL)
		return;
	*store = NULL;
	/* no new reconcile ops, then drain the writers (they still publish),
	 * then drop the watch registry */
	notify_stop(s);
	writer_stop(s);
	notify_destroy(s);
	store_envcache_free_all(s);
	store_spool_deinit(s);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wlock);
	pthread_cond_destroy(&s->wcond);
	free(s->mail_dir);
	free(s);
}

/* ---- debug counters (store-debug.h) ---- */

uint64_t store_debug_commit_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->commits);
}

uint64_t store_debug_lazy_commit_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->lazy_commits);
}

uint64_t store_debug_batch_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->batches);
}

uint64_t store_debug_op_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->ops);
}

uint64_t store_debug_env_open_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->env_opens);
}

uint64_t store_debug_spool_sync_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->spool_syncs);
}

uint64_t store_debug_spool_file_count(const struct store *store)
{
	return atomic_load(&((struct store *)store)->spool_files);
}

const struct msg_limits *store_msg_limits(const struct store *s)
{
	return &s->set.msg_limits;
}
