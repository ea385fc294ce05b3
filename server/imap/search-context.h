/* Updating searches (RFC 5267 CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH or
 * SORT with RETURN (UPDATE) leaves a context in the selected mailbox — its
 * program and its result (UIDs; for SORT the sorted keys) — and every view
 * update (selected.c) re-evaluates the messages that were expunged, changed
 * (by this session too) or added, and reports how the result changed as
 * unsolicited "* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)":
 * removals of expunged messages before the EXPUNGE responses (numbered as
 * before them), the rest after EXISTS and the FETCH responses. Positions
 * are 0 for SEARCH (its result has no order) and the 1-based place in the
 * sort order for SORT. CANCELUPDATE or closing the mailbox ends a context;
 * a session keeps at most max_search_contexts of them.
 *
 * Threads: contexts live in struct imap_selected and are touched by the
 * same rules as the rest of it (the session's loop, or its one job). */
#ifndef LOFT_IMAP_SEARCH_CONTEXT_H
#define LOFT_IMAP_SEARCH_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/search.h"
#include "storage/sort.h"

struct imap_selected;
struct imap_outbuf;

struct imap_search_context {
	char *tag;
	bool by_uid;
	struct store_search *prog;        /* owned */
	struct store_uid_set result;      /* the matching UIDs */
	struct store_sort *sort;          /* SORT: also in sort order, owned */
};

/* Take prog, *result and (SORT) sort into a new context of sel. */
void imap_search_context_add(struct imap_selected *sel, const char *tag, bool by_uid,
			     struct store_search *prog, struct store_uid_set *result,
			     struct store_sort *sort);
bool imap_search_context_has(const struct imap_selected *sel, const char *tag);
/* false when no context has that tag. */
bool imap_search_context_cancel(struct imap_selected *sel, const char *tag);
void imap_search_contexts_free(struct imap_selected *sel);

/* What a view sync changed (collected by the update's callbacks). */
struct imap_search_changes {
	uint32_t *exp_uid, *exp_seq;     /* expunged: UID, number before the sync */
	size_t n_exp, cap_exp;
	uint32_t *chg;                   /* changed or added UIDs */
	size_t n_chg, cap_chg;
};
void imap_search_changes_expunged(struct imap_search_changes *c, uint32_t uid, uint32_t seq);
void imap_search_changes_changed(struct imap_search_changes *c, uint32_t uid);
void imap_search_changes_free(struct imap_search_changes *c);

/* On the pool, after the sync (the view already moved): update every
 * context and write the ESEARCH responses to pre (before the EXPUNGEs) and
 * post (after EXISTS and FETCH). */
void imap_search_contexts_sync(struct imap_selected *sel, struct imap_search_changes *c,
			       struct imap_outbuf *pre, struct imap_outbuf *post);

#endif
