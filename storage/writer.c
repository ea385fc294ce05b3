/* Writer threads and group commit. Ops for one user queue up while a batch of
 * that user runs; the next batch takes them all and runs them in one LMDB
 * write transaction, so N concurrent appends cost far fewer than N fsyncs.
 *
 * Order of a batch, and why it is crash-safe:
 *  1. begin the write txn; before an op, every mailbox it names is checked
 *     against its cur/new stamps and reconciled (in its own nested txn) when
 *     another program changed it.
 *  2. each op runs in a nested txn: LMDB changes first, then the file
 *     operation (append: rename tmp/ -> cur/<base>,U=uid..; flags: rename to
 *     the new :2, info; expunge: unlink). A failing op aborts its nested txn
 *     and replays its undo log, leaving the other ops of the batch intact.
 *  3. every directory an append/expunge/copy renamed into or unlinked from is
 *     fsynced once per batch. Flag-only renames are not fsynced: the index is
 *     authoritative for flags, reconcile renames a stale file back. A batch
 *     whose directories only gained names (appends: wtxn_fsync_dir_added)
 *     fsyncs them on a helper thread while 5 runs, and wakes its callers
 *     only when both are done: the new name and the commit that gives it a
 *     UID may then reach the disk in either order, and a crash that keeps
 *     only one of them leaves what a crash between 3 and 5 leaves anyway
 *     (an index record without its file: expunged; a file the index does
 *     not know: adopted), for an append nobody was told of. Batches that
 *     also remove or rename names keep the order 3 then 5.
 *  4. the new cur/new stamps of touched mailboxes are written, so our own
 *     renames are not mistaken for external changes.
 *  5. commit (durable, LMDB default sync). Only now are callers woken.
 *     A batch whose ops are all marked nosync (parse-cache entries) commits
 *     without fsync instead; the next durable commit of the user flushes
 *     it. \Recent claims made in memory (store-recent.c) are written with
 *     whichever commit comes next, never in one of their own.
 * A crash before 5 leaves files the index does not know (adopted by reconcile
 * with a fresh UID if their U= is taken, so no acknowledged message is ever
 * replaced), flag names that differ from the index (renamed back), or index
 * records without a file (expunged with a tombstone). A failed commit replays
 * the whole batch's undo log.
 *
 * Two choices differ from a plain "unlink before commit": an expunged file
 * is renamed into tmp/ before the commit and unlinked after it, and a
 * deleted mailbox directory is renamed to loft-trash-<id>-<uidvalidity> and
 * removed after the commit. Both renames are undone if the commit fails, so
 * a failed batch (disk full, MAP_FULL at commit) loses nothing; after a
 * crash the leftovers are outside cur/ and the user directory's mailbox
 * namespace, so reconcile never resurrects them (tmp/ files are removed
 * after 36 h, trash directories on the next user open after an hour).
 *
 * An op that fails because the map is full, while another process on the
 * user keeps a larger map (idx_map_adopt), runs once more in a batch of its
 * own after the map has grown. */
#include "storage/writer.h"
#include "storage/notify-slot.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"
#include "storage/store-recent.h"
#include "lib/thread-role.h"

#define PRUNE_PER_BATCH 1000

/* ---- wtxn helpers ---- */

#define GROW(arr, n, cap) do { if ((n) == (cap)) { (cap) = (cap) ? (cap) * 2 : 8; \
	(arr) = xrealloc((arr), (cap) * sizeof(*(arr))); } } while (0)

static void fsync_dir_add(struct wtxn *w, const char *dir)
{
	for (size_t i = 0; i < w->n_fsync; i++) {
		if (strcmp(w->fsync_dirs[i], dir) == 0)
			return;
	}
	GROW(w->fsync_dirs, w->n_fsync, w->cap_fsync);
	w->fsync_dirs[w->n_fsync++] = xstrdup(dir);
}

void wtxn_fsync_dir(struct wtxn *w, const char *dir)
{
	w->fsync_ordered = true;
	fsync_dir_add(w, dir);
}

void wtxn_fsync_dir_added(struct wtxn *w, const char *dir)
{
	fsync_dir_add(w, dir);
}

/* The directory fsyncs of a batch, on a thread of their own while the
 * commit runs (a batch that only added names). */
struct dir_syncs {
	pthread_t thread;
	char **dirs;
	size_t n;
	int err;
};

