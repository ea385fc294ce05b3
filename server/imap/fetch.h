/* The FETCH engine: serves a parsed item list (fetch-items.h) for a set of
 * UIDs of the selected view, as "* n FETCH (...)" responses written in
 * pages. Each page is produced by one job on the storage pool (index
 * records in one read transaction, message bytes through a store_reader,
 * \Seen set in batches for non-PEEK body items) and written on the loop;
 * when the connection's output is over its limit the next page waits for
 * it to drain, so a client that stops reading holds at most one page
 * (IMAP_FETCH_PAGE) beyond max_output_buffer, whatever the message size.
 * FETCH, UID FETCH and the unsolicited FETCH FLAGS of an update use it.
 *
 * Items that need the MIME structure (ENVELOPE, BODY[STRUCTURE], PREVIEW,
 * BINARY[.SIZE], sections with part numbers) load the message's struct
 * msg_info once per message with store_msg_info (the cache written at
 * append time); literal items are resolved and streamed by
 * fetch-section.c, all on the pool thread of the page being written. */
#ifndef LOFT_IMAP_FETCH_H
#define LOFT_IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "server/imap/fetch-items.h"
#include "server/imap/session.h"
#include "storage/store.h"

/* Output produced per pool job. */
#define IMAP_FETCH_PAGE (128u * 1024u)

struct imap_fetch;
struct imap_outbuf;

struct imap_fetch_result {
	uint64_t sent;            /* messages answered */
	uint64_t missing;         /* messages of the set expunged meanwhile */
};

/* err: 0, a store error (tagged NO), IMAP_FETCH_EUNKNOWN_CTE
 * (fetch-section.h: tagged NO [UNKNOWN-CTE]) or IMAP_SEL_GONE (session
 * gone). */
typedef void imap_fetch_done_fn(struct imap_session *s, int err, void *arg);

/* Start serving spec (borrowed until done runs) for the UIDs in *set
 * (taken; they must be UIDs of the view, as imap_seqset_resolve gives).
 * The session holds its command; res (optional) is filled before done. */
void imap_fetch_start(struct imap_session *s, const struct imap_fetch_spec *spec,
		      struct store_uid_set *set, struct imap_fetch_result *res,
		      imap_fetch_done_fn *done, void *arg);

/* "INTERNALDATE" value: "dd-Mon-yyyy hh:mm:ss +0000" with quotes. */
void imap_fetch_write_date(struct imap_outbuf *out, int64_t when);

#endif
