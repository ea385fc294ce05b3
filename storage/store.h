/* The mail store: the only storage header front ends, CLI commands and tests
 * include. A user's mail is a self-contained directory: a Maildir++ tree plus
 * an LMDB index beside it. Everything here is thread-safe and synchronous:
 * reads run in short LMDB read transactions on the calling thread; mutations
 * are queued to the store's writer threads, which batch whatever is waiting
 * into one durable LMDB commit (group commit) and wake the callers. Callers on
 * an event loop therefore call mutating functions (and message reads) from the
 * libuv thread pool, never from the loop thread itself.
 *
 * The *_async variants queue the same work and return at once; their
 * callback runs on a store writer thread after the durable commit (keep it
 * short, never call back into the store from it).
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

#include "storage/message/message.h"

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
/* Length of the object ids (RFC 8474 EMAILID, MAILBOXID) and POP3 UIDLs,
 * without their one-letter prefix. */
#define STORE_ID_LEN 20
/* Descriptors one open user environment holds for as long as it is cached
 * (index_cache_size of them at most): LMDB's data file, lock file and
 * meta-sync descriptor, and the index's notify file. A unit test checks it. */
#define STORE_USER_FDS 4

struct store;          /* the store of a whole server or tool process */
struct store_user;     /* one user's opened store (shared, ref-counted) */
struct store_mailbox;  /* one opened mailbox view (per session) */

/* How concurrent store_spool_sync calls make their files durable. */
enum store_spool_sync {
	/* Each spool fdatasyncs its own file at once; concurrent fdatasyncs
	 * share the file system journal's commits (ext4, XFS). */
	STORE_SPOOL_SYNC_FILE = 0,
	/* One thread at a time syncs every spool that is waiting, with one
	 * syncfs(2) of the mail_dir file system when there are several (a
	 * single one: fdatasync); the others wait for its round. */
	STORE_SPOOL_SYNC_GROUP = 1,
};

struct store_settings {
	const char *mail_dir;       /* users' directories are mail_dir/<user> */
	size_t lmdb_map_size;       /* bytes, sparse; 0 = default (4 GiB) */
	unsigned index_cache_size;  /* open user environments kept (LRU); 0 = 1024 */
	unsigned writer_threads;    /* 0 = 2 */
	uint64_t quota_bytes;       /* default per-user quota, 0 = unlimited */
	uint64_t quota_messages;
	uint64_t max_message_size;  /* 0 = unlimited */
	bool watch_external;        /* run the notify thread (inotify); servers: true */
	unsigned batch_messages;    /* messages per durable batch of the ranged
				     * operations (*_set); 0 = 1000 */
	uint64_t tombstone_max_age; /* seconds an expunge tombstone is kept;
				     * 0 = for ever */
	uint64_t tombstone_max_count; /* tombstones kept per mailbox; 0 = all */
	struct msg_limits msg_limits; /* message parsing (all zero = defaults) */
	enum store_spool_sync spool_sync; /* how store_spool_sync batches */
};

/* ---- store and users ---- */

int store_create(const struct store_settings *set, struct store **store_r);
/* The limits messages are parsed under (for callers that parse a message
 * as it streams by, e.g. delivery's spool). Valid while the store is. */
const struct msg_limits *store_msg_limits(const struct store *store);
/* Waits for queued writes, stops threads, closes all environments. */
void store_destroy(struct store **store);

/* Open (creating the directory, INBOX and index if missing) a user's store.
 * The user name must be a valid user name (no '/', no leading '.'). Opening
 * reconciles the Maildir with the index (files added or removed by other
 * programs). Opens of the same user share one environment. */
int store_user_open(struct store *store, const char *user, struct store_user **user_r);
/* store_user_open for deliveries: the whole reconcile runs only the first
 * time this process opens the user's environment (while it stays cached,
 * other programs' changes reach the index through the change watcher, and
 * each append reconciles the mailbox it goes to inside its own commit).
 * Many concurrent deliveries to one user so cost no extra commits. */
int store_user_attach(struct store *store, const char *user, struct store_user **user_r);
/* store_user_open for a user whose store exists already, never creating
 * one: STORE_ENOTFOUND for a user that never received mail or logged in
 * (reading another user's mail on their authorization, IMAP URLAUTH). */
