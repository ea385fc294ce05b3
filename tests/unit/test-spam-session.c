/* Scanning from a session on a real net_server, the way the SMTP/LMTP
 * sessions will (server/spam/spam.h): a line protocol of the test's own
 * ("SCAN <bytes>" then the message) feeds spam_scan_begin/feed/end from
 * the connection's input with back-pressure, and answers the decision. It
 * checks the worker's pool of kept-alive rspamd connections (reused by the
 * next scan on that worker, closed when the server stops), a server that
 * stops during a scan (the session's destroy aborts it: nothing waits for
 * the timeout, nothing leaks), the timeout's answer, and scanning off for
 * LMTP. The
 * stand-in for rspamd is fake-rspamd.h. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "lib/log.h"
#include "server/engine/session.h"
#include "server/net/loop.h"
#include "server/services.h"
#include "server/spam/spam.h"
#include "fake-rspamd.h"
#include "loopback.h"
#include "net-fixture.h"

static atomic_int destroyed;

struct ssess {
	struct sess_core core;
	struct spam_scan *scan;
	size_t left;               /* message bytes still to come */
	bool scanning;
};

static void s_input(void *ctx);

static void s_destroy(struct sess_core *core)
{
	struct ssess *s = (struct ssess *)core;
	spam_scan_abort(&s->scan);      /* what delivery does in its destroy */
	free(s);
	atomic_fetch_add(&destroyed, 1);
}

static void *s_create(struct conn *c)
{
	struct ssess *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, s_destroy);
	conn_write_str(c, "HELLO\r\n");
	return s;
}

static void on_decision(void *arg, struct spam_decision *d)
{
	struct ssess *s = arg;
	s->scan = NULL;
	s->scanning = false;
	if (!sess_alive(&s->core))
		return;
	static const char *const names[] = { "deliver", "reject", "tempfail" };
	conn_printf(s->core.conn, "RESULT %s junk=%d scanned=%d reply=%s\r\n", names[d->outcome],
		    d->junk, d->scanned, d->reply[0] ? d->reply : "-");
	conn_resume_input(s->core.conn);
}

static void on_room(void *arg)
{
	struct ssess *s = arg;
	if (sess_alive(&s->core))
		conn_resume_input(s->core.conn);
}

static void s_input(void *ctx)
{
	struct ssess *s = ctx;
	struct conn *c = s->core.conn;
	for (;;) {
		if (s->scanning && s->left > 0) {
			const char *data;
			size_t len;
			conn_input(c, &data, &len);
			if (len == 0)
				return;
			size_t n = len < s->left ? len : s->left;
			size_t taken = spam_scan_feed(s->scan, data, n);
			conn_consume(c, taken);
			s->left -= taken;
			if (taken < n) {
				conn_pause_input(c);
				spam_scan_on_room(s->scan, on_room, s);
				return;
			}
			if (s->left > 0)
				return;
			spam_scan_end(s->scan);
			conn_pause_input(c);
			return;
		}
		if (s->scanning)
			return;
		struct reader_line line;
		if (conn_read_line(c, &line) != READER_LINE)
			return;
		char buf[80];
		snprintf(buf, sizeof(buf), "%.*s", (int)line.len, line.data);
		unsigned n;
		char proto[8];
		if (sscanf(buf, "SCAN %7s %u", proto, &n) == 2) {
			static const char *const rcpt[] = { "alice@example.org" };
			struct spam_envelope env = { .client_ip = "192.0.2.7", .helo = "h.example",
						     .mail_from = "a@example.net", .rcpts = rcpt,
						     .n_rcpts = 1, .queue_id = "T1" };
			s->scan = spam_scan_begin(&s->core, strcmp(proto, "lmtp") == 0
						  ? CONF_PROTO_LMTP : CONF_PROTO_SMTP, &env, -1,
						  on_decision, s);
			if (s->scan == NULL) {
				conn_write_str(c, "OFF\r\n");
				continue;
			}
			s->scanning = true;
			s->left = n;
			conn_set_max_line(c, 1 << 20);
		} else {
			conn_write_str(c, "BAD\r\n");
		}
	}
}

static void s_shutdown(void *ctx, bool force)
{
	struct ssess *s = ctx;
	(void)force;
	conn_close(s->core.conn, "shutdown");
}

static void s_free(void *ctx)
{
	struct ssess *s = ctx;
	sess_core_release(&s->core);
}

static void s_refuse(struct conn *c, enum conn_refuse_reason why)
{
	(void)c;
	(void)why;
}

static const struct conn_proto scan_proto = {
	.name = "smtp",
	.no_login = true,
	.session_create = s_create,
	.session_input = s_input,
	.session_drained = s_input,
	.session_shutdown = s_shutdown,
	.session_free = s_free,
	.refuse = s_refuse,
};

