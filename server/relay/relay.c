/* The smarthost SMTP client (see relay.h): a blocking socket with a poll
 * timeout on every read and write, OpenSSL over the socket for STARTTLS or
 * implicit TLS, reply parsing (multi-line, three-digit codes), and DATA
 * streaming with dot-stuffing and CRLF line ends. */
#include "server/relay/relay.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"

struct relay {
	char *host, *helo;
	unsigned port;
	enum conf_tls_mode tls;
	unsigned timeout_ms;
	SSL_CTX *ctx;
};

void relay_config_settings(const struct loft_config *cfg, struct relay_settings *set_r)
{
	set_r->host = cfg->relay_host;
	set_r->port = cfg->relay_port;
	set_r->tls = (enum conf_tls_mode)cfg->relay_tls;
	set_r->timeout_ms = cfg->relay_timeout_ms;
	set_r->helo = cfg->relay_helo != NULL ? cfg->relay_helo : cfg->hostname;
}

struct relay *relay_create(const struct relay_settings *set)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	r->host = set->host != NULL ? xstrdup(set->host) : NULL;
	r->helo = xstrdup(set->helo != NULL ? set->helo : "localhost");
	r->port = set->port ? set->port : 25;
	r->tls = set->tls;
	r->timeout_ms = set->timeout_ms ? set->timeout_ms : 30000;
	if (r->tls != CONF_TLS_NONE) {
		r->ctx = SSL_CTX_new(TLS_client_method());
		if (r->ctx == NULL) {
			log_error("relay: cannot create a TLS context");
			relay_free(&r);
			return NULL;
		}
		SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
		SSL_CTX_set_default_verify_paths(r->ctx);
		SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	}
	return r;
}

void relay_free(struct relay **rp)
{
	struct relay *r = *rp;
	if (r == NULL)
		return;
	*rp = NULL;
	if (r->ctx != NULL)
		SSL_CTX_free(r->ctx);
	free(r->host);
	free(r->helo);
	free(r);
}

/* ---- one connection ---- */

struct smtp {
	struct relay *relay;
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t start, end;
	char reply[512];         /* the last reply line, for logs */
	bool eightbit;           /* 8BITMIME offered */
	bool starttls;           /* STARTTLS offered */
};

static bool wait_fd(struct smtp *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	for (;;) {
		int n = poll(&p, 1, (int)c->relay->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0;
	}
}

static int raw_write(struct smtp *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n;
		if (c->ssl != NULL) {
			int w = SSL_write(c->ssl, data, (int)(len > 65536 ? 65536 : len));
			if (w <= 0) {
				int e = SSL_get_error(c->ssl, w);
				if ((e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)) ||
				    (e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)))
					continue;
				return LOFT_EIO;
			}
			n = w;
		} else {
			if (!wait_fd(c, POLLOUT))
				return LOFT_EIO;
			n = send(c->fd, data, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				return LOFT_EIO;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fill(struct smtp *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return LOFT_EPROTO;
	for (;;) {
		ssize_t n;
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, c->buf + c->end, (int)(sizeof(c->buf) - c->end));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if ((e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)) ||
				    (e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)))
					continue;
				return LOFT_EIO;
			}
			n = r;
		} else {
			if (!wait_fd(c, POLLIN))
				return LOFT_EIO;
			n = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				return LOFT_EIO;
		}
		c->end += (size_t)n;
		return 0;
	}
}

/* Read a whole reply; returns its code (e.g. 250) or a negative error.
 * EHLO's lines are looked at for 8BITMIME and STARTTLS. */
static int read_reply(struct smtp *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (nl == NULL) {
			int r = fill(c);
			if (r < 0)
				return r;
			continue;
		}
		size_t len = (size_t)(nl - (c->buf + c->start));
		char *line = c->buf + c->start;
		c->start += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len < 3 || line[0] < '1' || line[0] > '5')
			return LOFT_EPROTO;
		snprintf(c->reply, sizeof(c->reply), "%.*s", (int)len, line);
		if (len >= 12 && strncasecmp(line + 4, "8BITMIME", 8) == 0)
			c->eightbit = true;
		if (len >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0)
			c->starttls = true;
		int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (len == 3 || line[3] == ' ')
			return code;
		if (line[3] != '-')
			return LOFT_EPROTO;
	}
}

static int command(struct smtp *c, int want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int command(struct smtp *c, int want, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return LOFT_EINVAL;
	memcpy(line + n, "\r\n", 3);
	int r = raw_write(c, line, (size_t)n + 2);
	if (r < 0)
		return r;
	r = read_reply(c);
	if (r < 0)
		return r;
	return r / 100 == want / 100 ? 0 : LOFT_EPROTO;
}

static int tls_start(struct smtp *c)
{
	c->ssl = SSL_new(c->relay->ctx);
	if (c->ssl == NULL)
		return LOFT_EIO;
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, c->relay->host);
	SSL_set1_host(c->ssl, c->relay->host);
	for (;;) {
		int r = SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		if ((e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)) ||
		    (e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)))
			continue;
		snprintf(c->reply, sizeof(c->reply), "TLS handshake failed (%s)",
			 ERR_reason_error_string(ERR_peek_last_error()) ?
			 ERR_reason_error_string(ERR_peek_last_error()) : "no detail");
		ERR_clear_error();
		return LOFT_EIO;
	}
}

