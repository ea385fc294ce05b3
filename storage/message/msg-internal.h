/* Private declarations shared by the files of storage/message/: the arena
 * every parse result lives in, the RFC 5322 tokenizer, and the interpreters
 * of single header fields. Not for use outside this folder. */
#ifndef LOFT_STORAGE_MSG_INTERNAL_H
#define LOFT_STORAGE_MSG_INTERNAL_H

#include "storage/message/message.h"

/* Bump allocator: everything of one msg_info is freed at once. */
struct msg_arena *msg_arena_new(void);
void *msg_arena_alloc(struct msg_arena *a, size_t size);   /* zeroed, aligned */
struct msg_str msg_arena_str(struct msg_arena *a, const void *data, size_t len);
void msg_arena_free(struct msg_arena *a);

/* RFC 5322 lexer over one header value (comments, quoted strings, atoms),
 * modelled on the token rules MIME parsers share. Functions return 1 = more
 * input follows, 0 = input ended (a value may have been produced), -1 =
 * invalid. Whitespace (and comments) after a token is skipped; before the
 * first token call msg_lex_skip_ws. */
struct msg_lex {
	const unsigned char *p, *end;
	struct msg_buf *last_comment;   /* optional: text of the last comment */
};
extern const unsigned char msg_atext[256];   /* 1 atext, 2 alnum, 4 mime tspecial */
#define MSG_IS_ATEXT(c) (msg_atext[(unsigned char)(c)] != 0)
#define MSG_IS_TOKEN(c) ((msg_atext[(unsigned char)(c)] & 3) != 0)
void msg_lex_init(struct msg_lex *l, const void *data, size_t len);
int msg_lex_skip_ws(struct msg_lex *l);
int msg_lex_atom(struct msg_lex *l, struct msg_buf *out);
int msg_lex_dot_atom(struct msg_lex *l, struct msg_buf *out);
int msg_lex_token(struct msg_lex *l, struct msg_buf *out);        /* MIME token, '.' allowed */
int msg_lex_quoted(struct msg_lex *l, struct msg_buf *out);
int msg_lex_phrase(struct msg_lex *l, struct msg_buf *out);
int msg_lex_domain(struct msg_lex *l, struct msg_buf *out);       /* at '@' */
int msg_lex_content_type(struct msg_lex *l, struct msg_buf *out); /* "type/subtype" */

/* Parameters after a Content-Type / Content-Disposition value, RFC 2231
 * continuations merged: stored in the arena. */
void msg_params_parse(struct msg_lex *l, struct msg_arena *a,
		      struct msg_param **params_r, uint32_t *count_r);
/* An address list (From, To, ...) into the arena. */
void msg_addr_parse(const char *value, size_t len, struct msg_arena *a,
		    struct msg_addr_list *list_r);

/* Field interpretation, called once per complete header field. */
enum msg_field_id {
	MSG_F_OTHER = 0,
	MSG_F_MIME_VERSION,
	MSG_F_CONTENT_TYPE, MSG_F_CONTENT_TRANSFER_ENCODING, MSG_F_CONTENT_ID,
	MSG_F_CONTENT_DESCRIPTION, MSG_F_CONTENT_DISPOSITION, MSG_F_CONTENT_LANGUAGE,
	MSG_F_CONTENT_LOCATION, MSG_F_CONTENT_MD5, MSG_F_CONTENT_OTHER,
	MSG_F_DATE, MSG_F_SUBJECT, MSG_F_FROM, MSG_F_SENDER, MSG_F_REPLY_TO,
	MSG_F_TO, MSG_F_CC, MSG_F_BCC, MSG_F_IN_REPLY_TO, MSG_F_MESSAGE_ID,
};
enum msg_field_id msg_field_lookup(const char *name, size_t len);
/* What the structure needs from the first Content-Type of a part. */
struct msg_ctype_info {
	uint32_t flags;          /* MSG_PART_MULTIPART / MESSAGE / GLOBAL / TEXT / DIGEST */
	bool has_boundary;
	struct msg_buf boundary; /* cut to MSG_BOUNDARY_MAX */
};
#define MSG_BOUNDARY_MAX 80
void msg_ctype_classify(const char *value, size_t len, struct msg_ctype_info *ci);
/* Store a Content-* field into part (first occurrence wins; for
 * Content-Transfer-Encoding the caller passes only the first). */
void msg_content_field(struct msg_part *part, struct msg_arena *a, enum msg_field_id id,
		       const char *value, size_t len);
/* Store an envelope field (the last occurrence wins). */
void msg_envelope_field(struct msg_envelope *env, struct msg_arena *a, enum msg_field_id id,
			const char *value, size_t len);
/* Forget the Content-* data of a part that turned out not to be MIME. */
void msg_content_forget(struct msg_part *part);

/* Decode only to count the output bytes (base64 without writing them). */
void msg_decoder_count(struct msg_decoder *d, const void *in, size_t len, uint64_t *count);

/* Streaming charset converter to UTF-8 (iconv; UTF-8 fallback). */
struct msg_conv {
	void *cd;                  /* iconv_t, or NULL for UTF-8 passthrough */
	unsigned char pending[16];
	size_t pending_len;
};
void msg_conv_open(struct msg_conv *c, const char *charset, size_t len);
void msg_conv_run(struct msg_conv *c, const void *in, size_t len, struct msg_buf *out);
void msg_conv_finish(struct msg_conv *c, struct msg_buf *out);
void msg_conv_close(struct msg_conv *c);
/* Preview builder (RFC 8970): fed decoded text of candidate parts. */
#define MSG_PREVIEW_MAX_CHARS 200
struct msg_preview {
	struct msg_buf text;       /* UTF-8 collected so far */
	unsigned chars;
	bool html, in_tag, in_entity, at_line_start, quoted, pending_space, done;
	char entity[12];
	unsigned entity_len;
	struct msg_buf utf8;       /* charset conversion scratch */
	struct msg_conv *conv;     /* the part's charset to UTF-8 */
};
void msg_preview_start(struct msg_preview *pv, bool html, const char *charset, size_t charset_len);
void msg_preview_feed(struct msg_preview *pv, const void *data, size_t len);
void msg_preview_free(struct msg_preview *pv);

/* What the parser does with a leaf's body bytes as they stream: count the
 * decoded size (BINARY.SIZE) and feed the preview candidates. */
struct msg_sink {
	bool active, decode;
	struct msg_decoder dec;
	struct msg_buf scratch;
	struct msg_preview *pv;     /* builder fed by the current leaf */
	struct msg_preview plain, html;
	bool plain_used, html_used;
};
void msg_sink_start(struct msg_sink *s, struct msg_part *part);
void msg_sink_feed(struct msg_sink *s, struct msg_part *part, const unsigned char *d, size_t n);
void msg_sink_stop(struct msg_sink *s, struct msg_part *part);
/* The preview text (plain preferred over HTML), stored in a. */
struct msg_str msg_sink_preview(struct msg_sink *s, struct msg_arena *a);
void msg_sink_free(struct msg_sink *s);

/* Append valid UTF-8, replacing invalid sequences with U+FFFD; returns the
 * number of trailing bytes that may start an incomplete sequence (not
 * appended) when partial_ok. */
size_t msg_utf8_sanitize(const unsigned char *in, size_t len, bool partial_ok, struct msg_buf *out);

/* The charset parameter of a part (NULL data if none). */
struct msg_str msg_part_charset(const struct msg_part *part);

#endif
