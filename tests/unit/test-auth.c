/* Unit tests for auth/auth.c, apppass.c and logins.c: the password login
 * (names, local domains, app passwords with their device, disabled accounts,
 * services, plaintext policy, reload), user enumeration by timing (an
 * unknown user costs what a typical user costs, as a ratio), app-password
 * files, the login state file and its flusher, new-password forms, and the
 * mapping of the [auth] configuration onto auth's settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <time.h>

#include "auth/apppass.h"
#include "auth/auth.h"
#include "auth/logins.h"
#include "conf/config.h"
#include "conf/settings.h"
#include "server/auth-config.h"
#include "tests/unit/auth-test-util.h"

static const struct auth_conn tls_conn = {
	.service = USERDB_SERVICE_IMAP, .remote_addr = "192.0.2.20", .tls = true,
};

static int setup(void **state)
{
	*state = tdir_new();
	return 0;
}

static int teardown(void **state)
{
	tdir_free(*state);
	return 0;
}

static int login(struct auth *a, const struct auth_conn *c, const char *user, const char *pw,
		 struct auth_login *l)
{
	auth_password_login(a, c, user, pw, l);
	return l->result;
}

static void test_create_errors(void **state)
{
	struct tdir *t = *state;
	struct auth_settings s;
	test_settings(t, &s);
	struct auth *a = NULL;
	char *err = NULL;
	s.users_file = NULL;
	assert_int_equal(auth_create(&s, &a, &err), AUTH_ETEMP);
	assert_null(a);
	x_free(&err);
	s.users_file = t->dir;   /* a directory */
	assert_int_equal(auth_create(&s, &a, &err), AUTH_ETEMP);
	assert_non_null(err);
	x_free(&err);
	/* a missing users file is an empty database */
	test_settings(t, &s);
	a = test_auth(t, &s);
	assert_int_equal(userdb_count(auth_userdb(a)), 0);
	assert_non_null(auth_apppass(a));
	assert_non_null(auth_logins(a));
	auth_free(&a);
	auth_free(&a);
	/* the secret was made once, 0600, and is kept */
	struct stat st;
	assert_int_equal(stat(t->secret, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_string_equal(auth_strerror(AUTH_ETHROTTLED), "ETHROTTLED");
	assert_string_equal(auth_strerror(99), "EUNKNOWN");
}

static void test_password_login(void **state)
{
	struct tdir *t = *state;
	write_file(t->users, "alice:{PLAIN}alicepw::::::quota_messages=42 pop3_delete=hide\n"
			     "bob@example.org:{PLAIN}bobpw\n"
			     "off:{PLAIN}offpw::::::nologin reason=gone\n"
			     "popper:{PLAIN}poppw::::::protocols=pop3\n");
	struct auth_settings s;
	test_settings(t, &s);
	struct auth *a = test_auth(t, &s);
	struct auth_login l;
	assert_int_equal(login(a, &tls_conn, "alice", "alicepw", &l), AUTH_OK);
	assert_string_equal(l.user, "alice");
	assert_string_equal(l.device, "");
	assert_int_equal(l.fields.quota_messages, 42);
	assert_int_equal(l.fields.pop3_delete, USERDB_POP3_DELETE_HIDE);
	assert_int_equal(login(a, &tls_conn, "ALICE@Example.NET", "alicepw", &l), AUTH_OK);
	assert_string_equal(l.user, "alice");
	assert_int_equal(login(a, &tls_conn, "alice@example.com", "alicepw", &l), AUTH_EFAIL);
	assert_string_equal(l.user, "alice@example.com");
	assert_int_equal(login(a, &tls_conn, "alice", "AlicePW", &l), AUTH_EFAIL);
	assert_int_equal(login(a, &tls_conn, "alice", NULL, &l), AUTH_EFAIL);
	assert_int_equal(login(a, &tls_conn, NULL, "x", &l), AUTH_EFAIL);
	assert_int_equal(login(a, &tls_conn, "../etc", "x", &l), AUTH_EFAIL);
	assert_string_equal(l.user, "");
	/* a user whose name has the domain in the file */
	assert_int_equal(login(a, &tls_conn, "Bob@Example.org", "bobpw", &l), AUTH_OK);
	assert_string_equal(l.user, "bob@example.org");
	assert_int_equal(login(a, &tls_conn, "off", "offpw", &l), AUTH_EDISABLED);
	assert_string_equal(l.user, "off");
	assert_int_equal(login(a, &tls_conn, "off", "wrong", &l), AUTH_EFAIL);
	assert_int_equal(login(a, &tls_conn, "popper", "poppw", &l), AUTH_EDISABLED);
	struct auth_conn pop = tls_conn;
	pop.service = USERDB_SERVICE_POP3;
	assert_int_equal(login(a, &pop, "popper", "poppw", &l), AUTH_OK);
	/* the file is re-read when it changes */
	write_file(t->users, "carol:{PLAIN}c\n");
	assert_int_equal(login(a, &tls_conn, "carol", "c", &l), AUTH_OK);
	assert_int_equal(login(a, &tls_conn, "alice", "alicepw", &l), AUTH_EFAIL);
	auth_free(&a);
}

static void test_app_passwords(void **state)
{
	struct tdir *t = *state;
	write_file(t->users, "alice:{PLAIN}alicepw\nbob:{PLAIN}bobpw\n");
	struct auth_settings s;
	test_settings(t, &s);
	struct auth *a = test_auth(t, &s);
	char *phone = NULL, *laptop = NULL, *err = NULL;
	assert_int_equal(apppass_file_add(t->apppass, "Alice", "phone", 1700000000, &phone, &err), 0);
	assert_int_equal(apppass_file_add(t->apppass, "alice", "laptop", 1700000001, &laptop, &err),
			 0);
	assert_int_equal(strlen(phone), 23);
	assert_int_equal(strspn(phone, "abcdefghijklmnopqrstuvwxyz234567-"), 23);
	assert_string_not_equal(phone, laptop);
	struct stat st;
	assert_int_equal(stat(t->apppass, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct auth_login l;
	assert_int_equal(login(a, &tls_conn, "alice", phone, &l), AUTH_OK);
	assert_string_equal(l.device, "phone");
	assert_int_equal(login(a, &tls_conn, "alice", laptop, &l), AUTH_OK);
	assert_string_equal(l.device, "laptop");
	/* typed without dashes, in upper case, with spaces */
	char typed[40];
	size_t n = 0;
	for (const char *p = phone; *p != '\0'; p++)
		if (*p != '-')
			typed[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	typed[n] = '\0';
	assert_int_equal(login(a, &tls_conn, "alice", typed, &l), AUTH_OK);
	assert_string_equal(l.device, "phone");
	typed[5] = ' ';
	assert_int_equal(login(a, &tls_conn, "alice", typed, &l), AUTH_EFAIL); /* one char lost */
	/* someone else's app password does not work */
	assert_int_equal(login(a, &tls_conn, "bob", phone, &l), AUTH_EFAIL);
	/* the user's own password still works, without a device */
	assert_int_equal(login(a, &tls_conn, "alice", "alicepw", &l), AUTH_OK);
	assert_string_equal(l.device, "");

	struct apppass_info *list;
	assert_int_equal(apppass_list(auth_apppass(a), "alice", &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].device, "phone");
	assert_int_equal(list[0].created, 1700000000);
	free(list);

	/* errors */
	char *pw = NULL;
	assert_int_equal(apppass_file_add(t->apppass, "alice", "phone", 1, &pw, &err), USERDB_EEXIST);
	assert_null(pw);
	x_free(&err);
	assert_int_equal(apppass_file_add(t->apppass, "alice", "-bad", 1, &pw, &err), USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(apppass_file_add(t->apppass, "alice", "a:b", 1, &pw, &err), USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(apppass_file_add(t->apppass, "../x", "d", 1, &pw, &err), USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(apppass_file_revoke(t->apppass, "alice", "tablet", &err), USERDB_ENOTFOUND);
	x_free(&err);
	for (int i = 0; i < APPPASS_PER_USER_MAX - 2; i++) {
		char dev[16];
		snprintf(dev, sizeof(dev), "d%d", i);
		assert_int_equal(apppass_file_add(t->apppass, "alice", dev, 1, &pw, NULL), 0);
		free(pw);
	}
	assert_int_equal(apppass_file_add(t->apppass, "alice", "onemore", 1, &pw, &err),
			 USERDB_EINVAL);
	x_free(&err);
	assert_true(apppass_device_valid("Pixel_8.work-1"));
	assert_false(apppass_device_valid(""));
	assert_false(apppass_device_valid(".x"));
	assert_false(apppass_device_valid("x y"));
	assert_false(apppass_device_valid("123456789012345678901234567890123"));

	/* revoking one device leaves the other; deleting the user removes all */
	assert_int_equal(apppass_file_revoke(t->apppass, "ALICE", "phone", &err), 0);
	assert_int_equal(login(a, &tls_conn, "alice", phone, &l), AUTH_EFAIL);
	assert_int_equal(login(a, &tls_conn, "alice", laptop, &l), AUTH_OK);
	assert_int_equal(apppass_file_remove_user(t->apppass, "alice", &err), 0);
	assert_int_equal(login(a, &tls_conn, "alice", laptop, &l), AUTH_EFAIL);
	assert_int_equal(apppass_file_remove_user(t->apppass, "alice", &err), 0);
	/* malformed lines are skipped, the rest works */
	char *good = NULL;
	assert_int_equal(apppass_file_add(t->apppass, "bob", "tab", 5, &good, &err), 0);
	FILE *fp = fopen(t->apppass, "a");
	fputs("garbage\nbob:x:notanumber:{SSHA256}abc\nbob:y:1:{NOSUCH}x\n", fp);
	fclose(fp);
	assert_int_equal(login(a, &tls_conn, "bob", good, &l), AUTH_OK);
	assert_string_equal(l.device, "tab");
	x_wipe(good, strlen(good));
	free(good);
	free(phone);
	free(laptop);
	auth_free(&a);
}

static void test_login_state(void **state)
{
	struct tdir *t = *state;
	write_file(t->users, "alice:{PLAIN}alicepw\n");
	struct auth_settings s;
	test_settings(t, &s);
	s.login_state_flush_ms = 50;
	struct auth *a = test_auth(t, &s);
	char *phone = NULL, *err = NULL;
	assert_int_equal(apppass_file_add(t->apppass, "alice", "phone", 1, &phone, &err), 0);
	struct auth_login l;
	assert_int_equal(login(a, &tls_conn, "alice", "alicepw", &l), AUTH_OK);
	struct auth_conn pop = { .service = USERDB_SERVICE_POP3, .remote_addr = "2001:db8::7",
				 .tls = true };
	assert_int_equal(login(a, &pop, "alice", phone, &l), AUTH_OK);
	assert_int_equal(login(a, &pop, "alice", "bad", &l), AUTH_EFAIL);   /* not recorded */
	/* the flusher writes within its interval, without a call */
	struct stat st;
	for (int i = 0; i < 100 && stat(t->logins, &st) != 0; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(stat(t->logins, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	auth_free(&a);
	/* read back after a restart */
	struct logins *lg = NULL;
	assert_int_equal(logins_open(t->logins, &lg, &err), 0);
	struct logins_entry *list;
	size_t n;
	logins_get(lg, "alice", &list, &n);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].kind, "imap");
	assert_string_equal(list[0].addr, "192.0.2.20");
	assert_string_equal(list[1].kind, "pop3");
	assert_string_equal(list[1].addr, "2001:db8::7");
	assert_string_equal(list[2].kind, "app:phone");
	int64_t now = (int64_t)time(NULL);
	assert_true(list[0].time <= now && list[0].time > now - 60);
	free(list);
	/* a later login replaces the earlier one of the same kind */
	logins_record(lg, "alice", "imap", "198.51.100.1", 1234);
	logins_record(lg, "bob", "smtp", "bad\taddr\n", 99);
	assert_int_equal(logins_flush(lg, &err), 0);
	logins_close(&lg);
	char *text = xcalloc(1, 4096);
	FILE *fp = fopen(t->logins, "r");
	assert_true(fread(text, 1, 4095, fp) > 0);
	fclose(fp);
	assert_non_null(strstr(text, "alice\timap\t1234\t198.51.100.1\n"));
	assert_non_null(strstr(text, "bob\tsmtp\t99\tbad?addr?\n"));
	free(text);
	/* malformed lines are skipped */
	fp = fopen(t->logins, "a");
	fputs("junk\n../x\timap\t1\t-\nalice\timap\tnever\t-\n", fp);
	fclose(fp);
	assert_int_equal(logins_open(t->logins, &lg, &err), 0);
	logins_get(lg, "alice", &list, &n);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].time, 1234);
	free(list);
	/* many users: the index keeps up */
	for (int i = 0; i < 5000; i++) {
		char u[32];
		snprintf(u, sizeof(u), "user%d", i);
		logins_record(lg, u, "imap", "192.0.2.1", i);
		logins_record(lg, u, "imap", "192.0.2.2", i + 1);
	}
	logins_get(lg, "user4999", &list, &n);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].time, 5000);
	assert_string_equal(list[0].addr, "192.0.2.2");
	free(list);
	logins_close(&lg);
	/* memory-only state */
	assert_int_equal(logins_open(NULL, &lg, &err), 0);
	logins_record(lg, "x", "imap", "-", 1);
	assert_int_equal(logins_flush(lg, &err), 0);
	logins_close(&lg);
	x_wipe(phone, strlen(phone));
	free(phone);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wrong-password logins as a known and as an unknown user, interleaved so
 * machine load hits both alike, in batches; returns the median over the
 * batches of (unknown time / known time), which one preempted batch cannot
 * move. */
static double unknown_known_ratio(struct auth *a, int batches, int per_batch)
{
	double ratios[64];
	struct auth_login l;
	assert_true(batches <= 64);
	for (int b = 0; b < batches; b++) {
		double known = 0, unknown = 0;
		for (int i = 0; i < per_batch; i++) {
			double t0 = now_s();
			auth_password_login(a, &tls_conn, "user1", "wrong password", &l);
			double t1 = now_s();
			auth_password_login(a, &tls_conn, "nosuchuser", "wrong password", &l);
			double t2 = now_s();
			assert_int_equal(l.result, AUTH_EFAIL);
			known += t1 - t0;
			unknown += t2 - t1;
		}
		ratios[b] = unknown / known;
	}
	for (int i = 1; i < batches; i++)          /* insertion sort */
		for (int k = i; k > 0 && ratios[k] < ratios[k - 1]; k--) {
			double x = ratios[k];
			ratios[k] = ratios[k - 1];
			ratios[k - 1] = x;
		}
	return ratios[batches / 2];
}

/* User enumeration by timing: the unknown user's dummy check costs what the
 * most common hash in the file costs. The file mixes schemes the way a
 * migrated Dovecot file does; the case was a 50,000-round dummy
 * against 5,000-round users (10x apart). Asserted as a ratio, never as a
 * time. */
static void test_unknown_user_timing(void **state)
{
	struct tdir *t = *state;
	FILE *fp = fopen(t->users, "w");
	for (int i = 0; i < 6; i++) {
		char *h = NULL;
		char pw[16];
		snprintf(pw, sizeof(pw), "pw%d", i);
		assert_int_equal(password_hash_rounds(pw, 5000, &h), 0);   /* doveadm's default */
		fprintf(fp, "user%d:%s\n", i, h);
		free(h);
	}
	/* a minority of other schemes */
	fprintf(fp, "fast:{SSHA}KOKVhYxuRFknkNwtxI8caObG8Ka2fdu2\n");
	fprintf(fp, "slow:{SHA512-CRYPT}$6$rounds=50000$ro2zL9PrxwlPq7U3$nTHvtiIij2JfMihHP7T3ospdmD"
		    "N/VW11s3zqY2llFRdkbQUR99G8xTgSfZTo5A69eP8rAWvIlrcn984GQLdPj1\n");
	fclose(fp);
	struct auth_settings s;
	test_settings(t, &s);
	struct auth *a = test_auth(t, &s);
	char cls[64];
	userdb_dummy_class(auth_userdb(a), cls, sizeof(cls));
	assert_string_equal(cls, "SHA512-CRYPT rounds=5000");
	(void)unknown_known_ratio(a, 1, 2);   /* warm up: the dummy is made once */
	double r = unknown_known_ratio(a, 9, 5);
	print_message("ratio slow %.3f\n", r);
	if (r < 0.5 || r > 2.0)
		fail_msg("unknown/known login time ratio %.2f, want 0.5..2.0", r);
	auth_free(&a);

	/* mostly fast salted digests: an unknown user must be as fast */
	fp = fopen(t->users, "w");
	fprintf(fp, "user1:{SSHA256}H4u53pUId0AiofEnNVf+vro5lFt6gphHAanyfYWDtndLeQph\n"
		    "user2:{SSHA256}V9ZsxDkFFWP8xiH66aOWbR5+QsNqjKtJUpudbQ5unX0f2Imw\n"
		    "slow:{SHA512-CRYPT}$6$rounds=50000$ro2zL9PrxwlPq7U3$nTHvtiIij2JfMihHP7T3ospd"
		    "mDN/VW11s3zqY2llFRdkbQUR99G8xTgSfZTo5A69eP8rAWvIlrcn984GQLdPj1\n");
	fclose(fp);
	a = test_auth(t, &s);
	userdb_dummy_class(auth_userdb(a), cls, sizeof(cls));
	assert_string_equal(cls, "SSHA256");
	(void)unknown_known_ratio(a, 1, 10);
	r = unknown_known_ratio(a, 21, 100);
	print_message("ratio fast %.3f\n", r);
	if (r < 0.5 || r > 2.0)
		fail_msg("unknown/known login time ratio %.2f with fast hashes, want 0.5..2.0", r);
	auth_free(&a);
}

static void test_hash_password_forms(void **state)
{
	struct tdir *t = *state;
	struct auth_settings s;
	test_settings(t, &s);
	struct userdb_credentials c;
	assert_int_equal(auth_hash_password(&s, "pw", &c), AUTH_OK);
	assert_int_equal(strncmp(c.password, "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$", 39), 0);
	assert_null(c.scram_sha256);
	assert_null(c.scram_sha1);
	assert_null(c.cram_md5);
	auth_credentials_free(&c);
	s.store_scram_sha256 = s.store_scram_sha1 = s.store_cram_md5 = true;
	s.scram_iterations = 4100;
	assert_int_equal(auth_hash_password(&s, "pw", &c), AUTH_OK);
	assert_int_equal(strncmp(c.scram_sha256, "{SCRAM-SHA-256}4100,", 20), 0);
	assert_int_equal(strncmp(c.scram_sha1, "{SCRAM-SHA-1}4100,", 18), 0);
	assert_int_equal(password_verify("pw", c.scram_sha1), PASSWORD_OK);
	assert_int_equal(password_verify("pw", c.cram_md5), PASSWORD_OK);
	auth_credentials_free(&c);
	assert_null(c.password);
	s.hash.argon2_memory_kib = 1;   /* refused cost */
	assert_int_equal(auth_hash_password(&s, "pw", &c), AUTH_ETEMP);
	assert_null(c.password);
}

/* The configuration's mechanism words are auth's names, and every [auth]
 * setting reaches auth_settings. */
static void test_config_mapping(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct conf_enum_name *e = conf_mechanism_names; e->name != NULL; e++, n++) {
		assert_int_equal(auth_mech_find(e->name), e->value);
		assert_string_equal(auth_mech_name((enum auth_mech)e->value), e->name);
	}
	assert_int_equal(n, AUTH_MECH_COUNT);
	struct loft_config *cfg = NULL;
	char *err = NULL;
	assert_int_equal(conf_load_string("/t/loft.conf",
		"[server]\nstate_dir = /srv\nlocal_domains = a.example b.example\n"
		"plaintext_auth = never\nhostname = mx.a.example\n"
		"[auth]\nmechanisms = SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN\n"
		"password_scheme = SHA512-CRYPT\nsha512_crypt_rounds = 6000\n"
		"argon2_memory = 2M\nargon2_passes = 4\nargon2_lanes = 2\nstore_scram = both\n"
		"store_cram_md5 = yes\nscram_iterations = 5000\nsasl_max_response = 2K\n"
		"login_state_flush = 5s\nfail_delay = 2s\nfail_delay_max = 20s\n"
		"fail_limit_address = 7\nfail_limit_user = 3\nfail_block_time = 1h\n"
		"fail_forget_time = 2h\nthrottle_ipv4_prefix = 24\nthrottle_ipv6_prefix = 56\n"
		"throttle_entries = 1024\n", &cfg, &err), 0);
	struct auth_settings s;
	auth_config_settings(cfg, &s);
	assert_string_equal(s.users_file, "/srv/users");
	assert_string_equal(s.app_passwords_file, "/srv/app-passwords");
	assert_string_equal(s.login_state_file, "/srv/logins");
	assert_string_equal(s.secret_file, "/srv/auth-secret");
	assert_string_equal(s.local_domains, "a.example b.example");
	assert_string_equal(s.hostname, "mx.a.example");
	assert_int_equal(s.plaintext, AUTH_PLAINTEXT_NEVER);
	assert_int_equal(s.mechanisms, (1u << AUTH_MECH_SCRAM_SHA_256) |
			 (1u << AUTH_MECH_SCRAM_SHA_256_PLUS) | (1u << AUTH_MECH_PLAIN));
	assert_int_equal(s.hash.scheme, PASSWORD_SCHEME_SHA512_CRYPT);
	assert_int_equal(s.hash.crypt_rounds, 6000);
	assert_int_equal(s.hash.argon2_memory_kib, 2048);
	assert_int_equal(s.hash.argon2_time, 4);
	assert_int_equal(s.hash.argon2_lanes, 2);
	assert_true(s.store_scram_sha256 && s.store_scram_sha1 && s.store_cram_md5);
	assert_int_equal(s.scram_iterations, 5000);
	assert_int_equal(s.max_response, 2048);
	assert_int_equal(s.login_state_flush_ms, 5000);
	assert_int_equal(s.throttle.delay_base_ms, 2000);
	assert_int_equal(s.throttle.delay_max_ms, 20000);
	assert_int_equal(s.throttle.addr_limit, 7);
	assert_int_equal(s.throttle.user_limit, 3);
	assert_int_equal(s.throttle.block_ms, 3600000);
	assert_int_equal(s.throttle.forget_ms, 7200000);
	assert_int_equal(s.throttle.ipv4_prefix, 24);
	assert_int_equal(s.throttle.ipv6_prefix, 56);
	assert_int_equal(s.throttle.entries, 1024);
	conf_free(cfg);
	/* the defaults of the table and of auth agree */
	assert_int_equal(conf_load_string("/t/loft.conf", "", &cfg, &err), 0);
	auth_config_settings(cfg, &s);
	struct auth_settings d;
	auth_settings_default(&d);
	assert_int_equal(s.plaintext, d.plaintext);
	assert_int_equal(s.hash.scheme, d.hash.scheme);
	assert_int_equal(s.hash.argon2_memory_kib, d.hash.argon2_memory_kib);
	assert_int_equal(s.hash.argon2_time, d.hash.argon2_time);
	assert_int_equal(s.hash.crypt_rounds, d.hash.crypt_rounds);
	assert_int_equal(s.scram_iterations, d.scram_iterations);
	assert_int_equal(s.max_response, d.max_response);
	assert_int_equal(s.login_state_flush_ms, d.login_state_flush_ms);
	assert_memory_equal(&s.throttle, &d.throttle, sizeof(s.throttle));
	assert_int_equal(s.mechanisms, (1u << AUTH_MECH_PLAIN) | (1u << AUTH_MECH_LOGIN));
	conf_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_user_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_password_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_mapping, setup, teardown),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
