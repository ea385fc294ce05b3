/* Tests of the session engine (server/engine/) on a real net_server with a
 * line protocol of the test's own: blocking work runs on the pool while the
 * loop keeps serving other connections, pipelined commands wait for the
 * command in flight and answer in order, a session whose client left during
 * a job is freed only after the job returned, posting to a connection by
 * handle from another thread (and to one that is gone), delays on the loop's
 * timers (ended at once when the client leaves), shutdown waiting for
 * work in flight, the streaming sink's order and back-pressure, and the
 * loop-thread check on blocking calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "auth/password.h"
#include "conf/config.h"
#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "server/engine/session.h"
#include "server/engine/sink.h"
#include "server/net/loop.h"
#include "server/services.h"
#include "loopback.h"
#include "net-fixture.h"

static atomic_int destroyed, freed_by_conn, posted_to_gone, worked_on_loop;
static uint64_t last_handle; /* written on a loop, read after a reply */

struct esess {
	struct sess_core core;
	bool busy, bye_after;
	struct sess_sink *sink;
	size_t sink_left;        /* payload bytes still to read */
	char *sink_out;          /* what the sink target received */
	size_t sink_out_len;
	unsigned sink_delay_ms;
};

struct slow_job {
	struct sess_job job;
	struct esess *s;
	unsigned ms;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void e_input(void *ctx);

static void e_destroy(struct sess_core *core)
{
	struct esess *s = (struct esess *)core;
	free(s->sink_out);
	free(s);
	atomic_fetch_add(&destroyed, 1);
}

static void *e_create(struct conn *c)
{
	struct esess *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, e_destroy);
	conn_write_str(c, "HELLO\r\n");
	return s;
}

static void finish_command(struct esess *s)
{
	s->busy = false;
	if (s->bye_after) {
		conn_write_str(s->core.conn, "BYE\r\n");
		conn_close(s->core.conn, "shutdown");
		return;
	}
	conn_resume_input(s->core.conn);
}

static void slow_work(struct sess_job *job)
{
	struct slow_job *j = (struct slow_job *)job;
	if (thread_role_get() == THREAD_ROLE_LOOP)
		atomic_fetch_add(&worked_on_loop, 1);
	sleep_ms(j->ms);
}

static atomic_int delays_ended_dead;

/* "WAIT n": a sess_delay of n ms, answered "WAITED n". */
static void wait_done(struct sess_job *job)
{
	struct slow_job *j = (struct slow_job *)job;
	struct esess *s = j->s;
	if (sess_alive(&s->core)) {
		conn_printf(s->core.conn, "WAITED %u\r\n", j->ms);
		finish_command(s);
	} else {
		atomic_fetch_add(&delays_ended_dead, 1);
	}
	free(j);
}

static void slow_done(struct sess_job *job)
{
	struct slow_job *j = (struct slow_job *)job;
	struct esess *s = j->s;
	if (sess_alive(&s->core)) {
		conn_printf(s->core.conn, "DONE %u\r\n", j->ms);
		finish_command(s);
	}
	free(j);
}

struct post_msg {
	struct conn_msg base;
	const char *text;
};

static void post_deliver(struct conn_msg *m, struct conn *c)
{
	struct post_msg *pm = (struct post_msg *)m;
	if (c == NULL)
		atomic_fetch_add(&posted_to_gone, 1);
	else
		conn_write_str(c, pm->text);
	free(pm);
}

struct poster {
	struct net_server *srv;
	uint64_t handle;
	unsigned delay_ms;
};

static void *poster_thread(void *arg)
{
	struct poster *p = arg;
	sleep_ms(p->delay_ms);
	struct post_msg *pm = xcalloc(1, sizeof(*pm));
	pm->base.deliver = post_deliver;
	pm->text = "POSTED\r\n";
	conn_post(p->srv, p->handle, &pm->base);
	free(p);
	return NULL;
}

