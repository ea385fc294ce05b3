/* Tests of the connection layer and worker loops (server/net/) with a small
 * line protocol of the test's own on a real loopback socket: greeting and
 * pipelined lines, overlong lines, output back-pressure (a client that does
 * not read pauses the command; session_drained resumes it and nothing is
 * lost or reordered), timeouts, the per-address limit with the protocol's
 * refusal, shutdown with a goodbye for every open connection, the absolute
 * login deadline and the idle timeout that replaces it after login. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/config.h"
#include "server/net/loop.h"
#include "lib/log.h"
#include "lib/xmem.h"

/* Counters the worker threads update and the test thread reads. */
static atomic_int drained_calls, freed_sessions, refused_calls;

struct tsess {
	struct conn *c;
	size_t big_left;     /* bytes of a BIG reply still to write */
};

#define BIG_LINE 1024

static void pump_big(struct tsess *s)
{
	static const char *const xs =
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	while (s->big_left > 0 && !conn_output_full(s->c)) {
		for (int i = 0; i < (BIG_LINE - 2) / 64; i++)
			conn_write(s->c, xs, 64);
		conn_write(s->c, xs, (BIG_LINE - 2) % 64);
		conn_write(s->c, "\r\n", 2);
		s->big_left -= BIG_LINE;
	}
}

static void *t_create(struct conn *c)
{
	struct tsess *s = xcalloc(1, sizeof(*s));
	s->c = c;
	conn_write_str(c, "HELLO\r\n");
	return s;
}

static void t_input(void *ctx)
{
	struct tsess *s = ctx;
	pump_big(s);
	while (s->big_left == 0 && !conn_is_closing(s->c)) {
		struct reader_line line;
		enum reader_result r = conn_read_line(s->c, &line);
		if (r == READER_NEED_MORE)
			return;
		if (r == READER_TOO_LONG) {
			conn_write_str(s->c, "TOOLONG\r\n");
			continue;
		}
		char buf[80];
		snprintf(buf, sizeof(buf), "%.*s", (int)line.len, line.data);
		unsigned n;
		if (sscanf(buf, "BIG %u", &n) == 1) {
			s->big_left = (size_t)n * BIG_LINE;
			pump_big(s);
		} else if (sscanf(buf, "TIMEOUT %u", &n) == 1) {
			conn_set_timeout(s->c, n);
			conn_write_str(s->c, "OK\r\n");
		} else if (strcmp(buf, "LOGIN") == 0) {
			conn_set_authenticated(s->c);
			conn_write_str(s->c, "OK\r\n");
		} else if (strcmp(buf, "PING") == 0) {
			conn_write_str(s->c, "PONG\r\n");
		} else if (strcmp(buf, "QUIT") == 0) {
			conn_write_str(s->c, "BYE\r\n");
			conn_close(s->c, "quit");
		} else {
			conn_printf(s->c, "ECHO %s\r\n", buf);
		}
	}
}

static void t_drained(void *ctx)
{
	atomic_fetch_add(&drained_calls, 1);
	t_input(ctx);
}

static void t_timeout(void *ctx)
{
	struct tsess *s = ctx;
	conn_write_str(s->c, "TIMEOUT\r\n");
}

static void t_shutdown(void *ctx, bool force)
{
	struct tsess *s = ctx;
	(void)force;
	conn_write_str(s->c, "BYE shutdown\r\n");
	conn_close(s->c, "shutdown");
}

static void t_free(void *ctx)
{
	atomic_fetch_add(&freed_sessions, 1);
	free(ctx);
}

static void t_refuse(struct conn *c, enum conn_refuse_reason why)
{
	atomic_fetch_add(&refused_calls, 1);
	conn_write_str(c, why == CONN_REFUSE_PER_IP ? "REFUSED per-ip\r\n" : "REFUSED total\r\n");
}

static const struct conn_proto test_proto = {
	.name = "test",
	.session_create = t_create,
	.session_input = t_input,
	.session_drained = t_drained,
	.session_timeout = t_timeout,
	.session_shutdown = t_shutdown,
	.session_free = t_free,
	.refuse = t_refuse,
};

/* ---- server and client helpers ---- */

struct fixture {
	struct net_server *srv;
	uint16_t port;
};

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	return ntohs(sin.sin_port);
}

