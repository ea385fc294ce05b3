/* Password hashing and verification in Dovecot's "{SCHEME}hash" format, so a
 * Dovecot passwd-file can be used as it is and `doveadm pw` output can be
 * pasted in. New hashes are ARGON2ID by default (SHA512-CRYPT on request);
 * verification accepts every scheme listed at password_verify(). The SCRAM
 * and CRAM-MD5 forms are also the stored credentials of those SASL
 * mechanisms (password_scram_*, password_cram_md5_*).
 *
 * Hashing is slow by design (tens to hundreds of milliseconds): every
 * function here that hashes may block and must run on a thread pool, never
 * on an event loop. All functions are thread-safe. */
#ifndef LOFT_AUTH_PASSWORD_H
#define LOFT_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

enum password_result {
	PASSWORD_OK = 0,
	PASSWORD_MISMATCH = -1,    /* well-formed hash, wrong password */
	PASSWORD_EMALFORMED = -2,  /* the stored hash cannot be parsed */
	PASSWORD_EUNSUPPORTED = -3,/* unknown or unsupported {SCHEME} or cost */
	PASSWORD_EINTERNAL = -4,   /* randomness or crypto library failure */
};

/* Schemes new hashes can be made in (the primary password form). */
enum password_scheme {
	PASSWORD_SCHEME_ARGON2ID = 0,
	PASSWORD_SCHEME_SHA512_CRYPT = 1,
};

/* Cost parameters for new hashes. Defaults are Dovecot's for ARGON2ID
 * (64 MiB, 3 passes, 1 lane: about 0.2 s on a 2020s core) and 50000 rounds
 * for SHA512-CRYPT (Dovecot makes 5000; we ask for more). */
struct password_params {
	enum password_scheme scheme;
	unsigned argon2_time;        /* passes, PASSWORD_ARGON2_* bounds */
	unsigned argon2_memory_kib;  /* memory per hash in KiB */
	unsigned argon2_lanes;       /* parallelism */
	unsigned crypt_rounds;       /* SHA512-CRYPT rounds */
};

#define PASSWORD_DEFAULT_ROUNDS 50000
#define PASSWORD_MIN_ROUNDS 1000
#define PASSWORD_MAX_ROUNDS 999999999
#define PASSWORD_ARGON2_DEFAULT_TIME 3
#define PASSWORD_ARGON2_DEFAULT_MEMORY_KIB 65536
#define PASSWORD_ARGON2_DEFAULT_LANES 1
#define PASSWORD_ARGON2_MIN_TIME 1
#define PASSWORD_ARGON2_MAX_TIME 1000
#define PASSWORD_ARGON2_MIN_MEMORY_KIB 64
/* Also the most a stored hash may ask for: a typo in a users file must not
 * make one login allocate more than 4 GiB. */
#define PASSWORD_ARGON2_MAX_MEMORY_KIB (4u * 1024 * 1024)
#define PASSWORD_ARGON2_MAX_LANES 64
#define PASSWORD_SCRAM_DEFAULT_ITERATIONS 4096  /* RFC 7677's minimum */
#define PASSWORD_SCRAM_MIN_ITERATIONS 4096
/* Upper bound on PBKDF2/SCRAM iterations accepted from a users file. */
#define PASSWORD_ITERATIONS_MAX 10000000u

/* The defaults above. */
void password_params_default(struct password_params *p_r);

/* Hash password with the scheme and cost of params and a random salt:
 *   ARGON2ID:     "{ARGON2ID}$argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>"
 *                 (16 salt bytes, 32 hash bytes, as doveadm writes it)
 *   SHA512-CRYPT: "{SHA512-CRYPT}$6$rounds=N$<16 salt chars>$<86 chars>"
 * Returns 0 and a heap string in *hash_r, PASSWORD_EUNSUPPORTED for a cost
 * out of bounds, or PASSWORD_EINTERNAL. May block. */
int password_hash_params(const char *password, const struct password_params *params,
			 char **hash_r);
/* password_hash_params() with the defaults (ARGON2ID). */
int password_hash(const char *password, char **hash_r);
/* "{SSHA256}": one salted SHA-256 (16-byte random salt). Only for secrets
 * the server generates with at least 96 bits of entropy (app passwords),
 * where a slow hash buys nothing and would make every login try each one
 * slowly. */
int password_hash_fast(const char *password, char **hash_r);
/* SHA512-CRYPT with an explicit number of rounds (PASSWORD_MIN_ROUNDS ..
 * PASSWORD_MAX_ROUNDS, else PASSWORD_EUNSUPPORTED). */
int password_hash_rounds(const char *password, unsigned rounds, char **hash_r);

