/* IMAP sessions: greeting, the input loop (parser events to the dispatcher,
 * continuation requests, streamed literals, parse errors), the command in
 * flight, state changes and the goodbyes for logout, timeout, shutdown and
 * refused connections. */
#include "server/imap/session.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/engine/login.h"
#include "server/imap/caps.h"
#include "server/imap/commands.h"
#include "server/imap/imap.h"
#include "server/imap/notify.h"
#include "server/imap/reply.h"
#include "server/services.h"
#include "server/imap/selected.h"
#include "server/imap/uidonly.h"
#include "storage/store.h"

static const char *const state_names[] = {
	"not-authenticated", "authenticated", "selected", "logout",
};

const char *imap_state_name(enum imap_state state)
{
	return (unsigned)state < 4 ? state_names[state] : "?";
}

void imap_enter_state(struct imap_session *s, enum imap_state state)
{
	if (s->state == state)
		return;
	if (s->conn != NULL)
		conn_debug(s->conn, "state %s -> %s", imap_state_name(s->state),
			   imap_state_name(state));
	s->state = state;
}

void imap_reply_tagged(struct imap_session *s, const char *tag, const char *status,
		       const char *code, const char *text)
{
	if (strcmp(status, "BAD") == 0)
		s->bad_in_row++;
	else
		s->bad_in_row = 0;
	if (s->conn == NULL)
		return;
	imap_write_tagged(s->conn, tag, status, code, text);
}

void imap_auth_conn(const struct imap_session *s, struct conn_cb cb[CONN_CB_MAX],
		    struct auth_conn *ac)
{
	sess_login_auth_conn(s->conn, USERDB_SERVICE_IMAP, cb, ac);
}

bool imap_plaintext_allowed(const struct imap_session *s)
{
	struct auth_conn ac = {
		.service = USERDB_SERVICE_IMAP, .remote_addr = conn_remote_ip(s->conn),
		.tls = conn_is_tls(s->conn),
	};
	return auth_plaintext_allowed(s->core.svc->auth, &ac);
}

void imap_capability_string(const struct imap_session *s, char *buf, size_t size)
{
	/* Only what this server really does. */
	if (s->state != IMAP_STATE_NOT_AUTH) {
		snprintf(buf, size, "IMAP4rev1 IMAP4rev2 LITERAL+ %s %s %s %s %s %s APPENDLIMIT=%zu",
			 IMAP_CAPS_MAILBOXES, IMAP_CAPS_SELECTED, IMAP_CAPS_FETCH, IMAP_CAPS_SEARCH,
			 IMAP_CAPS_EXTENSIONS, IMAP_CAPS_NEWER,
			 conn_config(s->conn)->max_literal_size);
		imap_caps_filter(buf, s->caps_off);
		return;
	}
	struct conn_cb cb[CONN_CB_MAX];
	struct auth_conn ac;
	imap_auth_conn(s, cb, &ac);
	int n = snprintf(buf, size, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID%s%s",
			 conn_can_starttls(s->conn) ? " STARTTLS" : "",
			 auth_plaintext_allowed(s->core.svc->auth, &ac) ? "" : " LOGINDISABLED");
	const char *mechs[AUTH_MECH_COUNT];
	size_t k = auth_mechanisms(s->core.svc->auth, &ac, mechs, AUTH_MECH_COUNT);
	for (size_t i = 0; i < k && n >= 0 && (size_t)n < size; i++)
		n += snprintf(buf + n, size - (size_t)n, " AUTH=%s", mechs[i]);
	x_wipe(cb, sizeof(cb));
}

void imap_bye(struct imap_session *s, const char *text, const char *reason)
{
	imap_write_untagged(s->conn, "BYE", NULL, text);
	imap_enter_state(s, IMAP_STATE_LOGOUT);
	conn_close(s->conn, reason);
}

static void parser_limits(const struct loft_config *cfg, bool authenticated,
			  struct imap_parser_limits *lim)
{
	size_t line = authenticated ? cfg->max_line_length : cfg->max_line_length_preauth;
	if (line == 0)
		line = authenticated ? 65536 : 8192;
	lim->max_line = line;
	/* Literals kept in memory (strings in commands) stay within a line's
	 * worth each, and within max_literal_total(_preauth) per command;
	 * message uploads are streamed, never parsed into memory. */
	lim->max_literal = line;
	lim->max_literal_total = authenticated ? cfg->max_literal_total
					       : cfg->max_literal_total_preauth;
	lim->max_depth = cfg->max_nesting_depth;
	lim->max_args = cfg->max_arguments;
}

/* The session's command parser, made on first use with the limits of the
 * session's state. */
