/* {ARGON2ID} and {ARGON2I}. Checking a password, the hot path of every
 * login, runs through libsodium where it can compute the hash (version 1.3,
 * one lane, a 16-byte salt: what Loft and Dovecot write), because its
 * Argon2 picks SIMD code at run time and takes half the time of Debian's
 * libargon2, the portable reference build; libargon2 does everything else
 * (other parameters, new hashes). The encoded string's cost parameters are
 * checked against PASSWORD_ARGON2_* bounds before anything is allocated,
 * so a bad users file line cannot make one login take gigabytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <pthread.h>
#include <sodium.h>

#include "auth/password-schemes.h"
#include "lib/base64.h"
#include "lib/xmem.h"

#define ARGON2_HASH_LEN 32
#define ARGON2_SALT_MAX 64
#define ARGON2_OUT_MAX 64

struct a2 {
	unsigned version, m, t, p;
	unsigned char salt[ARGON2_SALT_MAX];
	size_t salt_len;
	unsigned char hash[ARGON2_OUT_MAX];   /* the stored hash: wipe after use */
	size_t hash_len;
};

static int parse_uint(const char **pp, const char *key, unsigned *v_r)
{
	size_t kl = strlen(key);
	if (strncmp(*pp, key, kl) != 0)
		return -1;
	const char *p = *pp + kl;
	unsigned long v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*v_r = (unsigned)v;
	*pp = p;
	return 0;
}

