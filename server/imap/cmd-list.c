/* LIST (RFC 9051 6.3.9, RFC 3501 6.3.8 with RFC 5258 LIST-EXTENDED, RFC 6154
 * SPECIAL-USE, RFC 5819 LIST-STATUS, RFC 9590 LIST-METADATA), LSUB (RFC 3501 6.3.9) and NAMESPACE
 * (RFC 2342, RFC 9051 6.3.10). The arguments are read on the loop; a pool
 * job reads the mailbox tree and subscriptions, selects the names
 * (list-tree.c) and formats every response line; the loop then writes them
 * out in slices, pausing while the client does not read.
 *
 * The hierarchy delimiter is "/", and there is one personal namespace with
 * the empty prefix: "INBOX", "Sent", "Lists/Work". */
#include "server/imap/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "lib/xmem.h"
#include "server/imap/caps.h"
#include "server/imap/list-match.h"
#include "server/imap/metadata.h"
#include "server/imap/list-tree.h"
#include "server/imap/reply.h"
#include "server/imap/special-use.h"
#include "server/imap/status-items.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

/* Output slice written per step while the client keeps reading. */
#define LIST_SLICE 65536

struct list_cmd {
	struct sess_job job;
	struct imap_session *s;
	bool lsub;
	struct imap_list_query q;
	struct imap_match **patterns;
	size_t n_patterns;
	bool ret_subscribed, ret_status;
	struct imap_status_req status;
	/* RETURN (METADATA ...): entries and MAXSIZE; the longest value left
	 * out ([METADATA LONGENTRIES n]) */
	char **meta_entries;
	size_t n_meta;
	struct imap_metadata_opts meta_opts;
	uint64_t meta_longest;
	bool utf8;
	uint64_t appendlimit;
	/* results */
	int err;
	char *out;
	size_t out_len, out_off;
};

static void list_free(void *ctx)
{
	struct list_cmd *l = ctx;
	for (size_t i = 0; i < l->n_patterns; i++)
		imap_match_free(&l->patterns[i]);
	free(l->patterns);
	imap_metadata_entries_free(l->meta_entries, l->n_meta);
	free(l->out);
	free(l);
}

/* ---- formatting (pool thread) ---- */

static void put_attr(struct imap_resp *r, bool *first, const char *attr)
{
	if (!*first)
		imap_resp_rawn(r, " ", 1);
	imap_resp_raw(r, attr);
	*first = false;
}

static void write_entry(const struct list_cmd *l, struct imap_resp *r,
			const struct imap_list_entry *e)
{
	imap_resp_raw(r, l->lsub ? "* LSUB (" : "* LIST (");
	bool first = true;
	switch (l->q.mode) {
	case IMAP_LIST_LSUB:
		if (e->level)
			put_attr(r, &first, "\\Noselect");
		break;
	case IMAP_LIST_PLAIN:
		if (e->level) {
			put_attr(r, &first, "\\Noselect \\HasChildren");
			break;
		}
		put_attr(r, &first, e->has_children ? "\\HasChildren" : "\\HasNoChildren");
		break;
	case IMAP_LIST_EXTENDED:
		if (!e->exists)
			put_attr(r, &first, "\\NonExistent");
		if ((l->ret_subscribed || l->q.sel_subscribed) && e->subscribed)
			put_attr(r, &first, "\\Subscribed");
		/* always, also for \NonExistent names (RFC 5258 4: MUST with
		 * CHILDREN, MAY without) */
		put_attr(r, &first, e->has_children ? "\\HasChildren" : "\\HasNoChildren");
		break;
	}
	if (l->q.mode != IMAP_LIST_LSUB && e->exists && e->special_use != 0) {
		size_t before = r->len;
		imap_special_use_write(r, e->special_use);
		if (first) {    /* drop the leading space */
			memmove(r->data + before, r->data + before + 1, r->len - before - 1);
			r->len--;
		}
	}
	imap_resp_raw(r, ") \"/\" ");
	imap_resp_mailbox(r, e->name);
	if (e->childinfo) {
		imap_resp_raw(r, " (\"CHILDINFO\" (");
		if (l->q.sel_subscribed)
			imap_resp_raw(r, l->q.sel_special_use ? "\"SUBSCRIBED\" \"SPECIAL-USE\""
							      : "\"SUBSCRIBED\"");
		else
			imap_resp_raw(r, "\"SPECIAL-USE\"");
		imap_resp_raw(r, "))");
	}
	imap_resp_crlf(r);
}

