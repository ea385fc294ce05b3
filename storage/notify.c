/* Change notification: the registry of store_watch subscriptions and their
 * delivery, built for 100,000 watchers. Watched (user, mailbox) targets
 * sit in a hash table, so a commit finds the watchers of the mailboxes it
 * changed in O(1) and never looks at another user's. The registry lock
 * only guards the tables and is never held while a watcher runs: each
 * target has its own lock, held while its watchers are called, so a
 * commit to one mailbox waits at most for the sessions of that mailbox,
 * and after store_watch_remove returns its callback is not running and
 * never runs again.
 *
 * In-process commits are announced by the writer right after the commit
 * (notify_publish). Commits of other processes are noticed through an
 * inotify watch on <index>/notify, where each process writing to the index
 * owns a 16-byte slot (notify-slot.c): a wake whose only changed slot is our
 * own is our own bump and costs one small read, no index reads. Files
 * other programs drop into cur/ or new/ of a watched mailbox wake the same
 * thread, which queues a reconcile op whose commit is announced like any
 * other. Each target remembers the last state it announced, so a change is
 * announced once whichever path sees it first. */
#include "storage/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/notify-slot.h"
#include "storage/reconcile.h"
#include "storage/store-debug.h"
#include "storage/store-private.h"
#include "storage/writer.h"

#define COALESCE_MS 5
#define COALESCE_MAX_ROUNDS 10

struct uwatch;

struct target {                 /* one watched (user, mailbox), shared */
	struct target *hnext;       /* registry: by (user, mailbox) */
	struct target *wnext_cur, *wnext_new; /* registry: by cur/ and new/ wd */
	struct target *unext;       /* registry: the user's targets */
	struct target *dnext;       /* registry: the dirty list */
	struct store_user *u;       /* referenced */
	struct uwatch *uw;
	char *mailbox, *dir;
	size_t hash;
	int wd_cur, wd_new;
	unsigned refs;              /* registry: watches + passes using it */
	bool dir_dirty, queued;     /* registry */
	pthread_mutex_t lock;       /* the watches and last */
	struct store_watch *watches;
	struct store_change last;   /* last announced (mailbox/user unused) */
};

struct uwatch {                 /* inotify watch on a user's index/notify */
	struct uwatch *hnext;       /* by user */
	struct uwatch *wnext;       /* by wd */
	struct uwatch *dnext;
	struct store_user *u;
	struct target *targets;
	pthread_mutex_t ulock;      /* the user-wide watches */
	struct store_watch *uwatches; /* store_watch_user_add */
	int wd;
	unsigned refs;
	bool dirty, queued;
	struct notify_slots seen;   /* the slots as last read */
};

struct store_watch {
	struct store_watch *next, *prev;  /* target->lock (uw->ulock) */
	struct store *store;
	struct target *t;             /* NULL for a user-wide watch */
	struct uwatch *uw;            /* a user-wide watch's user */
	store_watch_cb *cb;
	void *ctx;
};

struct table {
	void **b;
	size_t n, mask;
};

struct notify {
	struct store *store;
	pthread_mutex_t lock;       /* the tables, refs and dirty lists */
	struct table targets;       /* struct target by (user, mailbox) */
	struct table uwatches;      /* struct uwatch by user */
	struct table by_wd_cur;     /* struct target by the wd of cur/ */
	struct table by_wd_new;     /* struct target by the wd of new/ */
	struct table by_wd_u;       /* struct uwatch by wd */
	struct target *dirty_t;
	struct uwatch *dirty_u;
	size_t n_watches;
	atomic_size_t n_user_watches;
	atomic_uint_least64_t own_wakes, foreign_wakes;
	int ifd, efd;
	pthread_t thread;
	bool thread_started;
};

/* ---- hash tables (chained; the chain link is named by the caller) ---- */

static void table_init(struct table *t)
{
	t->mask = 63;
	t->b = xcalloc(t->mask + 1, sizeof(*t->b));
	t->n = 0;
}

static size_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