static int setup_with(void **state, const char *limits_extra)
{
	log_set_level(LOG_LEVEL_WARN);
	atomic_store(&drained_calls, 0);
	atomic_store(&freed_sessions, 0);
	atomic_store(&refused_calls, 0);
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *text = xasprintf("[server]\nworkers = 2\nshutdown_timeout = 2s\n"
			       "[limits]\nmax_output_buffer = 16K\nmax_connections_per_ip = 3\n"
			       "max_line_length_preauth = 64\npreauth_timeout = 30s\n%s"
			       "[listener t]\nprotocol = imap\naddress = 127.0.0.1\nport = %u\n"
			       "tls = none\n", limits_extra, free_port());
	struct loft_config *cfg;
	char *err = NULL;
	if (conf_load_string("test-conn.conf", text, &cfg, &err) != 0)
		fail_msg("config: %s", err);
	free(text);
	struct net_snapshot *snap = net_snapshot_create(cfg, &err);
	assert_non_null(snap);
	net_proto_table protos = { &test_proto, &test_proto, &test_proto, &test_proto };
	if (net_server_create(snap, protos, &f->srv, &err) != 0)
		fail_msg("create: %s", err);
	net_snapshot_unref(&snap);
	assert_int_equal(net_server_start(f->srv, &err), 0);
	f->port = net_server_port(f->srv, 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "");
}

/* A short login deadline; a longer idle timeout after login. */
static int setup_login(void **state)
{
	return setup_with(state, "login_deadline = 700ms\nidle_timeout = 1500ms\n");
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->srv != NULL) {
		net_server_stop(f->srv);
		net_server_join(&f->srv);
	}
	free(f);
	return 0;
}

static int client(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read until EOF or until the data ends with `until` (NULL: EOF only), at
 * most timeout_ms. Returns a heap buffer with *len_r bytes. */
static char *recv_until(int fd, const char *until, int timeout_ms, size_t *len_r)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
					  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if (len + 65536 > cap) {
			cap = (len + 65536) * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		size_t ul = until ? strlen(until) : 0;
		if (until != NULL && len >= ul && memcmp(buf + len - ul, until, ul) == 0)
			break;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

static void expect(int fd, const char *want)
{
	size_t len;
	char *got = recv_until(fd, want, 3000, &len);
	if (strcmp(got, want) != 0)
		fail_msg("got '%s', want '%s'", got, want);
	free(got);
}

/* ---- tests ---- */

static void test_pipelined_lines_and_overlong(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->port);
	expect(fd, "HELLO\r\n");
	/* Two commands and the start of a third in one packet, then the rest. */
	send_str(fd, "PING\r\nhello\nPI");
	expect(fd, "PONG\r\nECHO hello\r\n");
	send_str(fd, "NG\r\n");
	expect(fd, "PONG\r\n");
	/* 64 bytes is the limit; 65 is one over and the line after still works. */
	char line[80];
	memset(line, 'a', 64);
	memcpy(line + 64, "\r\n", 3);
	send_str(fd, line);
	size_t len;
	char *got = recv_until(fd, "\r\n", 3000, &len);
	assert_int_equal(len, 5 + 64 + 2);
	free(got);
	memset(line, 'b', 65);
	memcpy(line + 65, "\r\nPING\r\n", 9);
	send_str(fd, line);
	expect(fd, "TOOLONG\r\nPONG\r\n");
	send_str(fd, "QUIT\r\n");
	got = recv_until(fd, NULL, 3000, &len);
	assert_string_equal(got, "BYE\r\n"); /* then EOF */
	free(got);
	close(fd);
}

static void test_backpressure_pauses_and_resumes(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->port);
	expect(fd, "HELLO\r\n");
	/* 4 MiB of output against a 16 KiB max_output_buffer, a command
	 * pipelined behind it, and a client that does not read for a while. */
	send_str(fd, "BIG 4096\r\nPING\r\n");
	usleep(300 * 1000);
	size_t len;
	char *got = recv_until(fd, "PONG\r\n", 20000, &len);
	assert_int_equal(len, 4096u * BIG_LINE + 6);
	assert_memory_equal(got + len - 6, "PONG\r\n", 6);
	for (size_t i = 0; i < 4096u * BIG_LINE; i += BIG_LINE)
		assert_memory_equal(got + i + BIG_LINE - 2, "\r\n", 2);
	assert_true(memchr(got, 'P', len - 6) == NULL);
	free(got);
	assert_true(atomic_load(&drained_calls) > 0);
	close(fd);
}