static void list_work(struct sess_job *job)
{
	struct list_cmd *l = (struct list_cmd *)job;
	struct store_user *u = l->s->store_user;
	struct store_mailbox_info *boxes = NULL;
	size_t n_boxes = 0, n_subs = 0;
	char **subs = NULL;
	l->err = store_mailbox_list(u, &boxes, &n_boxes);
	bool want_subs = l->q.mode == IMAP_LIST_LSUB || l->q.sel_subscribed;
	if (l->err == 0 && want_subs)
		l->err = store_subscriptions(u, &subs, &n_subs);
	if (l->err != 0) {
		store_mailbox_list_free(boxes, n_boxes);
		return;
	}
	struct imap_list_tree *tree = imap_list_tree_build(boxes, n_boxes, subs, n_subs);
	store_mailbox_list_free(boxes, n_boxes);
	store_strv_free(subs, n_subs);
	struct imap_list_entry *entries;
	size_t n;
	l->q.patterns = l->patterns;
	l->q.n_patterns = l->n_patterns;
	imap_list_tree_select(tree, &l->q, &entries, &n);
	struct imap_resp r;
	imap_resp_init(&r, l->utf8);
	for (size_t i = 0; i < n; i++) {
		write_entry(l, &r, &entries[i]);
		if (!entries[i].exists)
			continue;
		struct store_status st;
		if (l->ret_status && store_status_items(u, entries[i].name,
							imap_status_store_items(&l->status),
							&st) == 0)
			/* gone meanwhile: RFC 5819 says leave it out */
			imap_status_write(&r, entries[i].name, NULL, &l->status, &st, l->appendlimit);
		struct store_annot *meta;
		size_t n_meta;
		if (l->meta_entries != NULL &&
		    imap_metadata_read(u, entries[i].name, NULL, l->meta_entries, l->n_meta, 0,
				       &meta, &n_meta) == 0) {
			imap_metadata_write(&r, entries[i].name, true, l->meta_entries, l->n_meta,
					    meta, n_meta, &l->meta_opts, &l->meta_longest);
			store_annot_free(meta, n_meta);
		}
	}
	free(entries);
	imap_list_tree_free(&tree);
	l->out = imap_resp_steal(&r, &l->out_len);
}

/* ---- output (loop) ---- */

static enum imap_cmd_result write_more(struct imap_session *s)
{
	struct list_cmd *l = s->cmd->ctx;
	while (l->out_off < l->out_len) {
		size_t n = l->out_len - l->out_off;
		if (n > LIST_SLICE)
			n = LIST_SLICE;
		conn_write(s->conn, l->out + l->out_off, n);
		l->out_off += n;
		if (l->out_off < l->out_len && conn_output_full(s->conn)) {
			conn_debug(s->conn, "list: output paused at %zu of %zu bytes", l->out_off,
				   l->out_len);
			return IMAP_CMD_AGAIN;   /* on_drained continues */
		}
	}
	char code[64] = "";
	if (l->meta_longest > 0)
		snprintf(code, sizeof(code), "METADATA LONGENTRIES %" PRIu64, l->meta_longest);
	imap_reply_tagged(s, imap_cmd_tag(s), "OK", code[0] != '\0' ? code : NULL,
			  l->lsub ? "LSUB completed." : "LIST completed.");
	return IMAP_CMD_DONE;
}

static void list_done(struct sess_job *job)
{
	struct list_cmd *l = (struct list_cmd *)job;
	struct imap_session *s = l->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	conn_cork(s->conn);
	enum imap_cmd_result r = IMAP_CMD_DONE;
	if (l->err != 0) {
		imap_reply_store_error(s, imap_cmd_tag(s), l->err, IMAP_STORE_CTX_MAILBOX);
	} else {
		s->cmd->on_drained = write_more;
		r = write_more(s);
	}
	conn_uncork(s->conn);
	if (r == IMAP_CMD_DONE)
		imap_cmd_finish(s);
}

/* ---- arguments (loop) ---- */

static enum imap_cmd_result bad(struct imap_session *s, const struct imap_command *cmd,
				struct list_cmd *l, const char *why)
{
	list_free(l);
	imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
	return IMAP_CMD_DONE;
}

/* A reference or pattern argument as UTF-8 (NULL: not valid in the
 * session's encoding, which matches nothing). */
