/* What an IMAP URL names, opened for reading: the message section of a
 * CATENATE URL part (RFC 4469) or of a URLFETCH (RFC 4467). Resolving
 * checks whose mail it names (the user's own, or another user's only
 * through a valid URLAUTH), the URLAUTH token, access identifier and
 * expiry, the mailbox and its UIDVALIDITY, the message and the section;
 * then the section is read through section-read.h. The host a URL names is
 * taken to be this server, whatever name the client used for it (a token
 * signs the host as written). Everything here runs on a storage pool
 * thread; the context is filled on the loop before.
 *
 * User names: a URL's user may carry its domain ("imap://bob@example.org"
 * for the login "bob@example.org" with the host as domain, or a login
 * "bob" with the server's name as host): imap_url_user_is() says whether
 * a URL names a login. */
#ifndef LOFT_IMAP_URL_FETCH_H
#define LOFT_IMAP_URL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/url.h"

struct store;
struct store_user;

/* Who asks, and what relative URLs are relative to. Strings borrowed. */
struct imap_url_ctx {
	struct store *store;
	struct store_user *self;      /* the logged-in user's store */
	const char *self_name;
	const char *submit_user;      /* [imap] urlauth_submit_user ("" = none) */
	const char *base_mailbox;     /* the selected mailbox (relative URLs); NULL */
	uint32_t base_uidvalidity;
	int64_t now;                  /* for ;EXPIRE= */
};

struct imap_url_source;
/* Open the section url names (raw: the URL as the client sent it, which
 * its token signs). need_urlauth: only a URL with a valid URLAUTH will do
 * (URLFETCH); otherwise a URL with URLAUTH is verified the same way and
 * one without may only name the user's own mail (CATENATE). Returns 0
 * with *size_r the bytes the source gives, LOFT_ENOENT when the URL cannot
 * be read (not ours, not authorized, expired, no such mailbox, message or
 * part; *why_r says which, for the log), or LOFT_EIO (try again later). */
int imap_url_open(const struct imap_url_ctx *ctx, const char *raw, size_t raw_len,
		  const struct imap_url *url, bool need_urlauth,
		  struct imap_url_source **src_r, uint64_t *size_r, const char **why_r);
/* Up to cap bytes; *got_r = 0 at the end. 0 or LOFT_EIO. */
int imap_url_read(struct imap_url_source *src, char *buf, size_t cap, size_t *got_r);
void imap_url_close(struct imap_url_source **src);
/* Whether the user of url (with its host) names login: the same name, or
 * <user>@<host>, or login's local part when the URL's user has no domain. */
bool imap_url_user_is(const struct imap_url *url, const char *login);

#endif
