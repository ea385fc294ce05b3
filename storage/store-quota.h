/* Quota evaluation for the storage ops (internal): limits come from the
 * user's override in the index meta table or the store defaults; usage is the
 * sum of the mailbox counters in the same transaction. */
#ifndef LOFT_STORAGE_STORE_QUOTA_H
#define LOFT_STORAGE_STORE_QUOTA_H

#include <lmdb.h>
#include <stdint.h>

#include "storage/store.h"

struct wtxn;

int store_quota_read(struct store_user *user, MDB_txn *txn, struct store_quota *quota_r);
/* STORE_EQUOTA if adding would exceed a limit, inside a writer op. */
int store_quota_check(struct wtxn *w, uint64_t add_bytes, uint64_t add_messages);

#endif