static size_t hash_target(const struct store_user *u, const char *mailbox)
{
	size_t h = hash_ptr(u);
	for (const unsigned char *p = (const unsigned char *)mailbox; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211u;
	return h;
}

/* Chains are linked through the field at offset off of each element;
 * key_of gives the element's hash. */
static void **chain_link(void *elem, size_t off)
{
	return (void **)((char *)elem + off);
}

static void table_grow(struct table *t, size_t off, size_t (*key_of)(void *))
{
	if (t->n < (t->mask + 1) * 2)
		return;
	size_t nmask = t->mask * 2 + 1;
	void **nb = xcalloc(nmask + 1, sizeof(*nb));
	for (size_t i = 0; i <= t->mask; i++) {
		for (void *e = t->b[i], *next; e != NULL; e = next) {
			next = *chain_link(e, off);
			size_t k = key_of(e) & nmask;
			*chain_link(e, off) = nb[k];
			nb[k] = e;
		}
	}
	free(t->b);
	t->b = nb;
	t->mask = nmask;
}

static void table_add(struct table *t, void *elem, size_t hash, size_t off,
		      size_t (*key_of)(void *))
{
	size_t k = hash & t->mask;
	*chain_link(elem, off) = t->b[k];
	t->b[k] = elem;
	t->n++;
	table_grow(t, off, key_of);
}

static void table_del(struct table *t, void *elem, size_t hash, size_t off)
{
	for (void **pp = &t->b[hash & t->mask]; *pp != NULL; pp = chain_link(*pp, off)) {
		if (*pp == elem) {
			*pp = *chain_link(elem, off);
			t->n--;
			return;
		}
	}
}

static size_t key_target(void *e)
{
	return ((struct target *)e)->hash;
}

static size_t key_target_cur(void *e)
{
	return (size_t)((struct target *)e)->wd_cur;
}

static size_t key_target_new(void *e)
{
	return (size_t)((struct target *)e)->wd_new;
}

static size_t key_uwatch(void *e)
{
	return hash_ptr(((struct uwatch *)e)->u);
}

static size_t key_uwatch_wd(void *e)
{
	return (size_t)((struct uwatch *)e)->wd;
}

#define OFF_T_H offsetof(struct target, hnext)
#define OFF_T_CUR offsetof(struct target, wnext_cur)
#define OFF_T_NEW offsetof(struct target, wnext_new)
#define OFF_U_H offsetof(struct uwatch, hnext)
#define OFF_U_WD offsetof(struct uwatch, wnext)

static struct target *find_target(struct notify *n, const struct store_user *u,
				  const char *mailbox, size_t h)
{
	for (struct target *t = n->targets.b[h & n->targets.mask]; t != NULL; t = t->hnext)
		if (t->u == u && t->hash == h && strcmp(t->mailbox, mailbox) == 0)
			return t;
	return NULL;
}

static struct uwatch *find_uwatch(struct notify *n, const struct store_user *u)
{
	for (struct uwatch *uw = n->uwatches.b[hash_ptr(u) & n->uwatches.mask]; uw != NULL;
	     uw = uw->hnext)
		if (uw->u == u)
			return uw;
	return NULL;
}

/* ---- delivery ---- */

static bool same_state(const struct store_change *a, const struct store_change *b)
{
	return a->uidvalidity == b->uidvalidity && a->uidnext == b->uidnext &&
	       a->highestmodseq == b->highestmodseq && a->messages == b->messages;
}

/* Call the watches of t with c, under t's own lock only. A state older
 * than the one announced (two paths racing) is not announced. */
static void dispatch(struct target *t, const struct store_change *c)
{
	pthread_mutex_lock(&t->lock);
	if (!same_state(&t->last, c) &&
	    (c->uidvalidity != t->last.uidvalidity || c->highestmodseq >= t->last.highestmodseq)) {
		t->last = *c;
		struct store_change out = *c;
		out.user = t->u->name;
		out.mailbox = t->mailbox;
		for (struct store_watch *w = t->watches; w != NULL; w = w->next)
			w->cb(&out, w->ctx);
	}
	pthread_mutex_unlock(&t->lock);
}

static void target_free(struct notify *n, struct target *t);

/* Drop a pass's reference (registry lock held). */
static void target_unref(struct notify *n, struct target *t)
{
	if (--t->refs == 0)
		target_free(n, t);
}

/* The user-wide watches of uw (referenced, no registry lock). */
static void dispatch_user(struct uwatch *uw, const struct store_change *changes, size_t n)
{
	pthread_mutex_lock(&uw->ulock);
	for (struct store_watch *w = uw->uwatches; w != NULL; w = w->next) {
		for (size_t i = 0; i < n; i++) {
			struct store_change out = changes[i];
			out.user = uw->u->name;
			w->cb(&out, w->ctx);
		}
	}
	pthread_mutex_unlock(&uw->ulock);
}

static void uwatch_put(struct notify *n, struct uwatch *uw);

void notify_publish(struct store *store, struct store_user *u, const struct store_change *changes,
		    size_t n_changes)
{
	struct notify *n = store->notify;
	if (n == NULL || n_changes == 0)
		return;
	if (atomic_load(&n->n_user_watches) > 0) {
		pthread_mutex_lock(&n->lock);
		struct uwatch *uw = find_uwatch(n, u);
		if (uw != NULL && uw->uwatches != NULL)
			uw->refs++;
		else
			uw = NULL;
		pthread_mutex_unlock(&n->lock);
		if (uw != NULL) {
			dispatch_user(uw, changes, n_changes);
			pthread_mutex_lock(&n->lock);
			uwatch_put(n, uw);
			pthread_mutex_unlock(&n->lock);
		}
	}
	struct target *stack[16], **hit = stack;
	if (n_changes > sizeof(stack) / sizeof(stack[0]))
		hit = xcalloc(n_changes, sizeof(*hit));
	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < n_changes; i++) {
		hit[i] = n->n_watches == 0 ? NULL
			: find_target(n, u, changes[i].mailbox,
				      hash_target(u, changes[i].mailbox));
		if (hit[i] != NULL)
			hit[i]->refs++;
	}
	pthread_mutex_unlock(&n->lock);
	bool any = false;
	for (size_t i = 0; i < n_changes; i++) {
		if (hit[i] != NULL) {
			dispatch(hit[i], &changes[i]);
			any = true;
		}
	}
	if (any) {
		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < n_changes; i++)
			if (hit[i] != NULL)
				target_unref(n, hit[i]);
		pthread_mutex_unlock(&n->lock);
	}
	if (hit != stack)
		free(hit);
}

