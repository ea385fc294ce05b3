/* The selected mailbox of an IMAP session (RFC 9051 3.3, 7.4.1): the store
 * mailbox and its session view, the change watch, and the one place where
 * the view moves — an "update" that syncs the view on the storage pool and
 * sends the untagged responses that follow from it (EXPUNGE, FLAGS,
 * EXISTS, RECENT, FETCH FLAGS; VANISHED and MODSEQ and HIGHESTMODSEQ once
 * QRESYNC/CONDSTORE are on) with back-pressure, at the points the RFC
 * allows: at the end of commands, before a command when another session
 * announced changes, and at once during IDLE.
 *
 * Change notification: a store_watch on the mailbox runs on a store thread
 * and posts to the session by connection handle (conn_post); the session
 * then knows there is something to report (pending) and, in IDLE, reports
 * it immediately. At most one post per selection is in flight.
 *
 * Own changes: flag changes the command in flight made itself (STORE, the
 * \Seen of FETCH BODY[]) are recorded as (UID, MODSEQ) runs so the update
 * that ends the command does not report them again; a change by another
 * session to the same message gets a newer MODSEQ and is reported.
 *
 * Threads: the struct is touched on the session's loop, or by the one pool
 * job the session has in flight (a command holds the session while its
 * jobs run, so never both at once). The watch's shared part is the only
 * thing other threads see. */
#ifndef LOFT_IMAP_SELECTED_H
#define LOFT_IMAP_SELECTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/session.h"
#include "storage/store.h"

struct imap_outbuf;
struct imap_fetch;
struct sel_watch;
struct sel_update;
struct imap_search_context;

struct imap_sel_own_run {
	uint32_t uid;
	uint32_t len;
	uint64_t modseq;         /* of uid; uid + k has modseq + k */
};

struct imap_selected {
	char *name;                   /* store name (UTF-8, '/' separated) */
	struct store_mailbox *mbox;
	struct store_view *view;
	bool read_only;               /* EXAMINE */
	bool rev2;                    /* IMAP4rev2 session: no \Recent, RECENT, UNSEEN */
	uint32_t uidvalidity;
	unsigned gen;                 /* which selection of the session */
	struct sel_watch *watch;
	bool pending;                 /* a change was announced since the last sync */
	bool expunges_held;           /* a sync kept expunges back (NO_EXPUNGE) */
	/* Keywords announced in FLAGS/PERMANENTFLAGS, sorted case-insensitively;
	 * a keyword seen later (created by a STORE, ours or another session's)
	 * is announced with new FLAGS before the FETCH that shows it. */
	char **keywords;
	size_t n_keywords;
	/* RFC 5182 SEARCHRES: the saved result "$" names (UIDs). */
	struct store_uid_set searchres;
	/* RFC 5267 updating searches (search-context.h). */
	struct imap_search_context **contexts;
	size_t n_contexts;
	/* Changes made by the command in flight (see above). */
	struct imap_sel_own_run *own;
	size_t n_own, cap_own;
	bool own_overflow;            /* too many runs: report duplicates instead */
	/* The update or FETCH run in flight (continued on drain). */
	struct sel_update *upd;
	struct imap_fetch *fetch;
	/* The HIGHESTMODSEQ this session was last told (CONDSTORE): an update
	 * that moves past it ends with "* OK [HIGHESTMODSEQ n]". */
	uint64_t highestmodseq;
};

/* ---- open and close (cmd-select.c drives them) ---- */

/* A fresh selection of store name for s (not yet opened); the caller opens
 * mbox/view/watch on the pool with imap_sel_open_work(). */
struct imap_selected *imap_sel_new(struct imap_session *s, const char *name, bool read_only);
/* On the pool: open mailbox, watch and view. Returns a store error. */
int imap_sel_open_work(struct imap_session *s, struct imap_selected *sel);
/* Make sel the session's selected mailbox (state SELECTED). */
void imap_sel_attach(struct imap_session *s, struct imap_selected *sel);
/* Drop the selected mailbox (state AUTH): the view, mailbox and watch are
 * closed on the storage pool, without the session. No-op when none. */
void imap_sel_close(struct imap_session *s);
/* Release a selection that was never attached (a failed SELECT). */
void imap_sel_discard(struct imap_session *s, struct imap_selected *sel);

/* ---- updates ---- */

