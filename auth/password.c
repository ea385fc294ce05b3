/* Password schemes: SHA512-CRYPT generation and verification of the Dovecot
 * "{SCHEME}" formats listed in password.h. crypt(3) schemes go through
 * libxcrypt's crypt_r, PBKDF2 and the salted SHA digests through OpenSSL;
 * every comparison of secret-derived bytes uses CRYPTO_memcmp and every
 * temporary buffer holding a secret is wiped before it is freed. */
#include "auth/password.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/xmem.h"
#include "lib/thread-role.h"

#define SCHEME_MAX 32
#define SALT_CHARS 16
/* Upper bound on PBKDF2 iterations accepted from a users file, so a typo
 * cannot make one login take minutes. Dovecot generates 5000. */
#define PBKDF2_MAX_ROUNDS 10000000u
#define PBKDF2_KEY_LEN 20

static const char crypt_alphabet[] =
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

enum encoding { ENC_DEFAULT, ENC_B64, ENC_HEX };

enum scheme_kind { KIND_CRYPT, KIND_PBKDF2, KIND_SSHA, KIND_PLAIN };

struct scheme {
	const char *name;
	enum scheme_kind kind;
	const char *crypt_prefix;   /* KIND_CRYPT: required start, NULL = any */
	const char *digest;         /* KIND_SSHA: OpenSSL digest name */
};

static const struct scheme schemes[] = {
	{ "SHA512-CRYPT", KIND_CRYPT, "$6$", NULL },
	{ "SHA256-CRYPT", KIND_CRYPT, "$5$", NULL },
	{ "BLF-CRYPT", KIND_CRYPT, "$2", NULL },
	{ "MD5-CRYPT", KIND_CRYPT, "$1$", NULL },
	{ "CRYPT", KIND_CRYPT, NULL, NULL },
	{ "PBKDF2", KIND_PBKDF2, NULL, NULL },
	{ "SSHA512", KIND_SSHA, NULL, "SHA512" },
	{ "SSHA256", KIND_SSHA, NULL, "SHA256" },
	{ "SSHA", KIND_SSHA, NULL, "SHA1" },
	{ "PLAIN", KIND_PLAIN, NULL, NULL },
	{ "CLEARTEXT", KIND_PLAIN, NULL, NULL },
	{ "CLEAR", KIND_PLAIN, NULL, NULL },
};

/* Split "{NAME[.ENC]}rest" into its scheme and the rest. A string without a
 * leading '{' is Dovecot's default passwd-file scheme, CRYPT. Returns 0 or a
 * negative password_result. */
static int parse_scheme(const char *stored, const struct scheme **scheme_r,
			enum encoding *enc_r, const char **rest_r)
{
	*enc_r = ENC_DEFAULT;
	if (stored[0] != '{') {
		*scheme_r = &schemes[4]; /* CRYPT */
		*rest_r = stored;
		return 0;
	}
	const char *end = strchr(stored, '}');
	if (end == NULL)
		return PASSWORD_EMALFORMED;
	size_t len = (size_t)(end - stored - 1);
	if (len == 0 || len >= SCHEME_MAX)
		return PASSWORD_EUNSUPPORTED;
	char name[SCHEME_MAX];
	memcpy(name, stored + 1, len);
	name[len] = '\0';
	char *dot = strchr(name, '.');
	if (dot != NULL) {
		*dot++ = '\0';
		if (strcasecmp(dot, "B64") == 0 || strcasecmp(dot, "BASE64") == 0)
			*enc_r = ENC_B64;
		else if (strcasecmp(dot, "HEX") == 0)
			*enc_r = ENC_HEX;
		else
			return PASSWORD_EUNSUPPORTED;
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strcasecmp(name, schemes[i].name) == 0) {
			/* An encoding suffix only means something for digests. */
			if (*enc_r != ENC_DEFAULT && schemes[i].kind != KIND_SSHA)
				return PASSWORD_EUNSUPPORTED;
			*scheme_r = &schemes[i];
			*rest_r = end + 1;
			return 0;
		}
	}
	return PASSWORD_EUNSUPPORTED;
}

