/* Unit tests for the SASL mechanisms (auth/sasl*.c): the RFC 5802 SCRAM-SHA-1,
 * RFC 7677 SCRAM-SHA-256 and RFC 2195 CRAM-MD5 examples replayed byte for
 * byte, keys made by doveadm, channel binding (-PLUS, downgrade), PLAIN with
 * authzid, LOGIN, app passwords, disabled accounts, the mechanism list and
 * plaintext policy, and every error path (cancel, bad base64, overlong and
 * malformed messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/apppass.h"
#include "auth/auth.h"
#include "auth/logins.h"
#include "auth/sasl.h"
#include "tests/unit/auth-test-util.h"

struct fx {
	struct tdir *t;
	struct auth_settings s;
	struct auth *a;
};

static const struct auth_conn conn_tls = {
	.service = USERDB_SERVICE_IMAP, .remote_addr = "192.0.2.10", .tls = true,
};
static const struct auth_conn conn_plain_remote = {
	.service = USERDB_SERVICE_IMAP, .remote_addr = "192.0.2.10", .tls = false,
};
static const struct auth_conn conn_plain_loopback = {
	.service = USERDB_SERVICE_POP3, .remote_addr = "127.0.0.1", .tls = false,
};

/* RFC 5802 and 7677 users: "user"/"pencil" with the RFCs' salts. */
static char *scram_line(const char *name, enum password_scram_hash h, const char *salt64,
			const char *password)
{
	unsigned char salt[64];
	long n = base64_decode(salt64, strlen(salt64), salt, sizeof(salt), true);
	assert_true(n > 0);
	struct password_scram k;
	assert_int_equal(password_scram_derive(password, h, salt, (size_t)n, 4096, &k), 0);
	char *stored = password_scram_format(&k);
	char *line = xasprintf("%s:%s::::::\n", name, stored);
	free(stored);
	return line;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->t = tdir_new();
	char *u1 = scram_line("user", PASSWORD_SCRAM_SHA1, "QSXCR+Q6sek8bf92", "pencil");
	char *u256 = scram_line("user256", PASSWORD_SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
				"pencil");
	char *text = xasprintf(
		"%s%s"
		/* doveadm pw -s CRAM-MD5 -p tanstaaftanstaaf */
		"tim:{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152711fb604ca3e035e7015116b\n"
		"plainuser:{PLAIN}plainpw\n"
		/* doveadm pw -s SCRAM-SHA-256 -p secret */
		"dove:{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+"
		"PSimcMPiVY6Nvg51Y=,bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=\n"
		/* doveadm pw -s SSHA256 -p secret, with SCRAM and CRAM beside it */
		"multi:{SSHA256}H4u53pUId0AiofEnNVf+vro5lFt6gphHAanyfYWDtndLeQph::::::"
		"scram_sha1={SCRAM-SHA-1}4096,k2Wsv9XzeQektPs97QBm+g==,JzlvUjuGSuXnPhucjaTYeUD2s"
		"y0=,/adv5gcDLbD+XKWUhfLaJStc/ag= cram_md5={CRAM-MD5}cd3ba7deaad6e5ca23448ba42e3797"
		"47a9e0f7f1fbc00c8a81bbaac395731b56 userdb_quota_rule=*:storage=1G\n"
		"off:{PLAIN}offpw::::::disabled=yes\n"
		"imaponly:{PLAIN}imappw::::::protocols=imap\n",
		u1, u256);
	write_file(f->t->users, text);
	free(text);
	free(u1);
	free(u256);
	test_settings(f->t, &f->s);
	f->a = test_auth(f->t, &f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	auth_free(&f->a);
	tdir_free(f->t);
	free(f);
	return 0;
}

static struct sasl *start(struct fx *f, const struct auth_conn *c, const char *mech)
{
	struct sasl *s = NULL;
	assert_int_equal(sasl_start(f->a, c, mech, &s), 0);
	assert_non_null(s);
	return s;
}

/* ---- RFC examples ---- */

static void test_rfc5802_scram_sha1(void **state)
{
	struct fx *f = *state;
	struct sasl *s = start(f, &conn_plain_remote, "SCRAM-SHA-1");
	sasl_set_test_nonce(s, "3rfcNHYJY1ZVvWVs7j");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
				"s=QSXCR+Q6sek8bf92,i=4096");
	free(ch);
	assert_int_equal(sasl_str(s, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
				  "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	free(ch);
	assert_int_equal(sasl_str(s, "", NULL), AUTH_OK);
	assert_string_equal(sasl_login(s)->user, "user");
	sasl_free(&s);
	assert_null(s);
}

static void test_rfc7677_scram_sha256(void **state)
{
	struct fx *f = *state;
	struct sasl *s = start(f, &conn_plain_remote, "scram-sha-256");
	sasl_set_test_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	char *ch = NULL;
	/* as an initial response, the way SASL-IR sends it */
	assert_int_equal(sasl_str(s, "n,,n=user256,r=rOprNGfwEbeRWgbNEkqO", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	free(ch);
	/* RFC 7677's proof is for user "user": recompute it for "user256". */
	sasl_free(&s);

	/* The exact RFC exchange needs the user called "user": a second
	 * database where "user" has the SHA-256 keys. */
	char *line = scram_line("user", PASSWORD_SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
				"pencil");
	write_file(f->t->users, line);
	free(line);
	s = start(f, &conn_plain_remote, "SCRAM-SHA-256");
	sasl_set_test_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "");
	free(ch);
	assert_int_equal(sasl_str(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	free(ch);
	assert_int_equal(sasl_str(s, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", &ch),
			 SASL_CONTINUE);
	assert_string_equal(ch, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	free(ch);
	assert_int_equal(sasl_str(s, "", NULL), AUTH_OK);
	sasl_free(&s);
}

static void test_rfc2195_cram_md5(void **state)
{
	struct fx *f = *state;
	struct sasl *s = start(f, &conn_plain_remote, "CRAM-MD5");
	sasl_set_test_nonce(s, "<1896.697170952@postoffice.reston.mci.net>");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "<1896.697170952@postoffice.reston.mci.net>");
	free(ch);
	/* The RFC's response; the stored context was made by doveadm. */
	assert_int_equal(sasl_str(s, "tim b913a602c7eda7a495b4e6e7334d3890", NULL), AUTH_OK);
	assert_string_equal(sasl_login(s)->user, "tim");
	sasl_free(&s);
	/* Upper-case hex is the same digest. */
	s = start(f, &conn_plain_remote, "CRAM-MD5");
	sasl_set_test_nonce(s, "<1896.697170952@postoffice.reston.mci.net>");
	assert_int_equal(sasl_str(s, NULL, NULL), SASL_CONTINUE);
	assert_int_equal(sasl_str(s, "TIM B913A602C7EDA7A495B4E6E7334D3890", NULL), AUTH_OK);
	sasl_free(&s);
}

/* ---- a SCRAM client for the other tests ---- */

struct client {
	const EVP_MD *md;
	size_t kl;
	char *first_bare, *gs2;
};

/* client-final for server_first with password; cb is appended to the
 * GS2 header for the c= attribute. *v_r gets the expected "v=...". */
static char *client_final(struct client *c, const char *password, const char *server_first,
			  const unsigned char *cb, size_t cb_len, char **v_r)
{
	const char *r = strstr(server_first, "r=") + 2;
	const char *comma = strchr(r, ',');
	char *nonce = xstrndup(r, (size_t)(comma - r));
	const char *s64 = strstr(server_first, ",s=") + 3;
	char *salt64 = xstrndup(s64, strcspn(s64, ","));
	unsigned iters = (unsigned)atoi(strstr(server_first, ",i=") + 3);
	unsigned char salt[64], salted[32], ck[32], sk[32], stored[32], sig[32], proof[32],
		ssig[32];
	long sl = base64_decode(salt64, strlen(salt64), salt, sizeof(salt), true);
	unsigned len;
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)sl, (int)iters, c->md,
			  (int)c->kl, salted);
	HMAC(c->md, salted, (int)c->kl, (const unsigned char *)"Client Key", 10, ck, &len);
	HMAC(c->md, salted, (int)c->kl, (const unsigned char *)"Server Key", 10, sk, &len);
	EVP_Digest(ck, c->kl, stored, &len, c->md, NULL);
	size_t gl = strlen(c->gs2);
	unsigned char *cbind = xmalloc(gl + cb_len + 1);
	memcpy(cbind, c->gs2, gl);
	if (cb_len > 0)
		memcpy(cbind + gl, cb, cb_len);
	char *cb64 = base64_encode_str(cbind, gl + cb_len);
	char *without = xasprintf("c=%s,r=%s", cb64, nonce);
	char *am = xasprintf("%s,%s,%s", c->first_bare, server_first, without);
	HMAC(c->md, stored, (int)c->kl, (const unsigned char *)am, strlen(am), sig, &len);
	for (size_t i = 0; i < c->kl; i++)
		proof[i] = ck[i] ^ sig[i];
	HMAC(c->md, sk, (int)c->kl, (const unsigned char *)am, strlen(am), ssig, &len);
	char *p64 = base64_encode_str(proof, c->kl);
	char *v64 = base64_encode_str(ssig, c->kl);
	*v_r = xasprintf("v=%s", v64);
	char *out = xasprintf("%s,p=%s", without, p64);
	free(nonce);
	free(salt64);
	free(cbind);
	free(cb64);
	free(without);
	free(am);
	free(p64);
	free(v64);
	return out;
}

/* A whole SCRAM exchange; returns the final result. */
static int scram_login(struct fx *f, const struct auth_conn *conn, const char *mech,
		       const char *gs2, const char *user, const char *password,
		       const unsigned char *cb, size_t cb_len)
{
	bool sha1 = strstr(mech, "SHA-1") != NULL;
	struct client c = { sha1 ? EVP_sha1() : EVP_sha256(), sha1 ? 20 : 32, NULL, NULL };
	c.gs2 = xstrdup(gs2);
	c.first_bare = xasprintf("n=%s,r=clientnonce0123", user);
	char *first = xasprintf("%s%s", c.gs2, c.first_bare);
	struct sasl *s = start(f, conn, mech);
	char *ch = NULL, *v = NULL;
	int r = sasl_str(s, first, &ch);
	if (r == SASL_CONTINUE) {
		char *fin = client_final(&c, password, ch, cb, cb_len, &v);
		free(ch);
		r = sasl_str(s, fin, &ch);
		free(fin);
		if (r == SASL_CONTINUE) {
			assert_string_equal(ch, v);   /* the server proves itself too */
			free(ch);
			r = sasl_str(s, "", NULL);
		}
	}
	free(v);
	free(first);
	free(c.gs2);
	free(c.first_bare);
	sasl_free(&s);
	return r;
}

static void test_scram_doveadm_keys(void **state)
{
	struct fx *f = *state;
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "dove", "secret",
				     NULL, 0), AUTH_OK);
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "dove", "Secret",
				     NULL, 0), AUTH_EFAIL);
	/* SCRAM-SHA-1 keys in the extra field (doveadm made them too) */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-1", "n,,", "multi", "secret",
				     NULL, 0), AUTH_OK);
	/* no SHA-256 keys for multi: fails like an unknown user */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "multi", "secret",
				     NULL, 0), AUTH_EFAIL);
	/* a {PLAIN} user: keys derived on the fly */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "plainuser",
				     "plainpw", NULL, 0), AUTH_OK);
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-1", "n,,", "plainuser",
				     "plainpw", NULL, 0), AUTH_OK);
	/* case and local domain in the SCRAM user name */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "DOVE@example.org",
				     "secret", NULL, 0), AUTH_OK);
}

