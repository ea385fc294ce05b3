/* Unit tests of the Sieve interpreter and the delivery plan (server/sieve/):
 * every test, match type, comparator and action of RFC 5228 and of each
 * extension (fileinto, reject/ereject, envelope, imap4flags, vacation with
 * :seconds, body, variables, relational, subaddress, copy, mailbox, date,
 * index, editheader, duplicate, include, spamtest), the implicit keep and
 * the runtime-error rules, the limits of a run, and the store side: the
 * user's active script, compiled once and cached until its file changes,
 * and the vacation and duplicate marks in the user's directory. Messages
 * are memfds; the plan is printed one action a line and compared. */
#include "store-fixture.h"

#include <sys/mman.h>

#include "server/sieve/sieve.h"

static struct sieve_env *env;
static struct sieve_limits lim;
static unsigned sent;         /* outbox sends */
static char last_sent[4096];

static int outbox(void *ctx, const char *from, const char *rcpt, const char *msg, size_t len,
		  int fd, uint64_t off, uint64_t end)
{
	(void)ctx; (void)fd; (void)off; (void)end;
	sent++;
	snprintf(last_sent, sizeof(last_sent), "%s>%s\n%.*s", from, rcpt, (int)len, msg);
	return 0;
}

static const char *MSG =
	"Return-Path: <x@y>\r\n"
	"Received: from a by b; Mon, 1 Jun 2020 10:00:00 +0000\r\n"
	"Received: from c by localhost; Mon, 1 Jun 2020 09:00:00 +0000\r\n"
	"From: \"Alice Example\" <alice+lists@example.org>\r\n"
	"To: bob@example.net, Carol <carol@Example.COM>\r\n"
	"Cc: undisclosed-recipients:;\r\n"
	"Subject: =?utf-8?q?Caf=C3=A9_and_[ml]_news?=\r\n"
	"Date: Sat, 06 Jun 2020 23:30:00 -0700\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"X-Empty:\r\n"
	"X-Folded: one\r\n two\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"B\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--B\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Hello caf=E9, please unsubscribe me.\r\n"
	"--B\r\n"
	"Content-Type: text/html\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"PGh0bWw+PGI+Ym9sZDwvYj48L2h0bWw+\r\n"
	"--B--\r\n";

struct run_opts {
	const char *from, *to;
	struct store_user *user;
	bool spam;
	unsigned score, percent;
	time_t now;
	const char *msg;
};

static char *plan_text(const struct sieve_plan *p)
{
	static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
					     "\\Draft" };
	struct msg_buf b = { 0 };
	if (p->error != NULL)
		msg_buf_printf(&b, "error %s\n", p->error);
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct sieve_action *a = &p->actions[i];
		msg_buf_puts(&b, sieve_action_name(a->kind));
		if (a->mailbox != NULL)
			msg_buf_printf(&b, " %s", a->mailbox);
		if (a->create)
			msg_buf_puts(&b, " :create");
		if (a->copy)
			msg_buf_puts(&b, " :copy");
		for (int k = 0; k < 5; k++)
			if (a->flags & (1u << k))
				msg_buf_printf(&b, " %s", names[k]);
		for (size_t k = 0; k < a->n_keywords; k++)
			msg_buf_printf(&b, " %s", a->keywords[k]);
		if (a->address != NULL)
			msg_buf_printf(&b, " <%s>", a->address);
		if (a->text != NULL && a->kind != SIEVE_ACT_VACATION)
			msg_buf_printf(&b, " \"%s\"", a->text);
		msg_buf_putc(&b, '\n');
	}
	msg_buf_putc(&b, '\0');
	return b.data;
}

