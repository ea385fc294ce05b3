/* CONDSTORE/QRESYNC resynchronisation (RFC 7162 3.1.4.1, 3.2.5, 3.2.6):
 * what changed in the selected mailbox since a client's MODSEQ, limited to
 * the UIDs it asks about, for SELECT (QRESYNC ...), FETCH (CHANGEDSINCE)
 * and UID FETCH (CHANGEDSINCE n VANISHED). Changed messages and expunges
 * come from the store's MODSEQ and tombstone tables (store_changes_since),
 * so the cost follows the changes, not the mailbox. When the tombstones a
 * client's MODSEQ needs were pruned (retention, pruned_modseq), VANISHED
 * is computed from the UIDs the client says it knows (known-uids, narrowed
 * by seq-match-data) minus the view: never missing an expunge, at worst
 * naming UIDs the client already forgot, as RFC 7162 3.2.5.2 allows.
 *
 * Threads: parsing on the loop; imap_qresync_compute on the storage pool
 * while the command holds the session (it reads the view). */
#ifndef LOFT_IMAP_QRESYNC_H
#define LOFT_IMAP_QRESYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "server/imap/seqset.h"
#include "storage/store.h"

struct imap_arg;
struct imap_outbuf;

/* "(uidvalidity modseq [known-uids [(seq-set uid-set)]])" of SELECT. */
struct imap_qresync_req {
	uint32_t uidvalidity;
	uint64_t modseq;
	bool has_known;
	struct imap_seqset known;      /* "*" is read as the view's last UID */
	bool has_match;
	struct imap_seqset match_seq, match_uid;
};

/* Parse the QRESYNC parameter list (the list after the word QRESYNC).
 * 0, or -1 with a static reason for BAD. */
int imap_qresync_parse(const struct imap_arg *list, struct imap_qresync_req *req,
		       const char **why_r);
void imap_qresync_req_free(struct imap_qresync_req *req);

/* A parsed set as sorted, merged UID ranges; "*" stands for star. */
void imap_qresync_uid_ranges(const struct imap_seqset *set, uint32_t star,
			     struct store_uid_set *out);

/* The highest UID below which the client's seq-match-data agrees with the
 * view (RFC 7162 3.2.5.2): pairs are compared in order up to the first
 * that does not match. 0 when none matches. */
uint32_t imap_qresync_match_floor(const struct store_view *view, const struct imap_seqset *seqs,
				  const struct imap_seqset *uids);

struct imap_qresync_result {
	struct store_uid_set vanished; /* not in the view, expunged since */
	struct store_uid_set changed;  /* in the view, MODSEQ > since */
	bool pruned;                   /* answered from known UIDs */
};

/* Pool thread. Messages of the view with MODSEQ > since among within
 * (NULL: all), and when want_vanished the UIDs among within_vanished
 * (NULL: all below the view's UIDNEXT) expunged since that MODSEQ and no
 * longer in the view. When the mailbox's pruned_modseq (read from the
 * store after the tombstones) is above since, VANISHED is every such UID
 * above floor that the view does not hold. */
int imap_qresync_compute(struct store_user *user, const char *name, struct store_mailbox *mbox,
			 const struct store_view *view, uint64_t since,
			 const struct store_uid_set *within, bool want_vanished,
			 const struct store_uid_set *within_vanished, uint32_t floor,
			 struct imap_qresync_result *res);
void imap_qresync_result_free(struct imap_qresync_result *res);

/* "* VANISHED [(EARLIER) ]<set>\r\n", split into several responses of at
 * most a few thousand ranges each; nothing for an empty set. */
void imap_qresync_write_vanished(struct imap_outbuf *out, const struct store_uid_set *set,
				 bool earlier);

#endif