static void test_scram_authzid(void **state)
{
	struct fx *f = *state;
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,a=dove,", "dove",
				     "secret", NULL, 0), AUTH_OK);
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,a=plainuser,", "dove",
				     "secret", NULL, 0), AUTH_EAUTHZ);
	/* an escaped saslname: "a=b,c" is not a user, so the login fails */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "a=2Cb=3Dc",
				     "secret", NULL, 0), AUTH_EFAIL);
}

/* Unknown users and users without keys get a stable fake salt. */
static void test_scram_unknown_user(void **state)
{
	struct fx *f = *state;
	char *salts[3];
	const char *names[3] = { "nobody", "nobody", "somebody" };
	for (int i = 0; i < 3; i++) {
		struct sasl *s = start(f, &conn_tls, "SCRAM-SHA-256");
		char *first = xasprintf("n,,n=%s,r=abc", names[i]);
		char *ch = NULL;
		assert_int_equal(sasl_str(s, first, &ch), SASL_CONTINUE);
		const char *sp = strstr(ch, ",s=");
		assert_non_null(sp);
		salts[i] = xstrndup(sp, strcspn(sp + 1, ",") + 1);
		assert_non_null(strstr(ch, ",i=4096"));
		free(first);
		free(ch);
		sasl_free(&s);
	}
	assert_string_equal(salts[0], salts[1]);
	assert_string_not_equal(salts[0], salts[2]);
	for (int i = 0; i < 3; i++)
		free(salts[i]);
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "nobody", "x",
				     NULL, 0), AUTH_EFAIL);
	/* The fake salt survives a restart (the secret file). */
	struct sasl *s = start(f, &conn_tls, "SCRAM-SHA-256");
	char *before = NULL, *after = NULL;
	assert_int_equal(sasl_str(s, "n,,n=nobody,r=abc", &before), SASL_CONTINUE);
	sasl_free(&s);
	auth_free(&f->a);
	f->a = test_auth(f->t, &f->s);
	s = start(f, &conn_tls, "SCRAM-SHA-256");
	assert_int_equal(sasl_str(s, "n,,n=nobody,r=abc", &after), SASL_CONTINUE);
	sasl_free(&s);
	assert_string_equal(strstr(before, ",s="), strstr(after, ",s="));
	free(before);
	free(after);
}

