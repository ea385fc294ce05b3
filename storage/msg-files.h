/* The file side of per-message changes inside writer ops (internal to
 * storage/), shared by every operation on messages: renaming a file to
 * its record's new name, retiring an expunged file, placing a copy or a
 * moved file, and applying a flag operation to a record. */
#ifndef LOFT_STORAGE_MSG_FILES_H
#define LOFT_STORAGE_MSG_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/index.h"

struct wtxn;

/* Rename a message file from its old record name to the new one; a stale
 * name is looked up by base. A missing file is left to reconcile. */
int msg_file_rename(struct wtxn *w, const char *dir, const struct idx_msg *old,
		    const struct idx_msg *m);
/* Move a message file out of cur/ into tmp/ (removed after the commit;
 * undone if the batch fails). A missing file is fine. */
int msg_file_retire(struct wtxn *w, const char *dir, const struct idx_msg *m);
/* Link (copy) or rename (move) the file of m in src_dir to nm's name in
 * dst_dir, undone if the batch fails. */
int msg_file_place(struct wtxn *w, bool move, const char *src_dir, const char *dst_dir,
		   const struct idx_msg *m, const struct idx_msg *nm);
/* Apply SET/ADD/REMOVE of system flags and keyword ids to a record;
 * STORE_EINVALID past STORE_MAX_KEYWORDS_PER_MSG. */
int msg_flags_apply(enum store_flags_op how, uint32_t flags, const uint16_t *ids, size_t n_ids,
		    struct idx_msg *m);
/* Same flags and keyword set. */
bool msg_flags_same(const struct idx_msg *a, const struct idx_msg *b);

#endif
