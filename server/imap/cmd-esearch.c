/* ESEARCH (RFC 7377 MULTISEARCH): one search program over several
 * mailboxes, answered per mailbox as "* ESEARCH (TAG "t" MAILBOX "m"
 * UIDVALIDITY n) UID ...", always with UIDs. The sources are RFC 5465's
 * filters (selected, inboxes, personal, subscribed, subtree, subtree-one,
 * mailboxes); no IN means the selected mailbox. The mailboxes are listed
 * and searched on the storage pool one slice per job (the selected
 * mailbox through the session's own view, the others through a read-only
 * view opened for the search); each mailbox's answer is written as soon
 * as it is complete. Mailboxes that do not exist, cannot be opened or have
 * no match get no response. */
#include "server/imap/commands.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/search-out.h"
#include "server/imap/search-run.h"
#include "server/imap/selected.h"
#include "server/imap/store-errors.h"
#include "server/services.h"

enum src_filter {
	SRC_SELECTED = 1u << 0,
	SRC_INBOXES = 1u << 1,
	SRC_PERSONAL = 1u << 2,
	SRC_SUBSCRIBED = 1u << 3,
};

struct src_names {
	char **v;
	size_t n;
};

struct esearch_cmd {
	struct sess_job job;
	struct imap_session *s;
	struct imap_search_parse parse;
	unsigned filters;                 /* SRC_* */
	struct src_names subtree, subtree_one, boxes;
	bool utf8;
	char *sel_name;                   /* the selected mailbox, or NULL */
	/* on the pool */
	bool listed;
	char **names;
	size_t n_names, next;
	struct store_mailbox *mbox;
	struct store_view *view;
	bool own;                         /* mbox/view opened here */
	const char *cur;                  /* name being searched */
	uint32_t uidvalidity;
	struct store_search_run *run;
	struct store_uid_set result;
	struct imap_resp out;             /* complete answers not yet sent */
	int err;
	bool finished;
	/* on the loop */
	char *pending;
	size_t pending_len, pending_off;
};

