/* zlib glue of the COMPRESS=DEFLATE layer (see compress.h): two raw DEFLATE
 * streams per connection, with allocation accounting (zlib's memory goes
 * through our allocator, which counts it), borrowed input like the TLS
 * layer's, and a sync flush per write. */
#include "server/net/compress.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "lib/error.h"
#include "lib/spill.h"
#include "lib/xmem.h"

#define OUT_CHUNK 16384

struct compress_conn {
	z_stream in, out;
	bool in_ready, out_ready;  /* inflateInit2/deflateInit2 succeeded */
	bool ended;                /* the client's stream ended (final block) */
	bool corrupt;              /* invalid input: everything after is lost */
	size_t zmem;               /* bytes zlib allocated through zalloc */
	struct spill_buf in_buf;   /* input: borrowed between feed and feed_end */
	unsigned long long plain_in, zin, plain_out, zout;
};

/* ---- allocation accounting ---- */

struct zhdr {
	size_t size;
	max_align_t align;
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	struct compress_conn *z = opaque;
	size_t n = (size_t)items * size;
	struct zhdr *h = xmalloc(offsetof(struct zhdr, align) + n);
	h->size = n;
	z->zmem += n;
	return (char *)h + offsetof(struct zhdr, align);
}

static void z_free(voidpf opaque, voidpf p)
{
	struct compress_conn *z = opaque;
	if (p == NULL)
		return;
	struct zhdr *h = (struct zhdr *)((char *)p - offsetof(struct zhdr, align));
	z->zmem -= h->size;
	free(h);
}

/* ---- life ---- */

struct compress_conn *compress_conn_new(const struct compress_settings *set)
{
	struct compress_conn *z = xcalloc(1, sizeof(*z));
	z->in.zalloc = z->out.zalloc = z_alloc;
	z->in.zfree = z->out.zfree = z_free;
	z->in.opaque = z->out.opaque = z;
	/* A client may compress with any window up to 32 KB: accept them all. */
	if (inflateInit2(&z->in, -15) != Z_OK)
		goto fail;
	z->in_ready = true;
	if (deflateInit2(&z->out, set->level, Z_DEFLATED, -set->window_bits, set->mem_level,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail;
	z->out_ready = true;
	return z;
fail:
	compress_conn_free(&z);
	return NULL;
}

void compress_conn_free(struct compress_conn **zp)
{
	struct compress_conn *z = *zp;
	if (z == NULL)
		return;
	if (z->in_ready)
		inflateEnd(&z->in);
	if (z->out_ready)
		deflateEnd(&z->out);
	spill_free(&z->in_buf);
	free(z);
	*zp = NULL;
}

/* ---- input ---- */

void compress_conn_feed(struct compress_conn *z, const char *data, size_t len)
{
	if (len == 0)
		return;
	z->zin += len;
	spill_feed(&z->in_buf, data, len);
}

void compress_conn_feed_end(struct compress_conn *z)
{
	spill_end(&z->in_buf);
}

bool compress_conn_has_pending(const struct compress_conn *z)
{
	return !z->ended && !z->corrupt && spill_pending(&z->in_buf);
}

long compress_conn_read(struct compress_conn *z, char *buf, size_t cap)
{
	if (z->corrupt)
		return LOFT_EPROTO;
	if (z->ended)
		return LOFT_ECLOSED;
	if (cap > 0x40000000)
		cap = 0x40000000;
	size_t produced = 0;
	while (produced < cap) {
		const char *src;
		size_t avail = spill_peek(&z->in_buf, &src);
		if (avail == 0)
			break;
		if (avail > 0x40000000)
			avail = 0x40000000;
		z->in.next_in = (Bytef *)(uintptr_t)src;
		z->in.avail_in = (uInt)avail;
		z->in.next_out = (Bytef *)buf + produced;
		z->in.avail_out = (uInt)(cap - produced);
		int r = inflate(&z->in, Z_NO_FLUSH);
		size_t used = avail - z->in.avail_in;
		produced = cap - z->in.avail_out;
		spill_consume(&z->in_buf, used);
		if (r == Z_STREAM_END) {
			z->ended = true;
			break;
		}
		if (r == Z_BUF_ERROR)
			break;          /* no progress possible: wait for more */
		if (r != Z_OK) {
			/* What inflated before the bad bytes is delivered first. */
			z->corrupt = true;
			break;
		}
	}
	z->plain_in += produced;
	if (produced > 0)
		return (long)produced;
	return z->corrupt ? LOFT_EPROTO : z->ended ? LOFT_ECLOSED : LOFT_EAGAIN;
}

/* ---- output ---- */

int compress_conn_write(struct compress_conn *z, const char *data, size_t len,
			compress_output_fn *out, void *arg)
{
	char chunk[OUT_CHUNK];
	z->plain_out += len;
	z->out.next_in = (Bytef *)(uintptr_t)data;
	for (;;) {
		size_t take = len > 0x40000000 ? 0x40000000 : len;
		z->out.avail_in = (uInt)take;
		int flush = take == len ? Z_SYNC_FLUSH : Z_NO_FLUSH;
		do {
			z->out.next_out = (Bytef *)chunk;
			z->out.avail_out = sizeof(chunk);
			int r = deflate(&z->out, flush);
			if (r != Z_OK && r != Z_BUF_ERROR)
				return LOFT_EPROTO;
			size_t n = sizeof(chunk) - z->out.avail_out;
			if (n > 0) {
				z->zout += n;
				int e = out(arg, chunk, n);
				if (e < 0)
					return e;
			}
		} while (z->out.avail_out == 0);
		len -= take;
		if (len == 0)
			return 0;
	}
}

/* ---- accounting ---- */

size_t compress_conn_memory(const struct compress_conn *z)
{
	return sizeof(*z) + z->zmem + (z->in_buf.own != NULL ? z->in_buf.own_len : 0);
}

void compress_conn_totals(const struct compress_conn *z, unsigned long long *plain_in,
			  unsigned long long *zin, unsigned long long *plain_out,
			  unsigned long long *zout)
{
	*plain_in = z->plain_in;
	*zin = z->zin;
	*plain_out = z->plain_out;
	*zout = z->zout;
}
