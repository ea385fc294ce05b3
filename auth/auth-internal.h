/* Internal to auth/: the struct auth that auth.c owns and the steps of a
 * login that the password login (auth.c) and the SASL mechanisms
 * (sasl-*.c) share, so that every way in resolves names, throttles, checks
 * the account and records the result the same way. */
#ifndef LOFT_AUTH_AUTH_INTERNAL_H
#define LOFT_AUTH_AUTH_INTERNAL_H

#include <stdatomic.h>

#include "auth/auth.h"
#include "auth/logins.h"

#define AUTH_SECRET_LEN 32

/* The part of the settings a reload may change (auth_reconfigure): each
 * generation is immutable once published and kept until auth_free, so a
 * login that read the pointer may use it to the end. */
struct auth_policy {
	enum auth_plaintext plaintext;
	char *local_domains;             /* space separated, lower case */
	char *hostname;
	struct auth_policy *older;
};

struct auth {
	/* s.plaintext, s.local_domains and s.hostname are the first policy's
	 * and not read after creation: use auth_policy_get(). Other strings
	 * point at the copies below. */
	struct auth_settings s;
	char *users_file, *app_passwords_file, *login_state_file, *secret_file;
	struct auth_policy *_Atomic policy;
	struct userdb *db;
	struct apppass *ap;              /* NULL: no app passwords */
	struct logins *logins;
	struct throttle *throttle;
	unsigned char secret[AUTH_SECRET_LEN];
};

/* The current policy (never NULL). */
const struct auth_policy *auth_policy_get(const struct auth *auth);

/* A fresh login result: AUTH_EFAIL, no user, default fields. */
void auth_login_init(struct auth_login *login);

/* Re-read the users and app-password files if they changed (failures are
 * logged; the loaded contents stay). Does I/O. */
void auth_refresh(struct auth *auth);

/* Resolve a login name: normalise it, look it up, then without a local
 * domain. Returns the user or NULL; canon_r gets the user's canonical name,
 * or the normalised name tried ("" if invalid). */
const struct userdb_user *auth_resolve(struct auth *auth, const char *name,
				       char canon_r[USERDB_NAME_MAX + 1]);

/* Start a login result for login->user (already set): 0 to go on, or
 * AUTH_ETHROTTLED with login filled (and logged). */
int auth_throttle_check(struct auth *auth, const struct auth_conn *conn,
			struct auth_login *login, const char *mech);

/* The credential check of a password login, without concluding: resolves
 * user into login->user, throttles, then tries the user's app passwords and
 * password (or the dummy for an unknown user). Returns the user or NULL and
 * sets *result_r (AUTH_ETHROTTLED: login is complete, do not conclude). May
 * block. */
const struct userdb_user *auth_check_password(struct auth *auth, const struct auth_conn *conn,
					      const char *mech, const char *user,
					      const char *password, struct auth_login *login,
					      int *result_r);

/* Finish: result is what the credentials said (AUTH_OK needs u). Checks
 * the account (disabled, allowed services), updates the throttle (success
 * clears, a failure earns login->delay_ms), records the login state, copies
 * the user's fields and logs one line. Sets login->result. */
void auth_conclude(struct auth *auth, const struct auth_conn *conn, const char *mech,
		   const struct userdb_user *u, int result, struct auth_login *login);

/* HMAC-SHA-256 of what under the auth secret into out (32 bytes): stable
 * fake salts and keys for users that do not exist. */
void auth_secret_mac(const struct auth *auth, const char *label, const char *what,
		     unsigned char out[32]);

#endif
