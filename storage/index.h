/* The LMDB index of one user (internal to storage/): opening the environment
 * and its tables, short read transactions from a pool of reset handles,
 * typed get/put helpers over the layouts of index-schema.h, and iterators.
 * Mutating helpers run inside a write transaction owned by the writer thread
 * (writer.c) and keep every derived table and counter (modseq index,
 * tombstones, mailbox counters) consistent in that same transaction.
 * Files: index.c (environment, meta, messages, tombstones, iterators: the
 * only cursors on the message tables), index-mbox.c (mailbox records),
 * index-tables.c (keywords, subscriptions, parse cache, spam verdicts),
 * index-annot.c (annotations). */
#ifndef LOFT_STORAGE_INDEX_H
#define LOFT_STORAGE_INDEX_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/mailbox-name.h"
#include "storage/store.h"

#define IDX_BASE_MAX STORE_ID_SRC_MAX

struct idx_dbis {
	MDB_dbi meta, mbox_by_name, mailboxes, msgs, modseq, expunged, keywords, kwid, subs, cache,
		spam, mbox_keys, annot;
};

/* One open environment. The read pool holds reset MDB_NOTLS read handles so a
 * read costs a renew, not a reader-slot allocation. */
struct idx {
	MDB_env *env;
	struct idx_dbis dbi;
	pthread_mutex_t rlock;
	MDB_txn **rpool;
	size_t n_rpool, rpool_cap;
	/* Held shared by every live transaction of this process, exclusively
	 * to resize the map (LMDB: no transaction may be active then). */
	pthread_rwlock_t maplock;
	bool map_recorded;       /* our map size is in meta "map_size" */
	char *dir;               /* for reopening after MDB_PANIC */
	size_t map_size;
};

/* Decoded mailbox record. */
struct idx_mbox {
	uint32_t id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t recent_uid, special_use;
	uint32_t messages, unseen, deleted;
	uint64_t size, vsize;
	int64_t cur_stamp, new_stamp;
	char name[MAILBOX_NAME_MAX + 1];
};

/* Decoded message record. */
struct idx_msg {
	uint32_t uid, flags;
	uint64_t modseq;
	int64_t internal_date;
	int64_t save_date;       /* seconds since the epoch; 0 = unknown */
	uint64_t size, vsize;
	uint16_t n_keywords;
	uint16_t keywords[STORE_MAX_KEYWORDS_PER_MSG];
	char base[IDX_BASE_MAX];
	char origin[IDX_BASE_MAX];  /* base of the message this is a copy of
				     * (EMAILID source); "" = itself */
};

/* Map an LMDB/errno return code to a store_error (MAP_FULL, ENOSPC, EIO ->
 * STORE_EIO, NOTFOUND -> STORE_ENOTFOUND, corrupt page -> STORE_ECORRUPT),
 * logging the detail. 0 stays 0. */
int idx_err(int rc, const char *what);

/* Create (if missing) and open <index_dir> with all tables. map_size 0 =
 * 4 GiB. Returns a store_error. */
int idx_open(struct idx *idx, const char *index_dir, size_t map_size);
void idx_close(struct idx *idx);

/* True when the map is nearly full: fewer than a reserve of pages remain
 * (unused map plus the free list). Growth ops (append, copy, cache) then fail
 * with STORE_EIO so that deletions, which also need pages, still fit and the
 * user can make room. */
bool idx_space_low(struct idx *idx, MDB_txn *txn);

/* Short read transactions. A map grown by another process
 * (MDB_MAP_RESIZED) is adopted and the begin retried. */
int idx_read_begin(struct idx *idx, MDB_txn **txn_r);
void idx_read_end(struct idx *idx, MDB_txn *txn);

/* The writer's top-level write transaction: begin (adopting a resized map
 * like idx_read_begin), and end after its commit or abort. */
int idx_write_begin(struct idx *idx, MDB_txn **txn_r);
void idx_write_end(struct idx *idx);

/* Map sizes across processes. Every process on a user may configure its
 * own lmdb_map_size; the map in use is the largest any writer recorded (meta
 * "map_size"), so a smaller setting elsewhere neither fails reads
 * (MDB_MAP_RESIZED) nor fills up (MDB_MAP_FULL) below another's size.
 * idx_map_record notes ours inside a write transaction about to commit.
 * idx_map_full_seen tells whether this thread hit a full map (LMDB's
 * MDB_MAP_FULL or idx_space_low) since the last call, and clears it;
 * idx_map_adopt then grows the map to the largest recorded or current
 * LMDB size, when no transaction of this process is active (it waits for
 * them briefly), and returns whether it grew. */
void idx_map_record(struct idx *idx, MDB_txn *txn);
bool idx_map_full_seen(void);
bool idx_map_adopt(struct idx *idx);

