/* The LMTP/SMTP command table (one row per command: handler, where it is
 * allowed, RFC) and the commands without a transaction of their own:
 * greeting, LHLO/EHLO/HELO with the extension list, STARTTLS, RSET, NOOP,
 * VRFY, EXPN, HELP, QUIT. The dispatcher checks protocol and sequence and
 * gives the RFC's reply itself. */
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/lmtp/checks.h"
#include "server/lmtp/session.h"

enum {
	CMD_SMTP_ONLY = 1u << 0,
	CMD_LMTP_ONLY = 1u << 1,
	CMD_NEEDS_HELLO = 1u << 2,
};

struct smtp_command {
	const char *name;
	void (*handler)(struct smtp_session *s, const char *args, size_t len);
	unsigned flags;
	const char *rfc;
};

void smtp_greet(struct smtp_session *s)
{
	conn_printf(s->conn, "220 %s %s Loft\r\n", smtp_hostname(s), s->lmtp ? "LMTP" : "ESMTP");
}

static void send_extensions(struct smtp_session *s)
{
	const struct loft_config *cfg = smtp_config(s);
	struct conn *c = s->conn;
	s->bad_in_row = 0;
	conn_printf(c, "250-%s Hello %s\r\n", smtp_hostname(s), s->helo);
	if (conn_can_starttls(c))
		conn_write_str(c, "250-STARTTLS\r\n");
	const char *mechs[16];
	size_t n = s->lmtp || s->authenticated ? 0 : smtp_auth_mechanisms(s, mechs, 16);
	if (n > 0) {
		conn_write_str(c, "250-AUTH");
		for (size_t i = 0; i < n; i++)
			conn_printf(c, " %s", mechs[i]);
		conn_write_str(c, "\r\n");
	}
	if (!s->lmtp && cfg->smtp_dsn_relay_host != NULL)
		conn_write_str(c, "250-DSN\r\n");
	conn_printf(c, "250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
		    "250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n", cfg->max_literal_size);
}

/* A new hello resets everything but TLS and a login (RFC 5321 4.1.4). */
static bool take_hello(struct smtp_session *s, const char *args, size_t len, const char *verb)
{
	if (!smtp_hello_valid(args, len)) {
		smtp_reply(s, 501, "5.5.4 Syntax: %s hostname", verb);
		return false;
	}
	smtp_tx_reset(s);
	free(s->helo);
	s->helo = xstrndup(args, len);
	smtp_checks_helo(s);
	smtp_enter_state(s, SMTP_STATE_READY);
	return true;
}

static void cmd_ehlo(struct smtp_session *s, const char *args, size_t len)
{
	if (!take_hello(s, args, len, s->lmtp ? "LHLO" : "EHLO"))
		return;
	s->esmtp = true;
	send_extensions(s);
}

static void cmd_helo(struct smtp_session *s, const char *args, size_t len)
{
	if (!take_hello(s, args, len, "HELO"))
		return;
	s->esmtp = false;
	smtp_reply(s, 250, "%s", smtp_hostname(s));
}

static void cmd_starttls(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len != 0) {
		smtp_reply(s, 501, "5.5.4 STARTTLS takes no arguments");
		return;
	}
	if (conn_is_tls(s->conn)) {
		smtp_reply(s, 503, "5.5.1 TLS is already active");
		return;
	}
	if (!conn_can_starttls(s->conn)) {
		smtp_reply(s, 502, "5.5.1 STARTTLS is not offered on this port");
		return;
	}
	smtp_reply(s, 220, "2.0.0 Ready to start TLS");
	/* RFC 3207 4.2: forget everything learned before TLS. */
	smtp_tx_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	smtp_enter_state(s, SMTP_STATE_GREETED);
	if (conn_starttls(s->conn) < 0)
		conn_close(s->conn, "starttls failed");
}

static void cmd_noop(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, 250, "2.0.0 OK");
}

