/* FETCH data items (RFC 9051 6.4.5, RFC 3501 6.4.5, RFC 8474): the item
 * list of a FETCH command parsed into a struct imap_fetch_spec that the
 * FETCH engine (fetch.c) serves. Each item names the response it produces
 * ("BODY[HEADER]<0>", "RFC822.TEXT", ...).
 *
 * Items that need the MIME parser (ENVELOPE, BODYSTRUCTURE, BODY, BINARY,
 * BINARY.SIZE, sections with part numbers or MIME) are not accepted yet:
 * they come with storage/message/ (see fetch.h for where they plug in).
 *
 * Ownership: a spec owns its items and their strings (imap_fetch_spec_free). */
#ifndef LOFT_IMAP_FETCH_ITEMS_H
#define LOFT_IMAP_FETCH_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;

enum imap_fetch_att {
	IMAP_FA_FLAGS,
	IMAP_FA_UID,
	IMAP_FA_INTERNALDATE,
	IMAP_FA_RFC822_SIZE,
	IMAP_FA_EMAILID,            /* RFC 8474 */
	IMAP_FA_THREADID,           /* RFC 8474: NIL (the store keeps no threads) */
	IMAP_FA_SAVEDATE,           /* RFC 8514 */
	IMAP_FA_SECTION,            /* BODY[..], BODY.PEEK[..], RFC822, RFC822.HEADER, RFC822.TEXT */
};

enum imap_section_kind {
	IMAP_SEC_ALL,               /* BODY[] */
	IMAP_SEC_HEADER,            /* BODY[HEADER] (blank line included) */
	IMAP_SEC_FIELDS,            /* BODY[HEADER.FIELDS (..)] */
	IMAP_SEC_FIELDS_NOT,        /* BODY[HEADER.FIELDS.NOT (..)] */
	IMAP_SEC_TEXT,              /* BODY[TEXT] */
};

/* Longest header field name HEADER.FIELDS accepts (RFC 5322 allows 998). */
#define IMAP_FIELD_NAME_MAX 998

struct imap_fetch_item {
	enum imap_fetch_att att;
	char *name;                 /* the item as the response names it */
	enum imap_section_kind sec;
	char **fields;              /* IMAP_SEC_FIELDS(_NOT): names as sent */
	size_t n_fields;
	bool peek;                  /* does not set \Seen */
	bool partial;               /* <origin.length> */
	uint64_t origin, length;
};

struct imap_fetch_spec {
	struct imap_fetch_item *items;
	size_t n;
	bool has_flags, has_uid;
	bool body;                  /* some item reads the message file (or,
				     * later, its parse): one message at a time */
	bool seen;                  /* some item sets \Seen (not PEEK) */
	bool header;                /* some item needs the header's end */
};

/* The item argument(s) of FETCH: one atom (an item or ALL/FAST/FULL) or a
 * list of items. Returns 0, or -1 with a static reason for a BAD. */
int imap_fetch_spec_parse(const struct imap_arg *arg, struct imap_fetch_spec *spec,
			  const char **why_r);
/* Add a simple item (FLAGS, UID, ...) unless present; first puts it first. */
void imap_fetch_spec_add(struct imap_fetch_spec *spec, enum imap_fetch_att att, bool first);
void imap_fetch_spec_free(struct imap_fetch_spec *spec);

#endif
