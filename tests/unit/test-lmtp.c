/* Unit tests for the pure parts of the LMTP/SMTP front end (server/lmtp/):
 * the MAIL/RCPT argument parser (paths, routes, quoting, literals, UTF-8,
 * parameters, limits, never reading past the given length), xtext, HELO
 * names, the recipient rules that keep the SMTP listener from relaying
 * (local domains, postmaster, plus-addressing, address tricks), the trace
 * headers, the DSN report text and the per-network rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "lib/xmem.h"
#include "server/lmtp/dsn.h"
#include "server/lmtp/headers.h"
#include "server/lmtp/ratelimit.h"
#include "server/lmtp/recipient.h"
#include "server/lmtp/smtp-parse.h"

/* Parse text from a heap copy of exactly its length (no NUL after it),
 * so an overread is an ASan error. The copy lives until the next call
 * (the parameters point into it). */
static char *last_copy;

static enum smtp_parse_result parse(const char *text, bool mail, struct smtp_args *a)
{
	size_t len = strlen(text);
	free(last_copy);
	last_copy = xmalloc(len ? len : 1);
	memcpy(last_copy, text, len);
	enum smtp_parse_result r = smtp_parse_args(last_copy, len, mail, a);
	for (size_t i = 0; i < a->n_params; i++)
		assert_true(a->params[i].key >= last_copy && a->params[i].key < last_copy + len);
	return r;
}

static void expect_path(const char *text, bool mail, const char *local, const char *domain)
{
	struct smtp_args a;
	if (parse(text, mail, &a) != SMTP_PARSE_OK) {
		print_error("%s: not parsed\n", text);
		fail();
	}
	assert_string_equal(a.path.local, local);
	assert_string_equal(a.path.domain, domain);
	assert_int_equal(a.path.has_domain, domain[0] != '\0');
}

static void expect_result(const char *text, bool mail, enum smtp_parse_result want)
{
	struct smtp_args a;
	enum smtp_parse_result got = parse(text, mail, &a);
	if (got != want) {
		print_error("%s: got %d, want %d\n", text, got, want);
		fail();
	}
}

