/* IMAP sessions: greeting, the input loop (parser events to the dispatcher,
 * continuation requests, parse errors), state changes and the goodbyes for
 * logout, timeout, shutdown and refused connections. */
#include "server/imap/session.h"

#include <stdio.h>
#include <string.h>

#include "server/imap/commands.h"
#include "server/imap/imap.h"
#include "lib/xmem.h"

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
	conn_debug(s->conn, "state %s -> %s", imap_state_name(s->state), imap_state_name(state));
	s->state = state;
}

void imap_reply_tagged(struct imap_session *s, const char *tag, const char *status,
		       const char *code, const char *text)
{
	if (strcmp(status, "BAD") == 0)
		s->bad_in_row++;
	else
		s->bad_in_row = 0;
	if (code != NULL)
		conn_printf(s->conn, "%s %s [%s] %s\r\n", tag, status, code, text);
	else
		conn_printf(s->conn, "%s %s %s\r\n", tag, status, text);
}

void imap_capability_string(const struct imap_session *s, char *buf, size_t size)
{
	/* Only what this server really does; LOGIN is not available, so it
	 * says LOGINDISABLED whether or not TLS is active. */
	snprintf(buf, size, "IMAP4rev1%s LOGINDISABLED",
		 conn_can_starttls(s->conn) ? " STARTTLS" : "");
}

void imap_bye(struct imap_session *s, const char *text, const char *reason)
{
	conn_printf(s->conn, "* BYE %s\r\n", text);
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
	 * worth; message uploads will be streamed, not parsed into memory. */
	lim->max_literal = line;
	if (cfg->max_literal_size != 0 && cfg->max_literal_size < lim->max_literal)
		lim->max_literal = cfg->max_literal_size;
	lim->max_depth = cfg->max_nesting_depth;
	lim->max_args = cfg->max_arguments;
}

static void *imap_session_create(struct conn *c)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->state = IMAP_STATE_NOT_AUTH;
	struct imap_parser_limits lim;
	parser_limits(conn_config(c), false, &lim);
	s->parser = imap_parser_create(&lim);
	conn_set_max_line(c, lim.max_line);
	char caps[256];
	imap_capability_string(s, caps, sizeof(caps));
	conn_printf(c, "* OK [CAPABILITY %s] Loft ready.\r\n", caps);
	return s;
}

static void dispatch(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_command_def *def = imap_command_find(cmd->name);
	if (def == NULL) {
		if (s->state == IMAP_STATE_NOT_AUTH && imap_command_needs_auth(cmd->name))
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Log in first.");
		else
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown command.");
		return;
	}
	if ((def->states & IMAP_STATE_BIT(s->state)) == 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  s->state == IMAP_STATE_NOT_AUTH ? "Log in first."
								   : "Command not valid in this state.");
		return;
	}
	if ((def->flags & IMAP_CMD_NEEDS_TLS) != 0 && !conn_is_tls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "NO", "PRIVACYREQUIRED", "TLS is required.");
		return;
	}
	def->handler(s, cmd);
}

static void parse_error(struct imap_session *s)
{
	const struct imap_parse_error *e = imap_parser_error(s->parser);
	const char *status = e->kind == IMAP_ERROR_NO ? "NO" : "BAD";
	conn_debug(s->conn, "parse error: %s", e->text);
	if (e->tag != NULL)
		imap_reply_tagged(s, e->tag, status, e->code, e->text);
	else
		imap_reply_tagged(s, "*", "BAD", e->code, e->text);
}

static void imap_session_input(void *ctx)
{
	struct imap_session *s = ctx;
	struct conn *c = s->conn;
	while (!conn_is_closing(c) && s->state != IMAP_STATE_LOGOUT) {
		const char *data;
		size_t len, used;
		conn_input(c, &data, &len);
		if (len == 0)
			return;
		enum imap_parse_result r = imap_parser_feed(s->parser, data, len, &used);
		conn_consume(c, used);
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			return;
		case IMAP_PARSE_CONTINUE:
			conn_write_str(c, "+ Ready for literal data\r\n");
			break;
		case IMAP_PARSE_COMMAND:
			dispatch(s, imap_parser_command(s->parser));
			break;
		case IMAP_PARSE_ERROR:
			parse_error(s);
			break;
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands && !conn_is_closing(c)) {
			imap_bye(s, "Too many invalid IMAP commands.", "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return; /* session_drained() continues */
	}
}

static void imap_session_drained(void *ctx)
{
	imap_session_input(ctx);
}

static void imap_session_timeout(void *ctx)
{
	struct imap_session *s = ctx;
	conn_write_str(s->conn, "* BYE Disconnected for inactivity.\r\n");
}

static void imap_session_shutdown(void *ctx, bool force)
{
	struct imap_session *s = ctx;
	(void)force; /* no command ever waits across callbacks yet */
	imap_bye(s, "Server shutting down.", "server shutdown");
}

static void imap_session_free(void *ctx)
{
	struct imap_session *s = ctx;
	imap_parser_free(&s->parser);
	free(s);
}

static void imap_refuse(struct conn *c, enum conn_refuse_reason why)
{
	conn_write_str(c, why == CONN_REFUSE_PER_IP
		       ? "* BYE Too many connections from your address.\r\n"
		       : "* BYE Too many connections, try again later.\r\n");
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
