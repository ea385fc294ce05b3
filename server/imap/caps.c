/* Which of the newer extensions a session has (caps.h): the checks that
 * command handlers ask before accepting an extension's syntax. */
#include "server/imap/caps.h"

#include "server/imap/fetch-items.h"
#include "server/imap/session.h"

bool imap_caps_on(const struct imap_session *s, unsigned cap)
{
	return (s->caps_off & cap) == 0;
}

bool imap_caps_fetch_refused(const struct imap_session *s, const struct imap_fetch_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++)
		if (spec->items[i].att == IMAP_FA_SAVEDATE && !imap_caps_on(s, IMAP_CAP_SAVEDATE))
			return true;
	return false;
}
