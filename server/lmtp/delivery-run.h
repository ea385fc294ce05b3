/* Private to delivery.c and delivery-sieve.c: one run of delivery_run()
 * as the two files share it: each recipient's slot (its user, its Sieve
 * plan, its own copy of the message when its header differs) and the
 * targets it stores into (one append each, all committed in the same
 * group commit). Not for use outside these two files. */
#ifndef LOFT_LMTP_DELIVERY_RUN_H
#define LOFT_LMTP_DELIVERY_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/lmtp/delivery.h"
#include "server/sieve/sieve.h"

/* The appends in flight: the run waits until left is 0. */
struct run_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t left;
};

struct run_slot;

/* One mailbox a recipient's copy goes to. */
struct run_target {
	struct run_slot *slot;
	char *mailbox;               /* heap: as the plan (or recipient) names it */
	bool keep;                   /* the keep: the recipient's fallback rules */
	bool create;                 /* fileinto :create (RFC 5490) */
	bool merged;                 /* same mailbox as an earlier target */
	const char **keywords;       /* base's and the action's (borrowed strings) */
	size_t n_keywords;
	struct store_append *app;
	struct store_append_meta meta;
	const char *stored_in;       /* the mailbox it went to (mailbox or INBOX) */
	int result;
	uint32_t uid;
};

struct run_slot {
	struct run_wait *wait;
	struct delivery_rcpt *rcpt;
	struct store_user *user;
	int dup_of;                  /* index of the recipient it repeats, or -1 */
	/* Sieve */
	struct sieve_plan *plan;     /* NULL: no script ran */
	struct sieve_delivery sd;    /* what the plan was made for */
	char *address;               /* the user's address (sd.user_address) */
	/* This recipient's own copy (its prefix lines, or editheader's
	 * header, in front of the spooled body): linked into each of its
	 * mailboxes instead of the shared spool. */
	struct store_spool *own;
	int own_fd;
	void *own_cache;
	size_t own_cache_len;
	struct msg_info *own_info;
	struct run_target *targets;
	size_t n_targets;
};

/* The message as every slot shares it. */
struct run_ctx {
	struct delivery_msg *m;
	const struct store_append_meta *base;   /* never NULL */
	int fd;                      /* the spool read back (Sieve), or -1 */
};

/* Add a target of slot (mailbox copied; keywords: base's, then kw). */
struct run_target *run_target_add(struct run_ctx *c, struct run_slot *slot, const char *mailbox,
				  uint32_t flags, char *const *kw, size_t n_kw);

/* delivery-sieve.c: when the recipient has an active script, run it on
 * the message and turn its plan into targets (slot->plan set); else
 * nothing. Returns 0 or the store error that fails the recipient. */
int dsieve_plan(struct run_ctx *c, struct run_slot *slot);
/* After every commit returned: decide how the rejects are answered
 * (m->refuse), then finish and free each slot's plan (redirects, the
 * vacation reply, notices, marks) and its own copy. */
void dsieve_finish(struct run_ctx *c, struct run_slot *slots, size_t n);

#endif
