/* COPY, MOVE and their UID forms (RFC 9051 6.4.7, 6.4.8, RFC 6851, RFC
 * 4315): store_copy_set on the storage pool in steps of [imap]
 * inprogress_step messages (one pool job each, INPROGRESS reports between
 * them; the store commits durable batches of write_batch_messages within
 * a step), answered with [COPYUID uidvalidity src dst].
 * MOVE sends its COPYUID in an untagged OK, then the EXPUNGEs of the moved
 * messages through the view update. A missing destination is [TRYCREATE].
 *
 * A MOVE that fails after some batches were committed (I/O error, quota of
 * a later batch) leaves those batches moved: their EXPUNGEs are still sent
 * before the tagged NO, and the messages not moved stay in the source (see
 * storage/store.h and docs/PROTOCOLS.md). A failed COPY removes the copies
 * it made (the store those of the failed step, undo_copies those of the
 * steps before).
 *
 * With [spam] learn, a copy or move into the \Junk mailbox, or out of it,
 * hands each copied message to rspamd's learner (server/spam/learn.h) on
 * the pool thread after the store call succeeded; the learner queues it
 * and the reply does not wait. */
#include "server/imap/commands.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/outbuf.h"
#include "server/imap/progress.h"
#include "server/imap/selected.h"
#include "server/imap/seqset.h"
#include "server/services.h"
#include "server/spam/learn.h"

struct copy_cmd {
	struct sess_job job;
	struct imap_session *s;
	bool move;
	char *dst;
	struct store_uid_set set;
	struct store_uid_set src_uids, dst_uids;   /* of every step so far */
	struct imap_progress prog;   /* steps over set (INPROGRESS) */
	uint32_t uidvalidity;
	int err;
	char *code;                  /* COPYUID response code */
};

static void copy_cmd_free(void *ctx)
{
	struct copy_cmd *cc = ctx;
	free(cc->dst);
	free(cc->code);
	store_uid_set_free(&cc->set);
	imap_progress_free(&cc->prog);
	store_uid_set_free(&cc->src_uids);
	store_uid_set_free(&cc->dst_uids);
	free(cc);
}

/* The special-use bits of two mailboxes by name. */
static void special_uses(struct store_user *u, const char *a, const char *b, uint32_t *a_r,
			 uint32_t *b_r)
{
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	*a_r = *b_r = 0;
	if (store_mailbox_list(u, &list, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		bool inbox = strcasecmp(list[i].name, "INBOX") == 0;
		if (inbox ? strcasecmp(a, "INBOX") == 0 : strcmp(list[i].name, a) == 0)
			*a_r = list[i].special_use;
		if (inbox ? strcasecmp(b, "INBOX") == 0 : strcmp(list[i].name, b) == 0)
			*b_r = list[i].special_use;
	}
	store_mailbox_list_free(list, n);
}

/* On the pool, after the copy: teach rspamd from a move into or out of
 * \Junk. The copies are read from the destination (a MOVE's source is
 * gone from the index by now). */
static void learn(struct copy_cmd *cc)
{
	struct imap_session *s = cc->s;
	struct spam_learner *l = s->core.svc->spam_learner;
	if (l == NULL || cc->dst_uids.count == 0)
		return;
	uint32_t from, to;
	special_uses(s->store_user, s->sel->name, cc->dst, &from, &to);
	if (spam_learn_class_of(from, to) == SPAM_LEARN_NONE)
		return;
	struct store_mailbox *dst = NULL;
	if (store_mailbox_open(s->store_user, cc->dst, true, &dst) != STORE_OK)
		return;
	for (size_t i = 0; i < cc->dst_uids.count; i++) {
		for (uint32_t uid = cc->dst_uids.ranges[i].lo;; uid++) {
			int fd = -1;
			uint64_t size;
			if (store_msg_open(dst, uid, &fd, &size) == STORE_OK)
				spam_learn_moved(l, s->user, s->sel->name, from, cc->dst, to, fd);
			if (uid == cc->dst_uids.ranges[i].hi)
				break;
		}
	}
	store_mailbox_close(&dst);
}

/* Append step's COPYUID pairs to the command's (UIDs ascend from step to
 * step in both mailboxes). */
static void add_uids(struct store_uid_set *all, const struct store_uid_set *step)
{
	for (size_t i = 0; i < step->count; i++)
		store_uid_set_push_range(all, step->ranges[i].lo, step->ranges[i].hi);
}

/* A COPY failed in a later step: remove the copies the earlier steps made,
 * so the destination shows none (RFC 3501 6.4.7), as store_copy_set does
 * within one call. */
static void undo_copies(struct copy_cmd *cc)
{
	struct store_mailbox *dst = NULL;
	if (cc->dst_uids.count == 0 ||
	    store_mailbox_open(cc->s->store_user, cc->dst, false, &dst) != STORE_OK)
		return;
	store_expunge_set(dst, cc->dst_uids.ranges, cc->dst_uids.count, false, NULL);
	store_mailbox_close(&dst);
	store_uid_set_free(&cc->src_uids);
	store_uid_set_free(&cc->dst_uids);
}

/* One step: store_copy_set over the next inprogress_step UIDs. */
static void copy_work(struct sess_job *job)
{
	struct copy_cmd *cc = (struct copy_cmd *)job;
	struct store_uid_set src = { 0 }, dst = { 0 };
	/* (an empty set still asks the store: a missing target is TRYCREATE) */
	if (imap_progress_next(&cc->prog) || cc->set.count == 0)
		cc->err = store_copy_set(cc->s->sel->mbox, cc->prog.chunk.ranges,
					 cc->prog.chunk.count, cc->dst, cc->move, &src, &dst,
					 &cc->uidvalidity);
	add_uids(&cc->src_uids, &src);
	add_uids(&cc->dst_uids, &dst);
	store_uid_set_free(&src);
	store_uid_set_free(&dst);
	if (cc->err != 0 && !cc->move)
		undo_copies(cc);
	if (cc->err != 0 || imap_progress_more(&cc->prog) || cc->src_uids.count == 0)
		return;
	learn(cc);
	struct imap_outbuf b = { 0 };
	imap_outbuf_printf(&b, "COPYUID %u ", cc->uidvalidity);
	imap_uidset_format(&b, &cc->src_uids);
	imap_outbuf_str(&b, " ");
	imap_uidset_format(&b, &cc->dst_uids);
	cc->code = b.data;
}

static void copy_updated(struct imap_session *s, int err, void *arg)
{
	struct copy_cmd *cc = arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		const char *tag = imap_cmd_tag(s);
		if (cc->err != 0)
			imap_sel_reply_error(s, tag, cc->err, true);
		else if (cc->move)
			imap_reply_tagged(s, tag, "OK", NULL, "MOVE completed.");
		else if (cc->code != NULL)
			imap_reply_tagged(s, tag, "OK", cc->code, "COPY completed.");
		else
			imap_reply_tagged(s, tag, "OK", NULL, "COPY completed (no messages).");
	}
	imap_cmd_finish(s);
}