/* Compile script, run it over o's message, return the plan text. */
static char *run_opts(const char *script, const struct run_opts *o, struct sieve_plan **plan_r)
{
	struct sieve_script *s = NULL;
	char *err = NULL;
	if (sieve_compile(&lim, "t", script, strlen(script), &s, &err) != 0)
		fail_msg("compile: %s\n%s", err, script);
	const char *msg = o->msg ? o->msg : MSG;
	int fd = memfd_create("m", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	d.user = o->user;
	d.user_address = "bob@example.net";
	d.mail_from = o->from ? o->from : "sender@example.org";
	d.rcpt_to = o->to ? o->to : "bob+box@example.net";
	d.fd = fd;
	d.size = strlen(msg);
	d.now = o->now ? o->now : 1591500000; /* Sun, 7 Jun 2020 03:20:00 UTC */
	d.spam_tested = o->spam;
	d.spam_score = o->score;
	d.spam_percent = o->percent;
	d.compiled = s;
	struct sieve_plan *p = NULL;
	(void)sieve_deliver_plan(env, &d, &p);
	char *text = plan_text(p);
	if (plan_r != NULL) {
		sent = 0;
		(void)sieve_plan_finish(env, &d, p, true, false);
		*plan_r = p;
	} else {
		sieve_plan_free(&p);
	}
	sieve_script_unref(&s);
	close(fd);
	return text;
}

static void expect(const char *script, const char *want)
{
	struct run_opts o = { 0 };
	char *got = run_opts(script, &o, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("script:\n%s\nwant:\n%sgot:\n%s", script, want, got);
	free(got);
}

static void expect_o(const char *script, const struct run_opts *o, const char *want)
{
	char *got = run_opts(script, o, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("script:\n%s\nwant:\n%sgot:\n%s", script, want, got);
	free(got);
}

/* ---- RFC 5228 core ---- */

static void test_implicit_keep_and_core_actions(void **state)
{
	(void)state;
	expect("", "keep INBOX\n");
	expect("keep;", "keep INBOX\n");
	expect("keep; keep;", "keep INBOX\n");
	expect("discard;", "discard\n");
	expect("discard; keep;", "keep INBOX\n");
	expect("stop; discard;", "keep INBOX\n");
	expect("redirect \"a@example.com\";", "redirect <a@example.com>\n");
	expect("redirect \"a@example.com\"; redirect \"A@example.com\";",
	       "redirect <a@example.com>\n");
	expect("require \"fileinto\"; fileinto \"A\"; fileinto \"A\"; fileinto \"inbox\"; keep;",
	       "fileinto A\nfileinto inbox\n");
	expect("require \"fileinto\"; keep; fileinto \"INBOX\";", "keep INBOX\n");
	expect("if false { discard; } elsif true { stop; } else { discard; } discard;",
	       "keep INBOX\n");
	expect("if true { } elsif true { discard; }", "keep INBOX\n");
}

static void test_header_test(void **state)
{
	(void)state;
	/* RFC 2047 decoding, :is :contains :matches, casemap by default */
	expect("if header :contains \"subject\" \"CAFÉ\" { discard; }", "keep INBOX\n");
	expect("if header :contains \"subject\" \"Café\" { discard; }", "discard\n");
	expect("if header :contains \"subject\" \"café\" { discard; }", "discard\n");
	expect("if header :contains \"subject\" \"CAFé\" { discard; }", "discard\n");
	expect("if header :is \"subject\" \"café and [ml] news\" { discard; }", "discard\n");
	expect("if header :is \"subject\" \"CAFÉ and [ml] news\" { discard; }", "keep INBOX\n");
	expect("if header :is \"subject\" \"Café AND [ml] news\" { discard; }", "discard\n");
	expect("if header :matches \"subject\" \"*[??]*\" { discard; }", "discard\n");
	expect("if header :matches \"subject\" \"*\\\\[ml\\\\]*\" { discard; }", "discard\n");
	expect("if header :matches \"subject\" \"Caf?\" { discard; }", "keep INBOX\n");
	expect("if header :matches \"subject\" \"Caf? *\" { discard; }", "discard\n");
	expect("if header :is \"x-empty\" \"\" { discard; }", "discard\n");
	expect("if header :is \"x-folded\" \"one two\" { discard; }", "discard\n");
	expect("if header :contains \"x-missing\" \"\" { discard; }", "keep INBOX\n");
	expect("if header :is :comparator \"i;octet\" \"subject\" \"café and [ml] news\" "
	       "{ discard; }", "keep INBOX\n");
	expect("if header :contains [\"to\", \"cc\"] [\"nope\", \"carol\"] { discard; }",
	       "discard\n");
	expect("if not header :contains \"to\" \"carol\" { discard; }", "keep INBOX\n");
}

static void test_address_envelope_exists_size(void **state)
{
	(void)state;
	expect("if address :is \"from\" \"alice+lists@example.org\" { discard; }", "discard\n");
	expect("if address :localpart :is \"from\" \"alice+lists\" { discard; }", "discard\n");
	expect("if address :domain :is \"to\" \"example.com\" { discard; }", "discard\n");
	expect("if address :all :is \"cc\" \"undisclosed-recipients\" { discard; }", "keep INBOX\n");
	expect("if address :contains \"from\" \"Alice Example\" { discard; }", "keep INBOX\n");
	expect("require \"envelope\";\n"
	       "if envelope :is \"from\" \"sender@example.org\" { discard; }", "discard\n");
	expect("require \"envelope\";\n"
	       "if envelope :domain :is \"to\" \"example.net\" { discard; }", "discard\n");
	struct run_opts o = { .from = "" };
	expect_o("require \"envelope\"; if envelope :is \"from\" \"\" { discard; }", &o,
		 "discard\n");
	expect("if exists [\"from\", \"date\"] { discard; }", "discard\n");
	expect("if exists [\"from\", \"x-nope\"] { discard; }", "keep INBOX\n");
	expect("if size :over 100 { discard; }", "discard\n");
	expect("if size :over 100K { discard; }", "keep INBOX\n");
	expect("if size :under 1M { discard; }", "discard\n");
	expect("if allof (true, false) { discard; }", "keep INBOX\n");
	expect("if anyof (false, true) { discard; }", "discard\n");
}

static void test_subaddress(void **state)
{
	(void)state;
	const char *req = "require [\"subaddress\", \"envelope\"];\n";
	char s[512];
	snprintf(s, sizeof(s), "%sif address :user :is \"from\" \"alice\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif address :detail :is \"from\" \"lists\" { discard; }", req);
	expect(s, "discard\n");
	/* no separator: :detail matches nothing */
	snprintf(s, sizeof(s), "%sif address :detail :matches \"to\" \"*\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif envelope :detail :is \"to\" \"box\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif envelope :user :is \"to\" \"bob\" { discard; }", req);
	expect(s, "discard\n");
}

static void test_relational_and_comparators(void **state)
{
	(void)state;
	const char *req = "require [\"relational\", \"comparator-i;ascii-numeric\"];\n";
	char s[512];
	snprintf(s, sizeof(s), "%sif header :count \"eq\" :comparator \"i;ascii-numeric\" "
		 "\"received\" \"2\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif address :count \"eq\" :comparator \"i;ascii-numeric\" "
		 "[\"to\", \"cc\"] \"2\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif header :value \"gt\" \"subject\" \"B\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif header :value \"lt\" \"subject\" \"B\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif header :value \"ne\" :comparator \"i;ascii-numeric\" "
		 "\"x-empty\" \"1\" { discard; }", req);
	expect(s, "discard\n"); /* "" is +infinity */
	snprintf(s, sizeof(s), "%sif header :is :comparator \"i;ascii-numeric\" \"x-folded\" "
		 "\"abc\" { discard; }", req);
	expect(s, "discard\n"); /* both infinite */
	snprintf(s, sizeof(s), "%sif header :value \"ge\" :comparator \"i;ascii-numeric\" "
		 "\"received\" \"0\" { discard; }", req);
	expect(s, "discard\n");
}

static void test_body(void **state)
{
	(void)state;
	const char *req = "require \"body\";\n";
	char s[512];
	snprintf(s, sizeof(s), "%sif body :contains \"café\" { discard; }", req);
	expect(s, "discard\n"); /* quoted-printable latin-1 decoded */
	snprintf(s, sizeof(s), "%sif body :text :contains \"unsubscribe\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif body :raw :contains \"caf=E9\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif body :raw :contains \"café\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif body :content \"text/html\" :contains \"<b>bold\" "
		 "{ discard; }", req);
	expect(s, "discard\n"); /* base64 decoded */
	snprintf(s, sizeof(s), "%sif body :content \"image\" :contains \"\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif body :content \"text/plain\" :contains \"<b>\" { discard; }",
		 req);
	expect(s, "keep INBOX\n");
}

static void test_variables_fixed(void **state)
{
	(void)state;
	expect("require [\"variables\", \"fileinto\", \"relational\"];\n"
	       "set \"x\" \"1\"; if string :is \"${x}\" \"1\" { fileinto \"one\"; }\n"
	       "if string :count \"eq\" [\"\", \"a\"] \"1\" { discard; }", "fileinto one\n");
	/* ${...} that is not a variable reference stays as written */
	expect("require [\"variables\", \"fileinto\"]; fileinto \"${a-b}x${\";",
	       "fileinto ${a-b}x${\n");
	/* without require "variables" strings are taken literally */
	expect("require \"fileinto\"; fileinto \"${x}\";", "fileinto ${x}\n");
	/* a failed :matches leaves the match variables as they were */
	expect("require [\"variables\", \"fileinto\"];\n"
	       "if header :matches \"to\" \"*@*\" { }\n"
	       "if header :matches \"to\" \"nomatch*\" { }\n fileinto \"${1}\";",
	       "fileinto bob\n");
}

static void test_imap4flags(void **state)
{
	(void)state;
	expect("require \"imap4flags\"; setflag \"\\\\Seen $a\"; addflag [\"$b\", \"\\\\SEEN\"];",
	       "keep INBOX \\Seen $a $b\n");
	expect("require \"imap4flags\"; setflag \"\\\\Seen $a\"; removeflag \"\\\\seen\";",
	       "keep INBOX $a\n");
	expect("require [\"imap4flags\", \"fileinto\"]; addflag \"\\\\Flagged\";\n"
	       "fileinto \"A\"; fileinto :flags \"\\\\Draft bad(kw\" \"B\"; keep :flags \"\";",
	       "fileinto A \\Flagged\nfileinto B \\Draft\nkeep INBOX\n");
	expect("require \"imap4flags\"; addflag \"$x\"; if hasflag :is \"$X\" { discard; }",
	       "discard\n");
	expect("require [\"imap4flags\", \"variables\", \"fileinto\"];\n"
	       "addflag \"v\" \"a b\"; addflag \"v\" \"c\"; removeflag \"v\" \"a\";\n"
	       "if hasflag :is \"v\" [\"c\"] { fileinto :flags \"${v}\" \"V\"; }",
	       "fileinto V b c\n");
}

static void test_copy_mailbox_reject(void **state)
{
	(void)state;
	expect("require [\"fileinto\", \"copy\", \"mailbox\"]; fileinto :copy :create \"A\";",
	       "fileinto A :create :copy\nkeep INBOX\n");
	expect("require \"copy\"; redirect :copy \"a@b.example\";",
	       "redirect :copy <a@b.example>\nkeep INBOX\n");
	expect("require \"reject\"; reject \"go away\";", "reject \"go away\"\n");
	expect("require \"ereject\"; ereject \"no\";", "ereject \"no\"\n");
	/* RFC 5429 2.2: reject goes with no delivery */
	expect("require \"reject\"; keep; reject \"x\";",
	       "error reject cannot be combined with keep, fileinto or redirect\nkeep INBOX\n");
	expect("require [\"reject\", \"ereject\"]; reject \"x\"; ereject \"y\";",
	       "error more than one reject or ereject\nkeep INBOX\n");
	expect("require \"mailbox\"; if mailboxexists \"INBOX\" { discard; }", "keep INBOX\n");
	/* finishing: a reject the delivery could not refuse becomes a notice
	 * to the sender; a redirect keeps the original envelope sender */
	struct run_opts o = { 0 };
	struct sieve_plan *p = NULL;
	char *got = run_opts("require \"reject\"; reject \"Not here.\";", &o, &p);
	assert_string_equal(got, "reject \"Not here.\"\n");
	assert_int_equal(sent, 1);
	assert_true(strncmp(last_sent, ">sender@example.org\n", 20) == 0);
	assert_non_null(strstr(last_sent, "report-type=disposition-notification"));
	assert_non_null(strstr(last_sent, "Not here."));
	assert_non_null(strstr(last_sent, "Original-Message-ID: <m1@example.org>"));
	assert_non_null(strstr(last_sent, "automatic-action/MDN-sent-automatically; deleted"));
	free(got);
	sieve_plan_free(&p);
	got = run_opts("redirect \"a@b.example\";", &o, &p);
	assert_int_equal(sent, 1);
	assert_true(strncmp(last_sent, "sender@example.org>a@b.example\n", 31) == 0);
	free(got);
	sieve_plan_free(&p);
	/* nothing is sent for a message that was not stored */
	struct sieve_script *sc = NULL;
	const char *rs = "redirect \"a@b.example\";";
	assert_int_equal(sieve_compile(&lim, "t", rs, strlen(rs), &sc, NULL), 0);
	int fd = memfd_create("m", 0);
	assert_int_equal(write(fd, MSG, strlen(MSG)), (ssize_t)strlen(MSG));
	struct sieve_delivery d = { .user_address = "bob@example.net", .mail_from = "s@x.org",
				    .rcpt_to = "bob@example.net", .fd = fd, .size = strlen(MSG),
				    .compiled = sc };
	(void)sieve_deliver_plan(env, &d, &p);
	sent = 0;
	assert_int_equal(sieve_plan_finish(env, &d, p, false, false), 0);
	assert_int_equal(sent, 0);
	sieve_plan_free(&p);
	sieve_script_unref(&sc);
	close(fd);
}

static void test_date_and_index(void **state)
{
	(void)state;
	const char *req = "require [\"date\", \"index\", \"relational\"];\n";
	char s[600];
	/* Date: Sat, 06 Jun 2020 23:30:00 -0700 = Sun 07 Jun 06:30 UTC */
	snprintf(s, sizeof(s), "%sif date :originalzone \"date\" \"date\" \"2020-06-06\" "
		 "{ discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :zone \"+0000\" \"date\" \"iso8601\" "
		 "\"2020-06-07T06:30:00+00:00\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :zone \"+0000\" \"date\" \"weekday\" \"0\" { discard; }",
		 req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :originalzone \"date\" \"zone\" \"-0700\" { discard; }",
		 req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :zone \"+0200\" \"date\" \"std11\" "
		 "\"Sun, 07 Jun 2020 08:30:00 +0200\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :zone \"+0000\" \"date\" \"julian\" \"59007\" "
		 "{ discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date :zone \"+0000\" :value \"ge\" \"date\" \"time\" "
		 "\"06:00:00\" { discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif date \"x-missing\" \"year\" \"2020\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif currentdate :zone \"+0000\" \"date\" \"2020-06-07\" "
		 "{ discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif currentdate :zone \"+0000\" \"hour\" \"03\" { discard; }", req);
	expect(s, "discard\n");
	/* :index counts from the top, :last from the bottom */
	snprintf(s, sizeof(s), "%sif header :index 2 :contains \"received\" \"localhost\" "
		 "{ discard; }", req);
	expect(s, "discard\n");
	snprintf(s, sizeof(s), "%sif header :index 1 :last :contains \"received\" \"from a\" "
		 "{ discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif header :index 3 :contains \"received\" \"\" { discard; }", req);
	expect(s, "keep INBOX\n");
	snprintf(s, sizeof(s), "%sif address :index 1 :domain \"to\" \"example.net\" { discard; }",
		 req);
	expect(s, "discard\n");
}

static void test_editheader(void **state)
{
	(void)state;
	struct run_opts o = { 0 };
	struct sieve_plan *p = NULL;
	char *	got = run_opts("require \"editheader\";\n"
		       "addheader \"X-First\" \"1\"; addheader :last \"X-Last\" \"é\";\n"
		       "deleteheader \"x-folded\"; deleteheader :index 1 :last \"to\";\n"
		       "deleteheader :contains \"message-id\" \"nope\";\n"
		       "if header :is \"x-first\" \"1\" { addheader \"X-Seen\" \"yes\"; }\n"
		       "if exists \"x-folded\" { discard; }", &o, &p);
	assert_string_equal(got, "keep INBOX\n");
	assert_non_null(p->header);
	const char *h = p->header;
	assert_true(strncmp(h, "X-Seen: yes\r\nX-First: 1\r\nReturn-Path:", 36) == 0);
	assert_non_null(strstr(h, "X-Last: =?utf-8?b?w6k=?=\r\n\r\n"));
	assert_null(strstr(h, "X-Folded"));
	assert_null(strstr(h, "\r\nTo:"));
	assert_non_null(strstr(h, "Message-ID: <m1@example.org>"));
	assert_true(p->body_offset > 0 && MSG[p->body_offset - 1] == '\n' &&
		    strncmp(MSG + p->body_offset, "preamble", 8) == 0);
	free(got);
	sieve_plan_free(&p);
	expect("require [\"editheader\", \"variables\"]; set \"h\" \"Received\";\n"
	       "deleteheader \"${h}\";",
	       "error deleteheader: header \"Received\" cannot be deleted\nkeep INBOX\n");
}

static void test_spamtest(void **state)
{
	(void)state;
	const char *s = "require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
			"if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"5\" { discard; }\n"
			"elsif spamtest :is \"0\" { stop; }";
	struct run_opts o = { .spam = true, .score = 7 };
	expect_o(s, &o, "discard\n");
	o.score = 2;
	expect_o(s, &o, "keep INBOX\n");
	o.spam = false;
	expect_o(s, &o, "keep INBOX\n");
	const char *p = "require [\"spamtestplus\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
			"if spamtest :percent :value \"gt\" :comparator \"i;ascii-numeric\" \"80\" "
			"{ discard; }";
	struct run_opts o2 = { .spam = true, .percent = 95 };
	expect_o(p, &o2, "discard\n");
	o2.percent = 10;
	expect_o(p, &o2, "keep INBOX\n");
}

static void test_runtime_limits(void **state)
{
	(void)state;
	struct sieve_limits saved = lim;
	lim.max_actions = 2;
	sieve_env_free(&env);
	struct sieve_settings set = { .limits = lim, .cache_size = 4,
				      .outbox = { outbox, NULL } };
	env = sieve_env_create(&set);
	expect("require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; fileinto \"c\";",
	       "error more than max_actions (2) actions\nkeep INBOX\n");
	sieve_env_free(&env);
	set.limits = saved;
	set.limits.max_redirects = 1;
	env = sieve_env_create(&set);
	expect("redirect \"a@b.c\"; redirect \"d@e.f\";",
	       "error more than max_redirects (1) redirects\nkeep INBOX\n");
	sieve_env_free(&env);
	set.limits = saved;
	set.limits.max_steps = 1000;
	env = sieve_env_create(&set);
	struct msg_buf b = { 0 };
	msg_buf_puts(&b, "require \"fileinto\";\n");
	for (int i = 0; i < 400; i++)
		msg_buf_puts(&b, "if header :contains [\"received\", \"to\"] \"x\" { fileinto \"y\"; }\n");
	msg_buf_putc(&b, '\0');
	expect(b.data, "error the script used more than max_steps (1000) CPU steps\nkeep INBOX\n");
	msg_buf_free(&b);
	sieve_env_free(&env);
	set.limits = saved;
	set.limits.max_variable_size = 128;
	env = sieve_env_create(&set);
	expect("require [\"variables\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	       "set \"a\" \"0123456789012345678901234567890123456789012345678901234567890123"
	       "4567890123456789012345678901234567890123456789012345678901234567890123456789\";\n"
	       "set :length \"n\" \"${a}\"; if string :is \"${n}\" \"128\" { discard; }",
	       "discard\n");
	sieve_env_free(&env);
	set.limits = saved;
	env = sieve_env_create(&set);
	lim = saved;
}

/* ---- with a store: the active script, cache, include, marks ---- */

static time_t deliver_now = 1591500000;

static struct sieve_plan *deliver(struct fx *fx, const char *msg, const char *from)
{
	int fd = memfd_create("m", 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	d.user = fx->user;
	d.user_address = "bob@example.net";
	d.mail_from = from;
	d.rcpt_to = "bob@example.net";
	d.fd = fd;
	d.size = strlen(msg);
	d.now = deliver_now;
	struct sieve_plan *p = NULL;
	(void)sieve_deliver_plan(env, &d, &p);
	sent = 0;
	(void)sieve_plan_finish(env, &d, p, true, false);
	close(fd);
	return p;
}

static void expect_delivery(struct fx *fx, const char *msg, const char *from, const char *want)
{
	struct sieve_plan *p = deliver(fx, msg, from);
	char *got = plan_text(p);
	if (strcmp(got, want) != 0)
		fail_msg("want:\n%sgot:\n%s", want, got);
	free(got);
	sieve_plan_free(&p);
}

static void put(struct fx *fx, const char *name, const char *text)
{
	assert_int_equal(store_script_write(fx->user, name, text, strlen(text)), STORE_OK);
}

static void test_active_script_and_cache(void **state)
{
	struct fx *fx = *state;
	/* no script: the implicit keep */
	expect_delivery(fx, MSG, "a@b.c", "keep INBOX\n");
	put(fx, "main", "require \"fileinto\"; fileinto \"One\";");
	expect_delivery(fx, MSG, "a@b.c", "keep INBOX\n"); /* not active yet */
	assert_int_equal(store_script_activate(fx->user, "main"), STORE_OK);
	expect_delivery(fx, MSG, "a@b.c", "fileinto One\n");
	/* changed file, new compile (the cache checks the file's stamp) */
	usleep(10000);
	put(fx, "main", "require \"fileinto\"; fileinto \"Two\";");
	expect_delivery(fx, MSG, "a@b.c", "fileinto Two\n");
	/* a broken script keeps the mail and says why */
	put(fx, "main", "if frob { }");
	expect_delivery(fx, MSG, "a@b.c",
			"error the script does not compile (script error): line 1, column 4: "
			"unknown test 'frob'\nkeep INBOX\n");
	assert_int_equal(store_script_activate(fx->user, NULL), STORE_OK);
	expect_delivery(fx, MSG, "a@b.c", "keep INBOX\n");
}

static void test_include(void **state)
{
	struct fx *fx = *state;
	put(fx, "main", "require [\"include\", \"variables\", \"fileinto\"];\n"
	    "global \"box\"; set \"box\" \"Inc\";\n"
	    "include \"sub\"; include :once \"sub\"; include :once \"sub\";\n"
	    "include :optional \"missing\";\n"
	    "fileinto \"after-${box}\";");
	put(fx, "sub", "require [\"include\", \"variables\", \"fileinto\", \"imap4flags\"];\n"
	    "global \"box\"; addflag \"$x\"; fileinto \"${box}\"; set \"box\" \"Changed\"; return;\n"
	    "fileinto \"never\";");
	assert_int_equal(store_script_activate(fx->user, "main"), STORE_OK);
	expect_delivery(fx, MSG, "a@b.c", "fileinto Inc $x\nfileinto Changed $x\n"
			"fileinto after-Changed $x\n");
	put(fx, "main", "require \"include\"; include \"loop\";");
	put(fx, "loop", "require \"include\"; include \"main\";");
	expect_delivery(fx, MSG, "a@b.c",
			"error include: script \"main\" includes itself\nkeep INBOX\n");
	put(fx, "main", "require \"include\"; include \"missing\";");
	expect_delivery(fx, MSG, "a@b.c", "error include: personal script \"missing\": no such "
			"script\nkeep INBOX\n");
	put(fx, "main", "require \"include\"; include \"broken\";");
	put(fx, "broken", "frob;");
	expect_delivery(fx, MSG, "a@b.c", "error include: personal script \"broken\": line 1, "
			"column 1: unknown command 'frob'\nkeep INBOX\n");
}

static void test_vacation_and_marks(void **state)
{
	struct fx *fx = *state;
	put(fx, "v", "require [\"vacation\", \"vacation-seconds\"];\n"
	    "vacation :seconds 100000 :subject \"Away\" \"Back soon.\";");
	assert_int_equal(store_script_activate(fx->user, "v"), STORE_OK);
	struct sieve_plan *p = deliver(fx, MSG, "alice@example.org");
	char *got = plan_text(p);
	assert_string_equal(got, "vacation <alice@example.org>\nkeep INBOX\n");
	free(got);
	assert_int_equal(sent, 1);
	assert_non_null(strstr(last_sent, ">alice@example.org\n"));
	assert_true(last_sent[0] == '>'); /* from the null sender */
	assert_non_null(strstr(last_sent, "Subject: Away\r\n"));
	assert_non_null(strstr(last_sent, "In-Reply-To: <m1@example.org>\r\n"));
	assert_non_null(strstr(last_sent, "Auto-Submitted: auto-replied"));
	assert_non_null(strstr(last_sent, "\r\n\r\nBack soon.\r\n"));
	sieve_plan_free(&p);
	/* once per sender and period */
	expect_delivery(fx, MSG, "alice@example.org", "keep INBOX\n");
	assert_int_equal(sent, 0);
	expect_delivery(fx, MSG, "ALICE@example.org", "keep INBOX\n");
	/* never to the null sender, lists, bulk, auto-submitted, daemons */
	expect_delivery(fx, MSG, "", "keep INBOX\n");
	expect_delivery(fx, MSG, "MAILER-DAEMON@example.org", "keep INBOX\n");
	expect_delivery(fx, MSG, "owner-list@example.org", "keep INBOX\n");
	expect_delivery(fx, MSG, "list-request@example.org", "keep INBOX\n");
	char list[2048];
	snprintf(list, sizeof(list), "List-Id: <l.example.org>\r\n%s", MSG);
	expect_delivery(fx, list, "dave@example.org", "keep INBOX\n");
	snprintf(list, sizeof(list), "Precedence: bulk\r\n%s", MSG);
	expect_delivery(fx, list, "dave@example.org", "keep INBOX\n");
	snprintf(list, sizeof(list), "Auto-Submitted: auto-replied\r\n%s", MSG);
	expect_delivery(fx, list, "dave@example.org", "keep INBOX\n");
	/* not a recipient: no reply (RFC 5230 4.5) */
	expect_delivery(fx, "From: e@x.org\r\nTo: someone@else.org\r\n\r\nx\r\n", "e@x.org",
			"keep INBOX\n");
	/* ... unless :addresses names one of the recipients */
	put(fx, "v", "require \"vacation\";\n"
	    "vacation :addresses [\"someone@else.org\"] \"Back soon.\";");
	expect_delivery(fx, "From: e@x.org\r\nTo: someone@else.org\r\n\r\nx\r\n", "e@x.org",
			"vacation <e@x.org>\nkeep INBOX\n");
	assert_int_equal(sent, 1);
	/* a new sender gets a reply */
	expect_delivery(fx, MSG, "dave@example.org", "vacation <dave@example.org>\nkeep INBOX\n");
	/* :seconds below vacation_min_period (1 day) is raised to it */
	put(fx, "v", "require [\"vacation\", \"vacation-seconds\"];\n"
	    "vacation :seconds 1 :handle \"short\" \"Back soon.\";");
	expect_delivery(fx, MSG, "erin@example.org", "vacation <erin@example.org>\nkeep INBOX\n");
	deliver_now += 3600;
	expect_delivery(fx, MSG, "erin@example.org", "keep INBOX\n");
	deliver_now += 86400;
	expect_delivery(fx, MSG, "erin@example.org", "vacation <erin@example.org>\nkeep INBOX\n");
	/* :days beyond vacation_max_period (90 days) is lowered to it */
	put(fx, "v", "require \"vacation\";\nvacation :days 1000 :handle \"long\" \"Away.\";");
	expect_delivery(fx, MSG, "erin@example.org", "vacation <erin@example.org>\nkeep INBOX\n");
	deliver_now += 91 * 86400;
	expect_delivery(fx, MSG, "erin@example.org", "vacation <erin@example.org>\nkeep INBOX\n");
	deliver_now = 1591500000;
	/* the marks are a file in the user's directory */
	char path[600];
	snprintf(path, sizeof(path), "%s/loft-marks", store_user_dir(fx->user));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size % 40, 0);
	assert_true(st.st_size >= 40); /* the expired ones were dropped */
}

static void test_duplicate(void **state)
{
	struct fx *fx = *state;
	put(fx, "d", "require [\"duplicate\", \"fileinto\"];\n"
	    "if duplicate { fileinto \"Dups\"; }\n"
	    "if duplicate :header \"subject\" :handle \"s\" { fileinto \"SameSubject\"; }");
	assert_int_equal(store_script_activate(fx->user, "d"), STORE_OK);
	expect_delivery(fx, MSG, "a@b.c", "keep INBOX\n");
	expect_delivery(fx, MSG, "a@b.c", "fileinto Dups\nfileinto SameSubject\n");
	/* no Message-ID: never a duplicate */
	expect_delivery(fx, "Subject: x\r\n\r\nbody\r\n", "a@b.c", "keep INBOX\n");
	expect_delivery(fx, "Subject: x\r\n\r\nbody\r\n", "a@b.c", "fileinto SameSubject\n");
	/* the same id twice in one run: the second is a duplicate */
	put(fx, "d", "require [\"duplicate\", \"fileinto\"];\n"
	    "if duplicate :uniqueid \"u1\" { fileinto \"A\"; }\n"
	    "if duplicate :uniqueid \"u1\" { fileinto \"B\"; }");
	expect_delivery(fx, MSG, "a@b.c", "fileinto B\n");
}

static void test_mailboxexists_and_marks_api(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Work", 0), STORE_OK);
	put(fx, "m", "require [\"mailbox\", \"fileinto\"];\n"
	    "if mailboxexists [\"INBOX\", \"Work\"] { fileinto \"Yes\"; }\n"
	    "if mailboxexists \"Nope\" { fileinto \"No\"; }");
	assert_int_equal(store_script_activate(fx->user, "m"), STORE_OK);
	expect_delivery(fx, MSG, "a@b.c", "fileinto Yes\n");
	/* the marks API: expiry, refresh, the limit on their number */
	struct store_mark m[3];
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 3; i++) {
		m[i].key[0] = (unsigned char)(i + 1);
		m[i].expires = 1000 + i;
	}
	assert_int_equal(store_mark_put(fx->user, m, 3, 500, 2), STORE_OK);
	bool seen;
	assert_int_equal(store_mark_check(fx->user, m[0].key, 500, &seen), STORE_OK);
	assert_false(seen); /* the oldest went beyond max 2 */
	assert_int_equal(store_mark_check(fx->user, m[2].key, 500, &seen), STORE_OK);
	assert_true(seen);
	assert_int_equal(store_mark_check(fx->user, m[2].key, 1002, &seen), STORE_OK);
	assert_false(seen); /* expired */
	m[1].expires = 5000;
	m[1].refresh = true;
	assert_int_equal(store_mark_put(fx->user, &m[1], 1, 1500, 0), STORE_OK);
	assert_int_equal(store_mark_check(fx->user, m[1].key, 4000, &seen), STORE_OK);
	assert_true(seen);
	assert_int_equal(store_mark_check(fx->user, m[2].key, 1001, &seen), STORE_OK);
	assert_false(seen); /* dropped as expired by the put at 1500 */
}

static void test_script_store(void **state)
{
	struct fx *fx = *state;
	struct store_script_info *list;
	size_t n;
	assert_int_equal(store_script_list(fx->user, &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	char *name = NULL;
	assert_int_equal(store_script_active(fx->user, &name), STORE_ENOTFOUND);
	put(fx, "b", "keep;");
	put(fx, ".hidden/100%", "discard;");
	put(fx, "a", "keep;");
	assert_int_equal(store_script_list(fx->user, &list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].name, ".hidden/100%");
	assert_string_equal(list[1].name, "a");
	assert_int_equal(list[1].size, 5);
	store_script_list_free(list, n);
	char *text;
	size_t len;
	assert_int_equal(store_script_read(fx->user, ".hidden/100%", 100, &text, &len, NULL),
			 STORE_OK);
	assert_string_equal(text, "discard;");
	free(text);
	assert_int_equal(store_script_read(fx->user, "a", 3, &text, &len, NULL), STORE_ETOOBIG);
	assert_int_equal(store_script_read(fx->user, "zz", 100, &text, &len, NULL),
			 STORE_ENOTFOUND);
	assert_int_equal(store_script_activate(fx->user, "zz"), STORE_ENOTFOUND);
	assert_int_equal(store_script_activate(fx->user, "a"), STORE_OK);
	assert_int_equal(store_script_delete(fx->user, "a"), STORE_EINUSE);
	assert_int_equal(store_script_rename(fx->user, "a", "b"), STORE_EEXISTS);
	assert_int_equal(store_script_rename(fx->user, "a", "c"), STORE_OK);
	assert_int_equal(store_script_active(fx->user, &name), STORE_OK);
	assert_string_equal(name, "c");
	free(name);
	assert_int_equal(store_script_rename(fx->user, "a", "d"), STORE_ENOTFOUND);
	assert_int_equal(store_script_delete(fx->user, "b"), STORE_OK);
	assert_int_equal(store_script_delete(fx->user, "b"), STORE_ENOTFOUND);
	assert_false(store_script_name_valid(""));
	assert_false(store_script_name_valid("a\nb"));
	assert_false(store_script_name_valid("\xc2\x85"));   /* C1 control */
	assert_false(store_script_name_valid("\xe2\x80\xa8")); /* LINE SEPARATOR */
	assert_false(store_script_name_valid("\xff"));
	assert_true(store_script_name_valid("Über"));
	assert_int_equal(store_script_write(fx->user, "", "x", 1), STORE_EINVALID);
}

static int env_setup(void **state)
{
	(void)state;
	sieve_limits_default(&lim);
	struct sieve_settings set = { .limits = lim, .cache_size = 4, .hostname = "test.example",
				      .outbox = { outbox, NULL } };
	env = sieve_env_create(&set);
	setenv("TZ", "UTC", 1);
	return 0;
}

static int env_teardown(void **state)
{
	(void)state;
	sieve_env_free(&env);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implicit_keep_and_core_actions),
		cmocka_unit_test(test_header_test),
		cmocka_unit_test(test_address_envelope_exists_size),
		cmocka_unit_test(test_subaddress),
		cmocka_unit_test(test_relational_and_comparators),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_variables_fixed),
		cmocka_unit_test(test_imap4flags),
		cmocka_unit_test(test_copy_mailbox_reject),
		cmocka_unit_test(test_date_and_index),
		cmocka_unit_test(test_editheader),
		cmocka_unit_test(test_spamtest),
		cmocka_unit_test(test_runtime_limits),
		cmocka_unit_test_setup_teardown(test_active_script_and_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vacation_and_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailboxexists_and_marks_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, env_setup, env_teardown);
}