/* "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>" (v= optional: 0x10). */
static int parse(bool id, const char *rest, struct a2 *a)
{
	const char *prefix = id ? "$argon2id$" : "$argon2i$";
	if (strncmp(rest, prefix, strlen(prefix)) != 0)
		return PASSWORD_EMALFORMED;
	const char *p = rest + strlen(prefix);
	a->version = ARGON2_VERSION_10;
	if (strncmp(p, "v=", 2) == 0) {
		if (parse_uint(&p, "v=", &a->version) < 0 || *p++ != '$')
			return PASSWORD_EMALFORMED;
		if (a->version != ARGON2_VERSION_10 && a->version != ARGON2_VERSION_13)
			return PASSWORD_EUNSUPPORTED;
	}
	if (parse_uint(&p, "m=", &a->m) < 0 || *p++ != ',' ||
	    parse_uint(&p, "t=", &a->t) < 0 || *p++ != ',' ||
	    parse_uint(&p, "p=", &a->p) < 0 || *p++ != '$')
		return PASSWORD_EMALFORMED;
	const char *salt_end = strchr(p, '$');
	if (salt_end == NULL)
		return PASSWORD_EMALFORMED;
	long n = base64_decode(p, (size_t)(salt_end - p), a->salt, sizeof(a->salt), false);
	if (n < ARGON2_MIN_SALT_LENGTH)
		return PASSWORD_EMALFORMED;
	a->salt_len = (size_t)n;
	n = base64_decode(salt_end + 1, strlen(salt_end + 1), a->hash, sizeof(a->hash), false);
	if (n < ARGON2_MIN_OUTLEN)
		return PASSWORD_EMALFORMED;
	a->hash_len = (size_t)n;
	if (a->t < PASSWORD_ARGON2_MIN_TIME || a->t > PASSWORD_ARGON2_MAX_TIME ||
	    a->p < 1 || a->p > PASSWORD_ARGON2_MAX_LANES ||
	    a->m < 8 * a->p || a->m > PASSWORD_ARGON2_MAX_MEMORY_KIB)
		return PASSWORD_EUNSUPPORTED;
	return 0;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ok;

static void sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

/* The check through libsodium; 1 when it cannot compute this hash. */
static int verify_sodium(bool id, const char *password, const struct a2 *a)
{
	unsigned long long ops_min = id ? crypto_pwhash_argon2id_OPSLIMIT_MIN
					: crypto_pwhash_argon2i_OPSLIMIT_MIN;
	if (a->version != ARGON2_VERSION_13 || a->p != 1 ||
	    a->salt_len != crypto_pwhash_SALTBYTES || a->hash_len < crypto_pwhash_BYTES_MIN ||
	    a->t < ops_min || (size_t)a->m * 1024 < crypto_pwhash_MEMLIMIT_MIN)
		return 1;
	pthread_once(&sodium_once, sodium_start);
	if (!sodium_ok)
		return 1;
	unsigned char out[ARGON2_OUT_MAX];
	if (crypto_pwhash(out, a->hash_len, password, strlen(password), a->salt, a->t,
			  (size_t)a->m * 1024,
			  id ? crypto_pwhash_ALG_ARGON2ID13 : crypto_pwhash_ALG_ARGON2I13) != 0)
		return PASSWORD_EINTERNAL;   /* out of memory */
	int ret = sodium_memcmp(out, a->hash, a->hash_len) == 0 ? PASSWORD_OK
								 : PASSWORD_MISMATCH;
	x_wipe(out, sizeof(out));
	return ret;
}

int pw_argon2_verify(bool id, const char *password, const char *rest)
{
	struct a2 a;
	int ret = parse(id, rest, &a);
	if (ret < 0) {
		x_wipe(&a, sizeof(a));
		return ret;
	}
	ret = verify_sodium(id, password, &a);
	x_wipe(&a, sizeof(a));
	if (ret <= 0)
		return ret;
	/* argon2_verify re-decodes the string, recomputes with its parameters
	 * and compares in constant time; libargon2 wipes its work memory. */
	ret = argon2_verify(rest, password, strlen(password), id ? Argon2_id : Argon2_i);
	if (ret == ARGON2_OK)
		return PASSWORD_OK;
	if (ret == ARGON2_VERIFY_MISMATCH)
		return PASSWORD_MISMATCH;
	if (ret == ARGON2_MEMORY_ALLOCATION_ERROR)
		return PASSWORD_EINTERNAL;
	return PASSWORD_EMALFORMED;
}

/* Hash with exactly these parameters (the caller checked them). */
static int encode(argon2_type type, const char *password, const struct a2 *a,
		  char **hash_r)
{
	size_t len = argon2_encodedlen(a->t, a->m, a->p, (uint32_t)a->salt_len,
				       (uint32_t)a->hash_len, type);
	char *enc = xmalloc(len + 1);
	int r = argon2_hash(a->t, a->m, a->p, password, strlen(password), a->salt,
			    a->salt_len, NULL, a->hash_len, enc, len + 1, type, a->version);
	if (r != ARGON2_OK) {
		free(enc);
		return r == ARGON2_MEMORY_ALLOCATION_ERROR ? PASSWORD_EINTERNAL
							   : PASSWORD_EUNSUPPORTED;
	}
	*hash_r = xasprintf("{%s}%s", type == Argon2_id ? "ARGON2ID" : "ARGON2I", enc);
	free(enc);
	return PASSWORD_OK;
}

int pw_argon2_hash(const char *password, unsigned t, unsigned m_kib, unsigned lanes,
		   const unsigned char *salt, size_t salt_len, char **hash_r)
{
	if (t < PASSWORD_ARGON2_MIN_TIME || t > PASSWORD_ARGON2_MAX_TIME ||
	    m_kib < PASSWORD_ARGON2_MIN_MEMORY_KIB || m_kib > PASSWORD_ARGON2_MAX_MEMORY_KIB ||
	    lanes < 1 || lanes > PASSWORD_ARGON2_MAX_LANES || m_kib < 8 * lanes ||
	    salt_len < ARGON2_MIN_SALT_LENGTH || salt_len > ARGON2_SALT_MAX)
		return PASSWORD_EUNSUPPORTED;
	struct a2 a = { .version = ARGON2_VERSION_13, .m = m_kib, .t = t, .p = lanes,
			.salt_len = salt_len, .hash_len = ARGON2_HASH_LEN };
	memcpy(a.salt, salt, salt_len);
	return encode(Argon2_id, password, &a, hash_r);
}

bool pw_argon2_class(bool id, const char *rest, char *buf, size_t size)
{
	struct a2 a;
	int ret = parse(id, rest, &a);
	x_wipe(a.hash, sizeof(a.hash));
	if (ret < 0)
		return false;
	snprintf(buf, size, "%s m=%u t=%u p=%u", id ? "ARGON2ID" : "ARGON2I", a.m, a.t, a.p);
	return true;
}

int pw_argon2_hash_like(bool id, const char *rest, const char *password, char **hash_r)
{
	struct a2 a;
	int ret = parse(id, rest, &a);
	x_wipe(a.hash, sizeof(a.hash));
	if (ret < 0)
		return ret;
	return encode(id ? Argon2_id : Argon2_i, password, &a, hash_r);
}
