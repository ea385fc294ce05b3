/* The mail store: the only storage header front ends, CLI commands and tests
 * include. A user's mail is a self-contained directory: a Maildir++ tree plus
 * an LMDB index beside it. Everything here is thread-safe and synchronous:
 * reads run in short LMDB read transactions on the calling thread; mutations
 * are queued to the store's writer threads, which batch whatever is waiting
 * into one durable LMDB commit (group commit) and wake the callers. Callers on
 * an event loop therefore call mutating functions (and message reads) from the
 * libuv thread pool, never from the loop thread itself.
 *
 * Ownership: objects returned through *_r out-parameters belong to the caller
 * and are released with the matching *_close or *_free. Strings passed in are
 * borrowed for the duration of the call only. */
#ifndef LOFT_STORAGE_STORE_H
#define LOFT_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Errors are values with a kind; front ends map each kind to a protocol reply
 * in one function (IMAP NO [NONEXISTENT], POP3 -ERR [SYS/TEMP], 452 4.2.2 …). */
enum store_error {
	STORE_OK = 0,
	STORE_ENOTFOUND = -1,   /* mailbox, message or user does not exist */
	STORE_EEXISTS = -2,     /* mailbox already exists */
	STORE_EQUOTA = -3,      /* over quota (bytes or messages) */
	STORE_EINVALID = -4,    /* invalid mailbox name or argument */
	STORE_EIO = -5,         /* temporary I/O failure (disk full, EIO, MAP_FULL): retry later */
	STORE_ECORRUPT = -6,    /* index and Maildir disagree beyond repair: run index rebuild */
	STORE_EINUSE = -7,      /* e.g. deleting a mailbox with children / INBOX */
	STORE_ENOPERM = -8,     /* operation not allowed (rename INBOX over existing) */
	STORE_ETOOBIG = -9,    /* message larger than the configured limit */
};
const char *store_strerror(int err);

/* System flags, as bits. Keywords are separate (names). */
enum store_flag {
	STORE_FLAG_SEEN = 1u << 0,
	STORE_FLAG_ANSWERED = 1u << 1,
	STORE_FLAG_FLAGGED = 1u << 2,
	STORE_FLAG_DELETED = 1u << 3,
	STORE_FLAG_DRAFT = 1u << 4,
	STORE_FLAG_RECENT = 1u << 5, /* reported, never stored on disk */
};
/* Every flag that is stored (all but RECENT). */
#define STORE_SYSTEM_FLAGS 0x1fu

/* Special-use attributes (RFC 6154), as bits. */
enum store_special_use {
	STORE_SPECIAL_ALL = 1u << 0,
	STORE_SPECIAL_ARCHIVE = 1u << 1,
	STORE_SPECIAL_DRAFTS = 1u << 2,
	STORE_SPECIAL_FLAGGED = 1u << 3,
	STORE_SPECIAL_JUNK = 1u << 4,
	STORE_SPECIAL_SENT = 1u << 5,
	STORE_SPECIAL_TRASH = 1u << 6,
};

/* Hierarchy delimiter of mailbox names at the API ("Work/2024"). On disk the
 * Maildir++ folder is ".Work.2024" (see docs/ARCHITECTURE.md for escaping). */
#define STORE_HIERARCHY_SEP '/'
#define STORE_MAX_KEYWORDS_PER_MSG 64

struct store;          /* the store of a whole server or tool process */
struct store_user;     /* one user's opened store (shared, ref-counted) */
struct store_mailbox;  /* one opened mailbox view (per session) */

struct store_settings {
	const char *mail_dir;       /* users' directories are mail_dir/<user> */
	size_t lmdb_map_size;       /* bytes, sparse; 0 = default (4 GiB) */
	unsigned index_cache_size;  /* open user environments kept (LRU); 0 = 1024 */
	unsigned writer_threads;    /* 0 = 2 */
	uint64_t quota_bytes;       /* default per-user quota, 0 = unlimited */
	uint64_t quota_messages;
	uint64_t max_message_size;  /* 0 = unlimited */
	bool watch_external;        /* run the notify thread (inotify); servers: true */
};

/* ---- store and users ---- */

