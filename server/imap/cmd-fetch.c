/* FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9): parse the message set and
 * the item list, serve them through the FETCH engine (fetch.h), then
 * report other sessions' changes (no EXPUNGE for FETCH by sequence number,
 * RFC 9051 7.5.1) before the tagged OK. UID FETCH always shows UID.
 *
 * RFC 7162: the MODSEQ item and the (CHANGEDSINCE n) modifier turn
 * CONDSTORE on; CHANGEDSINCE narrows the set to the messages changed since
 * n through the store's MODSEQ table (cost follows the changes), and UID
 * FETCH's (CHANGEDSINCE n VANISHED) first answers VANISHED (EARLIER) for
 * the UIDs of the set expunged since n (qresync.h). */
#include "server/imap/commands.h"

#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/fetch.h"
#include "server/imap/fetch-section.h"
#include "server/imap/outbuf.h"
#include "server/imap/qresync.h"
#include "server/imap/selected.h"
#include "server/imap/seqset.h"
#include "server/imap/uidonly.h"
#include "server/services.h"

struct fetch_cmd {
	struct sess_job job;
	struct imap_session *s;
	struct imap_fetch_spec spec;
	struct imap_fetch_result res;
	bool by_uid;
	int err;
	/* (CHANGEDSINCE n [VANISHED]) */
	bool changedsince, vanished;
	uint64_t since;
	struct store_uid_set uids;       /* the set, resolved against the view */
	struct store_uid_set asked;      /* VANISHED: the UID set as given */
	struct imap_qresync_result qr;
};

static void fetch_cmd_free(void *ctx)
{
	struct fetch_cmd *fc = ctx;
	imap_fetch_spec_free(&fc->spec);
	store_uid_set_free(&fc->uids);
	store_uid_set_free(&fc->asked);
	imap_qresync_result_free(&fc->qr);
	free(fc);
}

static void fetch_updated(struct imap_session *s, int err, void *arg)
{
	struct fetch_cmd *fc = arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		if (fc->err == IMAP_FETCH_EUNKNOWN_CTE)     /* RFC 3516 4.3 */
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", "UNKNOWN-CTE",
					  "Unknown Content-Transfer-Encoding.");
		else if (fc->err != 0)
			imap_sel_reply_error(s, imap_cmd_tag(s), fc->err, false);
		else if (fc->res.missing > 0)
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", "EXPUNGEISSUED",
					  "FETCH completed; some messages were expunged meanwhile.");
		else
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "FETCH completed.");
	}
	imap_cmd_finish(s);
}

static void fetched(struct imap_session *s, int err, void *arg)
{
	struct fetch_cmd *fc = arg;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	fc->err = err;
	imap_sel_update(s, fc->by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, fetch_updated, fc);
}

static void changes_work(struct sess_job *job)
{
	struct fetch_cmd *fc = (struct fetch_cmd *)job;
	struct imap_selected *sel = fc->s->sel;
	fc->err = imap_qresync_compute(fc->s->store_user, sel->name, sel->mbox, sel->view,
				       fc->since, &fc->uids, fc->vanished, &fc->asked, 0, &fc->qr);
}

static void changes_done(struct sess_job *job)
{
	struct fetch_cmd *fc = (struct fetch_cmd *)job;
	struct imap_session *s = fc->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (fc->err != 0) {
		imap_sel_reply_error(s, imap_cmd_tag(s), fc->err, false);
		imap_cmd_finish(s);
		return;
	}
	struct imap_outbuf out = { 0 };
	imap_qresync_write_vanished(&out, &fc->qr.vanished, true);
	imap_sel_send(s, &out);
	imap_outbuf_free(&out);
	imap_fetch_start(s, &fc->spec, &fc->qr.changed, &fc->res, fetched, fc);
}

