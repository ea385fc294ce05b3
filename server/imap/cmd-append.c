/* APPEND (RFC 9051 6.3.12, RFC 3516 literal8, RFC 9755 "UTF8 (~{n})") with
 * MULTIAPPEND (RFC 3502: several messages, all or none) and CATENATE (RFC
 * 4469: a message made of TEXT literals and URLs of existing messages).
 * Message literals are streamed, never buffered. At each literal's
 * announcement the arguments before it are read (flags, date, messages and
 * CATENATE parts that ended), what the store must do first is queued
 * (append-job.c: begin a message, copy a URL's section, finish a message)
 * and run on the storage pool; only then does a {n} client get "+", and an
 * over-size or impossible message is refused before a byte of it is read.
 * The bytes go through a session sink (pool writes, back-pressure) into
 * the message's temporary file; when the command line ends, the last
 * parts are added and every message commits in one durable op, and only
 * then is OK sent (with APPENDUID when UIDPLUS is advertised).
 * REPLACE and UID REPLACE (RFC 8508) are an APPEND of one message whose
 * commit also expunges a message of the selected mailbox (one durable
 * store commit: other sessions see both or neither). */
#include "server/imap/commands.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/engine/sink.h"
#include "server/imap/append.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/selected.h"
#include "server/imap/store-errors.h"
#include "server/services.h"
#include "storage/store.h"

static const char *store_code(int err)
{
	return imap_store_error_code(err, IMAP_STORE_CTX_TARGET);
}

static const char *store_text(int err)
{
	return imap_store_error_text(err, IMAP_STORE_CTX_TARGET);
}

/* ---- the command's state ---- */

/* REPLACE and UID REPLACE (RFC 8508) take the message to replace before
 * the mailbox: the name UID REPLACE reaches here as (cmd-uid.c). */
static bool is_replace(const struct imap_command *cmd, bool *by_uid_r)
{
	*by_uid_r = strcasecmp(cmd->name, "UID REPLACE") == 0;
	return *by_uid_r || strcasecmp(cmd->name, "REPLACE") == 0;
}

/* The UID of REPLACE's message (a sequence number, or a UID for UID
 * REPLACE, of the selected mailbox's view). */
static int replace_target(struct imap_session *s, const struct imap_arg *arg, bool by_uid,
			  uint32_t *uid_r, const char **why_r)
{
	uint64_t n = 0;
	*why_r = by_uid ? "UID REPLACE needs a UID." : "REPLACE needs a message number.";
	if (imap_arg_u64(arg, UINT32_MAX, &n) < 0 || n == 0)
		return -1;
	if (by_uid) {
		*uid_r = (uint32_t)n;
		return 0;
	}
	*why_r = "Invalid message sequence number.";
	if (n > store_view_count(s->sel->view))
		return -1;
	*uid_r = store_view_uid(s->sel->view, (uint32_t)n);
	return 0;
}

static struct imap_append *append_new(struct imap_session *s, const struct imap_command *cmd,
				      const char **why_r)
{
	struct imap_append *a = xcalloc(1, sizeof(*a));
	a->s = s;
	bool by_uid;
	a->replace = is_replace(cmd, &by_uid);
	size_t mb = a->replace ? 1 : 0;
	if ((a->replace && replace_target(s, &cmd->args[0], by_uid, &a->replace_uid, why_r) < 0) ||
	    imap_arg_mailbox(&cmd->args[mb], imap_session_utf8(s), &a->mailbox, why_r) < 0) {
		free(a);
		return NULL;
	}
	const struct loft_config *cfg = conn_config(s->conn);
	a->self_name = xstrdup(s->user);
	/* relative URLs (CATENATE's ";UID=n") name the selected mailbox */
	a->base_mailbox = s->sel != NULL ? xstrdup(s->sel->name) : NULL;
	a->submit_user = xstrdup(cfg->imap_urlauth_submit_user ? cfg->imap_urlauth_submit_user
							       : "");
	a->urlctx = (struct imap_url_ctx){
		.store = s->core.svc->store, .self = s->store_user, .self_name = a->self_name,
		.submit_user = a->submit_user,
		.base_mailbox = a->base_mailbox, .base_uidvalidity = s->sel != NULL ? s->sel->uidvalidity : 0,
	};
	a->next_arg = mb + 1;
	a->job.work = imap_append_work;
	return a;
}

