/* Unit tests for auth/password*.c: every accepted scheme against the hashes
 * Dovecot's own `doveadm pw` made (tests/unit/fixtures/doveadm-pw.tsv), the
 * hashes Loft made that doveadm accepted (loft-pw.tsv), wrong passwords,
 * malformed and unsupported hashes, both Argon2 engines (libsodium and
 * libargon2), ARGON2ID/SHA512-CRYPT generation, SCRAM keys, CRAM-MD5
 * contexts and the cost classes of the unknown-user dummy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>

#include <argon2.h>
#include <sodium.h>

#include "auth/password.h"
#include "lib/base64.h"

/* Vectors that are not in the doveadm fixtures file. */
struct vector {
	const char *cmd;
	const char *password;
	const char *hash;
};

static const struct vector vectors[] = {
	/* yescrypt: made with libxcrypt (python3 crypt.crypt with setting
	 * $y$j9T$F5Jx5fExrKuPp53xLKQ..1$), then checked with
	 * doveadm pw -t '{CRYPT}<hash>' -p secret  -> (verified) */
	{ "doveadm pw -t '{CRYPT}$y$...' -p secret", "secret",
	  "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0" },
	/* No {SCHEME}: Dovecot's passwd-file default scheme is CRYPT. */
	{ "doveadm pw -s SHA512-CRYPT -p secret (prefix removed)", "secret",
	  "$6$biNuHXJep/G.Wapj$O.ZLEqhveJSGJ7NprMrj5vxvGuYmfO3qLzlx5r113ZlV4wi.b0N7hPd6vPWdxO7OR/"
	  "Tp4EhL18JiJgkuC3gBX1" },
};

/* ---- the committed fixtures (tests/unit/fixtures/NAME.tsv) ---- */

struct fixture_row {
	char *password, *hash, *cmd;
};

/* Rows of a fixtures file: password TAB hash TAB command [TAB ...]. */
static struct fixture_row *read_fixtures(const char *name, size_t *n_r)
{
	const char *src = getenv("LOFT_SOURCE_DIR");
	if (src == NULL)
		fail_msg("LOFT_SOURCE_DIR is not set (run through ctest)");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", src, name);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	struct fixture_row *rows = calloc(256, sizeof(*rows));
	size_t n = 0;
	char line[4096];
	while (fgets(line, sizeof(line), fp) != NULL && n < 256) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *save = NULL;
		char *pw = strtok_r(line, "\t", &save);
		char *hash = strtok_r(NULL, "\t", &save);
		char *cmd = strtok_r(NULL, "\t", &save);
		assert_non_null(pw);
		assert_non_null(hash);
		assert_non_null(cmd);
		rows[n++] = (struct fixture_row){ strdup(pw), strdup(hash), strdup(cmd) };
	}
	fclose(fp);
	*n_r = n;
	return rows;
}

static void free_fixtures(struct fixture_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].password);
		free(rows[i].hash);
		free(rows[i].cmd);
	}
	free(rows);
}

static const char *const wrong_passwords[] = { "secreT", "", "secret ", "secre", "secretsecret",
					       "wrong", "pencil ", "s\xc3\xa9\x63ret" };

static void check_rows(const struct fixture_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = password_verify(rows[i].password, rows[i].hash);
		if (ret != PASSWORD_OK)
			fail_msg("%s: %s", rows[i].cmd, password_result_name(ret));
		assert_true(password_scheme_supported(rows[i].hash));
		/* Argon2 costs ~0.2 s a check here: two wrong passwords are
		 * enough for it (more under a sanitizer would take minutes). */
		bool slow = strncmp(rows[i].hash, "{ARGON2", 7) == 0;
		size_t n_wrong = slow ? 2 : sizeof(wrong_passwords) / sizeof(wrong_passwords[0]);
		for (size_t k = 0; k < n_wrong; k++) {
			if (strcmp(wrong_passwords[k], rows[i].password) == 0)
				continue;
			ret = password_verify(wrong_passwords[k], rows[i].hash);
			if (ret != PASSWORD_MISMATCH)
				fail_msg("%s with '%s': %s", rows[i].cmd, wrong_passwords[k],
					 password_result_name(ret));
		}
	}
}

