/* The COMPRESS=DEFLATE layer of a connection (RFC 4978): raw DEFLATE (RFC
 * 1951, no zlib header) in both directions over zlib. Like the TLS layer it
 * knows no socket and no libuv: compressed input is handed in and inflated
 * into the caller's buffer as far as it has room (so a small message that
 * inflates to gigabytes never sits in memory), and output is deflated with
 * a sync flush at the end of every write, so each batch of replies leaves
 * at once and the client can decode all of it.
 *
 * Memory: the deflate state is fixed by the settings (window_bits and
 * mem_level: about 2^(window_bits+2) + 2^(mem_level+9) bytes plus ~6 KB);
 * the inflate state must accept the largest window a client may use (32 KB
 * plus ~7 KB, allocated at the first compressed byte). Neither can be
 * freed while the connection lives: the stream depends on its history.
 * compress_conn_memory() reports what one connection holds. */
#ifndef LOFT_NET_COMPRESS_H
#define LOFT_NET_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

struct compress_settings {
	int level;         /* 1 (fast) .. 9 (small) */
	int window_bits;   /* 9 .. 15: our deflate window is 2^window_bits */
	int mem_level;     /* 1 .. 9: deflate's hash memory */
};

struct compress_conn;

/* NULL when zlib cannot set up the streams (out of memory, bad settings). */
struct compress_conn *compress_conn_new(const struct compress_settings *set);
void compress_conn_free(struct compress_conn **z);

/* ---- input ---- */

/* Hand over compressed bytes. They are borrowed until
 * compress_conn_feed_end(), which copies whatever was not inflated yet. */
void compress_conn_feed(struct compress_conn *z, const char *data, size_t len);
void compress_conn_feed_end(struct compress_conn *z);
/* Inflate into buf. Returns the number of bytes (> 0), LOFT_EAGAIN when
 * more compressed input is needed, LOFT_EPROTO for a corrupt stream and
 * LOFT_ECLOSED once the client ended its stream (a final block: nothing can
 * follow it). */
long compress_conn_read(struct compress_conn *z, char *buf, size_t cap);
/* Whether compressed input waits inside the layer. */
bool compress_conn_has_pending(const struct compress_conn *z);

/* ---- output ---- */

/* Receives compressed bytes; must take all of them. Returns 0 or a
 * negative LOFT_E* code, which stops the write. */
typedef int compress_output_fn(void *arg, const char *data, size_t len);
/* Deflate len bytes and sync-flush (the output ends on a byte boundary with
 * the empty stored block 00 00 ff ff), handing the result to out in chunks.
 * Returns 0, out's error, or LOFT_EPROTO when zlib fails. */
int compress_conn_write(struct compress_conn *z, const char *data, size_t len,
			compress_output_fn *out, void *arg);

/* ---- accounting ---- */

/* Bytes zlib holds for this connection now (both streams), plus the
 * layer's own struct and pending input. */
size_t compress_conn_memory(const struct compress_conn *z);
/* Plaintext bytes in and out, compressed bytes in and out (for the log). */
void compress_conn_totals(const struct compress_conn *z, unsigned long long *plain_in,
			  unsigned long long *zin, unsigned long long *plain_out,
			  unsigned long long *zout);

#endif
