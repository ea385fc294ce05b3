/* IMAP sequence sets (RFC 9051 9, "sequence-set"): numbers, ranges, "*" and
 * the saved search result "$" (RFC 5182), parsed from an argument and then
 * resolved against a session's view into the UIDs they name. Resolution
 * follows RFC 9051: message numbers beyond EXISTS (also "*" in an empty
 * mailbox) are a BAD; UIDs name only messages of the view, "*" is the last
 * UID of the view (UIDNEXT when it is empty) and a range is the same read
 * either way round (so "500:*" always holds the last message). */
#ifndef LOFT_IMAP_SEQSET_H
#define LOFT_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct imap_outbuf;
struct store_view;
struct store_uid_set;

/* One range as written: 0 stands for "*" (0 is never a valid number). */
struct imap_seqrange {
	uint32_t a, b;
};

struct imap_seqset {
	struct imap_seqrange *r;
	size_t n;
	bool saved;          /* "$" */
};

/* Parse text (NUL-terminated). Returns 0, or -1 for invalid syntax. */
int imap_seqset_parse(const char *text, struct imap_seqset *set_r);
/* The same for a command argument (an atom). */
int imap_seqset_parse_arg(const struct imap_arg *a, struct imap_seqset *set_r);
void imap_seqset_free(struct imap_seqset *set);

/* The UIDs of the view the set names, as ascending disjoint ranges in *out
 * (which must be empty). by_uid: the numbers are UIDs (UID commands).
 * saved: the SEARCHRES result "$" stands for (NULL: empty). Returns 0, or
 * -1 with a static reason for a BAD. Touches only memory: the view must not
 * be synced meanwhile. */
int imap_seqset_resolve(const struct imap_seqset *set, bool by_uid, const struct store_view *view,
			const struct store_uid_set *saved, struct store_uid_set *out,
			const char **why_r);

/* "1:5,7,9:12" (ranges as in the set; an empty set writes nothing). */
void imap_uidset_format(struct imap_outbuf *b, const struct store_uid_set *set);
/* Whether uid is in the set (binary search). */
bool imap_uidset_has(const struct store_uid_set *set, uint32_t uid);

#endif