/* Every hash `doveadm pw` made (see make-doveadm-pw.sh) verifies. */
static void test_doveadm_fixtures(void **state)
{
	(void)state;
	size_t n;
	struct fixture_row *rows = read_fixtures("doveadm-pw.tsv", &n);
	assert_true(n >= 30);
	check_rows(rows, n);
	/* every scheme doveadm was asked for is there */
	static const char *const schemes[] = {
		"ARGON2ID", "ARGON2I", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "SHA512-CRYPT",
		"SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT", "CRYPT", "PBKDF2", "SSHA512", "SSHA256",
		"SSHA", "PLAIN", "CLEARTEXT",
	};
	for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++) {
			char name[40];
			found = password_scheme_name(rows[i].hash, name, sizeof(name)) &&
				strcmp(name, schemes[k]) == 0 && rows[i].hash[0] == '{';
		}
		if (!found)
			fail_msg("no doveadm fixture for %s", schemes[k]);
	}
	free_fixtures(rows, n);
}

/* Hashes Loft wrote and doveadm accepted (make-loft-pw.sh): they verify,
 * and regenerating each from its own salt and cost gives the same bytes,
 * so what Loft writes today is still what Dovecot accepted. */
static void test_loft_fixtures_accepted_by_dovecot(void **state)
{
	(void)state;
	size_t n;
	struct fixture_row *rows = read_fixtures("loft-pw.tsv", &n);
	assert_true(n >= 10);
	check_rows(rows, n);
	for (size_t i = 0; i < n; i++) {
		char *again = NULL;
		assert_int_equal(password_hash_like(rows[i].hash, rows[i].password, &again),
				 PASSWORD_OK);
		if (strcmp(again, rows[i].hash) != 0)
			fail_msg("%s regenerates as %s", rows[i].hash, again);
		free(again);
	}
	free_fixtures(rows, n);
}

static void test_vectors_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		int ret = password_verify(v->password, v->hash);
		if (ret != PASSWORD_OK)
			fail_msg("%s: %s", v->cmd, password_result_name(ret));
		assert_true(password_scheme_supported(v->hash));
		assert_int_equal(password_verify("wrong", v->hash), PASSWORD_MISMATCH);
	}
}

static void test_scheme_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(password_verify("secret",
		"{sha256-crypt}$5$r1XMZuWxnxn/Z9eh$imIBnqoiThbTufEWfZEu.XGo3l5LEg0J93YHcAUhGJ5"),
		PASSWORD_OK);
	assert_int_equal(password_verify("secret", "{ssha}7hykCalW/muHQEan/qOe8MhNznq76Ixc"),
			 PASSWORD_OK);
	assert_int_equal(password_verify("secret", "{Plain}secret"), PASSWORD_OK);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{SHA512-CRYPT",                        /* no closing brace */
		"{SHA512-CRYPT}",                       /* nothing after the scheme */
		"{SHA512-CRYPT}$6$abc",                 /* no hash part */
		"{SHA512-CRYPT}$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mg", /* truncated */
		"{SHA512-CRYPT}$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mgcmFiQKMa3UmyHFvqzLPteIgK1UnapH.ZP/kTe/"
			"eAtiiVzmp7AVBJlnAjIHZsJCVXPoI/fFHmV2I1xx", /* too long */
		/* a SHA256-CRYPT hash labelled SHA512-CRYPT */
		"{SHA512-CRYPT}$5$r1XMZuWxnxn/Z9eh$imIBnqoiThbTufEWfZEu.XGo3l5LEg0J93YHcAUhGJ5",
		"{BLF-CRYPT}$6$K1iQv/7QFl/Cjiz3$x",
		"{CRYPT}",
		"",                                      /* bare CRYPT, empty */
		"*",                                     /* locked account marker */
		"!$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mgcmFiQKMa3UmyHFvqzLPteIgK1UnapH.ZP/kTe/"
			"eAtiiVzmp7AVBJlnAjIHZsJCVXPoI/fFHmV2I1",
		"{PBKDF2}$2$01QROH5cDNsQFKBR$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2",
		"{PBKDF2}$1$$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$0$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$-5$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$99999999999$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bzz",
		"{PBKDF2}$1$01QROH5cDNsQFKBR$5000",
		"{SSHA512}!!!!",
		"{SSHA512}LfA9VkJ0DaPNMMBIRdi+gmZovG3QED0lP4iYjr5eryuO04GX808pIUkQBqYgqwjM80CWvDBIiTUF5"
			"El2mtW8Q=",                     /* digest only, no salt */
		"{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc===", /* too much padding */
		"{SSHA}7hykCalW/muHQEan/qOe8MhNznq76",       /* 4n+1 characters */
		"{SSHA512.HEX}dce9cf45f6b42b37199",              /* odd length */
		"{SSHA512.HEX}zze9cf45f6b42b371991ed22cad0920a496e174c470ab1d5c1ff9e25556e31cdc799778"
			"ec4af9fcd6c5024c01a162c89f0599a165f97a8555b83bbf15427a02ab5ea1ea4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = password_verify("secret", bad[i]);
		if (ret != PASSWORD_EMALFORMED)
			fail_msg("'%s': %s, want MALFORMED", bad[i], password_result_name(ret));
	}
	assert_int_equal(password_verify(NULL, "{PLAIN}x"), PASSWORD_EMALFORMED);
	assert_int_equal(password_verify("x", NULL), PASSWORD_EMALFORMED);
}

