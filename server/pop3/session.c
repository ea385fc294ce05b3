/* POP3 sessions: greeting, the input loop (lines to the dispatcher, in
 * order, one command at a time), the command in flight, state changes, the
 * reply helpers and the goodbyes for QUIT, timeouts, shutdown, too many
 * errors and refused connections. */
#include "server/pop3/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/engine/login.h"
#include "server/services.h"
#include "server/pop3/commands.h"
#include "server/pop3/pop3.h"
#include "server/pop3/readahead.h"
#include "storage/store.h"

static const char *const state_names[] = {
	"authorization", "transaction", "update", "logout",
};

const char *pop3_state_name(enum pop3_state state)
{
	return (unsigned)state < 4 ? state_names[state] : "?";
}

void pop3_enter_state(struct pop3_session *s, enum pop3_state state)
{
	if (s->state == state)
		return;
	if (s->conn != NULL)
		conn_debug(s->conn, "state %s -> %s", pop3_state_name(s->state),
			   pop3_state_name(state));
	s->state = state;
}

/* ---- replies ---- */

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	s->bad_in_row = 0;
	if (s->conn == NULL)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	conn_printf(s->conn, text[0] != '\0' ? "+OK %s\r\n" : "+OK\r\n", text);
}

void pop3_err(struct pop3_session *s, const char *code, const char *text)
{
	s->bad_in_row++;
	if (s->conn == NULL)
		return;
	if (code != NULL)
		conn_printf(s->conn, "-ERR [%s] %s\r\n", code, text);
	else
		conn_printf(s->conn, "-ERR %s\r\n", text);
}

void pop3_err_store(struct pop3_session *s, int err, const char *what)
{
	if (s->conn != NULL)
		conn_error(s->conn, "%s: %s", what, store_strerror(err));
	if (err == STORE_ECORRUPT)
		pop3_err(s, "SYS/PERM", "The mailbox index is damaged; contact your administrator.");
	else
		pop3_err(s, "SYS/TEMP", "The mailbox is temporarily unavailable; try again later.");
}

void pop3_bye(struct pop3_session *s, bool ok, const char *text, const char *reason)
{
	conn_printf(s->conn, "%s %s\r\n", ok ? "+OK" : "-ERR", text);
	pop3_enter_state(s, POP3_STATE_LOGOUT);
	conn_close(s->conn, reason);
}

bool pop3_plaintext_allowed(const struct pop3_session *s)
{
	struct conn_cb cb[CONN_CB_MAX];
	struct auth_conn ac;
	sess_login_auth_conn(s->conn, USERDB_SERVICE_POP3, cb, &ac);
	bool ok = auth_plaintext_allowed(s->core.svc->auth, &ac);
	x_wipe(cb, sizeof(cb));
	return ok;
}

/* "SASL m1 m2\r\n" with the mechanisms this connection may use, or "". */
static void sasl_line(const struct pop3_session *s, char *buf, size_t size)
{
	buf[0] = '\0';
	struct conn_cb cb[CONN_CB_MAX];
	struct auth_conn ac;
	sess_login_auth_conn(s->conn, USERDB_SERVICE_POP3, cb, &ac);
	const char *mechs[AUTH_MECH_COUNT];
	size_t n = auth_mechanisms(s->core.svc->auth, &ac, mechs, AUTH_MECH_COUNT);
	x_wipe(cb, sizeof(cb));
	if (n == 0)
		return;
	size_t len = (size_t)snprintf(buf, size, "SASL");
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, " %s", mechs[i]);
	if (len < size)
		snprintf(buf + len, size - len, "\r\n");
}

void pop3_capa_lines(const struct pop3_session *s, char *buf, size_t size)
{
	/* Only what this server really does (RFC 2449 5). */
	const struct loft_config *cfg = conn_config(s->conn);
	struct pop3_policy p;
	if (s->state == POP3_STATE_TRANSACTION)
		p = s->policy;
	else
		pop3_policy_get(cfg, NULL, &p);
	char expire[32], delay[48] = "";
	if (p.retention_days > 0)
		snprintf(expire, sizeof(expire), "EXPIRE %u\r\n", p.retention_days);
	else
		snprintf(expire, sizeof(expire), "EXPIRE NEVER\r\n");
	if (p.login_delay_s > 0)
		snprintf(delay, sizeof(delay), "LOGIN-DELAY %u\r\n", p.login_delay_s);
	bool auth = s->state == POP3_STATE_AUTHORIZATION;
	char sasl[256] = "";
	if (auth)
		sasl_line(s, sasl, sizeof(sasl));
	snprintf(buf, size, "%s%s%sTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
		 "PIPELINING\r\n%s%sIMPLEMENTATION Loft\r\n",
		 auth && conn_can_starttls(s->conn) ? "STLS\r\n" : "",
		 auth && pop3_plaintext_allowed(s) ? "USER\r\n" : "", sasl,
		 expire, delay);
}

/* ---- the command in flight ---- */

struct pop3_cmd *pop3_cmd_hold(struct pop3_session *s, void *ctx, void (*free_ctx)(void *ctx))
{
	struct pop3_cmd *cmd = s->cmd;
	if (cmd == NULL) {
		cmd = xcalloc(1, sizeof(*cmd));
		s->cmd = cmd;
	}
	cmd->ctx = ctx;
	cmd->free_ctx = free_ctx;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
	return cmd;
}

static void cmd_free(struct pop3_cmd **cmdp)
{
	struct pop3_cmd *cmd = *cmdp;
	if (cmd == NULL)
		return;
	*cmdp = NULL;
	if (cmd->free_ctx != NULL)
		cmd->free_ctx(cmd->ctx);
	free(cmd);
}