static char *decode_name(const struct list_cmd *l, const struct imap_arg *a)
{
	if (strlen(a->str) != a->len)
		return NULL;
	if (l->utf8)
		return imap_utf8_valid(a->str, a->len) ? xstrdup(a->str) : NULL;
	return mutf7_to_utf8(a->str);
}

static bool is_string(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && !a->streamed && a->str != NULL;
}

static void add_pattern(struct list_cmd *l, const char *reference, const struct imap_arg *a)
{
	char *pat = decode_name(l, a);
	if (pat == NULL || pat[0] == '\0') {
		/* Unusable or empty in an extended LIST: ignored (RFC 5258 3). */
		free(pat);
		return;
	}
	char *canon = imap_match_canonical(reference, pat);
	l->patterns = xrealloc(l->patterns, (l->n_patterns + 1) * sizeof(*l->patterns));
	l->patterns[l->n_patterns++] = imap_match_compile(canon);
	free(canon);
	free(pat);
}

static const char *select_options(struct list_cmd *l, const struct imap_arg *opts)
{
	bool recursive = false;
	for (size_t i = 0; i < opts->list_count; i++) {
		const struct imap_arg *o = &opts->list[i];
		if (imap_arg_is_atom(o, "SUBSCRIBED"))
			l->q.sel_subscribed = true;
		else if (imap_arg_is_atom(o, "REMOTE"))
			;   /* no remote mailboxes here: nothing to add */
		else if (imap_arg_is_atom(o, "RECURSIVEMATCH"))
			recursive = true;
		else if (imap_arg_is_atom(o, "SPECIAL-USE"))
			l->q.sel_special_use = true;
		else
			return "Unknown LIST selection option.";
	}
	if (recursive && !l->q.sel_subscribed && !l->q.sel_special_use)
		return "RECURSIVEMATCH needs another selection option.";
	l->q.sel_recursive = recursive;
	return NULL;
}

/* RFC 9590: METADATA [(MAXSIZE n)] <entry or (entries)>, i at METADATA;
 * leaves i at the last argument taken. */
static const char *return_metadata(struct list_cmd *l, const struct imap_arg *opts, size_t *i)
{
	const char *why;
	l->meta_opts.maxsize = UINT64_MAX;
	if (*i + 1 >= opts->list_count)
		return "METADATA needs entry names.";
	const struct imap_arg *a = &opts->list[++*i];
	if (a->type == IMAP_ARG_LIST && a->list_count > 0 &&
	    imap_arg_is_atom(&a->list[0], "MAXSIZE")) {
		if (a->list_count != 2 || imap_metadata_opts(a, &l->meta_opts, &why) < 0)
			return "METADATA options are (MAXSIZE n).";
		if (*i + 1 >= opts->list_count)
			return "METADATA needs entry names.";
		a = &opts->list[++*i];
	}
	if (imap_metadata_entries(a, &l->meta_entries, &l->n_meta, &why) < 0)
		return why;
	return NULL;
}

