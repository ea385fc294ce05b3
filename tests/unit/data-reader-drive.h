/* The split-point driver for the DATA/BDAT reader (server/net/data-reader.c),
 * shared by tests/unit/test-data-reader.c and tests/fuzz/fuzz-data-reader.c:
 * feeds a stream cut at given points, each piece in an exact-size heap copy
 * (a read past the given length trips ASan), starts the next BDAT chunk on
 * DATA_CHUNK_DONE, and records what the sink got, the error, how many bytes
 * belonged to the data and how many chunks completed. drive_same() says
 * whether two feedings of one input agree. Broken reader invariants abort. */
#ifndef LOFT_TESTS_DATA_READER_DRIVE_H
#define LOFT_TESTS_DATA_READER_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/net/data-reader.h"
#include "lib/error.h"

struct drive_out {
	char *out;              /* what the sink got (heap) */
	size_t olen, ocap;
	unsigned sink_calls;
	unsigned sink_fail_at;  /* the sink fails on this call (1-based); 0 = never */
	enum data_error err;
	bool done;              /* DATA_DONE came */
	size_t consumed;        /* stream bytes up to the end of the data */
	unsigned chunks_done;   /* DATA_CHUNK_DONE results */
};

static int drive_sink(void *ctx, const char *data, size_t len)
{
	struct drive_out *o = ctx;
	if (len == 0)
		abort();            /* the reader never emits nothing */
	o->sink_calls++;
	if (o->sink_fail_at != 0 && o->sink_calls >= o->sink_fail_at)
		return LOFT_EIO;
	if (o->olen + len > o->ocap) {
		o->ocap = (o->olen + len) * 2 + 64;
		o->out = realloc(o->out, o->ocap);
		if (o->out == NULL)
			abort();
	}
	memcpy(o->out + o->olen, data, len);
	o->olen += len;
	return 0;
}

/* Feed in[0..len) cut at cuts[0..n_cuts) (ascending, <= len). chunks NULL:
 * DATA; else the BDAT chunk sizes, the last one LAST. o must start zeroed
 * (but for sink_fail_at); a later drive() into it frees its old output. */
static void drive(const char *in, size_t len, const struct data_reader_limits *lim,
		  const uint64_t *chunks, size_t n_chunks, const size_t *cuts, size_t n_cuts,
		  struct drive_out *o)
{
	struct data_reader r;
	unsigned fail_at = o->sink_fail_at;
	free(o->out);
	memset(o, 0, sizeof(*o));
	o->sink_fail_at = fail_at;
	data_reader_init(&r, lim, drive_sink, o);
	size_t ci = 0;
	if (chunks == NULL)
		data_reader_begin_dot(&r);
	else
		data_reader_begin_chunk(&r, chunks[0], n_chunks == 1);
	size_t pos = 0;
	for (size_t k = 0; k <= n_cuts && !o->done; k++) {
		size_t next = k < n_cuts ? cuts[k] : len;
		if (next < pos || next > len)
			abort();
		size_t plen = next - pos;
		char *piece = malloc(plen ? plen : 1);
		if (piece == NULL)
			abort();
		memcpy(piece, in + pos, plen);
		size_t off = 0;
		while (!o->done) {
			size_t used = (size_t)-1;
			enum data_result res = data_reader_feed(&r, piece + off, plen - off, &used);
			if (used > plen - off)
				abort();
			off += used;
			if (res == DATA_NEED_MORE) {
				if (off != plen)
					abort();
				break;
			}
			if (res == DATA_CHUNK_DONE) {
				if (chunks == NULL || ++ci >= n_chunks)
					abort();
				o->chunks_done++;
				data_reader_begin_chunk(&r, chunks[ci], ci == n_chunks - 1);
				continue;
			}
			o->done = true;
			o->consumed = pos + off;
		}
		free(piece);
		pos = next;
	}
	o->err = data_reader_error(&r);
	if (data_reader_size(&r) < o->olen && o->err == DATA_ERR_NONE)
		abort();
	if (o->err == DATA_ERR_TOO_BIG && lim->max_size != 0 && o->olen > lim->max_size)
		abort();
}

/* Two feedings agree: same end, error and chunks; the same output when the
 * message is good, one output a prefix of the other when it failed. */
static bool drive_same(const struct drive_out *a, const struct drive_out *b)
{
	if (a->done != b->done || a->err != b->err || a->chunks_done != b->chunks_done ||
	    (a->done && a->consumed != b->consumed))
		return false;
	if (a->err == DATA_ERR_NONE)
		return a->olen == b->olen && (a->olen == 0 || memcmp(a->out, b->out, a->olen) == 0);
	size_t n = a->olen < b->olen ? a->olen : b->olen;
	return n == 0 || memcmp(a->out, b->out, n) == 0;
}

#endif