static int connect_to(struct smtp *c)
{
	char port[16];
	snprintf(port, sizeof(port), "%u", c->relay->port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int r = getaddrinfo(c->relay->host, port, &hints, &res);
	if (r != 0) {
		snprintf(c->reply, sizeof(c->reply), "cannot resolve %s: %s", c->relay->host,
			 gai_strerror(r));
		return LOFT_EIO;
	}
	int ret = LOFT_EIO;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		if (fd < 0)
			continue;
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(c, POLLOUT))) {
			int err = 0;
			socklen_t el = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
				ret = 0;
				break;
			}
			errno = err;
		}
		snprintf(c->reply, sizeof(c->reply), "cannot connect to %s:%u: %s",
			 c->relay->host, c->relay->port, strerror(errno));
		close(fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	return ret;
}

/* DATA: msg then the file range, dot-stuffed, every line end CRLF. */
struct stuffer {
	struct smtp *c;
	char out[16384];
	size_t len;
	bool line_start, last_cr;
};

static int stuff_flush(struct stuffer *s)
{
	int r = raw_write(s->c, s->out, s->len);
	s->len = 0;
	return r;
}

static int stuff(struct stuffer *s, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s->len + 3 > sizeof(s->out) && stuff_flush(s) < 0)
			return LOFT_EIO;
		char ch = data[i];
		if (s->line_start && ch == '.')
			s->out[s->len++] = '.';
		if (ch == '\n' && !s->last_cr)
			s->out[s->len++] = '\r';
		s->out[s->len++] = ch;
		s->last_cr = ch == '\r';
		s->line_start = ch == '\n';
	}
	return 0;
}

static int send_data(struct smtp *c, const char *msg, size_t msg_len, int fd, uint64_t off,
		     uint64_t end)
{
	struct stuffer s = { .c = c, .line_start = true };
	int r = stuff(&s, msg, msg_len);
	char buf[65536];
	while (r == 0 && fd >= 0 && off < end) {
		size_t want = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->reply, sizeof(c->reply), "reading the message failed");
			return LOFT_EIO;
		}
		r = stuff(&s, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (r == 0 && !s.line_start)
		r = stuff(&s, "\r\n", 2);
	if (r == 0 && s.len + 3 > sizeof(s.out))
		r = stuff_flush(&s);
	if (r == 0) {
		memcpy(s.out + s.len, ".\r\n", 3);
		s.len += 3;
		r = stuff_flush(&s);
	}
	if (r < 0)
		return r;
	int code = read_reply(c);
	if (code < 0)
		return code;
	return code / 100 == 2 ? 0 : LOFT_EPROTO;
}

static bool addr_ok(const char *a)
{
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 32 || *p == '<' || *p == '>' || (unsigned char)*p == 127)
			return false;
	return strlen(a) < 512;
}

int relay_send(struct relay *relay, const char *mail_from, const char *rcpt, const char *msg,
	       size_t msg_len, int body_fd, uint64_t body_offset, uint64_t body_end)
{
	if (relay == NULL || relay->host == NULL)
		return LOFT_ENOENT;
	if (!addr_ok(mail_from) || !addr_ok(rcpt) || rcpt[0] == '\0')
		return LOFT_EINVAL;
	struct smtp c = { .relay = relay, .fd = -1 };
	int r = connect_to(&c);
	if (r == 0 && relay->tls == CONF_TLS_IMPLICIT)
		r = tls_start(&c);
	if (r == 0) {
		r = read_reply(&c);
		r = r == 220 ? 0 : r < 0 ? r : LOFT_EPROTO;
	}
	if (r == 0)
		r = command(&c, 250, "EHLO %s", relay->helo);
	if (r == 0 && relay->tls == CONF_TLS_STARTTLS) {
		if (!c.starttls) {
			snprintf(c.reply, sizeof(c.reply), "the smarthost offers no STARTTLS");
			r = LOFT_EPROTO;
		}
		if (r == 0)
			r = command(&c, 220, "STARTTLS");
		if (r == 0) {
			c.start = c.end = 0; /* nothing pipelined may survive */
			c.eightbit = false;
			r = tls_start(&c);
		}
		if (r == 0)
			r = command(&c, 250, "EHLO %s", relay->helo);
	}
	if (r == 0)
		r = command(&c, 250, "MAIL FROM:<%s>%s", mail_from, c.eightbit ? " BODY=8BITMIME" : "");
	if (r == 0)
		r = command(&c, 250, "RCPT TO:<%s>", rcpt);
	if (r == 0)
		r = command(&c, 354, "DATA");
	if (r == 0)
		r = send_data(&c, msg, msg_len, body_fd, body_offset, body_end);
	if (r == 0)
		(void)command(&c, 221, "QUIT");
	else
		log_warn("relay: sending to <%s> through %s:%u failed: %s", rcpt, relay->host,
			 relay->port, c.reply[0] ? c.reply : loft_strerror(r));
	if (c.ssl != NULL) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	if (c.fd >= 0)
		close(c.fd);
	return r;
}

int relay_outbox_send(void *ctx, const char *mail_from, const char *rcpt, const char *msg,
		      size_t msg_len, int body_fd, uint64_t body_offset, uint64_t body_end)
{
	return relay_send(ctx, mail_from, rcpt, msg, msg_len, body_fd, body_offset, body_end);
}
