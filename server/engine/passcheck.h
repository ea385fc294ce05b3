/* The password check of a password login (IMAP LOGIN, POP3 USER/PASS): the
 * user database asked on the hash pool, with the password copied in and
 * wiped right after the check. A front end puts a struct sess_passcheck
 * first in its login state, starts it, and gets its done() on the session's
 * loop with the result; it may then reuse pc->job for the next step (open
 * the mailbox on the storage pool). The one place that changes when auth/
 * provides auth_password_login. Loop thread only. */
#ifndef LOFT_ENGINE_PASSCHECK_H
#define LOFT_ENGINE_PASSCHECK_H

#include <stddef.h>

#include "server/engine/session.h"

struct sess_passcheck {
	struct sess_job job;        /* first */
	char *user;                 /* heap, owned */
	char *password;             /* heap, wiped after the check */
	int result;                 /* USERDB_OK or a userdb error */
};

/* Check password (len bytes) for user (heap, taken) on the hash pool;
 * done(&pc->job) runs on the loop afterwards. */
void sess_passcheck_start(struct sess_core *core, struct sess_passcheck *pc, char *user,
			  const char *password, size_t len, void (*done)(struct sess_job *job));
/* Wipe the password and free both strings. */
void sess_passcheck_clear(struct sess_passcheck *pc);

#endif