static int read_state(struct store_user *u, const char *mailbox, struct store_change *c,
		      struct idx_mbox *mb_r)
{
	MDB_txn *txn;
	int err = idx_read_begin(&u->idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	err = idx_mbox_by_name(&u->idx, txn, mailbox, &mb);
	idx_read_end(&u->idx, txn);
	if (err != 0)
		return err;
	memset(c, 0, sizeof(*c));
	c->uidvalidity = mb.uidvalidity;
	c->uidnext = mb.uidnext;
	c->highestmodseq = mb.highestmodseq;
	c->messages = mb.messages;
	if (mb_r != NULL)
		*mb_r = mb;
	return 0;
}

/* ---- watches ---- */

static void target_inotify(struct notify *n, struct target *t)
{
	if (n->ifd < 0)
		return;
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
	char *p = xasprintf("%s/cur", t->dir);
	t->wd_cur = inotify_add_watch(n->ifd, p, mask);
	free(p);
	p = xasprintf("%s/new", t->dir);
	t->wd_new = inotify_add_watch(n->ifd, p, mask);
	free(p);
	if (t->wd_cur >= 0)
		table_add(&n->by_wd_cur, t, (size_t)t->wd_cur, OFF_T_CUR, key_target_cur);
	if (t->wd_new >= 0)
		table_add(&n->by_wd_new, t, (size_t)t->wd_new, OFF_T_NEW, key_target_new);
}

static struct uwatch *uwatch_get(struct notify *n, struct store_user *u)
{
	struct uwatch *uw = find_uwatch(n, u);
	if (uw != NULL) {
		uw->refs++;
		return uw;
	}
	uw = xcalloc(1, sizeof(*uw));
	uw->u = u;
	uw->wd = -1;
	uw->refs = 1;
	pthread_mutex_init(&uw->ulock, NULL);
	store_user_ref(u);
	if (n->ifd >= 0) {
		char *path = xasprintf("%s/notify", u->index_dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		uw->wd = inotify_add_watch(n->ifd, path, IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB);
		if (uw->wd < 0)
			log_warn("notify: inotify_add_watch %s: %s", path, strerror(errno));
		else
			table_add(&n->by_wd_u, uw, (size_t)uw->wd, OFF_U_WD, key_uwatch_wd);
		notify_slots_read(u->index_dir, &uw->seen);
		free(path);
	}
	table_add(&n->uwatches, uw, hash_ptr(u), OFF_U_H, key_uwatch);
	return uw;
}

static void uwatch_put(struct notify *n, struct uwatch *uw)
{
	if (--uw->refs > 0)
		return;
	if (uw->queued) {
		for (struct uwatch **pp = &n->dirty_u; *pp != NULL; pp = &(*pp)->dnext) {
			if (*pp == uw) {
				*pp = uw->dnext;
				break;
			}
		}
	}
	if (uw->wd >= 0) {
		inotify_rm_watch(n->ifd, uw->wd);
		table_del(&n->by_wd_u, uw, (size_t)uw->wd, OFF_U_WD);
	}
	table_del(&n->uwatches, uw, hash_ptr(uw->u), OFF_U_H);
	notify_slots_free(&uw->seen);
	pthread_mutex_destroy(&uw->ulock);
	store_user_unref(uw->u);
	free(uw);
}

int store_watch_add(struct store_user *user, const char *mailbox, store_watch_cb *cb, void *ctx,
		    struct store_watch **watch_r)
{
	*watch_r = NULL;
	struct notify *n = user->store->notify;
	char *canon = store_name_canonical(mailbox);
	if (canon == NULL || cb == NULL) {
		free(canon);
		return STORE_EINVALID;
	}
	struct store_change state;
	int err = read_state(user, canon, &state, NULL);
	if (err != 0) {
		free(canon);
		return err;
	}
	size_t h = hash_target(user, canon);
	pthread_mutex_lock(&n->lock);
	struct target *t = find_target(n, user, canon, h);
	if (t == NULL) {
		t = xcalloc(1, sizeof(*t));
		t->u = user;
		store_user_ref(user);
		t->mailbox = canon;
		canon = NULL;
		t->hash = h;
		t->dir = store_mailbox_path(user, t->mailbox);
		t->wd_cur = t->wd_new = -1;
		t->last = state;
		pthread_mutex_init(&t->lock, NULL);
		target_inotify(n, t);
		t->uw = uwatch_get(n, user);
		t->unext = t->uw->targets;
		t->uw->targets = t;
		table_add(&n->targets, t, h, OFF_T_H, key_target);
	}
	t->refs++;
	n->n_watches++;
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->store = user->store;
	w->t = t;
	w->cb = cb;
	w->ctx = ctx;
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_lock(&t->lock);
	w->next = t->watches;
	if (t->watches != NULL)
		t->watches->prev = w;
	t->watches = w;
	pthread_mutex_unlock(&t->lock);
	free(canon);
	*watch_r = w;
	return 0;
}

int store_watch_user_add(struct store_user *user, store_watch_cb *cb, void *ctx,
			struct store_watch **watch_r)
{
	*watch_r = NULL;
	if (cb == NULL)
		return STORE_EINVALID;
	struct notify *n = user->store->notify;
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->store = user->store;
	w->cb = cb;
	w->ctx = ctx;
	pthread_mutex_lock(&n->lock);
	w->uw = uwatch_get(n, user);
	atomic_fetch_add(&n->n_user_watches, 1);
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_lock(&w->uw->ulock);
	w->next = w->uw->uwatches;
	if (w->next != NULL)
		w->next->prev = w;
	w->uw->uwatches = w;
	pthread_mutex_unlock(&w->uw->ulock);
	*watch_r = w;
	return 0;
}

/* The last reference is gone (registry lock held): unlink and free. */
static void target_free(struct notify *n, struct target *t)
{
	table_del(&n->targets, t, t->hash, OFF_T_H);
	if (t->queued) {
		for (struct target **pp = &n->dirty_t; *pp != NULL; pp = &(*pp)->dnext) {
			if (*pp == t) {
				*pp = t->dnext;
				break;
			}
		}
	}
	if (n->ifd >= 0) {
		if (t->wd_cur >= 0) {
			inotify_rm_watch(n->ifd, t->wd_cur);
			table_del(&n->by_wd_cur, t, (size_t)t->wd_cur, OFF_T_CUR);
		}
		if (t->wd_new >= 0) {
			inotify_rm_watch(n->ifd, t->wd_new);
			table_del(&n->by_wd_new, t, (size_t)t->wd_new, OFF_T_NEW);
		}
	}
	for (struct target **pp = &t->uw->targets; *pp != NULL; pp = &(*pp)->unext) {
		if (*pp == t) {
			*pp = t->unext;
			break;
		}
	}
	uwatch_put(n, t->uw);
	store_user_unref(t->u);
	pthread_mutex_destroy(&t->lock);
	free(t->mailbox);
	free(t->dir);
	free(t);
}

void store_watch_remove(struct store_watch **watch)
{
	struct store_watch *w = *watch;
	if (w == NULL)
		return;
	*watch = NULL;
	struct notify *n = w->store->notify;
	struct target *t = w->t;
	if (t == NULL) {                /* user-wide */
		struct uwatch *uw = w->uw;
		pthread_mutex_lock(&uw->ulock);
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			uw->uwatches = w->next;
		if (w->next != NULL)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&uw->ulock);
		pthread_mutex_lock(&n->lock);
		atomic_fetch_sub(&n->n_user_watches, 1);
		uwatch_put(n, uw);
		pthread_mutex_unlock(&n->lock);
		free(w);
		return;
	}
	/* waits for a dispatch of this target in progress */
	pthread_mutex_lock(&t->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		t->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_lock(&n->lock);
	n->n_watches--;
	target_unref(n, t);
	pthread_mutex_unlock(&n->lock);
	free(w);
}

/* ---- the inotify thread ---- */

struct op_reconcile {
	struct wop op;
	char *mailbox;
};

static int run_reconcile(struct wtxn *w, struct wop *op)
{
	(void)w;
	(void)op;
	return 0;   /* the work is done by the writer's pre-op mailbox check */
}

static void free_reconcile(struct wop *op)
{
	struct op_reconcile *o = (struct op_reconcile *)op;
	free(o->mailbox);
	free(o);
}

static void mark_target(struct notify *n, struct target *t)
{
	t->dir_dirty = true;
	if (!t->queued) {
		t->queued = true;
		t->dnext = n->dirty_t;
		n->dirty_t = t;
	}
}

static void mark_uwatch(struct notify *n, struct uwatch *uw)
{
	uw->dirty = true;
	if (!uw->queued) {
		uw->queued = true;
		uw->dnext = n->dirty_u;
		n->dirty_u = uw;
	}
}

static void mark_wd(struct notify *n, int wd)
{
	size_t k = (size_t)wd;
	for (struct uwatch *uw = n->by_wd_u.b[k & n->by_wd_u.mask]; uw != NULL; uw = uw->wnext)
		if (uw->wd == wd)
			mark_uwatch(n, uw);
	for (struct target *t = n->by_wd_cur.b[k & n->by_wd_cur.mask]; t != NULL; t = t->wnext_cur)
		if (t->wd_cur == wd)
			mark_target(n, t);
	for (struct target *t = n->by_wd_new.b[k & n->by_wd_new.mask]; t != NULL; t = t->wnext_new)
		if (t->wd_new == wd)
			mark_target(n, t);
}

static bool drain(struct notify *n)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	for (;;) {
		ssize_t len = read(n->ifd, buf, sizeof(buf));
		if (len <= 0)
			break;
		any = true;
		pthread_mutex_lock(&n->lock);
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				for (size_t i = 0; i <= n->uwatches.mask; i++)
					for (struct uwatch *uw = n->uwatches.b[i]; uw; uw = uw->hnext)
						mark_uwatch(n, uw);
				for (size_t i = 0; i <= n->targets.mask; i++)
					for (struct target *t = n->targets.b[i]; t; t = t->hnext)
						mark_target(n, t);
			} else {
				mark_wd(n, ev->wd);
			}
			p += sizeof(*ev) + ev->len;
		}
		pthread_mutex_unlock(&n->lock);
	}
	return any;
}

