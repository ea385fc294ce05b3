/* STORE and UID STORE (RFC 9051 6.4.6): FLAGS, +FLAGS, -FLAGS and their
 * .SILENT forms; keywords are created on the fly (PERMANENTFLAGS has \*).
 * The message set is worked through in chunks of write_batch_messages
 * messages, one pool job each: store_flags_update_set (one durable batch)
 * and, unless .SILENT, the untagged FETCH FLAGS of every message of the
 * chunk, written before the next chunk starts and waiting for the output
 * to drain, so STORE 1:* on a huge mailbox streams. Changes of other
 * sessions are reported before and after (never EXPUNGE for STORE by
 * sequence number); the command's own changes are not reported twice.
 *
 * RFC 7162 3.1.3: (UNCHANGEDSINCE n) turns CONDSTORE on and leaves alone
 * the messages whose MODSEQ rose above n, listed in the tagged OK's
 * [MODIFIED set] (numbers for STORE, UIDs for UID STORE). Once CONDSTORE
 * is on, every FETCH of the command shows UID and MODSEQ, and a .SILENT
 * store still shows the new MODSEQ of what it changed. */
#include "server/imap/commands.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/outbuf.h"
#include "server/imap/selected.h"
#include "server/imap/seqset.h"
#include "server/imap/uidonly.h"
#include "server/services.h"

#define STORE_DEFAULT_CHUNK 1000u

struct store_cmd {
	struct sess_job job;
	struct imap_session *s;
	bool by_uid, silent;
	enum store_flags_op op;
	uint32_t flags;
	char **kw;
	size_t n_kw;
	struct store_uid_set set;
	size_t ri;                   /* cursor: range, next UID (0: its start) */
	uint32_t next;
	uint32_t chunk;
	struct store_uid_set part;   /* the chunk being stored */
	bool conditional;            /* UNCHANGEDSINCE */
	uint64_t unchangedsince;
	bool condstore;              /* show UID and MODSEQ */
	struct store_uid_set failed; /* the chunk's messages left alone */
	struct store_uid_set changed;/* the chunk's messages changed */
	struct store_uid_set modified;/* all left alone (UIDs) */
	struct imap_outbuf out;
	int err;
	bool done;
};

static void store_cmd_free(void *ctx)
{
	struct store_cmd *sc = ctx;
	for (size_t i = 0; i < sc->n_kw; i++)
		free(sc->kw[i]);
	free(sc->kw);
	store_uid_set_free(&sc->set);
	store_uid_set_free(&sc->part);
	store_uid_set_free(&sc->failed);
	store_uid_set_free(&sc->changed);
	store_uid_set_free(&sc->modified);
	imap_outbuf_free(&sc->out);
	free(sc);
}

/* The next chunk of the set: at most sc->chunk UIDs from the cursor. */
static void take_chunk(struct store_cmd *sc)
{
	sc->part.count = 0;
	uint32_t left = sc->chunk;
	while (sc->ri < sc->set.count && left > 0) {
		const struct store_uid_range *r = &sc->set.ranges[sc->ri];
		uint32_t lo = sc->next > r->lo ? sc->next : r->lo, hi = r->hi;
		if ((uint64_t)hi - lo + 1 > left)
			hi = lo + left - 1;
		store_uid_set_push_range(&sc->part, lo, hi);
		left -= hi - lo + 1;
		if (hi == r->hi) {
			sc->ri++;
			sc->next = 0;
		} else {
			sc->next = hi + 1;
		}
	}
	sc->done = sc->ri >= sc->set.count;
}

static int own_cb(const struct store_msg *m, void *ctx)
{
	struct store_cmd *sc = ctx;
	imap_sel_own_change(sc->s->sel, m->uid, m->modseq);
	store_uid_set_push(&sc->changed, m->uid);
	return 0;
}

/* UNCHANGEDSINCE 0: every message of the chunk fails (RFC 7162 3.1.3). */
static int fail_cb(const struct store_msg *m, void *ctx)
{
	store_uid_set_push(ctx, m->uid);
	return 0;
}

