/* The MODSEQ search key of CONDSTORE (RFC 7162 3.1.5), kept apart from the
 * SEARCH command so the search engine can take it as one criterion:
 * parsing "MODSEQ [entry-name entry-type] n" from a command's arguments,
 * matching a message, and the "(MODSEQ n)" a SEARCH/ESEARCH answer ends
 * with when the criteria used MODSEQ. The store keeps one MODSEQ per
 * message, not one per flag, so an entry name narrows nothing: the message's
 * MODSEQ stands for every flag's, as RFC 7162 3.1.5 allows.
 *
 * A search that uses it is a CONDSTORE enabling command: the caller turns
 * CONDSTORE on for the session (imap_sel_condstore_enable). */
#ifndef LOFT_IMAP_SEARCH_MODSEQ_H
#define LOFT_IMAP_SEARCH_MODSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct imap_outbuf;
struct store_msg;

enum imap_modseq_entry_type {
	IMAP_MODSEQ_ENTRY_NONE = 0,
	IMAP_MODSEQ_ENTRY_PRIV,
	IMAP_MODSEQ_ENTRY_SHARED,
	IMAP_MODSEQ_ENTRY_ALL,
};

struct imap_search_modseq {
	uint64_t modseq;              /* messages with MODSEQ >= this match */
	enum imap_modseq_entry_type type;
	/* "/flags/\Seen" or "/flags/$Label" without the "/flags/" prefix
	 * (points into the argument; valid while the command is) */
	const char *flag;
};

/* args[0] is the word MODSEQ. Reads the key; *used_r gets how many
 * arguments it took (2 or 4). 0, or -1 with a static reason for BAD. */
int imap_search_modseq_parse(const struct imap_arg *args, size_t n_args,
			     struct imap_search_modseq *key, size_t *used_r,
			     const char **why_r);
bool imap_search_modseq_match(const struct imap_search_modseq *key, const struct store_msg *m);

/* The highest MODSEQ among the messages a search returned. */
struct imap_search_modseq_acc {
	uint64_t highest;
	bool used;                    /* the criteria had a MODSEQ key */
};
void imap_search_modseq_note(struct imap_search_modseq_acc *acc, const struct store_msg *m);
/* " (MODSEQ n)" after the numbers of "* SEARCH ..." when the key was used
 * and something matched (RFC 7162 3.1.5); nothing otherwise. */
void imap_search_modseq_write(const struct imap_search_modseq_acc *acc, struct imap_outbuf *out);

#endif
