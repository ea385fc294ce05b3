/* Unit tests for auth/password.c: every accepted scheme against vectors made
 * by Dovecot's own `doveadm pw`, wrong passwords, malformed and unsupported
 * hashes, and SHA512-CRYPT generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth/password.h"

/* Produced with Debian's dovecot-core 1:2.3.19.1+dfsg1-2.1+deb12u7; the
 * command for each vector is in the comment. Password "secret" unless the
 * vector says otherwise. */
struct vector {
	const char *cmd;
	const char *password;
	const char *hash;
};

static const struct vector vectors[] = {
	{ "doveadm pw -s SHA512-CRYPT -p secret", "secret",
	  "{SHA512-CRYPT}$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mgcmFiQKMa3UmyHFvqzLPteIgK1UnapH.ZP/kTe/"
	  "eAtiiVzmp7AVBJlnAjIHZsJCVXPoI/fFHmV2I1" },
	{ "doveadm pw -s SHA512-CRYPT -r 10000 -p secret", "secret",
	  "{SHA512-CRYPT}$6$rounds=10000$KNg155DiHw73t8Rs$sTSs9vJyumwEV4FXob5IXCXg7jpPBj283PtDl04w"
	  "TjJXrgQMuJbtMzXt83nXf2Kgu2T8W3yBn6KpkOwvfgFKv0" },
	{ "doveadm pw -s SHA512-CRYPT -p 'sécret pw'", "s\xc3\xa9" "cret pw",
	  "{SHA512-CRYPT}$6$wf91rBaKpIAJUMvu$fG6Ellj8mTymJ3PqPdjx1CEm7AVoYViLJmi7agAoFxIa9VJdnxakc4"
	  "oJ5jHH3qyAvbzG3l2Kp2OZPERrIKYNl0" },
	{ "doveadm pw -s SHA256-CRYPT -p secret", "secret",
	  "{SHA256-CRYPT}$5$r1XMZuWxnxn/Z9eh$imIBnqoiThbTufEWfZEu.XGo3l5LEg0J93YHcAUhGJ5" },
	{ "doveadm pw -s SHA256-CRYPT -r 6000 -p secret", "secret",
	  "{SHA256-CRYPT}$5$rounds=6000$VNFgdoX2Nn1JFDge$x4Tgn0F02ahjeajQAZGATUmh4HjzP5wZXipPjoHuovB" },
	{ "doveadm pw -s BLF-CRYPT -p secret", "secret",
	  "{BLF-CRYPT}$2y$05$2KIKGWjwW0xyLYCY4bbrgu82w8prdkKmOg7SZi60AodHcXA7TEcWO" },
	{ "doveadm pw -s BLF-CRYPT -r 8 -p secret", "secret",
	  "{BLF-CRYPT}$2y$08$luwd1METWpmqH3u76bg0resPydIXzzoEud5Q9pDoQCgLAj8GRgzli" },
	{ "doveadm pw -s CRYPT -p secret", "secret",
	  "{CRYPT}$2y$05$DXvVnUPVvezsEF8NfV7nTepFh.ze.vy8VPfWhEuNfb9dB2SyghoH." },
	{ "doveadm pw -s MD5-CRYPT -p secret", "secret",
	  "{MD5-CRYPT}$1$pdI7Twte$.olQr0mSit0QHcp5kOT8f0" },
	/* yescrypt: made with libxcrypt (python3 crypt.crypt with setting
	 * $y$j9T$F5Jx5fExrKuPp53xLKQ..1$), then checked with
	 * doveadm pw -t '{CRYPT}<hash>' -p secret  -> (verified) */
	{ "doveadm pw -t '{CRYPT}$y$...' -p secret", "secret",
	  "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0" },
	/* No {SCHEME}: Dovecot's passwd-file default scheme is CRYPT. */
	{ "doveadm pw -s SHA512-CRYPT -p secret (prefix removed)", "secret",
	  "$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mgcmFiQKMa3UmyHFvqzLPteIgK1UnapH.ZP/kTe/"
	  "eAtiiVzmp7AVBJlnAjIHZsJCVXPoI/fFHmV2I1" },
	{ "doveadm pw -s PBKDF2 -p secret", "secret",
	  "{PBKDF2}$1$01QROH5cDNsQFKBR$5000$0c560d5a5ba8f4cf5ea1c35f431ca1fcac6d9bc2" },
	{ "doveadm pw -s PBKDF2 -r 1000 -p secret", "secret",
	  "{PBKDF2}$1$ARb7bk2kgyq7.yh4$1000$cc17030442674be25c78e20cb5c28e2e307741ef" },
	{ "doveadm pw -s SSHA512 -p secret", "secret",
	  "{SSHA512}LfA9VkJ0DaPNMMBIRdi+gmZovG3QED0lP4iYjr5eryuO04GX808pIUkQBqYgqwjM80CWvDBIiTUF5"
	  "El2mtW8QlkqPbY=" },
	{ "doveadm pw -s SSHA512 -p secret", "secret",
	  "{SSHA512}rVyt7nrAUdLOr+1N+U4XOQ9JAnGKl4QTtylCCrBmDwm4d+lQmRiHMw7eldbnQbBr7inNFviNLOFisE"
	  "yKRxdraPHK6x0=" },
	{ "doveadm pw -s SSHA512.HEX -p secret", "secret",
	  "{SSHA512.HEX}dce9cf45f6b42b371991ed22cad0920a496e174c470ab1d5c1ff9e25556e31cdc799778ec4"
	  "af9fcd6c5024c01a162c89f0599a165f97a8555b83bbf15427a02ab5ea1ea4" },
	{ "doveadm pw -s SSHA256 -p secret", "secret",
	  "{SSHA256}lm0SG8xYvvsDw2h8Q8EEDUXTLOVZEsTtKdye+wqxa7EldimY" },
	{ "doveadm pw -s SSHA256.B64 -p secret", "secret",
	  "{SSHA256.B64}R+FPWJ81Y2cL7Ko9Wr2BbXE/TH/4r9Vvh6j3uG3j/75UNeUe" },
	{ "doveadm pw -s SSHA -p secret", "secret", "{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc" },
	{ "doveadm pw -s PLAIN -p secret", "secret", "{PLAIN}secret" },
	{ "doveadm pw -s CLEARTEXT -p secret", "secret", "{CLEARTEXT}secret" },
	{ "doveadm pw -s PLAIN -p 'pässwörd'", "p\xc3\xa4ssw\xc3\xb6rd",
	  "{PLAIN}p\xc3\xa4ssw\xc3\xb6rd" },
};

