/* The rspamd client (server/spam/client.c) and the learner (learn.c)
 * against a scripted HTTP server on loopback (TCP and a UNIX socket) run by
 * a thread of this test: request framing (Content-Length and chunked, the
 * headers), keep-alive reuse and the pool's idle bound and timeout, a
 * server that never answers (timeout), refuses (connect), hangs up,
 * answers too much or with an error status, cancelling in flight,
 * back-pressure on a large body, and the learner's retries, backoff,
 * "already learned", queue bound and per-user header. The e2e tests do the
 * same against a real rspamd (tests/e2e/test_spam.py). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "conf/config.h"
#include "lib/error.h"
#include "lib/xmem.h"
#include "server/spam/client.h"
#include "server/spam/learn.h"
#include "server/spam/stats.h"

#include "fake-rspamd.h"

/* ---- the client side ---- */

struct result {
	bool done;
	struct spam_reply reply;
};

static void on_done(struct spam_req *req, const struct spam_reply *reply, void *arg)
{
	(void)req;
	struct result *r = arg;
	r->done = true;
	r->reply = *reply;
}

static struct spam_client_settings settings(void)
{
	struct spam_client_settings s = {
		.scan = { "127.0.0.1", (unsigned)srv.port, NULL },
		.controller = { "127.0.0.1", (unsigned)srv.port, NULL },
		.password = "pw", .connect_timeout_ms = 1000, .timeout_ms = 2000, .max_idle = 2,
		.idle_timeout_ms = 10000, .max_reply = 1 << 20,
	};
	return s;
}

static void run_until(uv_loop_t *loop, const bool *flag)
{
	for (int i = 0; i < 100000 && !*flag; i++)
		uv_run(loop, UV_RUN_ONCE);
	assert_true(*flag);
}

static struct result one(struct spam_pool *pool, const struct spam_client_settings *set,
			 enum spam_req_kind kind, const char *body, bool chunked)
{
	struct result r = { 0 };
	struct spam_req_params p = { .kind = kind, .set = set, .headers = "IP: 192.0.2.1\r\n",
				     .body_size = chunked ? -1 : (int64_t)strlen(body) };
	struct spam_req *req = spam_req_start(pool, &p, on_done, &r);
	size_t len = strlen(body), off = 0;
	while (off < len)
		off += spam_req_write(req, body + off, len - off < 7 ? len - off : 7);
	spam_req_end(req);
	run_until(spam_pool_loop(pool), &r.done);
	return r;
}

