/* POP3 sessions: the state machine (AUTHORIZATION, TRANSACTION, UPDATE), the
 * dispatch table, and the commands answered so far: CAPA, STLS, NOOP, QUIT,
 * and the replies for login commands while no login method is offered. */
#include "server/pop3/pop3.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

enum pop3_state {
	POP3_STATE_AUTHORIZATION = 0,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
	POP3_STATE_LOGOUT,
};

#define ST(s) (1u << (s))
#define ANY_STATE (ST(POP3_STATE_AUTHORIZATION) | ST(POP3_STATE_TRANSACTION))

struct pop3_session {
	struct conn *conn;
	enum pop3_state state;
	unsigned bad_in_row;
};

struct pop3_command_def {
	const char *name;
	void (*handler)(struct pop3_session *s, const char *args);
	unsigned states;
	const char *rfc;
};

static const char *const state_names[] = {
	"authorization", "transaction", "update", "logout",
};

static void pop3_enter_state(struct pop3_session *s, enum pop3_state state)
{
	if (s->state == state)
		return;
	conn_debug(s->conn, "state %s -> %s", state_names[s->state], state_names[state]);
	s->state = state;
}

static void reply_ok(struct pop3_session *s, const char *text)
{
	s->bad_in_row = 0;
	conn_printf(s->conn, text[0] != '\0' ? "+OK %s\r\n" : "+OK%s\r\n", text);
}

static void reply_err(struct pop3_session *s, const char *text)
{
	s->bad_in_row++;
	conn_printf(s->conn, "-ERR %s\r\n", text);
}

/* ---- commands ---- */

static void cmd_capa(struct pop3_session *s, const char *args)
{
	if (args[0] != '\0') {
		reply_err(s, "CAPA takes no arguments.");
		return;
	}
	s->bad_in_row = 0;
	conn_printf(s->conn, "+OK Capability list follows\r\n%s"
		    "PIPELINING\r\nRESP-CODES\r\nIMPLEMENTATION Loft\r\n.\r\n",
		    conn_can_starttls(s->conn) ? "STLS\r\n" : "");
}

static void cmd_stls(struct pop3_session *s, const char *args)
{
	if (args[0] != '\0') {
		reply_err(s, "STLS takes no arguments.");
		return;
	}
	if (conn_is_tls(s->conn)) {
		reply_err(s, "TLS is already active.");
		return;
	}
	if (!conn_can_starttls(s->conn)) {
		reply_err(s, "STLS is not offered on this port.");
		return;
	}
	reply_ok(s, "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
}

static void cmd_noop(struct pop3_session *s, const char *args)
{
	if (args[0] != '\0') {
		reply_err(s, "NOOP takes no arguments.");
		return;
	}
	reply_ok(s, "");
}

static void cmd_quit(struct pop3_session *s, const char *args)
{
	(void)args;
	reply_ok(s, "Logging out.");
	pop3_enter_state(s, POP3_STATE_LOGOUT);
	conn_close(s->conn, "quit");
}

/* USER/PASS/APOP/AUTH: no login method is offered (CAPA lists neither
 * USER nor SASL), so these are refused without looking at the secret. */
static void cmd_login(struct pop3_session *s, const char *args)
{
	(void)args;
	if (!conn_is_tls(s->conn) && conn_can_starttls(s->conn))
		reply_err(s, "[AUTH] Plaintext authentication is disabled; use STLS first.");
	else
		reply_err(s, "[AUTH] No login method is offered on this server (see CAPA).");
}

static const struct pop3_command_def commands[] = {
	{ "CAPA", cmd_capa, ANY_STATE, "RFC 2449 5" },
	{ "STLS", cmd_stls, ST(POP3_STATE_AUTHORIZATION), "RFC 2595 4" },
	{ "NOOP", cmd_noop, ST(POP3_STATE_TRANSACTION), "RFC 1939 5" },
	{ "QUIT", cmd_quit, ANY_STATE, "RFC 1939 4, 6" },
	{ "USER", cmd_login, ST(POP3_STATE_AUTHORIZATION), "RFC 1939 7" },
	{ "PASS", cmd_login, ST(POP3_STATE_AUTHORIZATION), "RFC 1939 7" },
	{ "APOP", cmd_login, ST(POP3_STATE_AUTHORIZATION), "RFC 1939 7" },
	{ "AUTH", cmd_login, ST(POP3_STATE_AUTHORIZATION), "RFC 5034 4" },
};

/* Commands of the TRANSACTION state (RFC 1939 5, 7): known names, so a
 * client that has not logged in is told so rather than "unknown". */
static const char *const transaction_only[] = {
	"STAT", "LIST", "RETR", "DELE", "RSET", "TOP", "UIDL",
};

static void dispatch(struct pop3_session *s, char *line, size_t len)
{
	size_t n = 0;
	while (n < len && line[n] != ' ')
		n++;
	char name[8];
	if (n == 0 || n >= sizeof(name)) {
		reply_err(s, "Unknown command.");
		return;
	}
	for (size_t i = 0; i < n; i++)
		name[i] = (char)toupper((unsigned char)line[i]);
	name[n] = '\0';
	const char *args = n < len ? line + n + 1 : "";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if ((commands[i].states & ST(s->state)) == 0) {
			reply_err(s, s->state == POP3_STATE_AUTHORIZATION
				  ? "Log in first." : "Command not valid in this state.");
			return;
		}
		commands[i].handler(s, args);
		return;
	}
	for (size_t i = 0; i < sizeof(transaction_only) / sizeof(transaction_only[0]); i++) {
		if (strcmp(transaction_only[i], name) == 0) {
			reply_err(s, "Log in first.");
			return;
		}
	}
	reply_err(s, "Unknown command.");
}

