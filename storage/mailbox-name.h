/* Mailbox names (internal to storage/): validation of API names and their
 * mapping to Maildir++ folder directories (modified UTF-7 for IMAP lives
 * in lib/mutf7.h). This is the wall that keeps a name from ever reaching
 * outside the user's directory.
 *
 * API names are UTF-8, components separated by '/'. On disk a mailbox is the
 * directory "." + components joined by '.', each component with '%' written
 * as "%25", '.' as "%2E" and any byte < 0x20 refused; INBOX is the user
 * directory itself. Example: "Work/v1.2" -> ".Work.v1%2E2". */
#ifndef LOFT_STORAGE_MAILBOX_NAME_H
#define LOFT_STORAGE_MAILBOX_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define MAILBOX_NAME_MAX 1024          /* bytes, whole name */
#define MAILBOX_COMPONENT_MAX 255      /* bytes, one component */
/* The whole name is one Maildir++ directory name on disk, so its encoded
 * form (see above) is limited by NAME_MAX: names whose folder name would
 * exceed it are invalid, as in Dovecot's Maildir++ layout. */
#define MAILBOX_DIR_NAME_MAX 255

/* Validate a UTF-8 API name: non-empty, valid UTF-8, no NUL or control
 * characters (< 0x20, 0x7f), no empty component (leading, trailing or double
 * '/'), no "." or ".." component, lengths within limits. Returns 0 or
 * STORE_EINVALID with a static reason in *why_r (optional). */
int mailbox_name_validate(const char *name, const char **why_r);
/* True for any case variant of "INBOX". */
bool mailbox_name_is_inbox(const char *name);
/* Canonical form: "INBOX" (and "INBOX/…" prefix) upper-cased, else as is.
 * Heap result. Returns NULL if invalid. */
char *mailbox_name_canonical(const char *name);
/* Directory of a mailbox relative to the user directory ("" for INBOX,
 * ".Work.v1%2E2" otherwise). Heap result; NULL if invalid. */
char *mailbox_name_to_dir(const char *name);
/* Inverse of mailbox_name_to_dir for a directory entry of the user
 * directory (".Work.v1%2E2" -> "Work/v1.2"). NULL if not a mailbox dir. */
char *mailbox_name_from_dir(const char *dirname);
/* Parent name ("a/b/c" -> "a/b"), NULL for a top-level name. Heap. */
char *mailbox_name_parent(const char *name);

#endif
