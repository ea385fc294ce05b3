/* Connection counters shared by all worker threads: the total number of
 * connections and the number per remote address, checked against
 * max_connections and max_connections_per_ip on accept. One mutex guards a
 * small hash table keyed by the address text. */
#ifndef LOFT_NET_LIMITS_H
#define LOFT_NET_LIMITS_H

#include <stdbool.h>

enum net_limit_result {
	NET_LIMIT_OK = 0,
	NET_LIMIT_TOTAL,     /* max_connections reached */
	NET_LIMIT_PER_IP,    /* max_connections_per_ip reached */
};

struct net_limits;

struct net_limits *net_limits_create(void);
void net_limits_free(struct net_limits **lim);

/* Count a new connection from ip unless that exceeds a limit (0 = no limit).
 * On NET_LIMIT_OK the caller must net_limits_release() it later. */
enum net_limit_result net_limits_acquire(struct net_limits *lim, const char *ip,
					 unsigned max_total, unsigned max_per_ip);
void net_limits_release(struct net_limits *lim, const char *ip);
unsigned net_limits_total(struct net_limits *lim);
unsigned net_limits_count_ip(struct net_limits *lim, const char *ip);

#endif