/* "BADURL <url>": the URL as url-resp-text (no ']', CR or LF, RFC 4469 6). */
static const char *badurl_code(struct imap_append *a, const char *url)
{
	struct msg_buf b = { 0 };
	msg_buf_puts(&b, "BADURL ");
	for (const char *p = url; *p; p++) {
		if (*p == ']' || *p == '\r' || *p == '\n' || *p == '\0')
			msg_buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			msg_buf_putc(&b, *p);
	}
	msg_buf_putc(&b, '\0');
	free(a->code);
	a->code = b.data;
	return a->code;
}

/* NO [code] text for a->err. */
static void err_reply(struct imap_append *a, const char **code_r, const char **text_r)
{
	if (a->err == IMAP_APPEND_EBADURL) {
		*code_r = badurl_code(a, a->bad_url);
		*text_r = "A CATENATE URL cannot be read.";
	} else {
		*code_r = store_code(a->err);
		*text_r = store_text(a->err);
	}
}

/* ---- reading the arguments ---- */

static int start_msg(struct imap_append *a, const char **why_r)
{
	unsigned max = conn_config(a->s->conn)->imap_max_append_messages;
	if (a->replace && a->n_msgs >= 1) {
		*why_r = "REPLACE takes one message.";
		return -1;
	}
	if (max != 0 && a->n_msgs >= max) {
		*why_r = "Too many messages in one APPEND.";
		return -3;    /* NO [LIMIT] */
	}
	if (a->n_msgs == a->cap_msgs) {
		a->cap_msgs = a->cap_msgs ? a->cap_msgs * 2 : 4;
		a->msgs = xrealloc(a->msgs, a->cap_msgs * sizeof(*a->msgs));
	}
	memset(&a->msgs[a->n_msgs++], 0, sizeof(*a->msgs));
	a->cur_open = true;
	a->cur_flags = a->cur_date = false;
	return 0;
}

static void begin(struct imap_append *a, size_t m)
{
	if (!a->msgs[m].begun) {
		a->msgs[m].begun = true;
		imap_append_op(a, IMAP_APPEND_BEGIN, m, NULL, 0, NULL);
	}
}

static void finish(struct imap_append *a)
{
	size_t m = a->n_msgs - 1;
	begin(a, m);   /* a message may be empty: CATENATE of empty parts */
	imap_append_op(a, IMAP_APPEND_FINISH, m, NULL, 0, NULL);
	a->cur_open = false;
}

/* CATENATE parts [from, to) of the current message: URL parts and TEXT
 * parts (a TEXT literal was streamed as it came). Returns -1 with a BAD
 * reason, -2 with a->bad_url for an unreadable URL. */
static int parts(struct imap_append *a, const struct imap_arg *items, size_t from, size_t to,
		 const char **why_r)
{
	size_t m = a->n_msgs - 1;
	for (size_t k = from; k < to; k += 2) {
		const struct imap_arg *v = k + 1 < to ? &items[k + 1] : NULL;
		if (imap_arg_is_atom(&items[k], "URL") && v != NULL && v->type != IMAP_ARG_LIST &&
		    !v->streamed) {
			struct imap_url url;
			const char *why;
			begin(a, m);
			if (imap_url_parse(v->str, v->len, &url, &why) != 0) {
				free(a->bad_url);
				a->bad_url = xstrdup(v->str);
				return -2;
			}
			imap_append_op(a, IMAP_APPEND_URL, m, xstrndup(v->str, v->len), v->len, &url);
		} else if (imap_arg_is_atom(&items[k], "TEXT") && v != NULL &&
			   v->type == IMAP_ARG_LITERAL) {
			begin(a, m);
			if (!v->streamed)
				imap_append_op(a, IMAP_APPEND_TEXT, m, xstrndup(v->str, v->len),
					       v->len, NULL);
		} else {
			*why_r = "CATENATE parts are TEXT literals and URLs.";
			return -1;
		}
	}
	return 0;
}

