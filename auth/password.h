/* Password hashing and verification in Dovecot's "{SCHEME}hash" format, so a
 * Dovecot passwd-file can be used as it is. New hashes are always
 * SHA512-CRYPT; verification also accepts the other crypt(3) schemes, PBKDF2,
 * the salted SHA digests and (for migration only) plaintext.
 *
 * Hashing is slow by design (tens of milliseconds): callers on an event loop
 * must run password_hash() and password_verify() on the libuv thread pool
 * (uv_queue_work), never on the loop thread. All functions are thread-safe. */
#ifndef LOFT_AUTH_PASSWORD_H
#define LOFT_AUTH_PASSWORD_H

#include <stdbool.h>

enum password_result {
	PASSWORD_OK = 0,
	PASSWORD_MISMATCH = -1,    /* well-formed hash, wrong password */
	PASSWORD_EMALFORMED = -2,  /* the stored hash cannot be parsed */
	PASSWORD_EUNSUPPORTED = -3,/* unknown or unsupported {SCHEME} */
	PASSWORD_EINTERNAL = -4,   /* randomness or crypto library failure */
};

/* SHA512-CRYPT rounds used by password_hash(): about 10 ms on a 2020s core
 * (Dovecot's own default is 5000; we ask for more). */
#define PASSWORD_DEFAULT_ROUNDS 50000
#define PASSWORD_MIN_ROUNDS 1000
#define PASSWORD_MAX_ROUNDS 999999999

/* Hash password as "{SHA512-CRYPT}$6$rounds=N$<16 salt chars>$<86 chars>"
 * with a salt from getrandom(2). Returns 0 and a heap string in *hash_r, or
 * PASSWORD_EINTERNAL. */
int password_hash(const char *password, char **hash_r);
/* Same with an explicit number of rounds (PASSWORD_MIN_ROUNDS ..
 * PASSWORD_MAX_ROUNDS, else PASSWORD_EUNSUPPORTED). */
int password_hash_rounds(const char *password, unsigned rounds, char **hash_r);

/* Check password against a stored hash. Accepted forms (scheme names are
 * case-insensitive; a ".B64"/".BASE64"/".HEX" suffix selects the encoding of
 * the digest schemes as in Dovecot):
 *   {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {MD5-CRYPT} {CRYPT}, or no
 *       {SCHEME} at all (Dovecot's passwd-file default is CRYPT): crypt(3) as
 *       provided by libxcrypt ($6$, $5$, $2b$/$2y$, $y$ yescrypt, $1$ ...)
 *   {PBKDF2}$1$<salt>$<rounds>$<hex>: PBKDF2-HMAC-SHA1, 20-byte key
 *   {SSHA512} {SSHA256} {SSHA}: base64(digest(password + salt) + salt)
 *   {PLAIN} {CLEARTEXT} {CLEAR}: the password itself. Accepted only so a
 *       migrated file keeps working; anyone who can read the users file has
 *       the passwords. `loft user passwd` replaces such an entry.
 * Secrets are compared in constant time and wiped from temporary buffers.
 * Returns PASSWORD_OK, PASSWORD_MISMATCH or a negative error. */
int password_verify(const char *password, const char *stored);

/* True if stored is a scheme password_verify() knows how to check. */
bool password_scheme_supported(const char *stored);

/* True if the stored entry holds the password in clear text. */
bool password_is_plaintext(const char *stored);

/* Short name for logs: "OK", "MISMATCH", "MALFORMED", ... */
const char *password_result_name(int result);

#endif
