/* Last-login state: an in-memory map (user, kind) -> (time, address)
 * guarded by one mutex, loaded from and flushed to one small file by a
 * background thread (deferred, batched writes: a login never waits for an
 * fsync). See logins.h for the format and the durability promise. */
#include "auth/logins.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/afile.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/xmem.h"

#define FILE_MAX (256u * 1024 * 1024)

struct rec {
	char user[USERDB_NAME_MAX + 1];
	struct logins_entry e;
};

struct logins {
	char *path;
	pthread_mutex_t lock;        /* guards recs, n, cap, dirty, stop */
	struct rec *recs;
	size_t n, cap;
	uint32_t *slots;             /* open addressing: rec index + 1, 0 = free */
	size_t n_slots;              /* power of two, at most half full */
	bool dirty;
	pthread_mutex_t flush_lock;  /* one writer at a time */
	pthread_cond_t wake;
	pthread_t thread;
	bool have_thread, stop;
	unsigned interval_ms;
};

/* Copy text without tabs, newlines or other control bytes. */
static void clean_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src != NULL && src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

static uint32_t key_hash(const char *user, const char *kind)
{
	uint32_t h = 2166136261u;
	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '\t') * 16777619u;
	for (const char *p = kind; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* The slot of (user, kind): its record's, or the free one to use. */
static uint32_t *slot_of(struct logins *l, const char *user, const char *kind)
{
	size_t mask = l->n_slots - 1;
	for (size_t i = key_hash(user, kind) & mask;; i = (i + 1) & mask) {
		uint32_t v = l->slots[i];
		if (v == 0 || (strcmp(l->recs[v - 1].user, user) == 0 &&
			       strcmp(l->recs[v - 1].e.kind, kind) == 0))
			return &l->slots[i];
	}
}

static void grow(struct logins *l)
{
	l->cap = l->cap == 0 ? 64 : l->cap * 2;
	l->recs = xrealloc(l->recs, l->cap * sizeof(*l->recs));
	free(l->slots);
	l->n_slots = l->cap * 2;
	l->slots = xcalloc(l->n_slots, sizeof(*l->slots));
	for (size_t i = 0; i < l->n; i++)
		*slot_of(l, l->recs[i].user, l->recs[i].e.kind) = (uint32_t)i + 1;
}

static void put(struct logins *l, const char *user, const char *kind, const char *addr,
		int64_t t)
{
	char u[USERDB_NAME_MAX + 1], k[LOGINS_KIND_MAX];
	clean_copy(u, sizeof(u), user);
	clean_copy(k, sizeof(k), kind);
	if (l->n == l->cap)
		grow(l);
	uint32_t *slot = slot_of(l, u, k);
	struct rec *r;
	if (*slot != 0) {
		r = &l->recs[*slot - 1];
	} else {
		r = &l->recs[l->n++];
		*slot = (uint32_t)l->n;
		memcpy(r->user, u, sizeof(u));
		memcpy(r->e.kind, k, sizeof(k));
	}
	clean_copy(r->e.addr, sizeof(r->e.addr), addr);
	r->e.time = t;
}

static void parse(struct logins *l, char *text)
{
	char *save = NULL;
	unsigned lineno = 0;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *f[4];
		size_t n = 0;
		char *p = line;
		f[n++] = p;
		while (n < 4 && (p = strchr(p, '\t')) != NULL) {
			*p++ = '\0';
			f[n++] = p;
		}
		char *end = NULL;
		long long t = n == 4 ? strtoll(f[2], &end, 10) : 0;
		if (n != 4 || !userdb_name_valid(f[0]) || f[1][0] == '\0' || end == f[2] ||
		    *end != '\0') {
			log_warn("logins: %s:%u: malformed line skipped", l->path, lineno);
			continue;
		}
		put(l, f[0], f[1], f[3], (int64_t)t);
	}
}

int logins_open(const char *path, struct logins **l_r, char **err_r)
{
	*l_r = NULL;
	struct logins *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->flush_lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (path != NULL) {
		l->path = xstrdup(path);
		char *text;
		size_t len;
		struct stat st;
		bool exists;
		if (afile_read(path, FILE_MAX, &text, &len, &st, &exists, err_r) < 0) {
			logins_close(&l);
			return USERDB_EIO;
		}
		parse(l, text);
		free(text);
	}
	*l_r = l;
	return 0;
}

void logins_record(struct logins *l, const char *user, const char *kind, const char *addr,
		   int64_t now)
{
	pthread_mutex_lock(&l->lock);
	put(l, user, kind, addr, now);
	l->dirty = true;
	pthread_mutex_unlock(&l->lock);
}

int logins_flush(struct logins *l, char **err_r)
{
	if (l->path == NULL)
		return 0;
	pthread_mutex_lock(&l->flush_lock);
	struct afile_buf b = { 0 };
	pthread_mutex_lock(&l->lock);
	bool dirty = l->dirty;
	l->dirty = false;
	if (dirty) {
		afile_buf_add(&b, "", 0);
		for (size_t i = 0; i < l->n; i++)
			afile_buf_printf(&b, "%s\t%s\t%" PRId64 "\t%s\n", l->recs[i].user,
					 l->recs[i].e.kind, l->recs[i].e.time, l->recs[i].e.addr);
	}
	pthread_mutex_unlock(&l->lock);
	int ret = 0;
	if (dirty && afile_write(l->path, b.data, b.len, 0600, err_r) < 0) {
		ret = USERDB_EIO;
		pthread_mutex_lock(&l->lock);
		l->dirty = true;   /* try again next time */
		pthread_mutex_unlock(&l->lock);
	}
	afile_buf_free(&b);
	pthread_mutex_unlock(&l->flush_lock);
	return ret;
}

static void *flusher(void *arg)
{
	struct logins *l = arg;
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += l->interval_ms / 1000;
		until.tv_nsec += (long)(l->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int r = 0;
		while (!l->stop && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&l->wake, &l->lock, &until);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		char *err = NULL;
		if (logins_flush(l, &err) < 0) {
			log_warn("logins: cannot save login state: %s", err);
			free(err);
		}
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

void logins_start_flusher(struct logins *l, unsigned interval_ms)
{
	if (l->have_thread || l->path == NULL)
		return;
	l->interval_ms = interval_ms == 0 ? 1 : interval_ms;
	l->stop = false;
	if (pthread_create(&l->thread, NULL, flusher, l) == 0)
		l->have_thread = true;
	else
		log_warn("logins: no flusher thread; login state is saved at exit only");
}

void logins_close(struct logins **lp)
{
	struct logins *l = *lp;
	if (l == NULL)
		return;
	if (l->have_thread) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	char *err = NULL;
	if (logins_flush(l, &err) < 0) {
		log_warn("logins: cannot save login state: %s", err);
		free(err);
	}
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->flush_lock);
	pthread_mutex_destroy(&l->lock);
	free(l->recs);
	free(l->slots);
	free(l->path);
	free(l);
	*lp = NULL;
}

void logins_get(struct logins *l, const char *user, struct logins_entry **list_r,
		size_t *count_r)
{
	pthread_mutex_lock(&l->lock);
	struct logins_entry *list = xcalloc(l->n + 1, sizeof(*list));
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->recs[i].user, user) == 0)
			list[n++] = l->recs[i].e;
	pthread_mutex_unlock(&l->lock);
	*list_r = list;
	*count_r = n;
}