/* Take the top-level arguments from a->next_arg on. in_list: a literal
 * inside a list was announced; open[n_open] are that list's items so far
 * (CATENATE's parts before a TEXT literal, or UTF8's empty list). Returns
 * 0, -1 (BAD *why_r), -2 (BADURL) or -3 (NO [LIMIT] *why_r). */
static int walk(struct imap_append *a, const struct imap_arg *args, size_t n, bool in_list,
		const struct imap_arg *open, size_t n_open, const char **why_r)
{
	*why_r = "Invalid APPEND arguments.";
	size_t i = a->next_arg;
	while (i < n) {
		const struct imap_arg *arg = &args[i];
		int r = !a->cur_open ? start_msg(a, why_r) : 0;
		if (r < 0)
			return r;
		struct imap_append_msg *m = &a->msgs[a->n_msgs - 1];
		bool last = i + 1 == n;
		if (arg->type == IMAP_ARG_LIST && !a->cur_flags && !a->cur_date) {
			struct imap_flags f;
			if (imap_arg_flags(arg, &f, why_r) < 0)
				return -1;
			m->flags = f.flags;
			m->keywords = xcalloc(f.n_keywords + 1, sizeof(*m->keywords));
			for (size_t k = 0; k < f.n_keywords; k++)
				m->keywords[k] = xstrdup(f.keywords[k]);
			m->n_keywords = f.n_keywords;
			free(f.keywords);
			a->cur_flags = true;
			i++;
		} else if (arg->type == IMAP_ARG_QUOTED && !a->cur_date) {
			if (imap_parse_datetime(arg->str, &m->internal_date) < 0) {
				*why_r = "Invalid date-time.";
				return -1;
			}
			a->cur_date = true;
			i++;
		} else if (arg->type == IMAP_ARG_LITERAL && arg->streamed) {
			finish(a);     /* its bytes were streamed as they came */
			i++;
		} else if (imap_arg_is_atom(arg, "CATENATE") && last && in_list) {
			/* The list is open: its parts before the TEXT literal. */
			if (n_open == 0 || !imap_arg_is_atom(&open[n_open - 1], "TEXT"))
				return -1;
			a->next_arg = i;
			return parts(a, open, a->next_part, n_open - 1, why_r);
		} else if (imap_arg_is_atom(arg, "CATENATE") && !last &&
			   args[i + 1].type == IMAP_ARG_LIST && args[i + 1].list_count > 0) {
			int pr = parts(a, args[i + 1].list, a->next_part, args[i + 1].list_count,
				       why_r);
			if (pr < 0)
				return pr;
			a->next_part = 0;
			finish(a);
			i += 2;
		} else if (imap_arg_is_atom(arg, "UTF8") && last && in_list && n_open == 0) {
			a->next_arg = i;
			return 0;
		} else if (imap_arg_is_atom(arg, "UTF8") && !last && args[i + 1].type == IMAP_ARG_LIST &&
			   args[i + 1].list_count == 1 && args[i + 1].list[0].streamed &&
			   args[i + 1].list[0].literal8) {
			finish(a);
			i += 2;
		} else {
			return -1;
		}
	}
	a->next_arg = i;
	return in_list ? -1 : 0;
}

/* REPLACE expunges from the selected mailbox: not from an EXAMINEd one
 * (-4: NO *why_r, before a byte of the message is read). */
static int replace_writable(const struct imap_append *a, const char **why_r)
{
	if (!a->replace || !a->s->sel->read_only)
		return 0;
	*why_r = "Mailbox is read-only.";
	return -4;
}

/* ---- literals: decide, then stream ---- */

static int sink_write(void *target, const void *data, size_t len)
{
	return store_append_write(target, data, len);
}

static void sink_has_room(void *arg)
{
	struct imap_session *s = arg;
	if (s->conn != NULL)
		conn_resume_input(s->conn);
}