int store_user_open_existing(struct store *store, const char *user, struct store_user **user_r);
void store_user_close(struct store_user **user);
const char *store_user_name(const struct store_user *user);
/* The user's directory (for tools and tests; front ends must not use it). */
const char *store_user_dir(const struct store_user *user);

/* Per-user quota override (0 = use the store default, UINT64_MAX = unlimited). */
int store_user_set_quota(struct store_user *user, uint64_t bytes, uint64_t messages);
/* The override as set (0 = none): a read, so a caller can skip a durable
 * write when the override it wants is already there. */
int store_user_get_quota(struct store_user *user, uint64_t *bytes_r, uint64_t *messages_r);
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
	uint64_t pruned_modseq;   /* highest MODSEQ whose expunge tombstone was
				   * pruned (retention); 0 = none. Changes since
				   * a MODSEQ below it cannot list every
				   * expunged UID (QRESYNC falls back to
				   * known-uids). */
	uint64_t vsize;           /* sum of RFC822.SIZEs (every line end CRLF) */
	uint64_t deleted_size;    /* bytes of the \Deleted messages, as stored
				   * (STORE_STATUS_DELETED_SIZE only) */
	/* RFC 8474 MAILBOXID: "F" + STORE_ID_LEN characters of
	 * [A-Za-z0-9_-], derived from the user and the mailbox's UIDVALIDITY.
	 * A mailbox gets its UIDVALIDITY when it is created and keeps it
	 * through RENAME (its folder and loft-uidvalidity file move along)
	 * and `loft index rebuild`; the user's UIDVALIDITYs only grow, so no
	 * other mailbox of the user ever has it (RENAME INBOX makes a new
	 * mailbox, with a new one). */
	char mailboxid[STORE_ID_LEN + 2];
};
/* Counters without opening a view (STATUS, LIST-STATUS). */
int store_status(struct store_user *user, const char *name, struct store_status *status_r);
/* store_status() plus recent: the messages no view has claimed yet, that
 * is what the next read-write open will report as \Recent (IMAP4rev1
 * STATUS RECENT). Costs a scan over those messages. */
int store_status_recent(struct store_user *user, const char *name, struct store_status *status_r);
/* store_status() plus what `what` asks for, each at the cost of a scan of
 * the mailbox's records in the same read: STORE_STATUS_RECENT (recent, as
 * store_status_recent) and STORE_STATUS_DELETED_SIZE (deleted_size: what
 * an EXPUNGE would give back to the quota, RFC 9208 DELETED-STORAGE). */
#define STORE_STATUS_RECENT 1u
#define STORE_STATUS_DELETED_SIZE 2u
int store_status_items(struct store_user *user, const char *name, unsigned what,
		       struct store_status *status_r);

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

/* ---- mailbox access keys (for URL authorization, IMAP URLAUTH) ----
 * A random secret per mailbox, kept in the user's index, that a front end
 * keys its authorization tokens for the mailbox's messages with. Get
 * returns the key and the mailbox's UIDVALIDITY; without a key it makes
 * one when create is true (one durable commit; a key another session made
 * meanwhile is kept) and otherwise returns STORE_ENOTFOUND, as it does for
 * a mailbox that does not exist. Reset forgets the key of one mailbox, or
 * of every mailbox (mailbox NULL), so every token made with it stops
 * verifying; a deleted mailbox's key goes with it. Pool thread. */
#define STORE_MAILBOX_KEY_LEN 32
int store_mailbox_key(struct store_user *user, const char *mailbox, bool create,
		      unsigned char key_r[STORE_MAILBOX_KEY_LEN], uint32_t *uidvalidity_r);
int store_mailbox_key_reset(struct store_user *user, const char *mailbox);

/* ---- annotations (IMAP METADATA, RFC 5464) ----
 * Named values of a mailbox, or of the user's whole store (mailbox NULL),
 * kept in the user's index. Entry names are '/'-separated paths; the
 * caller checks their syntax and case (the store compares bytes). Get
 * returns, for each name in entries, the entry itself when it exists and
 * the entries below it down to depth levels (0: none, 1: children,
 * STORE_ANNOT_INFINITY: all), in that order, each name's in name order;
 * STORE_ENOTFOUND for a mailbox that does not exist. Set applies all of
 * changes (value NULL deletes the entry) in one durable commit, or none:
 * STORE_ETOOBIG when a value is longer than max_value, STORE_EQUOTA when
 * the mailbox (or the server) would have more than max_entries. A
 * mailbox's annotations follow it through a rename (INBOX's move to the
 * new mailbox with its messages) and go away with it. Pool thread. */
