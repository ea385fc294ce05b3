/* Change notification: the registry of store_watch subscriptions and their
 * delivery. In-process commits are announced by the writer right after the
 * commit (notify_publish). Commits of other processes are noticed through an
 * inotify watch on <index>/notify, which every writer rewrites after a
 * commit; files other programs drop into cur/ or new/ of a watched mailbox
 * wake the same thread, which queues a reconcile op whose commit is then
 * announced like any other. Each watched (user, mailbox) remembers the last
 * state it announced, so a change is announced once whichever path sees it
 * first. Callbacks run under the registry lock: after store_watch_remove
 * returns, the callback is not running and never runs again. */
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
#include "storage/reconcile.h"
#include "storage/store-private.h"
#include "storage/writer.h"

#define COALESCE_MS 5
#define COALESCE_MAX_ROUNDS 10

struct target {                 /* one watched (user, mailbox), shared */
	struct target *next;
	struct store_user *u;       /* referenced */
	char *mailbox, *dir;
	int wd_cur, wd_new;
	unsigned refs;
	bool dir_dirty;
	struct store_change last;   /* last announced (mailbox/user unused) */
};

struct uwatch {                 /* inotify watch on a user's index/notify */
	struct uwatch *next;
	struct store_user *u;
	int wd;
	unsigned refs;
	bool dirty;
};

struct store_watch {
	struct store_watch *next;
	struct store *store;
	struct target *t;
	store_watch_cb *cb;
	void *ctx;
};

struct notify {
	struct store *store;
	pthread_mutex_t lock;
	struct store_watch *watches;
	struct target *targets;
	struct uwatch *uwatches;
	int ifd, efd;
	pthread_t thread;
	bool thread_started;
};

static bool same_state(const struct store_change *a, const struct store_change *b)
{
	return a->uidvalidity == b->uidvalidity && a->uidnext == b->uidnext &&
	       a->highestmodseq == b->highestmodseq && a->messages == b->messages;
}

/* Call the watches of target t with change c (lock held). */
static void dispatch(struct notify *n, struct target *t, const struct store_change *c)
{
	if (same_state(&t->last, c))
		return;
	t->last = *c;
	struct store_change out = *c;
	out.user = t->u->name;
	out.mailbox = t->mailbox;
	for (struct store_watch *w = n->watches; w != NULL; w = w->next) {
		if (w->t == t)
			w->cb(&out, w->ctx);
	}
}