/* The ops before a literal ran: stream it, or refuse it. */
static void literal_ops_done(struct sess_job *job)
{
	struct imap_append *a = (struct imap_append *)job;
	struct imap_session *s = a->s;
	s->literal_pending = false;
	if (!sess_alive(&s->core))
		return; /* the held command is freed with the session */
	struct store_append *app = a->msgs[a->lit_msg].app;
	uint64_t max = conn_config(s->conn)->max_literal_size;
	if (a->err == 0 && a->lit_text && max != 0 && store_append_size(app) + a->lit_size > max)
		a->err = STORE_ETOOBIG;
	if (a->err != 0) {
		const char *code, *text;
		err_reply(a, &code, &text);
		imap_parser_literal_refuse(s->parser, IMAP_ERROR_NO, code, text);
	} else {
		a->sink = sess_sink_create(&s->core, s->core.svc->storage_pool, 65536, sink_write,
					   app);
		sess_sink_on_space(a->sink, sink_has_room, s);
		imap_parser_literal_stream(s->parser);
		if (a->lit_sync)
			imap_write_continuation(s->conn, "Ready for literal data");
	}
	imap_session_resume(s);
}

/* The sink's last write returned (its error, if any, is the message's):
 * run the queued ops. */
static void sink_flushed(void *arg, int err)
{
	struct imap_append *a = arg;
	a->sink = NULL;
	if (err != 0 && a->err == 0)
		a->err = err;
	sess_submit(&a->s->core, a->s->core.svc->storage_pool, &a->job);
}

/* Run the queued ops (and, at the end, the commit) after the bytes
 * streamed so far are written. */
static void run_ops(struct imap_append *a, void (*done)(struct sess_job *job))
{
	a->job.done = done;
	if (a->sink != NULL)
		sess_sink_finish(a->sink, false, sink_flushed, a);
	else
		sess_submit(&a->s->core, a->s->core.svc->storage_pool, &a->job);
}

/* Refuse the announced literal. The command stays held until the parser
 * reports the error (the code may be a's), but input keeps flowing: a
 * {n+} literal's bytes and the rest of the command are skipped first. */
static void refuse(struct imap_session *s, struct imap_append *a, bool held,
		   enum imap_error_kind kind, const char *code, const char *why)
{
	if (!held) {
		imap_cmd_hold(s, imap_parser_literal_info(s->parser)->partial->tag, a,
			      imap_append_free);
		conn_resume_input(s->conn);
	}
	imap_parser_literal_refuse(s->parser, kind, code, why);
}

void imap_literal_take_string(struct imap_session *s, const struct imap_literal_info *info)
{
	bool sync = info->sync;
	imap_parser_literal_buffer(s->parser);
	if (sync && imap_parser_buffering(s->parser))
		imap_write_continuation(s->conn, "Ready for literal data");
}