#define STORE_ANNOT_INFINITY (-1)
struct store_annot {
	char *entry;
	char *value;            /* NUL-terminated (a value may hold NULs) */
	size_t len;
};
struct store_annot_limits {
	size_t max_value;
	size_t max_entries;
};
int store_annot_get(struct store_user *user, const char *mailbox, const char *const *entries,
		    size_t n_entries, int depth, struct store_annot **list_r, size_t *n_r);
void store_annot_free(struct store_annot *list, size_t n);
/* changes[i].value NULL deletes changes[i].entry. */
int store_annot_set(struct store_user *user, const char *mailbox,
		    const struct store_annot *changes, size_t n,
		    const struct store_annot_limits *lim);

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
/* \Recent is a hint, claimed in memory: each user environment keeps per
 * mailbox the UID up to which a read-write view of this process claimed,
 * and writes it to the index lazily with the next commit of that user
 * (never a commit of its own). A crash forgets claims made since that
 * commit, so those messages are \Recent again for the next session; two
 * processes opening one mailbox at once may both see them \Recent.
 * Recent UIDs claimed by this view (sorted). Borrowed until close. */
const uint32_t *store_mailbox_recent(struct store_mailbox *mbox, size_t *count_r);

/* Object ids (RFC 8474) and the POP3 UIDL: STORE_ID_LEN characters of
 * [A-Za-z0-9_-] derived from the message file's base name (which is in the
 * file name, never changes and is never reused), so they survive
 * `loft index rebuild`. uidl is unique per message file; emailid is shared
 * by a message's copies (made by store_copy*) and moves keep both. A copy's
 * emailid is kept in the index only: a rebuild without a readable old index
 * gives a copy an emailid of its own. THREADID is not provided (NIL). */
#define STORE_ID_SRC_MAX 128

/* A message's per-message state as read from the index. */
struct store_msg {
	uint32_t uid;
	uint32_t flags;           /* STORE_FLAG_*, without RECENT */
	uint64_t modseq;
	int64_t internal_date;    /* seconds since the epoch */
	/* When the message was saved into this mailbox (RFC 8514: APPEND,
	 * COPY, MOVE, delivery, adoption of a file found in the Maildir);
	 * 0 = unknown (indexed before save dates were kept). */
	int64_t save_date;
	uint64_t size;            /* physical bytes as stored */
	uint64_t vsize;           /* bytes with every line ending as CRLF (RFC822.SIZE) */
	uint16_t n_keywords;
	const char *keywords[STORE_MAX_KEYWORDS_PER_MSG]; /* borrowed during the callback */
	/* Opaque identity of the message's file (and of the message it is a
	 * copy of, "" if none): inputs of store_msg_uidl/store_msg_emailid,
	 * which compute the ids only when asked (a FLAGS scan pays nothing). */
	char id_base[STORE_ID_SRC_MAX];
	char id_origin[STORE_ID_SRC_MAX];
};
/* POP3 UIDL: unique per message file, never reused. */
void store_msg_uidl(const struct store_msg *msg, char uidl_r[STORE_ID_LEN + 1]);
/* RFC 8474 EMAILID ("M" + id): shared by a message's copies. */
void store_msg_emailid(const struct store_msg *msg, char emailid_r[STORE_ID_LEN + 2]);
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
 * message-parsing layer defines. Get returns STORE_ENOTFOUND when absent.
 * The blob written at delivery rides the append's own commit
 * (store_append_meta.cache). store_msg_cache_set is for lazily re-parsed
 * entries: it costs no durable commit of its own; it is committed without
 * fsync (with whatever else the writer batches) and made durable by the
 * next durable commit of the user. A crash may lose it (the message is
 * parsed again); it never loses or changes a message. Returns after the
 * non-durable commit, so a following get sees it. */
int store_msg_cache_get(struct store_mailbox *mbox, uint32_t uid, void **data_r, size_t *len_r);
int store_msg_cache_set(struct store_mailbox *mbox, uint32_t uid, const void *data, size_t len);
/* The parsed structure of a message (storage/message/message.h): from the
 * cache written at append time, or parsed from the file when the entry is
 * missing or from an older parser (then cached again, lazily: no commit is
 * waited for). STORE_ENOTFOUND for an expunged UID. Free with
 * msg_info_free(). */
