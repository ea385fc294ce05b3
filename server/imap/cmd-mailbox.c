/* IMAP commands that change the mailbox tree (RFC 9051 6.3.4-6.3.8, RFC
 * 3501 6.3.3-6.3.7): CREATE (with RFC 6154 USE), DELETE, RENAME, SUBSCRIBE
 * and UNSUBSCRIBE. The arguments are checked on the loop; the store call
 * runs on the storage pool while the command is held, and the tagged reply
 * comes from the job's completion. */
#include "server/imap/commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/special-use.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

enum mbox_op_kind { OP_CREATE, OP_DELETE, OP_RENAME, OP_SUBSCRIBE, OP_UNSUBSCRIBE };

struct mbox_op {
	struct sess_job job;
	struct imap_session *s;
	enum mbox_op_kind kind;
	char *name, *new_name;
	uint32_t special_use;
	int err;
	char mailboxid[STORE_ID_LEN + 2];  /* CREATE's, "" if not known */
};

static void op_free(void *ctx)
{
	struct mbox_op *op = ctx;
	free(op->name);
	free(op->new_name);
	free(op);
}

static void op_work(struct sess_job *job)
{
	struct mbox_op *op = (struct mbox_op *)job;
	struct store_user *u = op->s->store_user;
	switch (op->kind) {
	case OP_CREATE: {
		op->err = store_mailbox_create(u, op->name, op->special_use);
		/* OK [MAILBOXID (...)] (RFC 8474 4.2); a mailbox deleted at once
		 * by another session just goes without it */
		struct store_status st;
		if (op->err == STORE_OK && store_status(u, op->name, &st) == STORE_OK)
			memcpy(op->mailboxid, st.mailboxid, sizeof(op->mailboxid));
		break;
	}
	case OP_DELETE: op->err = store_mailbox_delete(u, op->name); break;
	case OP_RENAME: op->err = store_mailbox_rename(u, op->name, op->new_name); break;
	case OP_SUBSCRIBE: op->err = store_subscribe(u, op->name, true); break;
	case OP_UNSUBSCRIBE: op->err = store_subscribe(u, op->name, false); break;
	}
}

static const char *const done_text[] = {
	"CREATE completed.", "DELETE completed.", "RENAME completed.",
	"SUBSCRIBE completed.", "UNSUBSCRIBE completed.",
};

static void op_done(struct sess_job *job)
{
	struct mbox_op *op = (struct mbox_op *)job;
	struct imap_session *s = op->s;
	if (sess_alive(&s->core)) {
		conn_cork(s->conn);
		if (op->err == STORE_OK && op->mailboxid[0] != '\0' &&
		    imap_caps_on(s, IMAP_CAP_OBJECTID)) {
			char code[STORE_ID_LEN + 16];
			snprintf(code, sizeof(code), "MAILBOXID (%s)", op->mailboxid);
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", code, done_text[op->kind]);
		} else if (op->err == STORE_OK) {
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, done_text[op->kind]);
		} else {
			enum imap_store_ctx ctx = op->kind == OP_CREATE ? IMAP_STORE_CTX_CREATE
				: op->kind == OP_DELETE ? IMAP_STORE_CTX_DELETE
				: op->kind == OP_RENAME ? IMAP_STORE_CTX_RENAME
				: IMAP_STORE_CTX_CREATE;
			imap_reply_store_error(s, imap_cmd_tag(s), op->err, ctx);
		}
		conn_uncork(s->conn);
	}
	imap_cmd_finish(s);
}

static enum imap_cmd_result submit(struct imap_session *s, const struct imap_command *cmd,
				   struct mbox_op *op)
{
	op->s = s;
	op->job.work = op_work;
	op->job.done = op_done;
	imap_cmd_hold(s, cmd->tag, op, op_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &op->job);
	return IMAP_CMD_AGAIN;
}

static enum imap_cmd_result bad(struct imap_session *s, const struct imap_command *cmd,
				const char *why)
{
	imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
	return IMAP_CMD_DONE;
}

/* A name a client may give a new mailbox: Net-Unicode without C1 controls
 * and line/paragraph separators (RFC 9051 5.1, RFC 9755 3); the store
 * refuses C0 controls, empty levels and the rest. */
static bool name_creatable(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	while (*p != '\0') {
		uint32_t cp = *p;
		size_t n = *p < 0x80 ? 1 : utf8_decode(p, &cp);
		if (n == 0 || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
			return false;
		p += n;
	}
	return true;
}

/* The mailbox name argument i, or a BAD reply (NULL). */
static char *mailbox_arg(struct imap_session *s, const struct imap_command *cmd, size_t i)
{
	char *name;
	const char *why;
	if (i >= cmd->n_args) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Mailbox name expected.");
		return NULL;
	}
	if (imap_arg_mailbox(&cmd->args[i], imap_session_utf8(s), &name, &why) < 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return NULL;
	}
	return name;
}