static const unsigned char cb_bytes[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static void test_scram_plus(void **state)
{
	struct fx *f = *state;
	struct auth_conn c = conn_tls;
	c.cb[0] = (struct auth_cb){ "tls-exporter", cb_bytes, sizeof(cb_bytes) };
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", "dove",
				     "secret", cb_bytes, sizeof(cb_bytes)), AUTH_OK);
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-1-PLUS", "p=tls-exporter,,", "multi",
				     "secret", cb_bytes, sizeof(cb_bytes)), AUTH_OK);
	/* other bytes: a man in the middle */
	unsigned char other[32];
	memcpy(other, cb_bytes, 32);
	other[31] ^= 1;
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-exporter,,", "dove",
				     "secret", other, sizeof(other)), AUTH_ECHANNEL);
	/* a binding type the connection does not have */
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-unique,,", "dove",
				     "secret", cb_bytes, sizeof(cb_bytes)), AUTH_ECHANNEL);
	/* -PLUS without binding data in the GS2 header */
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "n,,", "dove", "secret",
				     NULL, 0), AUTH_ECHANNEL);
	/* "y": the client could bind but thinks we cannot; we offered -PLUS */
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256", "y,,", "dove", "secret", NULL, 0),
			 AUTH_ECHANNEL);
	/* "p=" with a mechanism that does not bind */
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256", "p=tls-exporter,,", "dove",
				     "secret", cb_bytes, sizeof(cb_bytes)), AUTH_ECHANNEL);
	/* tls-server-end-point works the same way */
	c.cb[0].type = "tls-server-end-point";
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,",
				     "dove", "secret", cb_bytes, sizeof(cb_bytes)), AUTH_OK);
	/* a connection offering both: the client's choice decides which bytes
	 * are bound, and the other type's bytes do not pass */
	c.cb[0] = (struct auth_cb){ "tls-exporter", cb_bytes, sizeof(cb_bytes) };
	c.cb[1] = (struct auth_cb){ "tls-server-end-point", other, sizeof(other) };
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,",
				     "dove", "secret", other, sizeof(other)), AUTH_OK);
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-exporter,,",
				     "dove", "secret", cb_bytes, sizeof(cb_bytes)), AUTH_OK);
	assert_int_equal(scram_login(f, &c, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,",
				     "dove", "secret", cb_bytes, sizeof(cb_bytes)), AUTH_ECHANNEL);
	/* without channel binding on the connection: no -PLUS, and "y" is fine */
	struct sasl *s = NULL;
	assert_int_equal(sasl_start(f->a, &conn_tls, "SCRAM-SHA-256-PLUS", &s), AUTH_ENOMECH);
	assert_null(s);
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "y,,", "dove", "secret",
				     NULL, 0), AUTH_OK);
}