static int fsync_dirs(char **dirs, size_t n)
{
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		int r = maildir_fsync_dir(dirs[i]);
		if (r != 0 && r != -ENOENT) {
			log_error("writer: fsync %s: %s", dirs[i], strerror(-r));
			err = STORE_EIO;
		}
	}
	return err;
}

static void *dir_syncs_run(void *arg)
{
	struct dir_syncs *d = arg;
	d->err = fsync_dirs(d->dirs, d->n);
	return NULL;
}

static void add_undo(struct wtxn *w, enum wundo_kind kind, const char *a, const char *b)
{
	GROW(w->undo, w->n_undo, w->cap_undo);
	w->undo[w->n_undo++] = (struct wundo){ kind, xstrdup(a), b ? xstrdup(b) : NULL };
}

void wtxn_undo_rename(struct wtxn *w, const char *from, const char *to)
{
	add_undo(w, WUNDO_RENAME, from, to);
}

void wtxn_undo_unlink(struct wtxn *w, const char *path)
{
	add_undo(w, WUNDO_UNLINK, path, NULL);
}

void wtxn_undo_mkdir(struct wtxn *w, const char *dir)
{
	add_undo(w, WUNDO_REMOVE_DIR, dir, NULL);
}

void wtxn_rm_after_commit(struct wtxn *w, const char *dir)
{
	GROW(w->after_commit_rm, w->n_rm, w->cap_rm);
	w->after_commit_rm[w->n_rm++] = xstrdup(dir);
}

void wtxn_touch(struct wtxn *w, uint32_t mbox_id, const char *dir, bool files)
{
	w->changed = true;
	for (size_t i = 0; i < w->n_touched; i++) {
		if (w->touched[i].id == mbox_id) {
			w->touched[i].files |= files;
			if (dir != NULL && strcmp(w->touched[i].dir, dir) != 0) {
				free(w->touched[i].dir);
				w->touched[i].dir = xstrdup(dir);
			}
			return;
		}
	}
	GROW(w->touched, w->n_touched, w->cap_touched);
	w->touched[w->n_touched++] = (struct wtouch){ mbox_id, xstrdup(dir ? dir : ""), files };
}

/* Replay undo entries [from, n_undo) in reverse and drop them. */
static void undo_replay(struct wtxn *w, size_t from)
{
	while (w->n_undo > from) {
		struct wundo *un = &w->undo[--w->n_undo];
		int r = 0;
		switch (un->kind) {
		case WUNDO_RENAME:
			r = rename(un->b, un->a) == 0 ? 0 : -errno;
			break;
		case WUNDO_UNLINK:
			r = unlink(un->a) == 0 ? 0 : -errno;
			break;
		case WUNDO_REMOVE_DIR:
			r = maildir_remove(un->a);
			break;
		}
		if (r != 0 && r != -ENOENT)
			log_warn("writer: undo of %s failed: %s", un->a, strerror(-r));
		free(un->a);
		free(un->b);
	}
}

static void undo_forget(struct wtxn *w)
{
	for (size_t i = 0; i < w->n_undo; i++) {
		free(w->undo[i].a);
		free(w->undo[i].b);
	}
	w->n_undo = 0;
}

static void wtxn_free(struct wtxn *w)
{
	undo_forget(w);
	free(w->undo);
	for (size_t i = 0; i < w->n_fsync; i++)
		free(w->fsync_dirs[i]);
	free(w->fsync_dirs);
	for (size_t i = 0; i < w->n_touched; i++)
		free(w->touched[i].dir);
	free(w->touched);
	for (size_t i = 0; i < w->n_checked; i++)
		free(w->checked[i]);
	free(w->checked);
	for (size_t i = 0; i < w->n_rm; i++)
		free(w->after_commit_rm[i]);
	free(w->after_commit_rm);
}

/* Reconcile a mailbox once per batch, in its own nested txn. */
static void check_mailbox(struct wtxn *w, const char *name)
{
	for (size_t i = 0; i < w->n_checked; i++) {
		if (strcmp(w->checked[i], name) == 0)
			return;
	}
	GROW(w->checked, w->n_checked, w->cap_checked);
	w->checked[w->n_checked++] = xstrdup(name);
	MDB_txn *child;
	int rc = mdb_txn_begin(w->idx->env, w->parent, 0, &child);
	if (rc != 0) {
		idx_err(rc, "begin nested (reconcile)");
		return;
	}
	w->txn = child;
	size_t undo_mark = w->n_undo;
	bool changed = w->changed;
	int err = w->u->store->hooks->check_mailbox(w, name);
	if (err == 0)
		err = idx_err(mdb_txn_commit(child), "commit nested (reconcile)");
	else
		mdb_txn_abort(child);
	if (err != 0) {
		undo_replay(w, undo_mark);
		w->changed = changed;
		log_warn("writer: reconcile of user=%s mailbox=%s failed: %s", w->u->name, name,
			 store_strerror(err));
	}
	w->txn = NULL;
}