/* Read t's state and announce it; queue a reconcile when its directories
 * changed behind the index. No registry lock held; t is referenced. */
static void check_target(struct target *t, bool dir_dirty)
{
	struct store_change c;
	struct idx_mbox mb;
	if (read_state(t->u, t->mailbox, &c, &mb) != 0)
		return;
	dispatch(t, &c);
	if (!dir_dirty)
		return;
	int64_t cs, ns;
	if (maildir_dir_stamp(t->dir, &cs, &ns) == 0 && cs == mb.cur_stamp && ns == mb.new_stamp &&
	    !reconcile_new_pending(t->dir))
		return;
	/* changed behind the index: reconcile (announced at commit) */
	struct op_reconcile *o = xcalloc(1, sizeof(*o));
	o->mailbox = xstrdup(t->mailbox);
	o->op.mbox[0] = o->mailbox;
	o->op.run = run_reconcile;
	o->op.free_fn = free_reconcile;
	writer_submit_detached(t->u, &o->op);
}

struct pass_item {
	struct target *t;
	bool dir_dirty;
};

/* A commit of another process: user-wide watches hear of it with no
 * mailbox (they re-read what they follow). uws are referenced. */
static void announce_foreign(struct notify *n, struct uwatch **uws, size_t k)
{
	static const struct store_change any = { 0 };
	for (size_t i = 0; i < k; i++)
		dispatch_user(uws[i], &any, 1);
	if (k > 0) {
		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < k; i++)
			uwatch_put(n, uws[i]);
		pthread_mutex_unlock(&n->lock);
	}
}