static void test_scram_malformed(void **state)
{
	struct fx *f = *state;
	static const char *const bad_first[] = {
		"x,,n=dove,r=abc",          /* unknown flag */
		"n,n=dove,r=abc",           /* no authzid field */
		"n,,",                      /* no bare message */
		"n,,r=abc",                 /* no user */
		"n,,n=dove",                /* no nonce */
		"n,,n=dove,r=",             /* empty nonce */
		"n,,n=dove,x=abc",          /* not r= */
		"n,,m=ext,n=dove,r=abc",    /* mandatory extension */
		"n,,n=do=ve,r=abc",         /* bad escape */
		"n,,n=dove,r=a\x7fz",      /* nonce not printable */
		"n,b=x,n=dove,r=abc",       /* not a= */
	};
	for (size_t i = 0; i < sizeof(bad_first) / sizeof(bad_first[0]); i++) {
		struct sasl *s = start(f, &conn_tls, "SCRAM-SHA-256");
		int r = sasl_str(s, bad_first[i], NULL);
		if (r != AUTH_EMALFORMED)
			fail_msg("'%s': %s", bad_first[i], auth_strerror(r));
		/* finished: further steps do not restart it */
		const char *ch;
		assert_int_equal(sasl_step(s, "", 0, &ch), AUTH_EMALFORMED);
		sasl_free(&s);
	}
	/* client-final errors */
	static const char *const bad_final[] = {
		"c=biws,r=WRONGNONCE,p=AAAA",
		"c=biws",
		"r=x,p=AAAA",
		"c=biws,r=%s,p=!!!!",
		"c=biws,r=%s,p=AAAA",          /* proof of the wrong length */
	};
	for (size_t i = 0; i < sizeof(bad_final) / sizeof(bad_final[0]); i++) {
		struct sasl *s = start(f, &conn_tls, "SCRAM-SHA-256");
		char *ch = NULL;
		assert_int_equal(sasl_str(s, "n,,n=dove,r=abc", &ch), SASL_CONTINUE);
		char *nonce = xstrndup(ch + 2, strcspn(ch + 2, ","));
		char *msg = xasprintf(bad_final[i], nonce);
		int r = sasl_str(s, msg, NULL);
		if (r != AUTH_EMALFORMED)
			fail_msg("'%s': %s", msg, auth_strerror(r));
		free(nonce);
		free(msg);
		free(ch);
		sasl_free(&s);
	}
	/* c= that does not match the GS2 header: channel binding error */
	struct sasl *s = start(f, &conn_tls, "SCRAM-SHA-256");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, "n,,n=dove,r=abc", &ch), SASL_CONTINUE);
	char *nonce = xstrndup(ch + 2, strcspn(ch + 2, ","));
	char *msg = xasprintf("c=eSws,r=%s,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", nonce);
	assert_int_equal(sasl_str(s, msg, NULL), AUTH_ECHANNEL);
	free(msg);
	free(nonce);
	free(ch);
	sasl_free(&s);
	/* a non-empty answer to "v=" */
	s = start(f, &conn_tls, "SCRAM-SHA-256");
	struct client c = { EVP_sha256(), 32, xstrdup("n=dove,r=abc"), xstrdup("n,,") };
	assert_int_equal(sasl_str(s, "n,,n=dove,r=abc", &ch), SASL_CONTINUE);
	char *v = NULL;
	char *fin = client_final(&c, "secret", ch, NULL, 0, &v);
	free(ch);
	assert_int_equal(sasl_str(s, fin, &ch), SASL_CONTINUE);
	assert_string_equal(ch, v);
	assert_int_equal(sasl_str(s, "unexpected", NULL), AUTH_EMALFORMED);
	free(ch);
	free(fin);
	free(v);
	free(c.first_bare);
	free(c.gs2);
	sasl_free(&s);
}

