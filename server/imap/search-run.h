/* Running a search program over the selected view for an IMAP command
 * (SEARCH, SORT, THREAD): the program is evaluated on the storage pool in
 * slices ([imap] inprogress_step index records, IMAP_SEARCH_SLICE_BYTES of
 * message text per job), so neither a loop nor a read transaction is held
 * for long; the session holds its command meanwhile, so the view does not
 * move under the search. Also the reader of the commands' common
 * arguments (the search environment of the session). */
#ifndef LOFT_IMAP_SEARCH_RUN_H
#define LOFT_IMAP_SEARCH_RUN_H

#include "server/imap/search-args.h"
#include "server/imap/selected.h"
#include "server/imap/session.h"
#include "storage/sort.h"

/* Index records per slice where the step setting does not apply (SORT's
 * key reads, ESEARCH over several mailboxes). */
#define IMAP_SEARCH_SLICE_MSGS 4096u
#define IMAP_SEARCH_SLICE_BYTES (4u * 1024u * 1024u)

/* err: 0, a store error, or IMAP_SEL_GONE; *result holds the matching
 * UIDs (the callee may take them), *modseqs their MODSEQs (CONDSTORE). */
typedef void imap_search_done_fn(struct imap_session *s, int err, struct store_uid_set *result,
				 const struct store_search_modseqs *modseqs, void *arg);
/* Run prog (borrowed until done) over the selected view. The session must
 * hold its command. */
void imap_search_start(struct imap_session *s, struct store_search *prog,
		       imap_search_done_fn *done, void *arg);

/* The first steps of an imap_search_done_fn: when the session is gone the
 * command is finished; when the search failed, "$" is emptied if ret asked
 * for SAVE (RFC 5182 2.1), *err_r is set and the update runs with
 * finished(arg) (no EXPUNGE unless by_uid). True when the caller goes on
 * with the result. */
bool imap_search_succeeded(struct imap_session *s, int err, unsigned ret, bool by_uid,
			   int *err_r, imap_sel_done_fn *finished, void *arg);

/* RETURN (UPDATE): keep *prog and the result (*result copied; for SORT
 * also *sort, taken) as an updating search of the selection under the
 * command's tag, or, past max_search_contexts, append "* NO [NOUPDATE
 * "tag"]" to out and keep nothing (RFC 5267 4.3.1). */
void imap_search_keep(struct imap_session *s, bool by_uid, struct store_search **prog,
		      struct store_uid_set *result, struct store_sort **sort,
		      struct imap_outbuf *out);

/* The end of a search command, after its closing update (upd_err from
 * imap_sel_update): the tagged NO for err (a store error) or OK ok_text,
 * then the command is finished. */
void imap_search_answer(struct imap_session *s, int upd_err, int err, const char *ok_text);

/* The environment search keys are parsed in for this session. */
void imap_search_env(const struct imap_session *s, struct imap_search_env *env);
/* The reply for a failed parse (BAD, or NO [code]). */
void imap_search_reply_error(struct imap_session *s, const char *tag,
			     const struct imap_search_parse *p);

#endif