static void test_unsupported(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{NOSUCH}abc", "{}abc", "{SHA512-CRYPT.HEX}$6$abc$def", "{SSHA512.ROT13}abc",
		"{ARGON2D}$argon2d$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA",
		"{SCRAM-SHA-512}4096,c2FsdA==,aGFzaA==,aGFzaA==",
		"{THIS-SCHEME-NAME-IS-FAR-TOO-LONG-TO-BE-REAL}x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = password_verify("secret", bad[i]);
		if (ret != PASSWORD_EUNSUPPORTED)
			fail_msg("'%s': %s, want UNSUPPORTED", bad[i], password_result_name(ret));
		assert_false(password_scheme_supported(bad[i]));
	}
}

/* The plaintext path hashes both sides before a constant-time compare, so a
 * stored password that is a prefix, an extension or a one-byte change of
 * the attempt must all be plain mismatches (a naive strncmp would accept the
 * prefix case). */
static void test_plain_compare(void **state)
{
	(void)state;
	assert_int_equal(password_verify("secret", "{PLAIN}secret"), PASSWORD_OK);
	assert_int_equal(password_verify("secret", "{PLAIN}secre"), PASSWORD_MISMATCH);
	assert_int_equal(password_verify("secre", "{PLAIN}secret"), PASSWORD_MISMATCH);
	assert_int_equal(password_verify("secreu", "{PLAIN}secret"), PASSWORD_MISMATCH);
	assert_int_equal(password_verify("", "{PLAIN}"), PASSWORD_OK);
	assert_int_equal(password_verify("x", "{PLAIN}"), PASSWORD_MISMATCH);
	assert_true(password_is_plaintext("{PLAIN}secret"));
	assert_true(password_is_plaintext("{cleartext}secret"));
	assert_false(password_is_plaintext("{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc"));
	assert_false(password_is_plaintext("$6$abc$def"));
	assert_false(password_is_plaintext(NULL));
}

/* Digest schemes: flipping any single byte of the stored digest (keeping the
 * encoding valid) must turn OK into MISMATCH. */
