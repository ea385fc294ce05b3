/* libFuzzer target for the line and byte-count readers (server/net/
 * reader.c). The first three bytes pick the line limit and two split points;
 * the rest is read whole and in three pieces (tests/support/split.h: exact-
 * size heap copies, so a read past the given length trips ASan), treating a line ending in "{n}" as
 * announcing an n-byte payload. Both feedings must give the same transcript
 * (lines, overlong reports, payload bytes); otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/reader-driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t max_line = data[0] % 80;
	size_t body = size - 3;
	size_t i = body ? data[1] % (body + 1) : 0;
	size_t j = body ? data[2] % (body + 1) : 0;
	if (j < i) {
		size_t t = i;
		i = j;
		j = t;
	}
	const char *in = (const char *)data + 3;
	size_t wlen, slen;
	char *whole = split_run3(&reader_target, &max_line, in, body, body, body, &wlen);
	char *split = split_run3(&reader_target, &max_line, in, body, i, j, &slen);
	if (wlen != slen || memcmp(whole, split, wlen) != 0) {
		fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)wlen, whole, (int)slen, split);
		abort();
	}
	free(whole);
	free(split);
	return 0;
}
