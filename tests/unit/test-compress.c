/* Unit tests of the COMPRESS=DEFLATE layer (server/net/compress.c): a
 * client's raw DEFLATE stream, fed whole and cut in two and three pieces
 * at every position (tests/support/split.h, each piece an exact-size heap
 * copy freed after feed_end, so a read of borrowed bytes trips ASan), must
 * inflate to the same bytes; replies written in batches must each be
 * decodable at once (sync flush); a corrupt stream, a client's final
 * block and a decompression bomb are handled; and the memory one
 * connection holds is measured for the settings we ship. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "lib/error.h"
#include "server/net/compress.h"
#include "tests/support/split.h"

static const struct compress_settings shipped = { .level = 6, .window_bits = 12,
						   .mem_level = 5 };

/* Raw DEFLATE as a client makes it: one sync flush per command. */
static size_t client_deflate(const char *const *cmds, size_t n, int final, unsigned char *out,
			     size_t cap)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	for (size_t i = 0; i < n; i++) {
		zs.next_in = (Bytef *)(uintptr_t)cmds[i];
		zs.avail_in = (uInt)strlen(cmds[i]);
		int flush = final && i + 1 == n ? Z_FINISH : Z_SYNC_FLUSH;
		int r = deflate(&zs, flush);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		assert_int_equal(zs.avail_in, 0);
	}
	size_t len = cap - zs.avail_out;
	deflateEnd(&zs);
	return len;
}

/* ---- the split driver: transcript = inflated bytes, then the end ---- */

struct drv {
	struct compress_conn *z;
	struct split_out out;
	int err;
};

static void *z_start(const void *arg)
{
	(void)arg;
	struct drv *d = calloc(1, sizeof(*d));
	d->z = compress_conn_new(&shipped);
	assert_non_null(d->z);
	return d;
}

static void z_drain(struct drv *d)
{
	char buf[7]; /* small reads: output room runs out mid-block */
	for (;;) {
		long n = compress_conn_read(d->z, buf, sizeof(buf));
		if (n > 0) {
			split_out_put(&d->out, buf, (size_t)n);
			continue;
		}
		if (n != LOFT_EAGAIN && d->err == 0)
			d->err = (int)n;
		return;
	}
}

static void z_feed(void *drv, const char *p, size_t n)
{
	struct drv *d = drv;
	char *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	compress_conn_feed(d->z, copy, n);
	z_drain(d);
	compress_conn_feed_end(d->z);
	free(copy); /* the layer must have copied what it still needs */
	z_drain(d);
}

static char *z_finish(void *drv, size_t *len_r)
{
	struct drv *d = drv;
	split_out_printf(&d->out, "|%s", d->err == LOFT_ECLOSED ? "END"
				 : d->err == LOFT_EPROTO ? "CORRUPT"
				 : d->err == 0 ? "MORE" : "?");
	compress_conn_free(&d->z);
	char *s = d->out.buf;
	*len_r = d->out.len;
	free(d);
	return s;
}

static const struct split_target z_target = { z_start, z_feed, z_finish };

static void check_splits(const unsigned char *in, size_t len, const char *want)
{
	size_t i, j;
	char *got = split_check_all(&z_target, NULL, (const char *)in, len, want, strlen(want),
				    &i, &j);
	if (got != NULL)
		fail_msg("split at %zu,%zu\n got: %s\nwant: %s", i, j, got, want);
}

static void test_input_every_split(void **state)
{
	(void)state;
	static const char *const cmds[] = {
		"a1 NOOP\r\n", "a2 LIST \"\" *\r\n",
		"a3 APPEND INBOX {12+}\r\nSubject: x\r\n\r\n", "a4 LOGOUT\r\n",
	};
	unsigned char z[512];
	size_t n = client_deflate(cmds, 4, 0, z, sizeof(z));
	check_splits(z, n, "a1 NOOP\r\na2 LIST \"\" *\r\na3 APPEND INBOX {12+}\r\n"
			   "Subject: x\r\n\r\na4 LOGOUT\r\n|MORE");
	/* A final block ends the stream: the bytes before it still arrive. */
	n = client_deflate(cmds, 2, 1, z, sizeof(z));
	check_splits(z, n, "a1 NOOP\r\na2 LIST \"\" *\r\n|END");
}

static void test_corrupt_input(void **state)
{
	(void)state;
	static const char *const cmds[] = { "a1 NOOP\r\n" };
	unsigned char z[256];
	size_t n = client_deflate(cmds, 1, 0, z, sizeof(z));
	/* 0xff: a reserved block type (BTYPE 11) right after a valid block. */
	z[n++] = 0xff;
	z[n++] = 0xff;
	check_splits(z, n, "a1 NOOP\r\n|CORRUPT");
	/* Garbage from the first byte. */
	check_splits((const unsigned char *)"\xff\xff\xff", 3, "|CORRUPT");
}

/* ---- output ---- */

struct sink {
	unsigned char *data;
	size_t len;
};

static int sink_put(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;
	s->data = realloc(s->data, s->len + len);
	memcpy(s->data + s->len, data, len);
	s->len += len;
	return 0;
}

