/* Sorting and threading of messages (RFC 5256 SORT and THREAD, RFC 5957
 * DISPLAYFROM/DISPLAYTO) without protocol syntax: a front end picks the
 * messages (usually a search result), the store gathers each message's
 * keys from the index and the cached parse (References from the message
 * header, for THREAD=REFERENCES only) in slices the caller drives, then
 * sorts or threads them in memory. Strings compare under i;unicode-casemap
 * (lib/casemap.h); ties go to the lower UID, which is the lower message
 * sequence number (RFC 5256 3).
 *
 * Threads: collecting reads the store (a pool thread); the pure functions
 * (base subject, building threads from given data) run anywhere.
 * Ownership: the caller frees what it creates (the *_free functions). */
#ifndef LOFT_STORAGE_SORT_H
#define LOFT_STORAGE_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/message/message.h"
#include "storage/store.h"

/* ---- base subject (RFC 5256 2.1) ---- */

/* The base subject of a raw Subject value (RFC 2047 words are decoded,
 * white space runs become one space, then the subj-trailer, subj-leader,
 * subj-blob and [fwd: ...] rules are applied until nothing changes).
 * Appended to out as UTF-8 (not casemapped). *reply_r (optional): whether
 * a reply or forward marker was removed (RFC 5256 4, step 5.B/C). */
void store_base_subject(const char *subject, size_t len, struct msg_buf *out, bool *reply_r);

/* ---- SORT ---- */

enum store_sort_key {
	STORE_SORT_ARRIVAL,      /* INTERNALDATE */
	STORE_SORT_CC,           /* mailbox (local part) of the first Cc */
	STORE_SORT_DATE,         /* Date: in UTC, else INTERNALDATE */
	STORE_SORT_FROM,
	STORE_SORT_SIZE,         /* RFC822.SIZE */
	STORE_SORT_SUBJECT,      /* base subject */
	STORE_SORT_TO,
	STORE_SORT_DISPLAYFROM,  /* display name of the first From, else its
				  * addr-spec (RFC 5957) */
	STORE_SORT_DISPLAYTO,
};
struct store_sort_crit {
	enum store_sort_key key;
	bool reverse;
};

struct store_sort;
struct store_sort *store_sort_new(struct store_mailbox *mbox, const struct store_sort_crit *crit,
				  size_t n_crit);
/* Gather the keys of the messages with UIDs lo..hi that exist (one short
 * read transaction, then each message's cached parse when a key needs it).
 * Call in ascending UID order. Returns 0 or a store error. */
int store_sort_add(struct store_sort *s, uint32_t lo, uint32_t hi);
/* Sort what was added: the UIDs in order (heap, caller frees). The sort
 * stays usable for the calls below (RFC 5267 CONTEXT=SORT updates). */
void store_sort_finish(struct store_sort *s, uint32_t **uids_r, size_t *n_r);
/* After finish: put message uid in its place (keys gathered as by add);
 * *pos_r its 0-based position. STORE_ENOTFOUND when it is gone. */
int store_sort_insert(struct store_sort *s, uint32_t uid, size_t *pos_r);
/* After finish: take uid out; false when it is not there. */
bool store_sort_remove(struct store_sort *s, uint32_t uid, size_t *pos_r);
/* After finish: take out every message whose UID is in uids (one pass);
 * returns how many went. */
size_t store_sort_remove_set(struct store_sort *s, const struct store_uid_set *uids);
size_t store_sort_count(const struct store_sort *s);
uint32_t store_sort_uid(const struct store_sort *s, size_t pos);
void store_sort_free(struct store_sort **s);

/* ---- THREAD ---- */

enum store_thread_algo {
	STORE_THREAD_ORDEREDSUBJECT,
	STORE_THREAD_REFERENCES,
};

/* A thread tree: uid 0 is a dummy (a message the thread refers to that is
 * not in the set). Siblings in order. */
struct store_thread_node {
	uint32_t uid;
	struct store_thread_node *child, *next;
};

/* What threading needs of one message (for store_thread_build). Strings
 * are borrowed; msgid is the Message-ID without its angle brackets (NULL:
 * none); refs the References message ids, oldest first (or the In-Reply-To
 * one when there are none). */
struct store_thread_msg {
	uint32_t uid;
	int64_t date;                /* sent date, UTC (INTERNALDATE if none) */
	const char *subject;         /* base subject, casemapped */
	bool reply;                  /* the subject had a reply/forward marker */
	const char *msgid;
	const char *const *refs;
	size_t n_refs;
};
/* Thread msgs (in UID order) by algo: the root list (heap; free with
 * store_thread_free). */
struct store_thread_node *store_thread_build(const struct store_thread_msg *msgs, size_t n,
					     enum store_thread_algo algo);
void store_thread_free(struct store_thread_node **roots);

struct store_thread;
struct store_thread *store_thread_new(struct store_mailbox *mbox, enum store_thread_algo algo);
/* Gather what threading needs of the messages lo..hi (ascending). */
int store_thread_add(struct store_thread *t, uint32_t lo, uint32_t hi);
/* Build the threads of what was added. */
struct store_thread_node *store_thread_finish(struct store_thread *t);
void store_thread_collect_free(struct store_thread **t);

/* Message ids in a header value ("<a@b> <c@d>"), in order, without angle
 * brackets (heap strings, store_strv_free). */
void store_msgids_parse(const char *value, size_t len, char ***ids_r, size_t *n_r);

#endif