enum imap_sel_update_flags {
	/* A FETCH, STORE or SEARCH by sequence number: no EXPUNGE now
	 * (RFC 9051 7.5.1); they are reported by a later update. */
	IMAP_SEL_NO_EXPUNGE = 1u << 0,
};
/* err: 0, a store error, or IMAP_SEL_GONE when the session went away
 * (then only clean up: imap_cmd_finish). */
#define IMAP_SEL_GONE (-1000)
typedef void imap_sel_done_fn(struct imap_session *s, int err, void *arg);
/* Sync the view and send what changed, then call done (on the loop). The
 * session must hold a command (imap_cmd_hold): output waits for drain
 * through its on_drained. If the mailbox was deleted meanwhile the session
 * says BYE and done gets IMAP_SEL_GONE. */
void imap_sel_update(struct imap_session *s, unsigned flags, imap_sel_done_fn *done, void *arg);
/* Whether another session announced changes the view has not seen (or
 * expunges were held back). Loop thread, with no job of the session
 * running (it reads the view). */
bool imap_sel_pending(const struct imap_session *s);

/* Before a command that does not report changes itself runs (dispatcher):
 * when changes are pending, hold it, update, and run it afterwards. True
 * when the command was deferred. */
bool imap_sel_defer_command(struct imap_session *s, const struct imap_command_def *def,
			    const struct imap_command *cmd);

/* RFC 7162 3.1: a CONDSTORE enabling command other than SELECT/EXAMINE
 * (FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE, STATUS
 * HIGHESTMODSEQ, SEARCH MODSEQ, ENABLE) turns CONDSTORE on; the first one
 * in the selected state also tells the client the HIGHESTMODSEQ it was
 * brought up to ("* OK [HIGHESTMODSEQ n]"), so it can resume from there. */
void imap_sel_condstore_enable(struct imap_session *s);
/* That line alone, when a mailbox is selected (ENABLE, which turns the
 * bits on itself, calls it when CONDSTORE was off before). */
void imap_sel_report_highestmodseq(struct imap_session *s);

/* IDLE (cmd-idle.c): called on the loop when the watch announced a change. */
void imap_idle_changed(struct imap_session *s);

/* ---- for command jobs (pool thread while the command holds the session) ---- */

/* Record a change this command made itself (UIDs in ascending order). */
void imap_sel_own_change(struct imap_selected *sel, uint32_t uid, uint64_t modseq);
bool imap_sel_own_has(const struct imap_selected *sel, uint32_t uid, uint64_t modseq);
void imap_sel_own_clear(struct imap_selected *sel);

/* "(\Seen \Flagged kw ...)" with \Recent for a rev1 session when the
 * message is recent for this view. */
void imap_sel_write_flags(const struct imap_selected *sel, struct imap_outbuf *out,
			  uint32_t flags, const char *const *keywords, size_t n_keywords,
			  uint32_t uid);
/* Announce keywords not yet in FLAGS: appends "* FLAGS" and
 * "* OK [PERMANENTFLAGS]" to out when any is new. */
void imap_sel_note_keywords(struct imap_selected *sel, struct imap_outbuf *out,
			    const char *const *keywords, size_t n_keywords);
/* Keywords are case-insensitive in IMAP (RFC 3501 9) but the store keeps
 * them as spelled: the spelling already known for name, else name. */
const char *imap_sel_keyword_spelling(const struct imap_selected *sel, const char *name);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)] ..." for the current
 * keyword list. */
void imap_sel_write_flag_lists(const struct imap_selected *sel, struct imap_outbuf *out);
/* Whether a rev1 session sees uid as \Recent. */
bool imap_sel_is_recent(const struct imap_selected *sel, uint32_t uid);
/* How many messages of the view are \Recent for this session. */
uint32_t imap_sel_recent_count(const struct imap_selected *sel);

/* The message set argument a of a command, resolved against the view into
 * UIDs (*out, empty on entry). On a syntax or range error it answers the
 * tagged BAD itself and returns -1. */
int imap_sel_message_set(struct imap_session *s, const char *tag, const struct imap_arg *a,
			 bool by_uid, struct store_uid_set *out);

/* "<tag> NO [code] text" for a store error (RFC 5530 codes); target: the
 * mailbox is a COPY/MOVE destination (a missing one is [TRYCREATE]). */
void imap_sel_reply_error(struct imap_session *s, const char *tag, int err, bool target);

/* ---- output with back-pressure ---- */

/* Write out to the connection; true when the output is over its limit and
 * the caller must wait for s->cmd->on_drained. */
bool imap_sel_send(struct imap_session *s, struct imap_outbuf *out);

#endif