void notify_publish(struct store *store, struct store_user *u, const struct store_change *changes,
		    size_t n_changes)
{
	struct notify *n = store->notify;
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	for (struct target *t = n->targets; t != NULL; t = t->next) {
		if (t->u != u)
			continue;
		for (size_t i = 0; i < n_changes; i++) {
			if (strcmp(changes[i].mailbox, t->mailbox) == 0)
				dispatch(n, t, &changes[i]);
		}
	}
	pthread_mutex_unlock(&n->lock);
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
	for (struct uwatch *uw = n->uwatches; uw != NULL; uw = uw->next) {
		if (uw->u == t->u) {
			uw->refs++;
			return;
		}
	}
	char *path = xasprintf("%s/notify", t->u->index_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	int wd = inotify_add_watch(n->ifd, path, IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB);
	if (wd < 0)
		log_warn("notify: inotify_add_watch %s: %s", path, strerror(errno));
	free(path);
	struct uwatch *uw = xcalloc(1, sizeof(*uw));
	uw->u = t->u;
	uw->wd = wd;
	uw->refs = 1;
	uw->next = n->uwatches;
	n->uwatches = uw;
}

static void target_uninotify(struct notify *n, struct target *t)
{
	if (n->ifd < 0)
		return;
	if (t->wd_cur >= 0)
		inotify_rm_watch(n->ifd, t->wd_cur);
	if (t->wd_new >= 0)
		inotify_rm_watch(n->ifd, t->wd_new);
	for (struct uwatch **pp = &n->uwatches; *pp != NULL; pp = &(*pp)->next) {
		struct uwatch *uw = *pp;
		if (uw->u != t->u)
			continue;
		if (--uw->refs == 0) {
			if (uw->wd >= 0)
				inotify_rm_watch(n->ifd, uw->wd);
			*pp = uw->next;
			free(uw);
		}
		return;
	}
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
	pthread_mutex_lock(&n->lock);
	struct target *t = n->targets;
	while (t != NULL && !(t->u == user && strcmp(t->mailbox, canon) == 0))
		t = t->next;
	if (t == NULL) {
		t = xcalloc(1, sizeof(*t));
		t->u = user;
		store_user_ref(user);
		t->mailbox = canon;
		canon = NULL;
		t->dir = store_mailbox_path(user, t->mailbox);
		t->wd_cur = t->wd_new = -1;
		t->last = state;
		target_inotify(n, t);
		t->next = n->targets;
		n->targets = t;
	}
	t->refs++;
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->store = user->store;
	w->t = t;
	w->cb = cb;
	w->ctx = ctx;
	w->next = n->watches;
	n->watches = w;
	pthread_mutex_unlock(&n->lock);
	free(canon);
	*watch_r = w;
	return 0;
}

static void target_release(struct notify *n, struct target *t)
{
	if (--t->refs > 0)
		return;
	for (struct target **pp = &n->targets; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	target_uninotify(n, t);
	store_user_unref(t->u);
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
	pthread_mutex_lock(&n->lock);
	for (struct store_watch **pp = &n->watches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	target_release(n, w->t);
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

static void mark_wd(struct notify *n, int wd)
{
	for (struct uwatch *uw = n->uwatches; uw != NULL; uw = uw->next) {
		if (uw->wd == wd)
			uw->dirty = true;
	}
	for (struct target *t = n->targets; t != NULL; t = t->next) {
		if (t->wd_cur == wd || t->wd_new == wd)
			t->dir_dirty = true;
	}
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
				for (struct uwatch *uw = n->uwatches; uw; uw = uw->next)
					uw->dirty = true;
				for (struct target *t = n->targets; t; t = t->next)
					t->dir_dirty = true;
			} else {
				mark_wd(n, ev->wd);
			}
			p += sizeof(*ev) + ev->len;
		}
		pthread_mutex_unlock(&n->lock);
	}
	return any;
}

static void process(struct notify *n)
{
	pthread_mutex_lock(&n->lock);
	for (struct target *t = n->targets; t != NULL; t = t->next) {
		bool user_dirty = false;
		for (struct uwatch *uw = n->uwatches; uw != NULL; uw = uw->next) {
			if (uw->u == t->u && uw->dirty)
				user_dirty = true;
		}
		if (!user_dirty && !t->dir_dirty)
			continue;
		struct store_change c;
		struct idx_mbox mb;
		if (read_state(t->u, t->mailbox, &c, &mb) != 0)
			continue;
		dispatch(n, t, &c);
		if (!t->dir_dirty)
			continue;
		t->dir_dirty = false;
		int64_t cs, ns;
		if (maildir_dir_stamp(t->dir, &cs, &ns) == 0 && cs == mb.cur_stamp &&
		    ns == mb.new_stamp && !reconcile_new_pending(t->dir))
			continue;
		/* changed behind the index: reconcile (announced at commit) */
		struct op_reconcile *o = xcalloc(1, sizeof(*o));
		o->mailbox = xstrdup(t->mailbox);
		o->op.mbox[0] = o->mailbox;
		o->op.run = run_reconcile;
		o->op.free_fn = free_reconcile;
		writer_submit_detached(t->u, &o->op);
	}
	for (struct uwatch *uw = n->uwatches; uw != NULL; uw = uw->next)
		uw->dirty = false;
	pthread_mutex_unlock(&n->lock);
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
	while (n->watches != NULL) {
		struct store_watch *w = n->watches;
		n->watches = w->next;
		log_warn("notify: watch on user=%s mailbox=%s not removed before store_destroy",
			 w->t->u->name, w->t->mailbox);
		target_release(n, w->t);
		free(w);
	}
	pthread_mutex_unlock(&n->lock);
	if (n->ifd >= 0)
		close(n->ifd);
	if (n->efd >= 0)
		close(n->efd);
	pthread_mutex_destroy(&n->lock);
	free(n);
	store->notify = NULL;
}
