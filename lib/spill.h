/* Input a reader consumes straight from the caller's buffer between
 * spill_feed and spill_end, copying only the unread rest when the caller
 * takes its buffer back (TLS records and COMPRESS's deflate stream are
 * read this way: usually nothing is copied). Bytes are read in the order
 * they were fed. The owned copy is freed by spill_free. */
#ifndef LOFT_LIB_SPILL_H
#define LOFT_LIB_SPILL_H

#include <stdbool.h>
#include <stddef.h>

struct spill_buf {
	const char *borrowed;      /* the caller's bytes, between feed and end */
	size_t borrowed_len;
	char *own;                 /* unread bytes kept across feeds */
	size_t own_off, own_len;
};

/* Offer data (borrowed until spill_end). */
void spill_feed(struct spill_buf *b, const char *data, size_t len);
/* The caller takes its buffer back: keep what was not read. */
void spill_end(struct spill_buf *b);
/* The next unread bytes (*data_r; their length, 0 when none). */
size_t spill_peek(const struct spill_buf *b, const char **data_r);
/* n bytes of what spill_peek gave were read. */
void spill_consume(struct spill_buf *b, size_t n);
void spill_free(struct spill_buf *b);

static inline bool spill_pending(const struct spill_buf *b)
{
	return b->own_len > b->own_off || b->borrowed_len > 0;
}

#endif