static void names_free(struct src_names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static void close_current(struct esearch_cmd *e)
{
	store_search_run_free(&e->run);
	if (e->own) {
		store_view_close(&e->view);
		store_mailbox_close(&e->mbox);
	}
	e->mbox = NULL;
	e->view = NULL;
	e->own = false;
	store_uid_set_free(&e->result);
}

static void esearch_free(void *ctx)
{
	struct esearch_cmd *e = ctx;
	close_current(e);
	imap_search_parse_free(&e->parse);
	names_free(&e->subtree);
	names_free(&e->subtree_one);
	names_free(&e->boxes);
	for (size_t i = 0; i < e->n_names; i++)
		free(e->names[i]);
	free(e->names);
	free(e->sel_name);
	imap_resp_free(&e->out);
	free(e->pending);
	free(e);
}

/* ---- sources (RFC 5465 6 filters, RFC 7377 2) ---- */

static bool under(const char *name, const char *top, bool one_level)
{
	size_t n = strlen(top);
	if (strcmp(name, top) == 0)
		return true;
	if (strncmp(name, top, n) != 0 || name[n] != '/')
		return false;
	return !one_level || strchr(name + n + 1, '/') == NULL;
}

static bool named(const struct src_names *l, const char *name, int how)
{
	for (size_t i = 0; i < l->n; i++)
		if (how == 0 ? strcmp(name, l->v[i]) == 0 : under(name, l->v[i], how == 2))
			return true;
	return false;
}

static bool wanted(const struct esearch_cmd *e, const struct store_mailbox_info *b)
{
	if ((e->filters & SRC_PERSONAL) ||
	    ((e->filters & SRC_SELECTED) && e->sel_name != NULL &&
	     strcmp(b->name, e->sel_name) == 0) ||
	    ((e->filters & SRC_INBOXES) && strcmp(b->name, "INBOX") == 0) ||
	    ((e->filters & SRC_SUBSCRIBED) && b->subscribed))
		return true;
	return named(&e->boxes, b->name, 0) || named(&e->subtree, b->name, 1) ||
	       named(&e->subtree_one, b->name, 2);
}

static int list_sources(struct esearch_cmd *e)
{
	struct store_mailbox_info *boxes = NULL;
	size_t n = 0;
	int err = store_mailbox_list(e->s->store_user, &boxes, &n);
	if (err != 0)
		return err;
	e->names = xcalloc(n + 1, sizeof(*e->names));
	for (size_t i = 0; i < n; i++)
		if (wanted(e, &boxes[i]))
			e->names[e->n_names++] = xstrdup(boxes[i].name);
	store_mailbox_list_free(boxes, n);
	return 0;
}

/* ---- the search (pool) ---- */

static void write_answer(struct esearch_cmd *e)
{
	if (e->result.count == 0)
		return;
	struct imap_resp *r = &e->out;
	unsigned ret = e->parse.ret;
	imap_resp_printf(r, "* ESEARCH (TAG \"%s\" MAILBOX ", imap_cmd_tag(e->s));
	imap_resp_mailbox(r, e->cur);
	imap_resp_printf(r, " UIDVALIDITY %u) UID", e->uidvalidity);
	if (ret & IMAP_SRET_MIN)
		imap_resp_printf(r, " MIN %u", e->result.ranges[0].lo);
	if (ret & IMAP_SRET_MAX)
		imap_resp_printf(r, " MAX %u", e->result.ranges[e->result.count - 1].hi);
	if (ret & IMAP_SRET_COUNT)
		imap_resp_printf(r, " COUNT %llu",
				 (unsigned long long)store_uid_set_size(&e->result));
	if (ret & IMAP_SRET_ALL) {
		struct imap_numbers w;
		struct imap_outbuf o = { 0 };
		imap_numbers_init(&w, &e->result, NULL, true, true);
		(void)imap_numbers_write(&w, &o, SIZE_MAX);
		imap_resp_raw(r, " ALL ");
		imap_resp_rawn(r, o.data, o.len);
		imap_outbuf_free(&o);
	}
	imap_resp_crlf(r);
}

/* Open the next source mailbox; false when none is left. */
static bool open_next(struct esearch_cmd *e)
{
	struct imap_selected *sel = e->s->sel;
	while (e->next < e->n_names) {
		e->cur = e->names[e->next++];
		if (sel != NULL && e->sel_name != NULL && strcmp(e->cur, e->sel_name) == 0) {
			e->mbox = sel->mbox;
			e->view = sel->view;
			e->own = false;
		} else if (store_mailbox_open(e->s->store_user, e->cur, true, &e->mbox) == 0) {
			e->own = true;
			if (store_view_open(e->mbox, &e->view) != 0) {
				store_mailbox_close(&e->mbox);
				e->own = false;
				continue;
			}
		} else {
			continue;       /* gone meanwhile: no answer */
		}
		struct store_status st;
		if (store_mailbox_status(e->mbox, &st) != 0 ||
		    store_search_run_new(e->mbox, e->view, e->parse.prog, &e->run) != 0) {
			close_current(e);
			continue;
		}
		e->uidvalidity = st.uidvalidity;
		return true;
	}
	return false;
}

static void job_work(struct sess_job *job)
{
	struct esearch_cmd *e = (struct esearch_cmd *)job;
	if (!e->listed) {
		e->listed = true;
		e->err = list_sources(e);
		if (e->err != 0)
			return;
	}
	if (e->run == NULL && !open_next(e)) {
		e->finished = true;
		return;
	}
	int r = store_search_run_step(e->run, IMAP_SEARCH_SLICE_MSGS, IMAP_SEARCH_SLICE_BYTES,
				      &e->result);
	if (r == 1)
		write_answer(e);
	if (r != 0)
		close_current(e);   /* done, or failed (a mailbox deleted meanwhile) */
}

/* ---- the loop ---- */

static void job_done(struct sess_job *job);

static enum imap_cmd_result send_pending(struct imap_session *s)
{
	struct esearch_cmd *e = s->cmd->ctx;
	s->cmd->on_drained = NULL;
	while (e->pending_off < e->pending_len) {
		size_t n = e->pending_len - e->pending_off;
		if (n > 65536)
			n = 65536;
		conn_write(s->conn, e->pending + e->pending_off, n);
		e->pending_off += n;
		if (conn_output_full(s->conn)) {
			s->cmd->on_drained = send_pending;
			return IMAP_CMD_AGAIN;
		}
	}
	free(e->pending);
	e->pending = NULL;
	e->pending_len = e->pending_off = 0;
	if (e->err != 0) {
		imap_reply_store_error(s, imap_cmd_tag(s), e->err, IMAP_STORE_CTX_MAILBOX);
		imap_cmd_finish(s);
		return IMAP_CMD_DONE;
	}
	if (e->finished) {
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "ESEARCH completed.");
		imap_cmd_finish(s);
		return IMAP_CMD_DONE;
	}
	sess_submit(&s->core, s->core.svc->storage_pool, &e->job);
	return IMAP_CMD_AGAIN;
}