static void process(struct notify *n)
{
	struct pass_item *items = NULL;
	size_t n_items = 0, cap = 0;
	struct uwatch **uws = NULL;
	size_t n_uws = 0;
	pthread_mutex_lock(&n->lock);
	/* users whose notify file changed: a foreign commit re-reads every
	 * watched mailbox of the user; our own bump is dropped here */
	while (n->dirty_u != NULL) {
		struct uwatch *uw = n->dirty_u;
		n->dirty_u = uw->dnext;
		uw->queued = false;
		uw->dirty = false;
		if (!notify_slots_foreign(uw->u->index_dir, atomic_load(&uw->u->notify_slot),
					  &uw->seen)) {
			atomic_fetch_add(&n->own_wakes, 1);
			continue;
		}
		atomic_fetch_add(&n->foreign_wakes, 1);
		if (uw->uwatches != NULL) {
			uws = xrealloc(uws, (n_uws + 1) * sizeof(*uws));
			uws[n_uws++] = uw;
			uw->refs++;
		}
		for (struct target *t = uw->targets; t != NULL; t = t->unext)
			if (!t->queued) {
				t->queued = true;
				t->dnext = n->dirty_t;
				n->dirty_t = t;
			}
	}
	while (n->dirty_t != NULL) {
		struct target *t = n->dirty_t;
		n->dirty_t = t->dnext;
		t->queued = false;
		if (n_items == cap) {
			cap = cap ? cap * 2 : 16;
			items = xrealloc(items, cap * sizeof(*items));
		}
		items[n_items++] = (struct pass_item){ t, t->dir_dirty };
		t->dir_dirty = false;
		t->refs++;
	}
	pthread_mutex_unlock(&n->lock);
	announce_foreign(n, uws, n_uws);
	free(uws);
	for (size_t i = 0; i < n_items; i++)
		check_target(items[i].t, items[i].dir_dirty);
	if (n_items > 0) {
		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < n_items; i++)
			target_unref(n, items[i].t);
		pthread_mutex_unlock(&n->lock);
	}
	free(items);
}

