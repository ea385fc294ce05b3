/* Internal to auth/: the scheme verifiers and generators that live in their
 * own files (password-argon2.c, password-scram.c, password-cram.c), called
 * by the dispatcher in password.c, plus the randomness helper they share. */
#ifndef LOFT_AUTH_PASSWORD_SCHEMES_H
#define LOFT_AUTH_PASSWORD_SCHEMES_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/password.h"

/* Fill buf with len bytes from getrandom(2). Returns 0 or -1. */
int pw_random_bytes(void *buf, size_t len);
/* Hex of exactly strlen(in)/2 bytes (either case); -1 if odd or not hex. */
long pw_hex_decode(const char *in, unsigned char *out, size_t out_size);
/* Lower-case hex of len bytes plus a NUL into out (2 * len + 1 bytes). */
void pw_hex_encode(const unsigned char *in, size_t len, char *out);

/* rest is what follows "{ARGON2ID}" / "{ARGON2I}"; id says which. */
int pw_argon2_verify(bool id, const char *password, const char *rest);
int pw_argon2_hash(const char *password, unsigned t, unsigned m_kib, unsigned lanes,
		   const unsigned char *salt, size_t salt_len, char **hash_r);
/* Cost text and the salt/parameters of rest; false if malformed. */
bool pw_argon2_class(bool id, const char *rest, char *buf, size_t size);
int pw_argon2_hash_like(bool id, const char *rest, const char *password, char **hash_r);

int pw_scram_verify(enum password_scram_hash hash, const char *password, const char *rest);
bool pw_scram_class(enum password_scram_hash hash, const char *rest, char *buf, size_t size);
int pw_scram_hash_like(enum password_scram_hash hash, const char *rest,
		       const char *password, char **hash_r);

int pw_cram_verify(const char *password, const char *rest);

#endif
