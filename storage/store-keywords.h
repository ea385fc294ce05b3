/* Keyword names -> per-user keyword ids inside writer ops (internal):
 * validates names, allocates ids for new keywords and keeps the
 * <user dir>/loft-keywords file (ids 0..25 = Maildir letters a..z) in step. */
#ifndef LOFT_STORAGE_STORE_KEYWORDS_H
#define LOFT_STORAGE_STORE_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

struct wtxn;

/* Resolve (creating as needed) keyword names to sorted, de-duplicated ids.
 * STORE_EINVALID for an invalid name or more than STORE_MAX_KEYWORDS_PER_MSG. */
int store_keywords_resolve(struct wtxn *w, const char *const *names, size_t n, uint16_t *ids_r,
			   size_t *n_r);

#endif