int store_create(const struct store_settings *set, struct store **store_r);
/* Waits for queued writes, stops threads, closes all environments. */
void store_destroy(struct store **store);

/* Open (creating the directory, INBOX and index if missing) a user's store.
 * The user name must be a valid user name (no '/', no leading '.'). Opening
 * reconciles the Maildir with the index (files added or removed by other
 * programs). Opens of the same user share one environment. */
int store_user_open(struct store *store, const char *user, struct store_user **user_r);
void store_user_close(struct store_user **user);
const char *store_user_name(const struct store_user *user);
/* The user's directory (for tools and tests; front ends must not use it). */
const char *store_user_dir(const struct store_user *user);

/* Per-user quota override (0 = use the store default, UINT64_MAX = unlimited). */
int store_user_set_quota(struct store_user *user, uint64_t bytes, uint64_t messages);
struct store_quota {
	uint64_t bytes_used, bytes_limit;       /* limit 0 = unlimited */
	uint64_t messages_used, messages_limit;
};
int store_quota_get(struct store_user *user, struct store_quota *quota_r);

/* ---- mailboxes ---- */

struct store_mailbox_info {
	char *name;               /* UTF-8, '/' separated; "INBOX" for the inbox */
	uint32_t special_use;     /* STORE_SPECIAL_* */
	bool subscribed;
	bool has_children;
};
/* All existing mailboxes, sorted by name ("INBOX" first). Free with
 * store_mailbox_list_free. */
int store_mailbox_list(struct store_user *user, struct store_mailbox_info **list_r,
		       size_t *count_r);
void store_mailbox_list_free(struct store_mailbox_info *list, size_t count);

/* Names are UTF-8 with '/' as separator; "INBOX" is case-insensitive.
 * Invalid names (empty component, "..", ".", NUL, control characters, leading
 * or trailing '/', a folder name ("." + the name with '.' and '%' escaped) over 255 bytes,
 * not UTF-8)
 * return STORE_EINVALID. Create makes missing parents too (RFC 3501). */
int store_mailbox_create(struct store_user *user, const char *name, uint32_t special_use);
/* Deleting a mailbox that has children returns STORE_EINUSE (we keep no
 * \Noselect placeholders); deleting INBOX returns STORE_ENOPERM. */
int store_mailbox_delete(struct store_user *user, const char *name);
/* Renames a mailbox and its children. Renaming INBOX moves all its messages
 * into a new mailbox and leaves INBOX empty (RFC 3501 6.3.5); the new
 * mailbox gets a new UIDVALIDITY. */
int store_mailbox_rename(struct store_user *user, const char *old_name, const char *new_name);
/* Subscriptions may name mailboxes that do not exist (RFC 3501 6.3.6). */
int store_subscribe(struct store_user *user, const char *name, bool subscribe);
int store_subscriptions(struct store_user *user, char ***names_r, size_t *count_r);
void store_strv_free(char **names, size_t count);
int store_mailbox_set_special_use(struct store_user *user, const char *name, uint32_t special_use);

struct store_status {
	uint32_t messages;
	uint32_t unseen;
	uint32_t recent;          /* as seen by the asking view; 0 from store_status() */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint64_t size;            /* sum of message sizes as stored on disk */
	uint32_t deleted;         /* messages with \Deleted */
	uint64_t vsize;           /* sum of RFC822.SIZEs (every line end CRLF) */
};
/* Counters without opening a view (STATUS, LIST-STATUS). */
int store_status(struct store_user *user, const char *name, struct store_status *status_r);
/* store_status() plus recent: the messages no view has claimed yet, that
 * is what the next read-write open will report as \Recent (IMAP4rev1
 * STATUS RECENT). Costs a scan over those messages. */
int store_status_recent(struct store_user *user, const char *name, struct store_status *status_r);

/* A mailbox every new user gets (store_user_provision). */
struct store_initial_mailbox {
	const char *name;         /* UTF-8, '/' separated */
	uint32_t special_use;     /* STORE_SPECIAL_*, 0 for none */
};
/* Give a user the listed mailboxes once in its life: the first call for a
 * user creates each listed mailbox that is missing (with its special-use
 * attribute) and subscribes it, in one durable commit, and records in the
 * index that this was done; every later call only reads that mark (no
 * commit), so a mailbox the user deletes stays deleted. A listed mailbox
 * that exists gets the attribute if it has none; a special use another
 * mailbox already carries (an imported "Sent Messages" with \Sent) is not
 * created again. n == 0 does nothing and records nothing. An invalid name
 * is skipped and logged. */
