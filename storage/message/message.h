/* Message parsing: the one header of storage/message/. A streaming parser
 * turns the bytes of an RFC 5322 / MIME message, fed in chunks of any size,
 * into a tree of parts (MIME structure, the fields ENVELOPE and BODYSTRUCTURE
 * show, byte ranges of every header and body, decoded sizes, a preview). The
 * tree serialises to a compact versioned blob (the index's opaque cache value)
 * and back. Helpers then serve FETCH items by seeking in the message file:
 * section ranges, CRLF normalisation, header field filtering, base64 and
 * quoted-printable decoding, RFC 2047/2231 decoding and the text SEARCH reads.
 *
 * Nothing here knows IMAP syntax or sockets; the IMAP serialisation of the
 * tree lives in server/imap/fetch-format.h. Everything is synchronous and
 * thread-compatible (no shared state); functions that read a file block, so
 * an event loop calls them from its thread pool.
 *
 * Ownership: a struct msg_info owns its whole tree and every string in it
 * (one arena); msg_info_free releases all of it. Strings are (data, len)
 * pairs, not NUL-terminated; data == NULL means absent (IMAP NIL). Buffers
 * (struct msg_buf) belong to whoever declared them: msg_buf_free. */
#ifndef LOFT_STORAGE_MESSAGE_H
#define LOFT_STORAGE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bumped whenever the parse result or the blob layout changes: a blob of
 * another version is refused with MSG_EVERSION and the message re-parsed. */
#define MSG_CACHE_VERSION 2

enum msg_error {
	MSG_OK = 0,
	MSG_ENOENT = -1,       /* no such section / part */
	MSG_EVERSION = -2,     /* blob of another MSG_CACHE_VERSION: re-parse */
	MSG_ECORRUPT = -3,     /* blob damaged: re-parse */
	MSG_EIO = -4,          /* reading the message file failed (errno kept) */
	MSG_EUNKNOWN_CTE = -5, /* BINARY of a part whose encoding is unknown */
	MSG_EINVAL = -6,       /* bad argument */
};
const char *msg_strerror(int err);

/* ---- limits ---- */

/* Bounds on what one message may cost. A message beyond a limit still parses
 * (best effort, never an error): deeper or further parts stay inside their
 * parent's body, longer header values are cut for ENVELOPE/BODYSTRUCTURE (the
 * file keeps every byte). Settings: message_max_parts, message_max_depth,
 * message_max_header_field, message_max_kept (conf/settings.c). */
struct msg_limits {
	unsigned max_parts;      /* parts per message, the message itself included */
	unsigned max_depth;      /* nesting of multipart and message/ containers */
	size_t max_header_field; /* bytes kept of one header field's value */
	size_t max_kept;         /* bytes of header values kept per message, summed */
};
#define MSG_DEFAULT_MAX_PARTS 10000u
#define MSG_DEFAULT_MAX_DEPTH 100u
#define MSG_DEFAULT_MAX_HEADER_FIELD (256u * 1024u)
#define MSG_DEFAULT_MAX_KEPT (4u * 1024u * 1024u)
void msg_limits_default(struct msg_limits *lim);

/* ---- growable byte buffer ---- */

