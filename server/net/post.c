/* Worker inboxes, work-in-flight holds and connection handles (see post.h).
 * The inbox is a mutex-guarded singly linked list per worker, swapped out
 * whole by the loop; the slot table maps a handle's slot number to the
 * connection and is touched only on the loop thread, so resolving a handle
 * needs no lock at all. */
#include "server/net/post.h"

#include <stdlib.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/net/loop.h"
#include "server/net/post-private.h"
#include "server/net/worker.h"

/* Handle layout: worker index + 1 (12 bits) | generation (20) | slot (32). */
#define HANDLE_GEN_BITS 20u
#define HANDLE_GEN_MASK ((1u << HANDLE_GEN_BITS) - 1)

void worker_post_init(struct worker_post *p)
{
	pthread_mutex_init(&p->inbox_lock, NULL);
}

void worker_post_free(struct worker_post *p)
{
	pthread_mutex_destroy(&p->inbox_lock);
	x_free(&p->slots);
	x_free(&p->slot_gen);
	x_free(&p->slot_free);
	p->n_slots = p->n_free = 0;
}

void worker_post(struct worker *wk, struct net_msg *msg)
{
	struct worker_post *w = worker_post_state(wk);
	msg->next = NULL;
	pthread_mutex_lock(&w->inbox_lock);
	if (w->inbox_closed) {
		pthread_mutex_unlock(&w->inbox_lock);
		msg->run(msg);
		return;
	}
	bool was_empty = w->inbox_head == NULL;
	if (w->inbox_tail != NULL)
		w->inbox_tail->next = msg;
	else
		w->inbox_head = msg;
	w->inbox_tail = msg;
	pthread_mutex_unlock(&w->inbox_lock);
	/* A non-empty inbox already has a wake-up on its way. */
	if (was_empty)
		uv_async_send(worker_async(wk));
}

void worker_run_inbox(struct worker *wk)
{
	struct worker_post *w = worker_post_state(wk);
	for (;;) {
		pthread_mutex_lock(&w->inbox_lock);
		struct net_msg *m = w->inbox_head;
		w->inbox_head = w->inbox_tail = NULL;
		pthread_mutex_unlock(&w->inbox_lock);
		if (m == NULL)
			return;
		while (m != NULL) {
			struct net_msg *next = m->next;
			m->run(m);
			m = next;
		}
	}
}

void worker_post_close(struct worker *wk)
{
	struct worker_post *w = worker_post_state(wk);
	pthread_mutex_lock(&w->inbox_lock);
	w->inbox_closed = true;
	pthread_mutex_unlock(&w->inbox_lock);
	worker_run_inbox(wk);
}

void worker_hold(struct worker *wk)
{
	worker_post_state(wk)->holds++;
}

bool worker_holds(struct worker *wk)
{
	return worker_post_state(wk)->holds > 0;
}

void worker_release(struct worker *wk)
{
	struct worker_post *w = worker_post_state(wk);
	if (w->holds == 0) {
		log_error("worker=%d: worker_release without a hold", worker_index(wk));
		return;
	}
	if (--w->holds == 0 && worker_stopping(wk))
		worker_maybe_finish(wk);
}

/* ---- connection slots ---- */

uint32_t worker_slot_acquire(struct worker *wk, struct conn *c)
{
	struct worker_post *w = worker_post_state(wk);
	uint32_t slot;
	if (w->n_free > 0) {
		slot = w->slot_free[--w->n_free];
	} else {
		if ((w->n_slots & (w->n_slots - 1)) == 0) {
			size_t cap = w->n_slots ? (size_t)w->n_slots * 2 : 64;
			w->slots = xrealloc(w->slots, cap * sizeof(*w->slots));
			w->slot_gen = xrealloc(w->slot_gen, cap * sizeof(*w->slot_gen));
			w->slot_free = xrealloc(w->slot_free, cap * sizeof(*w->slot_free));
		}
		slot = w->n_slots++;
		w->slot_gen[slot] = 0;
	}
	w->slot_gen[slot] = (w->slot_gen[slot] + 1) & HANDLE_GEN_MASK;
	if (w->slot_gen[slot] == 0)
		w->slot_gen[slot] = 1;
	w->slots[slot] = c;
	return slot;
}

void worker_slot_release(struct worker *wk, uint32_t slot)
{
	struct worker_post *w = worker_post_state(wk);
	w->slots[slot] = NULL;
	w->slot_free[w->n_free++] = slot;
}

uint64_t worker_slot_handle(struct worker *wk, uint32_t slot)
{
	const struct worker_post *w = worker_post_state(wk);
	return ((uint64_t)(worker_index(wk) + 1) << 52) | ((uint64_t)w->slot_gen[slot] << 32) |
	       slot;
}

static struct conn *resolve(struct worker_post *w, uint64_t handle)
{
	uint32_t slot = (uint32_t)handle;
	uint32_t gen = (uint32_t)(handle >> 32) & HANDLE_GEN_MASK;
	if (slot >= w->n_slots || w->slot_gen[slot] != gen)
		return NULL;
	return w->slots[slot];
}

static void conn_msg_run(struct net_msg *base)
{
	struct conn_msg *msg = (struct conn_msg *)base;
	unsigned index = (unsigned)(msg->handle >> 52) - 1;
	struct worker_post *w = worker_post_state(net_server_worker(msg->srv, index));
	struct conn *c = NULL;
	if (!w->inbox_closed)
		c = resolve(w, msg->handle);
	msg->deliver(msg, c);
}

void conn_post(struct net_server *srv, uint64_t handle, struct conn_msg *msg)
{
	unsigned index = (unsigned)(handle >> 52);
	if (index == 0 || index > net_server_n_workers(srv)) {
		msg->deliver(msg, NULL);
		return;
	}
	msg->handle = handle;
	msg->srv = srv;
	msg->base.run = conn_msg_run;
	worker_post(net_server_worker(srv, index - 1), &msg->base);
}
