/* Which names a LIST or LSUB returns (RFC 9051 6.3.9, RFC 3501 6.3.8/6.3.9,
 * RFC 5258 3.3-3.5, RFC 6154): the names considered are every mailbox,
 * every subscription and every hierarchy level above them; a name is
 * returned when it matches a pattern and meets the selection criteria, or
 * when it matches and has a descendant that meets them without matching
 * (a \Noselect level in LSUB and rev1 LIST, where the pattern that matches
 * must end with '%'; \NonExistent in extended LIST; CHILDINFO with
 * RECURSIVEMATCH). Pure computation, no I/O: the command
 * (cmd-list.c) reads the store and formats the result. */
#ifndef LOFT_IMAP_LIST_TREE_H
#define LOFT_IMAP_LIST_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_match;
struct store_mailbox_info;

enum imap_list_mode {
	IMAP_LIST_PLAIN,     /* RFC 3501 LIST */
	IMAP_LIST_EXTENDED,  /* RFC 5258 LIST (any extended syntax) */
	IMAP_LIST_LSUB,      /* RFC 3501 LSUB */
};

struct imap_list_query {
	enum imap_list_mode mode;
	bool sel_subscribed;       /* LIST (SUBSCRIBED) */
	bool sel_special_use;      /* LIST (SPECIAL-USE), RFC 6154 */
	bool sel_recursive;        /* LIST (RECURSIVEMATCH) */
	struct imap_match *const *patterns;
	size_t n_patterns;
};

struct imap_list_entry {
	const char *name;          /* points into the tree */
	bool exists;
	bool subscribed;
	bool has_children;         /* an existing mailbox below it */
	bool childinfo;            /* RECURSIVEMATCH: a descendant meets the criteria */
	bool level;                /* returned only for its descendants (\Noselect
				    * in LSUB and plain LIST) */
	uint32_t special_use;
};

struct imap_list_tree;

/* Build the tree of names from the store's mailboxes and subscriptions
 * (borrowed during the call only). */
struct imap_list_tree *imap_list_tree_build(const struct store_mailbox_info *mailboxes,
					    size_t n_mailboxes, char *const *subscriptions,
					    size_t n_subscriptions);
void imap_list_tree_free(struct imap_list_tree **tree);
/* The entries to return, in hierarchy order (INBOX first, a parent before
 * its children). The array is heap (free()); names point into the tree. */
void imap_list_tree_select(const struct imap_list_tree *tree, const struct imap_list_query *q,
			   struct imap_list_entry **entries_r, size_t *n_r);

#endif