struct msg_buf {
	char *data;
	size_t len, cap;
};
void msg_buf_append(struct msg_buf *b, const void *data, size_t len);
void msg_buf_putc(struct msg_buf *b, char c);
void msg_buf_puts(struct msg_buf *b, const char *s);
void msg_buf_printf(struct msg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void msg_buf_free(struct msg_buf *b);

/* ---- the parse result ---- */

struct msg_str {
	const char *data;   /* NULL = absent */
	uint32_t len;
};
struct msg_param {
	struct msg_str name, value;   /* as written (RFC 2231 continuations merged) */
};
/* One ENVELOPE address. A group is a start entry (mailbox = group name,
 * domain absent) and an end entry (all four absent), as IMAP shows them. */
struct msg_addr {
	struct msg_str name, route, mailbox, domain;
};
struct msg_addr_list {
	struct msg_addr *addrs;
	uint32_t count;
	bool present;        /* the header field exists (count may be 0) */
};
/* Raw field values, unfolded only as IMAP needs (line breaks kept; the IMAP
 * serialiser removes them), NUL bytes replaced by U+FFFD. */
struct msg_envelope {
	struct msg_str date, subject, in_reply_to, message_id;
	struct msg_addr_list from, sender, reply_to, to, cc, bcc;
};
struct msg_size {
	uint64_t raw;    /* bytes in the file */
	uint64_t virt;   /* bytes with every line end as CRLF (IMAP sizes) */
	uint64_t lines;  /* line feeds */
};
enum msg_cte {
	MSG_CTE_7BIT = 0,   /* also: no Content-Transfer-Encoding */
	MSG_CTE_8BIT,
	MSG_CTE_BINARY,
	MSG_CTE_BASE64,
	MSG_CTE_QP,
	MSG_CTE_UNKNOWN,    /* BINARY answers NO [UNKNOWN-CTE] */
};
enum msg_part_flag {
	MSG_PART_MULTIPART = 1u << 0,  /* multipart/\*: children are its parts */
	MSG_PART_MESSAGE = 1u << 1,    /* message/rfc822 or message/global: one child */
	MSG_PART_GLOBAL = 1u << 2,     /* ... and it is message/global (RFC 6532) */
	MSG_PART_TEXT = 1u << 3,       /* text/\* (or no Content-Type) */
	MSG_PART_DIGEST = 1u << 4,     /* multipart/digest: children default to message */
	MSG_PART_IS_MIME = 1u << 5,    /* MIME-Version or Content-Type seen, or inside multipart */
	MSG_PART_HAS_NUL = 1u << 6,    /* NUL bytes in header or body */
	MSG_PART_BAD_ENCODING = 1u << 7, /* base64/QP body had invalid data (decoded best effort) */
	MSG_PART_LIMITED = 1u << 8,    /* a limit kept this container's contents unparsed */
	MSG_PART_BINARY_NUL = 1u << 9, /* a leaf whose body, transfer encoding
					* removed (BINARY[]), holds NUL bytes:
					* its BINARY data must go as literal8 */
};
struct msg_part {
	struct msg_part *parent, *children, *next;
	uint32_t n_children;
	uint32_t flags;              /* enum msg_part_flag */
	uint64_t offset;             /* raw file offset where the part's header starts */
	struct msg_size header;      /* header, blank line included */
	struct msg_size body;        /* everything after the header */
	enum msg_cte cte;            /* from the first Content-Transfer-Encoding */
	uint64_t binary_size;        /* decoded body size (BINARY.SIZE) */

	/* Content-* fields as written; type NULL = no usable Content-Type. */
	struct msg_str type, subtype;
	struct msg_param *params;
	uint32_t n_params;
	struct msg_str id, description, encoding, md5, disposition, location;
	struct msg_param *disp_params;
	uint32_t n_disp_params;
	struct msg_str *languages;
	uint32_t n_languages;

	/* The root and every child of a MESSAGE part carry their envelope. */
	struct msg_envelope *envelope;
};
struct msg_arena;
struct msg_info {
	struct msg_part *root;
	struct msg_str preview;      /* RFC 8970 text: UTF-8, <= 200 characters */
	uint32_t n_parts;
	struct msg_arena *arena;
};
void msg_info_free(struct msg_info **info);
/* s is present and equals lit, ASCII case-insensitively. */
bool msg_str_eq(struct msg_str s, const char *lit);
/* RFC822.SIZE: the whole message with CRLF line ends. */
uint64_t msg_info_size(const struct msg_info *info);

/* ---- streaming parser ---- */

struct msg_parser;
/* limits NULL = defaults. Never fails (allocation failure aborts). */
struct msg_parser *msg_parser_new(const struct msg_limits *limits);
/* Feed the next bytes of the message; any split gives the same result. */
void msg_parser_feed(struct msg_parser *p, const void *data, size_t len);
/* End of message: returns the tree (caller frees) and frees the parser. */
struct msg_info *msg_parser_finish(struct msg_parser **p);
/* Abandon a parse. */
void msg_parser_free(struct msg_parser **p);
/* Parse a whole message in memory, or read from fd's current position to
 * EOF (blocking; MSG_EIO if a read fails). */
struct msg_info *msg_parse_buffer(const void *data, size_t len, const struct msg_limits *limits);
int msg_parse_fd(int fd, const struct msg_limits *limits, struct msg_info **info_r);

/* ---- cache blob ---- */

/* Serialise into a fresh malloc'd blob (caller frees). The blob begins with
 * "LM" and MSG_CACHE_VERSION; the store keeps it as an opaque value. */
void msg_blob_write(const struct msg_info *info, void **blob_r, size_t *len_r);
/* Rebuild the tree from a blob (copied: the caller keeps its buffer).
 * MSG_EVERSION or MSG_ECORRUPT mean: parse the message file again. */
int msg_blob_read(const void *blob, size_t len, struct msg_info **info_r);

/* ---- sections (RFC 3501 6.4.5 / RFC 9051 6.4.5) ---- */

enum msg_section_kind {
	MSG_SECTION_BODY,    /* BODY[] / BODY[1.2]: the part's contents */
	MSG_SECTION_HEADER,  /* [HEADER], [n.HEADER], also for HEADER.FIELDS */
	MSG_SECTION_TEXT,    /* [TEXT], [n.TEXT] */
	MSG_SECTION_MIME,    /* [n.MIME] */
};
/* A section's bytes in the message file. Serve it by reading raw_size bytes
 * at offset through msg_crlf_run. A partial fetch <origin.length> counts in
 * normalised bytes: when raw_size == size the file already has CRLF line
 * ends there and origin maps to offset + origin directly; otherwise skip
 * origin bytes of msg_crlf_run's output (linear in the section). */
struct msg_range {
	uint64_t offset;     /* raw file offset */
	uint64_t raw_size;   /* bytes to read */
	uint64_t size;       /* bytes after CRLF normalisation (what IMAP counts) */
};
/* Resolve a section: path[0..depth) are the part numbers (depth 0 = the
 * message). *part_r (optional) is the part the numbers name. MSG_ENOENT if
 * the part does not exist or the kind does not apply to it (HEADER/TEXT need
 * the message or a message/rfc822 part, MIME needs depth >= 1). */
int msg_section(const struct msg_info *info, const uint32_t *path, size_t depth,
		enum msg_section_kind kind, struct msg_range *range_r,
		const struct msg_part **part_r);

/* The decoding BINARY[]/BINARY.SIZE apply to a part (RFC 3516): its own
 * Content-Transfer-Encoding for a leaf; none (MSG_CTE_BINARY, line ends
 * normalised) for a multipart or message part, whose encoding can only be an
 * identity (RFC 2045 6.4). part->binary_size is the size after it.
 * MSG_CTE_UNKNOWN: answer NO [UNKNOWN-CTE]. */
enum msg_cte msg_binary_cte(const struct msg_part *part);

/* ---- streaming converters ---- */

/* CRLF normalisation: bare LF becomes CRLF (bare CR is left alone, as the
 * sizes count it). Feed raw bytes of a range; output goes to out. */
struct msg_crlf { bool last_cr; };
void msg_crlf_run(struct msg_crlf *c, const void *in, size_t len, struct msg_buf *out);

/* Content-transfer decoding for BINARY[] and text extraction. Invalid input
 * is decoded best effort (RFC 2045 6.7/6.8 robustness) and noted in had_error.
 * Identity encodings only normalise line ends to CRLF. */
struct msg_decoder {
	enum msg_cte cte;
	uint32_t state, acc;     /* private */
	unsigned char hold[80];  /* private: whitespace / '=' awaiting the next byte */
	size_t hold_len;
	bool last_cr;            /* private */
	bool had_error;
	bool saw_nul;            /* a NUL byte was decoded (msg_decoder_count) */
};
void msg_decoder_init(struct msg_decoder *d, enum msg_cte cte);
void msg_decoder_run(struct msg_decoder *d, const void *in, size_t len, struct msg_buf *out);
void msg_decoder_finish(struct msg_decoder *d, struct msg_buf *out);
/* Map a Content-Transfer-Encoding token ("" is unknown; a missing field
 * means 7bit). */
enum msg_cte msg_cte_parse(const char *value, size_t len);

/* HEADER.FIELDS / HEADER.FIELDS.NOT: feed the raw bytes of a header range;
 * the selected fields (each with its continuation lines) come out with CRLF
 * line ends, then the terminating blank line. names are borrowed until
 * msg_hdr_filter_free. */
struct msg_hdr_filter;
struct msg_hdr_filter *msg_hdr_filter_new(const char *const *names, size_t n_names, bool not);
void msg_hdr_filter_run(struct msg_hdr_filter *f, const void *in, size_t len, struct msg_buf *out);
void msg_hdr_filter_finish(struct msg_hdr_filter *f, struct msg_buf *out);
void msg_hdr_filter_free(struct msg_hdr_filter **f);

/* ---- decoding of header words and parameters ---- */

/* RFC 2047: decode encoded words in a header value (lenient: also words not
 * separated by spaces); charsets are converted to UTF-8, invalid bytes become
 * U+FFFD. Folding line breaks are removed. Appends to out. */
void msg_rfc2047_decode(const char *in, size_t len, struct msg_buf *out);
/* RFC 2231: decode one parameter value. If name ends in '*' the value is
 * charset'language'%XX-encoded; otherwise encoded words (common in filename=)
 * are decoded as RFC 2047. Appends UTF-8 to out. */
void msg_rfc2231_decode(const struct msg_param *param, struct msg_buf *out);
/* Convert text in charset (NULL/unknown = UTF-8 with U+FFFD for bad bytes)
 * to UTF-8. */
void msg_charset_to_utf8(const char *charset, size_t charset_len,
			 const void *in, size_t len, struct msg_buf *out);

/* ---- addresses of any header field ---- */

/* Parse value as an RFC 5322 address list (leniently, as ENVELOPE does)
 * and call cb (may be NULL) with the local part and domain of every mailbox
 * in it that parsed (group markers and broken entries are left out).
 * Strings are valid during the call only. Returns how many addresses cb
 * was given; *groups_r (optional) says whether the value held a group
 * (which may be empty: "undisclosed-recipients:;"). */
typedef void msg_address_cb(const char *local, size_t llen, const char *domain, size_t dlen,
			    void *ctx);
size_t msg_address_each(const char *value, size_t len, msg_address_cb *cb, void *ctx,
			bool *groups_r);

/* ---- text for SEARCH ---- */

enum msg_text_kind {
	MSG_TEXT_HEADER,   /* one header field: name, then the decoded value */
	MSG_TEXT_BODY,     /* a decoded text part (charset converted to UTF-8) */
};
/* Called with UTF-8 pieces; for MSG_TEXT_HEADER field is the field name, for
 * MSG_TEXT_BODY the part. A body arrives in several calls. Non-zero stops. */
typedef int msg_text_cb(enum msg_text_kind kind, const char *field, const struct msg_part *part,
			const char *text, size_t len, void *ctx);
/* Stream the searchable text of the message in fd (the file info describes)
 * to cb: every header field of the message and of encapsulated messages,
 * MIME headers included, decoded; every text/\* leaf decoded to UTF-8
 * (text/html as is). Reads the file in blocks; never holds it whole. Returns
 * 0, MSG_EIO, or cb's non-zero value. */
int msg_search_text(const struct msg_info *info, int fd, msg_text_cb *cb, void *ctx);

#endif
