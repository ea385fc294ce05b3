/* Recipient resolution: which local user (and which of their folders) an
 * envelope address means, or why it is not one of ours. One place decides
 * for LMTP RCPT, SMTP RCPT and `loft deliver -u`, so the rules that keep
 * the SMTP listener from ever relaying live here only:
 *
 *  - an address with a domain is local only when the domain is one of
 *    local_domains (compared case-insensitively, exactly: no trailing dot,
 *    no subdomain); an address literal is never local; anything else is
 *    RCPT_NOT_LOCAL (SMTP: 550 5.7.1, relaying denied);
 *  - "postmaster" (any case, with a local domain or none) is the
 *    configured postmaster user (RFC 5321 4.5.1);
 *  - an address without a domain is local on LMTP only;
 *  - the user is then looked up in the users file: the whole address
 *    ("bob@example.org" may itself be a user name), then the local part,
 *    then, with plus-addressing, the part before the first delimiter
 *    character, the rest becoming the folder ("detail"). Local parts that
 *    are no valid user name ('%', '!', quotes, UTF-8...) are
 *    RCPT_UNKNOWN (550 5.1.1): nothing is ever forwarded elsewhere.
 *
 * No I/O: userdb_lookup only (the caller refreshes the users file). */
#ifndef LOFT_LMTP_RECIPIENT_H
#define LOFT_LMTP_RECIPIENT_H

#include <stdbool.h>

#include "auth/userdb.h"
#include "server/lmtp/smtp-parse.h"

struct rcpt_policy {
	const char *local_domains;   /* space separated, lower case */
	const char *delimiter;       /* characters; NULL or "": none */
	bool plus_addressing;
	const char *postmaster;      /* user name for postmaster */
	bool lmtp;                   /* bare local parts are local */
};

enum rcpt_kind {
	RCPT_LOCAL = 0,
	RCPT_NOT_LOCAL,              /* not a local domain: never relayed */
	RCPT_UNKNOWN,                /* a local domain, but no such user */
};

struct rcpt_target {
	char user[USERDB_NAME_MAX + 1];   /* canonical user name */
	char detail[SMTP_LOCAL_MAX + 1];  /* plus-addressing folder; "" none */
	const struct userdb_user *record; /* borrowed from the userdb */
};

enum rcpt_kind rcpt_resolve(struct userdb *db, const struct rcpt_policy *pol,
			    const struct smtp_path *path, struct rcpt_target *out);

/* For `loft deliver -u`: a user name as it stands in the users file, or
 * else an address as text ("user", "user+detail@example.org") resolved as
 * LMTP would. A text that is neither is RCPT_UNKNOWN. */
enum rcpt_kind rcpt_resolve_text(struct userdb *db, const struct rcpt_policy *pol,
				 const char *address, struct rcpt_target *out);

/* Whether domain is one of the space separated local_domains. */
bool rcpt_domain_is_local(const char *local_domains, const char *domain);

#endif