static void bump_notify_file(struct store_user *u)
{
	if (u->notify_fd < 0) {
		char *path = xasprintf("%s/notify", u->index_dir);
		u->notify_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (u->notify_fd < 0)
			log_warn("writer: open %s: %s", path, strerror(errno));
		free(path);
		if (u->notify_fd < 0)
			return;
		atomic_store(&u->notify_slot, notify_slot_claim(u->notify_fd));
	}
	int err = notify_slot_write(u->notify_fd, atomic_load(&u->notify_slot), ++u->notify_seq);
	if (err != 0)
		log_warn("writer: notify file of user=%s: %s", u->name, strerror(-err));
}

/* Expunge tombstones beyond the retention settings, a bounded number per
 * batch, as part of the batch's own commit. */
static int prune_tombstones(struct wtxn *w, uint32_t mbox_id)
{
	const struct store_settings *set = &w->u->store->set;
	struct idx_prune p = { .max_count = set->tombstone_max_count,
			       .max_age = (int64_t)set->tombstone_max_age,
			       .now = (int64_t)time(NULL), .limit = PRUNE_PER_BATCH };
	size_t n = 0;
	int err = idx_tomb_prune(w->idx, w->parent, mbox_id, &p, &n);
	if (err == 0 && n > 0)
		log_debug("writer: user=%s pruned %zu tombstones of mailbox id %u", w->u->name, n,
			  mbox_id);
	return err;
}

/* Stamps and change records of touched mailboxes, inside the parent txn. */
static int finish_touched(struct wtxn *w, struct store_change **changes_r, size_t *n_r)
{
	struct store_change *ch = xcalloc(w->n_touched, sizeof(*ch));
	size_t n = 0;
	int err = 0;
	for (size_t i = 0; i < w->n_touched && err == 0; i++) {
		struct idx_mbox mb;
		err = idx_mbox_get(w->idx, w->parent, w->touched[i].id, &mb);
		if (err == STORE_ENOTFOUND) {   /* deleted in this batch */
			/* announced without a name: user-wide watches (NOTIFY
			 * MailboxName) re-read the list; no mailbox watch matches */
			err = 0;
			memset(&ch[n], 0, sizeof(ch[n]));
			ch[n].user = w->u->name;
			ch[n++].mailbox = xstrdup("");
			continue;
		}
		if (err != 0)
			break;
		err = prune_tombstones(w, mb.id);
		if (err != 0)
			break;
		if (w->touched[i].files && w->touched[i].dir[0] != '\0') {
			int64_t cs, ns;
			if (maildir_dir_stamp(w->touched[i].dir, &cs, &ns) == 0 &&
			    (cs != mb.cur_stamp || ns != mb.new_stamp)) {
				mb.cur_stamp = cs;
				mb.new_stamp = ns;
				err = idx_mbox_put(w->idx, w->parent, &mb, false);
			}
		}
		ch[n].user = w->u->name;
		ch[n].mailbox = xstrdup(mb.name);
		ch[n].uidvalidity = mb.uidvalidity;
		ch[n].uidnext = mb.uidnext;
		ch[n].highestmodseq = mb.highestmodseq;
		ch[n].messages = mb.messages;
		n++;
	}
	*changes_r = ch;
	*n_r = n;
	return err;
}

static void free_changes(struct store_change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)ch[i].mailbox);
	free(ch);
}

static void run_batch(struct store_user *u, struct wop *ops, bool retry);

/* Ops that met a full map are taken out of *ops and run again once the map
 * has grown to another process's size; the others stay for the caller. */
static void retry_map_full(struct store_user *u, struct wop **ops, bool *map_full)
{
	struct wop *again = NULL, **tail = &again, **pp = ops;
	size_t i = 0;
	bool any = false;
	for (struct wop *op = *ops; op != NULL; op = op->next)
		any |= map_full[i++];
	if (!any || !idx_map_adopt(&u->idx))
		return;
	i = 0;
	while (*pp != NULL) {
		struct wop *op = *pp;
		if (map_full[i++]) {
			*pp = op->next;
			op->next = NULL;
			*tail = op;
			tail = &op->next;
		} else {
			pp = &op->next;
		}
	}
	run_batch(u, again, true);
}

