/* Brute-force throttling of logins. Failures are counted per source address
 * (IPv4 by a /ipv4_prefix, IPv6 by a /ipv6_prefix network, /64 by default)
 * and per user name. Each failure earns a growing delay (delay_base_ms
 * doubled per earlier failure, capped at delay_max_ms) that the caller waits
 * before it answers; after addr_limit / user_limit failures the address or
 * user is refused for block_ms. A success clears the address's and the
 * user's counts. Failures older than forget_ms are forgotten.
 *
 * The module only computes: it never sleeps. A front end waits for the
 * returned delay on a timer of its own loop. Thread-safe: the tables are
 * split into 64 shards with one mutex each, so workers rarely meet on a
 * lock. Memory is fixed at creation (`entries` slots per table, addresses
 * and users apart, 32 bytes a slot): a flood from random addresses or names
 * evicts the least interesting entries (forgotten ones, then those with
 * fewest failures, oldest first) and never grows the tables; entries that
 * are refusing are evicted last. Keys are hashed with SipHash under a random
 * key, so a client cannot aim at one set. */
#ifndef LOFT_AUTH_THROTTLE_H
#define LOFT_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct throttle_settings {
	unsigned delay_base_ms;   /* delay after the first failure; 0 = none */
	unsigned delay_max_ms;    /* cap on the delay */
	unsigned addr_limit;      /* failures from one network before refusal; 0 = never */
	unsigned user_limit;      /* failures for one user before refusal; 0 = never */
	unsigned block_ms;        /* how long a refusal lasts */
	unsigned forget_ms;       /* quiet time after which failures are forgotten */
	unsigned ipv4_prefix;     /* 1..32 */
	unsigned ipv6_prefix;     /* 1..128 */
	unsigned entries;         /* slots per table, rounded up to a multiple of 512 */
};

struct throttle;

/* Sensible defaults: 1 s doubling to 15 s, 20 failures per network and 10
 * per user within 15 minutes block for 15 minutes, /32 and /64, 65536
 * slots. */
void throttle_settings_default(struct throttle_settings *s_r);

struct throttle *throttle_create(const struct throttle_settings *settings);
void throttle_free(struct throttle **t);

/* Milliseconds of CLOCK_MONOTONIC, the clock the now_ms arguments use. */
uint64_t throttle_now_ms(void);

/* Before checking a password: 0 to go ahead, or -1 when addr or user is
 * being refused, with the time left in *retry_ms_r. addr is the client's
 * address as text ("192.0.2.1", "2001:db8::1"); anything else is keyed as
 * the text itself. user is the normalised name; either may be NULL. */
int throttle_check(struct throttle *t, const char *addr, const char *user, uint64_t now_ms,
		   unsigned *retry_ms_r);

/* Record a failed login; returns the delay (ms) to wait before answering. */
unsigned throttle_failure(struct throttle *t, const char *addr, const char *user,
			  uint64_t now_ms);

/* Record a successful login: the address's and the user's counts go. */
void throttle_success(struct throttle *t, const char *addr, const char *user);

/* Bytes the tables use (fixed at creation) and slots holding live
 * (unforgotten) entries right now: for tests and `loft` status. */
size_t throttle_memory(const struct throttle *t);
size_t throttle_used(struct throttle *t, uint64_t now_ms);

#endif