static void test_paths(void **state)
{
	(void)state;
	expect_path("FROM:<a@example.org>", true, "a", "example.org");
	expect_path("from:<a@example.org>", true, "a", "example.org");
	expect_path("FROM: <a@example.org>", true, "a", "example.org");
	expect_path("TO:<Joe.Smith@Example.ORG>", false, "Joe.Smith", "Example.ORG");
	/* a source route is accepted and ignored (RFC 5321 4.1.2, C.) */
	expect_path("TO:<@relay.one,@relay.two:joe@example.org>", false, "joe", "example.org");
	/* quoted local parts are unquoted */
	expect_path("TO:<\"joe smith\"@example.org>", false, "joe smith", "example.org");
	expect_path("TO:<\"a\\\"b\\\\c\"@example.org>", false, "a\"b\\c", "example.org");
	expect_path("TO:<\"alice@evil.org\"@example.org>", false, "alice@evil.org",
		    "example.org");
	/* '%' and '!' are ordinary local-part characters, nothing more */
	expect_path("TO:<joe%other.org@example.org>", false, "joe%other.org", "example.org");
	expect_path("TO:<other.org!joe@example.org>", false, "other.org!joe", "example.org");
	/* address literals keep their brackets */
	expect_path("TO:<joe@[192.0.2.1]>", false, "joe", "[192.0.2.1]");
	expect_path("TO:<joe@[IPv6:2001:db8::1]>", false, "joe", "[IPv6:2001:db8::1]");
	expect_path("TO:<postmaster>", false, "postmaster", "");
	expect_path("TO:<Postmaster>", false, "Postmaster", "");

	struct smtp_args a;
	assert_int_equal(parse("FROM:<>", true, &a), SMTP_PARSE_OK);
	assert_true(a.path.null);
	assert_int_equal(parse("TO:<joe@[192.0.2.1]>", false, &a), SMTP_PARSE_OK);
	assert_true(a.path.literal);
	assert_int_equal(parse("TO:<\"x\"@example.org>", false, &a), SMTP_PARSE_OK);
	assert_true(a.path.quoted);
	assert_false(a.path.utf8);
	assert_int_equal(parse("TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", false, &a),
			 SMTP_PARSE_OK);
	assert_true(a.path.utf8);

	expect_result("TO:<>", false, SMTP_PARSE_PATH);           /* null only in MAIL */
	expect_result("FROM:a@example.org", true, SMTP_PARSE_PATH);
	expect_result("FROM:<a@example.org", true, SMTP_PARSE_PATH);
	expect_result("TO:<joe@example.org.>", false, SMTP_PARSE_PATH);  /* trailing dot */
	expect_result("TO:<joe@.example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@example..org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@-example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@example-.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<.joe@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe.@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<jo..e@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<jo e@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@exa mple.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@>", false, SMTP_PARSE_PATH);
	expect_result("TO:<@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<@relay:>", false, SMTP_PARSE_PATH);
	expect_result("TO:<@relay joe@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@[]>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@[1.2.3.4>", false, SMTP_PARSE_PATH);
	expect_result("TO:<\"unterminated@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<\"ctl\x01\"@example.org>", false, SMTP_PARSE_PATH);
	expect_result("TO:<joe@example.org>>", false, SMTP_PARSE_PARAM);
	expect_result("TO <joe@example.org>", false, SMTP_PARSE_VERB);
	expect_result("FROM:<joe@example.org>", false, SMTP_PARSE_VERB);
	expect_result("", true, SMTP_PARSE_VERB);
	expect_result("FROM:", true, SMTP_PARSE_PATH);

	/* a NUL inside the given length is no address character */
	char nul[] = "TO:<jo\0e@example.org>";
	assert_int_equal(smtp_parse_args(nul, sizeof(nul) - 1, false, &a), SMTP_PARSE_PATH);

	/* limits: local parts up to SMTP_LOCAL_MAX octets, domains 255 */
	char buf[1024];
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "TO:<");
	memset(buf + 4, 'a', SMTP_LOCAL_MAX);
	strcat(buf, "@example.org>");
	expect_result(buf, false, SMTP_PARSE_OK);
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "TO:<");
	memset(buf + 4, 'a', SMTP_LOCAL_MAX + 1);
	strcat(buf, "@example.org>");
	expect_result(buf, false, SMTP_PARSE_PATH);
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "TO:<a@");
	for (int i = 0; i < 64; i++)
		strcat(buf, "abc.");
	strcat(buf, "org>");   /* 260 octets */
	expect_result(buf, false, SMTP_PARSE_PATH);
}

