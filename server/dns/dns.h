/* DNS answers and the asynchronous resolver of a worker loop. The sender
 * checks (server/mailauth/) ask for TXT, A, AAAA, MX and PTR records; the
 * resolver sends the queries with c-ares on the loop that asks (sockets
 * polled with uv_poll, one uv_timer), keeps a small cache that honours TTLs,
 * and bounds every query by its own deadline, so a silent DNS server makes
 * a temporary failure, never a stalled session.
 *
 * Answers are plain data (one allocation each, see dns_answer_free); the
 * code that reads them (SPF, DKIM, DMARC, DNSBL) needs nothing else from
 * this header, so it is tested with fake answers.
 *
 * Threads: a resolver belongs to the loop it was made on and every call is
 * for that loop's thread. dns_loop_resolver() keeps one per loop thread. */
#ifndef LOFT_DNS_DNS_H
#define LOFT_DNS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

struct uv_loop_s;

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};
const char *dns_type_name(enum dns_type t);

/* What a lookup found. */
enum dns_status {
	DNS_ANSWER = 0,   /* n >= 1 records of the type asked */
	DNS_NXDOMAIN,     /* the name does not exist (RCODE 3) */
	DNS_NODATA,       /* the name exists, no record of that type */
	DNS_TEMPFAIL,     /* SERVFAIL, REFUSED, timeout, bad reply: try later */
};
const char *dns_status_name(enum dns_status s);

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		struct {
			uint16_t pref;
			const char *host;   /* lower case, no trailing dot */
		} mx;
		const char *name;           /* PTR target, lower case, no trailing dot */
		struct {
			const char *data;   /* the strings concatenated (RFC 7208 3.3,
					     * RFC 6376 3.6.2.2), NUL-terminated;
					     * may contain NUL bytes: use len */
			size_t len;
		} txt;
	} u;
};

/* One answer: a single allocation holding the records and their strings. */
struct dns_answer {
	enum dns_status status;
	enum dns_type type;      /* the type asked for */
	uint32_t ttl;            /* seconds it may be cached (0 = not cached) */
	const char *why;         /* DNS_TEMPFAIL: "timeout", "SERVFAIL", ...
				  * (static string); NULL otherwise */
	size_t n;
	struct dns_rr *rr;
};

/* Build an answer from records whose strings live anywhere (copied).
 * Caller frees with dns_answer_free. */
struct dns_answer *dns_answer_make(enum dns_status status, enum dns_type type, uint32_t ttl,
				   const char *why, const struct dns_rr *rr, size_t n);
struct dns_answer *dns_answer_dup(const struct dns_answer *a);
/* A record-less answer (NXDOMAIN, NODATA, TEMPFAIL with why). */
struct dns_answer *dns_answer_status(enum dns_status status, enum dns_type type,
				     const char *why);
void dns_answer_free(struct dns_answer **a);

/* ---- names ---- */

/* A name that may be sent in a query: 1..253 octets (a trailing dot
 * aside), labels of 1..63 octets. */
bool dns_name_valid(const char *name);
/* ASCII case-insensitive comparison ignoring one trailing dot. */
bool dns_name_eq(const char *a, const char *b);
/* The PTR query name of an address: family 4 (4 bytes) or 6 (16 bytes),
 * "4.3.2.1.in-addr.arpa" or the nibble form under ip6.arpa. out needs
 * DNS_REVERSE_MAX bytes. */
#define DNS_REVERSE_MAX 74
void dns_reverse_name(int family, const uint8_t *addr, char *out);

/* ---- wire format ---- */

/* Parse a reply to the question (qname, qtype): follows CNAME chains
 * inside the answer section, reads the negative TTL from the SOA of the
 * authority section (RFC 2308), maps RCODEs to a status. A reply that
 * does not parse is DNS_TEMPFAIL "bad reply". Never fails otherwise;
 * caller frees. Reads only buf[0..len). */
struct dns_answer *dns_msg_parse(const uint8_t *buf, size_t len, const char *qname,
				 enum dns_type qtype);

/* ---- the resolver ---- */

/* Settings [dns] (conf/settings.c). */
struct dns_config {
	char server[64];          /* "" = the servers of /etc/resolv.conf */
	uint16_t port;
	unsigned timeout_ms;      /* per try */
	unsigned retries;         /* tries after the first */
	unsigned cache_size;      /* answers kept; 0 = no cache */
	unsigned cache_max_ttl_s; /* cap on any TTL kept */
};
void dns_config_from(const struct loft_config *cfg, struct dns_config *out);
bool dns_config_same(const struct dns_config *a, const struct dns_config *b);

struct dns_resolver;
struct dns_query;

/* The answer is borrowed for the duration of the call. */
typedef void dns_cb(void *arg, const struct dns_answer *answer);

/* Loop thread. Returns 0 or LOFT_EINVAL/LOFT_EIO with a heap message in
 * *err_r. While no query is pending the resolver holds no libuv handle. */
int dns_resolver_new(struct uv_loop_s *loop, const struct dns_config *cfg,
		     struct dns_resolver **r_r, char **err_r);
/* Frees at once when idle; with queries pending their callbacks are not
 * called and the memory goes when c-ares has let go of them. */
void dns_resolver_free(struct dns_resolver **r);

/* Look up (name, type). A cached answer (or one that fails at once, e.g. an
 * invalid name) is returned in *now_r with return value 1; it stays valid
 * until the next call into the resolver. Otherwise returns 0, *q_r is the
 * pending query and cb runs later on the loop, exactly once, unless the
 * query is cancelled first. Every query ends within timeout * (retries+1). */
int dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type, dns_cb *cb,
	       void *arg, struct dns_query **q_r, const struct dns_answer **now_r);
/* Forget a pending query: its callback will not run. Sets *q to NULL. */
void dns_cancel(struct dns_query **q);

/* Counters for logs and tests. */
struct dns_stats {
	uint64_t queries;      /* sent to a server */
	uint64_t cache_hits;
	uint64_t timeouts;     /* ended by our deadline */
	unsigned pending;
	unsigned cached;       /* answers in the cache now */
	unsigned handles;      /* libuv handles open (poll + timer) */
};
void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *st);

/* The resolver of the calling loop thread, made on first use with cfg (a
 * configuration change makes a new one; the old one goes when idle). It
 * lives until the thread ends, or dns_loop_resolver_end() for a thread
 * that ends with exit() (tests). NULL with *err_r if c-ares failed. */
struct dns_resolver *dns_loop_resolver(struct uv_loop_s *loop, const struct dns_config *cfg,
				       char **err_r);
void dns_loop_resolver_end(void);

#endif
