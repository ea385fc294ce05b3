/* The bytes of FETCH's literal items (BODY[...], BINARY[...], RFC822.*),
 * part of the FETCH engine (fetch.c): for one message, where each item's
 * data comes from and how large it is (resolved once, before the response
 * starts), then the data streamed into the page a slice at a time. Every
 * source reads the message file through its store_reader, never the whole
 * message: the CRLF form at a seek (BODY sections, BINARY of identity
 * encodings), the header through msg_hdr_filter (HEADER.FIELDS[.NOT]), or
 * the raw part through msg_decoder (BINARY of base64 / quoted-printable).
 * Parts are found with msg_section() in the message's cached structure.
 * All of it runs on the storage pool thread of the page being written. */
#ifndef LOFT_IMAP_FETCH_SECTION_H
#define LOFT_IMAP_FETCH_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/fetch-items.h"
#include "storage/store.h"

struct imap_outbuf;

/* BINARY[] / BINARY.SIZE[] of a part (or of a message's TEXT) whose
 * Content-Transfer-Encoding is not known (RFC 3516 4.3, RFC 9051 6.4.5):
 * the command fails with NO [UNKNOWN-CTE]. Distinct from every store
 * error. */
#define IMAP_FETCH_EUNKNOWN_CTE (-1001)

enum imap_src_kind {
	IMAP_SRC_EMPTY,      /* a part that does not exist reads as "" */
	IMAP_SRC_CRLF,       /* the CRLF form from offset base */
	IMAP_SRC_FIELDS,     /* a header (CRLF form from base, in_len bytes)
			      * through the field filter */
	IMAP_SRC_DECODE,     /* raw bytes [raw_off, +raw_len) through a
			      * transfer decoder */
};

/* Where one item's data comes from. */
struct imap_fetch_src {
	enum imap_src_kind kind;
	uint64_t base, in_len;
	uint64_t raw_off, raw_len;
	enum msg_cte cte;
	uint64_t size;       /* the whole section (partials window it) */
	bool binary;         /* BINARY data: NUL is not replaced */
	bool literal8;       /* ... and holds NUL: sent as ~{n} */
};

/* Resolve every literal item of spec for one message into srcs[i] (item
 * i), and give each BINARY.SIZE item its value in srcs[i].size; other
 * items are left alone. info is the message's structure (NULL when
 * spec->mime is unset), rd its reader (NULL when spec->reader is unset),
 * vsize its RFC822.SIZE. Returns 0, a store error or
 * IMAP_FETCH_EUNKNOWN_CTE. */
int imap_fetch_sources(const struct imap_fetch_spec *spec, const struct msg_info *info,
		       struct store_reader *rd, uint64_t vsize, struct imap_fetch_src *srcs);

/* The window <origin.length> of item it over a section of size bytes:
 * where it starts and how many bytes the literal has. */
void imap_fetch_window(const struct imap_fetch_item *it, uint64_t size, uint64_t *origin_r,
		       uint64_t *len_r);

/* One literal being streamed. */
struct imap_fetch_stream {
	const struct imap_fetch_src *src;
	const struct imap_fetch_item *item;
	uint64_t left;       /* literal bytes still to send */
	uint64_t skip;       /* converted bytes to drop first (origin) */
	uint64_t in_pos, in_end;   /* input still to convert */
	bool finished;       /* the converter was flushed */
	struct msg_hdr_filter *hf;
	struct msg_decoder dec;
	struct msg_buf pend; /* converted, not yet sent */
	size_t pend_pos;
	char *buf;           /* read buffer */
};
/* Start the literal of item it from src: positions the reader. */
int imap_fetch_stream_start(struct imap_fetch_stream *st, const struct imap_fetch_item *it,
			    const struct imap_fetch_src *src, struct store_reader *rd);
/* Append literal bytes to out until the literal is complete (st->left ==
 * 0) or out holds limit bytes. A store error means the file no longer
 * gives the bytes announced: the literal cannot be completed. */
int imap_fetch_stream_run(struct imap_fetch_stream *st, struct store_reader *rd,
			  struct imap_outbuf *out, size_t limit);
void imap_fetch_stream_end(struct imap_fetch_stream *st);

#endif