/* ---- PLAIN and LOGIN ---- */

static int plain(struct fx *f, const struct auth_conn *c, const char *authz, const char *user,
		 const char *pw)
{
	size_t al = strlen(authz), ul = strlen(user), pl = strlen(pw);
	char *msg = xmalloc(al + ul + pl + 2);
	memcpy(msg, authz, al);
	msg[al] = '\0';
	memcpy(msg + al + 1, user, ul);
	msg[al + 1 + ul] = '\0';
	memcpy(msg + al + ul + 2, pw, pl);
	struct sasl *s = start(f, c, "PLAIN");
	int r = sasl_raw(s, msg, al + ul + pl + 2, NULL);
	free(msg);
	sasl_free(&s);
	return r;
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	assert_int_equal(plain(f, &conn_tls, "", "plainuser", "plainpw"), AUTH_OK);
	assert_int_equal(plain(f, &conn_tls, "plainuser", "PlainUser", "plainpw"), AUTH_OK);
	assert_int_equal(plain(f, &conn_tls, "", "plainuser@EXAMPLE.net", "plainpw"), AUTH_OK);
	assert_int_equal(plain(f, &conn_tls, "", "plainuser@elsewhere.org", "plainpw"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "dove", "plainuser", "plainpw"), AUTH_EAUTHZ);
	assert_int_equal(plain(f, &conn_tls, "nosuchuser", "plainuser", "plainpw"), AUTH_EAUTHZ);
	assert_int_equal(plain(f, &conn_tls, "", "plainuser", "wrong"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "nosuchuser", "plainpw"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "dove", "secret"), AUTH_OK); /* SCRAM column */
	assert_int_equal(plain(f, &conn_tls, "", "multi", "secret"), AUTH_OK);
	/* no initial response: an empty challenge first */
	struct sasl *s = start(f, &conn_tls, "PLAIN");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "");
	free(ch);
	assert_int_equal(sasl_raw(s, "\0plainuser\0plainpw", 18, NULL), AUTH_OK);
	const struct auth_login *l = sasl_login(s);
	assert_string_equal(l->user, "plainuser");
	assert_string_equal(l->device, "");
	sasl_free(&s);
	/* SASL-IR "=": an empty initial response is a malformed PLAIN message */
	s = start(f, &conn_tls, "PLAIN");
	const char *c64;
	assert_int_equal(sasl_step(s, "=", 1, &c64), AUTH_EMALFORMED);
	sasl_free(&s);
	/* malformed messages */
	static const struct { const char *m; size_t len; } bad[] = {
		{ "plainuser\0plainpw", 17 },          /* one NUL */
		{ "\0\0plainpw", 9 },                  /* empty authcid */
		{ "\0plainuser\0plain\0pw", 20 },      /* three NULs */
		{ "", 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = start(f, &conn_tls, "PLAIN");
		assert_int_equal(sasl_raw(s, bad[i].m, bad[i].len, NULL), AUTH_EMALFORMED);
		sasl_free(&s);
	}
}

static void test_login_mech(void **state)
{
	struct fx *f = *state;
	struct sasl *s = start(f, &conn_tls, "LOGIN");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "Username:");
	free(ch);
	assert_int_equal(sasl_str(s, "plainuser", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "Password:");
	free(ch);
	assert_int_equal(sasl_str(s, "plainpw", NULL), AUTH_OK);
	sasl_free(&s);
	/* the user name as initial response (SMTP AUTH LOGIN dXNlcg==) */
	s = start(f, &conn_tls, "LOGIN");
	assert_int_equal(sasl_str(s, "plainuser", &ch), SASL_CONTINUE);
	assert_string_equal(ch, "Password:");
	free(ch);
	assert_int_equal(sasl_str(s, "bad", NULL), AUTH_EFAIL);
	sasl_free(&s);
	/* SASL-IR "=": ask for the user name */
	s = start(f, &conn_tls, "LOGIN");
	const char *c64;
	assert_int_equal(sasl_step(s, "=", 1, &c64), SASL_CONTINUE);
	assert_string_equal(c64, "VXNlcm5hbWU6");
	sasl_free(&s);
}

/* ---- errors common to every mechanism ---- */

