/* Objects other modules keep per worker loop (the spam client's pool of
 * kept-alive rspamd connections): one slot per kind, read and set on the
 * worker's own thread. When the worker begins to stop it calls stop(ptr) on
 * its loop, so the object closes the handles it keeps open (the loop can
 * then end); free(ptr) runs after the loop has ended, when the worker is
 * freed. Objects are created lazily by their module on first use. */
#ifndef LOFT_NET_WORKER_EXT_H
#define LOFT_NET_WORKER_EXT_H

struct worker;

enum worker_ext_id {
	WORKER_EXT_SPAM,         /* server/spam: struct spam_pool */
	WORKER_EXT_MAX,
};

struct worker_ext_ops {
	void (*stop)(void *ptr);   /* on the loop, at the start of shutdown */
	void (*free)(void *ptr);   /* after the loop ended */
};

/* Loop thread of w. NULL until set. */
void *worker_ext_get(struct worker *w, enum worker_ext_id id);
/* Loop thread of w; the slot must be empty. ops must be static. */
void worker_ext_set(struct worker *w, enum worker_ext_id id, void *ptr,
		    const struct worker_ext_ops *ops);
/* Whether w is stopping (a module may then decline to start new work). */
int worker_ext_stopping(struct worker *w);

#endif
