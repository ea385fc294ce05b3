/* The write queue of the store (internal to storage/): every mutation is an op
 * submitted to its user's queue; writer threads run all ops waiting for one
 * user in one LMDB write transaction (group commit), each op in a nested
 * transaction, and wake the submitters only after the durable commit. The
 * batch context (struct wtxn) gives ops the helpers for the file side: undo
 * log, directories to fsync before the commit, mailboxes touched. */
#ifndef LOFT_STORAGE_WRITER_H
#define LOFT_STORAGE_WRITER_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/index.h"

struct store;
struct store_user;
struct wtxn;

struct wop {
	struct wop *next;
	/* Canonical names of mailboxes to reconcile (if changed on disk) before
	 * the op runs; NULL entries are ignored. */
	const char *mbox[2];
	/* Runs inside the op's nested transaction w->txn. Returns 0 or a
	 * store_error; on error the nested transaction is aborted and the op's
	 * undo log replayed. */
	int (*run)(struct wtxn *w, struct wop *op);
	/* Detached ops (nobody waits) are released with this after completion
	 * (after the batch's commit, on the writer thread, op->result set): an
	 * async API's completion callback. */
	void (*free_fn)(struct wop *op);
	int result;
	bool done;
	bool detached;
	/* The op's writes need no durability of their own (parse cache):
	 * a batch of only such ops commits without fsync; the next durable
	 * commit of the user makes them durable. */
	bool nosync;
};

enum wundo_kind { WUNDO_RENAME, WUNDO_UNLINK, WUNDO_REMOVE_DIR };
struct wundo {
	enum wundo_kind kind;
	char *a, *b;            /* rename: undo moves b back to a */
};

struct wtouch {
	uint32_t id;
	char *dir;              /* mailbox directory (stamp refresh) */
	bool files;             /* files in cur/new changed: refresh stamps */
};

struct wtxn {
	struct store_user *u;
	struct idx *idx;
	MDB_txn *parent;
	MDB_txn *txn;           /* the running op's nested transaction */
	bool changed;           /* something was written: commit needed */

	char **fsync_dirs;
	size_t n_fsync, cap_fsync;
	bool fsync_ordered;     /* some fsync must precede the commit */
	struct wundo *undo;
	size_t n_undo, cap_undo;
	struct wtouch *touched;
	size_t n_touched, cap_touched;
	char **checked;         /* mailboxes reconciled in this batch */
	size_t n_checked, cap_checked;
	char **after_commit_rm; /* directories removed after a successful commit */
	size_t n_rm, cap_rm;
};

/* What the writer calls outside itself, given by store_create so that the
 * writer includes neither reconcile nor notify: check_mailbox reconciles a
 * mailbox an op names when another program changed it (inside w->txn, a
 * nested txn of its own); published announces the changes of a durable
 * commit (after the waiters were woken). */
struct store_change;
struct writer_hooks {
	int (*check_mailbox)(struct wtxn *w, const char *name);
	void (*published)(struct store *store, struct store_user *u,
			  const struct store_change *changes, size_t n);
};

/* Start/stop the writer threads of a store. writer_stop drains every queue. */
int writer_start(struct store *store, unsigned n_threads, const struct writer_hooks *hooks);
void writer_stop(struct store *store);

/* Submit an op and wait for its result (op usually lives on the caller's
 * stack). Returns op->result. */
int writer_run(struct store_user *u, struct wop *op);
/* Submit without waiting; op->free_fn releases it. Takes a user reference
 * for the op's lifetime. Returns 0 or STORE_EIO when the store is stopping
 * (op->free_fn already ran with op->result = STORE_EIO). */
int writer_submit_detached(struct store_user *u, struct wop *op);

/* ---- helpers for ops (writer thread only) ---- */
/* Directory to fsync before the commit (deduplicated). */
void wtxn_fsync_dir(struct wtxn *w, const char *dir);
/* Directory that only gained names (appended messages) and so may be
 * fsynced while the commit runs, not before it: see writer.c, step 3. */
void wtxn_fsync_dir_added(struct wtxn *w, const char *dir);
/* Record that `to` was created by renaming `from`: undo renames it back. */
void wtxn_undo_rename(struct wtxn *w, const char *from, const char *to);
/* Record that `path` was created: undo unlinks it. */
void wtxn_undo_unlink(struct wtxn *w, const char *path);
/* Record that directory `dir` was created: undo removes it recursively. */
void wtxn_undo_mkdir(struct wtxn *w, const char *dir);
/* Remove a file, or a mailbox directory tree, after a successful commit. */
void wtxn_rm_after_commit(struct wtxn *w, const char *dir);
/* The mailbox changed: announce it after the commit; with files, also
 * refresh its cur/new stamps in the index before the commit. */
void wtxn_touch(struct wtxn *w, uint32_t mbox_id, const char *dir, bool files);

#endif