static void test_driver_errors(void **state)
{
	struct fx *f = *state;
	static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1",
					     "SCRAM-SHA-256" };
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		const char *ch;
		struct sasl *s = start(f, &conn_tls, mechs[i]);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), SASL_CONTINUE);
		assert_non_null(ch);
		assert_int_equal(sasl_step(s, "*", 1, &ch), AUTH_ECANCEL);
		assert_int_equal(sasl_login(s)->result, AUTH_ECANCEL);
		sasl_free(&s);

		s = start(f, &conn_tls, mechs[i]);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), SASL_CONTINUE);
		assert_int_equal(sasl_step(s, "not base64!", 11, &ch), AUTH_EBASE64);
		sasl_free(&s);

		s = start(f, &conn_tls, mechs[i]);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), SASL_CONTINUE);
		assert_int_equal(sasl_step(s, "QQ=", 3, &ch), AUTH_EBASE64); /* bad padding */
		sasl_free(&s);

		size_t big = f->s.max_response + 4;
		char *longline = xmalloc(big + 1);
		memset(longline, 'A', big);
		longline[big] = '\0';
		s = start(f, &conn_tls, mechs[i]);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), SASL_CONTINUE);
		assert_int_equal(sasl_step(s, longline, big, &ch), AUTH_ETOOLONG);
		sasl_free(&s);
		/* exactly max_response is not too long */
		s = start(f, &conn_tls, mechs[i]);
		assert_int_not_equal(sasl_step(s, longline, f->s.max_response, &ch), AUTH_ETOOLONG);
		sasl_free(&s);
		free(longline);
		/* a NULL response after the first step is a misuse: malformed */
		s = start(f, &conn_tls, mechs[i]);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), SASL_CONTINUE);
		assert_int_equal(sasl_step(s, NULL, 0, &ch), AUTH_EMALFORMED);
		sasl_free(&s);
	}
	/* resume without work is a misuse, not a crash */
	struct sasl *s = start(f, &conn_tls, "PLAIN");
	const char *ch;
	assert_int_equal(sasl_resume(s, &ch), AUTH_ETEMP);
	sasl_free(&s);
	sasl_free(&s);   /* twice is harmless */
}

static void test_cram_errors(void **state)
{
	struct fx *f = *state;
	struct sasl *s = start(f, &conn_tls, "CRAM-MD5");
	/* CRAM-MD5 takes no initial response */
	assert_int_equal(sasl_str(s, "tim b913a602c7eda7a495b4e6e7334d3890", NULL),
			 AUTH_EMALFORMED);
	sasl_free(&s);
	static const char *const bad[] = {
		"timb913a602c7eda7a495b4e6e7334d3890",
		"tim b913a602c7eda7a495b4e6e7334d389",
		"tim b913a602c7eda7a495b4e6e7334d38zz",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = start(f, &conn_tls, "CRAM-MD5");
		assert_int_equal(sasl_str(s, NULL, NULL), SASL_CONTINUE);
		assert_int_equal(sasl_str(s, bad[i], NULL), AUTH_EMALFORMED);
		sasl_free(&s);
	}
	/* a real challenge has the RFC's shape and the host name */
	s = start(f, &conn_tls, "CRAM-MD5");
	char *ch = NULL;
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	assert_true(ch[0] == '<' && strstr(ch, "@mail.example.org>") != NULL);
	/* answer it properly for the PLAIN user and the extra-field user */
	unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN], d[16];
	password_cram_md5_context("plainpw", ctx);
	password_cram_md5_hmac(ctx, ch, strlen(ch), d);
	char hex[33];
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	char *resp = xasprintf("plainuser %s", hex);
	assert_int_equal(sasl_str(s, resp, NULL), AUTH_OK);
	free(resp);
	free(ch);
	sasl_free(&s);

	s = start(f, &conn_tls, "CRAM-MD5");
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	password_cram_md5_context("secret", ctx);
	password_cram_md5_hmac(ctx, ch, strlen(ch), d);
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	resp = xasprintf("multi %s", hex);
	assert_int_equal(sasl_str(s, resp, NULL), AUTH_OK);
	free(resp);
	free(ch);
	sasl_free(&s);
	/* dove has only SCRAM keys: CRAM-MD5 cannot work and fails */
	s = start(f, &conn_tls, "CRAM-MD5");
	assert_int_equal(sasl_str(s, NULL, &ch), SASL_CONTINUE);
	resp = xasprintf("dove %s", hex);
	assert_int_equal(sasl_str(s, resp, NULL), AUTH_EFAIL);
	free(resp);
	free(ch);
	sasl_free(&s);
}

/* ---- accounts, policy, app passwords, throttling ---- */

static void test_accounts(void **state)
{
	struct fx *f = *state;
	assert_int_equal(plain(f, &conn_tls, "", "off", "offpw"), AUTH_EDISABLED);
	assert_int_equal(plain(f, &conn_tls, "", "off", "wrong"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "imaponly", "imappw"), AUTH_OK);
	struct auth_conn pop = conn_tls;
	pop.service = USERDB_SERVICE_POP3;
	assert_int_equal(plain(f, &pop, "", "imaponly", "imappw"), AUTH_EDISABLED);
	/* a refused account's fields say why: disabled, or not this service */
	struct auth_login l;
	auth_password_login(f->a, &conn_tls, "off", "offpw", &l);
	assert_int_equal(l.result, AUTH_EDISABLED);
	assert_true(l.fields.disabled);
	auth_password_login(f->a, &pop, "imaponly", "imappw", &l);
	assert_int_equal(l.result, AUTH_EDISABLED);
	assert_false(l.fields.disabled);
	assert_int_equal(l.fields.services, 1u << USERDB_SERVICE_IMAP);
	assert_null(l.fields.scram_sha256);
	auth_password_login(f->a, &conn_tls, "off", "wrong", &l);
	assert_int_equal(l.result, AUTH_EFAIL);
	assert_false(l.fields.disabled);
	/* fields come back with a successful login, credentials never */
	auth_password_login(f->a, &conn_tls, "multi", "secret", &l);
	assert_int_equal(l.result, AUTH_OK);
	assert_true(l.fields.has_quota_bytes);
	assert_int_equal(l.fields.quota_bytes, 1ull << 30);
	assert_null(l.fields.scram_sha1);
	assert_null(l.fields.cram_md5);
}

