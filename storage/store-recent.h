/* \Recent claims kept in memory per user environment (internal to
 * storage/): which UIDs a read-write view of this process claimed, per
 * mailbox, written to the mailbox records lazily with the next commit of the
 * user (or when the environment is closed), never in a commit of their own.
 * \Recent is a hint: a crash forgets the claims made since that commit. */
#ifndef LOFT_STORAGE_STORE_RECENT_H
#define LOFT_STORAGE_STORE_RECENT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_user;

struct store_recent_mark {
	uint32_t mbox_id, uidvalidity;
	uint32_t uid;               /* claimed below this UID */
	bool dirty;                 /* not yet written to the record */
};

/* Claim \Recent for the messages of a mailbox that no view claimed:
 * *uids_r (heap, ascending) gets them; atomic within this process. */
int store_recent_claim(struct store_user *u, uint32_t mbox_id, uint32_t uidvalidity,
		       uint32_t **uids_r, size_t *n_r);
/* The UID below which this process has claimed \Recent in a mailbox: the
 * larger of the record's recent_uid (given) and the in-memory claim. */
uint32_t store_recent_boundary(struct store_user *u, uint32_t mbox_id, uint32_t uidvalidity,
			       uint32_t record_uid);
/* Writer: write dirty claims into the records inside the batch's txn. */
void store_recent_flush(struct store_user *u, MDB_txn *txn);
/* At environment close: write dirty claims in a txn of their own, without
 * fsync (nothing else will commit for them). */
void store_recent_close(struct store_user *u);

#endif