static struct imap_parser *session_parser(struct imap_session *s)
{
	if (s->parser == NULL) {
		struct imap_parser_limits lim;
		parser_limits(conn_config(s->conn), s->state != IMAP_STATE_NOT_AUTH, &lim);
		s->parser = imap_parser_create(&lim);
		imap_parser_set_stream_filter(s->parser, imap_command_streams, NULL);
	}
	return s->parser;
}

/* ---- the command in flight ---- */

struct imap_cmd *imap_cmd_hold(struct imap_session *s, const char *tag, void *ctx,
			       void (*free_ctx)(void *ctx))
{
	struct imap_cmd *cmd = s->cmd;
	if (cmd == NULL) {
		cmd = xcalloc(1, sizeof(*cmd));
		cmd->tag = xstrdup(tag);
		s->cmd = cmd;
	}
	cmd->ctx = ctx;
	cmd->free_ctx = free_ctx;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
	return cmd;
}

void imap_cmd_read_line(struct imap_session *s, imap_line_fn *fn)
{
	if (s->cmd == NULL || s->conn == NULL)
		return;
	s->cmd->on_line = fn;
	conn_resume_input(s->conn);
}

const char *imap_cmd_tag(const struct imap_session *s)
{
	return s->cmd != NULL ? s->cmd->tag : "*";
}

static void cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *cmd = *cmdp;
	if (cmd == NULL)
		return;
	*cmdp = NULL;
	if (cmd->free_ctx != NULL)
		cmd->free_ctx(cmd->ctx);
	free(cmd->tag);
	free(cmd);
}

void imap_cmd_finish(struct imap_session *s)
{
	cmd_free(&s->cmd);
	if (s->conn == NULL)
		return;
	if (s->bye_after_command && s->state != IMAP_STATE_LOGOUT && !conn_is_closing(s->conn)) {
		imap_bye(s, "Server shutting down.", "server shutdown");
		return;
	}
	conn_resume_input(s->conn);
	imap_notify_flush(s);     /* what NOTIFY held back for this point */
}

/* ---- dispatch ---- */

static void *imap_session_create(struct conn *c);

static void session_destroy(struct sess_core *core)
{
	struct imap_session *s = (struct imap_session *)core;
	cmd_free(&s->cmd);
	imap_parser_free(&s->parser);
	imap_notify_free(s);    /* its watch goes on the storage pool */
	imap_sel_close(s);      /* closed on the storage pool */
	/* The user's store handle is closed by whoever held it last: a
	 * session can only be destroyed with no job in flight, and closing
	 * only drops a reference (no I/O). */
	store_user_close(&s->store_user);
	free(s->user);
	free(s);
}

void imap_session_logged_in(struct imap_session *s, char *user, struct store_user *store_user)
{
	free(s->user);
	s->user = user;
	s->store_user = store_user;
	imap_enter_state(s, IMAP_STATE_AUTH);
	const struct loft_config *cfg = conn_config(s->conn);
	struct imap_parser_limits lim;
	parser_limits(cfg, true, &lim);
	imap_parser_set_limits(session_parser(s), &lim);
	conn_set_max_line(s->conn, lim.max_line);
	conn_set_authenticated(s->conn);   /* idle_timeout; the login deadline ends */
}

struct store_user *imap_session_logged_out(struct imap_session *s)
{
	imap_sel_close(s);
	struct store_user *u = s->store_user;
	s->store_user = NULL;
	x_free(&s->user);
	s->enabled = 0;
	s->caps_user = 0;        /* the next user brings their own */
	imap_caps_update(s);
	imap_enter_state(s, IMAP_STATE_NOT_AUTH);
	struct imap_parser_limits lim;
	parser_limits(conn_config(s->conn), false, &lim);
	imap_parser_set_limits(session_parser(s), &lim);
	conn_set_max_line(s->conn, lim.max_line);
	conn_set_unauthenticated(s->conn);
	return u;
}

/* The state/TLS checks every command passes; false when it was refused. */
static bool command_allowed(struct imap_session *s, const struct imap_command_def *def,
			    const char *tag, const char *name)
{
	if (def == NULL) {
		if (s->state == IMAP_STATE_NOT_AUTH && imap_command_needs_auth(name))
			imap_reply_tagged(s, tag, "BAD", NULL, "Log in first.");
		else
			imap_reply_tagged(s, tag, "BAD", NULL, "Unknown command.");
		return false;
	}
	if ((def->states & IMAP_STATE_BIT(s->state)) == 0) {
		imap_reply_tagged(s, tag, "BAD", NULL,
				  s->state == IMAP_STATE_NOT_AUTH ? "Log in first."
								   : "Command not valid in this state.");
		return false;
	}
	if ((def->flags & IMAP_CMD_NEEDS_TLS) != 0 && !conn_is_tls(s->conn)) {
		imap_reply_tagged(s, tag, "NO", "PRIVACYREQUIRED", "TLS is required.");
		return false;
	}
	return true;
}