int store_msg_info(struct store_mailbox *mbox, uint32_t uid, struct msg_info **info_r);

/* Every keyword name the user's messages have used (keywords are per user,
 * created by the first store or append that names them), sorted by name
 * ASCII case-insensitively. Free with store_strv_free. */
int store_keywords(struct store_user *user, char ***names_r, size_t *count_r);

/* Streaming a message as IMAP and POP3 count it: every bare LF becomes CRLF
 * (RFC822.SIZE, BODY[]<partial>, POP3 octets). A file already in CRLF form
 * (size == vsize) is read as is. Otherwise the reader keeps a sparse index
 * of checkpoints (one per 64 KiB of file) built by one pass over the file
 * the first time a message is opened and cached per user environment, so a
 * seek costs one pread of at most 64 KiB whichever offset it asks for (a
 * file of at most 64 KiB needs no index and no pass). */
struct store_reader;
int store_reader_open(struct store_mailbox *mbox, uint32_t uid, struct store_reader **reader_r,
		      uint64_t *vsize_r);
/* Position at a CRLF-normalised offset (past the end = at the end). */
int store_reader_seek(struct store_reader *reader, uint64_t offset);
/* Up to len bytes of the CRLF form; *got_r = 0 at the end. */
int store_reader_read(struct store_reader *reader, void *buf, size_t len, size_t *got_r);
/* Position at the CRLF form of raw file offset raw_offset (a line start,
 * e.g. where a MIME part begins, as storage/message/ ranges give it) and
 * say which CRLF offset that is: one pread of at most 64 KiB past the
 * checkpoint below it (none for a file already in CRLF form). */
int store_reader_seek_raw(struct store_reader *reader, uint64_t raw_offset, uint64_t *offset_r);
/* Up to len bytes of the file as stored, from raw_offset (the transfer
 * decoders of BINARY[] read these); does not move the reader. */
int store_reader_pread(struct store_reader *reader, uint64_t raw_offset, void *buf, size_t len,
		       size_t *got_r);
void store_reader_close(struct store_reader **reader);

/* ---- spam verdicts ----
 * What a spam filter (rspamd at delivery, server/spam/) said about a
 * message, kept in the index beside it: Sieve's spamtest and IMAP SEARCH
 * read it back. Written with the message (store_append_meta.spam) in the
 * append's own commit; copy and move carry it to the new message; expunge
 * removes it. A rebuild from the Maildir alone does not restore it (the
 * X-Spam headers stay in the message). */
enum store_spam_verdict {
	STORE_SPAM_NONE = 0,      /* not looked at: nothing is stored */
	STORE_SPAM_HAM = 1,       /* scanned, not spam */
	STORE_SPAM_SPAM = 2,      /* scanned, spam (filed or flagged as such) */
	STORE_SPAM_UNSCANNED = 3, /* the filter was down: accepted unscanned */
};
struct store_spam {
	uint8_t verdict;          /* enum store_spam_verdict */
	uint8_t action;           /* the filter's action, opaque to the store
				   * (server/spam/spam.h enum spam_action) */
	int32_t score_milli;      /* score x 1000 (rspamd: 15.5 -> 15500) */
	int32_t required_milli;   /* the filter's reject threshold x 1000 */
};
/* The verdict stored with a message; STORE_ENOTFOUND when it has none
 * (never scanned, or expunged). Read-only, any thread but a loop's. */
int store_msg_spam_get(struct store_mailbox *mbox, uint32_t uid, struct store_spam *spam_r);

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
	const void *cache;          /* optional parse-cache blob, written in the
				     * append's commit (store_msg_cache_get) */
	size_t cache_len;
	struct store_spam spam;     /* verdict NONE = nothing stored */
};
/* fsync the file, assign a UID in a durable index commit and move the file
 * into the Maildir. On success the message is durable and *uid_r,
 * *uidvalidity_r are set (either may be NULL). Always frees app. */
int store_append_commit(struct store_append **app, const struct store_append_meta *meta,
			uint32_t *uid_r, uint32_t *uidvalidity_r);
