/* Response buffers built off the loop (see outbuf.h). */
#include "server/imap/outbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/net/conn.h"

char *imap_outbuf_reserve(struct imap_outbuf *b, size_t len)
{
	if (b->cap - b->len < len + 1) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void imap_outbuf_commit(struct imap_outbuf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

void imap_outbuf_add(struct imap_outbuf *b, const void *data, size_t len)
{
	char *p = imap_outbuf_reserve(b, len);
	if (len > 0)
		memcpy(p, data, len);
	imap_outbuf_commit(b, len);
}

void imap_outbuf_str(struct imap_outbuf *b, const char *s)
{
	imap_outbuf_add(b, s, strlen(s));
}

void imap_outbuf_printf(struct imap_outbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		imap_outbuf_add(b, small, (size_t)n);
		return;
	}
	char *p = imap_outbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	imap_outbuf_commit(b, (size_t)n);
}

void imap_outbuf_send(struct imap_outbuf *b, struct conn *c)
{
	if (b->len > 0 && c != NULL)
		conn_write(c, b->data, b->len);
	b->len = 0;
}

void imap_outbuf_free(struct imap_outbuf *b)
{
	x_free(&b->data);
	b->len = b->cap = 0;
}
