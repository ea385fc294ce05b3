/* Byte layout of every LMDB table of a user's index (internal to storage/).
 * All integers in keys are big-endian so that LMDB's memcmp order is numeric
 * order; values are packed byte strings that start with a version byte and are
 * encoded/decoded field by field (no struct padding ever reaches the disk).
 *
 * Tables (named LMDB sub-databases of <user dir>/index/):
 *   meta          ASCII key -> u32/u64 BE   "version", "next_mailbox_id",
 *                 "next_keyword_id", "uidvalidity_seed", "used_bytes",
 *                 "used_messages", "quota_bytes", "quota_messages" (override;
 *                 absent = store default)
 *   mbox_by_name  UTF-8 canonical name -> u32 BE mailbox id
 *   mailboxes     u32 BE id -> IDX_MBOX_V1 record (see struct idx_mbox)
 *   msgs          (u32 BE mailbox id, u32 BE uid) -> IDX_MSG_V1 record
 *   modseq        (u32 BE mailbox id, u64 BE modseq) -> u32 BE uid
 *   expunged      (u32 BE mailbox id, u64 BE modseq, u32 BE uid) -> empty
 *   keywords      keyword name -> u16 BE id
 *   kwid          u16 BE id -> keyword name
 *   subs          subscribed name -> empty
 *   cache         (u32 BE mailbox id, u32 BE uid) -> opaque blob
 *   spam          (u32 BE mailbox id, u32 BE uid) -> IDX_SPAM_V1 record
 *   mbox_keys     u32 BE mailbox id -> u8 version (1), then the mailbox's
 *                 random access key (URLAUTH, RFC 4467); created on first
 *                 use, so an index without the table gets it at its next
 *                 open
 *   annot         (u32 BE mailbox id, 0 = the server, then the entry name
 *                 "/private/..." or "/shared/...", lower-case ASCII) ->
 *                 u8 version (1), then the value bytes (IMAP METADATA,
 *                 RFC 5464); created at the next open like mbox_keys
 *
 * Mailbox record (IDX_MBOX_V1): u8 version, u32 uidvalidity, u32 uidnext,
 *   u64 highestmodseq, u32 recent_uid, u32 special_use, u32 messages,
 *   u32 unseen, u32 deleted, u64 size, u64 vsize, i64 cur_stamp_ns,
 *   i64 new_stamp_ns, then the name bytes (rest of the value, no NUL).
 * Message record (IDX_MSG_V2): u8 version, u32 flags, u64 modseq,
 *   i64 internal_date, u64 size, u64 vsize, i64 save_date (RFC 8514: when
 *   the message was saved into this mailbox), u16 n_keywords,
 *   u16 keyword_id[n_keywords], then the Maildir base name (rest, no NUL;
 *   a NUL and the origin base follow for a copy). IDX_MSG_V1 is the same
 *   without save_date (read as 0, unknown); records are rewritten as V2
 *   whenever they change.
 * Spam record (IDX_SPAM_V1): u8 version, u8 verdict, u8 action, u8 zero,
 *   i32 score_milli, i32 required_milli (two's complement, big-endian).
 *   Only messages a filter looked at have one; a longer value (a later
 *   version) is read for its first fields. */
#ifndef LOFT_STORAGE_INDEX_SCHEMA_H
#define LOFT_STORAGE_INDEX_SCHEMA_H

#include <stdint.h>
#include <string.h>

#define IDX_SCHEMA_VERSION 1u
#define IDX_MBOX_V1 1u
#define IDX_MSG_V1 1u
#define IDX_MSG_V2 2u
#define IDX_SPAM_V1 1u
#define IDX_ANNOT_V1 1u
#define IDX_SPAM_LEN 12

#define IDX_MBOX_FIXED_LEN (1 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 4 + 8 + 8 + 8 + 8)
#define IDX_MSG_FIXED_LEN (1 + 4 + 8 + 8 + 8 + 8 + 2)        /* V1 */
#define IDX_MSG_V2_FIXED_LEN (IDX_MSG_FIXED_LEN + 8)

/* Key lengths. */
#define IDX_MSG_KEY_LEN 8        /* mailbox id + uid */
#define IDX_MODSEQ_KEY_LEN 12    /* mailbox id + modseq */
#define IDX_EXPUNGED_KEY_LEN 16  /* mailbox id + modseq + uid */

static inline void idx_put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void idx_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void idx_put_u64(unsigned char *p, uint64_t v)
{
	idx_put_u32(p, (uint32_t)(v >> 32));
	idx_put_u32(p + 4, (uint32_t)v);
}

static inline uint16_t idx_get_u16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t idx_get_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t idx_get_u64(const unsigned char *p)
{
	return ((uint64_t)idx_get_u32(p) << 32) | idx_get_u32(p + 4);
}

/* Composite keys. */
static inline void idx_msg_key(unsigned char key[IDX_MSG_KEY_LEN], uint32_t mbox_id, uint32_t uid)
{
	idx_put_u32(key, mbox_id);
	idx_put_u32(key + 4, uid);
}

static inline void idx_modseq_key(unsigned char key[IDX_MODSEQ_KEY_LEN], uint32_t mbox_id,
				  uint64_t modseq)
{
	idx_put_u32(key, mbox_id);
	idx_put_u64(key + 4, modseq);
}

static inline void idx_expunged_key(unsigned char key[IDX_EXPUNGED_KEY_LEN], uint32_t mbox_id,
				    uint64_t modseq, uint32_t uid)
{
	idx_put_u32(key, mbox_id);
	idx_put_u64(key + 4, modseq);
	idx_put_u32(key + 12, uid);
}

#endif
