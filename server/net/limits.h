/* Connection counters shared by all worker threads: the total number of
 * connections and the number per client network, checked against
 * max_connections and max_connections_per_ip on accept. A client network is
 * the address cut to a prefix (settings: /32 for IPv4 and /64 for IPv6 by
 * default, since one IPv6 host usually holds a whole /64). One mutex guards
 * a small hash table keyed by the cut address. */
#ifndef LOFT_NET_LIMITS_H
#define LOFT_NET_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

enum net_limit_result {
	NET_LIMIT_OK = 0,
	NET_LIMIT_TOTAL,     /* max_connections reached */
	NET_LIMIT_PER_IP,    /* max_connections_per_ip reached */
};

/* A client address cut to its prefix: the key of the per-address count. */
struct net_addr_key {
	uint8_t family;      /* 4, 6, or 0 when the address is unknown */
	uint8_t prefix;      /* bits kept */
	uint8_t addr[16];    /* the address with the bits past prefix zeroed */
};

#define NET_ADDR_KEY_TEXT 64 /* room for "ffff:...:ffff/128" */

/* The key of sa (AF_INET or AF_INET6; anything else gives the "unknown"
 * key). IPv4-mapped IPv6 addresses count as IPv4. A prefix longer than the
 * address keeps all of it. */
void net_addr_key_from_sockaddr(const struct sockaddr *sa, unsigned v4_prefix,
				unsigned v6_prefix, struct net_addr_key *key_r);
/* The same from an address in text ("192.0.2.1", "2001:db8::1"). Returns 0
 * or LOFT_EINVAL when ip is not an address. */
int net_addr_key_parse(const char *ip, unsigned v4_prefix, unsigned v6_prefix,
		       struct net_addr_key *key_r);
/* "192.0.2.0/24", "2001:db8:1:2::/64", "unknown" for logs. */
void net_addr_key_format(const struct net_addr_key *key, char *buf, size_t size);
bool net_addr_key_equal(const struct net_addr_key *a, const struct net_addr_key *b);

struct net_limits;

struct net_limits *net_limits_create(void);
void net_limits_free(struct net_limits **lim);

/* Count a new connection from key unless that exceeds a limit (0 = no
 * limit). On NET_LIMIT_OK the caller must net_limits_release() the same key
 * later. */
enum net_limit_result net_limits_acquire(struct net_limits *lim,
					 const struct net_addr_key *key,
					 unsigned max_total, unsigned max_per_ip);
void net_limits_release(struct net_limits *lim, const struct net_addr_key *key);
unsigned net_limits_total(struct net_limits *lim);
unsigned net_limits_count(struct net_limits *lim, const struct net_addr_key *key);

#endif