void imap_append_literal(struct imap_session *s, const struct imap_literal_info *info)
{
	const struct imap_command *cmd = info->partial;
	bool by_uid;
	if (cmd->n_args < (is_replace(cmd, &by_uid) ? 2u : 1u)) {
		imap_literal_take_string(s, info);  /* the mailbox name itself */
		return;
	}
	struct imap_append *a = s->cmd != NULL ? s->cmd->ctx : NULL;
	const char *why = NULL;
	bool held = a != NULL;
	if (a == NULL && (a = append_new(s, cmd, &why)) == NULL) {
		imap_parser_literal_refuse(s->parser, IMAP_ERROR_BAD, NULL, why);
		return;
	}
	/* Which literal is it? */
	const struct imap_arg *lastarg = &cmd->args[cmd->n_args - 1];
	bool text = info->depth == 1 && info->n_siblings > 0 &&
		    imap_arg_is_atom(lastarg, "CATENATE") &&
		    imap_arg_is_atom(&info->siblings[info->n_siblings - 1], "TEXT");
	bool utf8 = info->depth == 1 && info->n_siblings == 0 && imap_arg_is_atom(lastarg, "UTF8");
	if (info->depth > 0 && !text && !utf8) {
		/* A URL given as a literal, or a literal where none belongs
		 * (the command's end says so): not a message's bytes. */
		if (!held)
			imap_append_free(a);
		imap_literal_take_string(s, info);
		return;
	}
	int r = walk(a, cmd->args, cmd->n_args, info->depth > 0, info->siblings,
		     info->n_siblings, &why);
	if (r == 0 && !a->cur_open)
		r = start_msg(a, &why);
	if (r == 0)
		r = replace_writable(a, &why);
	uint64_t max = conn_config(s->conn)->max_literal_size;
	if (r == -4)
		refuse(s, a, held, IMAP_ERROR_NO, NULL, why);
	else if (r == -2)
		refuse(s, a, held, IMAP_ERROR_NO, badurl_code(a, a->bad_url),
		       "A CATENATE URL is invalid.");
	else if (r == -3)
		refuse(s, a, held, IMAP_ERROR_NO, "LIMIT", why);
	else if (r < 0)
		refuse(s, a, held, IMAP_ERROR_BAD, NULL, why);
	else if (utf8 && !info->literal8)
		refuse(s, a, held, IMAP_ERROR_BAD, NULL, "UTF8 takes a literal8 (~{n}).");
	else if (!utf8 && info->literal8 && !imap_caps_on(s, IMAP_CAP_BINARY))
		refuse(s, a, held, IMAP_ERROR_BAD, NULL, "Literal8 (~{n}) is not known here.");
	else if (max != 0 && info->size > max)
		refuse(s, a, held, info->sync ? IMAP_ERROR_NO : IMAP_ERROR_BAD, "TOOBIG",
		       "Message larger than APPENDLIMIT.");
	if (r < 0 || (utf8 && !info->literal8) || (max != 0 && info->size > max) ||
	    (!utf8 && info->literal8 && !imap_caps_on(s, IMAP_CAP_BINARY)))
		return;   /* refused above */
	a->lit_msg = a->n_msgs - 1;
	a->lit_size = info->size;
	a->lit_sync = info->sync;
	a->lit_text = text;
	if (text)
		a->next_part = info->n_siblings + 1;   /* TEXT and this literal */
	begin(a, a->lit_msg);
	if (!held)
		imap_cmd_hold(s, cmd->tag, a, imap_append_free);  /* pauses input */
	else
		conn_pause_input(s->conn);  /* nothing is read until the decision */
	s->literal_pending = true;
	run_ops(a, literal_ops_done);
}

size_t imap_append_literal_room(struct imap_session *s)
{
	struct imap_append *a = s->cmd->ctx;
	return sess_sink_room(a->sink);
}

void imap_append_literal_data(struct imap_session *s, const char *data, size_t len, bool last)
{
	struct imap_append *a = s->cmd->ctx;
	(void)last;
	sess_sink_feed(a->sink, data, len);
}

/* ---- the command line ended: last parts, commit, answer ---- */

static bool uidplus_advertised(const struct imap_session *s)
{
	char caps[1024], *save = NULL;
	imap_capability_string(s, caps, sizeof(caps));
	/* strtok_r: worker loops answer APPENDs at the same time */
	for (char *tok = strtok_r(caps, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, "UIDPLUS") == 0)
			return true;
	return false;
}

/* "APPENDUID <uidvalidity> <uid-set>" (RFC 4315 3). */
static const char *appenduid_code(struct imap_append *a)
{
	struct msg_buf b = { 0 };
	msg_buf_printf(&b, "APPENDUID %" PRIu32 " ", a->uidvalidity);
	for (size_t i = 0; i < a->n_msgs;) {
		size_t j = i;
		while (j + 1 < a->n_msgs && a->uids[j + 1] == a->uids[j] + 1)
			j++;
		msg_buf_printf(&b, "%s%" PRIu32, i > 0 ? "," : "", a->uids[i]);
		if (j > i)
			msg_buf_printf(&b, ":%" PRIu32, a->uids[j]);
		i = j + 1;
	}
	msg_buf_putc(&b, '\0');
	free(a->code);
	a->code = b.data;
	return a->code;
}

