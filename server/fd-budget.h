/* The descriptor budget: how many open files a configuration can need at
 * once (a socket per connection, the descriptors of every cached user
 * environment, listeners and loops) against the process's limit, and a
 * sentence saying what that limit allows; likewise the inotify watches the
 * store's change notification can need. server.c checks both at start. */
#ifndef LOFT_SERVER_FD_BUDGET_H
#define LOFT_SERVER_FD_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/config.h"

struct fd_budget {
	uint64_t limit;          /* RLIMIT_NOFILE (soft); UINT64_MAX: none */
	uint64_t reserve;        /* loops, listeners, log, notify, stdio */
	uint64_t conns;          /* max_connections, one socket each */
	uint64_t users;          /* index_cache_size x STORE_USER_FDS */
	uint64_t need;           /* reserve + conns + users */
	uint64_t conns_allowed;  /* connections the limit leaves room for when
				  * the user cache is full */
};

void fd_budget_compute(const struct loft_config *cfg, uint64_t limit, struct fd_budget *b_r);

/* One log line's text: what the limit allows and, when it is short, what
 * to change. *short_r says whether it is short. Caller frees. */
char *fd_budget_describe(const struct loft_config *cfg, const struct fd_budget *b,
			 bool *short_r);

/* The inotify watches the store's change notification can need: two per
 * watched mailbox (cur/ and new/; one selection per connection, a NOTIFY
 * session two more for each other mailbox it follows) and one per user
 * with a watch (its index/notify file, at most one per cached user
 * environment), against the kernel's fs.inotify.max_user_watches (0:
 * unknown, never short). Without enough, changes made by other processes
 * and programs reach idle clients late (at their next command). Caller
 * frees the text. */
char *fd_budget_inotify(const struct loft_config *cfg, uint64_t max_watches, bool *short_r);

#endif
