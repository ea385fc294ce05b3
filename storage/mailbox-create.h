/* Mailbox creation helpers shared by the ops of storage/ (internal): create a
 * mailbox (and its missing parents) inside a writer op, and the
 * <mailbox>/loft-uidvalidity file that keeps UIDVALIDITY across rebuilds. */
#ifndef LOFT_STORAGE_MAILBOX_CREATE_H
#define LOFT_STORAGE_MAILBOX_CREATE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/index.h"

struct wtxn;

/* Create one mailbox (its parent must exist) in the op's txn, making its
 * directory; an existing directory is adopted (its loft-uidvalidity kept,
 * stamps left 0 so its files are reconciled on next access). */
int store_mbox_create_one(struct wtxn *w, const char *name, uint32_t special_use,
			  struct idx_mbox *mb_r);
/* Create name and any missing parent. exist_ok: an existing name is not an
 * error (*mb_r gets it). */
int store_mbox_create_path(struct wtxn *w, const char *name, uint32_t special_use, bool exist_ok,
			   struct idx_mbox *mb_r);
/* <dir>/loft-uidvalidity: read returns 0 or -errno; write is atomic+fsynced. */
int store_uidvalidity_read(const char *dir, uint32_t *uidvalidity_r);
int store_uidvalidity_write(const char *dir, uint32_t uidvalidity);

#endif
