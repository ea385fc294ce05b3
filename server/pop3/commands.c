/* The POP3 dispatch table and the commands that work on the snapshot in
 * memory: CAPA, NOOP, STAT, LIST, UIDL, DELE, RSET, and QUIT (whose UPDATE
 * runs on the storage pool). LIST and UIDL without an argument stream their
 * lines in chunks and pause while the client does not read (output over
 * max_output_buffer), so a 50k-message listing never sits in memory whole. */
#include "server/pop3/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/pop3/readahead.h"
#include "server/services.h"
#include "storage/store.h"

#define AUTHZ POP3_STATE_BIT(POP3_STATE_AUTHORIZATION)
#define TRANS POP3_STATE_BIT(POP3_STATE_TRANSACTION)

static const struct pop3_command_def commands[] = {
	{ "CAPA", pop3_cmd_capa, AUTHZ | TRANS, 0, "RFC 2449 5" },
	{ "QUIT", pop3_cmd_quit, AUTHZ | TRANS, 0, "RFC 1939 4, 6" },
	{ "STLS", pop3_cmd_stls, AUTHZ, 0, "RFC 2595 4" },
	{ "USER", pop3_cmd_user, AUTHZ, 0, "RFC 1939 7" },
	{ "PASS", pop3_cmd_pass, AUTHZ, POP3_CMD_WHOLE_ARG, "RFC 1939 7" },
	{ "AUTH", pop3_cmd_auth, AUTHZ, 0, "RFC 5034 4" },
	{ "STAT", pop3_cmd_stat, TRANS, 0, "RFC 1939 5" },
	{ "LIST", pop3_cmd_list, TRANS, 0, "RFC 1939 5" },
	{ "RETR", pop3_cmd_retr, TRANS, 0, "RFC 1939 5" },
	{ "DELE", pop3_cmd_dele, TRANS, 0, "RFC 1939 5" },
	{ "NOOP", pop3_cmd_noop, TRANS, 0, "RFC 1939 5" },
	{ "RSET", pop3_cmd_rset, TRANS, 0, "RFC 1939 5" },
	{ "TOP", pop3_cmd_top, TRANS, 0, "RFC 1939 7" },
	{ "UIDL", pop3_cmd_uidl, TRANS, 0, "RFC 1939 7" },
};

const struct pop3_command_def *pop3_command_find(const char *keyword)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, keyword) == 0)
			return &commands[i];
	return NULL;
}

static bool no_args(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args == 0)
		return true;
	pop3_err(s, NULL, "This command takes no arguments.");
	return false;
}

int64_t pop3_msg_arg(struct pop3_session *s, const char *arg, size_t len)
{
	uint32_t n;
	if (!pop3_parse_number(arg, len, UINT32_MAX, &n)) {
		pop3_err(s, NULL, "Invalid message number.");
		return -1;
	}
	bool deleted;
	int64_t i = pop3_maildrop_find(s->drop, n, &deleted);
	if (i < 0)
		pop3_err(s, NULL, deleted ? "Message is deleted." : "No such message.");
	return i;
}

/* ---- any state ---- */

enum pop3_cmd_result pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (!no_args(s, cmd))
		return POP3_CMD_DONE;
	char lines[1024];
	pop3_capa_lines(s, lines, sizeof(lines));
	pop3_ok(s, "Capability list follows");
	conn_write_str(s->conn, lines);
	conn_write_str(s->conn, ".\r\n");
	return POP3_CMD_DONE;
}

enum pop3_cmd_result pop3_cmd_noop(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (no_args(s, cmd))
		pop3_ok(s, "%s", "");
	return POP3_CMD_DONE;
}

/* ---- QUIT and the UPDATE state (RFC 1939 6) ---- */

struct update {
	struct sess_job job;
	struct pop3_session *s;
	int err;
	struct pop3_update_result res;
};

static void update_free(void *ctx)
{
	free(ctx);
}

static void update_work(struct sess_job *job)
{
	struct update *u = (struct update *)job;
	struct pop3_session *s = u->s;
	/* The session and its snapshot stay alive while this job runs; the
	 * loop does not touch them meanwhile (the command is held). */
	u->err = pop3_maildrop_commit(s->inbox, s->drop, &s->policy, &u->res);
}

static void update_done(struct sess_job *job)
{
	struct update *u = (struct update *)job;
	struct pop3_session *s = u->s;
	/* The session is over: the next login may start before this
	 * connection has finished closing. */
	store_lock_release(&s->lock);
	if (!sess_alive(&s->core)) {
		pop3_cmd_finish(s);
		return;
	}
	if (u->err != 0) {
		conn_error(s->conn, "update user=%s: %s", s->user, store_strerror(u->err));
		pop3_bye(s, false, "[SYS/TEMP] Some deleted messages were not removed.",
			 "update failed");
	} else {
		conn_info(s->conn, "logout user=%s removed=%u expired=%u seen=%u", s->user,
			  u->res.removed, u->res.expired, u->res.seen);
		pop3_bye(s, true, "Logging out.", "quit");
	}
	pop3_cmd_finish(s);
}

