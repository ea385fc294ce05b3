/* Session cores and jobs (see session.h): the in-flight count that keeps a
 * session alive past its connection, and the round trip loop -> pool ->
 * loop through the worker's inbox. */
#include "server/engine/session.h"

#include <stddef.h>

#include "lib/log.h"

void sess_core_init(struct sess_core *core, struct conn *c,
		    void (*destroy)(struct sess_core *core))
{
	core->conn = c;
	core->home = conn_worker(c);
	core->svc = conn_services(c);
	core->jobs = 0;
	core->released = false;
	core->destroy = destroy;
}

void sess_core_release(struct sess_core *core)
{
	core->conn = NULL;
	core->released = true;
	if (core->jobs == 0)
		core->destroy(core);
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