static void test_timeout_says_goodbye(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->port);
	expect(fd, "HELLO\r\n");
	send_str(fd, "TIMEOUT 200\r\n");
	expect(fd, "OK\r\n");
	size_t len;
	char *got = recv_until(fd, NULL, 3000, &len);
	assert_string_equal(got, "TIMEOUT\r\n");
	free(got);
	close(fd);
}

static void test_per_ip_limit_and_shutdown(void **state)
{
	struct fixture *f = *state;
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = client(f->port);
		expect(fds[i], "HELLO\r\n");
	}
	int extra = client(f->port);
	size_t len;
	char *got = recv_until(extra, NULL, 3000, &len);
	assert_string_equal(got, "REFUSED per-ip\r\n");
	free(got);
	close(extra);
	assert_int_equal(atomic_load(&refused_calls), 1);
	/* A freed slot can be used again. */
	send_str(fds[2], "QUIT\r\n");
	got = recv_until(fds[2], NULL, 3000, &len);
	assert_string_equal(got, "BYE\r\n");
	free(got);
	close(fds[2]);
	for (int tries = 0; tries < 100 && atomic_load(&freed_sessions) < 1; tries++)
		usleep(10 * 1000);
	fds[2] = client(f->port);
	expect(fds[2], "HELLO\r\n");
	/* Shutdown: every open connection gets its goodbye, then EOF. */
	net_server_stop(f->srv);
	for (int i = 0; i < 3; i++) {
		got = recv_until(fds[i], NULL, 5000, &len);
		assert_string_equal(got, "BYE shutdown\r\n");
		free(got);
		close(fds[i]);
	}
	net_server_join(&f->srv);
	assert_null(f->srv);
	assert_int_equal(atomic_load(&freed_sessions), 4);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A client that keeps talking but never logs in is closed at the deadline,
 * long before preauth_timeout (30 s here) could end it. */
static void test_login_deadline_is_absolute(void **state)
{
	struct fixture *f = *state;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = client(f->port);
	expect(fd, "HELLO\r\n");
	size_t len;
	char *got = NULL;
	for (int i = 0; i < 40; i++) {
		usleep(100 * 1000);
		if (send(fd, "PING\r\n", 6, MSG_NOSIGNAL) != 6)
			break;
		got = recv_until(fd, "\r\n", 3000, &len);
		if (strcmp(got, "PONG\r\n") != 0)
			break;
		free(got);
		got = NULL;
	}
	long elapsed = ms_since(&t0);
	if (got == NULL) /* the PING met the closed socket: read what came */
		got = recv_until(fd, NULL, 3000, &len);
	/* The goodbye of session_timeout (possibly right behind the last
	 * PONG in the same read), then EOF. */
	size_t gl = strlen(got);
	if (gl < 9 || strcmp(got + gl - 9, "TIMEOUT\r\n") != 0) {
		char *rest = recv_until(fd, NULL, 3000, &len);
		fail_msg("got '%s' then '%s'", got, rest);
	}
	free(got);
	got = recv_until(fd, NULL, 3000, &len);
	assert_int_equal(len, 0);
	free(got);
	if (elapsed < 650 || elapsed > 2500)
		fail_msg("closed after %ld ms, deadline 700 ms", elapsed);
	close(fd);
}

/* conn_set_authenticated() ends the deadline and switches to idle_timeout. */
static void test_authenticated_gets_idle_timeout(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->port);
	expect(fd, "HELLO\r\n");
	send_str(fd, "LOGIN\r\n");
	expect(fd, "OK\r\n");
	usleep(1000 * 1000); /* past the 700 ms deadline */
	send_str(fd, "PING\r\n");
	expect(fd, "PONG\r\n");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t len;
	char *got = recv_until(fd, NULL, 5000, &len);
	long idle = ms_since(&t0);
	assert_string_equal(got, "TIMEOUT\r\n");
	free(got);
	if (idle < 1300 || idle > 4000)
		fail_msg("idle timeout after %ld ms, want 1500 ms", idle);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipelined_lines_and_overlong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_pauses_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_says_goodbye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_ip_limit_and_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_deadline_is_absolute, setup_login,
						teardown),
		cmocka_unit_test_setup_teardown(test_authenticated_gets_idle_timeout, setup_login,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
