/* LIST/LSUB mailbox patterns (RFC 9051 6.3.9): '*' matches any run of
 * characters, '%' any run without the hierarchy delimiter '/'. Patterns
 * and names are UTF-8 store names; the "INBOX" at the start of a name
 * matches case-insensitively. Matching is a bit-parallel NFA over the
 * compiled pattern, linear in the name's length whatever the pattern, so a
 * hostile pattern cannot make LIST slow. */
#ifndef LOFT_IMAP_LIST_MATCH_H
#define LOFT_IMAP_LIST_MATCH_H

#include <stdbool.h>

struct imap_match;

/* Compile a pattern (never fails: a pattern that cannot match any valid
 * name compiles to one that matches nothing). Free with imap_match_free. */
struct imap_match *imap_match_compile(const char *pattern);
void imap_match_free(struct imap_match **m);
bool imap_match(const struct imap_match *m, const char *name);
/* Whether the pattern ends with '%': RFC 3501 returns hierarchy levels
 * (as \Noselect) only for such patterns. */
bool imap_match_ends_pct(const struct imap_match *m);

/* The canonical pattern of a LIST command: the reference and the mailbox
 * argument joined (RFC 9051 6.3.9; a reference is taken as a prefix as
 * given), with a leading "INBOX" of any case upper-cased. Heap result. */
char *imap_match_canonical(const char *reference, const char *pattern);

#endif