/* ---- conn_proto ---- */

static void *pop3_session_create(struct conn *c)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	const struct loft_config *cfg = conn_config(c);
	conn_set_max_line(c, cfg->max_line_length_preauth ? cfg->max_line_length_preauth : 8192);
	conn_write_str(c, "+OK Loft ready.\r\n");
	return s;
}

static void pop3_session_input(void *ctx)
{
	struct pop3_session *s = ctx;
	struct conn *c = s->conn;
	while (!conn_is_closing(c) && s->state != POP3_STATE_LOGOUT) {
		struct reader_line line;
		enum reader_result r = conn_read_line(c, &line);
		if (r == READER_NEED_MORE)
			return;
		if (r == READER_TOO_LONG) {
			reply_err(s, "Line too long.");
		} else {
			if (memchr(line.data, '\0', line.len) != NULL) {
				reply_err(s, "Invalid characters in command.");
			} else {
				char *buf = xstrndup(line.data, line.len);
				dispatch(s, buf, line.len);
				free(buf);
			}
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands && !conn_is_closing(c)) {
			conn_write_str(c, "-ERR Too many bad commands.\r\n");
			conn_close(c, "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return;
	}
}

static void pop3_session_drained(void *ctx)
{
	pop3_session_input(ctx);
}

static void pop3_session_timeout(void *ctx)
{
	struct pop3_session *s = ctx;
	conn_write_str(s->conn, "-ERR Disconnected for inactivity.\r\n");
}

static void pop3_session_shutdown(void *ctx, bool force)
{
	struct pop3_session *s = ctx;
	(void)force;
	conn_write_str(s->conn, "-ERR [SYS/TEMP] Server shutting down.\r\n");
	pop3_enter_state(s, POP3_STATE_LOGOUT);
	conn_close(s->conn, "server shutdown");
}

static void pop3_session_free(void *ctx)
{
	free(ctx);
}

static void pop3_refuse(struct conn *c, enum conn_refuse_reason why)
{
	conn_write_str(c, why == CONN_REFUSE_PER_IP
		       ? "-ERR [SYS/TEMP] Too many connections from your address.\r\n"
		       : "-ERR [SYS/TEMP] Too many connections, try again later.\r\n");
}

const struct conn_proto pop3_conn_proto = {
	.name = "pop3",
	.session_create = pop3_session_create,
	.session_input = pop3_session_input,
	.session_drained = pop3_session_drained,
	.session_timeout = pop3_session_timeout,
	.session_shutdown = pop3_session_shutdown,
	.session_free = pop3_session_free,
	.refuse = pop3_refuse,
};
