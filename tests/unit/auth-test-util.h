/* Helpers shared by the auth unit tests (included, not compiled alone):
 * a temporary directory with a users file, an auth built on it with cheap
 * hash costs, and a SASL driver loop that runs the blocking work inline. */
#ifndef LOFT_TESTS_AUTH_TEST_UTIL_H
#define LOFT_TESTS_AUTH_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/xmem.h"

struct tdir {
	char dir[64];
	char *users, *apppass, *logins, *secret;
};

static inline struct tdir *tdir_new(void)
{
	struct tdir *t = xcalloc(1, sizeof(*t));
	strcpy(t->dir, "/tmp/loft-test-auth-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		abort();
	t->users = xasprintf("%s/users", t->dir);
	t->apppass = xasprintf("%s/app-passwords", t->dir);
	t->logins = xasprintf("%s/logins", t->dir);
	t->secret = xasprintf("%s/auth-secret", t->dir);
	return t;
}

static inline void tdir_free(struct tdir *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", t->dir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(t->dir);
	free(t->users);
	free(t->apppass);
	free(t->logins);
	free(t->secret);
	free(t);
}

static inline void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

/* Cheap settings for tests: small ARGON2ID, no throttling delay unless the
 * test sets one. */
static inline void test_settings(struct tdir *t, struct auth_settings *s)
{
	auth_settings_default(s);
	s->users_file = t->users;
	s->app_passwords_file = t->apppass;
	s->login_state_file = t->logins;
	s->secret_file = t->secret;
	s->local_domains = "example.org example.net";
	s->hostname = "mail.example.org";
	s->hash.argon2_memory_kib = 256;
	s->hash.argon2_time = 1;
	s->throttle.delay_base_ms = 0;
	s->throttle.addr_limit = 0;
	s->throttle.user_limit = 0;
}

static inline struct auth *test_auth(struct tdir *t, const struct auth_settings *s)
{
	struct auth *a = NULL;
	char *err = NULL;
	if (auth_create(s, &a, &err) != 0) {
		fprintf(stderr, "auth_create: %s\n", err);
		abort();
	}
	return a;
}

/* Run one SASL step with raw bytes (base64-encoded here; NULL = no
 * response), doing the work inline. *challenge_r gets the decoded
 * challenge (heap, NUL-terminated) on SASL_CONTINUE. */
static inline int sasl_raw(struct sasl *s, const void *raw, size_t len, char **challenge_r)
{
	const char *ch = NULL;
	int r;
	if (raw == NULL) {
		r = sasl_step(s, NULL, 0, &ch);
	} else {
		char *b64 = base64_encode_str(raw, len);
		r = sasl_step(s, b64, strlen(b64), &ch);
		free(b64);
	}
	if (r == SASL_NEED_WORK) {
		sasl_work(s);
		r = sasl_resume(s, &ch);
	}
	if (challenge_r != NULL) {
		*challenge_r = NULL;
		if (r == SASL_CONTINUE) {
			char *out = xmalloc(BASE64_DECODED_MAX(strlen(ch)) + 1);
			long n = base64_decode(ch, strlen(ch), out, BASE64_DECODED_MAX(strlen(ch)),
					       true);
			if (n < 0)
				abort();
			out[n] = '\0';
			*challenge_r = out;
		}
	}
	return r;
}

static inline int sasl_str(struct sasl *s, const char *text, char **challenge_r)
{
	return sasl_raw(s, text, text != NULL ? strlen(text) : 0, challenge_r);
}

#endif