/* Discard the temporary file. Always frees app. */
void store_append_abort(struct store_append **app);
/* The message is complete but is not committed yet (MULTIAPPEND keeps
 * several): fsync and close its temporary file and end the parse, so an
 * unfinished append holds no descriptor. Returns the append's sticky error
 * (STORE_ETOOBIG, STORE_EIO) or 0. Committing calls it when needed. */
int store_append_finish(struct store_append *app);
/* Bytes written so far. */
uint64_t store_append_size(const struct store_append *app);
/* Commit n appends to the same mailbox of the same user in one durable
 * writer op: all of them get UIDs (ascending, in order: uids_r[n]) or, on
 * any failure (quota over the whole set, a vanished mailbox, I/O), none
 * does and their files are discarded. metas[i] is for apps[i]. As with
 * store_append_commit, a crash after the files were renamed but before the
 * commit leaves them to be adopted by the next reconcile. Always frees the
 * apps (the array itself is the caller's). */
int store_append_commit_multi(struct store_append **apps, size_t n,
			      const struct store_append_meta *metas, uint32_t *uids_r,
			      uint32_t *uidvalidity_r);
/* REPLACE (RFC 8508): store_append_commit, and in the same durable commit
 * the expunge of old_uid from old (a mailbox of the same user, the
 * append's own or another; its tombstone as EXPUNGE leaves): other
 * sessions see both changes or neither. STORE_ENOTFOUND when old_uid is
 * gone (then *old_gone_r, optional, is true; nothing is appended) or the
 * append's mailbox is; STORE_ENOPERM for a read-only old. Always frees
 * app. */
int store_append_commit_replace(struct store_append **app, const struct store_append_meta *meta,
				struct store_mailbox *old, uint32_t old_uid, uint32_t *uid_r,
				uint32_t *uidvalidity_r, bool *old_gone_r);
/* store_append_commit without waiting: the file's fsync, the commit and
 * the rename run on a writer thread, which then calls cb(err, uid,
 * uidvalidity, ctx). meta (and its strings and cache blob) must stay valid
 * until cb runs. Always takes app. */
typedef void store_append_cb(int err, uint32_t uid, uint32_t uidvalidity, void *ctx);
void store_append_commit_async(struct store_append **app, const struct store_append_meta *meta,
			       store_append_cb *cb, void *ctx);

/* ---- a message spooled once, delivered to several mailboxes ----
 * LMTP/SMTP and `loft deliver` write a message once into a spool file
 * (<mail_dir>/.loft-spool/tmp/), make it durable once, and then give it to
 * each recipient with store_append_begin_spool(): a hard link into the
 * mailbox (no copy, no second fsync) where the file system allows one, else
 * a copy that is fsynced on the calling thread. Each recipient's append
 * commits through the writer's group commit like any other. A spool left
 * behind by a crash is removed after 36 hours (store_create).
 * Threads: every call may block (file I/O); one thread at a time per spool. */
struct store_spool;
/* headroom: bytes the spool may hold beyond max_message_size (the trace
 * header lines delivery adds to a message that is itself within it). */
int store_spool_create(struct store *store, uint64_t headroom, struct store_spool **spool_r);
/* Append bytes. STORE_ETOOBIG past max_message_size + headroom (sticky),
 * STORE_EIO on a write failure (sticky). */
int store_spool_write(struct store_spool *spool, const void *data, size_t len);
uint64_t store_spool_size(const struct store_spool *spool);
/* Make the spooled bytes durable (after the last write). Concurrent syncs
 * of the store's spools are batched (store_settings.spool_sync): one sync
 * round covers every spool that was waiting when it started. Returns 0,
 * the spool's sticky error, or STORE_EIO. */
int store_spool_sync(struct store_spool *spool);
/* A new read-only descriptor of the spooled bytes at offset 0 (the caller
 * closes it). */
int store_spool_open(struct store_spool *spool, int *fd_r);
/* Remove the spool file (the mailboxes keep their links) and free. */
void store_spool_free(struct store_spool **spool);
/* Start an append of the spooled message to a mailbox by name. With
 * prefix_len == 0 the message is the spool's bytes exactly, linked into
 * the mailbox when possible (the spool must have been synced: else
 * STORE_EINVALID); with a prefix (per-recipient header lines) the file is
 * the prefix followed by the spool's bytes, a copy. Either way the file is
 * durable when this returns; commit or abort it like any append.
 * STORE_ENOTFOUND when the mailbox does not exist, STORE_ETOOBIG past
 * max_message_size + the spool's headroom. */