/* Check password against a stored hash. Accepted forms (scheme names are
 * case-insensitive; a ".B64"/".BASE64"/".HEX" suffix selects the encoding of
 * the digest schemes as in Dovecot):
 *   {ARGON2ID} {ARGON2I}: libargon2's encoded form ($argon2id$v=19$m=,t=,p=
 *       $salt$hash); memory above PASSWORD_ARGON2_MAX_MEMORY_KIB is refused
 *   {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {MD5-CRYPT} {CRYPT}, or no
 *       {SCHEME} at all (Dovecot's passwd-file default is CRYPT): crypt(3) as
 *       provided by libxcrypt ($6$, $5$, $2b$/$2y$, $y$ yescrypt, $1$ ...)
 *   {PBKDF2}$1$<salt>$<rounds>$<hex>: PBKDF2-HMAC-SHA1, 20-byte key
 *   {SSHA512} {SSHA256} {SSHA}: base64(digest(password + salt) + salt)
 *   {SCRAM-SHA-256} {SCRAM-SHA-1}: "iterations,salt,StoredKey,ServerKey"
 *       (base64 fields), checked by deriving the keys from the password
 *   {CRAM-MD5}: the 64 hex digits of the HMAC-MD5 context doveadm writes
 *   {PLAIN} {CLEARTEXT} {CLEAR}: the password itself. Accepted only so a
 *       migrated file keeps working; anyone who can read the users file has
 *       the passwords. `loft user passwd` replaces such an entry.
 * Secrets are compared in constant time and wiped from temporary buffers.
 * Returns PASSWORD_OK, PASSWORD_MISMATCH or a negative error. May block. */
int password_verify(const char *password, const char *stored);

/* True if stored is a scheme password_verify() knows how to check. */
bool password_scheme_supported(const char *stored);

/* True if the stored entry holds the password in clear text. */
bool password_is_plaintext(const char *stored);

/* The password itself when stored is {PLAIN}/{CLEARTEXT}/{CLEAR} (points
 * into stored), else NULL: CRAM-MD5 and SCRAM derive their keys from it. */
const char *password_plaintext_value(const char *stored);

/* The scheme name of stored, upper case, without encoding suffix
 * ("SHA512-CRYPT"; "CRYPT" when there is no {SCHEME}), into buf. Returns
 * false for a string that has no readable scheme. Never logs or copies
 * anything but the name. */
bool password_scheme_name(const char *stored, char *buf, size_t size);

/* The scheme and cost of stored as a short text, e.g. "ARGON2ID m=65536
 * t=3 p=1", "SHA512-CRYPT rounds=5000", "BLF-CRYPT cost=05", "SSHA256".
 * Two hashes with the same class cost the same to verify. Returns false for
 * a hash password_verify() would not accept. No secret goes into buf. */
bool password_cost_class(const char *stored, char *buf, size_t size);

/* Hash password with the same scheme and cost (and salt) as stored: the
 * dummy an unknown user is checked against costs what stored costs. Returns
 * 0 with a heap string, or a negative error. May block. */
int password_hash_like(const char *stored, const char *password, char **hash_r);

/* Short name for logs: "OK", "MISMATCH", "MALFORMED", ... */
const char *password_result_name(int result);

/* ---- SCRAM (RFC 5802 / 7677) stored keys ---- */

enum password_scram_hash { PASSWORD_SCRAM_SHA1, PASSWORD_SCRAM_SHA256 };

#define PASSWORD_SCRAM_SALT_MAX 64
#define PASSWORD_SCRAM_KEY_MAX 32

struct password_scram {
	enum password_scram_hash hash;
	unsigned iterations;
	unsigned char salt[PASSWORD_SCRAM_SALT_MAX];
	size_t salt_len;
	unsigned char stored_key[PASSWORD_SCRAM_KEY_MAX];
	unsigned char server_key[PASSWORD_SCRAM_KEY_MAX];
	size_t key_len;              /* 20 (SHA-1) or 32 (SHA-256) */
};

/* "SCRAM-SHA-256" / "SCRAM-SHA-1". */
const char *password_scram_scheme(enum password_scram_hash hash);
/* Digest length of hash: 20 or 32. */
size_t password_scram_key_len(enum password_scram_hash hash);

/* Parse "{SCRAM-SHA-256}i,salt,stored,server" (the scheme must match hash).
 * The keys are secrets: wipe *scram_r after use. */
int password_scram_parse(const char *stored, enum password_scram_hash hash,
			 struct password_scram *scram_r);
/* Derive the keys from a password, salt and iteration count. May block. */
int password_scram_derive(const char *password, enum password_scram_hash hash,
			  const unsigned char *salt, size_t salt_len, unsigned iterations,
			  struct password_scram *scram_r);
/* New "{SCRAM-SHA-*}" string with a random 16-byte salt (doveadm's size). */
int password_scram_make(const char *password, enum password_scram_hash hash,
			unsigned iterations, char **out_r);
/* Format keys as the stored string (heap). */
char *password_scram_format(const struct password_scram *scram);

/* ---- CRAM-MD5 (RFC 2195) stored context ---- */

#define PASSWORD_CRAM_CONTEXT_LEN 32

/* The HMAC-MD5 context of password (inner and outer MD5 states, each word
 * little-endian, as Dovecot stores it). */
int password_cram_md5_context(const char *password,
			      unsigned char ctx_r[PASSWORD_CRAM_CONTEXT_LEN]);
/* Parse "{CRAM-MD5}<64 hex digits>". */
int password_cram_md5_parse(const char *stored,
			    unsigned char ctx_r[PASSWORD_CRAM_CONTEXT_LEN]);
/* New "{CRAM-MD5}..." string (heap). Note: a CRAM-MD5 context is an
 * unsalted fast hash; whoever reads it can log in with CRAM-MD5. */
int password_cram_md5_make(const char *password, char **out_r);
/* HMAC-MD5(password, msg) computed from the stored context. */
int password_cram_md5_hmac(const unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN],
			   const void *msg, size_t len, unsigned char digest_r[16]);

#endif
