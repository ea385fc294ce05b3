/* A small streaming JSON reader (RFC 8259) for rspamd's replies: strict on
 * the grammar (one value, no trailing commas, no comments, no leading
 * zeros, no control characters in strings, paired \u surrogates), bounded
 * in memory (a fixed nesting depth and a fixed buffer for the string or
 * number being read) and resumable: it is handed bytes in chunks of any
 * size, never looks past the length given, and reports the same events and
 * the same result for every split of the input. Bytes >= 0x80 inside
 * strings pass through as they are (rspamd's symbol options quote message
 * content; whoever shows a string sanitises it).
 *
 * Events go to a callback: containers open and close, keys, and scalar
 * values with their text (strings decoded from their escapes, numbers as
 * written, true/false/null). A string or key longer than SPAM_JSON_TEXT_MAX
 * is delivered cut to that length with `cut` set; a number longer than
 * SPAM_JSON_NUMBER_MAX is an error. Pure code: no allocation, no I/O. */
#ifndef LOFT_SPAM_JSON_H
#define LOFT_SPAM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPAM_JSON_DEPTH_MAX 32
#define SPAM_JSON_TEXT_MAX 1024
#define SPAM_JSON_NUMBER_MAX 64

enum spam_json_event {
	SPAM_JSON_OBJECT_BEGIN,
	SPAM_JSON_OBJECT_END,
	SPAM_JSON_ARRAY_BEGIN,
	SPAM_JSON_ARRAY_END,
	SPAM_JSON_KEY,        /* text: the member name */
	SPAM_JSON_STRING,     /* text: the decoded value */
	SPAM_JSON_NUMBER,     /* text: the number as written */
	SPAM_JSON_TRUE,
	SPAM_JSON_FALSE,
	SPAM_JSON_NULL,
};

/* depth: 1 for the members of the top-level object (0 for the top value
 * itself and its begin/end). text is NUL-terminated and valid during the
 * call only (len excludes the NUL; a decoded \u0000 may sit inside).
 * Return 0 to go on, or non-zero to stop: the reader then fails with
 * SPAM_JSON_ESTOPPED. */
typedef int spam_json_cb(void *ctx, enum spam_json_event ev, unsigned depth, const char *text,
			 size_t len, bool cut);

enum spam_json_error {
	SPAM_JSON_OK = 0,
	SPAM_JSON_ESYNTAX,     /* not JSON */
	SPAM_JSON_EDEPTH,      /* nested deeper than SPAM_JSON_DEPTH_MAX */
	SPAM_JSON_ENUMBER,     /* a number longer than SPAM_JSON_NUMBER_MAX */
	SPAM_JSON_ETRUNCATED,  /* the input ended inside the value */
	SPAM_JSON_ESTOPPED,    /* the callback asked to stop */
};

/* All progress; the fields are private to json.c. */
struct spam_json {
	spam_json_cb *cb;
	void *ctx;
	int state;
	int error;
	unsigned depth;
	uint32_t in_object;        /* bit d: level d+1 is an object */
	uint8_t lit_index;         /* true/false/null: bytes matched */
	uint8_t hex_left;          /* \uXXXX digits still to come */
	uint16_t unit;             /* the \u value being read */
	uint16_t high;             /* a high surrogate waiting for its pair */
	bool is_key;
	bool cut;
	size_t len;
	char text[SPAM_JSON_TEXT_MAX + 8];
};

void spam_json_init(struct spam_json *j, spam_json_cb *cb, void *ctx);
/* Feed the next bytes. Returns SPAM_JSON_OK while the input is still
 * acceptable (complete or not), or the error, which sticks. */
int spam_json_feed(struct spam_json *j, const void *data, size_t len);
/* No more input: OK when exactly one complete value (plus white space) was
 * read, else the error (SPAM_JSON_ETRUNCATED for an unfinished value). */
int spam_json_finish(struct spam_json *j);
const char *spam_json_strerror(int err);

#endif
