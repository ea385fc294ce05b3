/* ManageSieve sessions: the greeting (capabilities and OK), the input loop
 * that assembles a command from its lines and literals and hands it to the
 * dispatcher in order, one command at a time, the reply helpers, state
 * changes and the goodbyes for LOGOUT, timeouts, shutdown, too many errors
 * and refused connections. */
#include "server/managesieve/session.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/managesieve/commands.h"
#include "server/managesieve/managesieve.h"
#include "server/services.h"
#include "server/sieve/sieve.h"
#include "storage/store.h"

static const char *const state_names[] = { "nonauth", "auth", "logout" };

void ms_enter_state(struct ms_session *s, enum ms_state state)
{
	if (s->state == state)
		return;
	if (s->conn != NULL)
		conn_debug(s->conn, "state %s -> %s", state_names[s->state], state_names[state]);
	s->state = state;
}

/* ---- replies ---- */

static void reply(struct ms_session *s, const char *status, const char *code, const char *text)
{
	if (s->conn == NULL)
		return;
	struct msg_buf b = { 0 };
	msg_buf_puts(&b, status);
	if (code != NULL)
		msg_buf_printf(&b, " (%s)", code);
	if (text != NULL) {
		msg_buf_putc(&b, ' ');
		ms_put_string(&b, text, strlen(text));
	}
	msg_buf_puts(&b, "\r\n");
	conn_write(s->conn, b.data, b.len);
	msg_buf_free(&b);
}

void ms_ok(struct ms_session *s, const char *code, const char *text)
{
	s->bad_in_row = 0;
	reply(s, "OK", code, text);
}

void ms_no(struct ms_session *s, const char *code, const char *text)
{
	s->bad_in_row++;
	reply(s, "NO", code, text);
}

void ms_no_store(struct ms_session *s, int err, const char *what)
{
	switch (err) {
	case STORE_ENOTFOUND:
		ms_no(s, "NONEXISTENT", "There is no script by that name.");
		return;
	case STORE_EEXISTS:
		ms_no(s, "ALREADYEXISTS", "A script by that name exists already.");
		return;
	case STORE_EINUSE:
		ms_no(s, "ACTIVE", "You may not delete the active script.");
		return;
	case STORE_EINVALID:
		ms_no(s, NULL, "Invalid script name.");
		return;
	case STORE_EQUOTA:
		ms_no(s, "QUOTA", "Not enough space for the script.");
		return;
	default:
		if (s->conn != NULL)
			conn_error(s->conn, "%s: %s", what, store_strerror(err));
		ms_no(s, "TRYLATER", "The scripts are temporarily unavailable; try again later.");
		return;
	}
}

void ms_capability(struct ms_session *s)
{
	const struct loft_config *cfg = conn_config(s->conn);
	struct msg_buf b = { 0 };
	msg_buf_puts(&b, "\"IMPLEMENTATION\" \"Loft\"\r\n");
	if (s->state == MS_STATE_NONAUTH) {
		char mechs[256];
		ms_mechanisms(s, mechs, sizeof(mechs));
		msg_buf_printf(&b, "\"SASL\" \"%s\"\r\n", mechs);
	}
	msg_buf_printf(&b, "\"SIEVE\" \"%s\"\r\n", sieve_capability());
	if (s->state == MS_STATE_NONAUTH && conn_can_starttls(s->conn))
		msg_buf_puts(&b, "\"STARTTLS\"\r\n");
	msg_buf_printf(&b, "\"MAXREDIRECTS\" \"%u\"\r\n", cfg->sieve_max_redirects);
	if (s->state == MS_STATE_AUTH && s->user != NULL) {
		msg_buf_puts(&b, "\"OWNER\" ");
		ms_put_string(&b, s->user, strlen(s->user));
		msg_buf_puts(&b, "\r\n");
	}
	msg_buf_puts(&b, "\"VERSION\" \"1.0\"\r\n");
	conn_write(s->conn, b.data, b.len);
	msg_buf_free(&b);
}

/* ---- the command in flight ---- */

void ms_cmd_hold(struct ms_session *s)
{
	s->held = true;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
}

