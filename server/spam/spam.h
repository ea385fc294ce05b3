/* Spam filtering at delivery through rspamd: what the delivery code (SMTP
 * and LMTP sessions) hands over about a message, and what it gets back.
 *
 *   delivery                         server/spam
 *   --------                         -----------
 *   spam_scan_begin(core, proto, env, size, done, arg)   (after DATA/BDAT
 *        starts, or spam_scan_file() from the spool)
 *   spam_scan_feed() each chunk as it arrives; spam_scan_on_room() when
 *        it takes less (stop reading the client until then)
 *   spam_scan_end()                   -> done(arg, decision) on the loop
 *   answer decision->reply (550/451) or deliver: prepend
 *        decision->headers, file into \Junk when decision->junk
 *        (spam_junk_mailbox() on a pool thread), pass decision->store
 *        as store_append_meta.spam
 *   spam_scan_abort() from the session's destroy or on RSET
 *
 * Scanning runs on the session's own loop (server/spam/client.c); a
 * connection pool of kept-alive rspamd connections is kept per worker.
 * Nothing here connects anywhere but the configured rspamd address or
 * socket, and only to ask about a message or to teach it (learn.h). */
#ifndef LOFT_SPAM_SPAM_H
#define LOFT_SPAM_SPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "server/spam/client.h"
#include "server/spam/result.h"
#include "storage/store.h"

struct sess_core;
struct spam_pool;

/* One DKIM signature's result (RFC 8601 words: pass, fail, neutral, none,
 * temperror, permerror, policy) and its d= domain. */
struct spam_dkim {
	const char *result;
	const char *domain;
};

/* What the sender-authentication checks found (NULL/0: not checked; rspamd
 * then checks for itself where its modules allow). Words are RFC 8601
 * result values; dmarc_policy is the published p= (none, quarantine,
 * reject) for a failing DMARC result. */
struct spam_auth {
	const char *spf;
	const struct spam_dkim *dkim;
	size_t n_dkim;
	const char *dmarc;
	const char *dmarc_policy;
};

/* The envelope of one message, as the session saw it. Strings are
 * borrowed for the call of spam_scan_begin/spam_scan_file only. */
struct spam_envelope {
	const char *client_ip;       /* textual IP of the SMTP client */
	const char *client_name;     /* its verified host name, or NULL */
	const char *helo;            /* EHLO/HELO/LHLO argument */
	const char *mail_from;       /* reverse path without <>, "" = null */
	const char *const *rcpts;    /* forward paths without <> */
	size_t n_rcpts;
	const char *auth_user;       /* SMTP AUTH user, or NULL */
	const char *queue_id;        /* the session's id for this message */
	const char *deliver_to;      /* the one local user, for per-user
				      * statistics; NULL when several */
	const struct spam_auth *auth; /* NULL = none passed */
};

/* The rspamd request header lines ("Name: value\r\n" ..., heap) for env:
 * IP, Hostname, Helo, From, one Rcpt per recipient, User, Queue-Id,
 * Deliver-To, and the SPF/DKIM/DMARC results as rspamd's http_headers
 * module reads them (JSON in the SPF, DKIM and DMARC request headers).
 * Control characters are dropped and every value is cut to 512 bytes, so
 * no envelope value can end a header early. */
char *spam_request_headers(const struct spam_envelope *env);

enum spam_outcome {
	SPAM_DELIVER,     /* deliver (maybe into Junk, with headers) */
	SPAM_REJECT,      /* answer reply (550 5.7.1), deliver nothing */
	SPAM_TEMPFAIL,    /* answer reply (451 4.7.1), deliver nothing */
};

/* What to do with one message. */
struct spam_decision {
	enum spam_outcome outcome;
	bool junk;                   /* deliver into the \Junk mailbox */
	bool scanned;                /* rspamd answered */
	char reply[256];             /* the SMTP/LMTP reply line without CRLF,
				      * for REJECT and TEMPFAIL */
	char *headers;               /* header lines to prepend (CRLF, folded),
				      * heap, NULL = none; owned by the
				      * decision (spam_decision_clear) */
	struct store_spam store;     /* pass as store_append_meta.spam */
	enum spam_action action;     /* rspamd's action (NONE when unscanned) */
	double score, required;
	enum spam_fail fail;         /* why rspamd was not asked, if not */
	uint64_t elapsed_ms;
};
void spam_decision_clear(struct spam_decision *d);