static const char *return_options(struct imap_session *s, struct list_cmd *l,
				  const struct imap_arg *opts)
{
	if (opts->type != IMAP_ARG_LIST)
		return "RETURN needs a list of options.";
	for (size_t i = 0; i < opts->list_count; i++) {
		const struct imap_arg *o = &opts->list[i];
		if (imap_arg_is_atom(o, "SUBSCRIBED")) {
			l->ret_subscribed = true;
		} else if (imap_arg_is_atom(o, "CHILDREN") || imap_arg_is_atom(o, "SPECIAL-USE")) {
			;   /* always returned */
		} else if (imap_arg_is_atom(o, "STATUS")) {
			const char *why;
			if (i + 1 >= opts->list_count ||
			    imap_status_parse(&opts->list[i + 1],
					      (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0,
					      &l->status, &why) < 0)
				return "STATUS needs a list of STATUS data items.";
			if (imap_caps_status_refused(s, &l->status, &why))
				return why;
			l->ret_status = true;
			i++;
		} else if (imap_arg_is_atom(o, "METADATA") && imap_caps_on(s, IMAP_CAP_METADATA) &&
			   l->meta_entries == NULL) {
			const char *why = return_metadata(l, opts, &i);
			if (why != NULL)
				return why;
		} else {
			return "Unknown LIST return option.";
		}
	}
	return NULL;
}

static struct list_cmd *list_new(struct imap_session *s, bool lsub)
{
	struct list_cmd *l = xcalloc(1, sizeof(*l));
	l->s = s;
	l->lsub = lsub;
	l->utf8 = imap_session_utf8(s);
	l->appendlimit = conn_config(s->conn)->max_literal_size;
	l->q.mode = lsub ? IMAP_LIST_LSUB : IMAP_LIST_PLAIN;
	return l;
}

static enum imap_cmd_result submit(struct imap_session *s, const struct imap_command *cmd,
				   struct list_cmd *l)
{
	l->job.work = list_work;
	l->job.done = list_done;
	imap_cmd_hold(s, cmd->tag, l, list_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &l->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	struct list_cmd *l = list_new(s, false);
	size_t i = 0;
	const char *why;
	bool extended = false;
	if (i < cmd->n_args && cmd->args[i].type == IMAP_ARG_LIST) {
		extended = true;
		if ((why = select_options(l, &cmd->args[i])) != NULL)
			return bad(s, cmd, l, why);
		i++;
	}
	if (i + 2 > cmd->n_args || !is_string(&cmd->args[i]))
		return bad(s, cmd, l, "LIST needs a reference and a mailbox pattern.");
	const struct imap_arg *ref_arg = &cmd->args[i++];
	const struct imap_arg *pat_arg = &cmd->args[i++];
	if (i < cmd->n_args) {
		if (!imap_arg_is_atom(&cmd->args[i], "RETURN") || i + 2 != cmd->n_args)
			return bad(s, cmd, l, "Invalid LIST arguments.");
		if ((why = return_options(s, l, &cmd->args[i + 1])) != NULL)
			return bad(s, cmd, l, why);
		extended = true;
	}
	if (pat_arg->type == IMAP_ARG_LIST) {
		if (pat_arg->list_count == 0)
			return bad(s, cmd, l, "LIST needs at least one mailbox pattern.");
		for (size_t k = 0; k < pat_arg->list_count; k++)
			if (!is_string(&pat_arg->list[k]))
				return bad(s, cmd, l, "Mailbox patterns must be strings.");
		extended = true;
	} else if (!is_string(pat_arg)) {
		return bad(s, cmd, l, "LIST needs a reference and a mailbox pattern.");
	}
	char *reference = decode_name(l, ref_arg);
	if (reference == NULL)
		return bad(s, cmd, l, l->utf8 ? "Reference is not valid UTF-8."
					      : "Reference is not valid modified UTF-7.");
	if (!extended && pat_arg->len == 0) {
		/* The delimiter and the root (RFC 9051 6.3.9): our names are
		 * not rooted, so the root is always "". */
		free(reference);
		list_free(l);
		imap_write_untagged(s->conn, "LIST", NULL, "(\\Noselect) \"/\" \"\"");
		imap_reply_tagged(s, cmd->tag, "OK", NULL, "LIST completed.");
		return IMAP_CMD_DONE;
	}
	if (extended)
		l->q.mode = IMAP_LIST_EXTENDED;
	if (pat_arg->type == IMAP_ARG_LIST)
		for (size_t k = 0; k < pat_arg->list_count; k++)
			add_pattern(l, reference, &pat_arg->list[k]);
	else
		add_pattern(l, reference, pat_arg);
	free(reference);
	return submit(s, cmd, l);
}

enum imap_cmd_result imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	struct list_cmd *l = list_new(s, true);
	if (cmd->n_args != 2 || !is_string(&cmd->args[0]) || !is_string(&cmd->args[1]))
		return bad(s, cmd, l, "LSUB needs a reference and a mailbox pattern.");
	char *reference = decode_name(l, &cmd->args[0]);
	if (reference == NULL)
		return bad(s, cmd, l, l->utf8 ? "Reference is not valid UTF-8."
					      : "Reference is not valid modified UTF-7.");
	add_pattern(l, reference, &cmd->args[1]);
	free(reference);
	return submit(s, cmd, l);
}

enum imap_cmd_result imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "NAMESPACE takes no arguments.");
		return IMAP_CMD_DONE;
	}
	/* One personal namespace, no prefix; no other users' or shared ones. */
	imap_write_untagged(s->conn, "NAMESPACE", NULL, "((\"\" \"/\")) NIL NIL");
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "NAMESPACE completed.");
	return IMAP_CMD_DONE;
}
