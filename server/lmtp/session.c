/* LMTP and SMTP sessions: greeting, LHLO / EHLO / HELO with the extension
 * list, STARTTLS, NOOP, RSET, QUIT, HELP, and MAIL FROM parameter checks
 * (SIZE, BODY). Mail transactions are not accepted yet: a valid MAIL gets a
 * temporary failure so senders queue and retry, and RCPT/DATA answer the
 * bad-sequence reply a server without a transaction must give. */
#include "server/lmtp/lmtp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

enum smtp_state {
	SMTP_STATE_GREETED = 0,  /* waiting for LHLO/EHLO/HELO */
	SMTP_STATE_READY,        /* hello done, no transaction */
	SMTP_STATE_LOGOUT,
};

struct smtp_session {
	struct conn *conn;
	bool lmtp;
	enum smtp_state state;
	unsigned bad_in_row;
};

enum {
	CMD_SMTP_ONLY = 1u << 0,
	CMD_LMTP_ONLY = 1u << 1,
	CMD_NEEDS_HELLO = 1u << 2,
};

struct smtp_command_def {
	const char *name;
	void (*handler)(struct smtp_session *s, const char *args);
	unsigned flags;
	const char *rfc;
};

static const char *const state_names[] = { "greeted", "ready", "logout" };

static void smtp_enter_state(struct smtp_session *s, enum smtp_state state)
{
	if (s->state == state)
		return;
	conn_debug(s->conn, "state %s -> %s", state_names[s->state], state_names[state]);
	s->state = state;
}

static const char *hostname(const struct smtp_session *s)
{
	const char *h = conn_config(s->conn)->hostname;
	return h != NULL && h[0] != '\0' ? h : "localhost";
}

/* One-line reply; codes >= 400 count as errors for the bad-command limit. */
static void reply(struct smtp_session *s, int code, const char *text)
{
	if (code >= 500)
		s->bad_in_row++;
	else
		s->bad_in_row = 0;
	conn_printf(s->conn, "%d %s\r\n", code, text);
}

/* ---- commands ---- */

static void send_extensions(struct smtp_session *s, const char *client)
{
	const struct loft_config *cfg = conn_config(s->conn);
	s->bad_in_row = 0;
	conn_printf(s->conn, "250-%s Hello %s\r\n", hostname(s), client);
	if (conn_can_starttls(s->conn))
		conn_write_str(s->conn, "250-STARTTLS\r\n");
	conn_printf(s->conn, "250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n"
		    "250 ENHANCEDSTATUSCODES\r\n", cfg->max_literal_size);
}

static bool valid_domain_arg(const char *args)
{
	if (args[0] == '\0')
		return false;
	for (const char *p = args; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static void cmd_ehlo(struct smtp_session *s, const char *args)
{
	if (!valid_domain_arg(args)) {
		reply(s, 501, s->lmtp ? "5.5.4 Syntax: LHLO hostname" : "5.5.4 Syntax: EHLO hostname");
		return;
	}
	smtp_enter_state(s, SMTP_STATE_READY);
	send_extensions(s, args);
}

static void cmd_helo(struct smtp_session *s, const char *args)
{
	if (!valid_domain_arg(args)) {
		reply(s, 501, "5.5.4 Syntax: HELO hostname");
		return;
	}
	smtp_enter_state(s, SMTP_STATE_READY);
	s->bad_in_row = 0;
	conn_printf(s->conn, "250 %s\r\n", hostname(s));
}

static void cmd_starttls(struct smtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		reply(s, 501, "5.5.4 STARTTLS takes no arguments");
		return;
	}
	if (conn_is_tls(s->conn)) {
		reply(s, 503, "5.5.1 TLS is already active");
		return;
	}
	if (!conn_can_starttls(s->conn)) {
		reply(s, 502, "5.5.1 STARTTLS is not offered on this port");
		return;
	}
	reply(s, 220, "2.0.0 Ready to start TLS");
	/* RFC 3207 4.2: forget everything learned before TLS. */
	smtp_enter_state(s, SMTP_STATE_GREETED);
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
}

static void cmd_noop(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 250, "2.0.0 OK");
}