/* The [spam] settings a decision follows (enum conf_spam_handling each),
 * copied out of the configuration so a scan does not depend on the
 * connection's configuration snapshot staying alive. */
struct spam_policy {
	int on_failure, reject, soft_reject, greylist, add_header, rewrite_subject;
	bool result_header;
};
void spam_policy_from_config(const struct loft_config *cfg, struct spam_policy *p_r);

/* From rspamd's reply (or its failure) and the policy: the outcome, the
 * headers and the record to keep. can_reject: the session can still
 * refuse the message (SMTP before its 250); LMTP turns a reject into junk.
 * Pure: logs nothing, counts nothing. */
void spam_decide(const struct spam_policy *pol, const struct spam_reply *reply,
		 bool can_reject, struct spam_decision *d_r);

/* Sieve (RFC 3685) for a stored verdict: spamtest 0 (not tested), 1 (not
 * spam) .. 10 (spam), from score against the reject threshold; and the
 * spamtestplus percentage 0..100 (-1: not tested). */
int spam_sieve_spamtest(const struct store_spam *s);
int spam_sieve_percent(const struct store_spam *s);

/* ---- scanning a message ---- */

struct spam_scan;
/* Runs on the session's loop once rspamd answered or failed. d is valid
 * during the call only (take d->headers by setting it to NULL to keep it);
 * the scan is freed after it returns. Check sess_alive() of the session:
 * the client may have gone. */
typedef void spam_scan_done_fn(void *arg, struct spam_decision *d);

/* Whether messages arriving on proto are scanned under cfg. */
bool spam_scan_wanted(const struct loft_config *cfg, enum conf_proto proto);

/* Start scanning a message that will be fed as it arrives (size -1 when
 * unknown: sent chunked). Uses the worker's pool of rspamd connections.
 * NULL when spam_scan_wanted() is false. Loop thread of core. */
struct spam_scan *spam_scan_begin(struct sess_core *core, enum conf_proto proto,
				  const struct spam_envelope *env, int64_t size,
				  spam_scan_done_fn *done, void *arg);
/* The same on a given pool and configuration (tools, tests, benchmarks);
 * cfg is read during the call only. */
struct spam_scan *spam_scan_begin_on(struct spam_pool *pool, const struct loft_config *cfg,
				     enum conf_proto proto, const struct spam_envelope *env,
				     int64_t size, spam_scan_done_fn *done, void *arg);
/* Take up to len bytes; returns how many were taken (less: wait for
 * on_room, then feed the rest). */
size_t spam_scan_feed(struct spam_scan *s, const void *data, size_t len);
void spam_scan_on_room(struct spam_scan *s, void (*on_room)(void *arg), void *arg);
/* The message is complete: done() follows. */
void spam_scan_end(struct spam_scan *s);
/* Scan a spooled message from fd (read with libuv's file requests, never
 * on the loop thread; fd stays the caller's and must stay open until
 * done() or abort): begin, feed, end in one call. */
struct spam_scan *spam_scan_file(struct sess_core *core, enum conf_proto proto,
				 const struct spam_envelope *env, int fd, uint64_t size,
				 spam_scan_done_fn *done, void *arg);
struct spam_scan *spam_scan_file_on(struct spam_pool *pool, const struct loft_config *cfg,
				    enum conf_proto proto, const struct spam_envelope *env,
				    int fd, uint64_t size, spam_scan_done_fn *done, void *arg);
/* Forget the scan (RSET, the session is being freed): done() never runs. */
void spam_scan_abort(struct spam_scan **s);

/* The worker's pool of kept-alive rspamd connections, made on first use
 * (worker-ext.h closes it at shutdown). Loop thread of core. */
struct spam_pool *spam_worker_pool(struct sess_core *core);

/* The mailbox a spam message goes to: the user's first mailbox with the
 * \Junk special use, else INBOX (the X-Spam header still marks it).
 * *name_r is heap. Store calls: a pool thread, never the loop. */
int spam_junk_mailbox(struct store_user *user, char **name_r);

#endif
