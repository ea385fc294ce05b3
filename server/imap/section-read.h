/* Reading one section of a stored message as IMAP sends it (RFC 9051 6.4.5
 * section-spec: part numbers, HEADER, HEADER.FIELDS[.NOT] (...), TEXT,
 * MIME; a <partial> of the CRLF form), straight from the storage API
 * (store_msg_info, msg_section, store_msg_open), for the URLs of CATENATE
 * and URLFETCH. It does not depend on FETCH's code. Opening and reading do
 * file I/O: storage pool threads only; the reader is used by one thread at
 * a time. Errors are LOFT_E* (LOFT_ENOENT: no such message or part). */
#ifndef LOFT_IMAP_SECTION_READ_H
#define LOFT_IMAP_SECTION_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/message/message.h"

struct store_mailbox;

#define IMAP_SECTION_MAX_DEPTH 32

struct imap_section {
	uint32_t path[IMAP_SECTION_MAX_DEPTH];
	size_t depth;                 /* 0: the message itself */
	enum msg_section_kind kind;
	bool fields;                  /* HEADER.FIELDS */
	bool fields_not;              /* HEADER.FIELDS.NOT */
	char **names;                 /* the header field names */
	size_t n_names;
};

/* Parse a section-spec ("", "1.2", "HEADER", "2.HEADER.FIELDS (From To)",
 * "1.MIME", ...; case-insensitive). Returns 0 or LOFT_EINVAL. Free with
 * imap_section_free. */
int imap_section_parse(const char *spec, size_t len, struct imap_section *sec_r);
void imap_section_free(struct imap_section *sec);

struct imap_section_reader;
/* Open the section of message uid for reading, from partial_offset and at
 * most partial_length bytes (0 = to the end) of its CRLF form; an offset
 * past the end gives no bytes (as FETCH does). *size_r is how many bytes
 * the reads will give. */
int imap_section_open(struct store_mailbox *mbox, uint32_t uid, const struct imap_section *sec,
		      uint64_t partial_offset, uint64_t partial_length,
		      struct imap_section_reader **reader_r, uint64_t *size_r);
/* Up to cap bytes; *got_r = 0 at the end. Returns 0 or LOFT_EIO. */
int imap_section_read(struct imap_section_reader *r, char *buf, size_t cap, size_t *got_r);
/* Bytes not read yet. */
uint64_t imap_section_left(const struct imap_section_reader *r);
void imap_section_close(struct imap_section_reader **r);

#endif
