/* Reconciliation of a Maildir with the index (internal to storage/): files
 * other programs added (adopted with a UID, keeping U= when it is still
 * unused and >= UIDNEXT), files that vanished (expunged with a tombstone),
 * names whose flags differ from the index (renamed back: the index is
 * authoritative for flags), and whole mailbox directories created or removed
 * behind our back. */
#ifndef LOFT_STORAGE_RECONCILE_H
#define LOFT_STORAGE_RECONCILE_H

#include <stdbool.h>

#include "storage/index.h"

struct wtxn;

/* Inside a writer op (w->txn): reconcile mailbox `name` if its cur/new
 * stamps differ from the index. A mailbox unknown to the index is not an
 * error (returns 0). */
int reconcile_if_changed(struct wtxn *w, const char *name);
/* True when <dir>/new holds a message file: we never leave files there, so
 * this is an external delivery even if the directory stamps look unchanged
 * (mtime granularity is a clock tick). */
bool reconcile_new_pending(const char *dir);
/* Full reconcile of one mailbox whose record is *mb (written back). */
int reconcile_mailbox(struct wtxn *w, struct idx_mbox *mb, const char *dir);

#endif
