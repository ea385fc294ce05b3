/* EXPUNGE, UID EXPUNGE (RFC 9051 6.4.3, RFC 4315 2.1), CHECK (RFC 3501
 * 6.4.1) and NOOP in the selected state (RFC 9051 6.1.2): the commands
 * whose point is the view update. EXPUNGE removes the \Deleted messages of
 * the session's view (UID EXPUNGE those among the given UIDs) in durable
 * batches, then the update sends one EXPUNGE per removed message — also
 * for messages other sessions expunged — before the tagged OK (VANISHED
 * once QRESYNC is on, and the new HIGHESTMODSEQ in the OK with CONDSTORE).
 * The set is expunged in steps of [imap] inprogress_step messages, one pool
 * job each, with INPROGRESS reports between them (progress.h). */
#include "server/imap/commands.h"

#include <stdio.h>

#include "lib/xmem.h"
#include "server/imap/progress.h"
#include "server/imap/selected.h"
#include "server/services.h"

struct expunge_cmd {
	struct sess_job job;
	struct imap_session *s;
	struct store_uid_set set;
	struct imap_progress prog;   /* steps over set (INPROGRESS) */
	int err;
	bool expunge;                /* EXPUNGE or UID EXPUNGE */
	const char *done_text;
};

static void expunge_cmd_free(void *ctx)
{
	struct expunge_cmd *ec = ctx;
	imap_progress_free(&ec->prog);
	store_uid_set_free(&ec->set);
	free(ec);
}

static void updated(struct imap_session *s, int err, void *arg)
{
	struct expunge_cmd *ec = arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		if (ec->err != 0) {
			imap_sel_reply_error(s, imap_cmd_tag(s), ec->err, false);
		} else if (ec->expunge && imap_session_condstore(s) && s->sel != NULL) {
			/* RFC 7162 3.2.10: the HIGHESTMODSEQ the expunges made */
			char code[48];
			snprintf(code, sizeof(code), "HIGHESTMODSEQ %llu",
				 (unsigned long long)store_view_highestmodseq(s->sel->view));
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", code, ec->done_text);
		} else {
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, ec->done_text);
		}
	}
	imap_cmd_finish(s);
}

static void expunge_work(struct sess_job *job)
{
	struct expunge_cmd *ec = (struct expunge_cmd *)job;
	if (imap_progress_next(&ec->prog))
		ec->err = store_expunge_set(ec->s->sel->mbox, ec->prog.chunk.ranges,
					    ec->prog.chunk.count, true, NULL);
}

static void expunge_done(struct sess_job *job)
{
	struct expunge_cmd *ec = (struct expunge_cmd *)job;
	if (!sess_alive(&ec->s->core)) {
		imap_cmd_finish(ec->s);
		return;
	}
	if (ec->err == 0 && imap_progress_more(&ec->prog)) {
		imap_progress_report(&ec->prog, ec->s, imap_progress_count(&ec->prog),
				     "Expunging.");
		sess_submit(&ec->s->core, ec->s->core.svc->storage_pool, &ec->job);
		return;
	}
	imap_sel_update(ec->s, 0, updated, ec);
}

/* Hold the command; expunge set's \Deleted messages (when set is given),
 * then update and answer text. */
static enum imap_cmd_result run(struct imap_session *s, const char *tag, struct expunge_cmd *ec,
				bool expunge, const char *text)
{
	ec->s = s;
	ec->done_text = text;
	ec->expunge = expunge;
	imap_cmd_hold(s, tag, ec, expunge_cmd_free);
	if (!expunge || ec->set.count == 0) {
		imap_sel_update(s, 0, updated, ec);
		return IMAP_CMD_AGAIN;
	}
	imap_progress_init(&ec->prog, s, &ec->set, store_uid_set_size(&ec->set));
	ec->job.work = expunge_work;
	ec->job.done = expunge_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &ec->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "EXPUNGE takes no arguments.");
		return IMAP_CMD_DONE;
	}
	if (s->sel->read_only) {
		imap_reply_tagged(s, cmd->tag, "NO", NULL, "Mailbox is read-only.");
		return IMAP_CMD_DONE;
	}
	struct expunge_cmd *ec = xcalloc(1, sizeof(*ec));
	store_view_uid_ranges(s->sel->view, 1, store_view_count(s->sel->view), &ec->set);
	return run(s, cmd->tag, ec, true, "EXPUNGE completed.");
}

enum imap_cmd_result imap_uid_expunge_command(struct imap_session *s,
					      const struct imap_command *cmd)
{
	if (cmd->n_args != 1) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "UID EXPUNGE needs a UID set.");
		return IMAP_CMD_DONE;
	}
	struct expunge_cmd *ec = xcalloc(1, sizeof(*ec));
	if (imap_sel_message_set(s, cmd->tag, &cmd->args[0], true, &ec->set) < 0) {
		expunge_cmd_free(ec);
		return IMAP_CMD_DONE;
	}
	if (s->sel->read_only) {
		expunge_cmd_free(ec);
		imap_reply_tagged(s, cmd->tag, "NO", NULL, "Mailbox is read-only.");
		return IMAP_CMD_DONE;
	}
	return run(s, cmd->tag, ec, true, "UID EXPUNGE completed.");
}

enum imap_cmd_result imap_cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "CHECK takes no arguments.");
		return IMAP_CMD_DONE;
	}
	/* every change is durable when it is acknowledged: nothing to flush */
	return run(s, cmd->tag, xcalloc(1, sizeof(struct expunge_cmd)), false, "CHECK completed.");
}

enum imap_cmd_result imap_cmd_noop_selected(struct imap_session *s, const struct imap_command *cmd)
{
	return run(s, cmd->tag, xcalloc(1, sizeof(struct expunge_cmd)), false, "NOOP completed.");
}
