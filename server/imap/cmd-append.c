/* APPEND (RFC 9051 6.3.12, RFC 3516 literal8, RFC 9755 "UTF8 (~{n})"):
 * the message literal is streamed, never buffered. At the literal's announcement the mailbox,
 * flags and date are checked and the store's append is opened on the
 * storage pool; only then does a {n} client get "+", and an over-size or
 * impossible upload is refused before a byte of it is read. The bytes go
 * through a session sink (pool writes, back-pressure) into the store's
 * temporary file; when the command line ends, the append commits durably
 * and only then is OK sent. */
#include "server/imap/commands.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/engine/sink.h"
#include "server/imap/args.h"
#include "server/imap/reply.h"
#include "server/imap/store-errors.h"
#include "server/imap/selected.h"
#include "server/services.h"
#include "storage/store.h"

struct append {
	struct sess_job job;
	struct imap_session *s;
	char *mailbox;
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	int64_t internal_date;
	size_t size;
	bool sync;
	struct store_append *app;   /* open from begin until commit/abort */
	struct sess_sink *sink;
	int err;                    /* store error of the step that ran */
	uint32_t uid, uidvalidity;
};

/* Discarding an append touches files: do it on the pool, owned by an item
 * that needs no session (the session may be going away). */
struct append_abort {
	struct work_item item;
	struct store_append *app;
};

static void abort_run(struct work_item *item)
{
	struct append_abort *a = (struct append_abort *)item;
	store_append_abort(&a->app);
	free(a);
}

static void append_discard(struct append *a)
{
	for (size_t i = 0; i < a->n_keywords; i++)
		free(a->keywords[i]);
	free(a->keywords);
	free(a->mailbox);
	free(a);
}

static void sink_discarded(void *arg, int err)
{
	(void)arg;
	(void)err;
}

static void append_free(void *ctx)
{
	struct append *a = ctx;
	if (a->sink != NULL) {
		/* No write is in flight (the command only ends with none). */
		sess_sink_finish(a->sink, true, sink_discarded, NULL);
		a->sink = NULL;
	}
	if (a->app != NULL) {
		struct append_abort *ab = xcalloc(1, sizeof(*ab));
		ab->item.run = abort_run;
		ab->app = a->app;
		a->app = NULL;
		work_pool_submit(a->s->core.svc->storage_pool, &ab->item);
	}
	append_discard(a);
}

static const char *store_code(int err)
{
	return imap_store_error_code(err, IMAP_STORE_CTX_TARGET);
}

static const char *store_text(int err)
{
	return imap_store_error_text(err, IMAP_STORE_CTX_TARGET);
}

/* ---- the literal: open the append, then stream ---- */

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

static void begin_work(struct sess_job *job)
{
	struct append *a = (struct append *)job;
	a->err = store_append_begin(a->s->store_user, a->mailbox, &a->app);
}

static void begin_done(struct sess_job *job)
{
	struct append *a = (struct append *)job;
	struct imap_session *s = a->s;
	s->literal_pending = false;
	if (!sess_alive(&s->core))
		return; /* the held command is freed with the session */
	if (a->err != STORE_OK) {
		imap_parser_literal_refuse(s->parser, IMAP_ERROR_NO, store_code(a->err),
					   store_text(a->err));
	} else {
		a->sink = sess_sink_create(&s->core, s->core.svc->storage_pool, 65536, sink_write,
					   a->app);
		sess_sink_on_space(a->sink, sink_has_room, s);
		imap_parser_literal_stream(s->parser);
		if (a->sync)
			imap_write_continuation(s->conn, "Ready for literal data");
	}
	imap_session_resume(s);
}

void imap_append_literal(struct imap_session *s, const struct imap_literal_info *info)
{
	const struct imap_command *cmd = info->partial;
	/* RFC 9755 4 (UTF8=ACCEPT): the message as "UTF8 (~{n}...)". */
	bool utf8_item = info->depth == 1 && info->n_siblings == 0 && cmd->n_args >= 2 &&
			 imap_arg_is_atom(&cmd->args[cmd->n_args - 1], "UTF8");
	/* The mailbox name itself, or a literal inside a list: ordinary. */
	if (cmd->n_args == 0 || (info->depth > 0 && !utf8_item) || s->cmd != NULL) {
		if (s->cmd != NULL)
			imap_parser_literal_refuse(s->parser, IMAP_ERROR_BAD, NULL,
						   "Only one message per APPEND.");
		else
			imap_parser_literal_buffer(s->parser);
		return;
	}
	const char *why = NULL;
	struct append *a = xcalloc(1, sizeof(*a));
	a->s = s;
	a->size = info->size;
	a->sync = info->sync;
	size_t i = 1, end = utf8_item ? cmd->n_args - 1 : cmd->n_args;
	if (imap_arg_mailbox(&cmd->args[0], imap_session_utf8(s), &a->mailbox, &why) < 0)
		goto bad;
	if (utf8_item && !info->literal8) {
		why = "UTF8 takes a literal8 (~{n}).";
		goto bad;
	}
	if (i < end && cmd->args[i].type == IMAP_ARG_LIST) {
		struct imap_flags f;
		if (imap_arg_flags(&cmd->args[i], &f, &why) < 0)
			goto bad;
		a->flags = f.flags;
		a->keywords = xcalloc(f.n_keywords + 1, sizeof(*a->keywords));
		for (size_t k = 0; k < f.n_keywords; k++)
			a->keywords[k] = xstrdup(f.keywords[k]);
		a->n_keywords = f.n_keywords;
		free(f.keywords);
		i++;
	}
	if (i < end && cmd->args[i].type == IMAP_ARG_QUOTED) {
		if (imap_parse_datetime(cmd->args[i].str, &a->internal_date) < 0) {
			why = "Invalid date-time.";
			goto bad;
		}
		i++;
	}
	if (i != end) {
		why = "Invalid APPEND arguments.";
		goto bad;
	}
	uint64_t max = conn_config(s->conn)->max_literal_size;
	if (max != 0 && info->size > max) {
		append_discard(a);
		imap_parser_literal_refuse(s->parser, info->sync ? IMAP_ERROR_NO : IMAP_ERROR_BAD,
					   "TOOBIG", "Message larger than APPENDLIMIT.");
		return;
	}
	imap_cmd_hold(s, cmd->tag, a, append_free);
	s->literal_pending = true;
	a->job.work = begin_work;
	a->job.done = begin_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &a->job);
	return;
