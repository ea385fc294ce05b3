/* The maildrop of a POP3 session (RFC 1939 8): INBOX as it was at login,
 * numbered 1..count, kept compact (parallel arrays: UID, octet count, mark
 * bits and the fixed-width UIDL of every message; no struct or string per
 * message), plus what the session marks on it (DELE, RETR), the per-user
 * policy that decides what QUIT does with those marks, and the UPDATE
 * commit itself. Mail that arrives meanwhile shows at the next login.
 *
 * Threads: pop3_maildrop_build() and pop3_maildrop_commit() call the store
 * and run on the storage pool; the rest is plain memory for the loop. */
#ifndef LOFT_POP3_MAILDROP_H
#define LOFT_POP3_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "storage/store.h"

/* Messages DELE'd in `hide` mode carry this keyword: gone from POP3 for
 * good, still there for IMAP (Dovecot's pop3_deleted_flag). */
#define POP3_KW_DELETED "$POP3Deleted"
/* Messages a POP3 client retrieved and left on the server, when retention
 * is on: after retention_days they are removed as DELE would. */
#define POP3_KW_RETRIEVED "$POP3Retrieved"

/* What POP3 does to a user's mailbox: the server settings, overridden per
 * user (pop3_delete, pop3_seen extra fields) once the users file provides
 * them. Built in one place: pop3_policy_get(). */
struct pop3_policy {
	enum conf_pop3_delete del;
	bool mark_seen;
	unsigned retention_days;     /* 0: never expire (EXPIRE NEVER) */
	unsigned login_delay_s;      /* 0: no LOGIN-DELAY */
	size_t max_messages;         /* 0: all */
	enum conf_uidl_import uidl_import;
	const char *uidl_import_format; /* borrowed from the config */
};
struct userdb_fields;
/* The server settings, overridden by the user's pop3_delete / pop3_seen
 * fields (fields may be NULL: the server's policy). */
void pop3_policy_get(const struct loft_config *cfg, const struct userdb_fields *fields,
		     struct pop3_policy *p_r);

enum pop3_mark {
	POP3_MARK_DELE = 1u << 0,    /* DELE in this session */
	POP3_MARK_RETR = 1u << 1,    /* RETR completed in this session */
	POP3_MARK_SEEN = 1u << 2,    /* had \Seen at login */
	POP3_MARK_KEPT = 1u << 3,    /* had $POP3Retrieved at login */
	POP3_MARK_OLD = 1u << 4,     /* older than the retention period */
	POP3_MARK_LEGACY = 1u << 5,  /* its UIDL is an imported one */
};

struct pop3_maildrop {
	uint32_t count;
	uint32_t *uids;              /* [count], ascending */
	uint64_t *sizes;             /* [count], octets as RETR sends them */
	uint8_t *marks;              /* [count], enum pop3_mark */
	/* [count * STORE_ID_LEN]: store_msg_uidl of each message; with
	 * POP3_MARK_LEGACY the slot's first 4 bytes are an offset into
	 * legacy instead. */
	char *uidls;
	char *legacy;                /* imported UIDLs, NUL-terminated, packed */
	size_t legacy_len, legacy_cap;
	uint64_t total;              /* octets of all messages */
	uint32_t n_deleted;
	uint64_t deleted_size;
};

/* Snapshot INBOX (mbox) at time now. Pool thread. */
int pop3_maildrop_build(struct store_mailbox *mbox, const struct pop3_policy *policy,
			int64_t now, struct pop3_maildrop **drop_r);
void pop3_maildrop_free(struct pop3_maildrop **drop);

/* Message number n (1-based) that exists and is not DELE'd: its index, or
 * -1 (out of range or deleted; *deleted_r tells which). */
int64_t pop3_maildrop_find(const struct pop3_maildrop *d, uint32_t n, bool *deleted_r);
/* The UIDL of message index i (not NUL-terminated). */
const char *pop3_maildrop_uidl(const struct pop3_maildrop *d, uint32_t i, size_t *len_r);
void pop3_maildrop_dele(struct pop3_maildrop *d, uint32_t i);
void pop3_maildrop_rset(struct pop3_maildrop *d);

struct pop3_update_result {
	uint32_t removed;            /* DELE'd or expired, expunged or hidden */
	uint32_t expired;            /* of which by retention */
	uint32_t seen;               /* messages given \Seen */
};
/* The UPDATE state: apply the session's marks per policy. Pool thread. */
int pop3_maildrop_commit(struct store_mailbox *mbox, const struct pop3_maildrop *d,
			 const struct pop3_policy *policy, struct pop3_update_result *res_r);

/* Record an imported UIDL (store_legacy_uidls, which keeps them unique):
 * the message with uid gets uidl when it is in the snapshot, has none yet
 * and uidl is a valid UIDL (1-70 characters 0x21-0x7E, RFC 1939 7). */
void pop3_maildrop_set_legacy(struct pop3_maildrop *d, uint32_t uid, const char *uidl);

#endif
