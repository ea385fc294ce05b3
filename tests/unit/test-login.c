/* Tests of the login pipeline every front end uses (server/engine/login.c)
 * on a real net_server, auth service, store and pools, with a line protocol
 * of the test's own (the way POP3 USER/PASS and SMTP AUTH will drive it):
 * a password login opens the user's store and applies the quota of the
 * user's fields; a failure is answered after the throttle's delay while the
 * loop serves others; SASL challenges and responses go through the
 * protocol's callbacks, with cancel and refusals at start; skip_store (SMTP
 * AUTH) opens nothing; a client leaving mid-exchange or mid-delay frees
 * everything (ASan checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "conf/config.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/engine/login.h"
#include "server/net/loop.h"
#include "server/services.h"
#include "storage/store.h"
#include "tests/unit/auth-test-util.h"
#include "loopback.h"

static atomic_int destroyed;

struct lsess {
	struct sess_core core;
	struct sess_login *login;     /* a SASL exchange waiting for a line */
	bool busy, skip;
	struct sess_login_ops ops;
};

static void l_destroy(struct sess_core *core)
{
	struct lsess *s = (struct lsess *)core;
	sess_login_free(&s->login);
	free(s);
	atomic_fetch_add(&destroyed, 1);
}

static void *l_create(struct conn *c)
{
	struct lsess *s = xcalloc(1, sizeof(*s));
	sess_core_init(&s->core, c, l_destroy);
	conn_write_str(c, "HELLO\r\n");
	return s;
}

static void on_challenge(void *ctx, const char *challenge)
{
	struct lsess *s = ctx;
	conn_printf(s->core.conn, "+ %s\r\n", challenge);
	s->busy = false;
	conn_resume_input(s->core.conn);   /* the next line is the response */
}

static void on_done(void *ctx, struct sess_login_result *r)
{
	struct lsess *s = ctx;
	s->login = NULL;
	s->busy = false;
	if (!sess_alive(&s->core))
		return;
	if (r->result == AUTH_OK) {
		conn_printf(s->core.conn, "OK user=%s mech=%s store=%d device=%s\r\n",
			    r->login->user, r->mech, r->store_user != NULL,
			    r->login->device[0] ? r->login->device : "-");
	} else {
		conn_printf(s->core.conn, "NO %s\r\n", auth_strerror(r->result));
	}
	conn_resume_input(s->core.conn);
}

static void l_input(void *ctx)
{
	struct lsess *s = ctx;
	struct conn *c = s->core.conn;
	while (!conn_is_closing(c) && !s->busy) {
		struct reader_line line;
		if (conn_read_line(c, &line) != READER_LINE)
			return;
		char buf[512];
		snprintf(buf, sizeof(buf), "%.*s", (int)line.len, line.data);
		if (s->login != NULL) {
			/* a raw SASL response */
			s->busy = true;
			conn_pause_input(c);
			sess_login_step(s->login, buf, strlen(buf));
			continue;
		}
		char a[128], b[128], m[64];
		s->ops = (struct sess_login_ops){ .challenge = on_challenge, .done = on_done };
		if (sscanf(buf, "PASS %127s %127s", a, b) == 2) {
			s->busy = true;
			conn_pause_input(c);
			sess_login_password(&s->core, USERDB_SERVICE_POP3, a, b, &s->ops, s);
		} else if (sscanf(buf, "SASL %63s", m) == 1 || sscanf(buf, "SKIP %63s", m) == 1) {
			s->ops.skip_store = buf[1] == 'K';
			int r = sess_login_sasl_start(&s->core, USERDB_SERVICE_SMTP, m, &s->ops, s,
						      &s->login);
			if (r != 0) {
				conn_printf(c, "ERR %s\r\n", auth_strerror(r));
				continue;
			}
			s->busy = true;
			conn_pause_input(c);
			const char *ir = strchr(buf + 5, ' ');
			sess_login_step(s->login, ir != NULL ? ir + 1 : NULL,
					ir != NULL ? strlen(ir + 1) : 0);
		} else if (strcmp(buf, "PING") == 0) {
			conn_write_str(c, "PONG\r\n");
		} else {
			conn_write_str(c, "?\r\n");
		}
	}
}