static void test_params(void **state)
{
	(void)state;
	struct smtp_args a;
	assert_int_equal(parse("FROM:<a@b.org> SIZE=100 BODY=8BITMIME SMTPUTF8", true, &a),
			 SMTP_PARSE_OK);
	assert_int_equal(a.n_params, 3);
	const struct smtp_param *p = smtp_param_find(&a, "size");
	assert_non_null(p);
	assert_int_equal(p->value_len, 3);
	assert_memory_equal(p->value, "100", 3);
	p = smtp_param_find(&a, "SMTPUTF8");
	assert_non_null(p);
	assert_null(p->value);
	assert_null(smtp_param_find(&a, "RET"));
	/* extra blanks between parameters and at the end are tolerated */
	assert_int_equal(parse("FROM:<a@b.org>  SIZE=1   ", true, &a), SMTP_PARSE_OK);
	assert_int_equal(a.n_params, 1);
	assert_int_equal(parse("TO:<a@b.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b.org",
			       false, &a), SMTP_PARSE_OK);
	assert_int_equal(a.n_params, 2);

	expect_result("FROM:<a@b.org>SIZE=1", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> =1", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> SIZE=", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> SIZE==1", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> -X=1", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> X_Y=1", true, SMTP_PARSE_PARAM);
	expect_result("FROM:<a@b.org> X=a\x7f" "b", true, SMTP_PARSE_PARAM);
	char many[512] = "FROM:<a@b.org>";
	for (int i = 0; i < SMTP_MAX_PARAMS; i++)
		strcat(many, " X=1");
	expect_result(many, true, SMTP_PARSE_OK);
	strcat(many, " Y=2");
	expect_result(many, true, SMTP_PARSE_TOO_MANY);
}

static void test_xtext_hello_format(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(smtp_xtext_decode("a+2Bb", 5, out, sizeof(out)), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(smtp_xtext_decode("rfc822;x+40y", 12, out, sizeof(out)), 10);
	assert_string_equal(out, "rfc822;x@y");
	assert_int_equal(smtp_xtext_decode("+2", 2, out, sizeof(out)), -1);     /* cut */
	assert_int_equal(smtp_xtext_decode("+2b", 3, out, sizeof(out)), -1);    /* lower case */
	assert_int_equal(smtp_xtext_decode("+0A", 3, out, sizeof(out)), -1);    /* a control */
	assert_int_equal(smtp_xtext_decode("a=b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("0123456789abcdefX", 17, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("", 0, out, sizeof(out)), 0);

	assert_true(smtp_hello_valid("mail.example.org", 16));
	assert_true(smtp_hello_valid("[192.0.2.1]", 11));
	assert_true(smtp_hello_valid("[IPv6:2001:db8::1]", 18));
	assert_true(smtp_hello_valid("my_host", 7));
	assert_false(smtp_hello_valid("", 0));
	assert_false(smtp_hello_valid("a b", 3));
	assert_false(smtp_hello_valid("x(y)", 4));
	assert_false(smtp_hello_valid("evil\r\nReceived:", 15));
	assert_false(smtp_hello_valid("[1.2.3.4", 8));
	assert_false(smtp_hello_valid("[]", 2));
	assert_false(smtp_hello_valid("[a]b]", 5));

	struct smtp_args a;
	char text[SMTP_PATH_TEXT_MAX];
	assert_int_equal(parse("TO:<\"joe smith\"@example.org>", false, &a), SMTP_PARSE_OK);
	assert_true(smtp_path_format(&a.path, text, sizeof(text)));
	assert_string_equal(text, "\"joe smith\"@example.org");
	assert_int_equal(parse("TO:<\"joe\"@example.org>", false, &a), SMTP_PARSE_OK);
	assert_true(smtp_path_format(&a.path, text, sizeof(text)));
	assert_string_equal(text, "joe@example.org");   /* no quotes it does not need */
	assert_int_equal(parse("TO:<\"a\\\"b\"@x.org>", false, &a), SMTP_PARSE_OK);
	assert_true(smtp_path_format(&a.path, text, sizeof(text)));
	assert_string_equal(text, "\"a\\\"b\"@x.org");
	assert_int_equal(parse("FROM:<>", true, &a), SMTP_PARSE_OK);
	assert_true(smtp_path_format(&a.path, text, sizeof(text)));
	assert_string_equal(text, "");
	assert_int_equal(parse("TO:<postmaster>", false, &a), SMTP_PARSE_OK);
	assert_true(smtp_path_format(&a.path, text, sizeof(text)));
	assert_string_equal(text, "postmaster");
	assert_false(smtp_path_format(&a.path, text, 4));
}

/* ---- recipients ---- */

static struct userdb *users(char *path_r, size_t size)
{
	snprintf(path_r, size, "/tmp/loft-test-lmtp-users.XXXXXX");
	int fd = mkstemp(path_r);
	assert_true(fd >= 0);
	const char text[] = "alice:{PLAIN}x\nbob@example.org:{PLAIN}x\na+b:{PLAIN}x\n"
			    "pm:{PLAIN}x\ncarol:{PLAIN}x:::::quota_bytes=1000\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(path_r, &db, &err), USERDB_OK);
	return db;
}

static enum rcpt_kind resolve(struct userdb *db, const struct rcpt_policy *pol,
			      const char *addr, struct rcpt_target *t)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "TO:<%s>", addr);
	struct smtp_args a;
	assert_int_equal(smtp_parse_args(cmd, strlen(cmd), false, &a), SMTP_PARSE_OK);
	return rcpt_resolve(db, pol, &a.path, t);
}

static void expect_rcpt(struct userdb *db, const struct rcpt_policy *pol, const char *addr,
			enum rcpt_kind kind, const char *user, const char *detail)
{
	struct rcpt_target t;
	enum rcpt_kind got = resolve(db, pol, addr, &t);
	if (got != kind) {
		print_error("%s: kind %d, want %d\n", addr, got, kind);
		fail();
	}
	if (kind == RCPT_LOCAL) {
		assert_string_equal(t.user, user);
		assert_string_equal(t.detail, detail);
		assert_non_null(t.record);
	}
}

static void test_recipients(void **state)
{
	(void)state;
	char path[64];
	struct userdb *db = users(path, sizeof(path));
	struct rcpt_policy smtp = { .local_domains = "example.org example.net",
				    .delimiter = "+-", .plus_addressing = true,
				    .postmaster = "pm", .lmtp = false };
	expect_rcpt(db, &smtp, "alice@example.org", RCPT_LOCAL, "alice", "");
	expect_rcpt(db, &smtp, "ALICE@EXAMPLE.NET", RCPT_LOCAL, "alice", "");
	expect_rcpt(db, &smtp, "bob@example.org", RCPT_LOCAL, "bob@example.org", "");
	expect_rcpt(db, &smtp, "a+b@example.org", RCPT_LOCAL, "a+b", "");
	expect_rcpt(db, &smtp, "alice+Lists/work@example.org", RCPT_LOCAL, "alice", "Lists/work");
	expect_rcpt(db, &smtp, "alice-x@example.org", RCPT_LOCAL, "alice", "x");
	expect_rcpt(db, &smtp, "postmaster", RCPT_LOCAL, "pm", "");
	expect_rcpt(db, &smtp, "PostMaster@example.net", RCPT_LOCAL, "pm", "");
	/* never a relay: other domains, subdomains, literals, bare names */
	expect_rcpt(db, &smtp, "alice@other.org", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "alice@sub.example.org", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "alice@example.org.evil.com", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "alice@[127.0.0.1]", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "alice@[IPv6:::1]", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "alice", RCPT_NOT_LOCAL, NULL, NULL);
	expect_rcpt(db, &smtp, "@example.org:alice@evil.org", RCPT_NOT_LOCAL, NULL, NULL);
	/* a local domain with a trick in the local part: nobody is that */
	expect_rcpt(db, &smtp, "alice%evil.org@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "evil.org!alice@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "\"alice@evil.org\"@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "\"alice\"@example.org", RCPT_LOCAL, "alice", "");
	expect_rcpt(db, &smtp, "\"alice smith\"@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "nobody@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "+work@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "alice+@example.org", RCPT_UNKNOWN, NULL, NULL);
	expect_rcpt(db, &smtp, "nobody+alice@example.org", RCPT_UNKNOWN, NULL, NULL);
	/* the route is ignored: the final domain decides */
	expect_rcpt(db, &smtp, "@evil.org:alice@example.org", RCPT_LOCAL, "alice", "");

	/* LMTP takes bare local parts; plus-addressing can be off */
	struct rcpt_policy lmtp = smtp;
	lmtp.lmtp = true;
	expect_rcpt(db, &lmtp, "alice", RCPT_LOCAL, "alice", "");
	expect_rcpt(db, &lmtp, "alice@other.org", RCPT_NOT_LOCAL, NULL, NULL);
	lmtp.plus_addressing = false;
	expect_rcpt(db, &lmtp, "alice+work@example.org", RCPT_UNKNOWN, NULL, NULL);
	lmtp.plus_addressing = true;
	lmtp.delimiter = "";
	expect_rcpt(db, &lmtp, "alice+work@example.org", RCPT_UNKNOWN, NULL, NULL);

	/* loft deliver -u: a user name as such, or an address */
	struct rcpt_target t;
	assert_int_equal(rcpt_resolve_text(db, &smtp, "bob@example.org", &t), RCPT_LOCAL);
	assert_string_equal(t.user, "bob@example.org");
	assert_int_equal(rcpt_resolve_text(db, &smtp, "Alice", &t), RCPT_LOCAL);
	assert_string_equal(t.user, "alice");
	assert_int_equal(rcpt_resolve_text(db, &smtp, "alice+work@example.org", &t), RCPT_LOCAL);
	assert_string_equal(t.detail, "work");
	assert_int_equal(rcpt_resolve_text(db, &smtp, "nobody", &t), RCPT_UNKNOWN);
	assert_int_equal(rcpt_resolve_text(db, &smtp, "a b@example.org", &t), RCPT_UNKNOWN);
	assert_int_equal(rcpt_resolve_text(db, &smtp, "../etc", &t), RCPT_UNKNOWN);

	assert_true(rcpt_domain_is_local("a.org b.org", "B.ORG"));
	assert_false(rcpt_domain_is_local("a.org b.org", "a.or"));
	assert_false(rcpt_domain_is_local(NULL, "a.org"));
	userdb_free(&db);
	unlink(path);
}

/* ---- trace headers and reports ---- */

static void test_headers(void **state)
{
	(void)state;
	struct trace_info t = {
		.eol = "\r\n", .delivered_to = "alice@example.org", .return_path = "",
		.by_host = "mx.example.org", .helo = "client.example", .client = "2001:db8::1",
		.protocol = trace_protocol(false, true, true, true, false), .id = "abc.1",
		.for_rcpt = "alice@example.org", .when = 1700000000,
	};
	size_t len;
	char *h = trace_headers(&t, &len);
	assert_int_equal(len, strlen(h));
	assert_ptr_equal(strstr(h, "Delivered-To: alice@example.org\r\nReturn-Path: <>\r\n"
				   "Received: from client.example ([IPv6:2001:db8::1])\r\n"
				   "\tby mx.example.org (Loft) with ESMTPSA id abc.1\r\n"
				   "\tfor <alice@example.org>;\r\n\t"), h);
	assert_true(len > 2 && memcmp(h + len - 2, "\r\n", 2) == 0);
	for (const char *line = h; *line != '\0'; line = strchr(line, '\n') + 1)
		assert_true(strcspn(line, "\n") <= 79);
	free(h);

	/* bare-LF messages get LF headers; no Received without by_host */
	struct trace_info d = { .eol = "\n", .return_path = "a@b.org" };
	h = trace_headers(&d, &len);
	assert_string_equal(h, "Return-Path: <a@b.org>\n");
	free(h);
	t.client = "192.0.2.7";
	t.for_rcpt = NULL;
	t.delivered_to = NULL;
	t.return_path = NULL;
	h = trace_headers(&t, &len);
	assert_ptr_equal(strstr(h, "Received: from client.example ([192.0.2.7])\r\n"), h);
	assert_null(strstr(h, "for <"));
	free(h);

	assert_string_equal(trace_protocol(true, true, false, false, false), "LMTP");
	assert_string_equal(trace_protocol(true, true, true, false, false), "LMTPS");
	assert_string_equal(trace_protocol(false, false, false, false, false), "SMTP");
	assert_string_equal(trace_protocol(false, true, false, false, false), "ESMTP");
	assert_string_equal(trace_protocol(false, true, true, false, true), "UTF8SMTPS");
	assert_string_equal(trace_protocol(false, true, false, true, false), "ESMTPA");
}

static void test_dsn_report(void **state)
{
	(void)state;
	struct dsn_rcpt r[2] = {
		{ .address = "alice@example.org", .orcpt = "rfc822;Alice@Example.org",
		  .action = DSN_DELIVERED, .reply = "250 2.0.0 Delivered" },
		{ .address = "b\xc3\xb6@example.org", .action = DSN_DELIVERED,
		  .reply = "250 2.0.0 Delivered" },
	};
	struct dsn_report rep = { .hostname = "mx.example.org", .sender = "s@ext.org",
				  .envid = "QQ314159", .arrival = 1700000000, .rcpts = r,
				  .n_rcpts = 2 };
	char *head, *tail;
	dsn_build(&rep, "BOUNDARY", &head, &tail);
	static const char *const need[] = {
		"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n",
		"To: <s@ext.org>\r\n", "Auto-Submitted: auto-replied\r\n",
		"Content-Type: multipart/report; report-type=delivery-status;\r\n"
		"\tboundary=\"BOUNDARY\"\r\n",
		"--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; mx.example.org\r\nOriginal-Envelope-Id: QQ314159\r\n",
		"\r\nFinal-Recipient: rfc822; alice@example.org\r\n"
		"Original-Recipient: rfc822;Alice@Example.org\r\nAction: delivered\r\n"
		"Status: 2.0.0\r\nDiagnostic-Code: smtp; 250 2.0.0 Delivered\r\n",
		"Final-Recipient: utf-8; b\xc3\xb6@example.org\r\n",
		"--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (strstr(head, need[i]) == NULL) {
			print_error("missing %s in\n%s\n", need[i], head);
			fail();
		}
	}
	assert_string_equal(tail, "\r\n--BOUNDARY--\r\n");
	free(head);
	free(tail);

	/* failures, the whole message, and RFC 6533's types for SMTPUTF8 */
	r[0].action = DSN_FAILED;
	r[0].reply = "552 5.2.2 Mailbox full";
	rep.n_rcpts = 1;
	rep.full = true;
	rep.utf8 = true;
	rep.envid = NULL;
	dsn_build(&rep, "B2", &head, &tail);
	assert_non_null(strstr(head, "report-type=global-delivery-status"));
	assert_non_null(strstr(head, "Action: failed\r\nStatus: 5.2.2\r\n"));
	assert_non_null(strstr(head, "Content-Type: message/global\r\n\r\n"));
	assert_non_null(strstr(head, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_null(strstr(head, "Original-Envelope-Id"));
	free(head);
	free(tail);
}

static void test_rate_limits(void **state)
{
	(void)state;
	struct smtp_rate *r = smtp_rate_create(64);
	struct net_addr_key a, b;
	assert_int_equal(net_addr_key_parse("192.0.2.1", 32, 64, &a), 0);
	assert_int_equal(net_addr_key_parse("192.0.2.2", 32, 64, &b), 0);
	uint64_t now = 1000000;
	for (int i = 0; i < 3; i++)
		assert_true(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now));
	assert_false(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now));
	/* another network, another kind: their own buckets */
	assert_true(smtp_rate_take(r, &b, SMTP_RATE_MESSAGES, 3, now));
	assert_true(smtp_rate_take(r, &a, SMTP_RATE_CONNECTIONS, 3, now));
	/* 3 a minute: one more every 20 s */
	assert_false(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now + 19999));
	assert_true(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now + 20000));
	assert_false(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now + 20001));
	/* never more than a minute's worth saved up */
	now += 3600000;
	for (int i = 0; i < 3; i++)
		assert_true(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now));
	assert_false(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 3, now));
	/* 0 is no limit */
	for (int i = 0; i < 1000; i++)
		assert_true(smtp_rate_take(r, &a, SMTP_RATE_MESSAGES, 0, now));
	/* a flood of networks reuses idle buckets instead of growing */
	for (unsigned i = 0; i < 5000; i++) {
		char ip[32];
		struct net_addr_key k;
		snprintf(ip, sizeof(ip), "10.%u.%u.1", i / 256, i % 256);
		assert_int_equal(net_addr_key_parse(ip, 32, 64, &k), 0);
		assert_true(smtp_rate_take(r, &k, SMTP_RATE_CONNECTIONS, 1, now + i));
	}
	smtp_rate_free(&r);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_xtext_hello_format),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_dsn_report),
		cmocka_unit_test(test_rate_limits),
	};
	int r = cmocka_run_group_tests_name("lmtp", tests, NULL, NULL);
	free(last_copy);
	return r;
}
