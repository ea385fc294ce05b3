/* SCRAM stored keys (RFC 5802 section 3): SaltedPassword = PBKDF2(password,
 * salt, i), StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
 * HMAC(SaltedPassword, "Server Key"), kept as "{SCRAM-SHA-256}i,salt,
 * StoredKey,ServerKey" in base64 exactly as `doveadm pw` writes them. The
 * SASL mechanism needs only these keys; a plaintext check derives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/password-schemes.h"
#include "lib/base64.h"
#include "lib/xmem.h"

#define SCRAM_NEW_SALT_LEN 16

static const EVP_MD *md_of(enum password_scram_hash hash)
{
	return hash == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

const char *password_scram_scheme(enum password_scram_hash hash)
{
	return hash == PASSWORD_SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

size_t password_scram_key_len(enum password_scram_hash hash)
{
	return hash == PASSWORD_SCRAM_SHA1 ? 20 : 32;
}

/* "i,salt,stored,server" after the {SCHEME}. */
static int parse_rest(const char *rest, enum password_scram_hash hash,
		      struct password_scram *s)
{
	memset(s, 0, sizeof(*s));
	s->hash = hash;
	s->key_len = password_scram_key_len(hash);
	const char *p = rest;
	if (*p < '1' || *p > '9')
		return PASSWORD_EMALFORMED;
	unsigned long it = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		it = it * 10 + (unsigned long)(*p - '0');
		if (it > PASSWORD_ITERATIONS_MAX)
			return PASSWORD_EMALFORMED;
	}
	if (*p++ != ',')
		return PASSWORD_EMALFORMED;
	s->iterations = (unsigned)it;
	const char *salt_end = strchr(p, ',');
	if (salt_end == NULL)
		return PASSWORD_EMALFORMED;
	long n = base64_decode(p, (size_t)(salt_end - p), s->salt, sizeof(s->salt), false);
	if (n <= 0)
		return PASSWORD_EMALFORMED;
	s->salt_len = (size_t)n;
	p = salt_end + 1;
	const char *stored_end = strchr(p, ',');
	if (stored_end == NULL)
		return PASSWORD_EMALFORMED;
	unsigned char buf[PASSWORD_SCRAM_KEY_MAX + 3];
	n = base64_decode(p, (size_t)(stored_end - p), buf, sizeof(buf), false);
	int ret = PASSWORD_EMALFORMED;
	if (n == (long)s->key_len) {
		memcpy(s->stored_key, buf, s->key_len);
		p = stored_end + 1;
		n = base64_decode(p, strlen(p), buf, sizeof(buf), false);
		if (n == (long)s->key_len) {
			memcpy(s->server_key, buf, s->key_len);
			ret = 0;
		}
	}
	x_wipe(buf, sizeof(buf));
	if (ret < 0)
		x_wipe(s, sizeof(*s));
	return ret;
}

int password_scram_parse(const char *stored, enum password_scram_hash hash,
			 struct password_scram *scram_r)
{
	const char *scheme = password_scram_scheme(hash);
	size_t sl = strlen(scheme);
	if (stored == NULL || stored[0] != '{' || strncasecmp(stored + 1, scheme, sl) != 0 ||
	    stored[sl + 1] != '}')
		return PASSWORD_EMALFORMED;
	return parse_rest(stored + sl + 2, hash, scram_r);
}

