/* SELECT, EXAMINE, CLOSE and UNSELECT (RFC 9051 6.3.2, 6.3.3, 6.4.1, RFC
 * 3691). SELECT opens the mailbox, its change watch and the session view
 * on the storage pool and answers FLAGS, PERMANENTFLAGS, EXISTS, UIDVALIDITY,
 * UIDNEXT and MAILBOXID (plus RECENT and UNSEEN for IMAP4rev1, LIST for
 * IMAP4rev2). Selecting closes the mailbox selected before, without
 * expunging (IMAP4rev2 and QRESYNC: "* OK [CLOSED]" says so); a failed
 * SELECT leaves the session authenticated. CLOSE expunges \Deleted
 * messages silently in a read-write mailbox.
 *
 * RFC 7162: every SELECT answers HIGHESTMODSEQ; (CONDSTORE) turns CONDSTORE
 * on; (QRESYNC (...)) after ENABLE QRESYNC adds VANISHED (EARLIER) and the
 * FETCH (UID FLAGS MODSEQ) of messages changed since the client's MODSEQ
 * (qresync.h). */
#include "server/imap/commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/fetch.h"
#include "server/imap/outbuf.h"
#include "server/imap/qresync.h"
#include "server/imap/selected.h"
#include "server/imap/uidonly.h"
#include "server/services.h"
#include "storage/store.h"

struct select_job {
	struct sess_job job;
	struct imap_session *s;
	struct imap_selected *sel;
	int err;
	struct store_status st;
	uint32_t first_unseen;       /* sequence number, 0 = none */
	uint32_t recent;
	bool qresync;                /* SELECT (QRESYNC (...)) */
	struct imap_qresync_req qr;
	struct imap_qresync_result res;
	struct imap_fetch_spec spec;
	const char *what;
};

static void select_free(void *ctx)
{
	struct select_job *j = ctx;
	if (j->sel != NULL)
		imap_sel_discard(j->s, j->sel);
	imap_qresync_req_free(&j->qr);
	imap_qresync_result_free(&j->res);
	imap_fetch_spec_free(&j->spec);
	free(j);
}

/* QRESYNC: what changed since the client's MODSEQ (RFC 7162 3.2.5). */
static int qresync_work(struct select_job *j)
{
	struct imap_selected *sel = j->sel;
	uint32_t top = store_view_uidnext(sel->view);
	struct store_uid_set known = { 0 };
	uint32_t floor = 0;
	if (j->qr.has_known)
		imap_qresync_uid_ranges(&j->qr.known, top > 1 ? top - 1 : 0, &known);
	if (j->qr.has_match)
		floor = imap_qresync_match_floor(sel->view, &j->qr.match_seq, &j->qr.match_uid);
	/* known-uids limit VANISHED only: every message changed (or added)
	 * since the client's MODSEQ is reported (RFC 7162 3.2.5) */
	const struct store_uid_set *k = j->qr.has_known ? &known : NULL;
	int err = imap_qresync_compute(j->s->store_user, sel->name, sel->mbox, sel->view,
				       j->qr.modseq, NULL, true, k, floor, &j->res);
	store_uid_set_free(&known);
	return err;
}

struct unseen_scan {
	const struct store_view *view;
	uint32_t seq;
};

static int unseen_cb(const struct store_msg *m, void *ctx)
{
	struct unseen_scan *u = ctx;
	if (m->flags & STORE_FLAG_SEEN)
		return 0;
	u->seq = store_view_seq(u->view, m->uid);
	return u->seq != 0 ? 1 : 0;
}

static void select_work(struct sess_job *job)
{
	struct select_job *j = (struct select_job *)job;
	struct imap_selected *sel = j->sel;
	j->err = imap_sel_open_work(j->s, sel);
	if (j->err == 0)
		j->err = store_mailbox_status(sel->mbox, &j->st);
	if (j->err == 0 && j->qresync && j->qr.uidvalidity == j->st.uidvalidity)
		j->err = qresync_work(j);
	if (j->err != 0 || sel->rev2)
		return;
	j->recent = imap_sel_recent_count(sel);
	if (j->st.unseen > 0) {
		struct unseen_scan u = { sel->view, 0 };
		int r = store_msg_scan(sel->mbox, 1, UINT32_MAX, unseen_cb, &u);
		if (r < 0)
			j->err = r;
		j->first_unseen = u.seq;
	}
}

/* A mailbox name for the rev2 LIST response: an atom when it can be one,
 * else a quoted string (UTF-8 is allowed in IMAP4rev2 quoted strings). */
