/* The session engine: what every protocol session uses to hand blocking work
 * to a pool and get the result back on its own loop, or to wait on a timer.
 *
 * A protocol session embeds a struct sess_core. Work goes out as a struct
 * sess_job: work() runs on a pool thread, done() runs afterwards on the
 * session's loop thread. The session's memory stays alive while any job is
 * in flight, even when the client disconnects meanwhile: the connection's
 * session_free() calls sess_core_release(), which frees the session at once
 * or, with work in flight, after the last done() returned. A done() that
 * finds sess_alive() false only cleans up. While work is in flight the
 * session's worker keeps running at shutdown (worker_hold).
 *
 * Threads: every function here is for the session's loop thread; only a
 * job's work() runs elsewhere, and it must not touch the session or the
 * connection (only the job's own fields). */
#ifndef LOFT_ENGINE_SESSION_H
#define LOFT_ENGINE_SESSION_H

#include <stdbool.h>

#include "server/engine/pool.h"
#include "server/net/conn.h"
#include "server/net/post.h"

struct loft_services;
struct sess_delay;

struct sess_core {
	struct conn *conn;                 /* NULL once the connection is gone */
	struct worker *home;               /* the loop this session lives on */
	struct uv_loop_s *loop;            /* home's loop (for timers) */
	const struct loft_services *svc;   /* store, auth, pools */
	unsigned jobs;                     /* in flight (delays included) */
	bool released;                     /* the connection let go of it */
	struct sess_delay *delays;         /* pending sess_delay() timers */
	/* Frees the protocol session that embeds this core. */
	void (*destroy)(struct sess_core *core);
};

struct sess_job {
	struct work_item item;             /* internal */
	struct net_msg msg;                /* internal */
	struct sess_core *core;            /* set by sess_submit */
	/* On a pool thread: the blocking part. Touch only the job. */
	void (*work)(struct sess_job *job);
	/* On the session's loop, after work(). May free the job. When
	 * !sess_alive(job->core) the connection is gone: clean up only. */
	void (*done)(struct sess_job *job);
};

void sess_core_init(struct sess_core *core, struct conn *c,
		    void (*destroy)(struct sess_core *core));
/* From the protocol's session_free(): the connection is going away. Frees
 * the session now (destroy) or when its last job has returned. */
void sess_core_release(struct sess_core *core);
static inline bool sess_alive(const struct sess_core *core)
{
	return core->conn != NULL;
}

/* Run job->work on pool, then job->done on this loop. job stays owned by
 * the caller (free it in done or after). */
void sess_submit(struct sess_core *core, struct work_pool *pool, struct sess_job *job);

/* Run job->done on this loop after ms milliseconds (0: on the next loop
 * turn, never inside this call); job->work is not used. A wait that blocks
 * nothing, e.g. the delay before a failed login is answered. It counts as
 * work in flight, so the session stays alive; when the connection goes away
 * meanwhile, done() runs at once from sess_core_release() with
 * sess_alive() false, so a pending delay never holds up a closing
 * connection or a stopping worker. */
void sess_delay(struct sess_core *core, struct sess_job *job, unsigned ms);

#endif
