/* Group commit across sessions through the session engine's storage pool:
 * N simulated sessions each append 4 KiB messages one after another, every
 * append submitted to the work pool as a session's would be (the pool
 * thread parks until the group commit that carries the append is durable).
 * Prints appends/s and messages per durable commit at 1, 16 and 64
 * concurrent sessions, all on one user (one LMDB environment, so their
 * appends can share commits) and spread over 16 users.
 *
 * Usage: bench-engine WORK_DIR [SECONDS]   (WORK_DIR on a real disk) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/engine/pool.h"
#include "storage/store-debug.h"
#include "storage/store.h"

#define POOL_THREADS 64
#define MSG_SIZE 4096

struct run {
	struct store_user **users;
	unsigned n_users;
	double until;
	atomic_uint done;
	atomic_uint active;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work_pool *pool;
	char msg[MSG_SIZE];
};

struct session {
	struct work_item item;
	struct run *run;
	struct store_user *user;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One append, then the session submits its next one (as a session would
 * after its reply) until the time is up. */
static void session_step(struct work_item *item)
{
	struct session *s = (struct session *)item;
	struct run *r = s->run;
	struct store_append *app;
	int err = store_append_begin(s->user, "INBOX", &app);
	if (err == 0)
		err = store_append_write(app, r->msg, sizeof(r->msg));
	if (err == 0)
		err = store_append_commit(&app, &(struct store_append_meta){ 0 }, NULL, NULL);
	if (err != 0) {
		fprintf(stderr, "append: %s\n", store_strerror(err));
		exit(1);
	}
	atomic_fetch_add(&r->done, 1);
	if (now_s() < r->until) {
		work_pool_submit(r->pool, &s->item);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (atomic_fetch_sub(&r->active, 1) == 1)
		pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	free(s);
}

static void run_one(struct store *store, struct run *r, unsigned sessions, double seconds)
{
	uint64_t commits = store_debug_commit_count(store);
	atomic_store(&r->done, 0);
	atomic_store(&r->active, sessions);
	double start = now_s();
	r->until = start + seconds;
	for (unsigned i = 0; i < sessions; i++) {
		struct session *s = xcalloc(1, sizeof(*s));
		s->run = r;
		s->user = r->users[i % r->n_users];
		s->item.run = session_step;
		work_pool_submit(r->pool, &s->item);
	}
	pthread_mutex_lock(&r->lock);
	while (atomic_load(&r->active) > 0)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	double elapsed = now_s() - start;
	unsigned n = atomic_load(&r->done);
	commits = store_debug_commit_count(store) - commits;
	printf("%-8u %-6u %10.0f %14.1f %10u\n", sessions, r->n_users, n / elapsed,
	       commits ? (double)n / (double)commits : 0.0, n);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORK_DIR [SECONDS]\n", argv[0]);
		return 2;
	}
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	log_set_level(LOG_LEVEL_WARN);
	struct store_settings set = { .mail_dir = argv[1], .writer_threads = 2 };
	struct store *store;
	int err = store_create(&set, &store);
	if (err != 0) {
		fprintf(stderr, "store_create %s: %s\n", argv[1], store_strerror(err));
		return 1;
	}
	struct run r = { 0 };
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	memset(r.msg, 'm', sizeof(r.msg));
	memcpy(r.msg, "Subject: bench\r\n\r\n", 18);
	r.pool = work_pool_create("storage", POOL_THREADS);
	r.users = xcalloc(16, sizeof(*r.users));
	for (unsigned i = 0; i < 16; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user%u", i);
		if ((err = store_user_open(store, name, &r.users[i])) != 0) {
			fprintf(stderr, "user open: %s\n", store_strerror(err));
			return 1;
		}
	}
	printf("durable 4 KiB appends through a %u-thread storage pool, %.0f s each\n",
	       POOL_THREADS, seconds);
	printf("%-8s %-6s %10s %14s %10s\n", "sessions", "users", "appends/s", "msgs/commit",
	       "appends");
	static const unsigned sessions[] = { 1, 16, 64 };
	for (unsigned users = 1; users <= 16; users += 15) {
		r.n_users = users;
		for (size_t i = 0; i < 3; i++)
			run_one(store, &r, sessions[i], seconds);
	}
	for (unsigned i = 0; i < 16; i++)
		store_user_close(&r.users[i]);
	free(r.users);
	work_pool_destroy(&r.pool);
	store_destroy(&store);
	return 0;
}
