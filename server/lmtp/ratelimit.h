/* Per client network rate limits of the SMTP listener (connections and
 * messages per minute), shared by all worker threads: one token bucket per
 * (network, kind) that holds a minute's worth of tokens and refills
 * continuously. The table has a fixed number of slots in 64 shards with a
 * mutex each; when a shard is full the bucket that has been idle longest
 * (and so is fullest) is reused, so a flood of addresses costs no memory
 * and forgets only the networks that were quiet. */
#ifndef LOFT_LMTP_RATELIMIT_H
#define LOFT_LMTP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "server/net/limits.h"

enum smtp_rate_kind {
	SMTP_RATE_CONNECTIONS = 0,
	SMTP_RATE_MESSAGES = 1,
};

struct smtp_rate;

/* slots: buckets kept at once (rounded up to a multiple of 64). */
struct smtp_rate *smtp_rate_create(unsigned slots);
void smtp_rate_free(struct smtp_rate **rate);

/* Take one token of kind for key at now_ms (a monotonic clock) with
 * per_minute tokens a minute (0: no limit). Returns false when the bucket
 * is empty: the event is over the limit. Thread-safe. */
bool smtp_rate_take(struct smtp_rate *rate, const struct net_addr_key *key,
		    enum smtp_rate_kind kind, unsigned per_minute, uint64_t now_ms);

#endif
