/* Password schemes: the "{SCHEME}" dispatcher, the crypt(3), PBKDF2, salted
 * digest and plaintext verifiers, generation of new hashes, and the cost
 * classes behind the unknown-user dummy check. ARGON2, SCRAM and CRAM-MD5
 * live in password-<scheme>.c. Every comparison of secret-derived bytes uses
 * CRYPTO_memcmp and every temporary buffer holding a secret is wiped. */
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

#include "auth/password-schemes.h"
#include "lib/base64.h"
#include "lib/xmem.h"
#include "lib/thread-role.h"

#define SCHEME_MAX 32
#define SALT_CHARS 16
#define ARGON2_SALT_LEN 16
#define PBKDF2_KEY_LEN 20

static const char crypt_alphabet[] =
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

enum encoding { ENC_DEFAULT, ENC_B64, ENC_HEX };

enum scheme_kind {
	KIND_CRYPT, KIND_PBKDF2, KIND_SSHA, KIND_PLAIN, KIND_ARGON2ID, KIND_ARGON2I,
	KIND_SCRAM_SHA1, KIND_SCRAM_SHA256, KIND_CRAM_MD5,
};

struct scheme {
	const char *name;
	enum scheme_kind kind;
	const char *crypt_prefix;   /* KIND_CRYPT: required start, NULL = any */
	const char *digest;         /* KIND_SSHA: OpenSSL digest name */
};

#define SCHEME_CRYPT 4  /* index of the bare CRYPT row */

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
	{ "ARGON2ID", KIND_ARGON2ID, NULL, NULL },
	{ "ARGON2I", KIND_ARGON2I, NULL, NULL },
	{ "SCRAM-SHA-1", KIND_SCRAM_SHA1, NULL, NULL },
	{ "SCRAM-SHA-256", KIND_SCRAM_SHA256, NULL, NULL },
	{ "CRAM-MD5", KIND_CRAM_MD5, NULL, NULL },
};

/* Split "{NAME[.ENC]}rest" into its scheme and the rest. A string without a
 * leading '{' is Dovecot's default passwd-file scheme, CRYPT. Returns 0 or a
 * negative password_result. */