static int report_cb(const struct store_msg *m, void *ctx)
{
	struct store_cmd *sc = ctx;
	struct imap_selected *sel = sc->s->sel;
	uint32_t seq = store_view_seq(sel->view, m->uid);
	if (seq == 0 || imap_uidset_has(&sc->failed, m->uid))
		return 0;
	if (sc->silent && !imap_uidset_has(&sc->changed, m->uid))
		return 0;
	imap_sel_note_keywords(sel, &sc->out, m->keywords, m->n_keywords);
	imap_uidonly_fetch_open(sc->s, &sc->out, seq, m->uid);
	bool uid = (sc->by_uid || sc->condstore) && !imap_session_uidonly(sc->s);
	if (uid)
		imap_outbuf_printf(&sc->out, "UID %u", m->uid);
	if (!sc->silent) {
		imap_outbuf_str(&sc->out, uid ? " FLAGS " : "FLAGS ");
		imap_sel_write_flags(sel, &sc->out, m->flags, m->keywords, m->n_keywords, m->uid);
	}
	if (sc->condstore)
		imap_outbuf_printf(&sc->out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	imap_outbuf_str(&sc->out, ")\r\n");
	return 0;
}

static void chunk_work(struct sess_job *job)
{
	struct store_cmd *sc = (struct store_cmd *)job;
	struct imap_selected *sel = sc->s->sel;
	sc->out.len = 0;
	take_chunk(sc);
	if (sc->part.count == 0)
		return;
	store_uid_set_free(&sc->failed);   /* the store sets it anew */
	sc->changed.count = 0;
	if (sc->conditional && sc->unchangedsince == 0) {
		for (size_t i = 0; i < sc->part.count && sc->err == 0; i++)
			sc->err = store_msg_scan(sel->mbox, sc->part.ranges[i].lo,
						 sc->part.ranges[i].hi, fail_cb, &sc->failed);
	} else {
		sc->err = store_flags_update_set(sel->mbox, sc->part.ranges, sc->part.count,
						 sc->op, sc->flags, (const char *const *)sc->kw,
						 sc->n_kw, sc->unchangedsince, own_cb, sc,
						 sc->conditional ? &sc->failed : NULL);
	}
	for (size_t i = 0; i < sc->failed.count; i++)
		store_uid_set_push_range(&sc->modified, sc->failed.ranges[i].lo,
					 sc->failed.ranges[i].hi);
	bool report = !sc->silent || (sc->condstore && sc->changed.count > 0);
	for (size_t i = 0; i < sc->part.count && sc->err == 0 && report; i++)
		sc->err = store_msg_scan(sel->mbox, sc->part.ranges[i].lo, sc->part.ranges[i].hi,
					 report_cb, sc);
}

/* "OK [MODIFIED set]": UIDs, or their numbers for STORE. */
static void reply_modified(struct imap_session *s, struct store_cmd *sc)
{
	struct store_uid_set nums = { 0 };
	const struct store_uid_set *set = &sc->modified;
	if (!sc->by_uid) {
		for (size_t i = 0; i < sc->modified.count; i++) {
			for (uint64_t u = sc->modified.ranges[i].lo; u <= sc->modified.ranges[i].hi; u++) {
				uint32_t seq = store_view_seq(s->sel->view, (uint32_t)u);
				if (seq != 0 && (nums.count == 0 || seq > nums.ranges[nums.count - 1].hi))
					store_uid_set_push(&nums, seq);
			}
		}
		set = &nums;
	}
	struct imap_outbuf code = { 0 };
	imap_outbuf_str(&code, "MODIFIED ");
	imap_uidset_format(&code, set);
	imap_outbuf_add(&code, "", 1);
	imap_reply_tagged(s, imap_cmd_tag(s), "OK", code.data, "Conditional STORE failed.");
	imap_outbuf_free(&code);
	store_uid_set_free(&nums);
}

static void store_updated(struct imap_session *s, int err, void *arg)
{
	struct store_cmd *sc = arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		if (sc->err != 0)
			imap_sel_reply_error(s, imap_cmd_tag(s), sc->err, false);
		else if (sc->modified.count > 0)
			reply_modified(s, sc);
		else
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "STORE completed.");
	}
	imap_cmd_finish(s);
}

static void chunk_done(struct sess_job *job);

static void submit_chunk(struct store_cmd *sc)
{
	sc->job.work = chunk_work;
	sc->job.done = chunk_done;
	sess_submit(&sc->s->core, sc->s->core.svc->storage_pool, &sc->job);
}

static enum imap_cmd_result chunk_drained(struct imap_session *s)
{
	s->cmd->on_drained = NULL;
	submit_chunk(s->cmd->ctx);
	return IMAP_CMD_AGAIN;
}

static void chunk_done(struct sess_job *job)
{
	struct store_cmd *sc = (struct store_cmd *)job;
	struct imap_session *s = sc->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	bool full = imap_sel_send(s, &sc->out);
	if (sc->err != 0 || sc->done) {
		imap_sel_update(s, sc->by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, store_updated, sc);
		return;
	}
	if (full) {
		s->cmd->on_drained = chunk_drained;
		return;
	}
	submit_chunk(sc);
}