static void test_output_sync_flush(void **state)
{
	(void)state;
	struct compress_conn *z = compress_conn_new(&shipped);
	assert_non_null(z);
	z_stream client;
	memset(&client, 0, sizeof(client));
	assert_int_equal(inflateInit2(&client, -15), Z_OK);
	/* Batches of replies, one of them larger than the layer's chunk. */
	size_t big_len = 200000;
	char *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)("* 1 FETCH (FLAGS (\\Seen))\r\n"[i % 27] ^ (char)(i / 9973));
	const char *batches[] = { "* OK [CAPABILITY IMAP4rev1] hi\r\n", "a1 OK done\r\n", big };
	size_t lens[] = { strlen(batches[0]), strlen(batches[1]), big_len };
	for (size_t b = 0; b < 3; b++) {
		struct sink s = { NULL, 0 };
		assert_int_equal(compress_conn_write(z, batches[b], lens[b], sink_put, &s), 0);
		/* Sync flush: the output ends with the empty stored block. */
		assert_true(s.len >= 4);
		assert_memory_equal(s.data + s.len - 4, "\x00\x00\xff\xff", 4);
		/* ... and the client decodes all of the batch from it alone. */
		unsigned char *plain = malloc(lens[b] + 16);
		client.next_in = s.data;
		client.avail_in = (uInt)s.len;
		client.next_out = plain;
		client.avail_out = (uInt)(lens[b] + 16);
		int r = inflate(&client, Z_SYNC_FLUSH);
		assert_true(r == Z_OK || r == Z_BUF_ERROR);
		assert_int_equal(client.avail_in, 0);
		assert_int_equal(lens[b] + 16 - client.avail_out, lens[b]);
		assert_memory_equal(plain, batches[b], lens[b]);
		free(plain);
		free(s.data);
	}
	unsigned long long pin, zin, pout, zout;
	compress_conn_totals(z, &pin, &zin, &pout, &zout);
	assert_int_equal(pout, lens[0] + lens[1] + lens[2]);
	assert_true(zout > 0 && zout < pout);
	inflateEnd(&client);
	free(big);
	compress_conn_free(&z);
}

static int sink_fail(void *arg, const char *data, size_t len)
{
	(void)arg; (void)data; (void)len;
	return LOFT_EIO;
}

static void test_output_error_stops(void **state)
{
	(void)state;
	struct compress_conn *z = compress_conn_new(&shipped);
	assert_int_equal(compress_conn_write(z, "x\r\n", 3, sink_fail, NULL), LOFT_EIO);
	compress_conn_free(&z);
}

/* ---- bounded memory ---- */

static void test_bomb_is_read_in_slices(void **state)
{
	(void)state;
	/* 16 MB of one byte compress to ~16 KB. */
	size_t plain_len = 16u << 20;
	char *plain = calloc(1, plain_len);
	memset(plain, 'A', plain_len);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	unsigned char *zbuf = malloc(1 << 20);
	zs.next_in = (Bytef *)plain;
	zs.avail_in = (uInt)plain_len;
	zs.next_out = zbuf;
	zs.avail_out = 1 << 20;
	assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
	size_t zlen = (1u << 20) - zs.avail_out;
	deflateEnd(&zs);
	assert_true(zlen < 64 * 1024);

	struct compress_conn *z = compress_conn_new(&shipped);
	compress_conn_feed(z, (const char *)zbuf, zlen);
	char buf[4096];
	long n = compress_conn_read(z, buf, sizeof(buf));
	assert_int_equal(n, (long)sizeof(buf));
	size_t mem_after_first = compress_conn_memory(z);
	compress_conn_feed_end(z); /* the rest is kept: ~zlen at most */
	size_t total = (size_t)n;
	while ((n = compress_conn_read(z, buf, sizeof(buf))) > 0) {
		assert_true((size_t)n <= sizeof(buf));
		total += (size_t)n;
	}
	assert_int_equal(n, LOFT_EAGAIN);
	assert_int_equal(total, plain_len);
	/* Never more than the streams plus the compressed bytes waiting. */
	assert_true(mem_after_first < 200 * 1024 + zlen);
	assert_false(compress_conn_has_pending(z));
	compress_conn_free(&z);
	free(zbuf);
	free(plain);
}

static void test_memory_per_connection(void **state)
{
	(void)state;
	static const struct {
		struct compress_settings set;
		size_t max;
	} cases[] = {
		/* deflate: 2^(window_bits+2) + 2^(mem_level+9) + ~6 KB; inflate:
		 * a 32 KB window (any client window must decode) + ~7 KB. */
		{ { 6, 12, 5 }, 96 * 1024 },    /* shipped: ~80 KB */
		{ { 6, 15, 8 }, 330 * 1024 },   /* zlib's defaults: ~300 KB */
		{ { 1, 9, 1 }, 64 * 1024 },     /* the least the settings allow */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct compress_conn *z = compress_conn_new(&cases[i].set);
		assert_non_null(z);
		size_t fresh = compress_conn_memory(z);
		/* The inflate window appears with the first compressed input. */
		static const char *const cmd[] = { "a NOOP\r\n" };
		unsigned char zb[64];
		size_t zl = client_deflate(cmd, 1, 0, zb, sizeof(zb));
		compress_conn_feed(z, (const char *)zb, zl);
		char buf[64];
		assert_int_equal(compress_conn_read(z, buf, sizeof(buf)), 8);
		compress_conn_feed_end(z);
		struct sink s = { NULL, 0 };
		assert_int_equal(compress_conn_write(z, "a OK\r\n", 6, sink_put, &s), 0);
		free(s.data);
		size_t idle = compress_conn_memory(z);
		printf("compress level=%d window_bits=%d mem_level=%d: %zu bytes fresh, "
		       "%zu bytes idle after use\n", cases[i].set.level, cases[i].set.window_bits,
		       cases[i].set.mem_level, fresh, idle);
		assert_true(idle >= fresh);
		assert_true(idle <= cases[i].max);
		compress_conn_free(&z);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_every_split),
		cmocka_unit_test(test_corrupt_input),
		cmocka_unit_test(test_output_sync_flush),
		cmocka_unit_test(test_output_error_stops),
		cmocka_unit_test(test_bomb_is_read_in_slices),
		cmocka_unit_test(test_memory_per_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