static int parse_scheme(const char *stored, const struct scheme **scheme_r,
			enum encoding *enc_r, const char **rest_r)
{
	*enc_r = ENC_DEFAULT;
	if (stored[0] != '{') {
		*scheme_r = &schemes[SCHEME_CRYPT];
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

/* ---- helpers ---- */

int pw_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
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

long pw_hex_decode(const char *in, unsigned char *out, size_t out_size)
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

void pw_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ---- crypt(3) ---- */

/* crypt_r(password, setting) as a heap string, or NULL when libxcrypt
 * refuses the setting. */
static char *crypt_heap(const char *password, const char *setting)
{
	/* struct crypt_data is 32 KiB: keep it off small thread-pool stacks. */
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out = crypt_r(password, setting, data);
	char *ret = out == NULL || out[0] == '*' ? NULL : xstrdup(out);
	x_wipe(data, sizeof(*data));
	free(data);
	return ret;
}

static int verify_crypt(const struct scheme *scheme, const char *password,
			const char *hash)
{
	if (hash[0] == '\0')
		return PASSWORD_EMALFORMED;
	if (scheme->crypt_prefix != NULL &&
	    strncmp(hash, scheme->crypt_prefix, strlen(scheme->crypt_prefix)) != 0)
		return PASSWORD_EMALFORMED;
	char *out = crypt_heap(password, hash);
	int ret;
	size_t len = strlen(hash);
	if (out == NULL) {
		ret = PASSWORD_EMALFORMED;
	} else if (strlen(out) != len) {
		/* A well-formed hash always reproduces its own length; a
		 * truncated or padded one never matches. Lengths are public. */
		ret = PASSWORD_EMALFORMED;
	} else {
		ret = CRYPTO_memcmp(out, hash, len) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	}
	if (out != NULL) {
		x_wipe(out, strlen(out));
		free(out);
	}
	return ret;
}

/* Cost of a crypt(3) hash by its prefix, whatever the {SCHEME} label. */
static bool crypt_class(const char *hash, char *buf, size_t size)
{
	unsigned long rounds = 5000;  /* $5$/$6$ without rounds= */
	if (strncmp(hash, "$6$", 3) == 0 || strncmp(hash, "$5$", 3) == 0) {
		if (strncmp(hash + 3, "rounds=", 7) == 0)
			rounds = strtoul(hash + 10, NULL, 10);
		snprintf(buf, size, "%s rounds=%lu", hash[1] == '6' ? "SHA512-CRYPT"
				     : "SHA256-CRYPT", rounds);
	} else if (strncmp(hash, "$2", 2) == 0 && hash[2] != '\0' && hash[3] == '$' &&
		   isdigit((unsigned char)hash[4]) && isdigit((unsigned char)hash[5])) {
		snprintf(buf, size, "BLF-CRYPT cost=%.2s", hash + 4);
	} else if (strncmp(hash, "$y$", 3) == 0) {
		const char *end = strchr(hash + 3, '$');
		if (end == NULL)
			return false;
		snprintf(buf, size, "YESCRYPT %.*s", (int)(end - hash - 3), hash + 3);
	} else if (strncmp(hash, "$1$", 3) == 0) {
		snprintf(buf, size, "MD5-CRYPT");
	} else if (hash[0] != '\0' && hash[0] != '$' && hash[0] != '*' && hash[0] != '!') {
		snprintf(buf, size, "DES-CRYPT");
	} else {
		return false;
	}
	return true;
}

/* ---- PBKDF2 (Dovecot's): "$1$<salt>$<rounds>$<hex of 20 bytes>",
 * HMAC-SHA1 with the salt string used as it is (not decoded) ---- */

struct pbkdf2 {
	const char *salt;
	size_t salt_len;
	unsigned long rounds;
	unsigned char want[PBKDF2_KEY_LEN];
};

static int pbkdf2_parse(const char *rest, struct pbkdf2 *p)
{
	if (strncmp(rest, "$1$", 3) != 0)
		return PASSWORD_EMALFORMED;
	p->salt = rest + 3;
	const char *salt_end = strchr(p->salt, '$');
	if (salt_end == NULL || salt_end == p->salt)
		return PASSWORD_EMALFORMED;
	p->salt_len = (size_t)(salt_end - p->salt);
	const char *r = salt_end + 1;
	if (!isdigit((unsigned char)*r))
		return PASSWORD_EMALFORMED;
	errno = 0;
	char *end;
	p->rounds = strtoul(r, &end, 10);
	if (errno != 0 || *end != '$' || p->rounds == 0 || p->rounds > PASSWORD_ITERATIONS_MAX)
		return PASSWORD_EMALFORMED;
	if (strlen(end + 1) != PBKDF2_KEY_LEN * 2 ||
	    pw_hex_decode(end + 1, p->want, sizeof(p->want)) != PBKDF2_KEY_LEN)
		return PASSWORD_EMALFORMED;
	return 0;
}

static int pbkdf2_compute(const char *password, const struct pbkdf2 *p,
			  unsigned char got[PBKDF2_KEY_LEN])
{
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
				 (const unsigned char *)p->salt, (int)p->salt_len,
				 (int)p->rounds, EVP_sha1(), PBKDF2_KEY_LEN, got) == 1
		? 0 : PASSWORD_EINTERNAL;
}

static int verify_pbkdf2(const char *password, const char *rest)
{
	struct pbkdf2 p;
	int ret = pbkdf2_parse(rest, &p);
	if (ret < 0)
		return ret;
	unsigned char got[PBKDF2_KEY_LEN];
	ret = pbkdf2_compute(password, &p, got);
	if (ret == 0)
		ret = CRYPTO_memcmp(got, p.want, sizeof(got)) == 0 ? PASSWORD_OK
								   : PASSWORD_MISMATCH;
	x_wipe(got, sizeof(got));
	x_wipe(&p, sizeof(p));
	return ret;
}

/* ---- salted digests ---- */

/* digest(a || salt) into out; returns the digest length or -1. */
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

/* Decode a {SSHA*} body into raw = digest || salt; returns the salt offset
 * (the digest length) and *raw_len_r, or a negative error. */
static long ssha_decode(const struct scheme *scheme, enum encoding enc, const char *rest,
			unsigned char *raw, size_t raw_size, long *raw_len_r)
{
	long raw_len = enc == ENC_HEX ? pw_hex_decode(rest, raw, raw_size)
				      : base64_decode(rest, strlen(rest), raw, raw_size, false);
	const EVP_MD *md = EVP_get_digestbyname(scheme->digest);
	if (md == NULL)
		return PASSWORD_EINTERNAL;
	long md_len = EVP_MD_get_size(md);
	/* Dovecot refuses a salted hash with an empty salt, and so do we. */
	if (raw_len <= md_len)
		return PASSWORD_EMALFORMED;
	*raw_len_r = raw_len;
	return md_len;
}

/* {SSHA*}: encode(digest(password || salt) || salt). */
static int verify_ssha(const struct scheme *scheme, enum encoding enc,
		       const char *password, const char *rest)
{
	unsigned char raw[512];
	long raw_len;
	long md_len = ssha_decode(scheme, enc, rest, raw, sizeof(raw), &raw_len);
	if (md_len < 0)
		return (int)md_len;
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
	case KIND_ARGON2ID:
	case KIND_ARGON2I:
		return pw_argon2_verify(scheme->kind == KIND_ARGON2ID, password, rest);
	case KIND_SCRAM_SHA1:
		return pw_scram_verify(PASSWORD_SCRAM_SHA1, password, rest);
	case KIND_SCRAM_SHA256:
		return pw_scram_verify(PASSWORD_SCRAM_SHA256, password, rest);
	case KIND_CRAM_MD5:
		return pw_cram_verify(password, rest);
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

const char *password_plaintext_value(const char *stored)
{
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	if (stored == NULL || parse_scheme(stored, &scheme, &enc, &rest) < 0 ||
	    scheme->kind != KIND_PLAIN)
		return NULL;
	return rest;
}

bool password_scheme_name(const char *stored, char *buf, size_t size)
{
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	if (stored == NULL || parse_scheme(stored, &scheme, &enc, &rest) < 0)
		return false;
	snprintf(buf, size, "%s", scheme->name);
	return true;
}

bool password_cost_class(const char *stored, char *buf, size_t size)
{
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	if (stored == NULL || parse_scheme(stored, &scheme, &enc, &rest) < 0)
		return false;
	switch (scheme->kind) {
	case KIND_CRYPT:
		return crypt_class(rest, buf, size);
	case KIND_PBKDF2: {
		struct pbkdf2 p;
		bool ok = pbkdf2_parse(rest, &p) == 0;
		if (ok)
			snprintf(buf, size, "PBKDF2 rounds=%lu", p.rounds);
		x_wipe(&p, sizeof(p));
		return ok;
	}
	case KIND_SSHA:
	case KIND_PLAIN:
	case KIND_CRAM_MD5:
		snprintf(buf, size, "%s", scheme->kind == KIND_PLAIN ? "PLAIN" : scheme->name);
		return true;
	case KIND_ARGON2ID:
	case KIND_ARGON2I:
		return pw_argon2_class(scheme->kind == KIND_ARGON2ID, rest, buf, size);
	case KIND_SCRAM_SHA1:
	case KIND_SCRAM_SHA256:
		return pw_scram_class(scheme->kind == KIND_SCRAM_SHA1 ? PASSWORD_SCRAM_SHA1
				      : PASSWORD_SCRAM_SHA256, rest, buf, size);
	}
	return false;
}

/* ---- generation ---- */

static int ssha_like(const struct scheme *scheme, enum encoding enc, const char *rest,
		     const char *password, char **hash_r)
{
	unsigned char raw[512];
	long raw_len;
	long md_len = ssha_decode(scheme, enc, rest, raw, sizeof(raw), &raw_len);
	if (md_len < 0)
		return (int)md_len;
	int ret = PASSWORD_EINTERNAL;
	if (digest_with_salt(scheme->digest, password, strlen(password), raw + md_len,
			     (size_t)(raw_len - md_len), raw) == md_len) {
		char *b64 = base64_encode_str(raw, (size_t)raw_len);
		*hash_r = xasprintf("{%s}%s", scheme->name, b64);
		free(b64);
		ret = PASSWORD_OK;
	}
	x_wipe(raw, sizeof(raw));
	return ret;
}

int password_hash_like(const char *stored, const char *password, char **hash_r)
{
	*hash_r = NULL;
	const struct scheme *scheme;
	enum encoding enc;
	const char *rest;
	int ret = stored == NULL ? PASSWORD_EMALFORMED
				 : parse_scheme(stored, &scheme, &enc, &rest);
	if (ret < 0)
		return ret;
	switch (scheme->kind) {
	case KIND_CRYPT: {
		char *out = rest[0] != '\0' ? crypt_heap(password, rest) : NULL;
		if (out == NULL)
			return PASSWORD_EMALFORMED;
		*hash_r = stored[0] == '{' ? xasprintf("{%s}%s", scheme->name, out)
					   : xstrdup(out);
		x_wipe(out, strlen(out));
		free(out);
		return PASSWORD_OK;
	}
	case KIND_PBKDF2: {
		struct pbkdf2 p;
		unsigned char got[PBKDF2_KEY_LEN];
		char hex[2 * PBKDF2_KEY_LEN + 1];
		ret = pbkdf2_parse(rest, &p);
		if (ret == 0)
			ret = pbkdf2_compute(password, &p, got);
		if (ret == 0) {
			pw_hex_encode(got, sizeof(got), hex);
			*hash_r = xasprintf("{PBKDF2}$1$%.*s$%lu$%s", (int)p.salt_len, p.salt,
					    p.rounds, hex);
		}
		x_wipe(got, sizeof(got));
		x_wipe(&p, sizeof(p));
		return ret;
	}
	case KIND_SSHA:
		return ssha_like(scheme, enc, rest, password, hash_r);
	case KIND_PLAIN:
		*hash_r = xasprintf("{PLAIN}%s", password);
		return PASSWORD_OK;
	case KIND_ARGON2ID:
	case KIND_ARGON2I:
		return pw_argon2_hash_like(scheme->kind == KIND_ARGON2ID, rest, password, hash_r);
	case KIND_SCRAM_SHA1:
	case KIND_SCRAM_SHA256:
		return pw_scram_hash_like(scheme->kind == KIND_SCRAM_SHA1 ? PASSWORD_SCRAM_SHA1
					  : PASSWORD_SCRAM_SHA256, rest, password, hash_r);
	case KIND_CRAM_MD5:
		return password_cram_md5_make(password, hash_r);
	}
	return PASSWORD_EUNSUPPORTED;
}

void password_params_default(struct password_params *p_r)
{
	*p_r = (struct password_params){
		.scheme = PASSWORD_SCHEME_ARGON2ID,
		.argon2_time = PASSWORD_ARGON2_DEFAULT_TIME,
		.argon2_memory_kib = PASSWORD_ARGON2_DEFAULT_MEMORY_KIB,
		.argon2_lanes = PASSWORD_ARGON2_DEFAULT_LANES,
		.crypt_rounds = PASSWORD_DEFAULT_ROUNDS,
	};
}

int password_hash_rounds(const char *password, unsigned rounds, char **hash_r)
{
	thread_assert_may_block("password_hash");
	*hash_r = NULL;
	if (rounds < PASSWORD_MIN_ROUNDS || rounds > PASSWORD_MAX_ROUNDS)
		return PASSWORD_EUNSUPPORTED;
	unsigned char rnd[SALT_CHARS];
	if (pw_random_bytes(rnd, sizeof(rnd)) < 0)
		return PASSWORD_EINTERNAL;
	/* 16 salt characters of 6 random bits each: the longest salt
	 * SHA512-CRYPT uses. */
	char salt[SALT_CHARS + 1];
	for (size_t i = 0; i < SALT_CHARS; i++)
		salt[i] = crypt_alphabet[rnd[i] & 63];
	salt[SALT_CHARS] = '\0';
	char setting[64];
	snprintf(setting, sizeof(setting), "$6$rounds=%u$%s$", rounds, salt);
	char *out = crypt_heap(password, setting);
	int ret = PASSWORD_EINTERNAL;
	if (out != NULL && strncmp(out, "$6$", 3) == 0) {
		*hash_r = xasprintf("{SHA512-CRYPT}%s", out);
		ret = PASSWORD_OK;
	}
	if (out != NULL) {
		x_wipe(out, strlen(out));
		free(out);
	}
	return ret;
}

int password_hash_params(const char *password, const struct password_params *params,
			 char **hash_r)
{
	*hash_r = NULL;
	if (params->scheme == PASSWORD_SCHEME_SHA512_CRYPT)
		return password_hash_rounds(password, params->crypt_rounds, hash_r);
	if (params->scheme != PASSWORD_SCHEME_ARGON2ID)
		return PASSWORD_EUNSUPPORTED;
	unsigned char salt[ARGON2_SALT_LEN];
	if (pw_random_bytes(salt, sizeof(salt)) < 0)
		return PASSWORD_EINTERNAL;
	return pw_argon2_hash(password, params->argon2_time, params->argon2_memory_kib,
			      params->argon2_lanes, salt, sizeof(salt), hash_r);
}

int password_hash_fast(const char *password, char **hash_r)
{
	*hash_r = NULL;
	unsigned char raw[32 + 16];
	if (pw_random_bytes(raw + 32, 16) < 0)
		return PASSWORD_EINTERNAL;
	int ret = PASSWORD_EINTERNAL;
	if (digest_with_salt("SHA256", password, strlen(password), raw + 32, 16, raw) == 32) {
		char *b64 = base64_encode_str(raw, sizeof(raw));
		*hash_r = xasprintf("{SSHA256}%s", b64);
		free(b64);
		ret = PASSWORD_OK;
	}
	x_wipe(raw, sizeof(raw));
	return ret;
}

int password_hash(const char *password, char **hash_r)
{
	struct password_params p;
	password_params_default(&p);
	return password_hash_params(password, &p, hash_r);
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