int store_append_begin_spool(struct store_user *user, const char *mailbox,
			     struct store_spool *spool, const void *prefix, size_t prefix_len,
			     struct store_append **app_r);

/* ---- changes on a view ---- */

/* Which UIDs a conditional store failed (UNCHANGEDSINCE), sorted. */
struct store_uid_list { uint32_t *uids; size_t count; };
void store_uid_list_free(struct store_uid_list *list);

/* Compact UID sets: ascending, disjoint, non-adjacent inclusive ranges
 * (1:* is one range {1, UINT32_MAX}). */
struct store_uid_range { uint32_t lo, hi; };
struct store_uid_set { struct store_uid_range *ranges; size_t count, cap; };
/* Add a UID above every UID already in the set (extends the last range). */
void store_uid_set_push(struct store_uid_set *set, uint32_t uid);
/* Add lo..hi (lo <= hi), above every UID already in the set. */
void store_uid_set_push_range(struct store_uid_set *set, uint32_t lo, uint32_t hi);
uint64_t store_uid_set_size(const struct store_uid_set *set);
/* Whether uid is in the set (binary search). */
bool store_uid_set_has(const struct store_uid_set *set, uint32_t uid);
void store_uid_set_free(struct store_uid_set *set);

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

/* ---- ranged operations (STORE 1:*, UID EXPUNGE 1:*, COPY/MOVE 1:*) ----
 * The ranges (ascending, as struct store_uid_set) may span any number of
 * messages: no per-message array is built, and the work is split into
 * durable batches of batch_messages each (one writer op, one commit each,
 * group-committed with other sessions' writes). changed_cb (optional) runs
 * on the calling thread after each batch's commit, once per changed
 * message with its UID, new flags, keywords and MODSEQ, in UID order.
 * A crash between batches leaves the earlier batches applied and durable
 * and the later ones not applied: the client got no OK and repeats the
 * command; flag stores are idempotent, an expunge finds the rest, a move
 * finds the rest still in the source. A copy that fails after some batches
 * (not a crash) expunges the copies it made, so the destination shows no
 * new messages (RFC 3501 6.4.7); after a crash those copies stay. */
int store_flags_update_set(struct store_mailbox *mbox, const struct store_uid_range *ranges,
			   size_t n_ranges, enum store_flags_op op, uint32_t flags,
			   const char *const *keywords, size_t n_keywords,
			   uint64_t unchangedsince, store_msg_cb *changed_cb, void *ctx,
			   struct store_uid_set *failed_r);
/* *expunged_r (optional) gets the UIDs removed. */
int store_expunge_set(struct store_mailbox *mbox, const struct store_uid_range *ranges,
		      size_t n_ranges, bool only_deleted, struct store_uid_set *expunged_r);
/* COPYUID as compact sets: the i-th UID of src_r maps to the i-th of dst_r
 * (both ascending). */
int store_copy_set(struct store_mailbox *src, const struct store_uid_range *ranges,
		   size_t n_ranges, const char *dst_mailbox, bool move,
		   struct store_uid_set *src_r, struct store_uid_set *dst_r,
		   uint32_t *dst_uidvalidity_r);

/* store_flags_update / store_expunge without waiting: cb(err, ctx) runs on
 * a writer thread after the durable commit. uids, keywords and mbox must
 * stay valid (and mbox unused by others) until cb runs. */
typedef void store_done_cb(int err, void *ctx);
void store_flags_update_async(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
			      enum store_flags_op op, uint32_t flags,
			      const char *const *keywords, size_t n_keywords,
			      store_done_cb *cb, void *ctx);
void store_expunge_async(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
			 bool only_deleted, store_done_cb *cb, void *ctx);

/* ---- the session view: IMAP message sequence numbers ----
 * A view holds the UIDs a session knows, in runs of consecutive UIDs (8
 * bytes per run, so a mailbox whose UIDs are mostly consecutive costs a few
 * bytes however large it is), and changes only inside store_view_sync:
 * sequence numbers stay put during FETCH/STORE/SEARCH by number. Mapping
 * either way is a binary search over the runs: O(log runs). */
struct store_view;
/* Built from one read transaction (UIDs only, no record decoding). The
 * view borrows mbox: close the view before the mailbox. */
