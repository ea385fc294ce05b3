/* libFuzzer target for the Authentication-Results filter
 * (server/mailauth/authres.c), which reads the header of every message
 * received: the first two bytes pick two split points, the rest is the
 * message. Fed whole and in three pieces, the output must be the same; it
 * is never longer than the input, keeps the body as it was, and nothing
 * left in the header claims our authserv-id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/authres.h"
#include "server/mailauth/hdr-block.h"
#include "storage/message/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void out_fn(void *ctx, const char *d, size_t n)
{
	msg_buf_append(ctx, d, n);
}

static void run(const char *in, size_t len, size_t c1, size_t c2, struct msg_buf *out)
{
	struct authres_filter *f = authres_filter_new("mx.fuzz", out_fn, out);
	authres_filter_feed(f, in, c1);
	authres_filter_feed(f, in + c1, c2 - c1);
	authres_filter_feed(f, in + c2, len - c2);
	authres_filter_end(f);
	authres_filter_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t len = size - 2;
	char *in = xmalloc(len ? len : 1);
	memcpy(in, data + 2, len);
	size_t c1 = len ? data[0] % (len + 1) : 0;
	size_t c2 = c1 + (len - c1 ? data[1] % (len - c1 + 1) : 0);
	struct msg_buf whole = { 0 }, split = { 0 };
	run(in, len, len, len, &whole);
	run(in, len, c1, c2, &split);
	if (whole.len != split.len || (whole.len && memcmp(whole.data, split.data, whole.len)))
		abort();
	if (whole.len > len)
		abort();
	struct hdr_block *h = hdr_block_new(1 << 20);
	bool done;
	size_t hl = hdr_block_feed(h, whole.data ? whole.data : "", whole.len, &done);
	if (!done)
		hdr_block_end(h);
	for (size_t i = 0; i < hdr_block_count(h); i++) {
		const struct hdr_field *fl = hdr_block_field(h, i);
		if (hdr_field_is(fl, "Authentication-Results") &&
		    authres_is_ours(fl->value, fl->value_len, "mx.fuzz"))
			abort();
	}
	/* the body after the blank line is untouched */
	if (done && whole.len - hl > len)
		abort();
	if (done && memcmp(whole.data + hl, in + len - (whole.len - hl), whole.len - hl) != 0)
		abort();
	hdr_block_free(&h);
	msg_buf_free(&whole);
	msg_buf_free(&split);
	free(in);
	return 0;
}
