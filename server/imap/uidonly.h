/* UIDONLY (RFC 9586): after ENABLE UIDONLY a session neither sends nor
 * takes message sequence numbers. Commands that take them are refused
 * with BAD [UIDREQUIRED] (and so are sequence sets in searches, see
 * search-args.h), FETCH responses become "* <uid> UIDFETCH (...)" without
 * the implied UID item, and expunges are reported as VANISHED (selected.c),
 * as with QRESYNC. */
#ifndef LOFT_IMAP_UIDONLY_H
#define LOFT_IMAP_UIDONLY_H

#include <stdbool.h>
#include <stdint.h>

#include "server/imap/session.h"

struct imap_outbuf;
struct imap_command_def;

#define IMAP_UIDONLY_WHY "Message sequence numbers are not allowed after ENABLE UIDONLY."

static inline bool imap_session_uidonly(const struct imap_session *s)
{
	return (s->enabled & IMAP_ENABLED_UIDONLY) != 0;
}

/* A command that uses sequence numbers in a UIDONLY session: answers
 * "<tag> BAD [UIDREQUIRED] ..." and returns true. */
bool imap_uidonly_refuse(struct imap_session *s, const struct imap_command_def *def,
			 const char *tag);
/* Open a FETCH response: "* <seq> FETCH (", or "* <uid> UIDFETCH (". */
void imap_uidonly_fetch_open(const struct imap_session *s, struct imap_outbuf *out, uint32_t seq,
			     uint32_t uid);

#endif