static void test_digest_every_byte(void **state)
{
	(void)state;
	const char *orig = "{PBKDF2}$1$01QROH5cDNsQFKBR$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2";
	char buf[128];
	size_t hex_start = strlen(orig) - 40;
	for (size_t i = hex_start; i < strlen(orig); i += 7) {
		strcpy(buf, orig);
		buf[i] = buf[i] == '0' ? '1' : '0';
		assert_int_equal(password_verify("secret", buf), PASSWORD_MISMATCH);
	}
	const char *ssha = "{SSHA256}lm0SG8xYvvsDw2h8Q8EEDUXTLOVZEsTtKdye+wqxa7EldimY";
	size_t b64_start = strlen("{SSHA256}");
	for (size_t i = b64_start; i < b64_start + 40; i += 3) {
		strcpy(buf, ssha);
		buf[i] = buf[i] == 'A' ? 'B' : 'A';
		assert_int_equal(password_verify("secret", buf), PASSWORD_MISMATCH);
	}
}

static void test_hash_generate(void **state)
{
	(void)state;
	char *h1 = NULL, *h2 = NULL;
	assert_int_equal(password_hash("correct horse", &h1), PASSWORD_OK);
	assert_int_equal(password_hash("correct horse", &h2), PASSWORD_OK);
	assert_non_null(h1);
	/* the default: {ARGON2ID} with Dovecot's default cost, 16-byte salt
	 * and 32-byte hash in unpadded base64, as doveadm writes it */
	const char *prefix = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$";
	assert_int_equal(strncmp(h1, prefix, strlen(prefix)), 0);
	const char *salt = h1 + strlen(prefix);
	const char *dollar = strchr(salt, '$');
	assert_non_null(dollar);
	assert_int_equal(dollar - salt, 22);
	assert_int_equal(strlen(dollar + 1), 43);
	assert_string_not_equal(h1, h2); /* random salt */
	assert_int_equal(password_verify("correct horse", h1), PASSWORD_OK);
	assert_int_equal(password_verify("correct horse", h2), PASSWORD_OK);
	assert_int_equal(password_verify("correct horsE", h1), PASSWORD_MISMATCH);
	assert_false(password_is_plaintext(h1));
	char cls[64];
	assert_true(password_cost_class(h1, cls, sizeof(cls)));
	assert_string_equal(cls, "ARGON2ID m=65536 t=3 p=1");
	free(h1);
	free(h2);
}

static void test_hash_params(void **state)
{
	(void)state;
	struct password_params p;
	password_params_default(&p);
	assert_int_equal(p.scheme, PASSWORD_SCHEME_ARGON2ID);
	p.argon2_memory_kib = 256;
	p.argon2_time = 2;
	p.argon2_lanes = 2;
	char *h = NULL;
	assert_int_equal(password_hash_params("pw", &p, &h), PASSWORD_OK);
	assert_int_equal(strncmp(h, "{ARGON2ID}$argon2id$v=19$m=256,t=2,p=2$", 39), 0);
	assert_int_equal(password_verify("pw", h), PASSWORD_OK);
	assert_int_equal(password_verify("pW", h), PASSWORD_MISMATCH);
	free(h);
	/* costs out of bounds are refused, not clamped */
	struct password_params bad[] = { p, p, p, p, p, p };
	bad[0].argon2_memory_kib = PASSWORD_ARGON2_MIN_MEMORY_KIB - 1;
	bad[1].argon2_memory_kib = PASSWORD_ARGON2_MAX_MEMORY_KIB + 1;
	bad[2].argon2_time = 0;
	bad[3].argon2_lanes = 0;
	bad[4].argon2_lanes = PASSWORD_ARGON2_MAX_LANES + 1;
	bad[5].scheme = (enum password_scheme)7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = (char *)"untouched";
		assert_int_equal(password_hash_params("pw", &bad[i], &h), PASSWORD_EUNSUPPORTED);
		assert_null(h);
	}
	p.scheme = PASSWORD_SCHEME_SHA512_CRYPT;
	p.crypt_rounds = 2000;
	assert_int_equal(password_hash_params("pw", &p, &h), PASSWORD_OK);
	assert_int_equal(strncmp(h, "{SHA512-CRYPT}$6$rounds=2000$", 29), 0);
	assert_int_equal(password_verify("pw", h), PASSWORD_OK);
	free(h);
}

/* Verification runs through libsodium for version 1.3, one lane and a
 * 16-byte salt, through libargon2 otherwise: hashes made by each library
 * with every kind of parameters check right (and wrong passwords fail) either
 * way, so the two engines agree on the encoding. */
