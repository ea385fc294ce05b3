/* libFuzzer target for rspamd's reply readers (server/spam/http.c, json.c,
 * result.c). The first byte picks the reader (even: an HTTP response with
 * a check reply, odd: the JSON reader alone) and, for HTTP, the body limit;
 * the next two pick split points; the rest is the input. It is read whole
 * and cut at the two points through the shared driver (exact-size heap
 * pieces, so a read past the given length trips ASan); both transcripts
 * must agree, and an accepted check reply must hold what the reader
 * promises (bounded symbols, printable texts). Anything else aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/spam-reply-driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 3

static void check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	const char *in = (const char *)data + HDR;
	size_t len = size - HDR;
	size_t i = len ? data[1] % (len + 1) : 0;
	size_t j = len ? i + data[2] % (len - i + 1) : 0;
	bool json = data[0] & 1;
	uint64_t max = (data[0] & 2) ? 64 : 1 << 20;
	const struct split_target *t = json ? &json_target : &reply_target;
	size_t wlen, glen;
	char *whole = split_run3(t, &max, in, len, len, len, &wlen);
	char *cut = split_run3(t, &max, in, len, i, j, &glen);
	if (wlen != glen || memcmp(whole, cut, wlen) != 0) {
		fprintf(stderr, "split %zu/%zu differs:\n%s\n---\n%s\n", i, j, whole, cut);
		abort();
	}
	free(whole);
	free(cut);
	if (!json) {
		/* look at the fields of an accepted reply */
		struct reply_drv *d = reply_target.start(&max);
		reply_target.feed(d, in, len);
		if (d->hr == SPAM_HTTP_NEED_MORE)
			d->hr = spam_http_eof(&d->http);
		if (d->hr == SPAM_HTTP_DONE && d->json_err == 0 &&
		    spam_result_finish(&d->reader, true) == 0) {
			const struct spam_result *r = &d->res;
			if (r->n_symbols > SPAM_RESULT_SYMBOLS_MAX || r->n_symbols > r->symbols_seen ||
			    (unsigned)r->action >= SPAM_ACTIONS || d->http.body_len > max)
				abort();
			check_printable(r->smtp_message);
			check_printable(r->action_text);
			for (unsigned k = 0; k < r->n_symbols; k++)
				check_printable(r->symbols[k].name);
		}
		d->hr = SPAM_HTTP_FAILED;
		size_t olen;
		free(reply_target.finish(d, &olen));
	}
	return 0;
}
