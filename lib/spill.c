/* Borrowed input with an owned spill (see spill.h). */
#include "lib/spill.h"

#include <string.h>

#include "lib/xmem.h"

void spill_feed(struct spill_buf *b, const char *data, size_t len)
{
	if (len == 0)
		return;
	if (spill_pending(b)) {
		/* older input is still waiting: keep the order */
		spill_end(b);
		b->own = xrealloc(b->own, b->own_len + len);
		memcpy(b->own + b->own_len, data, len);
		b->own_len += len;
		return;
	}
	b->borrowed = data;
	b->borrowed_len = len;
}

void spill_end(struct spill_buf *b)
{
	if (b->borrowed_len > 0) {
		size_t keep = b->own_len - b->own_off;
		char *n = xmalloc(keep + b->borrowed_len);
		if (keep > 0)
			memcpy(n, b->own + b->own_off, keep);
		memcpy(n + keep, b->borrowed, b->borrowed_len);
		free(b->own);
		b->own = n;
		b->own_off = 0;
		b->own_len = keep + b->borrowed_len;
	}
	b->borrowed = NULL;
	b->borrowed_len = 0;
}

size_t spill_peek(const struct spill_buf *b, const char **data_r)
{
	if (b->own_len > b->own_off) {
		*data_r = b->own + b->own_off;
		return b->own_len - b->own_off;
	}
	*data_r = b->borrowed;
	return b->borrowed_len;
}

void spill_consume(struct spill_buf *b, size_t n)
{
	if (b->own_len > b->own_off) {
		b->own_off += n;
		if (b->own_off == b->own_len) {
			x_free(&b->own);
			b->own_off = b->own_len = 0;
		}
		return;
	}
	b->borrowed += n;
	b->borrowed_len -= n;
}

void spill_free(struct spill_buf *b)
{
	x_free(&b->own);
	b->own_off = b->own_len = 0;
	b->borrowed = NULL;
	b->borrowed_len = 0;
}
