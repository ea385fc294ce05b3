/* IDLE (RFC 2177, RFC 9051 6.3.13): after "+ idling" the session waits for
 * the client's DONE while changes to the selected mailbox are pushed as
 * they happen: the store watch posts to the session (selected.c), which
 * runs a view update at once. The connection's inactivity timeout becomes
 * imap_idle_timeout meanwhile. Input stays on, so the DONE line is read
 * as it comes; the connection layer drops its read buffer (and the TLS
 * layer its buffers) whenever nothing is pending, so an idle session holds
 * little more than its view. */
#include "server/imap/commands.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/selected.h"
#include "server/net/reader.h"

#define IDLE_LINE_MAX 1024

struct idle {
	struct reader rd;
	bool done_seen;              /* DONE (or a bad line) arrived */
	bool bad;                    /* it was not DONE */
	bool updating;
};

static bool idle_input(struct imap_session *s);

static struct idle *idle_of(struct imap_session *s)
{
	return s->cmd != NULL && s->cmd->on_input == idle_input ? s->cmd->ctx : NULL;
}

static void idle_finish(struct imap_session *s)
{
	struct idle *st = s->cmd->ctx;
	if (s->conn != NULL) {
		conn_set_timeout(s->conn, conn_config(s->conn)->idle_timeout_ms);
		if (st->bad)
			imap_reply_tagged(s, imap_cmd_tag(s), "BAD", NULL, "Expected DONE.");
		else
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "IDLE terminated.");
	}
	s->cmd->on_input = NULL;
	imap_cmd_finish(s);
}

static void idle_updated(struct imap_session *s, int err, void *arg)
{
	struct idle *st = arg;
	st->updating = false;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		s->cmd->on_input = NULL;
		imap_cmd_finish(s);
		return;
	}
	if (st->done_seen)
		idle_finish(s);
	else if (imap_sel_pending(s))
		imap_idle_changed(s);       /* more arrived meanwhile */
}

void imap_idle_changed(struct imap_session *s)
{
	struct idle *st = idle_of(s);
	if (st == NULL || st->updating || st->done_seen || s->sel == NULL)
		return;   /* not idling: the next command reports it */
	st->updating = true;
	imap_sel_update(s, 0, idle_updated, st);
}

static bool idle_input(struct imap_session *s)
{
	struct idle *st = s->cmd->ctx;
	if (st->done_seen)
		return false;            /* the update in flight ends it */
	const char *data;
	size_t len, used;
	struct reader_line line;
	conn_input(s->conn, &data, &len);
	enum reader_result r = reader_line(&st->rd, data, len, &line, &used);
	conn_consume(s->conn, used);
	if (r == READER_NEED_MORE)
		return false;
	st->done_seen = true;
	st->bad = r != READER_LINE || line.len != 4 || strncasecmp(line.data, "DONE", 4) != 0;
	conn_pause_input(s->conn);   /* what follows DONE waits for the reply */
	if (st->updating)
		return false;
	idle_finish(s);
	return true;
}

static void idle_free(void *ctx)
{
	free(ctx);
}

enum imap_cmd_result imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "IDLE takes no arguments.");
		return IMAP_CMD_DONE;
	}
	struct idle *st = xcalloc(1, sizeof(*st));
	reader_init(&st->rd, IDLE_LINE_MAX);
	struct imap_cmd *held = imap_cmd_hold(s, cmd->tag, st, idle_free);
	held->on_input = idle_input;
	conn_write_str(s->conn, "+ idling\r\n");
	conn_set_timeout(s->conn, conn_config(s->conn)->imap_idle_timeout_ms);
	conn_resume_input(s->conn);
	/* report what is pending now, then push changes as they come */
	if (s->sel != NULL) {
		st->updating = true;
		imap_sel_update(s, 0, idle_updated, st);
	}
	return IMAP_CMD_AGAIN;
}