int password_scram_derive(const char *password, enum password_scram_hash hash,
			  const unsigned char *salt, size_t salt_len, unsigned iterations,
			  struct password_scram *s)
{
	memset(s, 0, sizeof(*s));
	if (salt_len == 0 || salt_len > PASSWORD_SCRAM_SALT_MAX || iterations == 0 ||
	    iterations > PASSWORD_ITERATIONS_MAX)
		return PASSWORD_EUNSUPPORTED;
	const EVP_MD *md = md_of(hash);
	s->hash = hash;
	s->key_len = password_scram_key_len(hash);
	s->iterations = iterations;
	memcpy(s->salt, salt, salt_len);
	s->salt_len = salt_len;
	unsigned char salted[PASSWORD_SCRAM_KEY_MAX], client_key[PASSWORD_SCRAM_KEY_MAX];
	unsigned int len = 0;
	int ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
				   (int)iterations, md, (int)s->key_len, salted) == 1 &&
		HMAC(md, salted, (int)s->key_len, (const unsigned char *)"Client Key", 10,
		     client_key, &len) != NULL &&
		EVP_Digest(client_key, s->key_len, s->stored_key, &len, md, NULL) == 1 &&
		HMAC(md, salted, (int)s->key_len, (const unsigned char *)"Server Key", 10,
		     s->server_key, &len) != NULL;
	x_wipe(salted, sizeof(salted));
	x_wipe(client_key, sizeof(client_key));
	if (!ok) {
		x_wipe(s, sizeof(*s));
		return PASSWORD_EINTERNAL;
	}
	return PASSWORD_OK;
}

char *password_scram_format(const struct password_scram *s)
{
	char salt[BASE64_ENCODED_LEN(PASSWORD_SCRAM_SALT_MAX) + 1];
	char stored[BASE64_ENCODED_LEN(PASSWORD_SCRAM_KEY_MAX) + 1];
	char server[BASE64_ENCODED_LEN(PASSWORD_SCRAM_KEY_MAX) + 1];
	base64_encode(s->salt, s->salt_len, salt);
	base64_encode(s->stored_key, s->key_len, stored);
	base64_encode(s->server_key, s->key_len, server);
	char *out = xasprintf("{%s}%u,%s,%s,%s", password_scram_scheme(s->hash),
			      s->iterations, salt, stored, server);
	x_wipe(stored, sizeof(stored));
	x_wipe(server, sizeof(server));
	return out;
}

int password_scram_make(const char *password, enum password_scram_hash hash,
			unsigned iterations, char **out_r)
{
	*out_r = NULL;
	unsigned char salt[SCRAM_NEW_SALT_LEN];
	if (pw_random_bytes(salt, sizeof(salt)) < 0)
		return PASSWORD_EINTERNAL;
	struct password_scram s;
	int ret = password_scram_derive(password, hash, salt, sizeof(salt), iterations, &s);
	if (ret == 0)
		*out_r = password_scram_format(&s);
	x_wipe(&s, sizeof(s));
	return ret;
}

int pw_scram_verify(enum password_scram_hash hash, const char *password, const char *rest)
{
	struct password_scram want, got;
	int ret = parse_rest(rest, hash, &want);
	if (ret < 0)
		return ret;
	ret = password_scram_derive(password, hash, want.salt, want.salt_len,
				    want.iterations, &got);
	if (ret == 0)
		ret = CRYPTO_memcmp(want.stored_key, got.stored_key, want.key_len) == 0 &&
		      CRYPTO_memcmp(want.server_key, got.server_key, want.key_len) == 0
			? PASSWORD_OK : PASSWORD_MISMATCH;
	x_wipe(&want, sizeof(want));
	x_wipe(&got, sizeof(got));
	return ret;
}

bool pw_scram_class(enum password_scram_hash hash, const char *rest, char *buf, size_t size)
{
	struct password_scram s;
	if (parse_rest(rest, hash, &s) < 0)
		return false;
	snprintf(buf, size, "%s i=%u", password_scram_scheme(hash), s.iterations);
	x_wipe(&s, sizeof(s));
	return true;
}

int pw_scram_hash_like(enum password_scram_hash hash, const char *rest,
		       const char *password, char **hash_r)
{
	struct password_scram s;
	int ret = parse_rest(rest, hash, &s);
	if (ret < 0)
		return ret;
	struct password_scram d;
	ret = password_scram_derive(password, hash, s.salt, s.salt_len, s.iterations, &d);
	if (ret == 0)
		*hash_r = password_scram_format(&d);
	x_wipe(&s, sizeof(s));
	x_wipe(&d, sizeof(d));
	return ret;
}