static void test_vectors_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		int ret = password_verify(v->password, v->hash);
		if (ret != PASSWORD_OK)
			fail_msg("%s: %s", v->cmd, password_result_name(ret));
		assert_true(password_scheme_supported(v->hash));
	}
}

static void test_vectors_wrong_password(void **state)
{
	(void)state;
	static const char *const wrong[] = { "", "secreT", "secret ", "secre", "secretsecret",
					     "wrong" };
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		for (size_t k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
			int ret = password_verify(wrong[k], vectors[i].hash);
			if (ret != PASSWORD_MISMATCH)
				fail_msg("%s with '%s': %s", vectors[i].cmd, wrong[k],
					 password_result_name(ret));
		}
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
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA",
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
	/* {SHA512-CRYPT}$6$rounds=50000$<16 salt>$<86 hash> */
	const char *prefix = "{SHA512-CRYPT}$6$rounds=50000$";
	assert_int_equal(strncmp(h1, prefix, strlen(prefix)), 0);
	const char *salt = h1 + strlen(prefix);
	const char *dollar = strchr(salt, '$');
	assert_non_null(dollar);
	assert_int_equal(dollar - salt, 16);
	assert_int_equal(strlen(dollar + 1), 86);
	assert_int_equal(strspn(salt, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "abcdefghijklmnopqrstuvwxyz"), 16);
	assert_string_not_equal(h1, h2); /* random salt */
	assert_int_equal(password_verify("correct horse", h1), PASSWORD_OK);
	assert_int_equal(password_verify("correct horse", h2), PASSWORD_OK);
	assert_int_equal(password_verify("correct horsE", h1), PASSWORD_MISMATCH);
	assert_false(password_is_plaintext(h1));
	free(h1);
	free(h2);
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
		cmocka_unit_test(test_vectors_verify),
		cmocka_unit_test(test_vectors_wrong_password),
		cmocka_unit_test(test_scheme_case_insensitive),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_plain_compare),
		cmocka_unit_test(test_digest_every_byte),
		cmocka_unit_test(test_hash_generate),
		cmocka_unit_test(test_hash_rounds),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
