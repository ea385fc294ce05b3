/* FETCH data items (RFC 9051 6.4.5, RFC 3501 6.4.5, RFC 3516 BINARY, RFC
 * 8474 EMAILID/THREADID, RFC 8970 PREVIEW): the item list of a FETCH
 * command parsed into a struct imap_fetch_spec that the FETCH engine
 * (fetch.c) serves. Each item names the response it produces
 * ("BODY[1.HEADER]<0>", "BINARY.SIZE[2]", "RFC822.TEXT", ...).
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
	IMAP_FA_ENVELOPE,
	IMAP_FA_BODY,               /* BODY without a section: BODYSTRUCTURE
				     * without extension data */
	IMAP_FA_BODYSTRUCTURE,
	IMAP_FA_PREVIEW,            /* RFC 8970 */
	IMAP_FA_BINARY_SIZE,        /* BINARY.SIZE[section] (RFC 3516) */
	IMAP_FA_MODSEQ,             /* RFC 7162 3.1.4: "MODSEQ (n)" */
	IMAP_FA_SAVEDATE,           /* RFC 8514 */
	IMAP_FA_SECTION,            /* BODY[..], BODY.PEEK[..], BINARY[..],
				     * BINARY.PEEK[..], RFC822, RFC822.HEADER,
				     * RFC822.TEXT */
};

enum imap_section_kind {
	IMAP_SEC_ALL,               /* BODY[] / BODY[1.2]: the part's contents */
	IMAP_SEC_HEADER,            /* [HEADER], [n.HEADER] (blank line included) */
	IMAP_SEC_FIELDS,            /* [HEADER.FIELDS (..)], [n.HEADER.FIELDS (..)] */
	IMAP_SEC_FIELDS_NOT,        /* [HEADER.FIELDS.NOT (..)] */
	IMAP_SEC_TEXT,              /* [TEXT], [n.TEXT] */
	IMAP_SEC_MIME,              /* [n.MIME] */
};

/* Longest header field name HEADER.FIELDS accepts (RFC 5322 allows 998). */
#define IMAP_FIELD_NAME_MAX 998

struct imap_fetch_item {
	enum imap_fetch_att att;
	char *name;                 /* the item as the response names it */
	enum imap_section_kind sec;
	uint32_t *path;             /* part numbers of the section (none: the
				     * message itself) */
	size_t depth;
	char **fields;              /* IMAP_SEC_FIELDS(_NOT): names as sent */
	size_t n_fields;
	bool binary;                /* BINARY[...], BINARY.SIZE[...] */
	bool peek;                  /* does not set \Seen */
	bool partial;               /* <origin.length>, or <origin> (length
				     * UINT64_MAX: to the end) */
	uint64_t origin, length;
};

struct imap_fetch_spec {
	struct imap_fetch_item *items;
	size_t n;
	bool has_flags, has_uid;
	bool has_modseq;            /* MODSEQ (a CONDSTORE enabling item) */
	bool body;                  /* some item needs more than the index
				     * record: one message at a time */
	bool seen;                  /* some item sets \Seen (not PEEK) */
	bool header;                /* some item needs the end of the header */
	bool mime;                  /* some item needs the MIME structure */
	bool reader;                /* some item reads the message's bytes */
};

/* A BINARY[...] or BINARY.SIZE[...] item whose data has a transfer
 * encoding removed: a part ([], [1.2]) or the body of a message ([TEXT],
 * [3.TEXT]). BINARY's other sections (HEADER, HEADER.FIELDS, MIME) are
 * never encoded and are served as BODY's. */
static inline bool imap_fetch_item_decodes(const struct imap_fetch_item *it)
{
	return it->binary && (it->sec == IMAP_SEC_ALL || it->sec == IMAP_SEC_TEXT);
}

/* The item argument(s) of FETCH: one atom (an item or ALL/FAST/FULL) or a
 * list of items. Returns 0, or -1 with a static reason for a BAD. */
int imap_fetch_spec_parse(const struct imap_arg *arg, struct imap_fetch_spec *spec,
			  const char **why_r);
/* Add a simple item (FLAGS, UID, ...) unless present; first puts it first. */
void imap_fetch_spec_add(struct imap_fetch_spec *spec, enum imap_fetch_att att, bool first);
void imap_fetch_spec_free(struct imap_fetch_spec *spec);

#endif