static struct fixture *start_server(const char *spam)
{
	log_set_level(LOG_LEVEL_WARN);
	atomic_store(&destroyed, 0);
	char *text = xasprintf("[server]\nworkers = 1\nshutdown_timeout = 2s\n"
			       "[listener t]\nprotocol = smtp\naddress = 127.0.0.1\nport = %u\n"
			       "tls = none\n[spam]\nenabled = yes\nrspamd_port = %d\n%s%s",
			       lb_free_port(), srv.port, spam,
			       strstr(spam, "timeout =") == NULL ? "timeout = 1s\n" : "");
	struct fixture *f = net_fixture_start("test-spam-session.conf", text, &scan_proto, 2);
	free(text);
	return f;
}

static void stop_server(struct fixture *f)
{
	net_fixture_stop(f);   /* the worker's pool is stopped and freed */
}

static char *message(size_t size)
{
	char *m = xmalloc(size + 1);
	size_t n = (size_t)snprintf(m, size + 1, "Subject: test\r\n\r\n");
	for (; n < size; n++)
		m[n] = (n % 64 == 63) ? '\n' : 'a';
	m[size] = '\0';
	return m;
}

static void test_scan_from_session(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{ STEP_REPLY, 200, "{\"action\":\"reject\",\"score\":15,\"required_score\":15,"
		  "\"messages\":{\"smtp_message\":\"Gtube pattern\"}}", false },
		{ STEP_REPLY, 200, "{\"action\":\"reject\",\"score\":15,\"required_score\":15}", false },
		{ STEP_REPLY, 200, "{\"action\":\"add header\",\"score\":8,\"required_score\":15}",
		  false },
	};
	script(steps, 3);
	int accepted0 = srv.accepted, seen0 = seen();
	struct fixture *f = start_server("scan_lmtp = no\n");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	char *big = message(600 * 1024);   /* more than the request buffers */
	lb_send(fd, "SCAN smtp 600\r\n");
	lb_send(fd, "Subject: a\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X");
	lb_send(fd, "\r\n");
	char pad[600];
	memset(pad, 'x', sizeof(pad));
	size_t sofar = strlen("Subject: a\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n");
	pad[600 - sofar] = '\0';
	lb_send(fd, pad);
	lb_expect(fd, "RESULT reject junk=0 scanned=1 reply=550 5.7.1 Message refused as spam "
		  "(Gtube pattern)\r\n");
	/* a large message through the back-pressure; the kept-alive connection
	 * of this worker is reused */
	char *cmd = xasprintf("SCAN smtp %zu\r\n", strlen(big));
	lb_send(fd, cmd);
	lb_send(fd, big);
	lb_expect(fd, "RESULT reject junk=0 scanned=1 reply=550 5.7.1 Message refused as spam\r\n");
	lb_send(fd, "SCAN smtp 5\r\nhello");
	lb_expect(fd, "RESULT deliver junk=1 scanned=1 reply=-\r\n");
	lb_send(fd, "SCAN lmtp 5\r\n");
	lb_expect(fd, "OFF\r\n");
	assert_int_equal(seen() - seen0, 3);
	assert_int_equal(srv.accepted - accepted0, 1);   /* one connection for all three */
	pthread_mutex_lock(&srv.lock);
	assert_int_equal(srv.seen_len[seen0 + 1], strlen(big));
	assert_memory_equal(srv.seen_body[seen0 + 1], big, strlen(big));
	assert_non_null(strstr(srv.seen_head[seen0], "\r\nQueue-Id: T1\r\n"));
	pthread_mutex_unlock(&srv.lock);
	close(fd);
	free(cmd);
	free(big);
	stop_server(f);
	assert_int_equal(atomic_load(&destroyed), 1);
}

/* The server stops while rspamd has not answered: the session is closed
 * and freed (its destroy aborts the scan, closing rspamd's connection)
 * without waiting for the scan's timeout. */
static void test_shutdown_during_scan(void **state)
{
	(void)state;
	static const struct step silent[] = { { STEP_SILENT, 0, NULL, false } };
	script(silent, 1);
	int seen0 = seen();
	struct fixture *f = start_server("timeout = 60s\n");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "SCAN smtp 5\r\nhello");
	for (int i = 0; i < 200 && seen() == seen0; i++)
		usleep(10000);
	assert_int_equal(seen(), seen0 + 1);   /* rspamd has it, and is silent */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stop_server(f);
	assert_true(lb_ms_since(&t0) < 5000);
	assert_int_equal(atomic_load(&destroyed), 1);
	close(fd);
}

static void test_timeout_from_session(void **state)
{
	(void)state;
	static const struct step silent[] = { { STEP_SILENT, 0, NULL, false } };
	script(silent, 1);
	struct fixture *f = start_server("on_failure = tempfail\n");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "SCAN smtp 5\r\nhello");
	lb_expect(fd, "RESULT tempfail junk=0 scanned=0 reply=451 4.7.1 Spam filter unavailable, "
		  "try again later\r\n");
	close(fd);
	stop_server(f);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_from_session),
		cmocka_unit_test(test_shutdown_during_scan),
		cmocka_unit_test(test_timeout_from_session),
	};
	return cmocka_run_group_tests_name("spam-session", tests, srv_setup, srv_teardown);
}
