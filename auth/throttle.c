/* Failed-login counters in two fixed-size, sharded, 8-way set-associative
 * tables (source networks and user names), the exponential delay and the
 * refusal window computed from them, and SipHash-2-4 keying so clients
 * cannot choose colliding keys. See throttle.h for the policy. */
#include "auth/throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "auth/password-schemes.h"
#include "lib/xmem.h"

#define SHARDS 64
#define WAYS 8
#define KEY_MAX 300

struct entry {
	uint64_t key;             /* 0 = empty */
	uint64_t last_ms;         /* last failure */
	uint64_t blocked_until;   /* refusing until this time */
	uint32_t fails;
	uint32_t pad;
};

struct shard {
	pthread_mutex_t lock;
	struct entry *sets;       /* n_sets * WAYS */
} __attribute__((aligned(64)));

struct table {
	struct shard shards[SHARDS];
	size_t n_sets;            /* per shard */
};

struct throttle {
	struct throttle_settings s;
	uint64_t k0, k1;          /* SipHash key */
	struct table addrs, users;
};

void throttle_settings_default(struct throttle_settings *s_r)
{
	*s_r = (struct throttle_settings){
		.delay_base_ms = 1000, .delay_max_ms = 15000,
		.addr_limit = 20, .user_limit = 10,
		.block_ms = 15 * 60 * 1000, .forget_ms = 15 * 60 * 1000,
		.ipv4_prefix = 32, .ipv6_prefix = 64, .entries = 65536,
	};
}

uint64_t throttle_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein), 64-bit output ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- keys ---- */

static void mask(unsigned char *bytes, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= prefix)
			bytes[i] = 0;
		else if (prefix - bit < 8)
			bytes[i] &= (unsigned char)(0xff << (8 - (prefix - bit)));
	}
}

static uint64_t addr_key(const struct throttle *t, const char *addr)
{
	unsigned char buf[KEY_MAX];
	size_t len;
	unsigned char a6[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (inet_pton(AF_INET, addr, buf + 1) == 1) {
		buf[0] = 4;
		mask(buf + 1, 4, t->s.ipv4_prefix);
		len = 5;
	} else if (inet_pton(AF_INET6, addr, a6) == 1) {
		if (memcmp(a6, mapped, 12) == 0) {   /* ::ffff:192.0.2.1 is IPv4 */
			buf[0] = 4;
			memcpy(buf + 1, a6 + 12, 4);
			mask(buf + 1, 4, t->s.ipv4_prefix);
			len = 5;
		} else {
			buf[0] = 6;
			memcpy(buf + 1, a6, 16);
			mask(buf + 1, 16, t->s.ipv6_prefix);
			len = 17;
		}
	} else {
		buf[0] = 's';
		len = strnlen(addr, KEY_MAX - 1);
		memcpy(buf + 1, addr, len);
		len++;
	}
	uint64_t h = siphash(t->k0, t->k1, buf, len);
	return h != 0 ? h : 1;
}

static uint64_t user_key(const struct throttle *t, const char *user)
{
	size_t len = strnlen(user, KEY_MAX);
	uint64_t h = siphash(t->k1, t->k0, (const unsigned char *)user, len);
	return h != 0 ? h : 1;
}

/* ---- tables ---- */

static void table_init(struct table *tb, unsigned entries)
{
	size_t per_shard = ((size_t)entries + SHARDS - 1) / SHARDS;
	tb->n_sets = (per_shard + WAYS - 1) / WAYS;
	if (tb->n_sets == 0)
		tb->n_sets = 1;
	for (size_t i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&tb->shards[i].lock, NULL);
		tb->shards[i].sets = xcalloc(tb->n_sets * WAYS, sizeof(struct entry));
	}
}

static void table_free(struct table *tb)
{
	for (size_t i = 0; i < SHARDS; i++) {
		pthread_mutex_destroy(&tb->shards[i].lock);
		free(tb->shards[i].sets);
	}
}

/* The shard of key, locked, and its set. */
static struct entry *set_lock(struct table *tb, uint64_t key, struct shard **shard_r)
{
	struct shard *sh = &tb->shards[key % SHARDS];
	pthread_mutex_lock(&sh->lock);
	*shard_r = sh;
	return &sh->sets[((key / SHARDS) % tb->n_sets) * WAYS];
}

static bool forgotten(const struct throttle *t, const struct entry *e, uint64_t now)
{
	return e->key == 0 ||
	       (e->blocked_until <= now && now >= e->last_ms &&
		now - e->last_ms >= t->s.forget_ms);
}

static struct entry *find(struct entry *set, uint64_t key)
{
	for (int i = 0; i < WAYS; i++)
		if (set[i].key == key)
			return &set[i];
	return NULL;
}

/* A slot for a new key: an empty or forgotten one, else the least
 * interesting: not refusing before refusing, fewest failures, oldest. */
static struct entry *victim(const struct throttle *t, struct entry *set, uint64_t now)
{
	struct entry *best = &set[0];
	for (int i = 0; i < WAYS; i++) {
		struct entry *e = &set[i];
		if (forgotten(t, e, now))
			return e;
		bool eb = e->blocked_until > now, bb = best->blocked_until > now;
		if (eb != bb) {
			if (!eb)
				best = e;
		} else if (e->fails != best->fails ? e->fails < best->fails
						   : e->last_ms < best->last_ms) {
			best = e;
		}
	}
	return best;
}

