/* UIDONLY (RFC 9586): the refusal of sequence-number commands and the
 * UIDFETCH response head (uidonly.h). */
#include "server/imap/uidonly.h"

#include "server/imap/commands.h"
#include "server/imap/outbuf.h"

bool imap_uidonly_refuse(struct imap_session *s, const struct imap_command_def *def,
			 const char *tag)
{
	if (!imap_session_uidonly(s) || (def->flags & IMAP_CMD_USES_SEQS) == 0)
		return false;
	imap_reply_tagged(s, tag, "BAD", "UIDREQUIRED", IMAP_UIDONLY_WHY);
	return true;
}

void imap_uidonly_fetch_open(const struct imap_session *s, struct imap_outbuf *out, uint32_t seq,
			     uint32_t uid)
{
	if (imap_session_uidonly(s))
		imap_outbuf_printf(out, "* %u UIDFETCH (", uid);
	else
		imap_outbuf_printf(out, "* %u FETCH (", seq);
}
