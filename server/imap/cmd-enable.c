/* ENABLE (RFC 5161, RFC 9051 6.3.1): the table of extensions a client can
 * turn on for its session, and the command that does it. Unknown names are
 * ignored as the RFC says; the ENABLED response lists only what this
 * command turned on. Later extensions add their row here and their bit in
 * session.h. Once QRESYNC is on in the selected state, the view's later
 * expunges are reported as VANISHED; turning CONDSTORE on there also
 * reports the HIGHESTMODSEQ (RFC 7162 3.1). */
#include "server/imap/commands.h"

#include <strings.h>

#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/selected.h"

static const struct {
	const char *name;
	unsigned bit;
	unsigned cap;          /* caps.h: switched off, the name is unknown */
} extensions[] = {
	/* Mailbox names in UTF-8 (LIST, STATUS, CREATE, ...), UTF-8 in quoted
	 * strings; RFC 9755 (was RFC 6855). */
	{ "UTF8=ACCEPT", IMAP_ENABLED_UTF8_ACCEPT, 0 },
	/* IMAP4rev2 semantics for the rest of the session (RFC 9051 6.3.1),
	 * UTF-8 included */
	{ "IMAP4rev2", IMAP_ENABLED_IMAP4REV2, 0 },
	/* RFC 7162 3.1, 3.2: MODSEQ everywhere; QRESYNC implies CONDSTORE
	 * (its row turns both on, ENABLED lists what was asked). */
	{ "CONDSTORE", IMAP_ENABLED_CONDSTORE, IMAP_CAP_CONDSTORE },
	{ "QRESYNC", IMAP_ENABLED_QRESYNC | IMAP_ENABLED_CONDSTORE, IMAP_CAP_QRESYNC },
	/* RFC 9586 (uidonly.h) */
	{ "UIDONLY", IMAP_ENABLED_UIDONLY, IMAP_CAP_UIDONLY },
};

enum imap_cmd_result imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args == 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "ENABLE needs capability names.");
		return IMAP_CMD_DONE;
	}
	for (size_t i = 0; i < cmd->n_args; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Capability names are atoms.");
			return IMAP_CMD_DONE;
		}
	}
	bool condstore = imap_session_condstore(s);
	struct imap_resp r;
	imap_resp_init(&r, false);
	imap_resp_raw(&r, "* ENABLED");
	for (size_t i = 0; i < cmd->n_args; i++) {
		for (size_t k = 0; k < sizeof(extensions) / sizeof(extensions[0]); k++) {
			if (strcasecmp(cmd->args[i].str, extensions[k].name) != 0 ||
			    (s->enabled & extensions[k].bit) == extensions[k].bit ||
			    !imap_caps_on(s, extensions[k].cap))
				continue;
			s->enabled |= extensions[k].bit;
			/* a mailbox already selected (clients should not, RFC
			 * 5161 3.1) follows at once: no \Recent from now on */
			if (extensions[k].bit == IMAP_ENABLED_IMAP4REV2 && s->sel != NULL)
				s->sel->rev2 = true;
			imap_resp_rawn(&r, " ", 1);
			imap_resp_raw(&r, extensions[k].name);
			conn_debug(s->conn, "enabled %s", extensions[k].name);
		}
	}
	imap_resp_crlf(&r);
	imap_resp_send(&r, s->conn);
	imap_resp_free(&r);
	if (!condstore && imap_session_condstore(s))
		imap_sel_report_highestmodseq(s);       /* RFC 7162 3.1 */
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "ENABLE completed.");
	return IMAP_CMD_DONE;
}