/* meta table. get returns STORE_ENOTFOUND when absent. */
int idx_meta_get(struct idx *idx, MDB_txn *txn, const char *key, uint64_t *v_r);
int idx_meta_put(struct idx *idx, MDB_txn *txn, const char *key, uint64_t v);
int idx_meta_del(struct idx *idx, MDB_txn *txn, const char *key);
/* Allocate the next value of a counter in meta (first value: start). */
int idx_meta_next(struct idx *idx, MDB_txn *txn, const char *key, uint64_t start, uint64_t *v_r);

/* Mailboxes. */
int idx_mbox_decode(const MDB_val *key, const MDB_val *val, struct idx_mbox *mb_r);
int idx_mbox_by_name(struct idx *idx, MDB_txn *txn, const char *name, struct idx_mbox *mb_r);
int idx_mbox_get(struct idx *idx, MDB_txn *txn, uint32_t id, struct idx_mbox *mb_r);
/* Write the record and (when insert) the name mapping. */
int idx_mbox_put(struct idx *idx, MDB_txn *txn, const struct idx_mbox *mb, bool insert);
/* Change a mailbox's name (record and name mapping); mb->name is updated. */
int idx_mbox_rename(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const char *new_name);
/* Names of mailbox `name`'s children ("name/..."), heap array. */
int idx_mbox_children(struct idx *idx, MDB_txn *txn, const char *name, char ***names_r,
		      size_t *count_r);
/* Remove the record, its name mapping and every msgs/modseq/expunged/cache/
 * mbox_keys/annot entry of the mailbox. */
int idx_mbox_drop(struct idx *idx, MDB_txn *txn, const struct idx_mbox *mb);
/* Total bytes and messages over all mailboxes (quota usage). */
int idx_usage(struct idx *idx, MDB_txn *txn, uint64_t *bytes_r, uint64_t *messages_r);
/* A fresh UIDVALIDITY (strictly increasing per user, seeded by the clock). */
int idx_new_uidvalidity(struct idx *idx, MDB_txn *txn, uint32_t *uidvalidity_r);

/* Messages. */
int idx_msg_decode(const MDB_val *key, const MDB_val *val, struct idx_msg *m_r);
int idx_msg_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, struct idx_msg *m_r);
/* Insert a new message: m->modseq = ++mb->highestmodseq, counters updated in
 * *mb (the caller writes mb back with idx_mbox_put). */
int idx_msg_insert(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, struct idx_msg *m);
/* Insert with the modseq already in m (rebuild keeping old modseqs);
 * mb->highestmodseq is raised to it when lower. */
int idx_msg_insert_at(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *m);
/* Replace old by m (same uid) with a new modseq; counters in *mb. */
int idx_msg_update(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *old,
		   struct idx_msg *m);
/* Rewrite a record in place without a new modseq (repairs, rebuild). */
int idx_msg_put_raw(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const struct idx_msg *m);
/* Remove a message: tombstone with a new modseq, cache entry dropped,
 * counters in *mb. */
int idx_msg_remove(struct idx *idx, MDB_txn *txn, struct idx_mbox *mb, const struct idx_msg *m);

/* Iterators over one table range, in key order. Each _next returns 1 with
 * the next row, 0 at the end, or a negative store_error. Rows are decoded
 * into caller-owned structs. A write iterator (write txn) must not be used
 * after the caller writes the same table: collect, close, then write. Close
 * every opened iterator (also after an error). */
struct idx_iter {
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned char key[16];
	size_t klen, prefix;
	bool started, done;
};
void idx_iter_close(struct idx_iter *it);
/* Messages of a mailbox with uid >= uid_lo, in UID order. */
int idx_msg_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid_lo,
		      struct idx_iter *it);
int idx_msg_iter_next(struct idx_iter *it, struct idx_msg *m_r);
/* The same, UIDs only (no record decoding: view building). */
int idx_msg_iter_next_uid(struct idx_iter *it, uint32_t *uid_r);
/* (modseq, uid) of live messages with modseq > since, in MODSEQ order. */
int idx_modseq_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
			 struct idx_iter *it);
int idx_modseq_iter_next(struct idx_iter *it, uint64_t *modseq_r, uint32_t *uid_r);
/* Tombstones with modseq > since, in MODSEQ order; *time_r is the expunge
 * time in seconds (0 = unknown, written before times were kept). */
int idx_tomb_iter_open(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
		       struct idx_iter *it);
int idx_tomb_iter_next(struct idx_iter *it, uint64_t *modseq_r, uint32_t *uid_r,
		       int64_t *time_r);
