/* Spool files: a delivered message is written once into
 * <mail_dir>/.loft-spool/tmp/ (a name no user directory can have: user
 * names never start with '.'), made durable once, and then linked into each
 * recipient's mailbox by store_append_begin_spool (store-append.c).
 *
 * Making spools durable, two ways (store_settings.spool_sync):
 *  - FILE: each caller fdatasyncs its own spool. Concurrent fdatasyncs on
 *    one file system are merged by its journal (one commit, one cache
 *    flush for all of them), so this batches without any waiting here.
 *  - GROUP: a round-based group sync. A caller joins the waiting list; if
 *    no round runs it becomes the round's leader, takes everyone waiting,
 *    and makes all their files durable at once: fdatasync when it is alone,
 *    syncfs(2) of the mail_dir file system when there are several (one
 *    writeback of everything dirty, one journal commit, one flush; since
 *    Linux 5.8 it reports writeback errors). Callers arriving during a
 *    round wait for the next one, whose leader is one of them.
 * Either way a spool counts as durable only after the call that covered it
 * returned without error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "storage/store-private.h"
#include "storage/store-spool.h"

struct spool_sync_req {
	struct spool_sync_req *next;
	int fd;
	int result;                 /* 0 or -errno */
	bool done;
};

void store_spool_init(struct store *s)
{
	s->spool_dir = xasprintf("%s/.loft-spool", s->mail_dir);
	s->spool_dir_fd = -1;
	pthread_mutex_init(&s->spool_lock, NULL);
	pthread_cond_init(&s->spool_cond, NULL);
	/* Spools of a process that died mid-delivery (never linked anywhere,
	 * or linked into mailboxes that keep their own names). */
	maildir_tmp_cleanup(s->spool_dir, STORE_SPOOL_MAX_AGE);
}

void store_spool_deinit(struct store *s)
{
	if (s->spool_dir_fd >= 0)
		close(s->spool_dir_fd);
	pthread_mutex_destroy(&s->spool_lock);
	pthread_cond_destroy(&s->spool_cond);
	free(s->spool_dir);
}

/* The spool directory exists and its descriptor is open (for syncfs). */
static int spool_dir_ready(struct store *s)
{
	pthread_mutex_lock(&s->spool_lock);
	int r = 0;
	if (s->spool_dir_fd < 0) {
		char *tmp = xasprintf("%s/tmp", s->spool_dir);
		if ((mkdir(s->spool_dir, 0700) != 0 && errno != EEXIST) ||
		    (mkdir(tmp, 0700) != 0 && errno != EEXIST)) {
			r = -errno;
		} else {
			s->spool_dir_fd = open(s->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (s->spool_dir_fd < 0)
				r = -errno;
		}
		free(tmp);
	}
	pthread_mutex_unlock(&s->spool_lock);
	return r;
}

int store_spool_create(struct store *store, uint64_t headroom, struct store_spool **spool_r)
{
	*spool_r = NULL;
	thread_assert_may_block("store_spool_create");
	int r = spool_dir_ready(store);
	if (r != 0) {
		log_error("store: spool directory %s: %s", store->spool_dir, strerror(-r));
		return STORE_EIO;
	}
	struct store_spool *sp = xcalloc(1, sizeof(*sp));
	sp->store = store;
	if (store->set.max_message_size != 0)
		sp->max_size = store->set.max_message_size + headroom;
	r = maildir_tmp_create(store->spool_dir, &sp->tmp);
	if (r != 0) {
		log_error("store: create spool file in %s: %s", store->spool_dir, strerror(-r));
		free(sp);
		return STORE_EIO;
	}
	*spool_r = sp;
	return 0;
}

int store_spool_write(struct store_spool *sp, const void *data, size_t len)
{
	thread_assert_may_block("store_spool_write");
	if (sp->error != 0)
		return sp->error;
	if (sp->synced)
		return STORE_EINVALID;
	if (sp->max_size != 0 && sp->tmp.size + len > sp->max_size) {
		sp->error = STORE_ETOOBIG;
		return sp->error;
	}
	int r = maildir_tmp_write(&sp->tmp, data, len);
	if (r != 0) {
		log_error("store: write %s: %s", sp->tmp.path, strerror(-r));
		sp->error = STORE_EIO;
	}
	return sp->error;
}

uint64_t store_spool_size(const struct store_spool *sp)
{
	return sp->tmp.size;
}

static int fdatasync_retry(int fd)
{
	while (fdatasync(fd) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* One round of the grouped sync, run by its leader without the lock. */
static void group_round(struct store *s, struct spool_sync_req *batch)
{
	size_t n = 0;
	for (struct spool_sync_req *q = batch; q != NULL; q = q->next)
		n++;
	int r;
	if (n == 1) {
		r = fdatasync_retry(batch->fd);
	} else {
		r = syncfs(s->spool_dir_fd) == 0 ? 0 : -errno;
	}
	for (struct spool_sync_req *q = batch; q != NULL; q = q->next)
		q->result = r;
	atomic_fetch_add(&s->spool_syncs, 1);
	atomic_fetch_add(&s->spool_files, n);
}

static int group_sync(struct store *s, int fd)
{
	struct spool_sync_req req = { .fd = fd };
	pthread_mutex_lock(&s->spool_lock);
	req.next = s->spool_waiting;
	s->spool_waiting = &req;
	while (!req.done) {
		if (s->spool_syncing) {
			pthread_cond_wait(&s->spool_cond, &s->spool_lock);
			continue;
		}
		s->spool_syncing = true;
		struct spool_sync_req *batch = s->spool_waiting;
		s->spool_waiting = NULL;
		pthread_mutex_unlock(&s->spool_lock);
		group_round(s, batch);
		pthread_mutex_lock(&s->spool_lock);
		for (struct spool_sync_req *q = batch, *next; q != NULL; q = next) {
			next = q->next;   /* q may go away once done is seen */
			q->done = true;
		}
		s->spool_syncing = false;
		pthread_cond_broadcast(&s->spool_cond);
	}
	pthread_mutex_unlock(&s->spool_lock);
	return req.result;
}

int store_spool_sync(struct store_spool *sp)
{
	thread_assert_may_block("store_spool_sync");
	if (sp->error != 0)
		return sp->error;
	if (sp->synced)
		return 0;
	struct store *s = sp->store;
	int r;
	if (s->set.spool_sync == STORE_SPOOL_SYNC_GROUP) {
		r = group_sync(s, sp->tmp.fd);
	} else {
		r = fdatasync_retry(sp->tmp.fd);
		atomic_fetch_add(&s->spool_syncs, 1);
		atomic_fetch_add(&s->spool_files, 1);
	}
	if (r != 0) {
		log_error("store: sync spool %s: %s", sp->tmp.path, strerror(-r));
		sp->error = STORE_EIO;
		return sp->error;
	}
	sp->synced = true;
	return 0;
}

int store_spool_open(struct store_spool *sp, int *fd_r)
{
	thread_assert_may_block("store_spool_open");
	int fd = open(sp->tmp.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("store: open spool %s: %s", sp->tmp.path, strerror(errno));
		return STORE_EIO;
	}
	*fd_r = fd;
	return 0;
}

void store_spool_free(struct store_spool **spp)
{
	struct store_spool *sp = *spp;
	if (sp == NULL)
		return;
	*spp = NULL;
	maildir_tmp_discard(&sp->tmp);
	free(sp);
}
