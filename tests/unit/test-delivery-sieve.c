/* delivery_run with Sieve (server/lmtp/delivery-sieve.c) on a real store:
 * spamtest and spamtestplus read the verdict the session hands over in
 * base->spam (stored with the message too), and reject/ereject are answered
 * as delivery_msg.refuse says: per recipient (LMTP), for the message or by
 * a notice (SMTP), by a notice (`loft deliver`), with a failed notice
 * making the recipient a temporary failure. The outbox is a capture. */
#include "store-fixture.h"

#include "server/lmtp/delivery.h"
#include "server/sieve/sieve.h"

struct outbox {
	int sent;
	int fail;                    /* answer this error */
	char rcpt[128];
	char text[1024];
};

static int capture(void *ctx, const char *mail_from, const char *rcpt, const char *msg,
		   size_t msg_len, int body_fd, uint64_t body_offset, uint64_t body_end)
{
	struct outbox *o = ctx;
	(void)mail_from; (void)body_fd; (void)body_offset; (void)body_end;
	if (o->fail != 0)
		return o->fail;
	o->sent++;
	snprintf(o->rcpt, sizeof(o->rcpt), "%s", rcpt);
	snprintf(o->text, sizeof(o->text), "%.*s", (int)msg_len, msg);
	return 0;
}

static struct sieve_env *env_new(struct outbox *o)
{
	struct sieve_settings set;
	memset(&set, 0, sizeof(set));
	sieve_limits_default(&set.limits);
	set.hostname = "mx.example.org";
	set.cache_size = 4;
	set.outbox.send = capture;
	set.outbox.ctx = o;
	return sieve_env_create(&set);
}

static void put_script(struct fx *fx, const char *user, const char *text)
{
	struct store_user *u = NULL;
	assert_int_equal(store_user_attach(fx->store, user, &u), STORE_OK);
	assert_int_equal(store_script_write(u, "main", text, strlen(text)), STORE_OK);
	assert_int_equal(store_script_activate(u, "main"), STORE_OK);
	store_user_close(&u);
}

static const char MSG[] = "From: sender@example.org\r\nTo: alice@example.org\r\n"
			  "Subject: hello\r\nMessage-ID: <d1@example.org>\r\n\r\nHello.\r\n";

static void run(struct fx *fx, struct sieve_env *env, enum delivery_refuse refuse,
		struct delivery_rcpt *rcpts, size_t n, const struct store_append_meta *base)
{
	struct delivery_msg *m = delivery_msg_new(fx->store, 0);
	assert_int_equal(delivery_msg_write(m, MSG, sizeof(MSG) - 1), STORE_OK);
	m->sieve = env;
	m->mail_from = "sender@example.org";
	m->refuse = refuse;
	delivery_run(m, rcpts, n, base);
	delivery_msg_free(&m);
}

static uint32_t messages(struct fx *fx, const char *mailbox)
{
	struct store_status st;
	if (store_status(fx->user, mailbox, &st) != STORE_OK)
		return 0;
	return st.messages;
}

static const char SPAM_SCRIPT[] =
	"require [\"spamtest\", \"spamtestplus\", \"fileinto\", \"mailbox\", \"relational\",\n"
	"         \"comparator-i;ascii-numeric\"];\n"
	"if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"8\" {\n"
	"    fileinto :create \"Junk\";\n"
	"} elsif spamtest :percent :value \"ge\" :comparator \"i;ascii-numeric\" \"40\" {\n"
	"    fileinto :create \"Maybe\";\n"
	"} elsif spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"0\" {\n"
	"    fileinto :create \"Untested\";\n"
	"}\n";

static void test_spamtest_reads_the_verdict(void **state)
{
	struct fx *fx = *state;
	struct outbox o = { 0 };
	struct sieve_env *env = env_new(&o);
	put_script(fx, "alice", SPAM_SCRIPT);
	struct delivery_rcpt r = { .user = "alice", .address = "alice@example.org" };
	struct store_append_meta spam = {
		.spam = { .verdict = STORE_SPAM_SPAM, .score_milli = 16000,
			  .required_milli = 15000 },
	};
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, &spam);
	assert_int_equal(r.result, STORE_OK);
	assert_true(r.sieve);
	assert_int_equal(messages(fx, "Junk"), 1);
	/* the verdict is stored with the filed message */
	struct store_mailbox *mbox = open_box(fx, "Junk", true);
	struct store_spam got;
	assert_int_equal(store_msg_spam_get(mbox, r.uid, &got), STORE_OK);
	assert_int_equal(got.verdict, STORE_SPAM_SPAM);
	assert_int_equal(got.score_milli, 16000);
	store_mailbox_close(&mbox);

	struct store_append_meta half = {
		.spam = { .verdict = STORE_SPAM_HAM, .score_milli = 7500, .required_milli = 15000 },
	};
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, &half);   /* 50%, spamtest 5 */
	assert_int_equal(messages(fx, "Maybe"), 1);
	struct store_append_meta ham = {
		.spam = { .verdict = STORE_SPAM_HAM, .score_milli = 1000, .required_milli = 15000 },
	};
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, &ham);
	assert_int_equal(messages(fx, "INBOX"), 1);
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, NULL);   /* no verdict: "0" */
	assert_int_equal(messages(fx, "Untested"), 1);
	assert_int_equal(o.sent, 0);
	sieve_env_free(&env);
}

