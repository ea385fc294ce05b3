/* Shared connection counters (see limits.h): a chained hash of per-address
 * counts plus a total, under one mutex. Entries are removed when their count
 * drops to zero so the table only holds addresses that are connected. */
#include "server/net/limits.h"

#include <pthread.h>
#include <string.h>

#include "lib/xmem.h"

#define LIMITS_BUCKETS 4096

struct ip_entry {
	struct ip_entry *next;
	unsigned count;
	char ip[];
};

struct net_limits {
	pthread_mutex_t lock;
	unsigned total;
	struct ip_entry *buckets[LIMITS_BUCKETS];
};

static unsigned hash_ip(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
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
			struct ip_entry *e = lim->buckets[i];
			lim->buckets[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&lim->lock);
	free(lim);
	*limp = NULL;
}

static struct ip_entry **find(struct net_limits *lim, const char *ip)
{
	struct ip_entry **pp = &lim->buckets[hash_ip(ip)];
	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

enum net_limit_result net_limits_acquire(struct net_limits *lim, const char *ip,
					 unsigned max_total, unsigned max_per_ip)
{
	enum net_limit_result res = NET_LIMIT_OK;
	pthread_mutex_lock(&lim->lock);
	struct ip_entry **pp = find(lim, ip);
	unsigned have = *pp != NULL ? (*pp)->count : 0;
	if (max_total != 0 && lim->total >= max_total) {
		res = NET_LIMIT_TOTAL;
	} else if (max_per_ip != 0 && have >= max_per_ip) {
		res = NET_LIMIT_PER_IP;
	} else {
		if (*pp == NULL) {
			size_t n = strlen(ip) + 1;
			struct ip_entry *e = xcalloc(1, sizeof(*e) + n);
			memcpy(e->ip, ip, n);
			*pp = e;
		}
		(*pp)->count++;
		lim->total++;
	}
	pthread_mutex_unlock(&lim->lock);
	return res;
}

void net_limits_release(struct net_limits *lim, const char *ip)
{
	pthread_mutex_lock(&lim->lock);
	struct ip_entry **pp = find(lim, ip);
	if (*pp != NULL) {
		if (--(*pp)->count == 0) {
			struct ip_entry *e = *pp;
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

unsigned net_limits_count_ip(struct net_limits *lim, const char *ip)
{
	pthread_mutex_lock(&lim->lock);
	struct ip_entry **pp = find(lim, ip);
	unsigned n = *pp != NULL ? (*pp)->count : 0;
	pthread_mutex_unlock(&lim->lock);
	return n;
}