static void bye(struct ms_session *s, const char *code, const char *text, const char *reason)
{
	reply(s, "BYE", code, text);
	ms_enter_state(s, MS_STATE_LOGOUT);
	conn_close(s->conn, reason);
}

void ms_cmd_finish(struct ms_session *s)
{
	s->held = false;
	if (s->conn == NULL || conn_is_closing(s->conn))
		return;
	if (s->bye_after_command && s->state != MS_STATE_LOGOUT) {
		bye(s, NULL, "Server shutting down.", "server shutdown");
		return;
	}
	conn_resume_input(s->conn);
}

/* ---- limits ---- */

static void set_limits(struct ms_session *s)
{
	const struct loft_config *cfg = conn_config(s->conn);
	bool auth = s->state == MS_STATE_AUTH;
	size_t line = auth ? cfg->max_line_length : cfg->max_line_length_preauth;
	conn_set_max_line(s->conn, line ? line : 8192);
	if (auth)
		conn_set_timeout(s->conn, cfg->idle_timeout_ms);
}

/* Literal bytes one command may carry: a script after login, a little
 * before it (SASL responses, names). */
static size_t literal_limit(const struct ms_session *s)
{
	const struct loft_config *cfg = conn_config(s->conn);
	if (s->state != MS_STATE_AUTH)
		return cfg->max_literal_total_preauth;
	size_t a = cfg->sieve_max_script_size + 4096, b = cfg->max_literal_total;
	return a > b ? a : b;
}

void ms_logged_in(struct ms_session *s, char *user, struct store_user *su)
{
	free(s->user);
	s->user = user;
	store_user_close(&s->store_user);
	s->store_user = su;
	ms_enter_state(s, MS_STATE_AUTH);
	conn_set_authenticated(s->conn);
	set_limits(s);
}

void ms_logged_out(struct ms_session *s)
{
	x_free(&s->user);
	store_user_close(&s->store_user);
	ms_enter_state(s, MS_STATE_NONAUTH);
	set_limits(s);
}

/* ---- input ---- */

static void command_reset(struct ms_session *s)
{
	ms_args_clear(&s->args);
	s->in_literal = s->literal_drop = s->continuation = false;
	s->literal_total = 0;
	msg_buf_free(&s->literal);
}

static void dispatch(struct ms_session *s)
{
	struct ms_args *args = &s->args;
	if (args->v[0].type != MS_ARG_ATOM) {
		ms_no(s, NULL, "A command starts with its name.");
		return;
	}
	const struct ms_command_def *def = ms_command_find(args->v[0].data);
	if (def == NULL) {
		ms_no(s, NULL, "Unknown command.");
		return;
	}
	if ((def->states & MS_STATE_BIT(s->state)) == 0) {
		ms_no(s, NULL, s->state == MS_STATE_NONAUTH ? "Authenticate first."
		      : "Not valid after authentication.");
		return;
	}
	def->handler(s, args);
}

/* A literal is complete (or dropped). */
static void literal_done(struct ms_session *s)
{
	s->in_literal = false;
	s->continuation = true;
	if (s->literal_drop)
		return;
	msg_buf_putc(&s->literal, '\0');
	char *data = s->literal.data;
	size_t len = s->literal.len - 1;
	memset(&s->literal, 0, sizeof(s->literal));
	if (!ms_args_push_literal(&s->args, data, len))
		s->literal_drop = true;
}

