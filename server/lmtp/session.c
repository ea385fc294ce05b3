/* LMTP and SMTP sessions: the connection callbacks (create with the
 * greeting, or for SMTP the greeting delay that catches early talkers and
 * the per-network connection rate), the input loop (command lines, message
 * bytes, AUTH responses), replies with their error accounting, waiting for
 * pool jobs, the session timer, timeouts and shutdown. */
#include "server/lmtp/lmtp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "lib/xmem.h"
#include "server/lmtp/checks.h"
#include "server/lmtp/ratelimit.h"
#include "server/lmtp/session.h"
#include "server/services.h"

static const char *const state_names[] = {
	"greeting", "greeted", "ready", "mail", "rcpt", "data", "bdat", "auth", "logout",
};

void smtp_enter_state(struct smtp_session *s, enum smtp_state state)
{
	if (s->state == state)
		return;
	if (s->conn != NULL)
		conn_debug(s->conn, "state %s -> %s", state_names[s->state], state_names[state]);
	s->state = state;
}

const struct loft_services *smtp_services(const struct smtp_session *s)
{
	return s->core.svc;
}

const struct loft_config *smtp_config(const struct smtp_session *s)
{
	return conn_config(s->conn);
}

const char *smtp_hostname(const struct smtp_session *s)
{
	const char *h = s->conn != NULL ? conn_config(s->conn)->hostname : NULL;
	return h != NULL && h[0] != '\0' ? h : "localhost";
}

/* Errors count towards the limits: protocol errors (x.5.x: syntax,
 * sequence, unknown commands) towards max_bad_commands in a row, every
 * error but 452 4.5.3 (too many recipients: the RFC's answer to a client
 * that sends more, not an error of its own) towards [smtp] max_errors. */
static void count_reply(struct smtp_session *s, int code, const char *text)
{
	if (code >= 500 && strlen(text) > 4 && strncmp(text + 1, ".5.", 3) == 0)
		s->bad_in_row++;
	else
		s->bad_in_row = 0;
	if (code >= 400 && code != 421 && strncmp(text, "4.5.3", 5) != 0)
		s->errors++;
}

void smtp_reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	if (s->conn == NULL)
		return;
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	count_reply(s, code, text);
	conn_printf(s->conn, "%d %s\r\n", code, text);
}

void smtp_reply_line(struct smtp_session *s, const char *line)
{
	smtp_reply(s, atoi(line), "%s", strlen(line) > 4 ? line + 4 : "");
}

/* After a reply: close a session over its error limits. */
static bool over_limits(struct smtp_session *s)
{
	struct conn *c = s->conn;
	const struct loft_config *cfg = conn_config(c);
	const char *why = NULL;
	if (s->bad_in_row >= cfg->max_bad_commands)
		why = "Too many bad commands";
	else if (!s->lmtp && s->errors >= cfg->smtp_max_errors)
		why = "Too many errors";
	if (why == NULL || conn_is_closing(c))
		return false;
	conn_printf(c, "421 4.7.0 %s %s, closing connection\r\n", smtp_hostname(s), why);
	conn_info(c, "closing: %s (%u errors)", why, s->errors);
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(c, "too many errors");
	return true;
}

/* ---- waiting ---- */

void smtp_wait(struct smtp_session *s, enum smtp_wait what)
{
	s->wait = what;
	conn_pause_input(s->conn);
	conn_set_timeout(s->conn, 0);   /* the client waits for us, not we for it */
}

static void arm_timeout(struct smtp_session *s)
{
	const struct loft_config *cfg = conn_config(s->conn);
	bool data = s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT;
	conn_set_timeout(s->conn, data ? cfg->data_timeout_ms : cfg->command_timeout_ms);
}

static void session_input(void *ctx);

void smtp_wait_done(struct smtp_session *s)
{
	s->wait = SMTP_WAIT_NONE;
	if (s->conn == NULL)
		return;
	arm_timeout(s);
	/* Buffered input (pipelined commands, message bytes the reader took
	 * but the sink had no room for) goes on now, not only when more
	 * arrives. */
	conn_cork(s->conn);
	conn_resume_input(s->conn);
	if (!conn_is_closing(s->conn))
		session_input(s);
	conn_uncork(s->conn);
}