static void write_list_name(struct imap_outbuf *out, const char *name)
{
	bool atom = *name != '\0';
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			atom = false;
	}
	if (atom) {
		imap_outbuf_str(out, name);
		return;
	}
	imap_outbuf_str(out, "\"");
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			imap_outbuf_str(out, "\\");
		imap_outbuf_add(out, p, 1);
	}
	imap_outbuf_str(out, "\"");
}

/* The tagged OK, after the QRESYNC FETCH responses (if any). */
static void select_answered(struct imap_session *s, int err, void *arg)
{
	struct select_job *j = arg;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core) || s->sel == NULL) {
		imap_cmd_finish(s);
		return;
	}
	if (err != 0)
		conn_warn(s->conn, "%s: changed messages not reported: %s", j->what,
			  store_strerror(err));
	char text[32];
	snprintf(text, sizeof(text), "%s completed.", j->what);
	imap_reply_tagged(s, imap_cmd_tag(s), "OK",
			  s->sel->read_only ? "READ-ONLY" : "READ-WRITE", text);
	imap_cmd_finish(s);
}

static void select_done(struct sess_job *job)
{
	struct select_job *j = (struct select_job *)job;
	struct imap_session *s = j->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	const char *what = j->sel->read_only ? "EXAMINE" : "SELECT";
	if (j->err != 0) {
		conn_debug(s->conn, "%s %s: %s", what, j->sel->name, store_strerror(j->err));
		if (j->err == STORE_ENOTFOUND || j->err == STORE_EINVALID)
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", "NONEXISTENT",
					  "Mailbox does not exist.");
		else
			imap_sel_reply_error(s, imap_cmd_tag(s), j->err, false);
		imap_cmd_finish(s);
		return;
	}
	struct imap_selected *sel = j->sel;
	j->sel = NULL;
	imap_sel_attach(s, sel);
	struct imap_outbuf out = { 0 };
	imap_sel_write_flag_lists(sel, &out);
	imap_outbuf_printf(&out, "* %u EXISTS\r\n", store_view_count(sel->view));
	if (!sel->rev2) {
		imap_outbuf_printf(&out, "* %u RECENT\r\n", j->recent);
		if (j->first_unseen != 0 && !imap_session_uidonly(s))   /* a number */
			imap_outbuf_printf(&out, "* OK [UNSEEN %u] First unseen.\r\n",
					   j->first_unseen);
	}
	imap_outbuf_printf(&out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n", j->st.uidvalidity);
	imap_outbuf_printf(&out, "* OK [UIDNEXT %u] Predicted next UID.\r\n",
			   store_view_uidnext(sel->view));
	if (imap_caps_on(s, IMAP_CAP_OBJECTID))       /* RFC 8474 4.1 */
		imap_outbuf_printf(&out, "* OK [MAILBOXID (%s)] Mailbox id.\r\n",
				   j->st.mailboxid);
	if (imap_caps_on(s, IMAP_CAP_CONDSTORE))      /* RFC 7162 3.1.2.1 */
		imap_outbuf_printf(&out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
				   (unsigned long long)store_view_highestmodseq(sel->view));
	if (sel->rev2) {
		/* INBOX is case-insensitive, also as the first level (RFC 9051
		 * 5.1): the LIST response names it as the server does */
		char *name = xstrdup(sel->name);
		if (strncasecmp(name, "INBOX", 5) == 0 &&
		    (name[5] == '\0' || name[5] == STORE_HIERARCHY_SEP))
			memcpy(name, "INBOX", 5);
		imap_outbuf_printf(&out, "* LIST () \"%c\" ", STORE_HIERARCHY_SEP);
		write_list_name(&out, name);
		imap_outbuf_str(&out, "\r\n");
		free(name);
	}
	imap_qresync_write_vanished(&out, &j->res.vanished, true);
	imap_sel_send(s, &out);
	imap_outbuf_free(&out);
	j->what = what;
	if (j->res.changed.count > 0) {
		if (!imap_session_uidonly(s))   /* UIDFETCH names it */
			imap_fetch_spec_add(&j->spec, IMAP_FA_UID, false);
		imap_fetch_spec_add(&j->spec, IMAP_FA_FLAGS, false);
		imap_fetch_spec_add(&j->spec, IMAP_FA_MODSEQ, false);
		imap_fetch_start(s, &j->spec, &j->res.changed, NULL, select_answered, j);
		return;
	}
	select_answered(s, 0, j);
}