static void copy_done(struct sess_job *job)
{
	struct copy_cmd *cc = (struct copy_cmd *)job;
	struct imap_session *s = cc->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (cc->err == 0 && imap_progress_more(&cc->prog)) {
		imap_progress_report(&cc->prog, s, imap_progress_count(&cc->prog),
				     cc->move ? "Moving." : "Copying.");
		sess_submit(&s->core, s->core.svc->storage_pool, &cc->job);
		return;
	}
	if (cc->move && cc->code != NULL) {
		/* RFC 6851 4.3: COPYUID before the EXPUNGEs */
		struct imap_outbuf b = { 0 };
		imap_outbuf_printf(&b, "* OK [%s] Moved.\r\n", cc->code);
		imap_sel_send(s, &b);
		imap_outbuf_free(&b);
	}
	/* COPY into the selected mailbox: EXISTS; MOVE: its EXPUNGEs */
	imap_sel_update(s, 0, copy_updated, cc);
}

enum imap_cmd_result imap_copy_command(struct imap_session *s, const struct imap_command *cmd,
				       bool by_uid, bool move)
{
	const char *why = move ? "MOVE needs a message set and a mailbox."
			       : "COPY needs a message set and a mailbox.";
	char *dst = NULL;
	if (cmd->n_args != 2) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (imap_arg_mailbox(&cmd->args[1], imap_session_utf8(s), &dst, &why) < 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	struct copy_cmd *cc = xcalloc(1, sizeof(*cc));
	cc->s = s;
	cc->move = move;
	cc->dst = dst;
	if (imap_sel_message_set(s, cmd->tag, &cmd->args[0], by_uid, &cc->set) < 0) {
		copy_cmd_free(cc);
		return IMAP_CMD_DONE;
	}
	if (move && s->sel->read_only) {
		copy_cmd_free(cc);
		imap_reply_tagged(s, cmd->tag, "NO", NULL, "Mailbox is read-only.");
		return IMAP_CMD_DONE;
	}
	imap_cmd_hold(s, cmd->tag, cc, copy_cmd_free);
	imap_progress_init(&cc->prog, s, &cc->set, store_uid_set_size(&cc->set));
	cc->job.work = copy_work;
	cc->job.done = copy_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &cc->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_copy_command(s, cmd, false, false);
}

enum imap_cmd_result imap_cmd_move(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_copy_command(s, cmd, false, true);
}