static void run_batch(struct store_user *u, struct wop *ops, bool retry)
{
	struct store *s = u->store;
	struct wtxn w = { .u = u, .idx = &u->idx };
	size_t n_ops = 0;
	bool durable = false;
	for (struct wop *op = ops; op != NULL; op = op->next) {
		n_ops++;
		durable |= !op->nosync;
	}
	bool *map_full = xcalloc(n_ops ? n_ops : 1, sizeof(*map_full));
	(void)idx_map_full_seen();
	int fatal = idx_write_begin(&u->idx, &w.parent);
	bool locked = fatal == 0;
	if (fatal != 0)
		w.parent = NULL;
	size_t k = 0;

	for (struct wop *op = ops; op != NULL; op = op->next, k++) {
		if (fatal != 0) {
			op->result = fatal;
			continue;
		}
		for (int i = 0; i < 2; i++) {
			if (op->mbox[i] != NULL)
				check_mailbox(&w, op->mbox[i]);
		}
		MDB_txn *child;
		int rc = mdb_txn_begin(u->idx.env, w.parent, 0, &child);
		if (rc != 0) {
			op->result = idx_err(rc, "begin nested");
			continue;
		}
		w.txn = child;
		size_t undo_mark = w.n_undo, rm_mark = w.n_rm;
		bool changed = w.changed;
		int err = op->run(&w, op);
		if (err == 0)
			err = idx_err(mdb_txn_commit(child), "commit nested");
		else
			mdb_txn_abort(child);
		if (err != 0) {
			undo_replay(&w, undo_mark);
			while (w.n_rm > rm_mark)
				free(w.after_commit_rm[--w.n_rm]);
			w.changed = changed;
		}
		w.txn = NULL;
		op->result = err;
		map_full[k] = idx_map_full_seen() && err != 0;
	}

	struct store_change *changes = NULL;
	size_t n_changes = 0;
	if (fatal == 0 && w.changed) {
		int err = 0;
		struct dir_syncs ds = { .dirs = w.fsync_dirs, .n = w.n_fsync };
		bool overlap = w.n_fsync > 0 && !w.fsync_ordered &&
			       pthread_create(&ds.thread, NULL, dir_syncs_run, &ds) == 0;
		if (!overlap)
			err = fsync_dirs(w.fsync_dirs, w.n_fsync);
		if (err == 0)
			err = finish_touched(&w, &changes, &n_changes);
		if (err == 0)
			store_recent_flush(u, w.parent);
		if (err == 0) {
			if (!durable)
				mdb_env_set_flags(u->idx.env, MDB_NOSYNC, 1);
			idx_map_record(&u->idx, w.parent);
			err = idx_err(mdb_txn_commit(w.parent), "commit");
			if (!durable)
				mdb_env_set_flags(u->idx.env, MDB_NOSYNC, 0);
			w.parent = NULL;
			if (err == 0)
				atomic_fetch_add(durable ? &s->commits : &s->lazy_commits, 1);
		}
		if (overlap) {
			pthread_join(ds.thread, NULL);
			/* The commit stands, but the names may not: callers hear
			 * of it and retry (a duplicate at worst, never a loss). */
			if (ds.err != 0 && err == 0) {
				for (struct wop *op = ops; op != NULL; op = op->next)
					if (op->result == 0)
						op->result = ds.err;
			}
		}
		if (err != 0) {
			if (w.parent != NULL)
				mdb_txn_abort(w.parent);
			undo_replay(&w, 0);
			bool full = idx_map_full_seen();
			k = 0;
			for (struct wop *op = ops; op != NULL; op = op->next, k++) {
				if (op->result == 0) {
					op->result = err;
					map_full[k] = full;
				}
			}
			free_changes(changes, n_changes);
			changes = NULL;
			n_changes = 0;
		} else {
			undo_forget(&w);
			for (size_t i = 0; i < w.n_rm; i++) {
				int r = unlink(w.after_commit_rm[i]) == 0 ? 0 : -errno;
				if (r == -EISDIR || r == -EPERM)
					r = maildir_remove(w.after_commit_rm[i]);
				if (r != 0 && r != -ENOENT)
					log_warn("writer: remove %s: %s", w.after_commit_rm[i], strerror(-r));
			}
		}
	} else if (w.parent != NULL) {
		mdb_txn_abort(w.parent);
	}
	if (locked)
		idx_write_end(&u->idx);
	atomic_fetch_add(&s->batches, 1);
	atomic_fetch_add(&s->ops, n_ops);
	if (!retry)
		retry_map_full(u, &ops, map_full);
	free(map_full);

	/* Wake the waiters; a waiter may free its op as soon as done is set. */
	struct wop *detached = NULL;
	pthread_mutex_lock(&u->done_lock);
	for (struct wop *op = ops, *next; op != NULL; op = next) {
		next = op->next;
		if (op->detached) {
			op->next = detached;
			detached = op;
		} else {
			op->done = true;
		}
	}
	pthread_cond_broadcast(&u->done_cond);
	pthread_mutex_unlock(&u->done_lock);

	if (n_changes > 0) {
		bump_notify_file(u);
		s->hooks->published(s, u, changes, n_changes);
	}
	free_changes(changes, n_changes);
	wtxn_free(&w);
	for (struct wop *op = detached, *next; op != NULL; op = next) {
		next = op->next;
		op->free_fn(op);
		store_user_unref(u);
	}
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->wlock);
	for (;;) {
		while (s->ready_head == NULL && !s->stopping)
			pthread_cond_wait(&s->wcond, &s->wlock);
		if (s->ready_head == NULL)
			break;
		struct store_user *u = s->ready_head;
		s->ready_head = u->ready_next;
		if (s->ready_head == NULL)
			s->ready_tail = NULL;
		u->ready_next = NULL;
		struct wop *ops = u->q_head;
		u->q_head = u->q_tail = NULL;
		pthread_mutex_unlock(&s->wlock);

		/* u stays alive while scheduled: eviction skips busy users */
		run_batch(u, ops, false);

		pthread_mutex_lock(&s->wlock);
		if (u->q_head != NULL) {
			if (s->ready_tail != NULL)
				s->ready_tail->ready_next = u;
			else
				s->ready_head = u;
			s->ready_tail = u;
			pthread_cond_signal(&s->wcond);
		} else {
			u->scheduled = false;
		}
	}
	pthread_mutex_unlock(&s->wlock);
	return NULL;
}