void imap_session_run_handler(struct imap_session *s, const struct imap_command_def *def,
			      const struct imap_command *cmd)
{
	if (def->handler(s, cmd) == IMAP_CMD_DONE && s->cmd != NULL)
		imap_cmd_finish(s);
}

static void dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_command_def *def;
	if (s->cmd != NULL && s->cmd->collecting) {
		/* Its literals were streamed; the checks ran at the first. */
		def = s->cmd->def;
		s->cmd->collecting = false;
		conn_pause_input(s->conn);
	} else {
		def = imap_command_find_caps(cmd->name, s->caps_off);
		if (!command_allowed(s, def, cmd->tag, cmd->name) ||
		    imap_uidonly_refuse(s, def, cmd->tag))
			return;
		/* changes announced by other sessions come first */
		if (imap_sel_defer_command(s, def, cmd))
			return;
	}
	if (def->handler(s, cmd) == IMAP_CMD_DONE && s->cmd != NULL) {
		/* Finished at once after holding (e.g. a streamed command). */
		cmd_free(&s->cmd);
		conn_resume_input(s->conn);
	}
}

/* A streaming command's literal was announced. */
static void literal_announced(struct imap_session *s)
{
	const struct imap_literal_info *info = imap_parser_literal_info(s->parser);
	const struct imap_command_def *def = s->cmd != NULL && s->cmd->collecting
		? s->cmd->def : imap_command_find_caps(info->partial->name, s->caps_off);
	if (s->cmd == NULL || !s->cmd->collecting) {
		/* (command_allowed answers an unknown command too: one of an
		 * extension switched off, caps.h) */
		if (!command_allowed(s, def, info->partial->tag, info->partial->name) ||
		    def->literal == NULL) {
			/* The reply was sent: drop the rest of the command. */
			imap_parser_literal_refuse(s->parser, IMAP_ERROR_BAD, NULL, "");
			return;
		}
	}
	def->literal(s, info);
	if (s->cmd != NULL) {
		s->cmd->def = def;
		s->cmd->collecting = true;
	}
}

static void parse_error(struct imap_session *s)
{
	const struct imap_parse_error *e = imap_parser_error(s->parser);
	if (e->text[0] != '\0') {
		/* (A text empty: refused at a literal and answered already.) The
		 * code may belong to the streaming command's state: answer first. */
		const char *status = e->kind == IMAP_ERROR_NO ? "NO" : "BAD";
		conn_debug(s->conn, "parse error: %s", e->text);
		if (e->tag != NULL)
			imap_reply_tagged(s, e->tag, status, e->code, e->text);
		else
			imap_reply_tagged(s, "*", "BAD", e->code, e->text);
	}
	if (s->cmd != NULL && s->cmd->collecting) {
		/* A streaming command failed after its literal(s): drop it. */
		cmd_free(&s->cmd);
	}
}

/* A raw line for the held command; false when more input is needed. */
static bool raw_line(struct imap_session *s)
{
	const char *data, *line;
	size_t len, used, line_len;
	conn_input(s->conn, &data, &len);
	enum imap_line_result r = imap_parser_read_line(s->parser, data, len, &line, &line_len,
							&used);
	if (r == IMAP_LINE_NEED_MORE) {
		conn_consume(s->conn, used);
		return false;
	}
	imap_line_fn *fn = s->cmd->on_line;
	s->cmd->on_line = NULL;
	conn_pause_input(s->conn);
	/* The line points into the input: consume it after fn has used it. */
	fn(s, r == IMAP_LINE_DONE ? line : NULL, line_len, r == IMAP_LINE_TOO_LONG);
	if (s->conn != NULL)
		conn_consume(s->conn, used);
	return true;
}