/* Refusal time left for key, 0 if none. */
static unsigned check_one(struct throttle *t, struct table *tb, uint64_t key, uint64_t now)
{
	struct shard *sh;
	struct entry *e = find(set_lock(tb, key, &sh), key);
	unsigned left = 0;
	if (e != NULL && e->blocked_until > now)
		left = (unsigned)(e->blocked_until - now);
	pthread_mutex_unlock(&sh->lock);
	return left;
}

/* Count a failure for key; returns its failure count now. */
static uint32_t fail_one(struct throttle *t, struct table *tb, uint64_t key, unsigned limit,
			 uint64_t now)
{
	struct shard *sh;
	struct entry *set = set_lock(tb, key, &sh);
	struct entry *e = find(set, key);
	if (e != NULL && forgotten(t, e, now))
		e->fails = 0;
	if (e == NULL) {
		e = victim(t, set, now);
		*e = (struct entry){ .key = key };
	}
	if (e->fails < UINT32_MAX)
		e->fails++;
	e->last_ms = now;
	if (limit != 0 && e->fails >= limit && e->blocked_until <= now)
		e->blocked_until = now + t->s.block_ms;
	uint32_t fails = e->fails;
	pthread_mutex_unlock(&sh->lock);
	return fails;
}

static void clear_one(struct table *tb, uint64_t key)
{
	struct shard *sh;
	struct entry *e = find(set_lock(tb, key, &sh), key);
	if (e != NULL)
		*e = (struct entry){ 0 };
	pthread_mutex_unlock(&sh->lock);
}

/* ---- API ---- */

struct throttle *throttle_create(const struct throttle_settings *settings)
{
	struct throttle *t = xcalloc(1, sizeof(*t));
	t->s = *settings;
	if (t->s.ipv4_prefix == 0 || t->s.ipv4_prefix > 32)
		t->s.ipv4_prefix = 32;
	if (t->s.ipv6_prefix == 0 || t->s.ipv6_prefix > 128)
		t->s.ipv6_prefix = 64;
	uint64_t k[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };
	(void)pw_random_bytes(k, sizeof(k));
	t->k0 = k[0];
	t->k1 = k[1];
	table_init(&t->addrs, t->s.entries);
	table_init(&t->users, t->s.entries);
	return t;
}

void throttle_free(struct throttle **tp)
{
	struct throttle *t = *tp;
	if (t == NULL)
		return;
	table_free(&t->addrs);
	table_free(&t->users);
	free(t);
	*tp = NULL;
}

int throttle_check(struct throttle *t, const char *addr, const char *user, uint64_t now_ms,
		   unsigned *retry_ms_r)
{
	unsigned a = addr != NULL ? check_one(t, &t->addrs, addr_key(t, addr), now_ms) : 0;
	unsigned u = user != NULL ? check_one(t, &t->users, user_key(t, user), now_ms) : 0;
	unsigned left = a > u ? a : u;
	if (retry_ms_r != NULL)
		*retry_ms_r = left;
	return left > 0 ? -1 : 0;
}

unsigned throttle_failure(struct throttle *t, const char *addr, const char *user,
			  uint64_t now_ms)
{
	uint32_t fa = addr != NULL ? fail_one(t, &t->addrs, addr_key(t, addr),
					      t->s.addr_limit, now_ms) : 0;
	uint32_t fu = user != NULL ? fail_one(t, &t->users, user_key(t, user),
					      t->s.user_limit, now_ms) : 0;
	uint32_t fails = fa > fu ? fa : fu;
	if (fails == 0 || t->s.delay_base_ms == 0)
		return 0;
	uint64_t delay = t->s.delay_base_ms;
	for (uint32_t i = 1; i < fails && delay < t->s.delay_max_ms; i++)
		delay *= 2;
	return delay > t->s.delay_max_ms ? t->s.delay_max_ms : (unsigned)delay;
}

void throttle_success(struct throttle *t, const char *addr, const char *user)
{
	if (addr != NULL)
		clear_one(&t->addrs, addr_key(t, addr));
	if (user != NULL)
		clear_one(&t->users, user_key(t, user));
}

size_t throttle_memory(const struct throttle *t)
{
	return sizeof(*t) + 2 * SHARDS * t->addrs.n_sets * WAYS * sizeof(struct entry);
}

static size_t table_used(struct throttle *t, struct table *tb, uint64_t now)
{
	size_t n = 0;
	for (size_t s = 0; s < SHARDS; s++) {
		pthread_mutex_lock(&tb->shards[s].lock);
		for (size_t i = 0; i < tb->n_sets * WAYS; i++)
			if (!forgotten(t, &tb->shards[s].sets[i], now))
				n++;
		pthread_mutex_unlock(&tb->shards[s].lock);
	}
	return n;
}

size_t throttle_used(struct throttle *t, uint64_t now_ms)
{
	return table_used(t, &t->addrs, now_ms) + table_used(t, &t->users, now_ms);
}