static void finish(uv_loop_t *loop, struct spam_pool **pool)
{
	spam_pool_stop(*pool);
	uv_run(loop, UV_RUN_DEFAULT);
	spam_pool_free(pool);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void test_framing_and_keepalive(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct spam_pool *pool = spam_pool_create(&loop);
	struct spam_client_settings set = settings();
	static const struct step steps[] = {
		{ STEP_REPLY, 200, "{\"action\":\"reject\",\"score\":15,\"required_score\":15,"
		  "\"symbols\":{\"GTUBE\":{\"score\":0}}}", false },
		{ STEP_REPLY, 200, "{\"action\":\"add header\",\"score\":7.5}", false },
		{ STEP_REPLY, 200, "{\"success\":true}", true },
	};
	script(steps, 3);
	struct result r = one(pool, &set, SPAM_REQ_CHECK, "Subject: a\r\n\r\nbody\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_NONE);
	assert_int_equal(r.reply.result.action, SPAM_ACTION_REJECT);
	assert_false(r.reply.reused);
	assert_int_equal(spam_pool_idle(pool), 1);
	r = one(pool, &set, SPAM_REQ_CHECK, "Subject: b\r\n\r\nchunked body\r\n", true);
	assert_int_equal(r.reply.result.action, SPAM_ACTION_ADD_HEADER);
	assert_true(r.reply.reused);
	r = one(pool, &set, SPAM_REQ_LEARN_SPAM, "Subject: c\r\n\r\nspam\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_NONE);
	assert_true(r.reply.result.success);
	assert_int_equal(spam_pool_idle(pool), 0);   /* the server said close */
	assert_int_equal(seen(), 3);
	assert_int_equal(srv.accepted, 1);
	assert_non_null(strstr(srv.seen_head[0], "POST /checkv2 HTTP/1.1\r\n"));
	assert_non_null(strstr(srv.seen_head[0], "Content-Length: 20\r\n"));
	assert_non_null(strstr(srv.seen_head[0], "\r\nIP: 192.0.2.1\r\n"));
	assert_null(strstr(srv.seen_head[0], "Password"));
	assert_int_equal(srv.seen_len[0], 20);
	assert_memory_equal(srv.seen_body[0], "Subject: a\r\n\r\nbody\r\n", 20);
	assert_non_null(strstr(srv.seen_head[1], "Transfer-Encoding: chunked\r\n"));
	assert_memory_equal(srv.seen_body[1], "Subject: b\r\n\r\nchunked body\r\n", 28);
	assert_non_null(strstr(srv.seen_head[2], "POST /learnspam HTTP/1.1\r\n"));
	assert_non_null(strstr(srv.seen_head[2], "\r\nPassword: pw\r\n"));
	finish(&loop, &pool);
}

static void test_failures(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct spam_pool *pool = spam_pool_create(&loop);
	struct spam_client_settings set = settings();
	set.timeout_ms = 300;
	set.max_reply = 64;
	static const struct step steps[] = {
		{ STEP_SILENT, 0, NULL, false },
		{ STEP_CLOSE, 0, NULL, false },
		{ STEP_REPLY, 500, "{\"error\":\"internal\"}", false },
		{ STEP_REPLY, 200, "{\"action\":\"reject\",\"score\":1,\"symbols\":{\"A_LONG_SYMBOL\":"
		  "{\"score\":1}}}", false },
		{ STEP_REPLY, 200, "[1,2]", false },
		{ STEP_REPLY, 200, "{\"success\":false,\"error\":\"x\"}", false },
	};
	script(steps, 6);
	uint64_t t0 = uv_now(&loop);
	struct result r = one(pool, &set, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_TIMEOUT);
	uv_update_time(&loop);
	assert_true(uv_now(&loop) - t0 >= 290 && uv_now(&loop) - t0 < 2000);
	r = one(pool, &set, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_IO);
	r = one(pool, &set, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_HTTP);
	assert_int_equal(r.reply.http_status, 500);
	assert_string_equal(r.reply.detail, "HTTP 500: internal");
	r = one(pool, &set, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_PROTOCOL);   /* over max_reply */
	r = one(pool, &set, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_PROTOCOL);
	r = one(pool, &set, SPAM_REQ_LEARN_HAM, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_HTTP);
	assert_string_equal(r.reply.detail, "not learned: x");

	/* a body that is not what was announced */
	struct spam_req_params p = { .kind = SPAM_REQ_CHECK, .set = &set, .body_size = 10 };
	r = (struct result){ 0 };
	struct spam_req *req = spam_req_start(pool, &p, on_done, &r);
	spam_req_write(req, "abc", 3);
	spam_req_end(req);
	assert_false(r.done);     /* never inside the call */
	run_until(&loop, &r.done);
	assert_int_equal(r.reply.fail, SPAM_FAIL_BODY);

	/* nobody listens */
	struct spam_client_settings dead = set;
	dead.scan.port = 1;
	r = one(pool, &dead, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_CONNECT);
	dead.scan.address = "not-an-address";
	r = one(pool, &dead, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_CONNECT);
	dead.scan.socket = "/nonexistent/rspamd.sock";
	r = one(pool, &dead, SPAM_REQ_CHECK, "a\r\n", false);
	assert_int_equal(r.reply.fail, SPAM_FAIL_CONNECT);
	finish(&loop, &pool);
}

static void count_room(void *arg)
{
	(*(int *)arg)++;
}

static void test_unix_cancel_backpressure(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct spam_pool *pool = spam_pool_create(&loop);
	struct spam_client_settings set = settings();
	set.scan.socket = srv.sock_path;
	set.idle_timeout_ms = 100;
	script(NULL, 0);
	struct result r = one(pool, &set, SPAM_REQ_CHECK, "over a UNIX socket\r\n", true);
	assert_int_equal(r.reply.fail, SPAM_FAIL_NONE);
	assert_int_equal(spam_pool_idle(pool), 1);
	/* the idle timeout closes it */
	for (int i = 0; i < 100 && spam_pool_idle(pool) > 0; i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(spam_pool_idle(pool), 0);

	/* cancelled in flight: done never runs, nothing leaks */
	static const struct step silent[] = { { STEP_SILENT, 0, NULL, false } };
	script(silent, 1);
	struct spam_req_params p = { .kind = SPAM_REQ_CHECK, .set = &set, .body_size = 3 };
	struct spam_req *req = spam_req_start(pool, &p, on_done, &r);
	r.done = false;
	spam_req_write(req, "abc", 3);
	spam_req_end(req);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	spam_req_cancel(&req);
	assert_null(req);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_false(r.done);

	/* a large body: the request takes at most its buffer, then on_room */
	script(NULL, 0);
	size_t big = 3 * SPAM_REQ_BUFFER;
	char *body = malloc(big);
	memset(body, 'x', big);
	p.body_size = (int64_t)big;
	r.done = false;
	req = spam_req_start(pool, &p, on_done, &r);
	int rooms = 0;
	size_t off = 0;
	while (off < big) {
		size_t n = spam_req_write(req, body + off, big - off);
		assert_true(n <= SPAM_REQ_BUFFER);
		off += n;
		if (n == 0) {
			int before = rooms;
			spam_req_on_room(req, count_room, &rooms);
			while (rooms == before)
				uv_run(&loop, UV_RUN_ONCE);
		}
	}
	spam_req_end(req);
	run_until(&loop, &r.done);
	assert_int_equal(r.reply.fail, SPAM_FAIL_NONE);
	assert_true(rooms >= 1);
	pthread_mutex_lock(&srv.lock);
	assert_int_equal(srv.seen_len[srv.n_seen - 1], big);
	pthread_mutex_unlock(&srv.lock);
	free(body);
	finish(&loop, &pool);
}

/* ---- the learner ---- */

static struct loft_config *learn_config(const char *extra)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "[server]\nstate_dir = /tmp/x\n[spam]\nrspamd_port = %d\ncontroller_port = %d\n"
		 "password = pw\nlearn = yes\nlearn_backoff = 50ms\ntimeout = 1s\n%s",
		 srv.port, srv.port, extra);
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load_string("t.conf", text, &cfg, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	return cfg;
}

static int message_fd(const char *text)
{
	char path[] = "/tmp/loft-spam-msg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void wait_learned(struct spam_learner *l)
{
	for (int i = 0; i < 500 && spam_learn_pending(l) > 0; i++)
		usleep(10000);
	assert_int_equal(spam_learn_pending(l), 0);
}

static void test_learner(void **state)
{
	(void)state;
	struct loft_config *cfg = learn_config("learn_retries = 2\nlearn_per_user = yes\n");
	struct spam_learner *l = NULL;
	char *err = NULL;
	assert_int_equal(spam_learner_start(cfg, &l, &err), 0);
	struct spam_stats before, after;
	spam_stats_get(&before);
	static const struct step steps[] = {
		{ STEP_REPLY, 503, "{\"error\":\"busy\"}", true },
		{ STEP_REPLY, 503, "{\"error\":\"busy\"}", true },
		{ STEP_REPLY, 200, "{\"success\":true}", true },
		{ STEP_REPLY, 404, "{\"error\":\"<x> has been already learned as ham, ignore it\"}",
		  true },
		{ STEP_REPLY, 403, "{\"error\":\"forbidden\"}", true },
		{ STEP_REPLY, 503, "{\"error\":\"busy\"}", true },
		{ STEP_REPLY, 503, "{\"error\":\"busy\"}", true },
		{ STEP_REPLY, 503, "{\"error\":\"busy\"}", true },
	};
	script(steps, 8);
	int s0 = seen();
	/* two retries, then learned */
	assert_int_equal(spam_learn_submit(l, "alice", SPAM_LEARN_SPAM,
					   message_fd("Subject: spam\r\n\r\nbuy\r\n")), 0);
	wait_learned(l);
	/* already learned: done; forbidden: failed, no retry */
	assert_int_equal(spam_learn_moved(l, "bob", "Junk", STORE_SPECIAL_JUNK, "INBOX", 0,
					  message_fd("Subject: ham\r\n\r\nhi\r\n")), 0);
	assert_int_equal(spam_learn_submit(l, "bob", SPAM_LEARN_HAM, message_fd("x\r\n")), 0);
	wait_learned(l);
	/* out of retries */
	assert_int_equal(spam_learn_submit(l, "carol", SPAM_LEARN_SPAM, message_fd("y\r\n")), 0);
	wait_learned(l);
	/* nothing to learn: Junk -> Trash */
	assert_int_equal(spam_learn_moved(l, "bob", "Junk", STORE_SPECIAL_JUNK, "Trash",
					  STORE_SPECIAL_TRASH, message_fd("z\r\n")), 0);
	spam_stats_get(&after);
	assert_int_equal(after.learn_queued - before.learn_queued, 4);
	assert_int_equal(after.learn_done - before.learn_done, 2);
	assert_int_equal(after.learn_retried - before.learn_retried, 4);
	assert_int_equal(after.learn_failed - before.learn_failed, 2);
	assert_int_equal(seen() - s0, 8);
	pthread_mutex_lock(&srv.lock);
	assert_non_null(strstr(srv.seen_head[s0], "POST /learnspam "));
	assert_non_null(strstr(srv.seen_head[s0], "\r\nDeliver-To: alice\r\n"));
	assert_non_null(strstr(srv.seen_head[s0], "\r\nPassword: pw\r\n"));
	assert_non_null(strstr(srv.seen_head[s0 + 3], "POST /learnham "));
	assert_memory_equal(srv.seen_body[s0 + 2], "Subject: spam\r\n\r\nbuy\r\n", 22);
	pthread_mutex_unlock(&srv.lock);
	spam_learner_stop(&l);
	assert_null(l);
	conf_free(cfg);
}

static void test_learner_queue_bound(void **state)
{
	(void)state;
	struct loft_config *cfg = learn_config("learn_queue = 2\n");
	struct spam_learner *l = NULL;
	char *err = NULL;
	assert_int_equal(spam_learner_start(cfg, &l, &err), 0);
	static const struct step silent[] = { { STEP_SILENT, 0, NULL, false } };
	script(silent, 1);
	struct spam_stats before, after;
	spam_stats_get(&before);
	assert_int_equal(spam_learn_submit(l, "a", SPAM_LEARN_SPAM, message_fd("1\r\n")), 0);
	assert_int_equal(spam_learn_submit(l, "a", SPAM_LEARN_SPAM, message_fd("2\r\n")), 0);
	assert_int_equal(spam_learn_submit(l, "a", SPAM_LEARN_SPAM, message_fd("3\r\n")),
			 LOFT_ELIMIT);
	assert_int_equal(spam_learn_submit(l, "a", SPAM_LEARN_NONE, message_fd("4\r\n")),
			 LOFT_EINVAL);
	/* stopping with one in flight and one queued drops both */
	spam_learner_stop(&l);
	spam_stats_get(&after);
	assert_int_equal(after.learn_dropped - before.learn_dropped, 3);
	assert_int_equal(spam_learn_moved(NULL, "a", "INBOX", 0, "Junk", STORE_SPECIAL_JUNK,
					  message_fd("5\r\n")), 0);
	conf_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_and_keepalive),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_unix_cancel_backpressure),
		cmocka_unit_test(test_learner),
		cmocka_unit_test(test_learner_queue_bound),
	};
	signal(SIGPIPE, SIG_IGN);   /* as loft does: a closed peer is an error */
	return cmocka_run_group_tests_name("spam-client", tests, srv_setup, srv_teardown);
}