static void start_poster(struct net_server *srv, uint64_t handle, unsigned delay_ms)
{
	struct poster *p = xcalloc(1, sizeof(*p));
	p->srv = srv;
	p->handle = handle;
	p->delay_ms = delay_ms;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, poster_thread, p), 0);
	pthread_detach(t);
}

/* The sink's target: appends to s->sink_out on the pool, slowly. */
static int sink_write(void *target, const void *data, size_t len)
{
	struct esess *s = target;
	if (thread_role_get() == THREAD_ROLE_LOOP)
		atomic_fetch_add(&worked_on_loop, 1);
	sleep_ms(s->sink_delay_ms);
	s->sink_out = xrealloc(s->sink_out, s->sink_out_len + len + 1);
	memcpy(s->sink_out + s->sink_out_len, data, len);
	s->sink_out_len += len;
	return 0;
}

static void sink_done(void *arg, int err)
{
	struct esess *s = arg;
	if (!sess_alive(&s->core))
		return;
	/* Report a checksum of what arrived, in order. */
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < s->sink_out_len; i++)
		h = (h ^ (unsigned char)s->sink_out[i]) * 1099511628211ull;
	conn_printf(s->core.conn, "STORED %zu %llx err=%d\r\n", s->sink_out_len,
		    (unsigned long long)h, err);
	finish_command(s);
}

static void sink_space(void *arg)
{
	struct esess *s = arg;
	conn_resume_input(s->core.conn);
}

static void e_input(void *ctx)
{
	struct esess *s = ctx;
	struct conn *c = s->core.conn;
	while (!conn_is_closing(c)) {
		if (s->sink != NULL) {
			/* "SINK n": n payload bytes follow the line. */
			const char *data;
			size_t len;
			conn_input(c, &data, &len);
			if (len > s->sink_left)
				len = s->sink_left;
			size_t taken = sess_sink_feed(s->sink, data, len);
			conn_consume(c, taken);
			s->sink_left -= taken;
			if (taken < len) {
				/* The sink is full: wait for on_space. */
				conn_pause_input(c);
				return;
			}
			if (s->sink_left > 0)
				return;
			struct sess_sink *sink = s->sink;
			s->sink = NULL;
			conn_pause_input(c);
			sess_sink_finish(sink, false, sink_done, s);
			return;
		}
		if (s->busy)
			return;
		struct reader_line line;
		if (conn_read_line(c, &line) != READER_LINE)
			return;
		char buf[80];
		snprintf(buf, sizeof(buf), "%.*s", (int)line.len, line.data);
		unsigned n;
		if (sscanf(buf, "SLOW %u", &n) == 1) {
			struct slow_job *j = xcalloc(1, sizeof(*j));
			j->s = s;
			j->ms = n;
			j->job.work = slow_work;
			j->job.done = slow_done;
			s->busy = true;
			conn_pause_input(c);
			sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
			return;
		} else if (sscanf(buf, "WAIT %u", &n) == 1) {
			struct slow_job *j = xcalloc(1, sizeof(*j));
			j->s = s;
			j->ms = n;
			j->job.done = wait_done;
			s->busy = true;
			conn_pause_input(c);
			sess_delay(&s->core, &j->job, n);
			return;
		} else if (sscanf(buf, "SINK %u", &n) == 1) {
			s->busy = true;
			s->sink_delay_ms = 2;
			s->sink = sess_sink_create(&s->core, s->core.svc->storage_pool, 1024,
						   sink_write, s);
			sess_sink_on_space(s->sink, sink_space, s);
			s->sink_left = n;
		} else if (sscanf(buf, "TIMEOUT %u", &n) == 1) {
			conn_set_timeout(c, n);
			conn_write_str(c, "OK\r\n");
		} else if (strcmp(buf, "HANDLE") == 0) {
			last_handle = conn_handle(c);
			conn_write_str(c, "OK\r\n");
		} else if (strcmp(buf, "POST") == 0) {
			start_poster(s->core.svc->net, conn_handle(c), 0);
		} else if (strcmp(buf, "PING") == 0) {
			conn_write_str(c, "PONG\r\n");
		} else if (strcmp(buf, "QUIT") == 0) {
			conn_write_str(c, "BYE\r\n");
			conn_close(c, "quit");
		} else {
			conn_printf(c, "ECHO %s\r\n", buf);
		}
	}
}