/* ---- decoding helpers (strict: any stray byte is an error) ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode standard base64 (padding optional). Returns the length or -1. */
static long b64_decode(const char *in, unsigned char *out, size_t out_size)
{
	size_t len = strlen(in);
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (strlen(in) - len > 2 || len % 4 == 1)
		return -1;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_size)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static long hex_decode(const char *in, unsigned char *out, size_t out_size)
{
	size_t len = strlen(in);
	if (len % 2 != 0 || len / 2 > out_size)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value((unsigned char)in[i]);
		int lo = hex_value((unsigned char)in[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

/* ---- verifiers ---- */

static int verify_crypt(const struct scheme *scheme, const char *password,
			const char *hash)
{
	if (hash[0] == '\0')
		return PASSWORD_EMALFORMED;
	if (scheme->crypt_prefix != NULL &&
	    strncmp(hash, scheme->crypt_prefix, strlen(scheme->crypt_prefix)) != 0)
		return PASSWORD_EMALFORMED;
	/* struct crypt_data is 32 KiB: keep it off small thread-pool stacks. */
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out = crypt_r(password, hash, data);
	int ret;
	size_t len = strlen(hash);
	if (out == NULL || out[0] == '*') {
		ret = PASSWORD_EMALFORMED;
	} else if (strlen(out) != len) {
		/* A well-formed hash always reproduces its own length; a
		 * truncated or padded one never matches. Lengths are public. */
		ret = PASSWORD_EMALFORMED;
	} else {
		ret = CRYPTO_memcmp(out, hash, len) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	}
	x_wipe(data, sizeof(*data));
	free(data);
	return ret;
}

/* Dovecot's PBKDF2: "$1$<salt>$<rounds>$<hex of 20 bytes>", HMAC-SHA1 with the
 * salt string used as it is (not decoded). */
static int verify_pbkdf2(const char *password, const char *rest)
{
	if (strncmp(rest, "$1$", 3) != 0)
		return PASSWORD_EMALFORMED;
	const char *salt = rest + 3;
	const char *salt_end = strchr(salt, '$');
	if (salt_end == NULL || salt_end == salt)
		return PASSWORD_EMALFORMED;
	const char *p = salt_end + 1;
	if (!isdigit((unsigned char)*p))
		return PASSWORD_EMALFORMED;
	errno = 0;
	char *end;
	unsigned long rounds = strtoul(p, &end, 10);
	if (errno != 0 || *end != '$' || rounds == 0 || rounds > PBKDF2_MAX_ROUNDS)
		return PASSWORD_EMALFORMED;
	unsigned char want[PBKDF2_KEY_LEN];
	if (strlen(end + 1) != PBKDF2_KEY_LEN * 2 ||
	    hex_decode(end + 1, want, sizeof(want)) != PBKDF2_KEY_LEN)
		return PASSWORD_EMALFORMED;
	unsigned char got[PBKDF2_KEY_LEN];
	int ret;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
			      (const unsigned char *)salt, (int)(salt_end - salt),
			      (int)rounds, EVP_sha1(), sizeof(got), got) != 1)
		ret = PASSWORD_EINTERNAL;
	else
		ret = CRYPTO_memcmp(got, want, sizeof(got)) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	x_wipe(got, sizeof(got));
	x_wipe(want, sizeof(want));
	return ret;
}

/* digest(password || salt) into out; returns the digest length or -1. */
static int digest_with_salt(const char *digest_name, const void *a, size_t a_len,
			    const void *salt, size_t salt_len, unsigned char *out)
{
	const EVP_MD *md = EVP_get_digestbyname(digest_name);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int out_len = 0;
	int ok = md != NULL && ctx != NULL &&
		EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		EVP_DigestUpdate(ctx, a, a_len) == 1 &&
		EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
		EVP_DigestFinal_ex(ctx, out, &out_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? (int)out_len : -1;
}

/* {SSHA*}: encode(digest(password || salt) || salt). */
static int verify_ssha(const struct scheme *scheme, enum encoding enc,
		       const char *password, const char *rest)
{
	unsigned char raw[512];
	long raw_len = enc == ENC_HEX ? hex_decode(rest, raw, sizeof(raw))
				      : b64_decode(rest, raw, sizeof(raw));
	const EVP_MD *md = EVP_get_digestbyname(scheme->digest);
	if (md == NULL)
		return PASSWORD_EINTERNAL;
	long md_len = EVP_MD_get_size(md);
	/* Dovecot refuses a salted hash with an empty salt, and so do we. */
	if (raw_len <= md_len)
		return PASSWORD_EMALFORMED;
	unsigned char got[EVP_MAX_MD_SIZE];
	int ret;
	if (digest_with_salt(scheme->digest, password, strlen(password),
			     raw + md_len, (size_t)(raw_len - md_len), got) != md_len)
		ret = PASSWORD_EINTERNAL;
	else
		ret = CRYPTO_memcmp(got, raw, (size_t)md_len) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	x_wipe(got, sizeof(got));
	x_wipe(raw, sizeof(raw));
	return ret;
}

/* Compare SHA-256 digests so neither the content nor the length of the stored
 * password shows in the timing. */
static int verify_plain(const char *password, const char *rest)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	int ret;
	if (digest_with_salt("SHA256", password, strlen(password), "", 0, a) != 32 ||
	    digest_with_salt("SHA256", rest, strlen(rest), "", 0, b) != 32)
		ret = PASSWORD_EINTERNAL;
	else
		ret = CRYPTO_memcmp(a, b, 32) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	x_wipe(a, sizeof(a));
	x_wipe(b, sizeof(b));
	return ret;
}

int password_verify(const char *password, const char *stored)
{
	thread_assert_may_block("password_verify");
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	if (password == NULL || stored == NULL)
		return PASSWORD_EMALFORMED;
	int ret = parse_scheme(stored, &scheme, &enc, &rest);
	if (ret < 0)
		return ret;
	switch (scheme->kind) {
	case KIND_CRYPT:
		return verify_crypt(scheme, password, rest);
	case KIND_PBKDF2:
		return verify_pbkdf2(password, rest);
	case KIND_SSHA:
		return verify_ssha(scheme, enc, password, rest);
	case KIND_PLAIN:
		return verify_plain(password, rest);
	}
	return PASSWORD_EUNSUPPORTED;
}

bool password_scheme_supported(const char *stored)
{
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	return stored != NULL && parse_scheme(stored, &scheme, &enc, &rest) == 0;
}

bool password_is_plaintext(const char *stored)
{
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	return stored != NULL && parse_scheme(stored, &scheme, &enc, &rest) == 0 &&
	       scheme->kind == KIND_PLAIN;
}

/* ---- generation ---- */

static int random_bytes(unsigned char *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int password_hash_rounds(const char *password, unsigned rounds, char **hash_r)
{
	thread_assert_may_block("password_hash");
	*hash_r = NULL;
	if (rounds < PASSWORD_MIN_ROUNDS || rounds > PASSWORD_MAX_ROUNDS)
		return PASSWORD_EUNSUPPORTED;
	unsigned char rnd[SALT_CHARS];
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return PASSWORD_EINTERNAL;
	/* 16 salt characters of 6 random bits each: the longest salt
	 * SHA512-CRYPT uses. */
	char salt[SALT_CHARS + 1];
	for (size_t i = 0; i < SALT_CHARS; i++)
		salt[i] = crypt_alphabet[rnd[i] & 63];
	salt[SALT_CHARS] = '\0';
	char setting[64];
	snprintf(setting, sizeof(setting), "$6$rounds=%u$%s$", rounds, salt);

	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out = crypt_r(password, setting, data);
	int ret = PASSWORD_EINTERNAL;
	if (out != NULL && strncmp(out, "$6$", 3) == 0) {
		*hash_r = xasprintf("{SHA512-CRYPT}%s", out);
		ret = PASSWORD_OK;
	}
	x_wipe(data, sizeof(*data));
	free(data);
	return ret;
}

int password_hash(const char *password, char **hash_r)
{
	return password_hash_rounds(password, PASSWORD_DEFAULT_ROUNDS, hash_r);
}

const char *password_result_name(int result)
{
	switch (result) {
	case PASSWORD_OK: return "OK";
	case PASSWORD_MISMATCH: return "MISMATCH";
	case PASSWORD_EMALFORMED: return "MALFORMED";
	case PASSWORD_EUNSUPPORTED: return "UNSUPPORTED";
	case PASSWORD_EINTERNAL: return "INTERNAL";
	}
	return "UNKNOWN";
}