static void cmd_rset(struct smtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		reply(s, 501, "5.5.4 RSET takes no arguments");
		return;
	}
	reply(s, 250, "2.0.0 OK");
}

static void cmd_quit(struct smtp_session *s, const char *args)
{
	(void)args;
	s->bad_in_row = 0;
	conn_printf(s->conn, "221 2.0.0 %s closing connection\r\n", hostname(s));
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(s->conn, "quit");
}

static void cmd_help(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 214, s->lmtp
	      ? "2.0.0 Commands: LHLO STARTTLS MAIL RCPT DATA RSET NOOP QUIT HELP"
	      : "2.0.0 Commands: EHLO HELO STARTTLS MAIL RCPT DATA RSET NOOP QUIT HELP");
}

static void cmd_vrfy(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 502, "5.5.1 VRFY is disabled");
}

/* MAIL FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME] (RFC 5321 4.1.1.2, RFC
 * 1870, RFC 6152). */
static void cmd_mail(struct smtp_session *s, const char *args)
{
	if (strncasecmp(args, "FROM:", 5) != 0) {
		reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	const char *p = args + 5;
	while (*p == ' ')
		p++;
	const char *gt = *p == '<' ? strchr(p, '>') : NULL;
	if (gt == NULL) {
		reply(s, 501, "5.1.7 Syntax: MAIL FROM:<address>");
		return;
	}
	p = gt + 1;
	const struct loft_config *cfg = conn_config(s->conn);
	while (*p != '\0') {
		if (*p != ' ') {
			reply(s, 501, "5.5.4 Syntax error in parameters");
			return;
		}
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 5 && strncasecmp(p, "SIZE=", 5) == 0) {
			char *e;
			errno = 0;
			unsigned long long v = strtoull(p + 5, &e, 10);
			if (e != p + n || errno != 0 || !isdigit((unsigned char)p[5])) {
				reply(s, 501, "5.5.4 Invalid SIZE parameter");
				return;
			}
			if (cfg->max_literal_size != 0 && v > cfg->max_literal_size) {
				reply(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
				return;
			}
		} else if (n > 5 && strncasecmp(p, "BODY=", 5) == 0) {
			if (!((n == 9 && strncasecmp(p + 5, "7BIT", 4) == 0) ||
			      (n == 13 && strncasecmp(p + 5, "8BITMIME", 8) == 0))) {
				reply(s, 501, "5.5.4 BODY must be 7BIT or 8BITMIME");
				return;
			}
		} else {
			reply(s, 555, "5.5.4 Unsupported MAIL parameter");
			return;
		}
		p += n;
	}
	reply(s, 451, "4.3.2 This server does not accept mail yet; try again later");
}

static void cmd_rcpt(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 503, "5.5.1 Need MAIL command first");
}

static void cmd_data(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 503, "5.5.1 Need MAIL command first");
}

static void cmd_wrong_hello(struct smtp_session *s, const char *args)
{
	(void)args;
	reply(s, 500, s->lmtp ? "5.5.1 This is an LMTP server: use LHLO"
			      : "5.5.1 LHLO is for LMTP: use EHLO or HELO");
}