/* "(CHANGEDSINCE n [VANISHED])" (RFC 7162 3.1.4.1, 3.2.6). */
static int parse_modifiers(struct imap_session *s, const struct imap_arg *list,
			   struct fetch_cmd *fc, const char **why_r)
{
	if (list->type != IMAP_ARG_LIST)
		return -1;                 /* keeps the caller's reason */
	*why_r = "Unknown FETCH modifier.";
	if (list->list_count == 0)
		return -1;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(a->str, "VANISHED") == 0 && !fc->vanished) {
			fc->vanished = true;
			continue;
		}
		if (strcasecmp(a->str, "CHANGEDSINCE") != 0 || fc->changedsince ||
		    !imap_caps_on(s, IMAP_CAP_CONDSTORE) ||
		    i + 1 == list->list_count)
			return -1;
		const struct imap_arg *n = &list->list[++i];
		uint64_t v = 0;
		*why_r = "CHANGEDSINCE needs a mod-sequence value.";
		if (imap_arg_u64(n, INT64_MAX, &v) < 0)
			return -1;
		fc->changedsince = true;
		fc->since = v;
		*why_r = "Unknown FETCH modifier.";
	}
	if (fc->vanished) {
		if (!fc->by_uid || !fc->changedsince || !imap_session_qresync(s)) {
			*why_r = !imap_session_qresync(s)
				? "VANISHED needs ENABLE QRESYNC."
				: "VANISHED needs UID FETCH with CHANGEDSINCE.";
			return -1;
		}
	}
	return 0;
}

enum imap_cmd_result imap_fetch_command(struct imap_session *s, const struct imap_command *cmd,
					bool by_uid)
{
	const char *why = "FETCH needs a message set and data items.";
	struct store_uid_set uids = { 0 };
	if (cmd->n_args != 2 && cmd->n_args != 3) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	struct fetch_cmd *fc = xcalloc(1, sizeof(*fc));
	fc->s = s;
	fc->by_uid = by_uid;
	const char *usage = why;
	if (imap_fetch_spec_parse(&cmd->args[1], &fc->spec, &why) < 0 ||
	    (cmd->n_args == 3 && (why = usage, parse_modifiers(s, &cmd->args[2], fc, &why) < 0))) {
		fetch_cmd_free(fc);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (imap_caps_fetch_refused(s, &fc->spec)) {
		fetch_cmd_free(fc);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown FETCH attribute.");
		return IMAP_CMD_DONE;
	}
	if (imap_sel_message_set(s, cmd->tag, &cmd->args[0], by_uid, &uids) < 0) {
		fetch_cmd_free(fc);
		return IMAP_CMD_DONE;
	}
	if (by_uid)
		if (!imap_session_uidonly(s))   /* UIDFETCH names it */
			imap_fetch_spec_add(&fc->spec, IMAP_FA_UID, true);
	if (fc->spec.has_modseq || fc->changedsince)
		imap_sel_condstore_enable(s);      /* RFC 7162 3.1 */
	imap_cmd_hold(s, cmd->tag, fc, fetch_cmd_free);
	if (!fc->changedsince) {
		imap_fetch_start(s, &fc->spec, &uids, &fc->res, fetched, fc);
		return IMAP_CMD_AGAIN;
	}
	/* RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ */
	imap_fetch_spec_add(&fc->spec, IMAP_FA_MODSEQ, false);
	fc->uids = uids;
	if (fc->vanished) {
		struct imap_seqset set;
		uint32_t top = store_view_uidnext(s->sel->view);
		if (imap_seqset_parse_arg(&cmd->args[0], &set) == 0 && !set.saved)
			imap_qresync_uid_ranges(&set, top > 1 ? top - 1 : 0, &fc->asked);
		else
			fc->vanished = false;   /* "$": the saved UIDs are all in the view */
		imap_seqset_free(&set);
	}
	fc->job.work = changes_work;
	fc->job.done = changes_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &fc->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_fetch_command(s, cmd, false);
}