static void *notify_main(void *arg)
{
	struct notify *n = arg;
	struct pollfd pfd[2] = { { .fd = n->ifd, .events = POLLIN }, { .fd = n->efd, .events = POLLIN } };
	for (;;) {
		int r = poll(pfd, 2, -1);
		if (r < 0 && errno != EINTR) {
			log_error("notify: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* coalesce a burst of events into one pass, but announce at
		 * least every COALESCE_MAX_ROUNDS * COALESCE_MS under a constant
		 * stream of events */
		for (int round = 0; round < COALESCE_MAX_ROUNDS && drain(n); round++) {
			struct timespec ts = { 0, COALESCE_MS * 1000000L };
			nanosleep(&ts, NULL);
		}
		process(n);
	}
	return NULL;
}

int notify_create(struct store *store)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	n->store = store;
	n->ifd = n->efd = -1;
	pthread_mutex_init(&n->lock, NULL);
	table_init(&n->targets);
	table_init(&n->uwatches);
	table_init(&n->by_wd_cur);
	table_init(&n->by_wd_new);
	table_init(&n->by_wd_u);
	store->notify = n;
	if (!store->set.watch_external)
		return 0;
	n->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	n->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->ifd < 0 || n->efd < 0) {
		log_error("notify: inotify/eventfd: %s", strerror(errno));
		return STORE_EIO;
	}
	int r = pthread_create(&n->thread, NULL, notify_main, n);
	if (r != 0) {
		log_error("notify: pthread_create: %s", strerror(r));
		return STORE_EIO;
	}
	n->thread_started = true;
	return 0;
}

