/* The resolver's answer cache: a hash table of (name, type) with a
 * least-recently-used list, bounded by a number of answers ([dns]
 * cache_size) and keeping each answer no longer than its TTL (capped by
 * cache_max_ttl). Negative answers are kept for their SOA TTL (RFC 2308);
 * temporary failures never. One cache per loop: no locks. */
#include "server/dns/dns-private.h"

#include <string.h>

#include "lib/xmem.h"

struct entry {
	struct entry *hnext;            /* hash chain */
	struct entry *prev, *next;      /* LRU list, most recent first */
	uint64_t expires_ms;
	uint32_t hash;
	enum dns_type type;
	char *name;                     /* lower case, no trailing dot */
	struct dns_answer *answer;
};

struct dns_cache {
	unsigned max, count;
	unsigned max_ttl_s;
	size_t n_buckets;               /* power of two */
	struct entry **buckets;
	struct entry *head, *tail;
};

static char *norm_name(const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	char *s = xstrndup(name, len);
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return s;
}

static uint32_t hash_of(const char *norm, enum dns_type type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;
	for (const unsigned char *p = (const unsigned char *)norm; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

struct dns_cache *dns_cache_new(unsigned max_entries, unsigned max_ttl_s)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));
	c->max = max_entries;
	c->max_ttl_s = max_ttl_s;
	c->n_buckets = 16;
	while (c->n_buckets < max_entries && c->n_buckets < (1u << 24))
		c->n_buckets *= 2;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	return c;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct dns_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void entry_remove(struct dns_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->n_buckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	free(e->name);
	dns_answer_free(&e->answer);
	free(e);
	c->count--;
}

void dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c = *cp;
	if (c == NULL)
		return;
	while (c->head)
		entry_remove(c, c->head);
	free(c->buckets);
	x_free(cp);
}

static struct entry *find(struct dns_cache *c, const char *norm, enum dns_type type,
			  uint32_t h)
{
	for (struct entry *e = c->buckets[h & (c->n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->type == type && strcmp(e->name, norm) == 0)
			return e;
	return NULL;
}

const struct dns_answer *dns_cache_get(struct dns_cache *c, const char *name,
				       enum dns_type type, uint64_t now_ms)
{
	if (c->max == 0)
		return NULL;
	char *norm = norm_name(name);
	uint32_t h = hash_of(norm, type);
	struct entry *e = find(c, norm, type, h);
	free(norm);
	if (e == NULL)
		return NULL;
	if (e->expires_ms <= now_ms) {
		entry_remove(c, e);
		return NULL;
	}
	lru_unlink(c, e);
	lru_push_front(c, e);
	return e->answer;
}

void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
		   const struct dns_answer *a, uint64_t now_ms)
{
	if (c->max == 0 || a->status == DNS_TEMPFAIL)
		return;
	uint32_t ttl = a->ttl < c->max_ttl_s ? a->ttl : c->max_ttl_s;
	if (ttl == 0)
		return;
	char *norm = norm_name(name);
	uint32_t h = hash_of(norm, type);
	struct entry *old = find(c, norm, type, h);
	if (old != NULL)
		entry_remove(c, old);
	while (c->count >= c->max && c->tail != NULL)
		entry_remove(c, c->tail);
	struct entry *e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->type = type;
	e->name = norm;
	e->answer = dns_answer_dup(a);
	e->expires_ms = now_ms + (uint64_t)ttl * 1000u;
	struct entry **b = &c->buckets[h & (c->n_buckets - 1)];
	e->hnext = *b;
	*b = e;
	lru_push_front(c, e);
	c->count++;
}

unsigned dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}
