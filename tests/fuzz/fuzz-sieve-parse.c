/* libFuzzer target for the Sieve compiler (server/sieve/: lexer, parser,
 * validation). For any input: compiling never crashes, leaks or reads past
 * the input; a failure always comes with a message naming a line and a
 * column; a success compiles again to a script of the same size (the
 * compile is deterministic) and runs over a small message without a
 * crash. Limits are small so deep nesting is reached quickly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char message[] =
	"From: Alice <alice+x@example.org>\r\nTo: bob@example.net\r\n"
	"Subject: =?utf-8?q?hello_world?=\r\nDate: Mon, 1 Jun 2020 10:00:00 +0200\r\n"
	"Message-ID: <1@example.org>\r\nContent-Type: text/plain\r\n\r\nbody text\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sieve_env *env;
	static int fd = -1;
	if (env == NULL) {
		struct sieve_settings set;
		memset(&set, 0, sizeof(set));
		sieve_limits_default(&set.limits);
		set.limits.max_nesting = 12;
		set.limits.max_steps = 20000;
		set.cache_size = 4;
		env = sieve_env_create(&set);
		fd = memfd_create("msg", 0);
		if (write(fd, message, sizeof(message) - 1) != (ssize_t)(sizeof(message) - 1))
			abort();
	}
	struct sieve_script *s = NULL;
	char *err = NULL;
	int r = sieve_compile(sieve_env_limits(env), "fuzz", (const char *)data, size, &s, &err);
	if (r != 0) {
		if (err == NULL || strstr(err, "line ") == NULL || strstr(err, "column ") == NULL)
			abort();
		free(err);
		return 0;
	}
	if (err != NULL)
		abort();
	struct sieve_script *again = NULL;
	if (sieve_compile(sieve_env_limits(env), "fuzz", (const char *)data, size, &again, NULL) != 0 ||
	    sieve_script_memory(again) != sieve_script_memory(s))
		abort();
	sieve_script_unref(&again);
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	d.user_address = "bob@example.net";
	d.mail_from = "alice@example.org";
	d.rcpt_to = "bob@example.net";
	d.fd = fd;
	d.size = sizeof(message) - 1;
	d.now = 1600000000;
	d.compiled = s;
	struct sieve_plan *p = NULL;
	(void)sieve_deliver_plan(env, &d, &p);
	if (p == NULL || p->n_actions == 0)
		abort();
	sieve_plan_free(&p);
	sieve_script_unref(&s);
	return 0;
}
