/* METADATA (RFC 5464): GETMETADATA and SETMETADATA over the annotations
 * the store keeps in the user's index (store_annot_*), on the storage
 * pool. Mailbox "" names the server's entries, among them the read-only
 * /shared/admin from [imap] metadata_admin. The store holds one user, so
 * /shared entries are the user's own, kept apart from /private ones (no
 * one else can see either). Limits are [imap] metadata_max_value_size and
 * metadata_max_entries; private annotations are supported on every
 * mailbox (never [METADATA NOPRIVATE]); no unsolicited METADATA responses
 * are sent. */
#include "server/imap/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/metadata.h"
#include "server/imap/reply.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

struct meta_cmd {
	struct sess_job job;
	struct imap_session *s;
	bool set;
	char *mailbox;               /* store name; NULL = the server */
	char *wire;                  /* ... as the client sent it */
	char **entries;              /* GET: asked for */
	size_t n_entries;
	struct imap_metadata_opts opts;
	char *admin;
	struct store_annot *list;    /* GET: found; SET: changes */
	size_t n_list;
	struct store_annot_limits lim;
	int err;
};

static void meta_free(void *ctx)
{
	struct meta_cmd *c = ctx;
	free(c->mailbox);
	free(c->wire);
	free(c->admin);
	imap_metadata_entries_free(c->entries, c->n_entries);
	store_annot_free(c->list, c->n_list);
	free(c);
}

static void meta_work(struct sess_job *job)
{
	struct meta_cmd *c = (struct meta_cmd *)job;
	struct store_user *u = c->s->store_user;
	if (c->set) {
		c->err = store_annot_set(u, c->mailbox, c->list, c->n_list, &c->lim);
		return;
	}
	c->err = imap_metadata_read(u, c->mailbox, c->admin, c->entries, c->n_entries,
				    c->opts.depth, &c->list, &c->n_list);
}

static void meta_done(struct sess_job *job)
{
	struct meta_cmd *c = (struct meta_cmd *)job;
	struct imap_session *s = c->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	const char *tag = imap_cmd_tag(s);
	char code[64];
	conn_cork(s->conn);
	if (c->set && c->err == STORE_ETOOBIG) {
		snprintf(code, sizeof(code), "METADATA MAXSIZE %zu", c->lim.max_value);
		imap_reply_tagged(s, tag, "NO", code, "Value too long: nothing was changed.");
	} else if (c->set && c->err == STORE_EQUOTA) {
		imap_reply_tagged(s, tag, "NO", "METADATA TOOMANY",
				  "Too many entries: nothing was changed.");
	} else if (c->err != 0) {
		imap_reply_store_error(s, tag, c->err, IMAP_STORE_CTX_MAILBOX);
	} else if (c->set) {
		imap_reply_tagged(s, tag, "OK", NULL, "SETMETADATA completed.");
	} else {
		struct imap_resp r;
		uint64_t longest = 0;
		imap_resp_init(&r, imap_session_utf8(s));
		imap_metadata_write(&r, c->wire, false, c->entries, c->n_entries, c->list,
				    c->n_list, &c->opts, &longest);
		imap_resp_send(&r, s->conn);
		imap_resp_free(&r);
		if (longest > 0) {
			snprintf(code, sizeof(code), "METADATA LONGENTRIES %" PRIu64, longest);
			imap_reply_tagged(s, tag, "OK", code, "GETMETADATA completed.");
		} else {
			imap_reply_tagged(s, tag, "OK", NULL, "GETMETADATA completed.");
		}
	}
	conn_uncork(s->conn);
	imap_cmd_finish(s);
}

/* The mailbox argument: "" for the server (mailbox stays NULL). */
static int meta_mailbox(struct imap_session *s, const struct imap_arg *a, struct meta_cmd *c,
			const char **why)
{
	if (a->type == IMAP_ARG_LIST || a->streamed || a->str == NULL ||
	    strlen(a->str) != a->len) {
		*why = "Mailbox name expected.";
		return -1;
	}
	if (a->len == 0 && a->type != IMAP_ARG_ATOM) {
		c->wire = xstrdup("");
		return 0;
	}
	if (imap_arg_mailbox(a, imap_session_utf8(s), &c->mailbox, why) < 0)
		return -1;
	c->wire = xstrdup(a->str);
	return 0;
}

