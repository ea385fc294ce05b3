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
 * Sieve (server/sieve/sieve.h): when the caller sets delivery_msg.sieve,
 * delivery_run() runs each recipient's active script on the spooled
 * message (and the structure parsed as it streamed by) and carries out the
 * plan (delivery-sieve.c): keep and fileinto become appends of the one
 * spool (links; a changed header or per-recipient lines make one copy per
 * recipient, linked into each of its mailboxes), all committing in the
 * same group commit as the other recipients'; discard stores nothing;
 * reject/ereject refuse the recipient as delivery_msg.refuse says; then
 * redirects, the vacation reply and the marks (sieve_plan_finish).
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

struct msg_info;
struct sieve_env;

/* How a Sieve reject/ereject reaches the sender. */
enum delivery_refuse {
	/* LMTP: the recipient's own reply is "550 5.7.1 <reason>". */
	DELIVERY_REFUSE_RCPT = 0,
	/* SMTP, one reply for the message: when every recipient rejects it,
	 * "550 5.7.1 <reason>" (the first recipient's reason); when some
	 * other recipient took it, the message is accepted (250) and each
	 * rejecting recipient's sender gets a rejection notice (RFC 5429
	 * 2.1); when the others failed, their failure is the reply and the
	 * script runs again on the retry. */
	DELIVERY_REFUSE_MESSAGE,
	/* `loft deliver`: no protocol to refuse in: a notice is mailed. */
	DELIVERY_REFUSE_NOTICE,
};

/* A recipient's result that is not a store error: its Sieve script
 * refused the message (delivery_rcpt.reply says how). */
#define DELIVERY_EREJECTED (-100)

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
	struct msg_info *info;       /* the parse result, kept for Sieve */
	/* Sieve at delivery, set by the caller before delivery_run (all
	 * borrowed, for the life of the message): env NULL = no Sieve. */
	struct sieve_env *sieve;
	const char *mail_from;       /* the envelope sender, "" = <> */
	enum delivery_refuse refuse;
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
	const char *address;         /* RCPT TO as given (Sieve's envelope "to"
				      * and the user's own address), or NULL:
				      * the user name */
	const char *orcpt;           /* ORCPT's address, or NULL */
	/* results */
	int result;                  /* STORE_OK, a store error or
				      * DELIVERY_EREJECTED */
	uint32_t uid;                /* the first mailbox's (0: none) */
	bool to_inbox;               /* fell back to INBOX */
	bool sieve;                  /* a script ran (its plan was carried out) */
	bool discarded;              /* ... and stored nothing (discard) */
	bool rejected;               /* ... and rejected it: result is
				      * DELIVERY_EREJECTED when refused in the
				      * protocol, STORE_OK when a notice went */
	char reply[256];             /* when rejected: "550 5.7.1 <reason>" */
};

/* headroom: the length of the header lines the caller adds in front of
 * the message, which may take the spool past max_message_size. */
struct delivery_msg *delivery_msg_new(struct store *store, uint64_t headroom);
/* Append message bytes (the first write creates the spool). Returns 0 or
 * a store error, which sticks. */
int delivery_msg_write(struct delivery_msg *m, const void *data, size_t len);
/* Deliver to every recipient (duplicates of one user and mailbox are
 * delivered once and share the result). base (NULL: none) gives flags,
 * keywords, the internal date (0 = now) and the spam verdict of every copy
 * (the verdict is also what Sieve's spamtest reads); the cache blob is the
 * message's. With m->sieve, each recipient's script decides where its
 * copies go (see the top of this header). */
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
/* The reply for one recipient's result: its Sieve reject line, or
 * delivery_reply(result). */
const char *delivery_rcpt_reply(const struct delivery_rcpt *d, bool quota_tempfail);
/* A result in words for the log (store errors and DELIVERY_EREJECTED). */
const char *delivery_strerror(int err);
/* The sysexits code `loft deliver` exits with for a store error. */
int delivery_exit_code(int store_err, bool quota_tempfail);

#endif