int store_user_provision(struct store_user *user, const struct store_initial_mailbox *list,
			 size_t n);

/* ---- a mailbox view ---- */

/* Open a view of a mailbox. A read-only view (EXAMINE) never changes \Recent.
 * A read-write view claims \Recent for messages no earlier view claimed. */
int store_mailbox_open(struct store_user *user, const char *name, bool read_only,
		       struct store_mailbox **mbox_r);
void store_mailbox_close(struct store_mailbox **mbox);
/* On a read-write view this also claims \Recent for messages that arrived
 * since the view (or its last status) claimed, so recent grows with new mail
 * and shrinks as claimed messages are expunged. */
int store_mailbox_status(struct store_mailbox *mbox, struct store_status *status_r);
/* Recent UIDs claimed by this view (sorted). Borrowed until close. */
const uint32_t *store_mailbox_recent(struct store_mailbox *mbox, size_t *count_r);

/* A message's per-message state as read from the index. */
struct store_msg {
	uint32_t uid;
	uint32_t flags;           /* STORE_FLAG_*, without RECENT */
	uint64_t modseq;
	int64_t internal_date;    /* seconds since the epoch */
	uint64_t size;            /* physical bytes as stored */
	uint64_t vsize;           /* bytes with every line ending as CRLF (RFC822.SIZE) */
	uint16_t n_keywords;
	const char *keywords[STORE_MAX_KEYWORDS_PER_MSG]; /* borrowed during the callback */
};
/* Calls cb for every message with uid_lo <= uid <= uid_hi, in UID order,
 * inside one short read transaction. A non-zero return from cb stops the scan
 * and is returned. The msg pointer is valid during the callback only. */
typedef int store_msg_cb(const struct store_msg *msg, void *ctx);
int store_msg_scan(struct store_mailbox *mbox, uint32_t uid_lo, uint32_t uid_hi,
		   store_msg_cb *cb, void *ctx);
/* One message; STORE_ENOTFOUND if expunged. msg_r->keywords[] point into
 * *keywords_r when it is given (NULL entries otherwise); free the copies
 * with store_strv_free(*keywords_r, msg_r->n_keywords). */
int store_msg_get(struct store_mailbox *mbox, uint32_t uid, struct store_msg *msg_r,
		  char ***keywords_r /* optional, heap copies */);

/* Open a message's bytes for reading: a read-only fd positioned at 0 and its
 * size. The fd stays valid even if the message is expunged meanwhile. The
 * caller closes the fd. Returns STORE_ENOTFOUND for an expunged UID. */
int store_msg_open(struct store_mailbox *mbox, uint32_t uid, int *fd_r, uint64_t *size_r);

/* Cached parsed metadata (BODYSTRUCTURE, ENVELOPE, ...): an opaque blob the
 * message-parsing layer defines. Get returns STORE_ENOTFOUND when absent. */
int store_msg_cache_get(struct store_mailbox *mbox, uint32_t uid, void **data_r, size_t *len_r);
int store_msg_cache_set(struct store_mailbox *mbox, uint32_t uid, const void *data, size_t len);

/* ---- append (streamed) ---- */

struct store_append;
/* Start appending to a mailbox by name (no view needed: LMTP, APPEND). */
int store_append_begin(struct store_user *user, const char *mailbox,
		       struct store_append **app_r);
/* Write the next chunk of the message to the temporary file. Returns
 * STORE_ETOOBIG past max_message_size, STORE_EIO on write failure. */
int store_append_write(struct store_append *app, const void *data, size_t len);
struct store_append_meta {
	uint32_t flags;             /* STORE_FLAG_* (RECENT ignored) */
	const char *const *keywords; size_t n_keywords;
	int64_t internal_date;      /* 0 = now */
};
/* fsync the file, assign a UID in a durable index commit and move the file
 * into the Maildir. On success the message is durable and *uid_r,
 * *uidvalidity_r are set (either may be NULL). Always frees app. */