static void test_policy_and_mechanisms(void **state)
{
	struct fx *f = *state;
	const char *names[AUTH_MECH_COUNT];
	size_t n = auth_mechanisms(f->a, &conn_tls, names, AUTH_MECH_COUNT);
	assert_int_equal(n, 5);
	assert_string_equal(names[0], "SCRAM-SHA-256");
	assert_string_equal(names[4], "LOGIN");
	struct auth_conn cb = conn_tls;
	cb.cb[0] = (struct auth_cb){ "tls-exporter", cb_bytes, 32 };
	assert_int_equal(auth_mechanisms(f->a, &cb, names, AUTH_MECH_COUNT), 7);
	assert_string_equal(names[0], "SCRAM-SHA-256-PLUS");
	/* plaintext_auth = loopback (the default) */
	assert_true(auth_plaintext_allowed(f->a, &conn_tls));
	assert_true(auth_plaintext_allowed(f->a, &conn_plain_loopback));
	assert_false(auth_plaintext_allowed(f->a, &conn_plain_remote));
	n = auth_mechanisms(f->a, &conn_plain_remote, names, AUTH_MECH_COUNT);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_false(strcmp(names[i], "PLAIN") == 0 || strcmp(names[i], "LOGIN") == 0);
	struct sasl *s = NULL;
	assert_int_equal(sasl_start(f->a, &conn_plain_remote, "PLAIN", &s), AUTH_EPRIVACY);
	assert_int_equal(sasl_start(f->a, &conn_plain_remote, "LOGIN", &s), AUTH_EPRIVACY);
	assert_null(s);
	struct auth_login l;
	auth_password_login(f->a, &conn_plain_remote, "plainuser", "plainpw", &l);
	assert_int_equal(l.result, AUTH_EPRIVACY);
	auth_password_login(f->a, &conn_plain_loopback, "plainuser", "plainpw", &l);
	assert_int_equal(l.result, AUTH_OK);
	/* max is honoured */
	assert_int_equal(auth_mechanisms(f->a, &cb, names, 2), 2);
	/* unknown mechanism names */
	assert_int_equal(sasl_start(f->a, &conn_tls, "DIGEST-MD5", &s), AUTH_ENOMECH);
	assert_int_equal(sasl_start(f->a, &conn_tls, "", &s), AUTH_ENOMECH);
	assert_int_equal(auth_mech_find("scram-sha-1-plus"), AUTH_MECH_SCRAM_SHA_1_PLUS);
	assert_int_equal(auth_mech_find("NOPE"), -1);
	assert_string_equal(auth_mech_name(AUTH_MECH_CRAM_MD5), "CRAM-MD5");

	/* never / always, and a disabled mechanism */
	auth_free(&f->a);
	f->s.plaintext = AUTH_PLAINTEXT_NEVER;
	f->s.mechanisms &= ~(1u << AUTH_MECH_CRAM_MD5);
	f->a = test_auth(f->t, &f->s);
	assert_false(auth_plaintext_allowed(f->a, &conn_plain_loopback));
	assert_true(auth_plaintext_allowed(f->a, &conn_tls));
	assert_int_equal(sasl_start(f->a, &conn_tls, "CRAM-MD5", &s), AUTH_ENOMECH);
	assert_int_equal(auth_mechanisms(f->a, &conn_tls, names, AUTH_MECH_COUNT), 4);
	auth_free(&f->a);
	f->s.plaintext = AUTH_PLAINTEXT_ALWAYS;
	f->a = test_auth(f->t, &f->s);
	assert_true(auth_plaintext_allowed(f->a, &conn_plain_remote));

	assert_true(auth_addr_is_loopback("127.0.0.1"));
	assert_true(auth_addr_is_loopback("127.255.0.9"));
	assert_true(auth_addr_is_loopback("::1"));
	assert_true(auth_addr_is_loopback("::ffff:127.0.0.1"));
	assert_false(auth_addr_is_loopback("::ffff:192.0.2.1"));
	assert_false(auth_addr_is_loopback("192.0.2.1"));
	assert_false(auth_addr_is_loopback("::2"));
	assert_false(auth_addr_is_loopback("localhost"));
	assert_false(auth_addr_is_loopback(NULL));
}

/* A reload changes the plaintext policy, the local domains and the host
 * name of CRAM-MD5 challenges; the rest stays as created. */
