/* libFuzzer target for the DATA/BDAT readers (server/net/data-reader.c).
 * The first 6 bytes pick the mode (DATA, BDAT, BDAT BINARYMIME), the
 * newline and NUL policies, the line and size limits, two split points and
 * the BDAT chunking; the rest is the stream. It is read whole and cut at the
 * two points through the shared driver (exact-size heap pieces, so a read
 * past the given length trips ASan); both must agree. A good DATA message
 * must also survive the round trip: its output re-stuffed and terminated
 * reads back to itself, and holds no bare CR or LF when normalised and no
 * line over the limit. Anything else aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/data-reader-drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 6

/* Lines of a good normalised message end in CRLF, with no bare CR or LF,
 * and none is longer than the limit. */
static void check_lines(const struct drive_out *o, const struct data_reader_limits *lim)
{
	size_t line = 0;
	for (size_t i = 0; i < o->olen; i++) {
		char ch = o->out[i];
		if (ch == '\r') {
			if (i + 1 >= o->olen || o->out[i + 1] != '\n')
				abort();
			if (lim->max_line != 0 && line + 2 > lim->max_line)
				abort();
			line = 0;
			i++;
		} else if (ch == '\n') {
			abort();
		} else {
			if (ch == '\0' && lim->nul != DATA_NUL_KEEP)
				abort();
			line++;
		}
	}
}

/* Stuff and terminate the output of a good DATA message, read it again. */
static void round_trip(const struct drive_out *o, const struct data_reader_limits *lim)
{
	if (o->olen > 0 && (o->olen < 2 || memcmp(o->out + o->olen - 2, "\r\n", 2) != 0))
		abort(); /* DATA content always ends with a line end */
	char *s = malloc(o->olen * 2 + 8);
	size_t n = 0;
	bool bol = true;
	for (size_t i = 0; i < o->olen; i++) {
		if (bol && o->out[i] == '.')
			s[n++] = '.';
		s[n++] = o->out[i];
		bol = o->out[i] == '\n';
	}
	memcpy(s + n, ".\r\n", 3);
	n += 3;
	struct drive_out again = { 0 };
	struct data_reader_limits l2 = *lim;
	l2.declared_size = 0;      /* normalising may have grown it */
	drive(s, n, &l2, NULL, 0, NULL, 0, &again);
	if (!again.done || again.consumed != n || again.err != DATA_ERR_NONE ||
	    again.olen != o->olen || memcmp(again.out, o->out, o->olen) != 0)
		abort();
	free(again.out);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	int mode = data[0] % 3;               /* DATA, BDAT, BDAT binary */
	struct data_reader_limits lim = {
		.bare_newline = (data[0] >> 2) & 1 ? DATA_NEWLINE_REJECT : DATA_NEWLINE_NORMALISE,
		.nul = (enum data_nul_policy)(((data[0] >> 3) & 3) % 3),
		.max_line = data[1] % 40 == 0 ? 0 : 2 + data[1] % 40,
		.max_size = data[2] < 128 ? 0 : (uint64_t)(data[2] - 128) * 4,
		.declared_size = (data[0] >> 5) == 7 ? (uint64_t)data[2] * 2 : 0,
		.binary = mode == 2,
	};
	const char *in = (const char *)data + HDR;
	size_t len = size - HDR;
	size_t cuts[2] = { len ? data[3] % (len + 1) : 0, len ? data[4] % (len + 1) : 0 };
	if (cuts[1] < cuts[0]) {
		size_t t = cuts[0];
		cuts[0] = cuts[1];
		cuts[1] = t;
	}
	/* BDAT: up to 4 chunks; the last one LAST. */
	uint64_t chunks[4];
	size_t n_chunks = 0;
	if (mode != 0) {
		n_chunks = 1 + data[5] % 4;
		for (size_t i = 0; i < n_chunks; i++)
			chunks[i] = (uint64_t)((data[5] >> 2) * (i + 1) + i) % (len + 2);
	}
	const uint64_t *ch = mode != 0 ? chunks : NULL;
	struct drive_out whole = { 0 }, split = { 0 };
	drive(in, len, &lim, ch, n_chunks, NULL, 0, &whole);
	drive(in, len, &lim, ch, n_chunks, cuts, 2, &split);
	if (!drive_same(&whole, &split)) {
		fprintf(stderr, "whole: err %s done %d at %zu; split: err %s done %d at %zu\n",
			data_error_name(whole.err), whole.done, whole.consumed,
			data_error_name(split.err), split.done, split.consumed);
		abort();
	}
	if (whole.err == DATA_ERR_NONE && lim.max_size != 0 && whole.olen > lim.max_size)
		abort();
	if (mode == 0 && whole.done && whole.err == DATA_ERR_NONE) {
		check_lines(&whole, &lim);
		round_trip(&whole, &lim);
	}
	free(whole.out);
	free(split.out);
	return 0;
}