static void test_argon2_engines(void **state)
{
	(void)state;
	static const unsigned char salt16[16] = "0123456789abcdef", salt8[8] = "01234567";
	struct {
		argon2_type type;
		unsigned t, m, p, version;
		const unsigned char *salt;
		size_t salt_len, hash_len;
	} cases[] = {
		{ Argon2_id, 3, 256, 1, ARGON2_VERSION_13, salt16, 16, 32 },  /* libsodium */
		{ Argon2_id, 1, 64, 1, ARGON2_VERSION_13, salt16, 16, 16 },   /* libsodium */
		{ Argon2_id, 2, 128, 1, ARGON2_VERSION_13, salt16, 16, 64 },  /* libsodium */
		{ Argon2_i, 3, 256, 1, ARGON2_VERSION_13, salt16, 16, 32 },   /* libsodium */
		{ Argon2_i, 1, 256, 1, ARGON2_VERSION_13, salt16, 16, 32 },   /* t < 3 */
		{ Argon2_id, 2, 256, 2, ARGON2_VERSION_13, salt16, 16, 32 },  /* 2 lanes */
		{ Argon2_id, 2, 256, 1, ARGON2_VERSION_10, salt16, 16, 32 },  /* v=16 */
		{ Argon2_id, 2, 256, 1, ARGON2_VERSION_13, salt8, 8, 32 },    /* short salt */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char enc[256], stored[300];
		assert_int_equal(argon2_hash(cases[i].t, cases[i].m, cases[i].p, "pw", 2,
					     cases[i].salt, cases[i].salt_len, NULL,
					     cases[i].hash_len, enc, sizeof(enc), cases[i].type,
					     cases[i].version), ARGON2_OK);
		snprintf(stored, sizeof(stored), "{%s}%s",
			 cases[i].type == Argon2_id ? "ARGON2ID" : "ARGON2I", enc);
		assert_int_equal(password_verify("pw", stored), PASSWORD_OK);
		assert_int_equal(password_verify("pv", stored), PASSWORD_MISMATCH);
		assert_int_equal(password_verify("", stored), PASSWORD_MISMATCH);
	}
	/* and what libsodium itself writes */
	assert_true(sodium_init() >= 0);
	char sstr[crypto_pwhash_STRBYTES], stored[crypto_pwhash_STRBYTES + 16];
	assert_int_equal(crypto_pwhash_str_alg(sstr, "secret", 6, 3, 256 * 1024,
					       crypto_pwhash_ALG_ARGON2ID13), 0);
	snprintf(stored, sizeof(stored), "{ARGON2ID}%s", sstr);
	assert_int_equal(password_verify("secret", stored), PASSWORD_OK);
	assert_int_equal(password_verify("Secret", stored), PASSWORD_MISMATCH);
}

/* Argon2 strings that must not verify, and costs a users file may not ask
 * for (a line asking for 8 GiB must not allocate it). */