static void cmd_rset(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len != 0) {
		smtp_reply(s, 501, "5.5.4 RSET takes no arguments");
		return;
	}
	smtp_tx_reset(s);
	smtp_reply(s, 250, "2.0.0 OK");
}

static void cmd_quit(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	s->bad_in_row = 0;
	conn_printf(s->conn, "221 2.0.0 %s closing connection\r\n", smtp_hostname(s));
	smtp_enter_state(s, SMTP_STATE_LOGOUT);
	conn_close(s->conn, "quit");
}

static void cmd_help(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, 214, s->lmtp
		   ? "2.0.0 Commands: LHLO STARTTLS MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT HELP"
		   : "2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY "
		     "QUIT HELP");
}

/* RFC 5321 3.5.3: 252 when the server does not verify. */
static void cmd_vrfy(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len == 0) {
		smtp_reply(s, 501, "5.5.4 Syntax: VRFY address");
		return;
	}
	smtp_reply(s, 252, "2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, 502, "5.5.1 EXPN is not supported");
}

static void cmd_wrong_hello(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(s, 500, s->lmtp ? "5.5.1 This is an LMTP server: use LHLO"
				   : "5.5.1 LHLO is for LMTP: use EHLO or HELO");
}

static const struct smtp_command commands[] = {
	{ "LHLO", cmd_ehlo, CMD_LMTP_ONLY, "RFC 2033 4.1" },
	{ "EHLO", cmd_ehlo, CMD_SMTP_ONLY, "RFC 5321 4.1.1.1" },
	{ "HELO", cmd_helo, CMD_SMTP_ONLY, "RFC 5321 4.1.1.1" },
	{ "STARTTLS", cmd_starttls, 0, "RFC 3207 4" },
	{ "AUTH", smtp_cmd_auth, CMD_SMTP_ONLY | CMD_NEEDS_HELLO, "RFC 4954 4" },
	{ "MAIL", smtp_cmd_mail, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.2, 1870, 6152, 6531, 3461" },
	{ "RCPT", smtp_cmd_rcpt, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.3, 3461" },
	{ "DATA", smtp_cmd_data, CMD_NEEDS_HELLO, "RFC 5321 4.1.1.4, RFC 2033 4.2" },
	/* BDAT checks sequence itself: its bytes must be read in any case */
	{ "BDAT", smtp_cmd_bdat, 0, "RFC 3030 2" },
	{ "RSET", cmd_rset, 0, "RFC 5321 4.1.1.5" },
	{ "VRFY", cmd_vrfy, 0, "RFC 5321 4.1.1.6, 3.5.3" },
	{ "EXPN", cmd_expn, 0, "RFC 5321 4.1.1.7" },
	{ "HELP", cmd_help, 0, "RFC 5321 4.1.1.8" },
	{ "NOOP", cmd_noop, 0, "RFC 5321 4.1.1.9" },
	{ "QUIT", cmd_quit, 0, "RFC 5321 4.1.1.10" },
};

void smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	size_t n = 0;
	while (n < len && line[n] != ' ')
		n++;
	const char *args = n < len ? line + n + 1 : "";
	size_t alen = n < len ? len - n - 1 : 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct smtp_command *def = &commands[i];
		if (strlen(def->name) != n || strncasecmp(def->name, line, n) != 0)
			continue;
		if (((def->flags & CMD_SMTP_ONLY) && s->lmtp) ||
		    ((def->flags & CMD_LMTP_ONLY) && !s->lmtp)) {
			if (strcasecmp(def->name, "AUTH") == 0)
				break;   /* not an LMTP command at all */
			cmd_wrong_hello(s, args, alen);
			return;
		}
		if ((def->flags & CMD_NEEDS_HELLO) && s->state == SMTP_STATE_GREETED) {
			smtp_reply(s, 503, s->lmtp ? "5.5.1 Send LHLO first"
						   : "5.5.1 Send EHLO or HELO first");
			return;
		}
		def->handler(s, args, alen);
		return;
	}
	smtp_reply(s, 500, "5.5.1 Command unrecognized");
}
