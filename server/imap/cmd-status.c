/* STATUS (RFC 9051 6.3.11, RFC 3501 6.3.10, RFC 8438 SIZE, RFC 7889
 * APPENDLIMIT): the counters of a mailbox, read on the storage pool without
 * opening a view. RECENT (IMAP4rev1 only) counts the messages no session
 * has seen as \Recent yet, which is what the next SELECT would report.
 * HIGHESTMODSEQ (RFC 7162 3.1.9) turns CONDSTORE on. */
#include "server/imap/commands.h"

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/selected.h"
#include "server/imap/status-items.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

struct status_cmd {
	struct sess_job job;
	struct imap_session *s;
	char *name;
	char *wire;                  /* the name as the client sent it */
	struct imap_status_req req;
	uint64_t appendlimit;
	struct store_status st;
	int err;
};

static void status_free(void *ctx)
{
	struct status_cmd *c = ctx;
	free(c->name);
	free(c->wire);
	free(c);
}

static void status_work(struct sess_job *job)
{
	struct status_cmd *c = (struct status_cmd *)job;
	struct store_user *u = c->s->store_user;
	c->err = store_status_items(u, c->name, imap_status_store_items(&c->req), &c->st);
}

static void status_done(struct sess_job *job)
{
	struct status_cmd *c = (struct status_cmd *)job;
	struct imap_session *s = c->s;
	if (sess_alive(&s->core)) {
		conn_cork(s->conn);
		if (c->err != 0) {
			imap_reply_store_error(s, imap_cmd_tag(s), c->err, IMAP_STORE_CTX_MAILBOX);
		} else {
			struct imap_resp r;
			imap_resp_init(&r, imap_session_utf8(s));
			imap_status_write(&r, c->name, c->wire, &c->req, &c->st, c->appendlimit);
			imap_resp_send(&r, s->conn);
			imap_resp_free(&r);
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "STATUS completed.");
		}
		conn_uncork(s->conn);
	}
	imap_cmd_finish(s);
}

enum imap_cmd_result imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "STATUS needs a mailbox name and a list of data items.";
	struct status_cmd *c = xcalloc(1, sizeof(*c));
	if (cmd->n_args != 2 ||
	    imap_status_parse(&cmd->args[1], (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0,
			      &c->req, &why) < 0 ||
	    imap_arg_mailbox(&cmd->args[0], imap_session_utf8(s), &c->name, &why) < 0 ||
	    imap_caps_status_refused(s, &c->req, &why)) {
		status_free(c);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	c->s = s;
	if (c->req.highestmodseq)
		imap_sel_condstore_enable(s);      /* RFC 7162 3.1 */
	c->wire = xstrdup(cmd->args[0].str);
	c->appendlimit = conn_config(s->conn)->max_literal_size;
	c->job.work = status_work;
	c->job.done = status_done;
	imap_cmd_hold(s, cmd->tag, c, status_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &c->job);
	return IMAP_CMD_AGAIN;
}
