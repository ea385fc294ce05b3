/* Internal to storage/: the spool object store-spool.c creates and
 * store-append.c links or copies into mailboxes (store_append_begin_spool). */
#ifndef LOFT_STORAGE_STORE_SPOOL_H
#define LOFT_STORAGE_STORE_SPOOL_H

#include <stdbool.h>

#include "storage/maildir.h"
#include "storage/store.h"

struct store_spool {
	struct store *store;
	struct maildir_tmp tmp;     /* <mail_dir>/.loft-spool/tmp/<base> */
	int error;                  /* sticky write error */
	uint64_t max_size;          /* 0 = no limit */
	bool synced;                /* store_spool_sync succeeded */
};

/* How long a spool file a crash left behind is kept (as Maildir tmp/). */
#define STORE_SPOOL_MAX_AGE (36 * 3600)

/* store_create / store_destroy. */
void store_spool_init(struct store *store);
void store_spool_deinit(struct store *store);

#endif