static const char REJECT_SCRIPT[] = "require \"reject\";\nreject \"Go away.\";\n";

static void two_rcpts(struct delivery_rcpt r[2])
{
	r[0] = (struct delivery_rcpt){ .user = "alice", .address = "alice@example.org" };
	r[1] = (struct delivery_rcpt){ .user = "bob", .address = "bob@example.org" };
}

static void test_reject_per_recipient(void **state)
{
	struct fx *fx = *state;
	struct outbox o = { 0 };
	struct sieve_env *env = env_new(&o);
	put_script(fx, "alice", REJECT_SCRIPT);
	struct delivery_rcpt r[2];
	two_rcpts(r);
	run(fx, env, DELIVERY_REFUSE_RCPT, r, 2, NULL);
	assert_int_equal(r[0].result, DELIVERY_EREJECTED);
	assert_true(r[0].rejected);
	assert_string_equal(delivery_rcpt_reply(&r[0], false), "550 5.7.1 Go away.");
	assert_int_equal(r[1].result, STORE_OK);
	assert_false(r[1].sieve);
	assert_int_equal(messages(fx, "INBOX"), 0);
	assert_int_equal(o.sent, 0);   /* refused in the protocol: no notice */
	sieve_env_free(&env);
}

static void test_reject_smtp_message(void **state)
{
	struct fx *fx = *state;
	struct outbox o = { 0 };
	struct sieve_env *env = env_new(&o);
	put_script(fx, "alice", REJECT_SCRIPT);
	/* the only recipient rejects: the message is refused */
	struct delivery_rcpt one = { .user = "alice", .address = "alice@example.org" };
	run(fx, env, DELIVERY_REFUSE_MESSAGE, &one, 1, NULL);
	assert_int_equal(one.result, DELIVERY_EREJECTED);
	assert_int_equal(o.sent, 0);
	/* another recipient took it: 250 for all, a notice to the sender */
	struct delivery_rcpt r[2];
	two_rcpts(r);
	run(fx, env, DELIVERY_REFUSE_MESSAGE, r, 2, NULL);
	assert_int_equal(r[0].result, STORE_OK);
	assert_true(r[0].rejected);
	assert_int_equal(r[1].result, STORE_OK);
	assert_int_equal(o.sent, 1);
	assert_string_equal(o.rcpt, "sender@example.org");
	assert_non_null(strstr(o.text, "Go away."));
	assert_int_equal(messages(fx, "INBOX"), 0);
	sieve_env_free(&env);
}

static void test_reject_notice_and_its_failure(void **state)
{
	struct fx *fx = *state;
	struct outbox o = { 0 };
	struct sieve_env *env = env_new(&o);
	put_script(fx, "alice", "require \"ereject\";\nereject \"No.\";\n");
	struct delivery_rcpt r = { .user = "alice", .address = "alice@example.org" };
	run(fx, env, DELIVERY_REFUSE_NOTICE, &r, 1, NULL);
	assert_int_equal(r.result, STORE_OK);
	assert_true(r.rejected);
	assert_int_equal(o.sent, 1);
	/* the notice cannot go: a temporary failure, so the MTA retries */
	o.fail = -5;
	run(fx, env, DELIVERY_REFUSE_NOTICE, &r, 1, NULL);
	assert_int_equal(r.result, STORE_EIO);
	assert_true(r.rejected);
	assert_int_equal(o.sent, 1);
	assert_int_equal(messages(fx, "INBOX"), 0);
	sieve_env_free(&env);
}

static void test_flags_merge_and_one_copy_per_mailbox(void **state)
{
	struct fx *fx = *state;
	struct outbox o = { 0 };
	struct sieve_env *env = env_new(&o);
	/* the implicit keep goes to the recipient's mailbox, which is
	 * missing: INBOX, where fileinto "INBOX" goes too: one copy, both actions' flags and
	 * the caller's (loft deliver -F) */
	put_script(fx, "alice", "require [\"fileinto\", \"imap4flags\", \"copy\"];\n"
				"addflag \"\\\\Flagged\";\n"
				"fileinto :copy :flags \"$A\" \"INBOX\";\n");
	const char *kw[] = { "$Caller" };
	struct store_append_meta base = { .flags = STORE_FLAG_SEEN, .keywords = kw,
					  .n_keywords = 1 };
	struct delivery_rcpt r = { .user = "alice", .mailbox = "Missing", .fallback = true };
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, &base);
	assert_int_equal(r.result, STORE_OK);
	assert_false(r.discarded);
	assert_int_equal(messages(fx, "INBOX"), 1);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	struct store_msg msg = get_msg(mbox, r.uid);
	assert_int_equal(msg.flags & (STORE_FLAG_SEEN | STORE_FLAG_FLAGGED),
			 STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_true(has_keyword(mbox, r.uid, "$A"));
	assert_true(has_keyword(mbox, r.uid, "$Caller"));
	store_mailbox_close(&mbox);
	/* discard alone stores nothing and says so */
	put_script(fx, "alice", "discard;\n");
	r.mailbox = NULL;
	run(fx, env, DELIVERY_REFUSE_RCPT, &r, 1, NULL);
	assert_int_equal(r.result, STORE_OK);
	assert_true(r.discarded);
	assert_int_equal(messages(fx, "INBOX"), 1);
	sieve_env_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spamtest_reads_the_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_per_recipient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_smtp_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_notice_and_its_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flags_merge_and_one_copy_per_mailbox, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