/* A new name: one trailing separator is the client's declaration that it
 * will create names below it (RFC 9051 6.3.4); we need no such declaration
 * and drop it. NULL after a NO reply. */
static char *new_name(struct imap_session *s, const struct imap_command *cmd, char *name)
{
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if (!name_creatable(name)) {
		imap_reply_tagged(s, cmd->tag, "NO", "CANNOT",
				  "Mailbox names cannot contain control characters.");
		free(name);
		return NULL;
	}
	return name;
}

/* CREATE's optional "(USE (\Drafts ...))" (RFC 4466 create-params, RFC 6154
 * 3). Returns 0, -1 after a BAD reply, -2 after a NO [USEATTR] reply. */
static int create_params(struct imap_session *s, const struct imap_command *cmd,
			 const struct imap_arg *params, uint32_t *use_r)
{
	*use_r = 0;
	if (params->type != IMAP_ARG_LIST) {
		bad(s, cmd, "CREATE parameters must be a list.");
		return -1;
	}
	for (size_t i = 0; i < params->list_count; i++) {
		const struct imap_arg *p = &params->list[i];
		if (!imap_arg_is_atom(p, "USE") || i + 1 >= params->list_count ||
		    params->list[i + 1].type != IMAP_ARG_LIST) {
			bad(s, cmd, p->type == IMAP_ARG_ATOM && !imap_arg_is_atom(p, "USE")
			    ? "Unknown CREATE parameter." : "USE needs a list of attributes.");
			return -1;
		}
		const struct imap_arg *uses = &params->list[++i];
		for (size_t k = 0; k < uses->list_count; k++) {
			const struct imap_arg *u = &uses->list[k];
			if (u->type != IMAP_ARG_ATOM || u->str[0] != '\\') {
				bad(s, cmd, "Special-use attributes are atoms like \\Drafts.");
				return -1;
			}
			uint32_t bit = imap_special_use_bit(u->str);
			if ((bit & imap_special_use_creatable()) == 0) {
				imap_reply_tagged(s, cmd->tag, "NO", "USEATTR",
						  bit == 0 ? "Unknown special-use attribute."
							   : "This server has no virtual "
							     "mailboxes for \\All or \\Flagged.");
				return -2;
			}
			*use_r |= bit;
		}
	}
	return 0;
}

enum imap_cmd_result imap_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 1 || cmd->n_args > 2)
		return bad(s, cmd, "CREATE needs a mailbox name.");
	uint32_t use = 0;
	if (cmd->n_args == 2 && create_params(s, cmd, &cmd->args[1], &use) < 0)
		return IMAP_CMD_DONE;
	char *name = mailbox_arg(s, cmd, 0);
	if (name == NULL || (name = new_name(s, cmd, name)) == NULL)
		return IMAP_CMD_DONE;
	if (strcmp(name, "INBOX") == 0) {
		free(name);
		imap_reply_tagged(s, cmd->tag, "NO", "ALREADYEXISTS", "INBOX always exists.");
		return IMAP_CMD_DONE;
	}
	struct mbox_op *op = xcalloc(1, sizeof(*op));
	op->kind = OP_CREATE;
	op->name = name;
	op->special_use = use;
	return submit(s, cmd, op);
}

enum imap_cmd_result imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 2)
		return bad(s, cmd, "RENAME needs the current and the new mailbox name.");
	char *from = mailbox_arg(s, cmd, 0);
	if (from == NULL)
		return IMAP_CMD_DONE;
	char *to = mailbox_arg(s, cmd, 1);
	if (to == NULL || (to = new_name(s, cmd, to)) == NULL) {
		free(from);
		return IMAP_CMD_DONE;
	}
	struct mbox_op *op = xcalloc(1, sizeof(*op));
	op->kind = OP_RENAME;
	op->name = from;
	op->new_name = to;
	return submit(s, cmd, op);
}

/* DELETE, SUBSCRIBE, UNSUBSCRIBE: one mailbox name. */
static enum imap_cmd_result one_name(struct imap_session *s, const struct imap_command *cmd,
				     enum mbox_op_kind kind, const char *usage)
{
	if (cmd->n_args != 1)
		return bad(s, cmd, usage);
	char *name = mailbox_arg(s, cmd, 0);
	if (name == NULL)
		return IMAP_CMD_DONE;
	struct mbox_op *op = xcalloc(1, sizeof(*op));
	op->kind = kind;
	op->name = name;
	return submit(s, cmd, op);
}

enum imap_cmd_result imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	return one_name(s, cmd, OP_DELETE, "DELETE needs a mailbox name.");
}

enum imap_cmd_result imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return one_name(s, cmd, OP_SUBSCRIBE, "SUBSCRIBE needs a mailbox name.");
}

enum imap_cmd_result imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return one_name(s, cmd, OP_UNSUBSCRIBE, "UNSUBSCRIBE needs a mailbox name.");
}
