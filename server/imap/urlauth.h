/* URLAUTH (RFC 4467) tokens and access: the INTERNAL mechanism's token is
 * HMAC-SHA1 of the rump URL (everything up to and including the access
 * identifier) under the mailbox's access key (store_mailbox_key), written
 * as 40 lower-case hex digits; it is compared in constant time. Who may
 * fetch a URL follows from its access identifier and the user logged in.
 * Pure functions: no store, no connection. */
#ifndef LOFT_IMAP_URLAUTH_H
#define LOFT_IMAP_URLAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/url.h"
#include "storage/store.h"

#define IMAP_URLAUTH_MECH "INTERNAL"
#define IMAP_URLAUTH_TOKEN_LEN 40

/* The token for rump[0..len) under key, NUL-terminated. */
void imap_urlauth_token(const unsigned char key[STORE_MAILBOX_KEY_LEN], const char *rump,
			size_t len, char out[IMAP_URLAUTH_TOKEN_LEN + 1]);
/* Whether token (any case) is the token of rump under key. */
bool imap_urlauth_verify(const unsigned char key[STORE_MAILBOX_KEY_LEN], const char *rump,
			 size_t len, const char *token);
/* Whether user (logged in) may fetch a URL with url's access identifier;
 * submit_user is the account a submission server logs in as ("" or NULL:
 * none, so submit+ URLs are fetchable by nobody). */
bool imap_urlauth_access_ok(const struct imap_url *url, const char *user,
			    const char *submit_user);

#endif
