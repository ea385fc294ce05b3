/* Internal to server/dns/: the answer cache the resolver keeps (pure code,
 * unit-tested with its own clock). */
#ifndef LOFT_DNS_PRIVATE_H
#define LOFT_DNS_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/dns/dns.h"

/* A bounded map (lower-cased name, type) -> answer, least recently used
 * answers evicted first, each kept for min(its TTL, max_ttl_s) seconds.
 * TEMPFAIL answers and TTL 0 are never kept. max_entries 0: keeps nothing. */
struct dns_cache;
struct dns_cache *dns_cache_new(unsigned max_entries, unsigned max_ttl_s);
void dns_cache_free(struct dns_cache **c);
/* Borrowed until the next put or free. NULL when absent or expired. */
const struct dns_answer *dns_cache_get(struct dns_cache *c, const char *name,
				       enum dns_type type, uint64_t now_ms);
/* Copies a. */
void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
		   const struct dns_answer *a, uint64_t now_ms);
unsigned dns_cache_count(const struct dns_cache *c);

/* No query pending and nothing left inside c-ares (no libuv handle). */
bool dns_resolver_idle(const struct dns_resolver *r);

#endif