static void e_shutdown(void *ctx, bool force)
{
	struct esess *s = ctx;
	if (s->busy && !force) {
		s->bye_after = true; /* finish the command, then say goodbye */
		return;
	}
	conn_write_str(s->core.conn, "BYE\r\n");
	conn_close(s->core.conn, "shutdown");
}

static void e_free(void *ctx)
{
	struct esess *s = ctx;
	atomic_fetch_add(&freed_by_conn, 1);
	sess_core_release(&s->core);
}

static void e_refuse(struct conn *c, enum conn_refuse_reason why)
{
	(void)why;
	conn_write_str(c, "REFUSED\r\n");
}

static const struct conn_proto engine_proto = {
	.name = "test",
	.session_create = e_create,
	.session_input = e_input,
	.session_drained = e_input,
	.session_shutdown = e_shutdown,
	.session_free = e_free,
	.refuse = e_refuse,
};

/* ---- fixture: a server whose services hold only a storage pool ---- */

static struct fixture *start_server(const char *shutdown_timeout)
{
	log_set_level(LOG_LEVEL_WARN);
	atomic_store(&destroyed, 0);
	atomic_store(&freed_by_conn, 0);
	atomic_store(&posted_to_gone, 0);
	atomic_store(&worked_on_loop, 0);
	char *text = xasprintf("[server]\nworkers = 2\nshutdown_timeout = %s\n"
			       "[listener t]\nprotocol = imap\naddress = 127.0.0.1\nport = %u\n"
			       "tls = none\n", shutdown_timeout, lb_free_port());
	struct fixture *f = net_fixture_start("test-engine.conf", text, &engine_proto, 4);
	free(text);
	return f;
}

static void stop_server(struct fixture *f)
{
	net_fixture_stop(f);
	assert_int_equal(atomic_load(&worked_on_loop), 0);
}

static void wait_for(atomic_int *counter, int value)
{
	for (int i = 0; i < 300 && atomic_load(counter) < value; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(counter), value);
}

/* ---- tests ---- */

static void test_pipelined_commands_wait_for_work(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	/* PING is buffered while SLOW runs on the pool, and answered after. */
	lb_send(fd, "SLOW 150\r\nPING\r\nSLOW 10\r\nPING\r\n");
	lb_expect(fd, "DONE 150\r\nPONG\r\nDONE 10\r\nPONG\r\n");
	close(fd);
	stop_server(f);
}

static void test_loop_serves_others_during_work(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int a = lb_connect(f->port), b = lb_connect(f->port);
	lb_expect(a, "HELLO\r\n");
	lb_expect(b, "HELLO\r\n");
	lb_send(a, "SLOW 800\r\n");
	/* Whatever worker b landed on, its answer does not wait for a's job:
	 * b gets PONG while a's DONE has not arrived yet. */
	lb_send(b, "PING\r\n");
	lb_expect(b, "PONG\r\n");
	size_t len;
	char *early = lb_recv_until(a, NULL, 1, &len);
	assert_int_equal(len, 0);
	free(early);
	lb_expect(a, "DONE 800\r\n");
	close(a);
	close(b);
	stop_server(f);
}

static void test_session_outlives_connection_during_work(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	/* The inactivity timeout closes the connection while the job runs:
	 * the connection goes, the session stays until its job returned. */
	lb_send(fd, "TIMEOUT 100\r\n");
	lb_expect(fd, "OK\r\n");
	lb_send(fd, "SLOW 1000\r\n");
	wait_for(&freed_by_conn, 1);
	assert_int_equal(atomic_load(&destroyed), 0);
	wait_for(&destroyed, 1);
	close(fd);
	stop_server(f);
}

