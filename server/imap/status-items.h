/* STATUS data items (RFC 9051 6.3.11, RFC 3501 6.3.10, RFC 8438 SIZE, RFC
 * 7889 APPENDLIMIT, RFC 9208 DELETED-STORAGE, RFC 8474 MAILBOXID): reading the requested
 * item list and writing the
 * "* STATUS" response, shared by STATUS and LIST ... RETURN (STATUS ...)
 * (RFC 5819). */
#ifndef LOFT_IMAP_STATUS_ITEMS_H
#define LOFT_IMAP_STATUS_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct imap_resp;
struct store_status;

enum imap_status_item {
	IMAP_STATUS_MESSAGES,
	IMAP_STATUS_UIDNEXT,
	IMAP_STATUS_UIDVALIDITY,
	IMAP_STATUS_UNSEEN,
	IMAP_STATUS_RECENT,        /* IMAP4rev1 only */
	IMAP_STATUS_SIZE,          /* RFC 8438 */
	IMAP_STATUS_DELETED,       /* RFC 9051 */
	IMAP_STATUS_APPENDLIMIT,   /* RFC 7889 */
	IMAP_STATUS_DELETED_STORAGE, /* RFC 9208 (QUOTA=RES-STORAGE) */
	IMAP_STATUS_MAILBOXID,     /* RFC 8474 */
	IMAP_STATUS_HIGHESTMODSEQ, /* RFC 7162 3.1.9 (a CONDSTORE enabling item) */
	IMAP_STATUS_N,
};

/* The items asked for, in the order asked, each once. */
struct imap_status_req {
	uint8_t items[IMAP_STATUS_N];
	size_t n;
	bool recent;               /* RECENT is among them (costs a scan) */
	bool deleted_storage;      /* DELETED-STORAGE is (costs a scan) */
	bool highestmodseq;        /* HIGHESTMODSEQ is among them */
};
/* The STORE_STATUS_* extras store_status_items() must compute for req. */
unsigned imap_status_store_items(const struct imap_status_req *req);

/* Read "(MESSAGES UNSEEN ...)". rev2: the session speaks IMAP4rev2, where
 * RECENT does not exist. Returns 0 or -1 with a reason for BAD. */
int imap_status_parse(const struct imap_arg *list, bool rev2, struct imap_status_req *req,
		      const char **why_r);
/* "* STATUS <mailbox> (<item> <value> ...)\r\n"; appendlimit 0 = none.
 * mailbox is a store name; wire_name, when given, is written instead as
 * the client sent it (STATUS echoes "inbox" as "inbox"). */
void imap_status_write(struct imap_resp *r, const char *mailbox, const char *wire_name,
		       const struct imap_status_req *req, const struct store_status *st,
		       uint64_t appendlimit);

#endif
