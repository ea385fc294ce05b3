/* A work pool: a fixed number of threads that run blocking jobs (storage
 * calls, password hashing, file reads) so no event loop ever blocks. Each
 * kind of work has its own pool, sized by a setting, so a slow password hash
 * never holds up storage. The pool knows nothing of loops or sessions: a
 * job's run() does the work and, for session work, posts its completion back
 * to the session's loop (server/engine/job.h does that). */
#ifndef LOFT_ENGINE_POOL_H
#define LOFT_ENGINE_POOL_H

#include <stddef.h>
#include <stdint.h>

struct work_pool;

/* A unit of work; the submitter owns the memory (usually embedded in a
 * larger struct) and gets it back when run() returns. */
struct work_item {
	struct work_item *next;                /* internal */
	void (*run)(struct work_item *item);   /* on a pool thread */
};

struct work_pool_stats {
	uint64_t submitted;
	uint64_t completed;
	unsigned queued;          /* waiting for a thread now */
	unsigned busy;            /* threads running an item now */
	unsigned max_queued;      /* high-water mark of queued */
	unsigned threads;
};

/* Start a pool of n_threads (>= 1) named name (in logs and thread names).
 * Returns NULL if no thread could be started. */
struct work_pool *work_pool_create(const char *name, unsigned n_threads);
/* Any thread. Items run in submission order as threads free up. */
void work_pool_submit(struct work_pool *pool, struct work_item *item);
/* Run every queued item, stop the threads and free the pool. */
void work_pool_destroy(struct work_pool **pool);
void work_pool_stats(struct work_pool *pool, struct work_pool_stats *stats_r);
const char *work_pool_name(const struct work_pool *pool);

#endif