int store_view_open(struct store_mailbox *mbox, struct store_view **view_r);
void store_view_close(struct store_view **view);
uint32_t store_view_count(const struct store_view *view);      /* EXISTS */
/* 0 when out of range / not in the view. */
uint32_t store_view_uid(const struct store_view *view, uint32_t seq);
uint32_t store_view_seq(const struct store_view *view, uint32_t uid);
/* Sequence number of the first message with UID >= uid (count + 1 if none):
 * turns UID ranges into sequence ranges and back. */
uint32_t store_view_seq_ceil(const struct store_view *view, uint32_t uid);
/* Append to *set the UIDs of messages seq_lo..seq_hi (clamped to the view)
 * as ranges: O(log runs + runs covered), never one entry per message. The
 * UIDs must be above every UID already in *set. */
void store_view_uid_ranges(const struct store_view *view, uint32_t seq_lo, uint32_t seq_hi,
			   struct store_uid_set *set);
/* The HIGHESTMODSEQ / UIDNEXT of the last sync (or open). */
uint64_t store_view_highestmodseq(const struct store_view *view);
uint32_t store_view_uidnext(const struct store_view *view);
/* Bytes the view holds. */
size_t store_view_memory(const struct store_view *view);

struct store_view_ops {
	/* A message of the view was expunged: seq is its number at the moment
	 * of this call (calls come in ascending UID order, each after the
	 * previous removal, as IMAP EXPUNGE responses number them). */
	int (*expunged)(uint32_t seq, uint32_t uid, void *ctx);
	/* A message already in the view whose MODSEQ rose since the last sync
	 * (flags or keywords changed), with its state. */
	store_msg_cb *changed;
	/* A new message, appended to the view (seq = new count). */
	store_msg_cb *added;
};
struct store_view_sync_info {
	uint32_t exists;          /* messages in the view after the sync */
	uint32_t added, expunged, changed;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t pruned_modseq;   /* see struct store_status */
	bool expunges_pending;    /* STORE_VIEW_NO_EXPUNGE kept some back */
};
/* Do not remove expunged messages now (RFC 3501 7.4.1: no EXPUNGE during
 * FETCH, STORE or SEARCH by number); a later sync without it reports them. */
#define STORE_VIEW_NO_EXPUNGE 1u
/* Advance the view in one read transaction: new messages, messages whose
 * flags/MODSEQ changed, expunged UIDs, HIGHESTMODSEQ and UIDNEXT are all of
 * one committed state. The cost follows the changes, not the mailbox size
 * (a full UID compare only when the tombstones it needs were pruned).
 * Callbacks (all optional) run inside the read transaction: keep them
 * short, never call back into the store. STORE_ENOTFOUND once the mailbox
 * was deleted. */
int store_view_sync(struct store_view *view, unsigned flags, const struct store_view_ops *ops,
		    void *ctx, struct store_view_sync_info *info_r);

/* Changes since a MODSEQ (CONDSTORE/QRESYNC): cb for each message whose
 * MODSEQ > since (in MODSEQ order), and the UIDs expunged with MODSEQ > since
 * (sorted) in *vanished_r. Cost grows with the number of changes, not with
 * the mailbox size. When since < store_status.pruned_modseq, tombstones the
 * answer would need were pruned (retention) and *vanished_r is incomplete:
 * QRESYNC then answers from the client's known UIDs instead. */
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
/* Every change of any mailbox of the user (RFC 5465 NOTIFY follows many
 * mailboxes at once): cb gets each committed change with its mailbox, and
 * a change with mailbox NULL when another process committed (which
 * mailboxes is not known: re-read those of interest). Removed with
 * store_watch_remove. */
int store_watch_user_add(struct store_user *user, store_watch_cb *cb, void *ctx,
			 struct store_watch **watch_r);
/* After it returns the callback is not running and will not run again. */
void store_watch_remove(struct store_watch **watch);