static void on_timer(uv_timer_t *t)
{
	struct smtp_session *s = t->data;
	void (*cb)(struct smtp_session *) = s->timer_cb;
	s->timer_cb = NULL;
	if (cb != NULL && s->conn != NULL) {
		conn_cork(s->conn);
		cb(s);
		if (s->conn != NULL)
			conn_uncork(s->conn);
	}
}

void smtp_timer_start(struct smtp_session *s, unsigned ms, void (*cb)(struct smtp_session *s))
{
	if (s->timer == NULL) {
		s->timer = xcalloc(1, sizeof(uv_timer_t));
		uv_timer_init(conn_loop(s->conn), s->timer);
		s->timer->data = s;
	}
	s->timer_cb = cb;
	uv_timer_start(s->timer, on_timer, ms, 0);
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

void smtp_tx_reset(struct smtp_session *s)
{
	smtp_checks_tx_reset(s);
	smtp_tx_free(&s->tx, s->core.svc->storage_pool);
	if (s->state >= SMTP_STATE_MAIL && s->state <= SMTP_STATE_BDAT)
		smtp_enter_state(s, SMTP_STATE_READY);
}

/* ---- create ---- */

static void session_destroy(struct sess_core *core)
{
	struct smtp_session *s = (struct smtp_session *)core;
	smtp_tx_free(&s->tx, core->svc->storage_pool);
	smtp_auth_free(s);
	free(s->helo);
	free(s);
}

static void greeting_due(struct smtp_session *s)
{
	smtp_enter_state(s, SMTP_STATE_GREETED);
	smtp_greet(s);
	smtp_wait_done(s);
}

static void *session_create(struct conn *c, bool lmtp)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, session_destroy);
	s->conn = c;
	s->lmtp = lmtp;
	const struct loft_config *cfg = conn_config(c);
	conn_set_max_line(c, cfg->max_line_length_preauth ? cfg->max_line_length_preauth : 8192);
	net_addr_key_parse(conn_remote_ip(c), cfg->per_ip_ipv4_prefix, cfg->per_ip_ipv6_prefix,
			   &s->net);
	if (!lmtp && !smtp_rate_take(s->core.svc->smtp_rate, &s->net, SMTP_RATE_CONNECTIONS,
				     cfg->smtp_connection_rate, uv_now(conn_loop(c)))) {
		conn_printf(c, "421 4.7.0 %s Too many connections from your network, try again "
			    "later\r\n", smtp_hostname(s));
		conn_info(c, "refused: connection rate over %u a minute",
			  cfg->smtp_connection_rate);
		smtp_enter_state(s, SMTP_STATE_LOGOUT);
		conn_close(c, "connection rate");
		return s;
	}
	smtp_checks_connect(s);   /* the DNSBL query runs during the greeting */
	if (!lmtp && cfg->smtp_greeting_delay_ms > 0) {
		/* RFC 5321 4.3.1: the client waits for the greeting. Input
		 * before it is an early talker (session_input). */
		s->state = SMTP_STATE_GREETING;
		s->wait = SMTP_WAIT_TIMER;
		smtp_timer_start(s, cfg->smtp_greeting_delay_ms, greeting_due);
		return s;
	}
	s->state = SMTP_STATE_GREETED;
	smtp_greet(s);
	conn_set_timeout(c, cfg->command_timeout_ms);
	return s;
}

static void *lmtp_session_create(struct conn *c)
{
	return session_create(c, true);
}

static void *smtp_session_create(struct conn *c)
{
	return session_create(c, false);
}

/* ---- input ---- */

static void early_talker(struct smtp_session *s)
{
	if (s->timer != NULL)
		uv_timer_stop(s->timer);
	s->timer_cb = NULL;
	conn_printf(s->conn, "554 5.5.1 %s Protocol error: talking before the greeting\r\n",
		    smtp_hostname(s));
	conn_info(s->conn, "refused: early talker (input before the greeting)");
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(s->conn, "early talker");
}

