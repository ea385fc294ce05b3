/* Internal state shared by the storage implementation files (never included
 * outside storage/ except by storage unit tests): the store, the shared
 * per-user environment object, mailbox views, and small path helpers.
 *
 * Locking order (outer to inner): notify.c's registry lock, then store->lock
 * (user table, LRU), then store->wlock (writer ready queue), then a user's
 * done_lock or its idx read-pool lock. A notify target's (or user-wide
 * watch list's) lock is taken with no other store lock held, and only the
 * watchers' callbacks run under it. */
#ifndef LOFT_STORAGE_STORE_PRIVATE_H
#define LOFT_STORAGE_STORE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "storage/index.h"
#include "storage/store.h"

struct wop;
struct notify;
struct spool_sync_req;
struct writer_hooks;

struct store {
	struct store_settings set;   /* mail_dir is a private copy */
	char *mail_dir;

	/* user environments: hash table + LRU of unreferenced ones */
	pthread_mutex_t lock;
	struct store_user **users;
	size_t n_buckets, n_users;
	struct store_user *lru_head, *lru_tail;
	size_t n_lru;

	/* writers */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct store_user *ready_head, *ready_tail;
	bool stopping;
	pthread_t *writers;
	unsigned n_writers;
	const struct writer_hooks *hooks;

	struct notify *notify;

	/* spool files (store-spool.c): the directory, and the round of the
	 * grouped sync (STORE_SPOOL_SYNC_GROUP) */
	char *spool_dir;             /* <mail_dir>/.loft-spool */
	int spool_dir_fd;            /* for syncfs; -1 until the first spool */
	pthread_mutex_t spool_lock;
	pthread_cond_t spool_cond;
	struct spool_sync_req *spool_waiting;
	bool spool_syncing;
	atomic_uint_least64_t spool_syncs;   /* sync rounds (debug counters) */
	atomic_uint_least64_t spool_files;   /* spools made durable */

	atomic_uint_least64_t commits;   /* debug counters (store-debug.h) */
	atomic_uint_least64_t lazy_commits;
	atomic_uint_least64_t batches;
	atomic_uint_least64_t ops;
	atomic_uint_least64_t env_opens;
};

/* One user's opened store: shared by every store_user_open of that user in
 * this process (a store_user handle IS this object, reference counted). */
struct store_user {
	struct store *store;
	char *name;
	char *dir;                   /* <mail_dir>/<user> */
	char *index_dir;             /* <dir>/index */
	struct idx idx;

	/* store->lock */
	unsigned refs;
	struct store_user *hnext;
	struct store_user *lru_prev, *lru_next;
	bool in_lru;

	/* store->wlock: pending write ops and the scheduling state */
	struct wop *q_head, *q_tail;
	bool scheduled;
	struct store_user *ready_next;

	/* store_user_reconcile_all succeeded since this environment was
	 * opened (store_user_attach reconciles only when it did not) */
	atomic_bool reconciled;

	/* completion of ops */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;

	/* \Recent claims of this process (store-recent.c) */
	pthread_mutex_t recent_lock;
	struct store_recent_mark *recent_marks;
	size_t n_recent_marks;
	bool recent_dirty;

	/* The last session view of each mailbox, as UID runs (store-seqview.c):
	 * a new view starts from it and syncs forward, so opening costs the
	 * runs and the changes since, not the mailbox size. */
	pthread_mutex_t vcache_lock;
	struct store_vcache *vcache;

	/* CRLF offset indexes of recently read messages (store-reader.c) */
	pthread_mutex_t crlf_lock;
	struct store_crlf_index *crlf_cache;

	/* cross-process change counter file <index_dir>/notify (writer only) */
	int notify_fd;
	uint64_t notify_seq;
	/* our slot of it (notify-slot.h), -1 before the first bump; read by
	 * the inotify thread */
	atomic_int notify_slot;
};

/* A mailbox view. */
struct store_mailbox {
	struct store_user *user;
	char *name;                  /* canonical */
	char *dir;                   /* absolute mailbox directory */
	uint32_t id;
	uint32_t uidvalidity;
	bool read_only;
	uint32_t *recent;            /* claimed \Recent UIDs, sorted */
	size_t n_recent, recent_cap;
	uint64_t recent_modseq;      /* expunges up to here already pruned */
};

/* qsort/bsearch that accept (NULL, 0): the libc ones must not get NULL. */
static inline void store_qsort(void *base, size_t n, size_t size,
			       int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static inline void *store_bsearch(const void *key, const void *base, size_t n, size_t size,
				  int (*cmp)(const void *, const void *))
{
	return n > 0 ? bsearch(key, base, n, size, cmp) : NULL;
}

/* Absolute directory of a mailbox (heap); NULL if the name is invalid. */
char *store_mailbox_path(const struct store_user *user, const char *name);
/* Canonical name or NULL (STORE_EINVALID). */
char *store_name_canonical(const char *name);
/* Path of a message file in <mbox_dir>/cur from its record (heap). */
char *store_msg_path(const char *mbox_dir, const struct idx_msg *m);
/* Format a record's canonical Maildir file name into buf. */
int store_msg_filename(const struct idx_msg *m, char *buf, size_t size);

/* Inside a writer op (store-update.c): expunge uid from mbox as EXPUNGE
 * does (tombstone, file retired); STORE_ENOTFOUND when there is no such
 * message. REPLACE's second half (store-append.c). */
struct wtxn;
int store_expunge_in_op(struct wtxn *w, struct store_mailbox *mbox, uint32_t uid);

/* Drop the view cache of a user (envcache.c, when it closes). */
void store_vcache_free(struct store_user *u);

/* User references (envcache.c). */
void store_user_ref(struct store_user *u);
void store_user_unref(struct store_user *u);
/* Open (or find) a user's environment without reconciling (maintenance). */
int store_user_get(struct store *store, const char *user, struct store_user **u_r);
/* Close a cached unreferenced environment; STORE_EINUSE if in use. */
int store_user_evict(struct store *store, const char *user);
/* Close every environment (store_destroy, after the writers stopped). */
void store_envcache_free_all(struct store *store);

/* Reconcile every mailbox of a user whose directory changed behind our back,
 * and adopt/drop mailbox directories created/removed by other programs. */
int store_user_reconcile_all(struct store_user *u);
/* Reconcile one mailbox if its cur/new stamps differ from the index (a write
 * op through the writer queue, skipped when nothing changed). */
int store_mailbox_sync(struct store_user *u, const char *canonical_name);

/* A view follows its mailbox across a rename (same id and UIDVALIDITY):
 * update its name and directory from the record. The view's owner is the
 * only user of the view, and blocked while a writer op runs for it. */
struct idx_mbox;
void store_view_follow(struct store_mailbox *mbox, const struct idx_mbox *mb);
/* Recent claiming for a read-write view (store-view.c). */
int store_view_claim_recent(struct store_mailbox *mbox);
/* Fill a public message struct from a record; keyword names through the
 * per-read cache kc (NULL: left NULL). store-view.c. */
struct kwcache {
	char **names;
	size_t n;
};
void store_fill_msg(struct store_msg *out, const struct idx_msg *m, struct kwcache *kc,
		    struct idx *idx, MDB_txn *txn);
void store_kwcache_free(struct kwcache *kc);
/* The MAILBOXID of a user's mailbox of this UIDVALIDITY (store.h,
 * struct store_status). store-view.c. */
void store_mailboxid(const char *user, uint32_t uidvalidity, char id_r[STORE_ID_LEN + 2]);
/* Drop the reader's cached CRLF indexes of a user (store-reader.c). */
void store_reader_cache_free(struct store_user *u);

#endif