static void test_reconfigure(void **state)
{
	struct fx *f = *state;
	assert_false(auth_plaintext_allowed(f->a, &conn_plain_remote));
	assert_int_equal(plain(f, &conn_tls, "", "plainuser@example.net", "plainpw"), AUTH_OK);
	struct auth_settings s = f->s;
	s.plaintext = AUTH_PLAINTEXT_ALWAYS;
	s.local_domains = "other.example";
	s.hostname = "imap.other.example";
	s.mechanisms = 0;   /* not reloadable: ignored */
	auth_reconfigure(f->a, &s);
	assert_true(auth_plaintext_allowed(f->a, &conn_plain_remote));
	assert_int_equal(plain(f, &conn_tls, "", "plainuser@example.net", "plainpw"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "plainuser@other.example", "plainpw"), AUTH_OK);
	struct sasl *m = start(f, &conn_tls, "CRAM-MD5");
	const char *ch;
	assert_int_equal(sasl_step(m, NULL, 0, &ch), SASL_CONTINUE);
	unsigned char raw[256];
	long n = base64_decode(ch, strlen(ch), raw, sizeof(raw) - 1, true);
	assert_true(n > 0);
	raw[n] = '\0';
	assert_non_null(strstr((char *)raw, "@imap.other.example>"));
	sasl_free(&m);
	s.plaintext = AUTH_PLAINTEXT_NEVER;
	auth_reconfigure(f->a, &s);
	assert_false(auth_plaintext_allowed(f->a, &conn_plain_loopback));
}

static void test_app_password(void **state)
{
	struct fx *f = *state;
	char *pw = NULL, *err = NULL;
	assert_int_equal(apppass_file_add(f->t->apppass, "plainuser", "phone", 1700000000, &pw,
					  &err), 0);
	assert_int_equal(strlen(pw), 23);
	size_t pl = strlen(pw);
	char *msg = xmalloc(pl + 12);
	memcpy(msg, "\0plainuser\0", 11);
	memcpy(msg + 11, pw, pl);
	struct sasl *s = start(f, &conn_tls, "PLAIN");
	assert_int_equal(sasl_raw(s, msg, 11 + pl, NULL), AUTH_OK);
	assert_string_equal(sasl_login(s)->device, "phone");
	sasl_free(&s);
	/* revoked: no more */
	assert_int_equal(apppass_file_revoke(f->t->apppass, "plainuser", "phone", &err), 0);
	s = start(f, &conn_tls, "PLAIN");
	assert_int_equal(sasl_raw(s, msg, 11 + pl, NULL), AUTH_EFAIL);
	sasl_free(&s);
	/* the last logins were recorded per service and device */
	struct logins_entry *list;
	size_t n;
	logins_get(auth_logins(f->a), "plainuser", &list, &n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].kind, "imap");
	assert_string_equal(list[1].kind, "app:phone");
	assert_string_equal(list[1].addr, "192.0.2.10");
	free(list);
	free(msg);
	x_wipe(pw, strlen(pw));
	free(pw);
}

static void test_throttle_integration(void **state)
{
	struct fx *f = *state;
	auth_free(&f->a);
	f->s.throttle.delay_base_ms = 100;
	f->s.throttle.delay_max_ms = 1000;
	f->s.throttle.user_limit = 3;
	f->s.throttle.addr_limit = 5;
	f->a = test_auth(f->t, &f->s);
	struct sasl *s;
	unsigned last = 0;
	for (int i = 0; i < 3; i++) {
		s = start(f, &conn_tls, "PLAIN");
		assert_int_equal(sasl_raw(s, "\0plainuser\0bad", 14, NULL), AUTH_EFAIL);
		assert_true(sasl_login(s)->delay_ms > last);
		last = sasl_login(s)->delay_ms;
		sasl_free(&s);
	}
	assert_int_equal(last, 400);
	/* the user is now refused, even with the right password */
	s = start(f, &conn_tls, "PLAIN");
	assert_int_equal(sasl_raw(s, "\0plainuser\0plainpw", 18, NULL), AUTH_ETHROTTLED);
	assert_true(sasl_login(s)->retry_ms > 0);
	sasl_free(&s);
	/* SCRAM and CRAM-MD5 are refused too */
	assert_int_equal(scram_login(f, &conn_tls, "SCRAM-SHA-256", "n,,", "plainuser",
				     "plainpw", NULL, 0), AUTH_ETHROTTLED);
	/* another user from another address still logs in */
	struct auth_conn other = conn_tls;
	other.remote_addr = "198.51.100.7";
	assert_int_equal(scram_login(f, &other, "SCRAM-SHA-256", "n,,", "dove", "secret", NULL,
				     0), AUTH_OK);
	/* two more failures from the first address block the address (5) */
	assert_int_equal(plain(f, &conn_tls, "", "dove", "x"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "dove", "x"), AUTH_EFAIL);
	assert_int_equal(plain(f, &conn_tls, "", "dove", "secret"), AUTH_ETHROTTLED);
	assert_int_equal(plain(f, &conn_tls, "", "multi", "secret"), AUTH_ETHROTTLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc5802_scram_sha1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc7677_scram_sha256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2195_cram_md5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_doveadm_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_authzid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_plus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_mech, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cram_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_and_mechanisms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_integration, setup, teardown),
	};
	return cmocka_run_group_tests_name("sasl", tests, NULL, NULL);
}