enum pop3_cmd_result pop3_cmd_quit(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (!no_args(s, cmd))
		return POP3_CMD_DONE;
	if (s->state == POP3_STATE_AUTHORIZATION) {
		pop3_bye(s, true, "Logging out.", "quit");
		return POP3_CMD_DONE;
	}
	pop3_enter_state(s, POP3_STATE_UPDATE);
	struct update *u = xcalloc(1, sizeof(*u));
	u->s = s;
	pop3_cmd_hold(s, u, update_free);
	u->job.work = update_work;
	u->job.done = update_done;
	pop3_storage_submit(s, &u->job);
	return POP3_CMD_AGAIN;
}

/* ---- TRANSACTION ---- */

enum pop3_cmd_result pop3_cmd_stat(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (no_args(s, cmd)) {
		const struct pop3_maildrop *d = s->drop;
		pop3_ok(s, "%" PRIu32 " %" PRIu64, d->count - d->n_deleted,
			d->total - d->deleted_size);
	}
	return POP3_CMD_DONE;
}

enum pop3_cmd_result pop3_cmd_dele(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args != 1) {
		pop3_err(s, NULL, "DELE needs a message number.");
		return POP3_CMD_DONE;
	}
	int64_t i = pop3_msg_arg(s, cmd->args[0], cmd->arg_len[0]);
	if (i >= 0) {
		pop3_maildrop_dele(s->drop, (uint32_t)i);
		pop3_ok(s, "Message %" PRId64 " deleted.", i + 1);
	}
	return POP3_CMD_DONE;
}

enum pop3_cmd_result pop3_cmd_rset(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (no_args(s, cmd)) {
		pop3_maildrop_rset(s->drop);
		pop3_ok(s, "%" PRIu32 " messages (%" PRIu64 " octets).", s->drop->count,
			s->drop->total);
	}
	return POP3_CMD_DONE;
}

/* LIST and UIDL of every message: lines written in chunks until output is
 * over the limit, then continued from on_drained. */
struct listing {
	bool uidl;
	uint32_t next;                  /* index of the next message */
};

static enum pop3_cmd_result listing_run(struct pop3_session *s, struct listing *l)
{
	const struct pop3_maildrop *d = s->drop;
	char buf[16384];
	size_t n = 0;
	while (l->next < d->count) {
		uint32_t i = l->next++;
		if (d->marks[i] & POP3_MARK_DELE)
			continue;
		if (l->uidl) {
			size_t ulen;
			const char *u = pop3_maildrop_uidl(d, i, &ulen);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%" PRIu32 " %.*s\r\n",
					      i + 1, (int)ulen, u);
		} else {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%" PRIu32 " %" PRIu64 "\r\n",
					      i + 1, d->sizes[i]);
		}
		if (sizeof(buf) - n < 128) {
			conn_write(s->conn, buf, n);
			n = 0;
			if (conn_output_full(s->conn))
				return POP3_CMD_AGAIN;
		}
	}
	conn_write(s->conn, buf, n);
	conn_write_str(s->conn, ".\r\n");
	return POP3_CMD_DONE;
}

static enum pop3_cmd_result listing_drained(struct pop3_session *s)
{
	return listing_run(s, s->cmd->ctx);
}

static enum pop3_cmd_result listing(struct pop3_session *s, const struct pop3_cmdline *cmd,
				    bool uidl)
{
	const struct pop3_maildrop *d = s->drop;
	if (cmd->n_args > 1) {
		pop3_err(s, NULL, "Give at most one message number.");
		return POP3_CMD_DONE;
	}
	if (cmd->n_args == 1) {
		int64_t i = pop3_msg_arg(s, cmd->args[0], cmd->arg_len[0]);
		if (i < 0)
			return POP3_CMD_DONE;
		if (uidl) {
			size_t ulen;
			const char *u = pop3_maildrop_uidl(d, (uint32_t)i, &ulen);
			pop3_ok(s, "%" PRId64 " %.*s", i + 1, (int)ulen, u);
		} else {
			pop3_ok(s, "%" PRId64 " %" PRIu64, i + 1, d->sizes[i]);
		}
		return POP3_CMD_DONE;
	}
	if (uidl)
		pop3_ok(s, "Unique-ID listing follows");
	else
		pop3_ok(s, "%" PRIu32 " messages (%" PRIu64 " octets)", d->count - d->n_deleted,
			d->total - d->deleted_size);
	struct listing l = { .uidl = uidl };
	if (listing_run(s, &l) == POP3_CMD_DONE)
		return POP3_CMD_DONE;
	struct listing *held = xmalloc(sizeof(*held));
	*held = l;
	pop3_cmd_hold(s, held, free)->on_drained = listing_drained;
	return POP3_CMD_AGAIN;
}

enum pop3_cmd_result pop3_cmd_list(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	return listing(s, cmd, false);
}

enum pop3_cmd_result pop3_cmd_uidl(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	return listing(s, cmd, true);
}