/* ---- UIDLs of a previous server (migrations) ----
 * Reads <mailbox dir>/dovecot-uidlist, the UID list Dovecot keeps in a
 * Maildir (versions 1 and 3), and calls cb for every message of the view
 * whose file it names (matched by Maildir base name, which the store keeps
 * when it adopts a file): the P field (POP3 UIDL) when the line has one,
 * else format filled in like Dovecot's pop3_uidl_format with the old UID
 * (%u), UIDVALIDITY (%v) and file base (%f), numbers optionally as
 * "%08Xu" (0-padded width, X/x hex). UIDLs that are not 1-70 printable
 * characters, and any a line before already gave, are left out. The file
 * is only read, so the UIDLs survive `loft index rebuild`.
 * STORE_ENOTFOUND when the mailbox has no such file. Pool thread. */
typedef void store_legacy_uidl_cb(uint32_t uid, const char *uidl, void *ctx);
int store_legacy_uidls(struct store_mailbox *mbox, const char *format, store_legacy_uidl_cb *cb,
		       void *ctx);

/* ---- exclusive access (one POP3 session per user) ----
 * A named lock of a user, held by at most one holder at a time in any
 * process: an flock on <user dir>/loft-lock-<name> (name: 1-32 of
 * [a-z0-9-]), so the kernel frees it when the holder closes it or its
 * process dies. Take never waits: STORE_EINUSE while someone holds it.
 * *last_r (optional) is the time last given to store_lock_stamp (unix
 * seconds, 0 = never). Take and stamp do file I/O (pool thread); release
 * only closes a descriptor and may run on any thread. */
struct store_lock;
int store_lock_take(struct store_user *user, const char *name, struct store_lock **lock_r,
		    int64_t *last_r);
int store_lock_stamp(struct store_lock *lock, int64_t now);
void store_lock_release(struct store_lock **lock);

/* ---- filter scripts (Sieve; ManageSieve edits them) ----
 * Files in the user's own directory: <user dir>/sieve/<name>.sieve and a
 * symlink sieve/.active naming the active one (the directory stays
 * self-contained and movable). Names: 1..STORE_SCRIPT_NAME_MAX bytes of
 * UTF-8 without control characters (RFC 5804 1.6). Changes are atomic and
 * durable (written to a temporary file, fsynced, renamed; the directory
 * fsynced) and serialised per user by an flock. Every call does file I/O
 * (pool thread). */
#define STORE_SCRIPT_NAME_MAX 200
struct store_script_info {
	char *name;
	uint64_t size;
	bool active;
};
/* What a compiled copy must match to stay valid. */
struct store_script_stamp {
	int64_t mtime_ns;
	uint64_t size;
	uint64_t ino;
};
bool store_script_name_valid(const char *name);
/* Sorted by name. Free with store_script_list_free. */
int store_script_list(struct store_user *user, struct store_script_info **list_r, size_t *n_r);
void store_script_list_free(struct store_script_info *list, size_t n);
/* The text (NUL-terminated, heap) of a script of at most max bytes
 * (STORE_ETOOBIG beyond); stamp_r optional. STORE_ENOTFOUND. */
int store_script_read(struct store_user *user, const char *name, size_t max, char **text_r,
		      size_t *len_r, struct store_script_stamp *stamp_r);
int store_script_stamp(struct store_user *user, const char *name,
		       struct store_script_stamp *stamp_r);
/* The active script's name (heap), or STORE_ENOTFOUND when none is. */
int store_script_active(struct store_user *user, char **name_r);
/* Create or replace. */
int store_script_write(struct store_user *user, const char *name, const void *text, size_t len);
/* STORE_EINUSE for the active script (RFC 5804 2.10). */
int store_script_delete(struct store_user *user, const char *name);
/* STORE_EEXISTS when to exists; the active script stays active. */
int store_script_rename(struct store_user *user, const char *from, const char *to);
/* Make name the active script; NULL: none. STORE_ENOTFOUND. */
int store_script_activate(struct store_user *user, const char *name);

/* ---- tracking marks (Sieve vacation and duplicate) ----
 * 32-byte keys with an expiry time, in <user dir>/loft-marks. */
struct store_mark {
	unsigned char key[32];
	int64_t expires;          /* unix seconds */
	bool refresh;             /* replace an existing mark's expiry */
};
/* *seen_r: a mark with key exists and expires after now. */
int store_mark_check(struct store_user *user, const unsigned char key[32], int64_t now,
		     bool *seen_r);
/* Record marks (durably); expired ones are dropped, and beyond max (0: no
 * limit) the oldest. */
int store_mark_put(struct store_user *user, const struct store_mark *marks, size_t n,
		   int64_t now, size_t max);

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