void notify_stop(struct store *store)
{
	struct notify *n = store->notify;
	if (n == NULL || !n->thread_started)
		return;
	uint64_t one = 1;
	if (write(n->efd, &one, sizeof(one)) < 0)
		log_warn("notify: eventfd write: %s", strerror(errno));
	pthread_join(n->thread, NULL);
	n->thread_started = false;
}

void notify_destroy(struct store *store)
{
	struct notify *n = store->notify;
	if (n == NULL)
		return;
	notify_stop(store);
	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i <= n->targets.mask; i++) {
		while (n->targets.b[i] != NULL) {
			struct target *t = n->targets.b[i];
			struct store_watch *w = t->watches;
			if (w == NULL) {          /* no watch left: a pass's ref */
				target_free(n, t);
				continue;
			}
			log_warn("notify: watch on user=%s mailbox=%s not removed before store_destroy",
				 t->u->name, t->mailbox);
			t->watches = w->next;
			if (t->watches != NULL)
				t->watches->prev = NULL;
			n->n_watches--;
			free(w);
			target_unref(n, t);
		}
	}
	/* user-wide watches left: drop them (each holds a ref of its user's
	 * uwatch, the last drop frees it) */
	struct uwatch **left = NULL;
	size_t n_left = 0;
	for (size_t i = 0; i <= n->uwatches.mask; i++)
		for (struct uwatch *uw = n->uwatches.b[i]; uw != NULL; uw = uw->hnext)
			if (uw->uwatches != NULL) {
				left = xrealloc(left, (n_left + 1) * sizeof(*left));
				left[n_left++] = uw;
			}
	for (size_t i = 0; i < n_left; i++) {
		struct uwatch *uw = left[i];
		size_t k = 0;
		while (uw->uwatches != NULL) {
			struct store_watch *w = uw->uwatches;
			log_warn("notify: user watch of user=%s not removed before store_destroy",
				 uw->u->name);
			uw->uwatches = w->next;
			free(w);
			k++;
		}
		while (k-- > 0)
			uwatch_put(n, uw);
	}
	free(left);
	pthread_mutex_unlock(&n->lock);
	if (n->ifd >= 0)
		close(n->ifd);
	if (n->efd >= 0)
		close(n->efd);
	free(n->targets.b);
	free(n->uwatches.b);
	free(n->by_wd_cur.b);
	free(n->by_wd_new.b);
	free(n->by_wd_u.b);
	pthread_mutex_destroy(&n->lock);
	free(n);
	store->notify = NULL;
}

uint64_t store_debug_notify_own_wakes(const struct store *store)
{
	return store->notify != NULL ? atomic_load(&store->notify->own_wakes) : 0;
}

uint64_t store_debug_notify_foreign_wakes(const struct store *store)
{
	return store->notify != NULL ? atomic_load(&store->notify->foreign_wakes) : 0;
}
