/* The one set of rules that pairs a mailbox's Maildir files with its index
 * records (internal to storage/), shared by reconcile (repair inside a
 * writer op), check (report only) and rebuild (recover from an old index).
 * A record owns the first unclaimed file with its base; a record whose base
 * has no file is lost; files no record claimed are strays, offered in adopt
 * order (U= ascending first, then by mtime and name), each marked dup when
 * its base already belongs to a record or an earlier stray. */
#ifndef LOFT_STORAGE_MATCH_H
#define LOFT_STORAGE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/index.h"
#include "storage/maildir.h"

struct match_ops {
	/* Record m owns file e. Called while the record iterator is open:
	 * must not write the message table (collect, then write in stray or
	 * after match_mailbox returns). NULL = ignore. */
	int (*pair)(void *ctx, const struct idx_msg *m, struct maildir_entry *e);
	/* Record m has no file (same rule as pair). NULL = ignore. */
	int (*lost)(void *ctx, const struct idx_msg *m);
	/* File e that no record owns, after the iteration: writes allowed.
	 * NULL = ignore. */
	int (*stray)(void *ctx, struct maildir_entry *e, bool dup);
};

/* Sorts ents (by base) in place and matches them with the records of
 * mailbox mbox_id read through txn. A non-zero callback return stops the
 * match and is returned; otherwise 0 or a store_error. */
int match_mailbox(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, struct maildir_entry *ents,
		  size_t n, const struct match_ops *ops, void *ctx);

/* qsort comparator of struct maildir_entry pointers in adopt order. */
int match_adopt_cmp(const void *a, const void *b);

#endif