/* sess_delay: the answer comes after the delay from a timer, the loop
 * serves others meanwhile, pipelined input waits; a client that leaves
 * during a delay ends it at once (done() sees the session gone) and the
 * session is freed without waiting for the timer (the connection closes on
 * its inactivity timeout: paused input reads no EOF). */
static void test_delay(void **state)
{
	(void)state;
	atomic_store(&delays_ended_dead, 0);
	struct fixture *f = start_server("2s");
	int a = lb_connect(f->port), b = lb_connect(f->port);
	lb_expect(a, "HELLO\r\n");
	lb_expect(b, "HELLO\r\n");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	lb_send(a, "WAIT 300\r\nPING\r\nWAIT 0\r\n");
	lb_send(b, "PING\r\n");
	lb_expect(b, "PONG\r\n");
	lb_expect(a, "WAITED 300\r\nPONG\r\nWAITED 0\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 290);
	close(a);
	/* b's inactivity timeout closes it during a minute's delay */
	lb_send(b, "TIMEOUT 100\r\n");
	lb_expect(b, "OK\r\n");
	lb_send(b, "WAIT 60000\r\n");
	wait_for(&destroyed, 2);
	close(b);
	assert_int_equal(atomic_load(&delays_ended_dead), 1);
	stop_server(f);
}

static void test_post_by_handle(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "POST\r\nPING\r\n");
	size_t len;
	char *got = lb_recv_until(fd, "POSTED\r\n", 3000, &len);
	assert_non_null(strstr(got, "PONG\r\n"));
	assert_non_null(strstr(got, "POSTED\r\n"));
	free(got);
	close(fd);
	stop_server(f);
}

/* A handle another thread kept after the client left reaches nobody (the
 * message is freed, nothing is touched), not even a new connection that
 * reuses the same slot. */
static void post_from_test(struct net_server *srv, uint64_t handle)
{
	struct post_msg *pm = xcalloc(1, sizeof(*pm));
	pm->base.deliver = post_deliver;
	pm->text = "POSTED\r\n";
	conn_post(srv, handle, &pm->base);
}

static void test_post_to_closed_connection(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "HANDLE\r\n");
	lb_expect(fd, "OK\r\n");
	uint64_t old = last_handle;
	assert_true(old != 0);
	lb_send(fd, "QUIT\r\n");
	lb_expect(fd, "BYE\r\n");
	close(fd);
	wait_for(&destroyed, 1);
	post_from_test(f->srv, old);
	wait_for(&posted_to_gone, 1);
	/* New connections take the freed slot again (with a new generation). */
	int fds[4];
	for (int i = 0; i < 4; i++) {
		fds[i] = lb_connect(f->port);
		lb_expect(fds[i], "HELLO\r\n");
	}
	post_from_test(f->srv, old);
	wait_for(&posted_to_gone, 2);
	for (int i = 0; i < 4; i++) {
		lb_send(fds[i], "PING\r\n");
		lb_expect(fds[i], "PONG\r\n"); /* and no POSTED before it */
		close(fds[i]);
	}
	/* Never-valid handles too. */
	post_from_test(f->srv, 0);
	post_from_test(f->srv, (uint64_t)4000 << 52);
	assert_int_equal(atomic_load(&posted_to_gone), 4);
	stop_server(f);
}