static void job_done(struct sess_job *job)
{
	struct esearch_cmd *e = (struct esearch_cmd *)job;
	struct imap_session *s = e->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	e->pending = imap_resp_steal(&e->out, &e->pending_len);
	e->pending_off = 0;
	(void)send_pending(s);
}

/* ---- parsing ---- */

static int parse_names(struct imap_session *s, const struct imap_arg *a, struct src_names *out,
		       const char **why_r)
{
	const struct imap_arg *v;
	size_t n;
	if (imap_arg_items(a, &v, &n) < 0) {
		*why_r = "An empty list of mailboxes.";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char *name;
		if (v[i].type == IMAP_ARG_LIST ||
		    imap_arg_mailbox(&v[i], imap_session_utf8(s), &name, why_r) < 0)
			return -1;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = name;
	}
	return 0;
}

static int parse_sources(struct imap_session *s, struct esearch_cmd *e,
			 const struct imap_arg *l, const char **why_r)
{
	static const struct { const char *name; unsigned bit; } simple[] = {
		{ "selected", SRC_SELECTED }, { "selected-delayed", SRC_SELECTED },
		{ "inboxes", SRC_INBOXES }, { "personal", SRC_PERSONAL },
		{ "subscribed", SRC_SUBSCRIBED },
	};
	*why_r = "IN needs a list of mailbox filters.";
	if (l->type != IMAP_ARG_LIST || l->list_count == 0)
		return -1;
	for (size_t i = 0; i < l->list_count; i++) {
		const struct imap_arg *f = &l->list[i];
		*why_r = "Unknown mailbox filter.";
		if (f->type != IMAP_ARG_ATOM)
			return -1;
		bool known = false;
		for (size_t k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
			if (strcasecmp(f->str, simple[k].name) == 0) {
				e->filters |= simple[k].bit;
				known = true;
			}
		}
		if (known)
			continue;
		struct src_names *dst = strcasecmp(f->str, "subtree") == 0 ? &e->subtree
				      : strcasecmp(f->str, "subtree-one") == 0 ? &e->subtree_one
				      : strcasecmp(f->str, "mailboxes") == 0 ? &e->boxes : NULL;
		if (dst == NULL)
			return -1;
		*why_r = "The filter needs mailbox names.";
		if (i + 1 >= l->list_count || parse_names(s, &l->list[++i], dst, why_r) < 0)
			return -1;
	}
	return 0;
}

enum imap_cmd_result imap_cmd_esearch(struct imap_session *s, const struct imap_command *cmd)
{
	struct esearch_cmd *e = xcalloc(1, sizeof(*e));
	e->s = s;
	e->utf8 = imap_session_utf8(s);
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args;
	const char *why = NULL;
	bool only_selected = true;
	if (n >= 2 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].str, "IN") == 0) {
		if (parse_sources(s, e, &args[1], &why) < 0)
			goto bad;
		only_selected = e->filters == SRC_SELECTED && e->subtree.n == 0 &&
				e->subtree_one.n == 0 && e->boxes.n == 0;
		args += 2;
		n -= 2;
	} else {
		e->filters = SRC_SELECTED;
	}
	if (s->sel != NULL)
		e->sel_name = xstrdup(s->sel->name);
	struct imap_search_env env;
	imap_search_env(s, &env);
	if (!only_selected || s->sel == NULL) {
		/* RFC 7377 2: numbers of one mailbox mean nothing in another */
		env.view = NULL;
		env.saved = NULL;
		env.uids_only = true;
	}
	if (imap_search_parse(&env, IMAP_SEARCH_FORM_SEARCH, args, n, &e->parse) < 0) {
		imap_search_reply_error(s, cmd->tag, &e->parse);
		esearch_free(e);
		return IMAP_CMD_DONE;
	}
	if (e->parse.ret & ~(unsigned)(IMAP_SRET_MIN | IMAP_SRET_MAX | IMAP_SRET_ALL |
				       IMAP_SRET_COUNT)) {
		why = "ESEARCH returns MIN, MAX, ALL and COUNT only.";
		goto bad;
	}
	if (!e->parse.have_return)
		e->parse.ret = IMAP_SRET_ALL;
	e->job.work = job_work;
	e->job.done = job_done;
	imap_resp_init(&e->out, e->utf8);
	imap_cmd_hold(s, cmd->tag, e, esearch_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &e->job);
	return IMAP_CMD_AGAIN;
bad:
	imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
	esearch_free(e);
	return IMAP_CMD_DONE;
}
