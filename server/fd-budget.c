/* Descriptor budget (see fd-budget.h). The per-worker reserve was measured:
 * an idle worker holds its listening sockets plus five loop descriptors
 * (epoll, eventfd, timers' and signals' internals); the test in
 * tests/e2e/test_startup.py checks an idle server stays within it. */
#include "server/fd-budget.h"

#include <inttypes.h>
#include <stdio.h>

#include "lib/xmem.h"
#include "storage/store.h"

/* stdio, the log file, the main loop and its signal pipe, inotify, and
 * the writer's and the notify thread's needs. */
#define FD_BASE 16
#define FD_PER_WORKER 8

void fd_budget_compute(const struct loft_config *cfg, uint64_t limit, struct fd_budget *b_r)
{
	struct fd_budget b = { .limit = limit };
	b.reserve = FD_BASE + (uint64_t)cfg->workers * (FD_PER_WORKER + cfg->n_listeners);
	b.conns = cfg->max_connections;
	b.users = (uint64_t)cfg->index_cache_size * STORE_USER_FDS;
	b.need = b.reserve + b.conns + b.users;
	uint64_t fixed = b.reserve + b.users;
	b.conns_allowed = limit == UINT64_MAX ? b.conns : limit > fixed ? limit - fixed : 0;
	if (b.conns_allowed > b.conns)
		b.conns_allowed = b.conns;
	*b_r = b;
}

char *fd_budget_describe(const struct loft_config *cfg, const struct fd_budget *b,
			 bool *short_r)
{
	*short_r = b->limit != UINT64_MAX && b->limit < b->need;
	if (!*short_r) {
		char limit[32] = "unlimited";
		if (b->limit != UINT64_MAX)
			snprintf(limit, sizeof(limit), "%" PRIu64, b->limit);
		return xasprintf("open file limit %s covers max_connections=%u (1 each) and "
				 "index_cache_size=%u (%u each): %" PRIu64 " needed at most",
				 limit, cfg->max_connections, cfg->index_cache_size,
				 STORE_USER_FDS, b->need);
	}
	return xasprintf("open file limit %" PRIu64 " is below the %" PRIu64 " that "
			 "max_connections=%u (1 each) and index_cache_size=%u (%u each) "
			 "need: with a full user cache it allows %" PRIu64 " connections; "
			 "raise the limit (ulimit -n, systemd LimitNOFILE=) or lower "
			 "max_connections or index_cache_size", b->limit, b->need,
			 cfg->max_connections, cfg->index_cache_size, STORE_USER_FDS,
			 b->conns_allowed);
}

char *fd_budget_inotify(const struct loft_config *cfg, uint64_t max_watches, bool *short_r)
{
	uint64_t need = 2 * (uint64_t)cfg->max_connections + cfg->index_cache_size;
	*short_r = max_watches != 0 && max_watches < need;
	if (!*short_r)
		return xasprintf("inotify watch limit %" PRIu64 " covers max_connections=%u "
				 "(2 each) and index_cache_size=%u (1 each): %" PRIu64 " needed "
				 "at most", max_watches, cfg->max_connections,
				 cfg->index_cache_size, need);
	return xasprintf("inotify watch limit %" PRIu64 " is below the %" PRIu64 " that "
			 "max_connections=%u (2 each) and index_cache_size=%u (1 each) need: "
			 "changes by other processes would reach some idle clients only at "
			 "their next command; raise fs.inotify.max_user_watches (sysctl) or "
			 "lower max_connections", max_watches, need, cfg->max_connections,
			 cfg->index_cache_size);
}
