/* UID (RFC 9051 6.4.9, RFC 4315 2.1): the UID forms of FETCH, STORE, COPY,
 * MOVE, EXPUNGE, SEARCH, SORT, THREAD and REPLACE (RFC 8508), whose message
 * sets are UIDs. UID REPLACE's message literal is streamed as APPEND's. */
#include "server/imap/commands.h"

#include <strings.h>

#include "server/imap/args.h"
#include "server/imap/caps.h"

/* The name UID REPLACE reaches cmd-append.c as. */
static char uid_replace[] = "UID REPLACE";

void imap_uid_literal(struct imap_session *s, const struct imap_literal_info *info)
{
	const struct imap_command *cmd = info->partial;
	if (cmd->n_args >= 1 && imap_arg_is_atom(&cmd->args[0], "REPLACE") &&
	    imap_caps_on(s, IMAP_CAP_REPLACE)) {
		struct imap_command sub = {
			.tag = cmd->tag, .name = uid_replace,
			.args = cmd->args + 1, .n_args = cmd->n_args - 1,
		};
		struct imap_literal_info sub_info = *info;
		sub_info.partial = &sub;
		imap_append_literal(s, &sub_info);
		return;
	}
	imap_literal_take_string(s, info);   /* a string of another UID command */
}

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
	if (strcasecmp(sub.name, "REPLACE") == 0) {
		sub.name = uid_replace;
		return imap_cmd_append(s, &sub);
	}
	if (strcasecmp(sub.name, "EXPUNGE") == 0)
		return imap_uid_expunge_command(s, &sub);
	imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown UID command.");
	return IMAP_CMD_DONE;
}