static void shutdown_bye(struct pop3_session *s)
{
	/* RFC 1939 6: no UPDATE without QUIT; nothing is deleted. */
	pop3_bye(s, false, "[SYS/TEMP] Server shutting down; nothing was deleted.",
		 "server shutdown");
}

void pop3_cmd_finish(struct pop3_session *s)
{
	cmd_free(&s->cmd);
	if (s->conn == NULL || conn_is_closing(s->conn))
		return;
	if (s->bye_after_command && s->state != POP3_STATE_LOGOUT) {
		shutdown_bye(s);
		return;
	}
	conn_resume_input(s->conn);
}

/* ---- login ---- */

static void set_limits(struct pop3_session *s, bool authenticated)
{
	const struct loft_config *cfg = conn_config(s->conn);
	size_t line = authenticated ? cfg->max_line_length : cfg->max_line_length_preauth;
	conn_set_max_line(s->conn, line ? line : 8192);
	if (authenticated)
		conn_set_authenticated(s->conn);   /* idle_timeout; the login deadline ends */
}

void pop3_session_logged_in(struct pop3_session *s, char *user, struct store_user *su,
			    struct store_lock *lock, struct store_mailbox *inbox,
			    struct pop3_maildrop *drop)
{
	free(s->user);
	s->user = user;
	s->store_user = su;
	s->lock = lock;
	s->inbox = inbox;
	s->drop = drop;
	const struct loft_config *cfg = conn_config(s->conn);
	s->ra = pop3_ra_create(cfg->pop3_read_ahead, cfg->pop3_retr_chunk);
	pop3_enter_state(s, POP3_STATE_TRANSACTION);
	set_limits(s, true);
}

/* ---- dispatch ---- */

static void dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_cmdline cmd;
	switch (pop3_parse_line(line, len, &cmd)) {
	case POP3_PARSE_OK:
		break;
	case POP3_PARSE_BAD_CHAR:
		pop3_err(s, NULL, "Invalid characters in command.");
		return;
	case POP3_PARSE_EMPTY:
	case POP3_PARSE_BAD_KEYWORD:
		pop3_err(s, NULL, "Unknown command.");
		return;
	}
	const struct pop3_command_def *def = pop3_command_find(cmd.keyword);
	if (def == NULL) {
		pop3_err(s, NULL, "Unknown command.");
		return;
	}
	if ((def->states & POP3_STATE_BIT(s->state)) == 0) {
		pop3_err(s, NULL, s->state == POP3_STATE_AUTHORIZATION
			 ? "Log in first." : "Not valid after login.");
		return;
	}
	if (cmd.too_many_args && !(def->flags & POP3_CMD_WHOLE_ARG)) {
		pop3_err(s, NULL, "Too many arguments.");
		return;
	}
	def->handler(s, &cmd);
}

static void pop3_session_input(void *ctx)
{
	struct pop3_session *s = ctx;
	struct conn *c = s->conn;
	while (!conn_is_closing(c) && s->state != POP3_STATE_LOGOUT) {
		if (s->cmd != NULL && s->read_line == NULL)
			return; /* pop3_cmd_finish() resumes */
		struct reader_line line;
		enum reader_result r = conn_read_line(c, &line);
		if (r == READER_NEED_MORE)
			return;
		if (s->read_line != NULL) {
			/* AUTH: a SASL response line, not a command. */
			void (*cb)(struct pop3_session *, const char *, size_t, bool) = s->read_line;
			s->read_line = NULL;
			cb(s, line.data, line.len, r == READER_TOO_LONG);
			continue;
		}
		if (r == READER_TOO_LONG)
			pop3_err(s, NULL, "Line too long.");
		else
			dispatch(s, line.data, line.len);
		if (conn_is_closing(c))
			return;
		if (s->bye_after_command && s->cmd == NULL) {
			shutdown_bye(s);
			return;
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands) {
			pop3_bye(s, false, "Too many bad commands.", "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return; /* session_drained() continues */
	}
}

/* ---- conn_proto ---- */

static void session_destroy(struct sess_core *core)
{
	struct pop3_session *s = (struct pop3_session *)core;
	cmd_free(&s->cmd);
	/* No job is in flight here: closing the views only drops references
	 * and releasing the lock only closes its descriptor (no I/O). */
	pop3_ra_free(&s->ra);
	pop3_maildrop_free(&s->drop);
	store_mailbox_close(&s->inbox);
	store_lock_release(&s->lock);
	store_user_close(&s->store_user);
	free(s->user_arg);
	free(s->user);
	free(s);
}

static void *pop3_session_create(struct conn *c)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, session_destroy);
	s->conn = c;
	s->state = POP3_STATE_AUTHORIZATION;
	set_limits(s, false);
	conn_write_str(c, "+OK Loft ready.\r\n");
	return s;
}

static void pop3_session_drained(void *ctx)
{
	struct pop3_session *s = ctx;
	if (s->cmd != NULL) {
		if (s->cmd->on_drained != NULL && s->cmd->on_drained(s) == POP3_CMD_DONE)
			pop3_cmd_finish(s);
		return;
	}
	pop3_session_input(ctx);
}

static void pop3_session_timeout(void *ctx)
{
	struct pop3_session *s = ctx;
	conn_write_str(s->conn, "-ERR Disconnected for inactivity; nothing was deleted.\r\n");
}

static void pop3_session_shutdown(void *ctx, bool force)
{
	struct pop3_session *s = ctx;
	if (s->cmd != NULL && !force) {
		/* Let the command in flight (a QUIT's UPDATE included) finish
		 * and answer first; shutdown_timeout bounds the wait. */
		s->bye_after_command = true;
		return;
	}
	shutdown_bye(s);
}

static void pop3_session_free(void *ctx)
{
	struct pop3_session *s = ctx;
	s->conn = NULL;
	sess_core_release(&s->core);
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