static void test_shutdown_waits_for_command(void **state)
{
	(void)state;
	struct fixture *f = start_server("5s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "SLOW 300\r\n");
	sleep_ms(50);
	net_server_stop(f->srv);
	/* The command finishes and answers, then the goodbye comes. */
	size_t len;
	char *got = lb_recv_until(fd, NULL, 3000, &len);
	assert_string_equal(got, "DONE 300\r\nBYE\r\n");
	free(got);
	net_server_join(&f->srv);
	assert_int_equal(atomic_load(&destroyed), 1);
	close(fd);
	stop_server(f);
}

static void test_forced_shutdown_keeps_loop_for_job(void **state)
{
	(void)state;
	struct fixture *f = start_server("100ms");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "SLOW 600\r\n");
	sleep_ms(50);
	net_server_stop(f->srv);
	/* shutdown_timeout closes the connection before the job is done; the
	 * loop keeps running until the job returned and freed the session. */
	size_t len;
	char *got = lb_recv_until(fd, NULL, 3000, &len);
	assert_string_equal(got, "BYE\r\n");
	free(got);
	net_server_join(&f->srv);
	assert_int_equal(atomic_load(&destroyed), 1);
	close(fd);
	stop_server(f);
}

static void test_sink_streams_in_order_with_backpressure(void **state)
{
	(void)state;
	struct fixture *f = start_server("2s");
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	/* 200 KiB through a 1 KiB double buffer whose writer sleeps 2 ms per
	 * chunk: input must pause and resume many times, bytes stay in order. */
	size_t n = 200 * 1024;
	char *payload = xmalloc(n);
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		payload[i] = (char)('a' + (i * 7 + i / 1000) % 26);
		h = (h ^ (unsigned char)payload[i]) * 1099511628211ull;
	}
	char line[64];
	snprintf(line, sizeof(line), "SINK %zu\r\n", n);
	lb_send(fd, line);
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(fd, payload + off, n - off, MSG_NOSIGNAL);
		assert_true(w > 0);
		off += (size_t)w;
	}
	lb_send(fd, "PING\r\n");
	char want[96];
	snprintf(want, sizeof(want), "STORED %zu %llx err=0\r\nPONG\r\n", n,
		 (unsigned long long)h);
	size_t len;
	char *got = lb_recv_until(fd, "PONG\r\n", 20000, &len);
	assert_string_equal(got, want);
	free(got);
	free(payload);
	close(fd);
	stop_server(f);
}

/* Jobs on a pool of n threads run concurrently: n jobs that each wait for
 * all n to have started finish only if none waits for a free thread. */
static atomic_int started;

static void barrier_run(struct work_item *it)
{
	atomic_fetch_add(&started, 1);
	for (int i = 0; i < 500 && atomic_load(&started) < 16; i++)
		sleep_ms(2);
	free(it);
}

static void test_pool_runs_concurrently(void **state)
{
	(void)state;
	atomic_store(&started, 0);
	struct work_pool *p = work_pool_create("conc", 16);
	for (int i = 0; i < 16; i++) {
		struct work_item *it = xcalloc(1, sizeof(*it));
		it->run = barrier_run;
		work_pool_submit(p, it);
	}
	work_pool_destroy(&p);
	assert_int_equal(atomic_load(&started), 16);
}

#ifdef LOFT_THREAD_CHECKS
/* A blocking call made on a loop thread aborts with a clear message. */
static void test_blocking_call_on_loop_aborts(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		thread_role_set(THREAD_ROLE_LOOP);
		(void)password_verify("secret", "{PLAIN}secret");
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	/* The same call on a pool thread or the main thread is fine. */
	thread_role_set(THREAD_ROLE_OTHER);
	assert_int_equal(password_verify("secret", "{PLAIN}secret"), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_commands_wait_for_work),
		cmocka_unit_test(test_loop_serves_others_during_work),
		cmocka_unit_test(test_session_outlives_connection_during_work),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_post_by_handle),
		cmocka_unit_test(test_post_to_closed_connection),
		cmocka_unit_test(test_shutdown_waits_for_command),
		cmocka_unit_test(test_forced_shutdown_keeps_loop_for_job),
		cmocka_unit_test(test_sink_streams_in_order_with_backpressure),
		cmocka_unit_test(test_pool_runs_concurrently),
#ifdef LOFT_THREAD_CHECKS
		cmocka_unit_test(test_blocking_call_on_loop_aborts),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