static void test_argon2_malformed(void **state)
{
	(void)state;
	static const struct { const char *hash; int want; } cases[] = {
		{ "{ARGON2ID}$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$!!!$aGFzaGhhc2hoYXNo", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNo", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ$aGFz", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}$argon2id$v=20$m=256,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EUNSUPPORTED },
		{ "{ARGON2ID}$argon2id$v=19$m=8388608,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EUNSUPPORTED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EUNSUPPORTED },
		{ "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=0$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EUNSUPPORTED },
		{ "{ARGON2ID}$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", PASSWORD_EMALFORMED },
		{ "{ARGON2ID}", PASSWORD_EMALFORMED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = password_verify("secret", cases[i].hash);
		if (ret != cases[i].want)
			fail_msg("'%s': %s", cases[i].hash, password_result_name(ret));
		char cls[64];
		assert_false(password_cost_class(cases[i].hash, cls, sizeof(cls)));
	}
	/* a well-formed hash of another password: a plain mismatch */
	assert_int_equal(password_verify("secret", "{ARGON2ID}$argon2id$v=19$m=256,t=1,p=1$"
					 "c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"),
			 PASSWORD_MISMATCH);
}

static void test_scram_keys(void **state)
{
	(void)state;
	/* doveadm pw -s SCRAM-SHA-256 -p secret */
	const char *dove = "{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+"
			   "PSimcMPiVY6Nvg51Y=,bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=";
	struct password_scram k, d;
	assert_int_equal(password_scram_parse(dove, PASSWORD_SCRAM_SHA256, &k), 0);
	assert_int_equal(k.iterations, 4096);
	assert_int_equal(k.salt_len, 16);
	assert_int_equal(k.key_len, 32);
	char *again = password_scram_format(&k);
	assert_string_equal(again, dove);
	free(again);
	assert_int_equal(password_scram_derive("secret", PASSWORD_SCRAM_SHA256, k.salt, k.salt_len,
					       k.iterations, &d), 0);
	assert_memory_equal(d.stored_key, k.stored_key, 32);
	assert_memory_equal(d.server_key, k.server_key, 32);
	/* the SHA-1 form has 20-byte keys and is told apart from SHA-256 */
	assert_int_equal(password_scram_parse(dove, PASSWORD_SCRAM_SHA1, &k), PASSWORD_EMALFORMED);
	char *made = NULL;
	assert_int_equal(password_scram_make("pw", PASSWORD_SCRAM_SHA1, 5000, &made), 0);
	assert_int_equal(strncmp(made, "{SCRAM-SHA-1}5000,", 18), 0);
	assert_int_equal(password_scram_parse(made, PASSWORD_SCRAM_SHA1, &k), 0);
	assert_int_equal(k.key_len, 20);
	assert_int_equal(password_verify("pw", made), PASSWORD_OK);
	assert_int_equal(password_verify("pw2", made), PASSWORD_MISMATCH);
	free(made);
	assert_string_equal(password_scram_scheme(PASSWORD_SCRAM_SHA1), "SCRAM-SHA-1");
	static const char *const bad[] = {
		"{SCRAM-SHA-256}0,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimcMPiVY6Nvg51Y=,"
			"bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=",
		"{SCRAM-SHA-256}99999999999,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimc"
			"MPiVY6Nvg51Y=,bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=",
		"{SCRAM-SHA-256}4096,,OTfs1uT3doEucSjqIL+4GquWw+PSimcMPiVY6Nvg51Y=,"
			"bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=",
		"{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimcMPiVY6Nvg51Y=",
		"{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,T1Rmcw==,"
			"bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=",
		"{SCRAM-SHA-256}4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimcMPiVY6Nvg51Y=,"
			"bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=,extra",
		"{SCRAM-SHA-256}x4096,kUfz9ySzm1Wg2u7nLZm0+Q==,OTfs1uT3doEucSjqIL+4GquWw+PSimcMPiVY6Nvg51Y=,"
			"bLsHdYAUm2qmquyoNjLdg2KBV4GWAL2FqNjVc9sGvQg=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = password_verify("secret", bad[i]);
		if (ret != PASSWORD_EMALFORMED)
			fail_msg("'%s': %s", bad[i], password_result_name(ret));
	}
}

static void test_cram_md5_context(void **state)
{
	(void)state;
	unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN], parsed[PASSWORD_CRAM_CONTEXT_LEN], d[16];
	/* doveadm pw -s CRAM-MD5 -p tanstaaftanstaaf, then RFC 2195's example */
	assert_int_equal(password_cram_md5_parse("{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b21152"
						 "711fb604ca3e035e7015116b", parsed), 0);
	assert_int_equal(password_cram_md5_context("tanstaaftanstaaf", ctx), 0);
	assert_memory_equal(ctx, parsed, sizeof(ctx));
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	assert_int_equal(password_cram_md5_hmac(ctx, ch, strlen(ch), d), 0);
	static const unsigned char want[16] = { 0xb9, 0x13, 0xa6, 0x02, 0xc7, 0xed, 0xa7, 0xa4,
						0x95, 0xb4, 0xe6, 0xe7, 0x33, 0x4d, 0x38, 0x90 };
	assert_memory_equal(d, want, 16);
	/* a key longer than one MD5 block is hashed first (HMAC) */
	char *made = NULL;
	char long_pw[81];
	memset(long_pw, 'x', 80);
	long_pw[80] = '\0';
	assert_int_equal(password_cram_md5_make(long_pw, &made), 0);
	assert_string_equal(made, "{CRAM-MD5}ff6454343902c25cfaf14768b382dae3172680a33b4792a34267"
				  "ff0628fbfe89");
	free(made);
	assert_int_equal(password_cram_md5_parse("{CRAM-MD5}d06d", parsed), PASSWORD_EMALFORMED);
	assert_int_equal(password_cram_md5_parse("{PLAIN}x", parsed), PASSWORD_EMALFORMED);
	assert_int_equal(password_verify("x", "{CRAM-MD5}zz6d4e1b26fccaa4b0b61801132340a354b21152"
					 "711fb604ca3e035e7015116b"), PASSWORD_EMALFORMED);
}

/* The cost classes that choose the unknown-user dummy, and hashes made
 * "like" a stored one: same class, the new password, never the old. */
static void test_cost_class_and_like(void **state)
{
	(void)state;
	static const struct { const char *hash; const char *cls; } cases[] = {
		{ "{SHA512-CRYPT}$6$biNuHXJep/G.Wapj$O.ZLEqhveJSGJ7NprMrj5vxvGuYmfO3qLzlx5r113ZlV4wi."
		  "b0N7hPd6vPWdxO7OR/Tp4EhL18JiJgkuC3gBX1", "SHA512-CRYPT rounds=5000" },
		{ "$6$rounds=10000$9XN/zN5cmY6/0mZ0$iHwtcc.f9txGpBjHlRI9vLwOsbpNVpvdZ7Y3zHjhbkQiS5IcO"
		  "ocLjv/wE6uXbuuLoj8Qvtm3e7kCeY2j8IKBa0", "SHA512-CRYPT rounds=10000" },
		{ "{BLF-CRYPT}$2y$08$iToTHxwo8TogGd5TGeNBIO3IsFncoYgUqIGs9u/fuJPrnRr4BNtbi",
		  "BLF-CRYPT cost=08" },
		{ "{PBKDF2}$1$X0zoziVgrYYpGSU/$1000$c6265393065aef1842da2f08694092b98d937524",
		  "PBKDF2 rounds=1000" },
		{ "{SSHA256}H4u53pUId0AiofEnNVf+vro5lFt6gphHAanyfYWDtndLeQph", "SSHA256" },
		{ "{CLEARTEXT}secret", "PLAIN" },
		{ "{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56",
		  "CRAM-MD5" },
		{ "{SCRAM-SHA-1}4096,k2Wsv9XzeQektPs97QBm+g==,JzlvUjuGSuXnPhucjaTYeUD2sy0=,/adv5gcDLbD"
		  "+XKWUhfLaJStc/ag=", "SCRAM-SHA-1 i=4096" },
		{ "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$QWxXMMPiEAnR76JECQjO6Q$ksiU6hw06q7BeCTUhnCx"
		  "GB7sK4gz6FX9MYmWYYJbghA", "ARGON2I m=32768 t=4 p=1" },
		{ "{MD5-CRYPT}$1$mdufttVr$9YSnQ9yukiTCn24qDcFQ31", "MD5-CRYPT" },
		{ "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0",
		  "YESCRYPT j9T" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cls[64], cls2[64];
		assert_true(password_cost_class(cases[i].hash, cls, sizeof(cls)));
		assert_string_equal(cls, cases[i].cls);
		char *like = NULL;
		assert_int_equal(password_hash_like(cases[i].hash, "other pw", &like), PASSWORD_OK);
		assert_true(password_cost_class(like, cls2, sizeof(cls2)));
		assert_string_equal(cls2, cls);
		assert_int_equal(password_verify("other pw", like), PASSWORD_OK);
		assert_int_equal(password_verify("secret", like), PASSWORD_MISMATCH);
		free(like);
	}
	char cls[64];
	assert_false(password_cost_class("{NOSUCH}x", cls, sizeof(cls)));
	assert_false(password_cost_class("*", cls, sizeof(cls)));
	assert_false(password_cost_class("{PBKDF2}$1$x$0$00", cls, sizeof(cls)));
	char *like = NULL;
	assert_int_equal(password_hash_like("{NOSUCH}x", "pw", &like), PASSWORD_EUNSUPPORTED);
	assert_int_equal(password_hash_like("{CRYPT}", "pw", &like), PASSWORD_EMALFORMED);
	assert_null(like);
	char name[32];
	assert_true(password_scheme_name("{ssha256.b64}xx", name, sizeof(name)));
	assert_string_equal(name, "SSHA256");
	assert_true(password_scheme_name("$6$x$y", name, sizeof(name)));
	assert_string_equal(name, "CRYPT");
	assert_false(password_scheme_name("{NOSUCH}x", name, sizeof(name)));
	assert_string_equal(password_plaintext_value("{CLEAR}abc"), "abc");
	assert_null(password_plaintext_value("{SSHA}abc"));
}

static void test_hash_fast(void **state)
{
	(void)state;
	char *a = NULL, *b = NULL;
	assert_int_equal(password_hash_fast("abcdefghijklmnopqrst", &a), PASSWORD_OK);
	assert_int_equal(password_hash_fast("abcdefghijklmnopqrst", &b), PASSWORD_OK);
	assert_int_equal(strncmp(a, "{SSHA256}", 9), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(password_verify("abcdefghijklmnopqrst", a), PASSWORD_OK);
	assert_int_equal(password_verify("abcdefghijklmnopqrsu", b), PASSWORD_MISMATCH);
	unsigned char raw[64];
	assert_int_equal(base64_decode(a + 9, strlen(a + 9), raw, sizeof(raw), true), 48);
	free(a);
	free(b);
}

static void test_hash_rounds(void **state)
{
	(void)state;
	char *h = NULL;
	assert_int_equal(password_hash_rounds("pw", PASSWORD_MIN_ROUNDS - 1, &h),
			 PASSWORD_EUNSUPPORTED);
	assert_null(h);
	assert_int_equal(password_hash_rounds("pw", 1000, &h), PASSWORD_OK);
	assert_int_equal(strncmp(h, "{SHA512-CRYPT}$6$rounds=1000$", 29), 0);
	assert_int_equal(password_verify("pw", h), PASSWORD_OK);
	assert_int_equal(password_verify("pW", h), PASSWORD_MISMATCH);
	free(h);
	/* An empty password still gets a real hash (policy is the caller's). */
	assert_int_equal(password_hash_rounds("", 1000, &h), PASSWORD_OK);
	assert_int_equal(password_verify("", h), PASSWORD_OK);
	assert_int_equal(password_verify(" ", h), PASSWORD_MISMATCH);
	free(h);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(password_result_name(PASSWORD_OK), "OK");
	assert_string_equal(password_result_name(PASSWORD_MISMATCH), "MISMATCH");
	assert_string_equal(password_result_name(PASSWORD_EMALFORMED), "MALFORMED");
	assert_string_equal(password_result_name(PASSWORD_EUNSUPPORTED), "UNSUPPORTED");
	assert_string_equal(password_result_name(-99), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doveadm_fixtures),
		cmocka_unit_test(test_loft_fixtures_accepted_by_dovecot),
		cmocka_unit_test(test_vectors_verify),
		cmocka_unit_test(test_scheme_case_insensitive),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_plain_compare),
		cmocka_unit_test(test_digest_every_byte),
		cmocka_unit_test(test_hash_generate),
		cmocka_unit_test(test_hash_params),
		cmocka_unit_test(test_argon2_engines),
		cmocka_unit_test(test_argon2_malformed),
		cmocka_unit_test(test_scram_keys),
		cmocka_unit_test(test_cram_md5_context),
		cmocka_unit_test(test_cost_class_and_like),
		cmocka_unit_test(test_hash_fast),
		cmocka_unit_test(test_hash_rounds),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
