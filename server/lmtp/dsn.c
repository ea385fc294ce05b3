/* Delivery status notifications (see dsn.h): the RFC 3464 report text,
 * and the pool job that sends it with a small blocking SMTP client. */
#include "server/lmtp/dsn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/engine/pool.h"
#include "server/lmtp/headers.h"

/* ---- the report ---- */

static void cat(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cat(char **s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *add = NULL;
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *n = xasprintf("%s%s", *s, add);
	free(add);
	free(*s);
	*s = n;
}

/* "2.0.0" out of "250 2.0.0 text". */
static void status_of(const char *reply, char out[16])
{
	snprintf(out, 16, "%s", "5.0.0");
	if (reply != NULL && strlen(reply) > 4) {
		size_t n = strcspn(reply + 4, " ");
		if (n > 0 && n < 16) {
			memcpy(out, reply + 4, n);
			out[n] = '\0';
		}
	}
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

void dsn_build(const struct dsn_report *r, const char *boundary, char **head_r, char **tail_r)
{
	char date[64], arrival[64];
	trace_date(time(NULL), date, sizeof(date));
	trace_date(r->arrival, arrival, sizeof(arrival));
	bool failed = false;
	for (size_t i = 0; i < r->n_rcpts; i++)
		failed |= r->rcpts[i].action == DSN_FAILED;
	unsigned char rnd[8];
	RAND_bytes(rnd, sizeof(rnd));
	char *h = xstrdup("");
	cat(&h, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", r->hostname);
	cat(&h, "To: <%s>\r\n", r->sender);
	cat(&h, "Subject: %s\r\n", failed ? "Undelivered Mail Returned to Sender"
					   : "Successful Mail Delivery Report");
	cat(&h, "Date: %s\r\n", date);
	cat(&h, "Message-ID: <dsn.%ld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\r\n",
	    (long)time(NULL), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7],
	    r->hostname);
	cat(&h, "Auto-Submitted: auto-replied\r\n");
	cat(&h, "MIME-Version: 1.0\r\n");
	cat(&h, "Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"%s\"\r\n\r\n",
	    r->utf8 ? "global-delivery-status" : "delivery-status", boundary);
	cat(&h, "This is a MIME-encapsulated message.\r\n\r\n");
	/* 1: for people */
	cat(&h, "--%s\r\nContent-Type: text/plain; charset=%s\r\n\r\n", boundary,
	    r->utf8 ? "utf-8" : "us-ascii");
	cat(&h, "This is the mail system at host %s.\r\n\r\n", r->hostname);
	cat(&h, failed ? "Your message could not be delivered to the recipients below.\r\n\r\n"
		       : "Your message was delivered to the recipients below.\r\n\r\n");
	for (size_t i = 0; i < r->n_rcpts; i++)
		cat(&h, "<%s>: %s\r\n", r->rcpts[i].address, r->rcpts[i].reply);
	cat(&h, "\r\n");
	/* 2: for programs (RFC 3464 2.2, 2.3) */
	cat(&h, "--%s\r\nContent-Type: message/%s\r\n\r\n", boundary,
	    r->utf8 ? "global-delivery-status" : "delivery-status");
	cat(&h, "Reporting-MTA: dns; %s\r\n", r->hostname);
	if (r->envid != NULL)
		cat(&h, "Original-Envelope-Id: %s\r\n", r->envid);
	cat(&h, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < r->n_rcpts; i++) {
		const struct dsn_rcpt *d = &r->rcpts[i];
		char status[16];
		status_of(d->reply, status);
		cat(&h, "\r\nFinal-Recipient: %s; %s\r\n", is_ascii(d->address) ? "rfc822" : "utf-8",
		    d->address);
		if (d->orcpt != NULL)
			cat(&h, "Original-Recipient: %s\r\n", d->orcpt);
		cat(&h, "Action: %s\r\n", d->action == DSN_DELIVERED ? "delivered" : "failed");
		cat(&h, "Status: %s\r\n", status);
		cat(&h, "Diagnostic-Code: smtp; %s\r\n", d->reply);
	}
	cat(&h, "\r\n");
	/* 3: the original message or its header section */
	cat(&h, "--%s\r\nContent-Type: %s\r\n\r\n", boundary,
	    r->full ? (r->utf8 ? "message/global" : "message/rfc822")
		    : (r->utf8 ? "message/global-headers" : "text/rfc822-headers"));
	*head_r = h;
	*tail_r = xasprintf("\r\n--%s--\r\n", boundary);
}

/* ---- sending ---- */

struct dsn_job {
	struct work_item item;
	char *host;
	unsigned port;
	unsigned timeout_ms;
	char *helo;
	char *rcpt;
	char *head, *tail;
	int fd;                      /* the message; -1 none */
	bool full;
	bool utf8;
};

struct smtpc {
	int fd;
	unsigned timeout_ms;
	char in[4096];
	size_t in_len;
	char out[16384];
	size_t out_len;
	char last[512];              /* the last reply line, for logs */
	bool ehlo_8bit, ehlo_utf8;
};

static bool wait_fd(struct smtpc *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	int r;
	do
		r = poll(&p, 1, (int)c->timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

static bool flush_out(struct smtpc *c)
{
	size_t off = 0;
	while (off < c->out_len) {
		if (!wait_fd(c, POLLOUT))
			return false;
		ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	c->out_len = 0;
	return true;
}

static bool put_bytes(struct smtpc *c, const char *data, size_t len)
{
	while (len > 0) {
		size_t room = sizeof(c->out) - c->out_len;
		if (room == 0 && !flush_out(c))
			return false;
		room = sizeof(c->out) - c->out_len;
		size_t n = len < room ? len : room;
		memcpy(c->out + c->out_len, data, n);
		c->out_len += n;
		data += n;
		len -= n;
	}
	return true;
}

/* One reply; its code, or -1 on a timeout or a broken line. */
static int read_reply(struct smtpc *c)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		if (nl != NULL) {
			size_t len = (size_t)(nl - c->in) + 1;
			size_t keep = len < sizeof(c->last) ? len : sizeof(c->last) - 1;
			memcpy(c->last, c->in, keep);
			c->last[keep] = '\0';
			c->last[strcspn(c->last, "\r\n")] = '\0';
			memmove(c->in, c->in + len, c->in_len - len);
			c->in_len -= len;
			if (strlen(c->last) < 3)
				return -1;
			if (strncasecmp(c->last + 4, "8BITMIME", 8) == 0)
				c->ehlo_8bit = true;
			if (strncasecmp(c->last + 4, "SMTPUTF8", 8) == 0)
				c->ehlo_utf8 = true;
			if (c->last[3] == '-')
				continue;
			return atoi(c->last);
		}
		if (c->in_len == sizeof(c->in))
			c->in_len = 0;   /* an endless line: drop, keep looking */
		if (!wait_fd(c, POLLIN))
			return -1;
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->in_len += (size_t)n;
	}
}

static int command(struct smtpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int command(struct smtpc *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	memcpy(line + n, "\r\n", 2);
	if (!put_bytes(c, line, (size_t)n + 2) || !flush_out(c))
		return -1;
	return read_reply(c);
}

static int connect_relay(const char *host, unsigned port, unsigned timeout_ms)
{
	char service[16];
	snprintf(service, sizeof(service), "%u", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t len = sizeof(err);
		if (errno != EINPROGRESS || poll(&p, 1, (int)timeout_ms) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* The message part: all of the file, or its header section (up to and
 * including the empty line), dot-stuffed. */
static bool send_message(struct smtpc *c, int fd, bool full)
{
	char buf[8192];
	char p1 = '\n', p2 = '\n';  /* the two bytes before; a line starts at 0 */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char ch = buf[i];
			if (p1 == '\n' && ch == '.' && !put_bytes(c, ".", 1))
				return false;
			if (!put_bytes(c, &ch, 1))
				return false;
			/* the empty line that ends the header section */
			if (!full && ch == '\n' && (p1 == '\n' || (p1 == '\r' && p2 == '\n')))
				return true;
			p2 = p1;
			p1 = ch;
		}
	}
	if (p1 != '\n' && !put_bytes(c, "\r\n", 2))
		return false;
	return true;
}

static bool run_session(struct dsn_job *j, struct smtpc *c)
{
	if (read_reply(c) != 220)
		return false;
	int r = command(c, "EHLO %s", j->helo);
	if (r != 250 && command(c, "HELO %s", j->helo) != 250)
		return false;
	if (j->utf8 && !c->ehlo_utf8) {
		snprintf(c->last, sizeof(c->last), "the relay does not offer SMTPUTF8");
		return false;
	}
	if (command(c, "MAIL FROM:<>%s%s", c->ehlo_8bit ? " BODY=8BITMIME" : "",
		    j->utf8 ? " SMTPUTF8" : "") / 100 != 2)
		return false;
	r = command(c, "RCPT TO:<%s>", j->rcpt);
	if (r / 100 != 2)
		return false;
	if (command(c, "DATA") != 354)
		return false;
	if (!put_bytes(c, j->head, strlen(j->head)))
		return false;
	if (j->fd >= 0 && !send_message(c, j->fd, j->full))
		return false;
	if (!put_bytes(c, j->tail, strlen(j->tail)) || !put_bytes(c, ".\r\n", 3) ||
	    !flush_out(c) || read_reply(c) / 100 != 2)
		return false;
	(void)command(c, "QUIT");
	return true;
}

static void dsn_job_free(struct dsn_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->host);
	free(j->helo);
	free(j->rcpt);
	free(j->head);
	free(j->tail);
	free(j);
}

static void dsn_run(struct work_item *item)
{
	struct dsn_job *j = (struct dsn_job *)item;
	struct smtpc *c = xcalloc(1, sizeof(*c));
	c->timeout_ms = j->timeout_ms;
	c->fd = connect_relay(j->host, j->port, j->timeout_ms);
	if (c->fd < 0)
		log_warn("dsn: to=<%s> relay=%s:%u unreachable: the notification is lost", j->rcpt,
			 j->host, j->port);
	else if (!run_session(j, c))
		log_warn("dsn: to=<%s> relay=%s:%u refused or failed (%s): the notification "
			 "is lost", j->rcpt, j->host, j->port, c->last[0] ? c->last : "no reply");
	else
		log_info("dsn: to=<%s> relay=%s:%u sent", j->rcpt, j->host, j->port);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	dsn_job_free(j);
}

void dsn_submit(struct work_pool *pool, const struct dsn_relay *relay,
		const struct dsn_report *report, int message_fd)
{
	struct dsn_job *j = xcalloc(1, sizeof(*j));
	unsigned char rnd[12];
	RAND_bytes(rnd, sizeof(rnd));
	char boundary[64];
	int n = snprintf(boundary, sizeof(boundary), "loft-dsn-");
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(boundary + n, sizeof(boundary) - (size_t)n, "%02x", rnd[i]);
	dsn_build(report, boundary, &j->head, &j->tail);
	j->item.run = dsn_run;
	j->host = xstrdup(relay->host);
	j->port = relay->port;
	j->timeout_ms = relay->timeout_ms;
	j->helo = xstrdup(relay->helo);
	j->rcpt = xstrdup(report->sender);
	j->fd = message_fd;
	j->full = report->full;
	j->utf8 = report->utf8;
	work_pool_submit(pool, &j->item);
}
