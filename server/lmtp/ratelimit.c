/* Token buckets per client network (see ratelimit.h). A token is 60000
 * units, so a limit of N a minute refills exactly N units a millisecond,
 * without rounding; a bucket starts full. */
#include "server/lmtp/ratelimit.h"

#include <pthread.h>
#include <string.h>

#include "lib/xmem.h"

#define SHARDS 64
#define TOKEN 60000ull

struct bucket {
	struct net_addr_key key;
	uint8_t kind;
	bool used;
	uint64_t units;          /* tokens * TOKEN */
	uint64_t last_ms;
};

struct shard {
	pthread_mutex_t lock;
	struct bucket *b;
};

struct smtp_rate {
	struct shard shards[SHARDS];
	unsigned per_shard;
};

struct smtp_rate *smtp_rate_create(unsigned slots)
{
	struct smtp_rate *r = xcalloc(1, sizeof(*r));
	r->per_shard = slots / SHARDS + 1;
	for (unsigned i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&r->shards[i].lock, NULL);
		r->shards[i].b = xcalloc(r->per_shard, sizeof(struct bucket));
	}
	return r;
}

void smtp_rate_free(struct smtp_rate **rp)
{
	struct smtp_rate *r = *rp;
	if (r == NULL)
		return;
	*rp = NULL;
	for (unsigned i = 0; i < SHARDS; i++) {
		pthread_mutex_destroy(&r->shards[i].lock);
		free(r->shards[i].b);
	}
	free(r);
}

static uint64_t key_hash(const struct net_addr_key *k, unsigned kind)
{
	uint64_t h = 1469598103934665603ull ^ kind;
	const uint8_t *p = (const uint8_t *)k;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static bool same(const struct bucket *b, const struct net_addr_key *key, unsigned kind)
{
	return b->used && b->kind == kind && net_addr_key_equal(&b->key, key);
}

bool smtp_rate_take(struct smtp_rate *r, const struct net_addr_key *key,
		    enum smtp_rate_kind kind, unsigned per_minute, uint64_t now_ms)
{
	if (per_minute == 0)
		return true;
	struct shard *sh = &r->shards[key_hash(key, kind) % SHARDS];
	uint64_t cap = (uint64_t)per_minute * TOKEN;
	pthread_mutex_lock(&sh->lock);
	struct bucket *b = NULL, *idle = &sh->b[0];
	for (unsigned i = 0; i < r->per_shard && b == NULL; i++) {
		struct bucket *c = &sh->b[i];
		if (same(c, key, kind))
			b = c;
		else if (!c->used || (idle->used && c->last_ms < idle->last_ms))
			idle = c;
	}
	if (b == NULL) {
		b = idle;
		memset(b, 0, sizeof(*b));
		b->key = *key;
		b->kind = (uint8_t)kind;
		b->used = true;
		b->units = cap;
		b->last_ms = now_ms;
	}
	/* refill: per_minute tokens per 60000 ms, per_minute units per ms */
	if (now_ms > b->last_ms) {
		uint64_t ms = now_ms - b->last_ms;
		uint64_t add = ms > 60000 ? cap : ms * per_minute;
		b->units = b->units + add > cap ? cap : b->units + add;
		b->last_ms = now_ms;
	}
	if (b->units > cap)
		b->units = cap;    /* the limit was lowered by a reload */
	bool ok = b->units >= TOKEN;
	if (ok)
		b->units -= TOKEN;
	pthread_mutex_unlock(&sh->lock);
	return ok;
}
