/* SASL CRAM-MD5 (RFC 2195): the server sends a unique challenge
 * "<random.time@hostname>", the client answers "user hexdigest" with
 * HMAC-MD5(password, challenge). Checked against the stored CRAM-MD5
 * context (password column, cram_md5 extra field) or a {PLAIN} password;
 * users without one, and unknown users, are checked against a fake context
 * so the answer takes the same time and always fails. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/password-schemes.h"
#include "auth/sasl-mech.h"
#include "lib/xmem.h"

#define CHALLENGE_MAX 300

struct cram {
	char challenge[CHALLENGE_MAX];
	char *user;
	unsigned char digest[16];
};

static int cram_step(struct sasl *s, const unsigned char *in, size_t len)
{
	struct cram *c = s->state;
	if (c->challenge[0] == '\0') {
		if (in != NULL && len > 0)
			return sasl_malformed(s);   /* CRAM-MD5 has no initial response */
		if (s->test_nonce != NULL) {
			snprintf(c->challenge, sizeof(c->challenge), "%s", s->test_nonce);
		} else {
			uint64_t r = 0;
			if (pw_random_bytes(&r, sizeof(r)) < 0)
				return AUTH_ETEMP;
			snprintf(c->challenge, sizeof(c->challenge), "<%" PRIu64 ".%lld@%s>", r,
				 (long long)time(NULL), auth_policy_get(s->auth)->hostname);
		}
		return sasl_challenge(s, c->challenge, strlen(c->challenge));
	}
	/* "user SP 32 lower-case hex digits" (upper case accepted too) */
	if (in == NULL || len < 34 || in[len - 33] != ' ')
		return sasl_malformed(s);
	char hex[33];
	memcpy(hex, in + len - 32, 32);
	hex[32] = '\0';
	c->user = sasl_strndup(in, len - 33);
	if (c->user == NULL || pw_hex_decode(hex, c->digest, sizeof(c->digest)) != 16)
		return sasl_malformed(s);
	return SASL_NEED_WORK;
}

/* The user's CRAM-MD5 context; false if they have none. */
static bool user_context(const struct userdb_user *u, unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN])
{
	if (u == NULL)
		return false;
	if (password_cram_md5_parse(u->password, ctx) == 0)
		return true;
	if (u->fields.cram_md5 != NULL && password_cram_md5_parse(u->fields.cram_md5, ctx) == 0)
		return true;
	const char *plain = password_plaintext_value(u->password);
	return plain != NULL && password_cram_md5_context(plain, ctx) == 0;
}

static void cram_work(struct sasl *s)
{
	struct cram *c = s->state;
	auth_refresh(s->auth);
	const struct userdb_user *u = auth_resolve(s->auth, c->user, s->login.user);
	if (auth_throttle_check(s->auth, &s->conn, &s->login, sasl_mech(s)) < 0) {
		s->done = true;
		return;
	}
	unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN], got[16];
	bool real = user_context(u, ctx);
	if (!real) {
		unsigned char fake[32];
		auth_secret_mac(s->auth, "cram-md5", s->login.user, fake);
		memcpy(ctx, fake, sizeof(ctx));
		x_wipe(fake, sizeof(fake));
	}
	password_cram_md5_hmac(ctx, c->challenge, strlen(c->challenge), got);
	bool ok = CRYPTO_memcmp(got, c->digest, sizeof(got)) == 0 && real;
	x_wipe(ctx, sizeof(ctx));
	x_wipe(got, sizeof(got));
	(void)sasl_finish(s, u, ok ? AUTH_OK : AUTH_EFAIL);
}

static int cram_resume(struct sasl *s)
{
	return s->login.result;
}

static void cram_wipe(struct sasl *s)
{
	struct cram *c = s->state;
	sasl_free_secret(&c->user);
}

const struct sasl_mech_ops sasl_mech_cram_md5 = {
	.id = AUTH_MECH_CRAM_MD5,
	.state_size = sizeof(struct cram),
	.step = cram_step,
	.work = cram_work,
	.resume = cram_resume,
	.wipe = cram_wipe,
};