static void command_line(struct smtp_session *s, struct reader_line *line)
{
	if (memchr(line->data, '\0', line->len) != NULL) {
		smtp_reply(s, 500, "5.5.2 Invalid characters in command");
		return;
	}
	char *buf = xstrndup(line->data, line->len);
	if (s->state == SMTP_STATE_AUTH)
		smtp_auth_response(s, buf, line->len);
	else
		smtp_dispatch(s, buf, line->len);
	free(buf);
}

static void session_input(void *ctx)
{
	struct smtp_session *s = ctx;
	struct conn *c = s->conn;
	if (s->state == SMTP_STATE_GREETING) {
		if (conn_has_input(c))
			early_talker(s);
		return;
	}
	while (!conn_is_closing(c) && s->state != SMTP_STATE_LOGOUT &&
	       s->wait == SMTP_WAIT_NONE) {
		/* replies given by a job's done count too */
		if (over_limits(s))
			return;
		if (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT) {
			if (!smtp_data_input(s))
				break;
		} else {
			struct reader_line line;
			enum reader_result r = conn_read_line(c, &line);
			if (r == READER_NEED_MORE)
				break;
			if (r == READER_TOO_LONG)
				smtp_reply(s, 500, "5.5.2 Line too long");
			else
				command_line(s, &line);
		}
		if (over_limits(s))
			return;
		if (conn_output_full(c))
			return;
	}
}

static void session_drained(void *ctx)
{
	session_input(ctx);
}

static void session_timeout(void *ctx)
{
	struct smtp_session *s = ctx;
	conn_printf(s->conn, "421 4.4.2 %s Timeout, closing connection\r\n", smtp_hostname(s));
	conn_info(s->conn, "timeout in state %s", state_names[s->state]);
}

static void session_shutdown(void *ctx, bool force)
{
	struct smtp_session *s = ctx;
	/* A delivery in flight finishes first: its replies tell the client
	 * what was saved. */
	if (!force && (s->wait == SMTP_WAIT_JOB || s->wait == SMTP_WAIT_CHECK) && s->tx != NULL &&
	    s->tx->complete)
		return;
	conn_printf(s->conn, "421 4.3.2 %s Server shutting down\r\n", smtp_hostname(s));
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(s->conn, "server shutdown");
}

static void session_free(void *ctx)
{
	struct smtp_session *s = ctx;
	s->conn = NULL;
	if (s->timer != NULL) {
		uv_timer_stop(s->timer);
		uv_close((uv_handle_t *)s->timer, timer_closed);
		s->timer = NULL;
	}
	smtp_checks_free(s);   /* cancels lookups, rspamd, their callbacks */
	/* Stop streaming now; the rest goes when the last job returns. */
	if (s->tx != NULL && s->wait != SMTP_WAIT_JOB && s->wait != SMTP_WAIT_FLUSH)
		smtp_tx_free(&s->tx, s->core.svc->storage_pool);
	sess_core_release(&s->core);
}

static void smtp_refuse(struct conn *c, enum conn_refuse_reason why)
{
	const char *h = conn_config(c)->hostname;
	conn_printf(c, "421 4.7.0 %s %s\r\n", h != NULL && h[0] ? h : "localhost",
		    why == CONN_REFUSE_PER_IP ? "Too many connections from your address"
					      : "Too many connections, try again later");
}

const struct conn_proto lmtp_conn_proto = {
	.name = "lmtp",
	.no_login = true,
	.session_create = lmtp_session_create,
	.session_input = session_input,
	.session_drained = session_drained,
	.session_timeout = session_timeout,
	.session_shutdown = session_shutdown,
	.session_free = session_free,
	.refuse = smtp_refuse,
};

const struct conn_proto smtp_conn_proto = {
	.name = "smtp",
	.no_login = true,
	.session_create = smtp_session_create,
	.session_input = session_input,
	.session_drained = session_drained,
	.session_timeout = session_timeout,
	.session_shutdown = session_shutdown,
	.session_free = session_free,
	.refuse = smtp_refuse,
};
