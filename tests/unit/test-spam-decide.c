/* The pure parts of the rspamd integration: the request header lines
 * (envelope, SPF/DKIM/DMARC as rspamd's http_headers module reads them,
 * control characters and overlong values kept out), the decision for each
 * rspamd action under each [spam] setting (SMTP may reject, LMTP never),
 * on_failure, the X-Spam/X-Spamd-Result headers, the learn classes for
 * moves between special-use mailboxes, and Sieve's spamtest values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "server/spam/learn.h"
#include "server/spam/spam.h"

static struct loft_config *load(const char *extra)
{
	char text[1024];
	snprintf(text, sizeof(text), "[server]\nstate_dir = /tmp/x\n[spam]\n%s%s",
		 strstr(extra, "enabled") == NULL ? "enabled = yes\n" : "", extra);
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load_string("t.conf", text, &cfg, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	return cfg;
}

static const struct spam_policy *pol(const struct loft_config *cfg)
{
	static struct spam_policy p;
	spam_policy_from_config(cfg, &p);
	return &p;
}

static void test_request_headers(void **state)
{
	(void)state;
	const char *rcpts[] = { "a@example.org", "b@example.org\r\nX-Evil: 1" };
	struct spam_dkim dkim[] = { { "pass", "example.net" }, { "temperror", "ex\"ample.com" },
				    { "bogus", "x.org" } };
	struct spam_auth auth = { .spf = "softfail", .dkim = dkim, .n_dkim = 3, .dmarc = "fail",
				  .dmarc_policy = "reject" };
	struct spam_envelope env = {
		.client_ip = "192.0.2.1", .helo = "mx.example.net", .mail_from = "",
		.rcpts = rcpts, .n_rcpts = 2, .auth_user = "alice", .queue_id = "Q1",
		.auth = &auth,
	};
	char *h = spam_request_headers(&env);
	assert_string_equal(h,
		"IP: 192.0.2.1\r\nHelo: mx.example.net\r\nFrom: <>\r\n"
		"Rcpt: a@example.org\r\nRcpt: b@example.orgX-Evil: 1\r\nUser: alice\r\n"
		"Queue-Id: Q1\r\nSPF: {\"result\":\"softfail\"}\r\n"
		"DKIM: {\"results\":[{\"result\":\"pass\",\"domain\":\"example.net\"},"
		"{\"result\":\"tempfail\",\"domain\":\"example.com\"}]}\r\n"
		"DMARC: {\"result\":\"reject\"}\r\n");
	free(h);

	/* nothing known: nothing sent; temperror SPF left to rspamd */
	struct spam_auth none = { .spf = "temperror", .dmarc = "fail" };
	char big[2000];
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct spam_envelope e2 = { .helo = big, .auth = &none };
	h = spam_request_headers(&e2);
	assert_int_equal(strlen(h), strlen("Helo: \r\n") + 512 + strlen("DMARC: {\"result\":\"softfail\"}\r\n"));
	free(h);
}

static struct spam_reply answer(const char *action, enum spam_action a, double score)
{
	struct spam_reply r;
	memset(&r, 0, sizeof(r));
	r.result.action = a;
	snprintf(r.result.action_text, sizeof(r.result.action_text), "%s", action);
	r.result.score = score;
	r.result.required = 15;
	r.result.has_action = r.result.has_score = true;
	snprintf(r.result.symbols[0].name, sizeof(r.result.symbols[0].name), "LOW");
	r.result.symbols[0].score = 0.5;
	snprintf(r.result.symbols[1].name, sizeof(r.result.symbols[1].name), "HI-GH");
	r.result.symbols[1].score = 7;
	r.result.n_symbols = 2;
	snprintf(r.result.smtp_message, sizeof(r.result.smtp_message), "Gtube pattern");
	return r;
}

