/* IMAP METADATA (RFC 5464) pieces that GETMETADATA/SETMETADATA
 * (cmd-metadata.c) and LIST ... RETURN (METADATA ...) (RFC 9590,
 * cmd-list.c) share: entry names and options as the client sends them,
 * the server's read-only entries, and the METADATA response. */
#ifndef LOFT_IMAP_METADATA_H
#define LOFT_IMAP_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/parser.h"
#include "server/imap/reply.h"
#include "storage/store.h"

struct imap_session;

/* An entry name argument, lower-cased into a heap copy: "/private" or
 * "/shared", then '/'-separated components of printable ASCII without
 * '*' or '%', no empty component, no trailing '/'. A bare "/private" or
 * "/shared" only when !for_set. 0, or -1 with a reason for BAD. */
int imap_metadata_entry(const struct imap_arg *a, bool for_set, char **entry_r,
			const char **why_r);
/* The entries argument: one entry or a parenthesized list of them.
 * Heap array of heap names. */
int imap_metadata_entries(const struct imap_arg *a, char ***entries_r, size_t *n_r,
			  const char **why_r);
void imap_metadata_entries_free(char **entries, size_t n);

/* GETMETADATA options "(MAXSIZE n DEPTH 0|1|infinity)"; defaults: no
 * MAXSIZE (UINT64_MAX), DEPTH 0. */
struct imap_metadata_opts {
	uint64_t maxsize;
	int depth;              /* 0, 1 or STORE_ANNOT_INFINITY */
};
int imap_metadata_opts(const struct imap_arg *a, struct imap_metadata_opts *o,
		       const char **why_r);

/* Read a mailbox's (NULL: the server's) entries as GETMETADATA asks,
 * with the server's read-only /shared/admin (admin, NULL or "" = none)
 * merged in name order. Pool thread. */
int imap_metadata_read(struct store_user *u, const char *mailbox, const char *admin,
		       char **entries, size_t n, int depth, struct store_annot **list_r,
		       size_t *n_r);
/* "* METADATA <mailbox> (entry value ...)\r\n" without the values
 * longer than o->maxsize (their longest size is raised into
 * *longest_r); a name asked for with no value and nothing found below
 * it is shown as NIL (never the bare /private or /shared). Writes
 * nothing when there is nothing to show. */
void imap_metadata_write(struct imap_resp *r, const char *mailbox_wire, bool wire_is_store,
			 char **entries, size_t n, const struct store_annot *list, size_t n_list,
			 const struct imap_metadata_opts *o, uint64_t *longest_r);

#endif
