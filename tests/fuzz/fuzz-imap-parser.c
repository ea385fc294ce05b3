/* libFuzzer target for the IMAP command parser (server/imap/parser.c). The
 * first four bytes pick the limits and two split points (APPEND literals
 * are buffered, streamed or refused by their size); the rest is parsed
 * whole and in three pieces (tests/support/split.h). Both feedings must give
 * the same events, commands (serialized argument trees) and errors; every
 * command must respect the limits. Otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/imap-parser-driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	struct imap_drv_config lim = {
		.lim = {
			.max_line = 8 + data[0] % 120,
			.max_literal = data[1] % 64,
			.max_literal_total = data[2] % 3 == 0 ? 0 : data[2] % 200,
			.max_depth = 1 + data[1] % 6,
			.max_args = 1 + data[0] % 40,
		},
		.decide = 'x', /* buffer, stream or refuse by literal size */
	};
	size_t body = size - 4;
	size_t i = body ? data[2] % (body + 1) : 0;
	size_t j = body ? data[3] % (body + 1) : 0;
	if (j < i) {
		size_t t = i;
		i = j;
		j = t;
	}
	const char *in = (const char *)data + 4;
	size_t wlen, slen;
	char *whole = split_run3(&imap_parser_target, &lim, in, body, body, body, &wlen);
	char *split = split_run3(&imap_parser_target, &lim, in, body, i, j, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, whole, (int)slen, split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