/* Every mailbox record, in id order. */
int idx_mbox_iter_open(struct idx *idx, MDB_txn *txn, struct idx_iter *it);
int idx_mbox_iter_next(struct idx_iter *it, struct idx_mbox *mb_r);

/* Tombstones: put one (rebuild keeps old ones; when = expunge time), the
 * highest MODSEQ pruned so far (0 = none: every tombstone is still there),
 * and pruning by retention: the oldest first, while more than max_count
 * remain (0 = no count limit) or they are older than max_age seconds at
 * `now` (0 = no age limit), at most `limit` per call so a write stays
 * bounded. The highest pruned MODSEQ is recorded in the same txn. */
struct idx_prune {
	uint64_t max_count;
	int64_t max_age, now;
	size_t limit;
};
int idx_tomb_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq, uint32_t uid,
		 int64_t when);
int idx_tomb_pruned(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t *modseq_r);
int idx_tomb_set_pruned(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t modseq);
int idx_tomb_prune(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const struct idx_prune *p,
		   size_t *pruned_r);

/* Keywords. idx_keyword_id with create allocates a new id (*created_r). */
bool idx_keyword_valid(const char *name);
int idx_keyword_id(struct idx *idx, MDB_txn *txn, const char *name, bool create, uint16_t *id_r,
		   bool *created_r);
/* Heap copy of a keyword's name, or NULL if the id is unknown. */
char *idx_keyword_name(struct idx *idx, MDB_txn *txn, uint16_t id);
/* All keyword names indexed by id (holes NULL), for loft-keywords. */
int idx_keyword_table(struct idx *idx, MDB_txn *txn, char ***names_r, size_t *count_r);
/* Write a name <-> id pair as is (rebuild keeping old ids). */
int idx_keyword_put(struct idx *idx, MDB_txn *txn, const char *name, uint16_t id);

/* Subscriptions (names need not exist as mailboxes). */
int idx_subs_set(struct idx *idx, MDB_txn *txn, const char *name, bool subscribe);
bool idx_subs_has(struct idx *idx, MDB_txn *txn, const char *name);
int idx_subs_list(struct idx *idx, MDB_txn *txn, char ***names_r, size_t *count_r);

/* The parse cache: get returns STORE_ENOTFOUND when absent; *data_r is heap. */
int idx_cache_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, void **data_r,
		  size_t *len_r);
int idx_cache_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid, const void *data,
		  size_t len);

/* Spam verdicts (IDX_SPAM_V1): get returns STORE_ENOTFOUND when absent.
 * carry copies the source message's verdict, if any, to a new message
 * (copy and move keep it); removal goes with idx_msg_remove and the
 * mailbox drop. */
int idx_spam_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid,
		 struct store_spam *spam_r);
int idx_spam_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint32_t uid,
		 const struct store_spam *spam);
int idx_spam_carry(struct idx *idx, MDB_txn *txn, uint32_t src_mbox, uint32_t src_uid,
		   uint32_t dst_mbox, uint32_t dst_uid);
/* Mailbox access keys (store_mailbox_key): get returns STORE_ENOTFOUND
 * when the mailbox has none; del of a missing key is not an error;
 * del_all empties the table. */
int idx_mbox_key_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, unsigned char *key,
		     size_t len);
int idx_mbox_key_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const unsigned char *key,
		     size_t len);
int idx_mbox_key_del(struct idx *idx, MDB_txn *txn, uint32_t mbox_id);
int idx_mbox_key_del_all(struct idx *idx, MDB_txn *txn);

/* Annotations (store_annot_*), mailbox id 0 for the server's. Get returns
 * STORE_ENOTFOUND when absent (val_r points into the transaction's map);
 * del of a missing entry is not an error. Each calls fn for every entry
 * of the mailbox that starts with prefix ("" = all), in name order, and
 * stops at fn's nonzero return, which it returns. Move hands every entry
 * of from to to (RENAME INBOX). */
int idx_annot_get(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry,
		  const void **val_r, size_t *len_r);
int idx_annot_put(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry,
		  const void *val, size_t len);
int idx_annot_del(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *entry);
typedef int idx_annot_fn(void *ctx, const char *entry, size_t entry_len, const void *val,
			 size_t len);
int idx_annot_each(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, const char *prefix,
		   idx_annot_fn *fn, void *ctx);
int idx_annot_move(struct idx *idx, MDB_txn *txn, uint32_t from, uint32_t to);
/* Copy every entry of mailbox from_id in one index to to_id in another
 * (index rebuild). */
int idx_annot_copy(struct idx *from, MDB_txn *ftxn, uint32_t from_id, struct idx *to,
		   MDB_txn *ttxn, uint32_t to_id);

/* Maildir letters <-> keyword ids 0..25. */
uint32_t idx_msg_keyword_bits(const struct idx_msg *m);

#endif
