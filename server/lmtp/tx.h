/* The mail transaction of an LMTP/SMTP session (RFC 5321 3.3): from MAIL
 * to the end of the message, with what MAIL and each accepted RCPT said
 * (their ESMTP parameters kept: SIZE, BODY, SMTPUTF8, and DSN's RET, ENVID,
 * NOTIFY, ORCPT) and, once the message streams in, its reader, sink and
 * spool. Created by MAIL, freed by RSET, a new hello, STARTTLS, the end of
 * delivery or the session's end. */
#ifndef LOFT_LMTP_TX_H
#define LOFT_LMTP_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/userdb.h"
#include "server/lmtp/delivery.h"
#include "server/lmtp/smtp-parse.h"
#include "server/net/data-reader.h"

struct sess_sink;
struct work_pool;

/* RFC 3461 4.1 NOTIFY, as bits; none set: not given (failures only). */
enum smtp_notify {
	SMTP_NOTIFY_NEVER = 1u << 0,
	SMTP_NOTIFY_SUCCESS = 1u << 1,
	SMTP_NOTIFY_FAILURE = 1u << 2,
	SMTP_NOTIFY_DELAY = 1u << 3,
};

enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_rcpt {
	char *address;               /* the forward-path as given, formatted */
	bool utf8;
	char user[USERDB_NAME_MAX + 1];
	char *detail;                /* plus-addressing folder, or NULL */
	struct userdb_fields quota;  /* the user's quota fields only */
	unsigned notify;             /* enum smtp_notify bits */
	char *orcpt;                 /* ORCPT decoded ("rfc822;a@b"), or NULL */
	struct delivery_rcpt d;      /* the delivery and its result */
	char *prefix;                /* this recipient's Delivered-To line, or NULL */
};

struct smtp_tx {
	unsigned seq;                /* the session's transaction number */
	char id[32];                 /* in Received: and the log */
	time_t started;
	char *sender;                /* the reverse-path formatted; "" for <> */
	bool sender_utf8;
	uint64_t declared_size;      /* SIZE=, 0 none */
	bool body_8bit;              /* BODY=8BITMIME */
	bool smtputf8;               /* SMTPUTF8 */
	enum smtp_ret ret;
	char *envid;                 /* ENVID decoded, or NULL */
	char *auth;                  /* AUTH= decoded (RFC 4954 5), or NULL */
	struct smtp_rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	size_t refused;              /* RCPTs refused */
	/* the message */
	bool bdat;                   /* BDAT used: DATA is out of sequence */
	bool bdat_failed;            /* a chunk failed: the rest is refused */
	bool complete;               /* the reader found the end */
	bool checked;                /* the bytes go through checks.h */
	uint64_t chunk;              /* the size of the BDAT chunk being read */
	struct data_reader reader;
	struct sess_sink *sink;
	struct delivery_msg *msg;
	char *overflow;              /* reader output the sink could not take yet */
	size_t overflow_len;
};

struct smtp_tx *smtp_tx_create(unsigned seq, const char *conn_id);
struct smtp_rcpt *smtp_tx_add_rcpt(struct smtp_tx *tx);
/* Free the transaction; the sink is discarded and the spool removed on
 * pool (its files are touched only there). */
void smtp_tx_free(struct smtp_tx **tx, struct work_pool *pool);
/* Remove the spool on pool and forget it (after the sink finished). */
void smtp_tx_drop_msg(struct smtp_tx *tx, struct work_pool *pool);

#endif
