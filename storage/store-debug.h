/* Introspection for tests and benchmarks (not for front ends): counters of
 * the writer (commits, batches, ops run) and of the environment cache. The
 * counters are per store object and only ever grow. */
#ifndef LOFT_STORAGE_STORE_DEBUG_H
#define LOFT_STORAGE_STORE_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* Durable LMDB write commits made by this store's writers. */
uint64_t store_debug_commit_count(const struct store *store);
/* Commits made without fsync (batches of parse-cache entries only). */
uint64_t store_debug_lazy_commit_count(const struct store *store);
/* Batches run (a batch that changed nothing aborts instead of committing). */
uint64_t store_debug_batch_count(const struct store *store);
/* Write ops run in all batches. */
uint64_t store_debug_op_count(const struct store *store);
/* Spool sync rounds (store_spool_sync: one fdatasync or one syncfs each)
 * and spools made durable by them: their ratio is spools per sync. */
uint64_t store_debug_spool_sync_count(const struct store *store);
uint64_t store_debug_spool_file_count(const struct store *store);
/* mdb_env_open calls made (a reopen after LRU eviction counts again). */
uint64_t store_debug_env_open_count(const struct store *store);
/* User environments open right now (referenced or cached). */
size_t store_debug_open_envs(struct store *store);
bool store_debug_env_is_open(struct store *store, const char *user);
/* Wakes of the notify thread by the <index>/notify file (notify.c): those
 * that were only this process's own bumps (dropped after reading the
 * slots), and those that found another process's commit (re-read). */
uint64_t store_debug_notify_own_wakes(const struct store *store);
uint64_t store_debug_notify_foreign_wakes(const struct store *store);

#endif
