/* Search programs run for IMAP commands (see search-run.h): one pool job
 * per slice ([imap] inprogress_step messages), resubmitted until the view
 * was searched, with INPROGRESS reports between slices (progress.h). */
#include "server/imap/search-run.h"

#include "lib/xmem.h"
#include "server/imap/outbuf.h"
#include "server/imap/progress.h"
#include "server/imap/search-context.h"
#include "server/imap/selected.h"
#include "server/imap/uidonly.h"
#include "server/services.h"

struct search_job {
	struct sess_job job;
	struct imap_session *s;
	struct store_search *prog;
	struct store_search_run *run;
	struct store_uid_set result;
	int err;
	bool finished;
	imap_search_done_fn *done;
	void *arg;
	unsigned slice_msgs;          /* [imap] inprogress_step */
	struct imap_progress progress; /* INPROGRESS between slices */
};

static void job_work(struct sess_job *job)
{
	struct search_job *j = (struct search_job *)job;
	struct imap_selected *sel = j->s->sel;
	if (j->run == NULL)
		j->err = store_search_run_new(sel->mbox, sel->view, j->prog, &j->run);
	if (j->err != 0)
		return;
	int r = store_search_run_step(j->run, j->slice_msgs, IMAP_SEARCH_SLICE_BYTES, &j->result);
	if (r < 0)
		j->err = r;
	else if (r == 1)
		j->finished = true;
}

static void job_end(struct search_job *j, int err)
{
	struct imap_session *s = j->s;
	imap_search_done_fn *done = j->done;
	void *arg = j->arg;
	struct store_uid_set result = j->result;
	struct store_search_modseqs modseqs = { 0 };
	if (j->run != NULL)
		store_search_run_modseqs(j->run, &modseqs);
	store_search_run_free(&j->run);
	imap_progress_free(&j->progress);
	free(j);
	done(s, err, &result, &modseqs, arg);
	store_uid_set_free(&result);
}

static void job_done(struct sess_job *job)
{
	struct search_job *j = (struct search_job *)job;
	if (!sess_alive(&j->s->core)) {
		job_end(j, IMAP_SEL_GONE);
		return;
	}
	if (j->err != 0 || j->finished) {
		job_end(j, j->err);
		return;
	}
	imap_progress_report(&j->progress, j->s, store_search_run_reached(j->run), "Searching.");
	sess_submit(&j->s->core, j->s->core.svc->storage_pool, &j->job);
}

void imap_search_start(struct imap_session *s, struct store_search *prog,
		       imap_search_done_fn *done, void *arg)
{
	struct search_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->prog = prog;
	j->done = done;
	j->arg = arg;
	j->slice_msgs = imap_progress_step(s);
	imap_progress_init(&j->progress, s, NULL, store_view_count(s->sel->view));
	j->job.work = job_work;
	j->job.done = job_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
}

void imap_search_answer(struct imap_session *s, int upd_err, int err, const char *ok_text)
{
	if (upd_err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		if (err != 0)
			imap_sel_reply_error(s, imap_cmd_tag(s), err, false);
		else
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, ok_text);
	}
	imap_cmd_finish(s);
}

bool imap_search_succeeded(struct imap_session *s, int err, unsigned ret, bool by_uid,
			   int *err_r, imap_sel_done_fn *finished, void *arg)
{
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return false;
	}
	if (err == 0)
		return true;
	if (ret & IMAP_SRET_SAVE)
		store_uid_set_free(&s->sel->searchres);
	*err_r = err;
	imap_sel_update(s, by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, finished, arg);
	return false;
}

void imap_search_keep(struct imap_session *s, bool by_uid, struct store_search **prog,
		      struct store_uid_set *result, struct store_sort **sort,
		      struct imap_outbuf *out)
{
	const char *tag = imap_cmd_tag(s);
	if (s->sel->n_contexts >= conn_config(s->conn)->max_search_contexts) {
		imap_outbuf_printf(out, "* NO [NOUPDATE \"%s\"] Too many updating searches.\r\n",
				   tag);
		return;
	}
	struct store_uid_set copy = { 0 };
	for (size_t i = 0; result != NULL && i < result->count; i++)
		store_uid_set_push_range(&copy, result->ranges[i].lo, result->ranges[i].hi);
	imap_search_context_add(s->sel, tag, by_uid, *prog, result != NULL ? &copy : NULL,
				sort != NULL ? *sort : NULL);
	*prog = NULL;
	if (sort != NULL)
		*sort = NULL;
}

void imap_search_env(const struct imap_session *s, struct imap_search_env *env)
{
	const struct loft_config *cfg = conn_config(s->conn);
	env->view = s->sel != NULL ? s->sel->view : NULL;
	env->saved = s->sel != NULL ? &s->sel->searchres : NULL;
	env->utf8_accept = (s->enabled & IMAP_ENABLED_UTF8_ACCEPT) != 0;
	env->rev2 = (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0 ||
		    (s->sel != NULL && s->sel->rev2);
	env->recent_ok = s->sel != NULL && !s->sel->rev2;
	env->max_depth = cfg->max_search_depth ? cfg->max_search_depth : 256;
	env->caps_off = s->caps_off;
	env->uids_only = false;
	env->no_seqs = imap_session_uidonly(s);
}

void imap_search_reply_error(struct imap_session *s, const char *tag,
			     const struct imap_search_parse *p)
{
	imap_reply_tagged(s, tag, p->no ? "NO" : "BAD", p->code,
			  p->why != NULL ? p->why : "Invalid search criteria.");
}
