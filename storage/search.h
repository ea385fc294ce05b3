/* Message search (IMAP SEARCH's semantics without its syntax): a search
 * program is a tree of protocol-free criteria that a front end builds from
 * its own grammar (server/imap/search-args.c for IMAP); the store evaluates
 * it over a mailbox view in slices on a pool thread.
 *
 * Evaluation runs in cost tiers, each decided with three-valued logic so a
 * message is read no further than its answer needs: first the index record
 * (flags, keywords, sizes, INTERNALDATE, UID, MODSEQ: no file is opened),
 * then the cached parse (store_msg_info: the Date, Subject and address
 * fields of the envelope), and only then the message file (HEADER fields of
 * the message's header, BODY and TEXT through msg_search_text, streamed in
 * blocks, stopped as soon as every text criterion is decided). Text is
 * compared as substrings under i;unicode-casemap (lib/casemap.h) after RFC
 * 2047 and charset decoding; see docs/PROTOCOLS.md for the exact rules.
 *
 * Threads: building a program is pure memory work (any thread); running it
 * reads the store (a pool thread). Ownership: the caller frees a program
 * with store_search_free and a run with store_search_run_free; strings
 * given to the constructors are copied. */
#ifndef LOFT_STORAGE_SEARCH_H
#define LOFT_STORAGE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

enum store_search_kind {
	STORE_SEARCH_AND,        /* children: all true (no children: true) */
	STORE_SEARCH_OR,         /* children: any true */
	STORE_SEARCH_NOT,        /* one child */
	STORE_SEARCH_ALL,
	STORE_SEARCH_FLAGS,      /* every STORE_FLAG_* bit of flags set */
	STORE_SEARCH_RECENT,     /* \Recent for the view (store_mailbox_recent) */
	STORE_SEARCH_KEYWORD,    /* keyword str set (case-insensitive name) */
	STORE_SEARCH_UIDS,       /* UID in set */
	STORE_SEARCH_LARGER,     /* RFC822.SIZE (vsize) > num */
	STORE_SEARCH_SMALLER,    /* RFC822.SIZE < num */
	STORE_SEARCH_BEFORE,     /* INTERNALDATE's day (UTC) < day */
	STORE_SEARCH_ON,         /* ... == day */
	STORE_SEARCH_SINCE,      /* ... >= day */
	STORE_SEARCH_SENTBEFORE, /* the Date: field's own day < day */
	STORE_SEARCH_SENTON,
	STORE_SEARCH_SENTSINCE,
	STORE_SEARCH_MODSEQ,     /* MODSEQ >= num (CONDSTORE, RFC 7162 3.1.5) */
	STORE_SEARCH_ADDRESS,    /* field (From/To/Cc/Bcc) contains str, the
				  * addresses written "Name <user@domain>" */
	STORE_SEARCH_SUBJECT,    /* the decoded Subject contains str */
	STORE_SEARCH_HEADER,     /* a field named field contains str ("" = exists) */
	STORE_SEARCH_BODY,       /* a text part's decoded body contains str */
	STORE_SEARCH_TEXT,       /* any header field or text body contains str */
	STORE_SEARCH_EMAILID,    /* the RFC 8474 EMAILID is str (exact) */
	STORE_SEARCH_THREADID,   /* the RFC 8474 THREADID is str: never true,
				  * messages have none (THREADID NIL) */
	STORE_SEARCH_SAVEDBEFORE, /* the save date's day (UTC) < day (RFC 8514;
				   * INTERNALDATE where no save date is known) */
	STORE_SEARCH_SAVEDON,
	STORE_SEARCH_SAVEDSINCE,
	STORE_SEARCH_OLDER,      /* INTERNALDATE < now - num seconds (RFC 5032) */
	STORE_SEARCH_YOUNGER,    /* INTERNALDATE >= now - num seconds */
};

struct store_search_node {
	enum store_search_kind kind;
	struct store_search_node *child, *next;   /* first child, sibling */
	uint32_t flags;
	uint64_t num;
	int64_t day;                 /* days since 1970-01-01 */
	char *field;                 /* header field name */
	char *str;                   /* UTF-8 as given */
	struct store_uid_set uids;
	/* set by store_search_prepare */
	char *key;                   /* casemapped str */
	size_t key_len;
	size_t *kmp_fail;            /* Knuth-Morris-Pratt failure function */
	unsigned slot;               /* text criteria: index of its matcher */
	unsigned tier;               /* cheapest tier that decides it */
};

struct store_search {
	struct store_search_node *root;   /* an AND node */
	unsigned n_text;                  /* text criteria (after prepare) */
	unsigned max_tier;
	bool prepared;
	int64_t now;                      /* set when a run or match starts */
};

/* A program whose root is an empty AND (matches every message). */
struct store_search *store_search_new(void);
void store_search_free(struct store_search **prog);
/* Add a criterion under parent (NULL: the root); returns it for filling in
 * (field/str through store_search_set_str, uids through the set helpers). */
struct store_search_node *store_search_add(struct store_search *prog,
					   struct store_search_node *parent,
					   enum store_search_kind kind);
void store_search_set_str(struct store_search_node *node, const char *field, const char *str,
			  size_t len);
/* Day number of a calendar date, and of an epoch time (UTC). */
int64_t store_search_day(int year, int month, int day);
int64_t store_search_day_of(int64_t when);
/* Whether the program uses MODSEQ / \Recent (front ends report these). */
bool store_search_uses(const struct store_search *prog, enum store_search_kind kind);

/* Convert a criterion string from charset to UTF-8 (heap, NUL-terminated,
 * *len_r bytes). STORE_EINVALID for a charset iconv does not know or bytes
 * invalid in it. US-ASCII accepts 7-bit only, UTF-8 valid UTF-8 only. */
int store_search_charset_utf8(const char *charset, const char *in, size_t len, char **out_r,
			      size_t *len_r);

/* ---- running ---- */

struct store_search_run;
/* Evaluate prog over the messages of view (UIDs of the view only: a
 * message that arrived after the view's last sync is not searched). The
 * program and view must outlive the run and the view must not be synced
 * while it runs. */
int store_search_run_new(struct store_mailbox *mbox, const struct store_view *view,
			 struct store_search *prog, struct store_search_run **run_r);
/* One slice: at most about max_msgs index records and max_bytes of message
 * text, in UID order; matching UIDs are appended to *result (which must
 * hold only smaller UIDs). Returns 1 when the whole view was searched, 0
 * when more remains, or a store error. A message expunged meanwhile does
 * not match. */
int store_search_run_step(struct store_search_run *run, unsigned max_msgs, uint64_t max_bytes,
			  struct store_uid_set *result);
void store_search_run_free(struct store_search_run **run);
/* Messages of the view the run has reached so far (INPROGRESS). */
uint32_t store_search_run_reached(const struct store_search_run *run);
/* The MODSEQs of the matches so far (CONDSTORE's "(MODSEQ n)", RFC 7162
 * 3.1.5): the highest, and those of the first and the last match in UID
 * order (what MIN and MAX return); 0 when nothing matched. */
struct store_search_modseqs {
	uint64_t highest, first, last;
};
void store_search_run_modseqs(const struct store_search_run *run,
			      struct store_search_modseqs *modseqs_r);

/* Evaluate prog for one message (CONTEXT updates, tests): 1 match, 0 not,
 * or a store error (STORE_ENOTFOUND when it is gone). */
int store_search_match(struct store_mailbox *mbox, struct store_search *prog, uint32_t uid);

#endif
