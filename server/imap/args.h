/* Reading IMAP command arguments that several commands share: mailbox
 * names (modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT), flag lists
 * and date-time strings (RFC 9051 formal syntax). Each returns 0 or -1 with
 * a static reason for the client's BAD reply. */
#ifndef LOFT_IMAP_ARGS_H
#define LOFT_IMAP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/parser.h"

/* An astring argument as a store mailbox name (UTF-8, '/' separated).
 * Heap result in *name_r. */
int imap_arg_mailbox(const struct imap_arg *a, bool utf8, char **name_r, const char **why_r);

/* A parsed flag list: system flags as STORE_FLAG_* bits, keywords as
 * pointers into the argument (valid while the command is). */
struct imap_flags {
	uint32_t flags;
	const char **keywords;
	size_t n_keywords;
};
/* "(\Seen $Label ...)"; allow_recent for SEARCH-like uses only. Free
 * flags_r->keywords with free(). */
int imap_arg_flags(const struct imap_arg *a, struct imap_flags *flags_r, const char **why_r);
/* An argument that is one item or a parenthesized list of them: the
 * items (a itself, or its members) in *items_r; -1 for an empty list. */
int imap_arg_items(const struct imap_arg *a, const struct imap_arg **items_r, size_t *n_r);
/* A number atom (digits only, no sign) of at most max: RFC 7162's
 * mod-sequence-value has max INT64_MAX. 0, or -1 when it is not one. */
int imap_arg_u64(const struct imap_arg *a, uint64_t max, uint64_t *v_r);
/* date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space padded) to
 * seconds since the epoch. */
int imap_parse_datetime(const char *s, int64_t *time_r);
/* date: "d-Mon-yyyy" or quoted, to the start of that day (UTC). */
int imap_parse_date(const char *s, int64_t *time_r);

#endif
