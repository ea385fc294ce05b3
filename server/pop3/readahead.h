/* Read-ahead for RETR: whole small messages read and byte-stuffed on the
 * storage pool before the client asks for them, so that a RETR usually
 * finds its reply ready on the loop and costs no round trip to a pool
 * thread. Which messages: the RETRs a client pipelined (still unparsed in
 * the read buffer), else the messages that follow the last one retrieved
 * (clients fetch in order). One job reads several messages; the cache
 * holds at most pop3 read_ahead bytes per session, and only messages of at
 * most retr_chunk_size octets (larger ones are streamed by retr.c).
 *
 * Every storage job of a session goes through pop3_storage_submit(), which
 * holds it back while a read-ahead job runs: the store's mailbox view is
 * used by one pool thread at a time. Loop thread only. */
#ifndef LOFT_POP3_READAHEAD_H
#define LOFT_POP3_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/engine/session.h"

struct pop3_session;
struct pop3_readahead;

#define POP3_RA_MAX 32      /* messages asked for in one job */

struct pop3_readahead *pop3_ra_create(size_t budget, size_t max_msg);
void pop3_ra_free(struct pop3_readahead **ra);
/* Whether a message of that many octets can be read ahead at all. */
bool pop3_ra_eligible(const struct pop3_readahead *ra, uint64_t octets);
/* The ready reply body of message index i (stuffed, terminator included),
 * taken out of the cache (caller frees), or NULL. */
char *pop3_ra_take(struct pop3_readahead *ra, uint32_t i, size_t *len_r);
bool pop3_ra_has(const struct pop3_readahead *ra, uint32_t i);
bool pop3_ra_busy(const struct pop3_readahead *ra);
/* Messages ready in the cache. */
unsigned pop3_ra_count(const struct pop3_readahead *ra);
/* Start a job reading the messages of idx[] that are not cached (the
 * first always, the rest within the budget). When it is done the held
 * command's on_storage_idle runs, or a job pop3_storage_submit held back
 * is submitted. No-op while a job runs. */
void pop3_ra_start(struct pop3_session *s, const uint32_t *idx, unsigned n);
/* Submit a storage-pool job of the session, after any read-ahead job. */
void pop3_storage_submit(struct pop3_session *s, struct sess_job *job);

#endif
