/* RFC 6154 special-use attributes as IMAP words and store bits: the table
 * LIST, CREATE (USE ...) and the initial mailboxes of new users share. */
#ifndef LOFT_IMAP_SPECIAL_USE_H
#define LOFT_IMAP_SPECIAL_USE_H

#include <stddef.h>
#include <stdint.h>

struct imap_resp;
struct loft_config;
struct store_initial_mailbox;

/* STORE_SPECIAL_* bit of "\Drafts" etc. (case-insensitive), 0 if unknown. */
uint32_t imap_special_use_bit(const char *attr);
/* Append " \Archive \Drafts ..." for each bit set (a space before each). */
void imap_special_use_write(struct imap_resp *r, uint32_t bits);
/* Which special uses CREATE (USE ...) can give: real mailboxes only, so not
 * \All and \Flagged, which name virtual views this store does not have. */
uint32_t imap_special_use_creatable(void);

/* [storage] initial_mailboxes of cfg as a store list (heap: the array and
 * every name; free with imap_initial_mailboxes_free). An unparsable value
 * (conf checked it at load) gives none. */
void imap_initial_mailboxes(const struct loft_config *cfg,
			    struct store_initial_mailbox **list_r, size_t *n_r);
void imap_initial_mailboxes_free(struct store_initial_mailbox *list, size_t n);

#endif