int store_append_commit(struct store_append **app, const struct store_append_meta *meta,
			uint32_t *uid_r, uint32_t *uidvalidity_r);
/* Discard the temporary file. Always frees app. */
void store_append_abort(struct store_append **app);

/* ---- changes on a view ---- */

/* Which UIDs a conditional store failed (UNCHANGEDSINCE), sorted. */
struct store_uid_list { uint32_t *uids; size_t count; };
void store_uid_list_free(struct store_uid_list *list);

enum store_flags_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };
/* Apply a flag/keyword change to every existing message whose UID is in
 * uids[] (sorted, may contain UIDs that no longer exist: skipped). If
 * unchangedsince != 0, messages whose modseq is greater are left alone and
 * listed in *failed_r (optional). Every changed message gets a new MODSEQ.
 * Returns STORE_OK even when some failed the condition. */
int store_flags_update(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		       enum store_flags_op op, uint32_t flags,
		       const char *const *keywords, size_t n_keywords,
		       uint64_t unchangedsince, struct store_uid_list *failed_r);

/* Expunge the listed UIDs (tombstones keep UID and MODSEQ for QRESYNC). With
 * only_deleted, only messages flagged \Deleted are removed (EXPUNGE / UID
 * EXPUNGE); *expunged_r (optional) gets the UIDs actually removed. */
int store_expunge(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		  bool only_deleted, struct store_uid_list *expunged_r);

/* Copy (or move: copy then expunge in the same commit) messages to another
 * mailbox of the same user, keeping flags, keywords and internal date. On
 * success src_uids_r/dst_uids_r (optional) list the pairs (COPYUID) and
 * *dst_uidvalidity_r the target's UIDVALIDITY. */
int store_copy(struct store_mailbox *src, const uint32_t *uids, size_t n_uids,
	       const char *dst_mailbox, bool move,
	       struct store_uid_list *src_uids_r, struct store_uid_list *dst_uids_r,
	       uint32_t *dst_uidvalidity_r);

/* Changes since a MODSEQ (CONDSTORE/QRESYNC): cb for each message whose
 * MODSEQ > since (in MODSEQ order), and the UIDs expunged with MODSEQ > since
 * (sorted) in *vanished_r. Cost grows with the number of changes, not with
 * the mailbox size. */
int store_changes_since(struct store_mailbox *mbox, uint64_t since,
			store_msg_cb *changed_cb, void *ctx,
			struct store_uid_list *vanished_r);

/* ---- change notification ---- */

/* Called after every commit that changed the mailbox, made by this process
 * (any thread) or another process, and after external Maildir changes were
 * reconciled. Runs on a store thread: keep it short (e.g. uv_async_send) and
 * never call back into the store from it. */
struct store_change {
	const char *user;
	const char *mailbox;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
};
typedef void store_watch_cb(const struct store_change *change, void *ctx);
struct store_watch;
/* STORE_ENOTFOUND if the mailbox does not exist. A watch keeps the user's
 * environment open until it is removed. */
int store_watch_add(struct store_user *user, const char *mailbox, store_watch_cb *cb,
		    void *ctx, struct store_watch **watch_r);
/* After it returns the callback is not running and will not run again. */
void store_watch_remove(struct store_watch **watch);

/* ---- maintenance (loft index check|rebuild, loft deliver) ---- */

struct store_check_report {
	size_t mailboxes;
	size_t messages;
	size_t problems;          /* 0 = consistent */
	char **lines;             /* human-readable problem descriptions */
	size_t n_lines;
};
void store_check_report_free(struct store_check_report *report);
/* Compare index and Maildir of a user without changing anything. */
int store_index_check(struct store *store, const char *user, struct store_check_report *report_r);
/* Progress callback for rebuild: done of total messages scanned (called on
 * a store writer thread). Rebuild returns STORE_EINUSE while the user is
 * open in this process (run it offline, as `loft index rebuild` does). */
typedef void store_progress_cb(size_t done, size_t total, void *ctx);
/* Rebuild the user's index from the Maildir alone, keeping UIDs, flags,
 * keywords and sizes recorded in file names and UIDVALIDITY where known. */
int store_index_rebuild(struct store *store, const char *user,
			store_progress_cb *progress, void *ctx);

#endif