static void test_decide_defaults(void **state)
{
	(void)state;
	struct loft_config *cfg = load("");
	struct spam_decision d;

	struct spam_reply r = answer("reject", SPAM_ACTION_REJECT, 16);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_REJECT);
	assert_string_equal(d.reply, "550 5.7.1 Message refused as spam (Gtube pattern)");
	assert_null(d.headers);
	spam_decision_clear(&d);

	/* LMTP cannot refuse after accepting: junk instead */
	spam_decide(pol(cfg), &r, false, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_true(d.junk);
	assert_int_equal(d.store.verdict, STORE_SPAM_SPAM);
	assert_int_equal(d.store.action, SPAM_ACTION_REJECT);
	assert_int_equal(d.store.score_milli, 16000);
	assert_int_equal(d.store.required_milli, 15000);
	assert_string_equal(d.headers, "X-Spam: Yes\r\nX-Spamd-Result: default: True [16.00 / 15.00]; "
			    "action=reject;\r\n\tHI_GH(7.00);\r\n\tLOW(0.50)\r\n");
	spam_decision_clear(&d);

	r = answer("add header", SPAM_ACTION_ADD_HEADER, 7.5);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_true(d.junk);
	assert_non_null(strstr(d.headers, "X-Spam: Yes\r\n"));
	spam_decision_clear(&d);

	r = answer("soft reject", SPAM_ACTION_SOFT_REJECT, 1);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_TEMPFAIL);
	assert_string_equal(d.reply, "451 4.7.1 Message deferred, try again later (Gtube pattern)");
	spam_decision_clear(&d);

	r = answer("greylist", SPAM_ACTION_GREYLIST, 5);
	spam_decide(pol(cfg), &r, false, &d);
	assert_int_equal(d.outcome, SPAM_TEMPFAIL);
	spam_decision_clear(&d);

	/* clean: only the summary (result_header = yes) */
	r = answer("no action", SPAM_ACTION_NONE, -1);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_false(d.junk);
	assert_int_equal(d.store.verdict, STORE_SPAM_HAM);
	assert_string_equal(d.headers, "X-Spamd-Result: default: False [-1.00 / 15.00]; "
			    "action=no action;\r\n\tHI_GH(7.00);\r\n\tLOW(0.50)\r\n");
	spam_decision_clear(&d);

	/* a custom action is no action */
	r = answer("quarantine", SPAM_ACTION_UNKNOWN, 99);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_false(d.junk);
	spam_decision_clear(&d);

	/* failures: tempfail by default */
	struct spam_reply f;
	memset(&f, 0, sizeof(f));
	f.fail = SPAM_FAIL_TIMEOUT;
	spam_decide(pol(cfg), &f, true, &d);
	assert_int_equal(d.outcome, SPAM_TEMPFAIL);
	assert_false(d.scanned);
	assert_string_equal(d.reply, "451 4.7.1 Spam filter unavailable, try again later");
	assert_int_equal(d.store.verdict, STORE_SPAM_NONE);
	spam_decision_clear(&d);
	conf_free(cfg);
}

static void test_decide_settings(void **state)
{
	(void)state;
	struct loft_config *cfg = load("on_failure = accept\nreject = junk\nadd_header = header\n"
				       "soft_reject = ignore\nresult_header = no\n");
	struct spam_decision d;
	struct spam_reply f;
	memset(&f, 0, sizeof(f));
	f.fail = SPAM_FAIL_CONNECT;
	spam_decide(pol(cfg), &f, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_string_equal(d.headers, "X-Spam-Status: Unscanned (rspamd connect)\r\n");
	assert_int_equal(d.store.verdict, STORE_SPAM_UNSCANNED);
	spam_decision_clear(&d);

	struct spam_reply r = answer("reject", SPAM_ACTION_REJECT, 20);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_true(d.junk);
	spam_decision_clear(&d);

	r = answer("add header", SPAM_ACTION_ADD_HEADER, 8);
	spam_decide(pol(cfg), &r, true, &d);
	assert_false(d.junk);
	assert_non_null(strstr(d.headers, "X-Spam: Yes\r\nX-Spamd-Result: default: True"));
	spam_decision_clear(&d);

	r = answer("soft reject", SPAM_ACTION_SOFT_REJECT, 8);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_DELIVER);
	assert_null(d.headers);      /* ignore, and no summary asked for */
	spam_decision_clear(&d);

	r = answer("no action", SPAM_ACTION_NONE, 0);
	spam_decide(pol(cfg), &r, true, &d);
	assert_null(d.headers);
	spam_decision_clear(&d);
	conf_free(cfg);

	cfg = load("reject = tempfail\n");
	r = answer("reject", SPAM_ACTION_REJECT, 20);
	spam_decide(pol(cfg), &r, true, &d);
	assert_int_equal(d.outcome, SPAM_TEMPFAIL);
	spam_decision_clear(&d);
	conf_free(cfg);
}

static void test_scan_wanted(void **state)
{
	(void)state;
	struct loft_config *cfg = load("");
	assert_true(spam_scan_wanted(cfg, CONF_PROTO_SMTP));
	assert_false(spam_scan_wanted(cfg, CONF_PROTO_LMTP));
	conf_free(cfg);
	cfg = load("scan_lmtp = yes\n");
	assert_true(spam_scan_wanted(cfg, CONF_PROTO_LMTP));
	assert_false(spam_scan_wanted(cfg, CONF_PROTO_IMAP));
	conf_free(cfg);
	cfg = load("enabled = no\nscan_lmtp = yes\n");
	assert_false(spam_scan_wanted(cfg, CONF_PROTO_SMTP));
	assert_false(spam_scan_wanted(cfg, CONF_PROTO_LMTP));
	conf_free(cfg);
}