static enum imap_cmd_result submit(struct imap_session *s, const char *tag, struct meta_cmd *c)
{
	const struct loft_config *cfg = conn_config(s->conn);
	c->s = s;
	c->lim.max_value = cfg->imap_metadata_max_value_size;
	c->lim.max_entries = cfg->imap_metadata_max_entries;
	c->job.work = meta_work;
	c->job.done = meta_done;
	imap_cmd_hold(s, tag, c, meta_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &c->job);
	return IMAP_CMD_AGAIN;
}

static enum imap_cmd_result bad(struct imap_session *s, const char *tag, struct meta_cmd *c,
				const char *why)
{
	meta_free(c);
	imap_reply_tagged(s, tag, "BAD", NULL, why);
	return IMAP_CMD_DONE;
}

/* GETMETADATA [(options)] mailbox (entry ...) | entry */
enum imap_cmd_result imap_cmd_getmetadata(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "GETMETADATA [(options)] mailbox entries";
	struct meta_cmd *c = xcalloc(1, sizeof(*c));
	size_t i = 0;
	c->opts.maxsize = UINT64_MAX;
	if (cmd->n_args == 3 && imap_metadata_opts(&cmd->args[i++], &c->opts, &why) < 0)
		return bad(s, cmd->tag, c, why);
	if (cmd->n_args - i != 2 || meta_mailbox(s, &cmd->args[i], c, &why) < 0 ||
	    imap_metadata_entries(&cmd->args[i + 1], &c->entries, &c->n_entries, &why) < 0)
		return bad(s, cmd->tag, c, why);
	const char *admin = conn_config(s->conn)->imap_metadata_admin;
	if (admin != NULL)
		c->admin = xstrdup(admin);
	return submit(s, cmd->tag, c);
}

/* A literal of SETMETADATA (its value, usually): one longer than a value
 * may be is refused before it is sent or read, with the reply RFC 5464
 * 4.3 asks for; the others are parsed into memory (the parser's literal
 * limits still apply: see docs/PROTOCOLS.md). */
void imap_setmetadata_literal(struct imap_session *s, const struct imap_literal_info *info)
{
	size_t max = conn_config(s->conn)->imap_metadata_max_value_size;
	if (info->size > max) {
		char code[64];
		snprintf(code, sizeof(code), "METADATA MAXSIZE %zu", max);
		imap_reply_tagged(s, info->partial->tag, "NO", code,
				  "Value too long: nothing was changed.");
		/* answered: the parser drops the rest of the command */
		imap_parser_literal_refuse(s->parser, IMAP_ERROR_NO, NULL, "");
		return;
	}
	if (info->sync)
		imap_write_continuation(s->conn, "Ready for literal data");
	imap_parser_literal_buffer(s->parser);
}

/* SETMETADATA mailbox (entry value ...), value NIL deleting the entry. */
enum imap_cmd_result imap_cmd_setmetadata(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "SETMETADATA mailbox (entry value ...)";
	struct meta_cmd *c = xcalloc(1, sizeof(*c));
	c->set = true;
	if (cmd->n_args != 2 || meta_mailbox(s, &cmd->args[0], c, &why) < 0)
		return bad(s, cmd->tag, c, why);
	const struct imap_arg *l = &cmd->args[1];
	if (l->type != IMAP_ARG_LIST || l->list_count == 0 || l->list_count % 2 != 0)
		return bad(s, cmd->tag, c, "SETMETADATA mailbox (entry value ...)");
	c->list = xcalloc(l->list_count / 2, sizeof(*c->list));
	for (size_t i = 0; i < l->list_count; i += 2) {
		const struct imap_arg *v = &l->list[i + 1];
		struct store_annot *a = &c->list[c->n_list++];
		if (imap_metadata_entry(&l->list[i], true, &a->entry, &why) < 0)
			return bad(s, cmd->tag, c, why);
		if (v->type == IMAP_ARG_ATOM && strcasecmp(v->str, "NIL") == 0)
			continue;
		if (v->type == IMAP_ARG_LIST || v->type == IMAP_ARG_ATOM || v->streamed ||
		    v->str == NULL)
			return bad(s, cmd->tag, c, "A value is a string, a literal or NIL.");
		a->value = xmalloc(v->len + 1);
		memcpy(a->value, v->str, v->len);
		a->value[v->len] = '\0';
		a->len = v->len;
	}
	for (size_t i = 0; i < c->n_list; i++) {
		if (c->mailbox == NULL && strcmp(c->list[i].entry, "/shared/admin") == 0) {
			meta_free(c);
			imap_reply_tagged(s, cmd->tag, "NO", "NOPERM",
					  "/shared/admin is set by the administrator.");
			return IMAP_CMD_DONE;
		}
	}
	return submit(s, cmd->tag, c);
}