int writer_start(struct store *s, unsigned n_threads, const struct writer_hooks *hooks)
{
	s->hooks = hooks;
	s->writers = xcalloc(n_threads, sizeof(*s->writers));
	for (unsigned i = 0; i < n_threads; i++) {
		int r = pthread_create(&s->writers[i], NULL, writer_main, s);
		if (r != 0) {
			log_error("writer: pthread_create: %s", strerror(r));
			writer_stop(s);
			return STORE_EIO;
		}
		s->n_writers++;
	}
	return 0;
}

void writer_stop(struct store *s)
{
	pthread_mutex_lock(&s->wlock);
	s->stopping = true;
	pthread_cond_broadcast(&s->wcond);
	pthread_mutex_unlock(&s->wlock);
	for (unsigned i = 0; i < s->n_writers; i++)
		pthread_join(s->writers[i], NULL);
	s->n_writers = 0;
	x_free(&s->writers);
}

static bool enqueue(struct store_user *u, struct wop *op)
{
	struct store *s = u->store;
	op->next = NULL;
	op->done = false;
	op->result = 0;
	pthread_mutex_lock(&s->wlock);
	if (s->stopping || s->n_writers == 0) {
		pthread_mutex_unlock(&s->wlock);
		return false;
	}
	if (u->q_tail != NULL)
		u->q_tail->next = op;
	else
		u->q_head = op;
	u->q_tail = op;
	if (!u->scheduled) {
		u->scheduled = true;
		if (s->ready_tail != NULL)
			s->ready_tail->ready_next = u;
		else
			s->ready_head = u;
		s->ready_tail = u;
		pthread_cond_signal(&s->wcond);
	}
	pthread_mutex_unlock(&s->wlock);
	return true;
}

int writer_run(struct store_user *u, struct wop *op)
{
	thread_assert_may_block("store write (writer_run)");
	op->detached = false;
	if (!enqueue(u, op))
		return STORE_EIO;
	pthread_mutex_lock(&u->done_lock);
	while (!op->done)
		pthread_cond_wait(&u->done_cond, &u->done_lock);
	pthread_mutex_unlock(&u->done_lock);
	return op->result;
}

int writer_submit_detached(struct store_user *u, struct wop *op)
{
	op->detached = true;
	store_user_ref(u);
	if (!enqueue(u, op)) {
		op->result = STORE_EIO;
		op->free_fn(op);
		store_user_unref(u);
		return STORE_EIO;
	}
	return 0;
}