static void l_shutdown(void *ctx, bool force)
{
	struct lsess *s = ctx;
	(void)force;
	conn_write_str(s->core.conn, "BYE\r\n");
	conn_close(s->core.conn, "shutdown");
}

static void l_free(void *ctx)
{
	struct lsess *s = ctx;
	sess_core_release(&s->core);
}

static void l_refuse(struct conn *c, enum conn_refuse_reason why)
{
	(void)why;
	conn_write_str(c, "REFUSED\r\n");
}

static const struct conn_proto login_proto = {
	.name = "test",
	.session_create = l_create,
	.session_input = l_input,
	.session_drained = l_input,
	.session_shutdown = l_shutdown,
	.session_free = l_free,
	.refuse = l_refuse,
};

/* ---- fixture ---- */

struct fixture {
	struct tdir *t;
	char mail[64];
	struct net_server *srv;
	struct loft_services svc;
	uint16_t port;
};

static struct fixture *start(unsigned delay_ms)
{
	log_set_level(LOG_LEVEL_WARN);
	atomic_store(&destroyed, 0);
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->t = tdir_new();
	write_file(f->t->users,
		   "alice:{PLAIN}alicepw::::::quota_bytes=12345\n"
		   "bob:{PLAIN}bobpw\n"
		   "smtponly:{PLAIN}pw::::::protocols=smtp\n");
	struct auth_settings as;
	test_settings(f->t, &as);
	as.plaintext = AUTH_PLAINTEXT_ALWAYS;
	as.throttle.delay_base_ms = delay_ms;
	as.throttle.delay_max_ms = delay_ms * 4;
	f->svc.auth = test_auth(f->t, &as);
	strcpy(f->mail, "/tmp/loft-test-login-XXXXXX");
	assert_non_null(mkdtemp(f->mail));
	struct store_settings ss = { .mail_dir = f->mail };
	assert_int_equal(store_create(&ss, &f->svc.store), STORE_OK);
	f->svc.hash_pool = work_pool_create("hash", 2);
	f->svc.storage_pool = work_pool_create("storage", 4);
	char *text = xasprintf("[server]\nworkers = 2\n[listener t]\nprotocol = pop3\n"
			       "address = 127.0.0.1\nport = %u\ntls = none\n", lb_free_port());
	struct loft_config *cfg;
	char *err = NULL;
	if (conf_load_string("test-login.conf", text, &cfg, &err) != 0)
		fail_msg("config: %s", err);
	free(text);
	struct net_snapshot *snap = net_snapshot_create(cfg, &err);
	assert_non_null(snap);
	net_proto_table protos = { &login_proto, &login_proto, &login_proto, &login_proto };
	if (net_server_create(snap, protos, &f->srv, &err) != 0)
		fail_msg("create: %s", err);
	net_snapshot_unref(&snap);
	f->svc.net = f->srv;
	net_server_set_services(f->srv, &f->svc);
	assert_int_equal(net_server_start(f->srv, &err), 0);
	f->port = net_server_port(f->srv, 0);
	return f;
}