/* "(CONDSTORE)", "(QRESYNC (...))" (RFC 7162 3.1.8, 3.2.5). */
static int parse_params(struct imap_session *s, const struct imap_arg *list,
			struct select_job *j, bool *condstore_r, const char **why_r)
{
	*why_r = "Unknown SELECT parameter.";
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return -1;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(a->str, "CONDSTORE") == 0 && imap_caps_on(s, IMAP_CAP_CONDSTORE)) {
			*condstore_r = true;
			continue;
		}
		if (strcasecmp(a->str, "QRESYNC") != 0 || j->qresync ||
		    i + 1 == list->list_count)
			return -1;
		if (!imap_session_qresync(s)) {
			*why_r = "QRESYNC is not enabled (ENABLE QRESYNC first).";
			return -1;
		}
		if (imap_qresync_parse(&list->list[++i], &j->qr, why_r) < 0)
			return -1;
		j->qresync = true;
	}
	return 0;
}

static enum imap_cmd_result select_common(struct imap_session *s, const struct imap_command *cmd,
					  bool read_only)
{
	const char *why = NULL;
	char *name = NULL;
	if (cmd->n_args != 1 && cmd->n_args != 2) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  read_only ? "EXAMINE takes a mailbox name."
					    : "SELECT takes a mailbox name.");
		return IMAP_CMD_DONE;
	}
	struct select_job *j = xcalloc(1, sizeof(*j));
	bool condstore = false;
	if (cmd->n_args == 2 && parse_params(s, &cmd->args[1], j, &condstore, &why) < 0) {
		select_free(j);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (j->qresync && j->qr.match_seq.n > 0 && imap_session_uidonly(s)) {
		/* RFC 9586: the seq-match-data of QRESYNC holds numbers */
		select_free(j);
		imap_reply_tagged(s, cmd->tag, "BAD", "UIDREQUIRED", IMAP_UIDONLY_WHY);
		return IMAP_CMD_DONE;
	}
	if (imap_arg_mailbox(&cmd->args[0], imap_session_utf8(s), &name, &why) < 0) {
		select_free(j);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (condstore)
		imap_session_condstore_on(s);
	/* RFC 9051 6.3.2: the mailbox selected before is closed first (no
	 * expunge), also when this SELECT fails; an IMAP4rev2 client learns
	 * where its responses end from [CLOSED] (RFC 9051 7.1), as does a
	 * QRESYNC one (RFC 7162 3.2.11). */
	if (s->sel != NULL && (imap_session_rev2(s) || imap_session_qresync(s)))
		imap_write_untagged(s->conn, "OK", "CLOSED", "Previous mailbox closed.");
	imap_sel_close(s);
	j->s = s;
	j->sel = imap_sel_new(s, name, read_only);
	free(name);
	imap_cmd_hold(s, cmd->tag, j, select_free);
	j->job.work = select_work;
	j->job.done = select_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	return select_common(s, cmd, false);
}

enum imap_cmd_result imap_cmd_examine(struct imap_session *s, const struct imap_command *cmd)
{
	return select_common(s, cmd, true);
}

/* ---- CLOSE and UNSELECT ---- */

struct close_job {
	struct sess_job job;
	struct imap_session *s;
	struct store_uid_set all;
	int err;
};

static void close_free(void *ctx)
{
	struct close_job *j = ctx;
	store_uid_set_free(&j->all);
	free(j);
}

static void close_work(struct sess_job *job)
{
	struct close_job *j = (struct close_job *)job;
	j->err = store_expunge_set(j->s->sel->mbox, j->all.ranges, j->all.count, true, NULL);
}

static void close_done(struct sess_job *job)
{
	struct close_job *j = (struct close_job *)job;
	struct imap_session *s = j->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	imap_sel_close(s);
	if (j->err != 0 && j->err != STORE_ENOTFOUND) {   /* a deleted one is just closed */
		conn_warn(s->conn, "close: expunge failed: %s", store_strerror(j->err));
		imap_reply_tagged(s, imap_cmd_tag(s), "NO", "SERVERBUG",
				  "Mailbox closed, but its deleted messages could not be expunged.");
	} else {
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "CLOSE completed.");
	}
	imap_cmd_finish(s);
}

enum imap_cmd_result imap_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "CLOSE takes no arguments.");
		return IMAP_CMD_DONE;
	}
	struct imap_selected *sel = s->sel;
	uint32_t count = store_view_count(sel->view);
	if (sel->read_only || count == 0) {
		imap_sel_close(s);
		imap_reply_tagged(s, cmd->tag, "OK", NULL, "CLOSE completed.");
		return IMAP_CMD_DONE;
	}
	/* RFC 9051 6.4.1: \Deleted messages go, without EXPUNGE responses */
	struct close_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	store_view_uid_ranges(sel->view, 1, count, &j->all);
	imap_cmd_hold(s, cmd->tag, j, close_free);
	j->job.work = close_work;
	j->job.done = close_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "UNSELECT takes no arguments.");
		return IMAP_CMD_DONE;
	}
	imap_sel_close(s);
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "UNSELECT completed.");
	return IMAP_CMD_DONE;
}
