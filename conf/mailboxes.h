/* The value of a mailbox-list setting ([storage] initial_mailboxes): comma
 * separated entries, each a mailbox name ('/' separates levels) optionally
 * followed by one RFC 6154 special-use attribute, e.g.
 * "Drafts \Drafts, Sent \Sent, Lists/Work". conf checks the syntax when the
 * file is loaded; the server parses the stored text again where it uses it.
 * Names cannot contain ',' and cannot end with an attribute-like word. */
#ifndef LOFT_CONF_MAILBOXES_H
#define LOFT_CONF_MAILBOXES_H

#include <stddef.h>

struct conf_mailbox {
	char *name;           /* UTF-8, '/' separated, trimmed */
	const char *use;      /* canonical "\Drafts" etc. (static), or NULL */
};

/* Parse text (may be empty: no entries). Returns 0, or -1 with a heap
 * message in *why_r saying what is wrong. Free with conf_mailboxes_free. */
int conf_mailboxes_parse(const char *text, struct conf_mailbox **list_r, size_t *n_r,
			 char **why_r);
void conf_mailboxes_free(struct conf_mailbox *list, size_t n);

#endif