static void stop(struct fixture *f)
{
	net_server_stop(f->srv);
	net_server_join(&f->srv);
	work_pool_destroy(&f->svc.hash_pool);
	work_pool_destroy(&f->svc.storage_pool);
	auth_free(&f->svc.auth);
	store_destroy(&f->svc.store);
	char *cmd = xasprintf("rm -rf '%s'", f->mail);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	tdir_free(f->t);
	free(f);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void wait_destroyed(int n)
{
	for (int i = 0; i < 300 && atomic_load(&destroyed) < n; i++)
		sleep_ms(10);
	assert_int_equal(atomic_load(&destroyed), n);
}

/* ---- tests ---- */

static void test_password_login(void **state)
{
	(void)state;
	struct fixture *f = start(0);
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	lb_send(fd, "PASS Alice@example.org alicepw\r\n");
	lb_expect(fd, "OK user=alice mech=LOGIN store=1 device=-\r\n");
	/* the quota_bytes field is the store's per-user quota now */
	struct store_user *su;
	uint64_t qb = 0, qm = 0;
	assert_int_equal(store_user_open(f->svc.store, "alice", &su), STORE_OK);
	assert_int_equal(store_user_get_quota(su, &qb, &qm), STORE_OK);
	assert_int_equal(qb, 12345);
	assert_int_equal(qm, 0);
	store_user_close(&su);
	lb_send(fd, "PASS bob wrong\r\nPASS nobody x\r\nPASS smtponly pw\r\nPASS bob bobpw\r\n");
	lb_expect(fd, "NO EFAIL\r\nNO EFAIL\r\nNO EDISABLED\r\n"
		  "OK user=bob mech=LOGIN store=1 device=-\r\n");
	close(fd);
	wait_destroyed(1);
	stop(f);
}

/* A failure waits its delay on a timer; the loop serves others. */
static void test_failure_delay(void **state)
{
	(void)state;
	struct fixture *f = start(400);
	int a = lb_connect(f->port), b = lb_connect(f->port);
	lb_expect(a, "HELLO\r\n");
	lb_expect(b, "HELLO\r\n");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	lb_send(a, "PASS bob wrong\r\nPING\r\n");
	sleep_ms(50);
	lb_send(b, "PING\r\n");
	lb_expect(b, "PONG\r\n");
	assert_true(ms_since(&t0) < 350);
	lb_expect(a, "NO EFAIL\r\nPONG\r\n");
	assert_true(ms_since(&t0) >= 390);
	/* a client that leaves during the delay: cleaned up (no leak) */
	lb_send(a, "PASS bob wrong2\r\n");
	close(a);
	close(b);
	wait_destroyed(2);
	stop(f);
}

static char *b64(const void *data, size_t len)
{
	return base64_encode_str(data, len);
}

static void test_sasl_exchanges(void **state)
{
	(void)state;
	struct fixture *f = start(0);
	int fd = lb_connect(f->port);
	lb_expect(fd, "HELLO\r\n");
	/* PLAIN without an initial response: one empty challenge */
	lb_send(fd, "SASL PLAIN\r\n");
	lb_expect(fd, "+ \r\n");
	char *resp = b64("\0bob\0bobpw", 10);
	char *line = xasprintf("%s\r\n", resp);
	lb_send(fd, line);
	lb_expect(fd, "OK user=bob mech=PLAIN store=1 device=-\r\n");
	/* skip_store: authenticated, nothing opened */
	free(line);
	line = xasprintf("SKIP PLAIN %s\r\n", resp);
	lb_send(fd, line);
	lb_expect(fd, "OK user=bob mech=PLAIN store=0 device=-\r\n");
	/* LOGIN mechanism, cancelled at the second challenge */
	lb_send(fd, "SASL LOGIN\r\n");
	lb_expect(fd, "+ VXNlcm5hbWU6\r\n");
	lb_send(fd, "Ym9i\r\n");
	lb_expect(fd, "+ UGFzc3dvcmQ6\r\n");
	lb_send(fd, "*\r\n");
	lb_expect(fd, "NO ECANCEL\r\n");
	/* refused at start: nothing in flight, the session goes on */
	lb_send(fd, "SASL DIGEST-MD5\r\nSASL SCRAM-SHA-256-PLUS\r\nPING\r\n");
	lb_expect(fd, "ERR ENOMECH\r\nERR ENOMECH\r\nPONG\r\n");
	/* protocols=smtp: SMTP AUTH may, POP3 (PASS above) may not */
	char *sm = b64("\0smtponly\0pw", 12);
	free(line);
	line = xasprintf("SKIP PLAIN %s\r\n", sm);
	lb_send(fd, line);
	lb_expect(fd, "OK user=smtponly mech=PLAIN store=0 device=-\r\n");
	/* a client that leaves while its exchange waits for a response */
	lb_send(fd, "SASL LOGIN\r\n");
	lb_expect(fd, "+ VXNlcm5hbWU6\r\n");
	close(fd);
	wait_destroyed(1);
	free(sm);
	free(line);
	free(resp);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_login),
		cmocka_unit_test(test_failure_delay),
		cmocka_unit_test(test_sasl_exchanges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
