/* Internal to auth/: what a SASL mechanism file (sasl-<mech>.c) provides to
 * the driver in sasl.c, and the driver's state every mechanism shares. A
 * mechanism sees decoded bytes and produces raw challenges; base64, cancel,
 * size limits and the work/resume protocol are the driver's. */
#ifndef LOFT_AUTH_SASL_MECH_H
#define LOFT_AUTH_SASL_MECH_H

#include <stdbool.h>

#include "auth/auth-internal.h"
#include "auth/sasl.h"

struct sasl_mech_ops {
	enum auth_mech id;
	size_t state_size;            /* zeroed state allocated by the driver */
	/* One client response, decoded; in is NULL when the client sent no
	 * initial response (first step only). Returns SASL_CONTINUE after
	 * sasl_challenge(), SASL_NEED_WORK, or a final result (after
	 * sasl_finish(), or a negative auth_result for a malformed message
	 * that sasl_finish() has not seen). */
	int (*step)(struct sasl *s, const unsigned char *in, size_t len);
	void (*work)(struct sasl *s);            /* may block */
	int (*resume)(struct sasl *s);           /* like step, after work */
	void (*wipe)(struct sasl *s);            /* wipe secrets in state */
};

struct sasl {
	const struct sasl_mech_ops *ops;
	struct auth *auth;
	struct auth_conn conn;        /* strings and bytes are copies */
	struct auth_login login;
	char *challenge;              /* base64 of the last challenge */
	char *test_nonce;
	bool first, done, working;
	void *state;                  /* ops->state_size bytes */
};

extern const struct sasl_mech_ops sasl_mech_plain;
extern const struct sasl_mech_ops sasl_mech_login;
extern const struct sasl_mech_ops sasl_mech_cram_md5;
extern const struct sasl_mech_ops sasl_mech_scram_sha1;
extern const struct sasl_mech_ops sasl_mech_scram_sha1_plus;
extern const struct sasl_mech_ops sasl_mech_scram_sha256;
extern const struct sasl_mech_ops sasl_mech_scram_sha256_plus;

/* Set the next challenge to len raw bytes (base64-encoded here). Returns
 * SASL_CONTINUE. */
int sasl_challenge(struct sasl *s, const void *bytes, size_t len);

/* Conclude the exchange with the credentials' verdict (auth_conclude) and
 * return the final result. */
int sasl_finish(struct sasl *s, const struct userdb_user *u, int result);

/* A malformed client message: concluded as AUTH_EMALFORMED (counted by the
 * throttle). */
int sasl_malformed(struct sasl *s);

/* Copy of len bytes as a NUL-terminated heap string, or NULL if they hold
 * a NUL. */
char *sasl_strndup(const unsigned char *in, size_t len);

/* Wipe and free a heap string; sets *p to NULL. */
void sasl_free_secret(char **p);

/* The password login's check with authzid: the work of PLAIN and LOGIN.
 * authzid may be NULL or "". */
void sasl_password_work(struct sasl *s, const char *authzid, const char *user,
			const char *password);

#endif
