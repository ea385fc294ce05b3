/* libFuzzer target for the SASL mechanisms (auth/sasl*.c), the parsers of
 * the client's authentication messages. The first byte picks the mechanism,
 * whether the connection is TLS with channel binding, and whether lines are
 * fed as they are (exercising the base64 decoder) or base64-encoded first
 * (so the mechanism sees the raw bytes); the rest is split at '\n' into the
 * client's responses, the first one an initial response. The blocking work
 * runs inline. Every result must be a known one, every challenge valid
 * base64, and a finished machine must stay finished; otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth *auth;
static char dir[] = "/tmp/loft-fuzz-sasl-XXXXXX";
static char path[128];

static void cleanup(void)
{
	auth_free(&auth);
	unlink(path);
	rmdir(dir);
}

static const unsigned char cb_data[32] = "0123456789abcdef0123456789abcdef";

static void setup(void)
{
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/users", dir);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		abort();
	/* cheap schemes only: fuzzing wants many executions per second */
	fputs("user:{PLAIN}pencil\n"
	      "tim:{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b\n"
	      "dove:{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimcM"
	      "PiVY6Nvg51Y=,bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=\n"
	      "ssha:{SSHA}KOKVhYxuRFknkNwtxI8caObG8Ka2fdu2::::::scram_sha1={SCRAM-SHA-1}4096,"
	      "k2Wsv9XzeQektPs97QBm+g==,JzlvUjuGSuXnPhucjaTYeUD2sy0=,/adv5gcDLbD+XKWUhfLaJStc/ag=\n"
	      "off:{PLAIN}x::::::disabled=yes\n", fp);
	fclose(fp);
	struct auth_settings s;
	auth_settings_default(&s);
	s.users_file = path;
	s.local_domains = "example.org";
	s.throttle.delay_base_ms = 0;
	s.throttle.addr_limit = 0;
	s.throttle.user_limit = 0;
	s.max_response = 4096;
	log_set_level(LOG_LEVEL_ERROR);
	char *err = NULL;
	if (auth_create(&s, &auth, &err) != 0)
		abort();
	atexit(cleanup);
}

static bool valid_result(int r)
{
	return r == SASL_CONTINUE || r == SASL_NEED_WORK || (r <= AUTH_OK && r >= AUTH_ETEMP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (auth == NULL)
		setup();
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	bool tls = (ctl & 0x08) != 0, raw = (ctl & 0x10) != 0, no_ir = (ctl & 0x20) != 0;
	struct auth_conn conn = {
		.service = USERDB_SERVICE_IMAP, .tls = tls,
		.remote_addr = (ctl & 0x40) ? "192.0.2.1" : "127.0.0.1",
		.cb = { { tls ? "tls-exporter" : NULL, tls ? cb_data : NULL,
			  tls ? sizeof(cb_data) : 0 } },
	};
	struct sasl *s = NULL;
	enum auth_mech mech = (enum auth_mech)((ctl & 0x07) % AUTH_MECH_COUNT);
	int r = sasl_start(auth, &conn, auth_mech_name(mech), &s);
	if (r != 0)
		return 0;   /* e.g. -PLUS without TLS */
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *ch = NULL;
	if (no_ir)
		r = sasl_step(s, NULL, 0, &ch);
	else
		r = SASL_CONTINUE;
	for (int steps = 0; steps < 8 && (r == SASL_CONTINUE || r == SASL_NEED_WORK); steps++) {
		if (r == SASL_NEED_WORK) {
			sasl_work(s);
			r = sasl_resume(s, &ch);
			continue;
		}
		if (ch != NULL) {
			char tmp[8192];
			size_t cl = strlen(ch);
			if (cl > 4 * sizeof(tmp) / 3 ||
			    base64_decode(ch, cl, tmp, sizeof(tmp), true) < 0)
				abort();
		}
		if (p >= end)
			break;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (raw) {
			r = sasl_step(s, p, len, &ch);
		} else {
			char *b64 = base64_encode_str(p, len);
			r = sasl_step(s, b64, strlen(b64), &ch);
			free(b64);
		}
		if (!valid_result(r))
			abort();
		p += len + (nl != NULL);
	}
	if (!valid_result(r))
		abort();
	if (r <= AUTH_OK) {
		/* finished: stays finished with the same result */
		const char *again = NULL;
		if (sasl_step(s, "", 0, &again) != r || sasl_login(s)->result != r)
			abort();
	}
	sasl_free(&s);
	return 0;
}
