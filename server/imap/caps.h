/* Capability bits of the newer extensions (issue 27) that a session may
 * have switched off (the per-user and per-client switches): a switched-off
 * extension is neither advertised nor accepted, and its commands, search
 * keys and FETCH items are refused as unknown ones are. caps.c owns the
 * bits' names and the checks the command handlers ask. */
#ifndef LOFT_IMAP_CAPS_H
#define LOFT_IMAP_CAPS_H

#include <stdbool.h>

enum imap_cap {
	IMAP_CAP_WITHIN = 1u << 0,        /* RFC 5032: OLDER, YOUNGER */
	IMAP_CAP_SAVEDATE = 1u << 1,      /* RFC 8514 */
	IMAP_CAP_MULTISEARCH = 1u << 2,   /* RFC 7377: ESEARCH */
	IMAP_CAP_METADATA = 1u << 8,      /* RFC 5464, RFC 9590 */
	IMAP_CAP_UIDONLY = 1u << 9,       /* RFC 9586 */
};

struct imap_session;
struct imap_fetch_spec;

/* Whether the session has the extension (not switched off). */
bool imap_caps_on(const struct imap_session *s, unsigned cap);
/* Whether spec asks for an item of a switched-off extension (FETCH then
 * answers as for an unknown item). */
bool imap_caps_fetch_refused(const struct imap_session *s, const struct imap_fetch_spec *spec);

#endif
