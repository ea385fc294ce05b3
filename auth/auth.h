/* The authentication service front ends use: one struct auth per server
 * (users file, app passwords, login state, throttling, policy), the
 * plaintext policy helper, the list of SASL mechanisms to advertise on a
 * connection, and the password login behind IMAP LOGIN and POP3 USER/PASS.
 * SASL exchanges (IMAP AUTHENTICATE, POP3 AUTH, SMTP AUTH) are in sasl.h.
 * Nothing here knows a socket, a loop or a protocol command.
 *
 * Threads: every function is thread-safe. Functions marked "may block" hash
 * passwords or read files: run them on the password-hashing pool, never on
 * an event loop. The others are quick and never do I/O.
 *
 * A failed login returns a delay (struct auth_login.delay_ms) that the front
 * end waits, on a timer of its own loop, before it answers: auth never
 * sleeps. A refused one (AUTH_ETHROTTLED) should be answered at once with
 * the protocol's "try later" (IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP],
 * SMTP 454 4.7.0). */
#ifndef LOFT_AUTH_AUTH_H
#define LOFT_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/apppass.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/userdb.h"

/* Results of logins and SASL exchanges. Front ends map them in one place:
 * suggested replies are given for IMAP (RFC 5530 codes), POP3 (RFC 2449 /
 * 3206) and SMTP (RFC 4954). */
enum auth_result {
	AUTH_OK = 0,
	AUTH_EFAIL = -1,       /* wrong user or password (never says which):
				* NO [AUTHENTICATIONFAILED] / -ERR [AUTH] / 535 5.7.8 */
	AUTH_EDISABLED = -2,   /* right password, but the account is disabled or
				* may not use this service: NO [CONTACTADMIN] /
				* -ERR [AUTH] / 535 5.7.8 */
	AUTH_EAUTHZ = -3,      /* authenticated, but may not act as the requested
				* authorization identity: NO [AUTHORIZATIONFAILED] /
				* -ERR [AUTH] / 535 5.7.8 */
	AUTH_ETHROTTLED = -4,  /* too many failures from this network or for this
				* user: NO [UNAVAILABLE] / -ERR [SYS/TEMP] /
				* 454 4.7.0 */
	AUTH_ECANCEL = -5,     /* the client sent "*": BAD / -ERR / 501 5.0.0 */
	AUTH_EBASE64 = -6,     /* a response that is not base64: BAD / -ERR /
				* 501 5.5.2 */
	AUTH_ETOOLONG = -7,    /* a response longer than max_response: BAD / -ERR /
				* 500 5.5.6 */
	AUTH_EMALFORMED = -8,  /* not a valid message of the mechanism: NO
				* [AUTHENTICATIONFAILED] / -ERR [AUTH] / 535 5.7.8 */
	AUTH_ECHANNEL = -9,    /* channel binding missing, unsupported, different,
				* or a downgrade: as AUTH_EFAIL */
	AUTH_ENOMECH = -10,    /* unknown or disabled mechanism: NO / -ERR /
				* 504 5.5.4 */
	AUTH_EPRIVACY = -11,   /* cleartext not allowed on this connection:
				* NO [PRIVACYREQUIRED] / -ERR [AUTH] / 538 5.7.11 */
	AUTH_ETEMP = -12,      /* internal error (logged): NO [UNAVAILABLE] /
				* -ERR [SYS/TEMP] / 454 4.7.0 */
};

/* "OK", "EFAIL", ... for logs. */
const char *auth_strerror(int result);

/* The plaintext_auth setting. */
enum auth_plaintext {
	AUTH_PLAINTEXT_NEVER = 0,      /* only over TLS */
	AUTH_PLAINTEXT_LOOPBACK = 1,   /* over TLS, or from a loopback address */
	AUTH_PLAINTEXT_ALWAYS = 2,
};

/* SASL mechanisms; a set of them is a bit mask of (1u << mech). */
enum auth_mech {
	AUTH_MECH_SCRAM_SHA_256_PLUS = 0,
	AUTH_MECH_SCRAM_SHA_256,
	AUTH_MECH_SCRAM_SHA_1_PLUS,
	AUTH_MECH_SCRAM_SHA_1,
	AUTH_MECH_CRAM_MD5,
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN,
	AUTH_MECH_COUNT,
};
/* "SCRAM-SHA-256-PLUS", ... */
const char *auth_mech_name(enum auth_mech mech);
/* The mechanism named name (case-insensitive), or -1. */
int auth_mech_find(const char *name);
/* True for mechanisms that send the password itself (PLAIN, LOGIN). */
bool auth_mech_is_plaintext(enum auth_mech mech);

struct auth_settings {
	const char *users_file;          /* required */
	const char *app_passwords_file;  /* NULL: no app passwords */
	const char *login_state_file;    /* NULL: last logins kept in memory only */
	unsigned login_state_flush_ms;   /* how often login state is written */
	const char *secret_file;         /* key for SCRAM's fake salts of unknown
					  * users (created 0600 if missing); NULL:
					  * a random key per process */
	const char *local_domains;       /* space separated, lower case */
	const char *hostname;            /* in CRAM-MD5 challenges */
	enum auth_plaintext plaintext;
	unsigned mechanisms;             /* enabled mechanisms, bit mask */
	struct password_params hash;     /* new passwords; the dummy's fallback */
	/* Forms stored beside the password column for new passwords. */
	bool store_scram_sha256, store_scram_sha1, store_cram_md5;
	unsigned scram_iterations;       /* new SCRAM keys, {PLAIN} users, fakes */
	size_t max_response;             /* longest SASL response, base64 chars */
	struct throttle_settings throttle;
};