static void imap_session_input(void *ctx)
{
	struct imap_session *s = ctx;
	struct conn *c = s->conn;
	session_parser(s);
	while (!conn_is_closing(c) && s->state != IMAP_STATE_LOGOUT) {
		if (s->cmd != NULL && s->cmd->on_line != NULL) {
			if (!raw_line(s))
				return;
			continue;
		}
		if (s->cmd != NULL && s->cmd->on_input != NULL) {
			if (!s->cmd->on_input(s))
				return;
			continue;
		}
		if ((s->cmd != NULL && !s->cmd->collecting) || s->literal_pending)
			return; /* imap_cmd_finish() or the decision resumes */
		const char *data;
		size_t len, used;
		conn_input(c, &data, &len);
		if (imap_parser_streaming(s->parser)) {
			size_t room = s->cmd->def->literal_room(s);
			if (room == 0) {
				conn_pause_input(c); /* resumed when there is room */
				return;
			}
			if (len > room)
				len = room;
		}
		enum imap_parse_result r = imap_parser_feed(s->parser, data, len, &used);
		conn_consume(c, used);
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			return;
		case IMAP_PARSE_CONTINUE:
			imap_write_continuation(c, "Ready for literal data");
			break;
		case IMAP_PARSE_COMMAND:
			dispatch(s, imap_parser_command(s->parser));
			break;
		case IMAP_PARSE_ERROR:
			parse_error(s);
			break;
		case IMAP_PARSE_LITERAL:
			literal_announced(s);
			break;
		case IMAP_PARSE_LITERAL_DATA: {
			const char *chunk;
			size_t n;
			bool last;
			imap_parser_literal_chunk(s->parser, &chunk, &n, &last);
			s->cmd->def->literal_data(s, chunk, n, last);
			break;
		}
		}
		if (s->bye_after_command && s->cmd == NULL && !conn_is_closing(c)) {
			imap_bye(s, "Server shutting down.", "server shutdown");
			return;
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands && !conn_is_closing(c)) {
			imap_bye(s, "Too many invalid IMAP commands.", "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return; /* session_drained() continues */
	}
}

void imap_session_resume(struct imap_session *s)
{
	if (s->conn == NULL)
		return;
	conn_cork(s->conn);
	conn_resume_input(s->conn);
	imap_session_input(s);
	conn_uncork(s->conn);
}

static void *imap_session_create(struct conn *c)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, session_destroy);
	s->conn = c;
	s->state = IMAP_STATE_NOT_AUTH;
	/* The command parser (about half a KiB) is made when the first bytes
	 * arrive (session_parser): a connection that only got its greeting
	 * costs the connection and this struct. */
	struct imap_parser_limits lim;
	parser_limits(conn_config(c), false, &lim);
	conn_set_max_line(c, lim.max_line);
	/* On implicit TLS the greeting is written before the handshake, when
	 * the channel bindings that decide AUTH=...-PLUS are not known yet:
	 * no capabilities there, so the client asks for the true list (a
	 * list without -PLUS would make a binding client's "y" flag look
	 * like a downgrade, RFC 5802 6). */
	if (conn_is_tls(c)) {
		conn_write_str(c, "* OK Loft ready.\r\n");
		return s;
	}
	char caps[1024], code[1100];
	imap_capability_string(s, caps, sizeof(caps));
	snprintf(code, sizeof(code), "CAPABILITY %s", caps);
	imap_write_untagged(c, "OK", code, "Loft ready.");
	return s;
}

static void imap_session_drained(void *ctx)
{
	struct imap_session *s = ctx;
	if (s->cmd != NULL && !s->cmd->collecting) {
		if (s->cmd->on_drained != NULL && s->cmd->on_drained(s) == IMAP_CMD_DONE)
			imap_cmd_finish(s);
		return;
	}
	imap_session_input(ctx);
}

static void imap_session_timeout(void *ctx)
{
	struct imap_session *s = ctx;
	imap_write_untagged(s->conn, "BYE", NULL, "Disconnected for inactivity.");
}

static void imap_session_shutdown(void *ctx, bool force)
{
	struct imap_session *s = ctx;
	if (s->cmd != NULL && !force && s->cmd->on_line == NULL && s->cmd->on_input == NULL) {
		/* Let the command in flight (an upload included) finish and
		 * answer first; shutdown_timeout bounds the wait. IDLE, which
		 * only waits for the client, ends at once. */
		s->bye_after_command = true;
		return;
	}
	imap_bye(s, "Server shutting down.", "server shutdown");
}

static void imap_session_free(void *ctx)
{
	struct imap_session *s = ctx;
	s->conn = NULL;
	sess_core_release(&s->core);
}

static void imap_refuse(struct conn *c, enum conn_refuse_reason why)
{
	imap_write_untagged(c, "BYE", NULL, why == CONN_REFUSE_PER_IP
			    ? "Too many connections from your address."
			    : "Too many connections, try again later.");
}

const struct conn_proto imap_conn_proto = {
	.name = "imap",
	.session_create = imap_session_create,
	.session_input = imap_session_input,
	.session_drained = imap_session_drained,
	.session_timeout = imap_session_timeout,
	.session_shutdown = imap_session_shutdown,
	.session_free = imap_session_free,
	.refuse = imap_refuse,
};