/* rspamd is reached at a literal address or a socket, never a name; the
 * client's limits come from the settings. */
static void test_client_settings(void **state)
{
	(void)state;
	struct loft_config *cfg = NULL;
	char *err = NULL;
	assert_int_not_equal(conf_load_string("t.conf", "[spam]\nrspamd_address = rspamd.example\n",
					      &cfg, &err), 0);
	assert_non_null(strstr(err, "rspamd_address"));
	free(err);
	cfg = load("rspamd_address = ::1\nrspamd_port = 1133\ncontroller_port = 1134\n"
		   "password = pw\nconnect_timeout = 250ms\ntimeout = 3s\nmax_idle_connections = 7\n"
		   "idle_timeout = 9s\nmax_reply_size = 64K\ncontroller_socket = /run/c.sock\n");
	struct spam_client_settings set;
	spam_client_settings_from_config(cfg, &set);
	assert_string_equal(set.scan.address, "::1");
	assert_int_equal(set.scan.port, 1133);
	assert_null(set.scan.socket);
	assert_int_equal(set.controller.port, 1134);
	assert_string_equal(set.controller.socket, "/run/c.sock");
	assert_string_equal(set.password, "pw");
	assert_int_equal(set.connect_timeout_ms, 250);
	assert_int_equal(set.timeout_ms, 3000);
	assert_int_equal(set.max_idle, 7);
	assert_int_equal(set.idle_timeout_ms, 9000);
	assert_int_equal(set.max_reply, 64 * 1024);
	conf_free(cfg);
	/* below the minimum */
	assert_int_not_equal(conf_load_string("t.conf", "[spam]\nmax_reply_size = 100\n", &cfg,
					      &err), 0);
	free(err);
}

static void test_learn_class(void **state)
{
	(void)state;
	assert_int_equal(spam_learn_class_of(0, STORE_SPECIAL_JUNK), SPAM_LEARN_SPAM);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_ARCHIVE, STORE_SPECIAL_JUNK),
			 SPAM_LEARN_SPAM);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_JUNK, 0), SPAM_LEARN_HAM);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_JUNK, STORE_SPECIAL_ARCHIVE),
			 SPAM_LEARN_HAM);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_JUNK, STORE_SPECIAL_TRASH),
			 SPAM_LEARN_NONE);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_JUNK, STORE_SPECIAL_JUNK),
			 SPAM_LEARN_NONE);
	assert_int_equal(spam_learn_class_of(0, 0), SPAM_LEARN_NONE);
	assert_int_equal(spam_learn_class_of(STORE_SPECIAL_TRASH, 0), SPAM_LEARN_NONE);
}

static void test_sieve(void **state)
{
	(void)state;
	struct store_spam s = { .verdict = STORE_SPAM_NONE };
	assert_int_equal(spam_sieve_spamtest(&s), 0);
	assert_int_equal(spam_sieve_percent(&s), -1);
	s = (struct store_spam){ .verdict = STORE_SPAM_UNSCANNED };
	assert_int_equal(spam_sieve_spamtest(&s), 0);
	s = (struct store_spam){ .verdict = STORE_SPAM_HAM, .score_milli = -2000,
				 .required_milli = 15000 };
	assert_int_equal(spam_sieve_spamtest(&s), 1);
	assert_int_equal(spam_sieve_percent(&s), 0);
	s.score_milli = 7500;
	assert_int_equal(spam_sieve_spamtest(&s), 5);
	assert_int_equal(spam_sieve_percent(&s), 50);
	s.score_milli = 15000;
	s.verdict = STORE_SPAM_SPAM;
	assert_int_equal(spam_sieve_spamtest(&s), 10);
	assert_int_equal(spam_sieve_percent(&s), 100);
	s.score_milli = 1;
	assert_int_equal(spam_sieve_spamtest(&s), 2);
	s.score_milli = 14999;
	assert_int_equal(spam_sieve_spamtest(&s), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_headers),
		cmocka_unit_test(test_decide_defaults),
		cmocka_unit_test(test_decide_settings),
		cmocka_unit_test(test_scan_wanted),
		cmocka_unit_test(test_client_settings),
		cmocka_unit_test(test_learn_class),
		cmocka_unit_test(test_sieve),
	};
	return cmocka_run_group_tests_name("spam-decide", tests, NULL, NULL);
}