static const struct smtp_command_def commands[] = {
	{ "LHLO", cmd_ehlo, CMD_LMTP_ONLY, "RFC 2033 4.1" },
	{ "EHLO", cmd_ehlo, CMD_SMTP_ONLY, "RFC 5321 4.1.1.1" },
	{ "HELO", cmd_helo, CMD_SMTP_ONLY, "RFC 5321 4.1.1.1" },
	{ "STARTTLS", cmd_starttls, 0, "RFC 3207 4" },
	{ "MAIL", cmd_mail, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.2, RFC 1870, RFC 6152" },
	{ "RCPT", cmd_rcpt, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.3" },
	{ "DATA", cmd_data, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.4" },
	{ "RSET", cmd_rset, 0, "RFC 5321 4.1.1.5" },
	{ "VRFY", cmd_vrfy, 0, "RFC 5321 4.1.1.6" },
	{ "HELP", cmd_help, 0, "RFC 5321 4.1.1.8" },
	{ "NOOP", cmd_noop, 0, "RFC 5321 4.1.1.9" },
	{ "QUIT", cmd_quit, 0, "RFC 5321 4.1.1.10" },
};

static void dispatch(struct smtp_session *s, const char *line, size_t len)
{
	size_t n = 0;
	while (n < len && line[n] != ' ')
		n++;
	const char *args = n < len ? line + n + 1 : "";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct smtp_command_def *def = &commands[i];
		if (strlen(def->name) != n || strncasecmp(def->name, line, n) != 0)
			continue;
		if ((def->flags & CMD_SMTP_ONLY && s->lmtp) ||
		    (def->flags & CMD_LMTP_ONLY && !s->lmtp)) {
			cmd_wrong_hello(s, args);
			return;
		}
		if ((def->flags & CMD_NEEDS_HELLO) && s->state == SMTP_STATE_GREETED) {
			reply(s, 503, s->lmtp ? "5.5.1 Send LHLO first" : "5.5.1 Send EHLO or HELO first");
			return;
		}
		def->handler(s, args);
		return;
	}
	reply(s, 500, "5.5.1 Command unrecognized");
}

/* ---- conn_proto ---- */

static void *session_create(struct conn *c, bool lmtp)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->lmtp = lmtp;
	const struct loft_config *cfg = conn_config(c);
	conn_set_max_line(c, cfg->max_line_length_preauth ? cfg->max_line_length_preauth : 8192);
	conn_printf(c, "220 %s %s Loft\r\n", hostname(s), lmtp ? "LMTP" : "ESMTP");
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

static void smtp_session_input(void *ctx)
{
	struct smtp_session *s = ctx;
	struct conn *c = s->conn;
	while (!conn_is_closing(c) && s->state != SMTP_STATE_LOGOUT) {
		struct reader_line line;
		enum reader_result r = conn_read_line(c, &line);
		if (r == READER_NEED_MORE)
			return;
		if (r == READER_TOO_LONG) {
			reply(s, 500, "5.5.2 Line too long");
		} else if (memchr(line.data, '\0', line.len) != NULL) {
			reply(s, 500, "5.5.2 Invalid characters in command");
		} else {
			char *buf = xstrndup(line.data, line.len);
			dispatch(s, buf, line.len);
			free(buf);
		}
		if (s->bad_in_row >= conn_config(c)->max_bad_commands && !conn_is_closing(c)) {
			conn_printf(c, "421 4.7.0 %s Too many bad commands, closing connection\r\n",
				    hostname(s));
			conn_close(c, "too many invalid commands");
			return;
		}
		if (conn_output_full(c))
			return;
	}
}

static void smtp_session_drained(void *ctx)
{
	smtp_session_input(ctx);
}

static void smtp_session_timeout(void *ctx)
{
	struct smtp_session *s = ctx;
	conn_printf(s->conn, "421 4.4.2 %s Timeout, closing connection\r\n", hostname(s));
}

static void smtp_session_shutdown(void *ctx, bool force)
{
	struct smtp_session *s = ctx;
	(void)force;
	conn_printf(s->conn, "421 4.3.2 %s Server shutting down\r\n", hostname(s));
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(s->conn, "server shutdown");
}

static void smtp_session_free(void *ctx)
{
	free(ctx);
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
	.session_input = smtp_session_input,
	.session_drained = smtp_session_drained,
	.session_timeout = smtp_session_timeout,
	.session_shutdown = smtp_session_shutdown,
	.session_free = smtp_session_free,
	.refuse = smtp_refuse,
};

const struct conn_proto smtp_conn_proto = {
	.name = "smtp",
	.no_login = true,
	.session_create = smtp_session_create,
	.session_input = smtp_session_input,
	.session_drained = smtp_session_drained,
	.session_timeout = smtp_session_timeout,
	.session_shutdown = smtp_session_shutdown,
	.session_free = smtp_session_free,
	.refuse = smtp_refuse,
};
