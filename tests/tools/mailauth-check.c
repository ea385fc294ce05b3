/* Runs Loft's sender checks on one message the way the SMTP session will
 * (server/mailauth/mailauth.h on a libuv loop, DNS through the loop's
 * c-ares resolver), for the end-to-end tests that serve DNS from a test
 * server on loopback:
 *   mailauth-check [--on-spf] CONFIG CLIENT_IP HELO MAIL_FROM MESSAGE
 * CONFIG is a loft.conf ([dns] and [mailauth] matter); MAIL_FROM "" is the
 * null path; the message is fed with CRLF line ends in 1000-byte chunks.
 * --on-spf also asks for the SPF verdict before the message, as the
 * session does at DATA. Prints "dnsbl: ...", "spf-verdict: ...",
 * "verdict: ...", "elapsed_ms: N", the header fields to prepend, and
 * "loop: clean" when every handle was closed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "conf/config.h"
#include "lib/log.h"
#include "server/mailauth/mailauth.h"
#include "storage/message/message.h"
#include "tests/support/message-file.h"

static bool done;

static void on_done(void *arg)
{
	(void)arg;
	done = true;
}

static void run_until_done(uv_loop_t *loop)
{
	done = false;
	while (!done)
		uv_run(loop, UV_RUN_ONCE);
}

int main(int argc, char **argv)
{
	bool on_spf = false;
	int a = 1;
	if (argc > 1 && strcmp(argv[1], "--on-spf") == 0) {
		on_spf = true;
		a++;
	}
	if (argc - a != 5) {
		fprintf(stderr, "usage: mailauth-check [--on-spf] CONFIG IP HELO MAIL_FROM MESSAGE\n");
		return 2;
	}
	log_set_level(LOG_LEVEL_WARN);
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(argv[a], &cfg, &err) != 0) {
		conf_print_errors(stderr, "mailauth-check: ", err, "bad configuration");
		return 2;
	}
	struct mailauth_env *env = NULL;
	if (mailauth_env_new(cfg, &env, &err) != 0) {
		fprintf(stderr, "mailauth-check: %s\n", err);
		return 2;
	}
	struct msg_buf msg;
	if (!message_file_crlf(argv[a + 4], &msg)) {
		perror(argv[a + 4]);
		return 2;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	uint64_t t0 = uv_hrtime();
	struct mailauth_conn *c = mailauth_conn_new(env, &loop, argv[a + 1], cfg->hostname, &err);
	if (c == NULL) {
		fprintf(stderr, "mailauth-check: %s\n", err);
		return 2;
	}
	mailauth_conn_set_helo(c, argv[a + 2]);
	mailauth_dnsbl_start(c, on_done, NULL);
	run_until_done(&loop);
	const char *reply;
	enum mailauth_verdict v = mailauth_dnsbl_verdict(c, &reply);
	printf("dnsbl: %s %s\n", mailauth_verdict_name(v), reply ? reply : "");

	struct mailauth_tx *tx = mailauth_tx_begin(c, argv[a + 3]);
	if (on_spf) {
		mailauth_tx_on_spf(tx, on_done, NULL);
		run_until_done(&loop);
		v = mailauth_tx_spf_verdict(tx, &reply);
		printf("spf-verdict: %s %s\n", mailauth_verdict_name(v), reply ? reply : "");
	}
	for (size_t off = 0; off < msg.len; off += 1000)
		mailauth_tx_feed(tx, msg.data + off, msg.len - off < 1000 ? msg.len - off : 1000);
	mailauth_tx_end(tx, on_done, NULL);
	run_until_done(&loop);
	v = mailauth_tx_verdict(tx, &reply);
	printf("verdict: %s %s\n", mailauth_verdict_name(v), reply ? reply : "");
	printf("elapsed_ms: %llu\n", (unsigned long long)((uv_hrtime() - t0) / 1000000u));
	struct msg_buf hdr = { 0 };
	mailauth_tx_header(tx, &hdr);
	fwrite(hdr.data, 1, hdr.len, stdout);
	msg_buf_free(&hdr);
	mailauth_tx_free(&tx);
	mailauth_conn_free(&c);
	dns_loop_resolver_end();
	uv_run(&loop, UV_RUN_DEFAULT);
	printf("loop: %s\n", uv_loop_close(&loop) == 0 ? "clean" : "handles left open");
	mailauth_env_free(&env);
	conf_free(cfg);
	msg_buf_free(&msg);
	return 0;
}