/* Defaults matching the settings table. */
void auth_settings_default(struct auth_settings *s_r);

/* One channel binding of a TLS connection (RFC 5056): its type name
 * ("tls-exporter" RFC 9266, or "tls-server-end-point" RFC 5929) and its
 * bytes as the TLS layer computed them. type NULL: an unused slot. */
struct auth_cb {
	const char *type;
	const unsigned char *data;
	size_t len;
};
#define AUTH_CB_MAX 2

/* What auth needs to know about the client's connection. Strings and bytes
 * are borrowed for the duration of the call (sasl_start copies them). */
struct auth_conn {
	enum userdb_service service;
	const char *remote_addr;         /* textual IP address */
	bool tls;                        /* the connection is encrypted */
	/* The channel bindings the connection offers for the -PLUS mechanisms;
	 * the client picks one by name (SCRAM's "p=<type>"). None: no -PLUS. */
	struct auth_cb cb[AUTH_CB_MAX];
};

/* True if conn offers at least one channel binding. */
bool auth_conn_has_cb(const struct auth_conn *conn);

/* The outcome of a login. */
struct auth_login {
	int result;                      /* AUTH_OK or an enum auth_result */
	/* The canonical user on AUTH_OK, AUTH_EDISABLED and AUTH_EAUTHZ; the
	 * normalised name tried otherwise ("" when it was not a valid name). */
	char user[USERDB_NAME_MAX + 1];
	char device[APPPASS_DEVICE_MAX + 1]; /* app-password device, or "" */
	unsigned delay_ms;               /* failures: wait this long, then answer */
	unsigned retry_ms;               /* AUTH_ETHROTTLED: refusal time left */
	/* AUTH_OK and AUTH_EDISABLED: the user's extra fields (quota, POP3
	 * mode, services, disabled), so a front end can say whether the account
	 * is disabled or only this service is not allowed; the credential
	 * pointers are always NULL here. */
	struct userdb_fields fields;
};

struct auth;

/* Load the users file and app passwords, open the login state (starting its
 * flusher thread) and build the throttle tables. Returns 0, or AUTH_ETEMP
 * with a heap message in *err_r. May block (file I/O). */
int auth_create(const struct auth_settings *settings, struct auth **auth_r, char **err_r);
/* Flush the login state and free everything; sets *auth to NULL. May
 * block. */
void auth_free(struct auth **auth);

/* A configuration reload: take the reloadable policy from settings (the
 * plaintext policy, local_domains, hostname); everything else keeps the
 * values auth_create was given (the users file itself is re-read whenever it
 * changes). Logins in flight finish under the policy they started with or
 * the new one; each reads one policy as a whole. Thread-safe, no I/O; the
 * previous policies are kept until auth_free (a few bytes per reload). */
void auth_reconfigure(struct auth *auth, const struct auth_settings *settings);

/* True if addr (text) is a loopback address: 127.0.0.0/8, ::1 or
 * ::ffff:127.x.y.z. */
bool auth_addr_is_loopback(const char *addr);

/* True if the plaintext_auth policy lets cleartext mechanisms (IMAP LOGIN,
 * POP3 USER/PASS, SASL PLAIN and LOGIN) be offered and used on conn: always
 * over TLS; without TLS per the policy. IMAP advertises LOGINDISABLED when
 * this is false. */
bool auth_plaintext_allowed(const struct auth *auth, const struct auth_conn *conn);

/* The mechanisms to advertise on conn, strongest first: the enabled ones,
 * without cleartext ones where auth_plaintext_allowed() is false and without
 * -PLUS ones where conn has no channel binding. Writes up to max static
 * names into names_r; returns how many. */
size_t auth_mechanisms(const struct auth *auth, const struct auth_conn *conn,
		       const char **names_r, size_t max);

/* Check a user name and password (IMAP LOGIN, POP3 USER/PASS): user may be
 * "name" or "name@local-domain", in any case; password may be the user's
 * password or one of their app passwords. Fills *login. Reloads the users
 * and app-password files when they changed, consults and updates the
 * throttle, records the login state and logs one line (never the
 * password). An unknown user costs what a typical known user costs.
 * May block: call from the hash pool. */
void auth_password_login(struct auth *auth, const struct auth_conn *conn, const char *user,
			 const char *password, struct auth_login *login);

/* Hash a new password in every form the settings ask for (the password
 * column in settings->hash's scheme, plus SCRAM keys and a CRAM-MD5 context
 * when enabled) for userdb_file_add_credentials/set_credentials. Strings
 * are heap: free with auth_credentials_free(). Returns 0 or AUTH_ETEMP.
 * May block (hashing). */
int auth_hash_password(const struct auth_settings *settings, const char *password,
		       struct userdb_credentials *cred_r);
void auth_credentials_free(struct userdb_credentials *cred);

/* The loaded users file (for `loft user show` and tests); borrowed. */
struct userdb *auth_userdb(struct auth *auth);
/* The app passwords and login state; NULL when not configured. Borrowed. */
struct apppass *auth_apppass(struct auth *auth);
struct logins *auth_logins(struct auth *auth);

#endif
