/* The ManageSieve dispatch table: one row per command with its handler, the
 * states it is valid in and its section of RFC 5804. The dispatcher
 * (session.c) checks the state and answers NO itself before a handler
 * runs. A handler answers, or holds the session (ms_cmd_hold) while a pool
 * job runs and answers from the job's completion. */
#ifndef LOFT_MANAGESIEVE_COMMANDS_H
#define LOFT_MANAGESIEVE_COMMANDS_H

#include "server/managesieve/session.h"

typedef void ms_handler(struct ms_session *s, struct ms_args *args);

struct ms_command_def {
	const char *name;
	ms_handler *handler;
	unsigned states;             /* MS_STATE_BIT()s */
	const char *rfc;
};

const struct ms_command_def *ms_command_find(const char *name);

/* commands.c */
ms_handler ms_cmd_capability, ms_cmd_noop, ms_cmd_logout, ms_cmd_havespace, ms_cmd_putscript,
	ms_cmd_listscripts, ms_cmd_setactive, ms_cmd_getscript, ms_cmd_deletescript,
	ms_cmd_renamescript, ms_cmd_checkscript;
/* cmd-auth.c */
ms_handler ms_cmd_starttls, ms_cmd_authenticate, ms_cmd_unauthenticate;

#endif