bad:
	append_discard(a);
	imap_parser_literal_refuse(s->parser, IMAP_ERROR_BAD, NULL, why);
}

size_t imap_append_literal_room(struct imap_session *s)
{
	struct append *a = s->cmd->ctx;
	return sess_sink_room(a->sink);
}

void imap_append_literal_data(struct imap_session *s, const char *data, size_t len, bool last)
{
	struct append *a = s->cmd->ctx;
	(void)last;
	sess_sink_feed(a->sink, data, len);
}

/* ---- the command line ended: flush, commit, answer ---- */

static void commit_work(struct sess_job *job)
{
	struct append *a = (struct append *)job;
	const char *kw[STORE_MAX_KEYWORDS_PER_MSG];
	size_t n = a->n_keywords < STORE_MAX_KEYWORDS_PER_MSG ? a->n_keywords
							      : STORE_MAX_KEYWORDS_PER_MSG;
	for (size_t i = 0; i < n; i++)
		kw[i] = a->keywords[i];
	struct store_append_meta meta = {
		.flags = a->flags, .keywords = kw, .n_keywords = n,
		.internal_date = a->internal_date,
	};
	a->err = store_append_commit(&a->app, &meta, &a->uid, &a->uidvalidity);
}

/* RFC 4315 3: OK [APPENDUID uidvalidity uid]. */
static void reply_appended(struct imap_session *s, const struct append *a)
{
	char code[64];
	snprintf(code, sizeof(code), "APPENDUID %u %u", a->uidvalidity, a->uid);
	imap_reply_tagged(s, imap_cmd_tag(s), "OK", code, "Append completed.");
}

static void appended_updated(struct imap_session *s, int err, void *arg)
{
	if (err != IMAP_SEL_GONE && sess_alive(&s->core))
		reply_appended(s, arg);
	imap_cmd_finish(s);
}

static void commit_done(struct sess_job *job)
{
	struct append *a = (struct append *)job;
	struct imap_session *s = a->s;
	if (sess_alive(&s->core)) {
		if (a->err == STORE_OK && s->sel != NULL && strcmp(s->sel->name, a->mailbox) == 0) {
			/* RFC 9051 6.3.12: the selected mailbox's EXISTS at once */
			imap_sel_update(s, 0, appended_updated, a);
			return;
		}
		if (a->err == STORE_OK)
			reply_appended(s, a);
		else
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", store_code(a->err),
					  store_text(a->err));
	}
	imap_cmd_finish(s);
}

static void flushed(void *arg, int err)
{
	struct append *a = arg;
	struct imap_session *s = a->s;
	a->sink = NULL;
	if (err != 0 || !sess_alive(&s->core)) {
		if (sess_alive(&s->core))
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", store_code(err),
					  store_text(err));
		imap_cmd_finish(s); /* append_free discards the file */
		return;
	}
	a->job.work = commit_work;
	a->job.done = commit_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &a->job);
}

enum imap_cmd_result imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	struct append *a = s->cmd != NULL ? s->cmd->ctx : NULL;
	if (a == NULL || a->sink == NULL) {
		/* The message literal was never streamed: a malformed APPEND. */
		imap_reply_tagged(s, cmd->tag, "BAD",
				  NULL, "APPEND needs a mailbox and a message literal.");
		return IMAP_CMD_DONE;
	}
	const struct imap_arg *last = &cmd->args[cmd->n_args - 1];
	if (last->type == IMAP_ARG_LIST && cmd->n_args >= 3 &&
	    imap_arg_is_atom(&cmd->args[cmd->n_args - 2], "UTF8") && last->list_count == 1)
		last = &last->list[0];    /* UTF8 (~{n}) */
	if (!last->streamed) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Invalid APPEND arguments.");
		return IMAP_CMD_DONE;
	}
	sess_sink_finish(a->sink, false, flushed, a);
	return IMAP_CMD_AGAIN;
}
