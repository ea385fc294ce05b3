/* Shared connection counters (see limits.h): address keys cut to a prefix,
 * and a chained hash of per-key counts plus a total under one mutex.
 * Entries are removed when their count drops to zero, so the table only
 * holds networks that are connected. */
#include "server/net/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xmem.h"

#define LIMITS_BUCKETS 4096

/* ---- keys ---- */

static void key_set(struct net_addr_key *k, int family, const uint8_t *addr,
		    unsigned prefix)
{
	memset(k, 0, sizeof(*k));
	unsigned bits = family == 4 ? 32 : 128;
	if (prefix > bits)
		prefix = bits;
	k->family = (uint8_t)family;
	k->prefix = (uint8_t)prefix;
	memcpy(k->addr, addr, bits / 8);
	for (unsigned i = prefix; i < bits; i++)
		k->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

void net_addr_key_from_sockaddr(const struct sockaddr *sa, unsigned v4_prefix,
				unsigned v6_prefix, struct net_addr_key *key_r)
{
	memset(key_r, 0, sizeof(*key_r));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		key_set(key_r, 4, (const uint8_t *)&sin->sin_addr, v4_prefix);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			key_set(key_r, 4, a + 12, v4_prefix);
		else
			key_set(key_r, 6, a, v6_prefix);
	}
}

int net_addr_key_parse(const char *ip, unsigned v4_prefix, unsigned v6_prefix,
		       struct net_addr_key *key_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
		net_addr_key_from_sockaddr((struct sockaddr *)&sin, v4_prefix, v6_prefix, key_r);
	else if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1)
		net_addr_key_from_sockaddr((struct sockaddr *)&sin6, v4_prefix, v6_prefix, key_r);
	else
		return LOFT_EINVAL;
	return 0;
}

void net_addr_key_format(const struct net_addr_key *k, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "";
	if (k->family == 0 ||
	    inet_ntop(k->family == 4 ? AF_INET : AF_INET6, k->addr, a, sizeof(a)) == NULL) {
		snprintf(buf, size, "unknown");
		return;
	}
	snprintf(buf, size, "%s/%u", a, k->prefix);
}

bool net_addr_key_equal(const struct net_addr_key *a, const struct net_addr_key *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* ---- the table ---- */

struct key_entry {
	struct key_entry *next;
	unsigned count;
	struct net_addr_key key;
};

struct net_limits {
	pthread_mutex_t lock;
	unsigned total;
	struct key_entry *buckets[LIMITS_BUCKETS];
};

static unsigned hash_key(const struct net_addr_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	unsigned h = 2166136261u;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % LIMITS_BUCKETS;
}

struct net_limits *net_limits_create(void)
{
	struct net_limits *lim = xcalloc(1, sizeof(*lim));
	pthread_mutex_init(&lim->lock, NULL);
	return lim;
}

void net_limits_free(struct net_limits **limp)
{
	struct net_limits *lim = *limp;
	if (lim == NULL)
		return;
	for (size_t i = 0; i < LIMITS_BUCKETS; i++) {
		while (lim->buckets[i] != NULL) {
			struct key_entry *e = lim->buckets[i];
			lim->buckets[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&lim->lock);
	free(lim);
	*limp = NULL;
}

static struct key_entry **find(struct net_limits *lim, const struct net_addr_key *k)
{
	struct key_entry **pp = &lim->buckets[hash_key(k)];
	while (*pp != NULL && !net_addr_key_equal(&(*pp)->key, k))
		pp = &(*pp)->next;
	return pp;
}

enum net_limit_result net_limits_acquire(struct net_limits *lim,
					 const struct net_addr_key *key,
					 unsigned max_total, unsigned max_per_ip)
{
	enum net_limit_result res = NET_LIMIT_OK;
	pthread_mutex_lock(&lim->lock);
	struct key_entry **pp = find(lim, key);
	unsigned have = *pp != NULL ? (*pp)->count : 0;
	if (max_total != 0 && lim->total >= max_total) {
		res = NET_LIMIT_TOTAL;
	} else if (max_per_ip != 0 && have >= max_per_ip) {
		res = NET_LIMIT_PER_IP;
	} else {
		if (*pp == NULL) {
			struct key_entry *e = xcalloc(1, sizeof(*e));
			e->key = *key;
			*pp = e;
		}
		(*pp)->count++;
		lim->total++;
	}
	pthread_mutex_unlock(&lim->lock);
	return res;
}

void net_limits_release(struct net_limits *lim, const struct net_addr_key *key)
{
	pthread_mutex_lock(&lim->lock);
	struct key_entry **pp = find(lim, key);
	if (*pp != NULL) {
		if (--(*pp)->count == 0) {
			struct key_entry *e = *pp;
			*pp = e->next;
			free(e);
		}
		lim->total--;
	}
	pthread_mutex_unlock(&lim->lock);
}

unsigned net_limits_total(struct net_limits *lim)
{
	pthread_mutex_lock(&lim->lock);
	unsigned n = lim->total;
	pthread_mutex_unlock(&lim->lock);
	return n;
}

unsigned net_limits_count(struct net_limits *lim, const struct net_addr_key *key)
{
	pthread_mutex_lock(&lim->lock);
	struct key_entry **pp = find(lim, key);
	unsigned n = *pp != NULL ? (*pp)->count : 0;
	pthread_mutex_unlock(&lim->lock);
	return n;
}