static void line_in(struct ms_session *s, const char *line, size_t len)
{
	uint64_t lit = 0;
	const char *err = NULL;
	enum ms_parse_result r = ms_parse_line(line, len, s->continuation, &s->args, &lit, &err);
	if (r == MS_PARSE_LITERAL) {
		s->in_literal = true;
		s->continuation = false;
		s->literal_total += (size_t)lit;
		if (lit > literal_limit(s) || s->literal_total > literal_limit(s))
			s->literal_drop = true;
		conn_read_bytes_begin(s->conn, (size_t)lit);
		return;
	}
	if (r == MS_PARSE_ERROR) {
		command_reset(s);
		if (s->sasl_waiting) {
			ms_sasl_response(s, NULL, 0);
			return;
		}
		ms_no(s, NULL, err);
		return;
	}
	if (s->literal_drop) {
		bool script = s->args.n > 0 && s->args.v[0].type == MS_ARG_ATOM &&
			      (strcasecmp(s->args.v[0].data, "PUTSCRIPT") == 0 ||
			       strcasecmp(s->args.v[0].data, "CHECKSCRIPT") == 0);
		command_reset(s);
		if (s->sasl_waiting) {
			ms_sasl_response(s, NULL, 0);
			return;
		}
		if (script)
			ms_no(s, "QUOTA/MAXSIZE", "The script is larger than max_script_size.");
		else
			ms_no(s, NULL, "Literal too large.");
		return;
	}
	if (s->sasl_waiting) {
		/* a response sent as a literal */
		struct ms_args args = s->args;
		memset(&s->args, 0, sizeof(s->args));
		command_reset(s);
		if (args.n == 1 && args.v[0].type == MS_ARG_STRING)
			ms_sasl_response(s, args.v[0].data, args.v[0].len);
		else
			ms_sasl_response(s, NULL, 0);
		ms_args_clear(&args);
		return;
	}
	dispatch(s);
	command_reset(s);
}

static void ms_session_input(void *ctx)
{
	struct ms_session *s = ctx;
	struct conn *c = s->conn;
	while (!conn_is_closing(c) && s->state != MS_STATE_LOGOUT) {
		if (s->held)
			return; /* ms_cmd_finish() resumes */
		if (s->in_literal) {
			const char *data;
			size_t len;
			bool done = conn_read_bytes(c, &data, &len);
			if (!s->literal_drop)
				msg_buf_append(&s->literal, data, len);
			if (!done)
				return;
			literal_done(s);
			continue;
		}
		struct reader_line line;
		enum reader_result r = conn_read_line(c, &line);
		if (r == READER_NEED_MORE)
			return;
		if (r == READER_TOO_LONG) {
			command_reset(s);
			ms_no(s, NULL, "Line too long.");
		} else {
			line_in(s, line.data, line.len);
		}
		if (conn_is_closing(c))
			return;
		if (s->bye_after_command && !s->held) {
			bye(s, NULL, "Server shutting down.", "server shutdown");
			return;
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands) {
			bye(s, NULL, "Too many bad commands.", "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return; /* session_drained() continues */
	}
}

/* ---- conn_proto ---- */

static void session_destroy(struct sess_core *core)
{
	struct ms_session *s = (struct ms_session *)core;
	ms_auth_free(s);
	command_reset(s);
	store_user_close(&s->store_user);
	free(s->user);
	free(s);
}

static void *ms_session_create(struct conn *c)
{
	struct ms_session *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, session_destroy);
	s->conn = c;
	s->state = MS_STATE_NONAUTH;
	set_limits(s);
	ms_capability(s);
	ms_ok(s, NULL, "Loft ManageSieve ready.");
	return s;
}

static void ms_session_drained(void *ctx)
{
	struct ms_session *s = ctx;
	if (!s->held)
		ms_session_input(ctx);
}

static void ms_session_timeout(void *ctx)
{
	struct ms_session *s = ctx;
	reply(s, "BYE", NULL, "Disconnected for inactivity.");
}

static void ms_session_shutdown(void *ctx, bool force)
{
	struct ms_session *s = ctx;
	if (s->held && !force) {
		s->bye_after_command = true;
		return;
	}
	bye(s, NULL, "Server shutting down.", "server shutdown");
}

static void ms_session_free(void *ctx)
{
	struct ms_session *s = ctx;
	s->conn = NULL;
	sess_core_release(&s->core);
}

static void ms_refuse(struct conn *c, enum conn_refuse_reason why)
{
	conn_write_str(c, why == CONN_REFUSE_PER_IP
		       ? "BYE (TRYLATER) \"Too many connections from your address.\"\r\n"
		       : "BYE (TRYLATER) \"Too many connections, try again later.\"\r\n");
}

const struct conn_proto managesieve_conn_proto = {
	.name = "sieve",
	.session_create = ms_session_create,
	.session_input = ms_session_input,
	.session_drained = ms_session_drained,
	.session_timeout = ms_session_timeout,
	.session_shutdown = ms_session_shutdown,
	.session_free = ms_session_free,
	.refuse = ms_refuse,
};
