/* Worker-side state of posting (post.c), embedded in each struct worker
 * (loop.c), and the calls the worker loop and the connections make on it.
 * Internal to server/net/. */
#ifndef LOFT_NET_POST_PRIVATE_H
#define LOFT_NET_POST_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "server/net/post.h"

struct worker_post {
	pthread_mutex_t inbox_lock;
	struct net_msg *inbox_head, *inbox_tail;
	bool inbox_closed;         /* the loop is gone: run posts at once */
	unsigned holds;            /* worker_hold() minus worker_release() */
	struct conn **slots;       /* connection of each handle slot */
	uint32_t *slot_gen;
	uint32_t *slot_free;       /* stack of free slot numbers */
	uint32_t n_slots, n_free;
};

/* ---- what loop.c gives post.c ---- */
struct worker_post *worker_post_state(struct worker *w);
int worker_index(const struct worker *w);
uv_async_t *worker_async(struct worker *w);
/* Let a stopping worker finish once nothing holds it. */
void worker_maybe_finish(struct worker *w);
/* The worker with this index (post.c resolves handles with it). */
struct worker *net_server_worker(struct net_server *srv, unsigned index);
unsigned net_server_n_workers(const struct net_server *srv);
void *worker_services(struct worker *w);

/* ---- what post.c gives loop.c and conn.c ---- */
void worker_post_init(struct worker_post *p);
void worker_post_free(struct worker_post *p);
/* Run every posted message (from the loop's async callback). */
void worker_run_inbox(struct worker *w);
/* The loop is finishing: later posts run at once on the posting thread. */
void worker_post_close(struct worker *w);
bool worker_holds(struct worker *w);
uint32_t worker_slot_acquire(struct worker *w, struct conn *c);
void worker_slot_release(struct worker *w, uint32_t slot);
uint64_t worker_slot_handle(struct worker *w, uint32_t slot);

#endif