static void reply_appended(struct imap_session *s, struct imap_append *a)
{
	imap_reply_tagged(s, imap_cmd_tag(s), "OK",
			  uidplus_advertised(s) ? appenduid_code(a) : NULL, "Append completed.");
}

static void appended_updated(struct imap_session *s, int err, void *arg)
{
	if (err != IMAP_SEL_GONE && sess_alive(&s->core))
		reply_appended(s, arg);
	imap_cmd_finish(s);
}

static void replaced_updated(struct imap_session *s, int err, void *arg)
{
	(void)arg;
	if (err != IMAP_SEL_GONE && sess_alive(&s->core))
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "REPLACE completed.");
	imap_cmd_finish(s);
}

/* RFC 8508 3.2: the new message's APPENDUID in an untagged OK, then the
 * expunge (and EXISTS when it went to the selected mailbox) as the view's
 * update, then the tagged OK. */
static void replace_done(struct imap_session *s, struct imap_append *a)
{
	if (a->err == 0) {
		bool uidplus = uidplus_advertised(s);
		imap_write_untagged(s->conn, "OK", uidplus ? appenduid_code(a) : NULL,
				    "Replacement message saved.");
		imap_sel_update(s, 0, replaced_updated, a);
		return;
	}
	if (a->replace_gone) {
		imap_reply_tagged(s, imap_cmd_tag(s), "NO", NULL,
				  "The message to replace does not exist.");
	} else {
		const char *code, *text;
		err_reply(a, &code, &text);
		imap_reply_tagged(s, imap_cmd_tag(s), "NO", code, text);
	}
	imap_cmd_finish(s);
}

static void commit_done(struct sess_job *job)
{
	struct imap_append *a = (struct imap_append *)job;
	struct imap_session *s = a->s;
	if (sess_alive(&s->core) && a->replace) {
		replace_done(s, a);
		return;
	}
	if (sess_alive(&s->core)) {
		if (a->err == 0 && s->sel != NULL && strcmp(s->sel->name, a->mailbox) == 0) {
			/* RFC 9051 6.3.12: the selected mailbox's EXISTS at once */
			imap_sel_update(s, 0, appended_updated, a);
			return;
		}
		if (a->err == 0) {
			imap_reply_tagged(s, imap_cmd_tag(s), "OK",
					  uidplus_advertised(s) ? appenduid_code(a) : NULL,
					  "Append completed.");
		} else {
			const char *code, *text;
			err_reply(a, &code, &text);
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", code, text);
		}
	}
	imap_cmd_finish(s);
}

enum imap_cmd_result imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_append *a = s->cmd != NULL ? s->cmd->ctx : NULL;
	bool by_uid, replace = is_replace(cmd, &by_uid);
	const char *why = replace ? "REPLACE needs a message, a mailbox and a new message."
				  : "APPEND needs a mailbox and a message.";
	if (cmd->n_args < (replace ? 3u : 2u)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;   /* a held command is freed by the dispatcher */
	}
	bool held = a != NULL;
	if (a == NULL && (a = append_new(s, cmd, &why)) == NULL) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	int r = walk(a, cmd->args, cmd->n_args, false, NULL, 0, &why);
	if (r == 0 && (a->cur_open || a->n_msgs == 0))
		r = -1;       /* flags or a date without a message */
	if (r == 0)
		r = replace_writable(a, &why);
	if (r < 0) {
		if (r == -4)
			imap_reply_tagged(s, cmd->tag, "NO", NULL, why);
		else if (r == -2)
			imap_reply_tagged(s, cmd->tag, "NO", badurl_code(a, a->bad_url),
					  "A CATENATE URL is invalid.");
		else if (r == -3)
			imap_reply_tagged(s, cmd->tag, "NO", "LIMIT", why);
		else
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		if (!held)
			imap_append_free(a);
		return IMAP_CMD_DONE;
	}
	if (!held)
		imap_cmd_hold(s, cmd->tag, a, imap_append_free);
	a->commit = true;
	run_ops(a, commit_done);
	return IMAP_CMD_AGAIN;
}
