/* The calling thread's role (see thread-role.h), kept in a thread-local
 * variable set once by each loop and pool thread. */
#include "lib/thread-role.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static _Thread_local enum thread_role current_role = THREAD_ROLE_OTHER;

void thread_role_set(enum thread_role role)
{
	current_role = role;
}

enum thread_role thread_role_get(void)
{
	return current_role;
}

const char *thread_role_name(enum thread_role role)
{
	switch (role) {
	case THREAD_ROLE_LOOP: return "loop";
	case THREAD_ROLE_POOL: return "pool";
	case THREAD_ROLE_OTHER: break;
	}
	return "other";
}

void thread_block_violation(const char *what)
{
	/* Straight to stderr with one write: the logger may itself be what
	 * is being misused, and we are about to abort anyway. */
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "loft: BUG: blocking call %s on an event-loop thread "
			 "(run it on a work pool)\n", what);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	abort();
}
