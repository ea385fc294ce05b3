/* QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA and SETQUOTA over the store's
 * per-user quota. Every mailbox of a user lives under one quota root, the
 * empty name "", whose resources are STORAGE (bytes as stored, in units of
 * 1024 octets) and MESSAGE; a resource without a limit is not listed, and
 * a user with no limit at all has no quota root (RFC 9208 has no way to say
 * "unlimited"). Limits are the administrator's: SETQUOTA is answered NO
 * (QUOTASET is not advertised). The counters come from one read of the
 * index on the storage pool. */
#include "server/imap/commands.h"

#include <inttypes.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/reply.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

struct quota_cmd {
	struct sess_job job;
	struct imap_session *s;
	char *mailbox;               /* GETQUOTAROOT: store name */
	char *wire;                  /* ... as the client sent it */
	struct store_quota q;
	int err;
};

static void quota_free(void *ctx)
{
	struct quota_cmd *c = ctx;
	free(c->mailbox);
	free(c->wire);
	free(c);
}

static bool has_root(const struct store_quota *q)
{
	return q->bytes_limit != 0 || q->messages_limit != 0;
}

/* "* QUOTA "" (STORAGE <used> <limit> MESSAGE <used> <limit>)" */
static void write_quota(struct imap_resp *r, const struct store_quota *q)
{
	imap_resp_raw(r, "* QUOTA \"\" (");
	if (q->bytes_limit != 0)
		imap_resp_printf(r, "STORAGE %" PRIu64 " %" PRIu64, (q->bytes_used + 1023) / 1024,
				 q->bytes_limit / 1024);
	if (q->messages_limit != 0)
		imap_resp_printf(r, "%sMESSAGE %" PRIu64 " %" PRIu64,
				 q->bytes_limit != 0 ? " " : "", q->messages_used,
				 q->messages_limit);
	imap_resp_raw(r, ")\r\n");
}

static void quota_work(struct sess_job *job)
{
	struct quota_cmd *c = (struct quota_cmd *)job;
	struct store_user *u = c->s->store_user;
	if (c->mailbox != NULL) {
		struct store_status st;
		c->err = store_status(u, c->mailbox, &st);
		if (c->err != 0)
			return;
	}
	c->err = store_quota_get(u, &c->q);
}

static void quota_done(struct sess_job *job)
{
	struct quota_cmd *c = (struct quota_cmd *)job;
	struct imap_session *s = c->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	const char *tag = imap_cmd_tag(s);
	conn_cork(s->conn);
	if (c->err != 0) {
		imap_reply_store_error(s, tag, c->err, IMAP_STORE_CTX_MAILBOX);
	} else if (c->mailbox == NULL && !has_root(&c->q)) {
		imap_reply_tagged(s, tag, "NO", "NONEXISTENT",
				  "No quota root: no limit is set for you.");
	} else {
		struct imap_resp r;
		imap_resp_init(&r, imap_session_utf8(s));
		if (c->mailbox != NULL) {
			imap_resp_raw(&r, "* QUOTAROOT ");
			imap_resp_astring(&r, c->wire, strlen(c->wire));
			if (has_root(&c->q))
				imap_resp_raw(&r, " \"\"");
			imap_resp_crlf(&r);
		}
		if (has_root(&c->q))
			write_quota(&r, &c->q);
		imap_resp_send(&r, s->conn);
		imap_resp_free(&r);
		imap_reply_tagged(s, tag, "OK", NULL, c->mailbox != NULL
				  ? "GETQUOTAROOT completed." : "GETQUOTA completed.");
	}
	conn_uncork(s->conn);
	imap_cmd_finish(s);
}

static enum imap_cmd_result submit(struct imap_session *s, const char *tag, struct quota_cmd *c)
{
	c->s = s;
	c->job.work = quota_work;
	c->job.done = quota_done;
	imap_cmd_hold(s, tag, c, quota_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &c->job);
	return IMAP_CMD_AGAIN;
}

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && !a->streamed && a->str != NULL &&
	       strlen(a->str) == a->len;
}

enum imap_cmd_result imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "GETQUOTAROOT needs a mailbox name.";
	struct quota_cmd *c = xcalloc(1, sizeof(*c));
	if (cmd->n_args != 1 || !is_astring(&cmd->args[0]) ||
	    imap_arg_mailbox(&cmd->args[0], imap_session_utf8(s), &c->mailbox, &why) < 0) {
		quota_free(c);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	c->wire = xstrdup(cmd->args[0].str);
	return submit(s, cmd->tag, c);
}

enum imap_cmd_result imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 1 || !is_astring(&cmd->args[0])) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "GETQUOTA needs a quota root name.");
		return IMAP_CMD_DONE;
	}
	if (cmd->args[0].len != 0) {
		imap_reply_tagged(s, cmd->tag, "NO", "NONEXISTENT",
				  "No such quota root (yours is \"\").");
		return IMAP_CMD_DONE;
	}
	return submit(s, cmd->tag, xcalloc(1, sizeof(struct quota_cmd)));
}

/* setquota_list ::= "(" [setquota_resource *(SP setquota_resource)] ")"
 * setquota_resource ::= atom SP number64 */
static bool setquota_list_ok(const struct imap_arg *list)
{
	if (list->type != IMAP_ARG_LIST || list->list_count % 2 != 0)
		return false;
	for (size_t i = 0; i < list->list_count; i += 2) {
		const struct imap_arg *name = &list->list[i], *value = &list->list[i + 1];
		if (name->type != IMAP_ARG_ATOM || value->type != IMAP_ARG_ATOM ||
		    value->len == 0 || value->len > 19)
			return false;
		for (size_t k = 0; k < value->len; k++)
			if (value->str[k] < '0' || value->str[k] > '9')
				return false;
	}
	return true;
}

enum imap_cmd_result imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 2 || !is_astring(&cmd->args[0]) || !setquota_list_ok(&cmd->args[1])) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  "SETQUOTA needs a quota root and a list of resource limits.");
		return IMAP_CMD_DONE;
	}
	/* RFC 9208 4.1.3: a server that does not let users set quotas says
	 * NO (and does not advertise QUOTASET). */
	imap_reply_tagged(s, cmd->tag, "NO", "NOPERM",
			  "Quotas are set by the administrator.");
	return IMAP_CMD_DONE;
}
