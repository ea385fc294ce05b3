/* The delivery step every way in shares (LMTP, SMTP, `loft deliver`): the
 * message is written once into a store spool as it arrives
 * (delivery_msg_write), then delivery_run() makes the spool durable once
 * and links it into each recipient's mailbox, all recipients' appends
 * committing at once through the store's group commit; each recipient gets
 * its own result, so one full mailbox does not fail the others. Also the
 * translation of store errors into SMTP replies and sysexits codes, and
 * the quota check a recipient gets before the message is sent.
 *
 * Parsing: delivery_msg_write() is the one place the spooled bytes stream
 * by, for every way in; it feeds them to the message parser
 * (storage/message/), and delivery_run() stores the result with every
 * recipient's append as store_append_meta.cache (in the same commit), so a
 * message is parsed once however many recipients it has.
 *
 * Threads: everything that touches the store (write, run, free, the quota
 * check) blocks: a pool thread, or a CLI. delivery_msg_new and the reply
 * functions do no I/O. */
#ifndef LOFT_LMTP_DELIVERY_H
#define LOFT_LMTP_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/userdb-fields.h"
#include "storage/store.h"

struct delivery_msg {
	struct store *store;
	uint64_t headroom;           /* trace headers beyond the size limit */
	struct store_spool *spool;   /* made by the first write */
	int error;                   /* sticky store error of the writes */
	uint64_t size;
	/* The message parsed as it is written (storage/message/); at
	 * delivery its blob becomes store_append_meta.cache for every
	 * recipient that shares the spooled file. Owned. */
	struct msg_parser *parser;
	void *cache;
	size_t cache_len;
};

struct delivery_rcpt {
	const char *user;            /* canonical user name */
	const char *mailbox;         /* NULL: INBOX */
	bool fallback;               /* a missing mailbox: INBOX */
	bool fallback_invalid;       /* ... and an invalid name too (a detail) */
	const char *prefix;          /* header lines for this recipient only
				      * (makes a copy), or NULL */
	size_t prefix_len;
	const struct userdb_fields *fields;  /* quota override, or NULL */
	/* results */
	int result;                  /* STORE_OK or a store error */
	uint32_t uid;
	bool to_inbox;               /* fell back to INBOX */
};

/* headroom: the length of the header lines the caller adds in front of
 * the message, which may take the spool past max_message_size. */
struct delivery_msg *delivery_msg_new(struct store *store, uint64_t headroom);
/* Append message bytes (the first write creates the spool). Returns 0 or
 * a store error, which sticks. */
int delivery_msg_write(struct delivery_msg *m, const void *data, size_t len);
/* Deliver to every recipient (duplicates of one user and mailbox are
 * delivered once and share the result). base (NULL: none) gives flags,
 * keywords and the internal date (0 = now) of every copy; the cache blob
 * is the message's. */
void delivery_run(struct delivery_msg *m, struct delivery_rcpt *rcpts, size_t n,
		  const struct store_append_meta *base);
/* A descriptor to read the spooled bytes back (DSN), or -1. */
int delivery_msg_open(struct delivery_msg *m);
/* Remove the spool and free; *m = NULL. */
void delivery_msg_free(struct delivery_msg **m);

/* Before the message: STORE_EQUOTA when the user's quota cannot take one
 * more message of size bytes (0: unknown yet), else STORE_OK (or the
 * error opening the user). */
int delivery_quota_check(struct store *store, const char *user,
			 const struct userdb_fields *fields, uint64_t size);

/* The SMTP reply for a store error after the message ("552 5.2.2 ..."),
 * with quota_tempfail choosing 452 4.2.2 for a full mailbox. */
const char *delivery_reply(int store_err, bool quota_tempfail);
/* The sysexits code `loft deliver` exits with for a store error. */
int delivery_exit_code(int store_err, bool quota_tempfail);

#endif