static void store_presynced(struct imap_session *s, int err, void *arg)
{
	struct store_cmd *sc = arg;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (sc->set.count == 0) {
		/* RFC 7162 3.1.3: a set without a message left still says OK */
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "STORE completed.");
		imap_cmd_finish(s);
		return;
	}
	submit_chunk(sc);
}

/* "(UNCHANGEDSINCE n)": 0, or -1 for anything else. */
static int parse_unchangedsince(const struct imap_arg *list, uint64_t *v_r)
{
	if (list->list_count != 2 || list->list[0].type != IMAP_ARG_ATOM ||
	    list->list[1].type != IMAP_ARG_ATOM ||
	    strcasecmp(list->list[0].str, "UNCHANGEDSINCE") != 0)
		return -1;
	return imap_arg_u64(&list->list[1], INT64_MAX, v_r);
}

/* "FLAGS", "+FLAGS.SILENT", ...; false when it is none of them. */
static bool parse_item(const char *item, enum store_flags_op *op_r, bool *silent_r)
{
	*op_r = STORE_FLAGS_SET;
	if (*item == '+' || *item == '-') {
		*op_r = *item == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		item++;
	}
	*silent_r = strcasecmp(item, "FLAGS.SILENT") == 0;
	return *silent_r || strcasecmp(item, "FLAGS") == 0;
}

enum imap_cmd_result imap_store_command(struct imap_session *s, const struct imap_command *cmd,
					bool by_uid)
{
	const char *why = "STORE needs a message set, a data item and flags.";
	enum store_flags_op op;
	bool silent;
	bool conditional = false;
	uint64_t unchangedsince = 0;
	size_t ai = 1;                    /* the data item */
	if (cmd->n_args >= 2 && cmd->args[1].type == IMAP_ARG_LIST) {
		if (!imap_caps_on(s, IMAP_CAP_CONDSTORE) ||
		    parse_unchangedsince(&cmd->args[1], &unchangedsince) < 0) {
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown STORE modifier.");
			return IMAP_CMD_DONE;
		}
		conditional = true;
		ai = 2;
	}
	if (cmd->n_args < ai + 2 || cmd->args[ai].type != IMAP_ARG_ATOM ||
	    !parse_item(cmd->args[ai].str, &op, &silent)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	/* flags: one list, or the flags themselves (RFC 9051 store-att-flags) */
	struct imap_arg bare = { .type = IMAP_ARG_LIST,
				 .list = (struct imap_arg *)&cmd->args[ai + 1],
				 .list_count = cmd->n_args - ai - 1 };
	const struct imap_arg *fa = cmd->n_args == ai + 2 && cmd->args[ai + 1].type == IMAP_ARG_LIST
		? &cmd->args[ai + 1] : &bare;
	struct imap_flags f;
	if (imap_arg_flags(fa, &f, &why) < 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	struct store_cmd *sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	sc->by_uid = by_uid;
	sc->silent = silent;
	sc->conditional = conditional;
	sc->unchangedsince = unchangedsince;
	if (conditional)
		imap_sel_condstore_enable(s);      /* RFC 7162 3.1 */
	sc->condstore = imap_session_condstore(s);
	sc->op = op;
	sc->flags = f.flags;
	sc->kw = xcalloc(f.n_keywords + 1, sizeof(*sc->kw));
	for (size_t i = 0; i < f.n_keywords; i++)
		sc->kw[i] = xstrdup(imap_sel_keyword_spelling(s->sel, f.keywords[i]));
	sc->n_kw = f.n_keywords;
	free(f.keywords);
	if (imap_sel_message_set(s, cmd->tag, &cmd->args[0], by_uid, &sc->set) < 0) {
		store_cmd_free(sc);
		return IMAP_CMD_DONE;
	}
	if (s->sel->read_only) {
		store_cmd_free(sc);
		imap_reply_tagged(s, cmd->tag, "NO", NULL, "Mailbox is read-only.");
		return IMAP_CMD_DONE;
	}
	unsigned batch = conn_config(s->conn)->write_batch_messages;
	sc->chunk = batch != 0 ? batch : STORE_DEFAULT_CHUNK;
	imap_cmd_hold(s, cmd->tag, sc, store_cmd_free);
	imap_sel_update(s, by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, store_presynced, sc);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_store_command(s, cmd, false);
}
