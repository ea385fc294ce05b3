/* The POP3 dispatch table: one row per command with its handler, the states
 * it is valid in and the RFC that defines it. The dispatcher (session.c)
 * checks the state and answers -ERR itself before any handler runs. */
#ifndef LOFT_POP3_COMMANDS_H
#define LOFT_POP3_COMMANDS_H

#include "server/pop3/parse.h"
#include "server/pop3/session.h"

typedef enum pop3_cmd_result pop3_handler(struct pop3_session *s, const struct pop3_cmdline *cmd);

/* The argument is the whole rest of the line, spaces included (PASS). */
#define POP3_CMD_WHOLE_ARG 1u

struct pop3_command_def {
	const char *name;
	pop3_handler *handler;
	unsigned states;             /* POP3_STATE_BIT()s */
	unsigned flags;              /* POP3_CMD_* */
	const char *rfc;
};

const struct pop3_command_def *pop3_command_find(const char *keyword);

/* commands.c: any state and TRANSACTION */
pop3_handler pop3_cmd_capa, pop3_cmd_noop, pop3_cmd_quit, pop3_cmd_stat, pop3_cmd_list,
	pop3_cmd_uidl, pop3_cmd_dele, pop3_cmd_rset;
/* cmd-auth.c: AUTHORIZATION */
pop3_handler pop3_cmd_stls, pop3_cmd_user, pop3_cmd_pass, pop3_cmd_auth;
/* retr.c */
pop3_handler pop3_cmd_retr, pop3_cmd_top;

/* A message-number argument: its maildrop index, or -1 after the -ERR was
 * sent (not a number, no such message, deleted). */
int64_t pop3_msg_arg(struct pop3_session *s, const char *arg, size_t len);

#endif
