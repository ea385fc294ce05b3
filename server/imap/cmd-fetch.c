/* FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9): parse the message set and
 * the item list, serve them through the FETCH engine (fetch.h), then
 * report other sessions' changes (no EXPUNGE for FETCH by sequence number,
 * RFC 9051 7.5.1) before the tagged OK. UID FETCH always shows UID. */
#include "server/imap/commands.h"

#include "lib/xmem.h"
#include "server/imap/caps.h"
#include "server/imap/fetch.h"
#include "server/imap/selected.h"

struct fetch_cmd {
	struct imap_fetch_spec spec;
	struct imap_fetch_result res;
	bool by_uid;
	int err;
};

static void fetch_cmd_free(void *ctx)
{
	struct fetch_cmd *fc = ctx;
	imap_fetch_spec_free(&fc->spec);
	free(fc);
}

static void fetch_updated(struct imap_session *s, int err, void *arg)
{
	struct fetch_cmd *fc = arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core)) {
		if (fc->err != 0)
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

enum imap_cmd_result imap_fetch_command(struct imap_session *s, const struct imap_command *cmd,
					bool by_uid)
{
	const char *why = "FETCH needs a message set and data items.";
	struct store_uid_set uids = { 0 };
	if (cmd->n_args != 2) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	struct fetch_cmd *fc = xcalloc(1, sizeof(*fc));
	fc->by_uid = by_uid;
	if (imap_fetch_spec_parse(&cmd->args[1], &fc->spec, &why) < 0) {
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
		imap_fetch_spec_add(&fc->spec, IMAP_FA_UID, true);
	imap_cmd_hold(s, cmd->tag, fc, fetch_cmd_free);
	imap_fetch_start(s, &fc->spec, &uids, &fc->res, fetched, fc);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_fetch_command(s, cmd, false);
}
