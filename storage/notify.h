/* Change notification (internal to storage/): the registry of store_watch
 * subscriptions, in-process delivery after each commit (called by the
 * writer), and the optional inotify thread that notices commits of other
 * processes (through <index>/notify) and files dropped into cur/ or new/ by
 * other programs (queued as reconcile ops). */
#ifndef LOFT_STORAGE_NOTIFY_H
#define LOFT_STORAGE_NOTIFY_H

#include <stddef.h>

#include "storage/store.h"

struct store_user;

/* Create the registry (and the inotify thread when watch_external). */
int notify_create(struct store *store);
/* Stop the inotify thread (no new reconcile ops); publishing still works. */
void notify_stop(struct store *store);
/* After the writers stopped: drop every remaining watch (logged: a leak)
 * and free the registry. */
void notify_destroy(struct store *store);
/* Deliver committed changes of user u to the matching watches. */
void notify_publish(struct store *store, struct store_user *u, const struct store_change *changes,
		    size_t n);

#endif
