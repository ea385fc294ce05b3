/* Session cores and jobs (see session.h): the in-flight count that keeps a
 * session alive past its connection, the round trip loop -> pool -> loop
 * through the worker's inbox, and delays on the loop's timers. */
#include "server/engine/session.h"

#include <stddef.h>
#include <stdlib.h>

#include <uv.h>

#include "lib/log.h"
#include "lib/xmem.h"

/* A pending sess_delay(): its own memory, freed in the timer's close
 * callback, so the job may be freed by done() before the handle closes. */
struct sess_delay {
	uv_timer_t timer;
	struct sess_core *core;
	struct sess_job *job;
	struct sess_delay *next;
};

void sess_core_init(struct sess_core *core, struct conn *c,
		    void (*destroy)(struct sess_core *core))
{
	core->conn = c;
	core->home = conn_worker(c);
	core->loop = conn_loop(c);
	core->svc = conn_services(c);
	core->jobs = 0;
	core->released = false;
	core->delays = NULL;
	core->destroy = destroy;
}

static void delay_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Unlink d, close its timer and run its job's done(). */
static void delay_end(struct sess_delay *d)
{
	struct sess_core *core = d->core;
	for (struct sess_delay **pp = &core->delays; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, delay_closed);
	d->job->done(d->job); /* may free the job */
}

void sess_core_release(struct sess_core *core)
{
	core->conn = NULL;
	core->released = true;
	/* Pending delays end now; the extra count keeps the core alive
	 * while their done() callbacks run. */
	core->jobs++;
	while (core->delays != NULL) {
		delay_end(core->delays);
		core->jobs--;
	}
	if (--core->jobs == 0)
		core->destroy(core);
}

static void delay_fired(uv_timer_t *t)
{
	struct sess_delay *d = t->data;
	struct sess_core *core = d->core;
	delay_end(d);
	if (--core->jobs == 0 && core->released)
		core->destroy(core);
}

void sess_delay(struct sess_core *core, struct sess_job *job, unsigned ms)
{
	struct sess_delay *d = xcalloc(1, sizeof(*d));
	d->core = core;
	d->job = job;
	job->core = core;
	uv_timer_init(core->loop, &d->timer);
	d->timer.data = d;
	d->next = core->delays;
	core->delays = d;
	core->jobs++;
	uv_timer_start(&d->timer, delay_fired, ms, 0);
}

static void job_back_on_loop(struct net_msg *msg)
{
	struct sess_job *job = (struct sess_job *)((char *)msg - offsetof(struct sess_job, msg));
	struct sess_core *core = job->core;
	struct worker *home = core->home;
	job->done(job); /* may free job */
	if (--core->jobs == 0 && core->released)
		core->destroy(core);
	worker_release(home);
}

static void job_run_on_pool(struct work_item *item)
{
	struct sess_job *job = (struct sess_job *)((char *)item - offsetof(struct sess_job, item));
	job->work(job);
	job->msg.run = job_back_on_loop;
	worker_post(job->core->home, &job->msg);
}

void sess_submit(struct sess_core *core, struct work_pool *pool, struct sess_job *job)
{
	job->core = core;
	job->item.run = job_run_on_pool;
	core->jobs++;
	worker_hold(core->home);
	work_pool_submit(pool, &job->item);
}
