/* A growable byte buffer for IMAP responses that are built off the event
 * loop (FETCH and STORE data formatted on a storage-pool thread, untagged
 * updates of a view sync) and handed to the connection in one write. It
 * knows nothing of the grammar beyond numbers and raw text: callers write
 * responses with it and send it with imap_outbuf_send().
 *
 * Ownership: the buffer belongs to whoever declared it (imap_outbuf_free). */
#ifndef LOFT_IMAP_OUTBUF_H
#define LOFT_IMAP_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

struct conn;

struct imap_outbuf {
	char *data;
	size_t len, cap;
};

void imap_outbuf_add(struct imap_outbuf *b, const void *data, size_t len);
void imap_outbuf_str(struct imap_outbuf *b, const char *s);
void imap_outbuf_printf(struct imap_outbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Room for len more bytes; returns where they go (the caller fills them and
 * calls imap_outbuf_commit(b, n) with how many it wrote, n <= len). */
char *imap_outbuf_reserve(struct imap_outbuf *b, size_t len);
void imap_outbuf_commit(struct imap_outbuf *b, size_t n);
/* Append the bytes to the connection's output and empty the buffer (its
 * memory is kept for the next use). */
void imap_outbuf_send(struct imap_outbuf *b, struct conn *c);
void imap_outbuf_free(struct imap_outbuf *b);

#endif
