/* UID (RFC 9051 6.4.9, RFC 4315 2.1): the UID forms of FETCH, STORE, COPY,
 * MOVE, EXPUNGE, SEARCH, SORT and THREAD, whose message sets are UIDs. */
#include "server/imap/commands.h"

#include <strings.h>

#include "server/imap/caps.h"

enum imap_cmd_result imap_cmd_uid(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "UID needs a command.");
		return IMAP_CMD_DONE;
	}
	struct imap_command sub = {
		.tag = cmd->tag, .name = cmd->args[0].str,
		.args = cmd->args + 1, .n_args = cmd->n_args - 1,
	};
	/* UID MOVE, SORT, THREAD: not known when their extension is off */
	const struct imap_command_def *def = imap_command_find(sub.name);
	if (def != NULL && (def->cap & s->caps_off) != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown UID command.");
		return IMAP_CMD_DONE;
	}
	if (strcasecmp(sub.name, "FETCH") == 0)
		return imap_fetch_command(s, &sub, true);
	if (strcasecmp(sub.name, "STORE") == 0)
		return imap_store_command(s, &sub, true);
	if (strcasecmp(sub.name, "COPY") == 0)
		return imap_copy_command(s, &sub, true, false);
	if (strcasecmp(sub.name, "MOVE") == 0)
		return imap_copy_command(s, &sub, true, true);
	if (strcasecmp(sub.name, "SEARCH") == 0)
		return imap_search_command(s, &sub, true);
	if (strcasecmp(sub.name, "SORT") == 0)
		return imap_sort_command(s, &sub, true);
	if (strcasecmp(sub.name, "THREAD") == 0)
		return imap_thread_command(s, &sub, true);
	if (strcasecmp(sub.name, "EXPUNGE") == 0)
		return imap_uid_expunge_command(s, &sub);
	imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown UID command.");
	return IMAP_CMD_DONE;
}
