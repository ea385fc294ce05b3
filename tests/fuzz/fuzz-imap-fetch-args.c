/* libFuzzer target for what the IMAP selected state reads from the network
 * besides the command grammar: sequence sets (server/imap/seqset.c), FETCH
 * item lists (server/imap/fetch-items.c, fed through the real command
 * parser) and the header machines that serve HEADER / HEADER.FIELDS
 * (server/imap/fetch-body.c, msg_hdr_filter) over message bytes a client
 * uploaded. The first byte picks the part and a split point; the header
 * machines must give the same result whole and split, and what they select
 * must be no larger than their input in CRLF form plus the closing blank
 * line. Otherwise abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/imap/fetch-body.h"
#include "server/imap/fetch-items.h"
#include "server/imap/parser.h"
#include "server/imap/seqset.h"
#include "storage/message/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_seqset(const char *text)
{
	struct imap_seqset set;
	if (imap_seqset_parse(text, &set) != 0) {
		if (set.r != NULL || set.n != 0)
			abort();
		return;
	}
	if (!set.saved && set.n == 0)
		abort();
	imap_seqset_free(&set);
}

static void fuzz_items(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim = { 4096, 4096, 0, 8, 200 };
	struct imap_parser *p = imap_parser_create(&lim);
	char *line = malloc(size + 16);
	memcpy(line, "a FETCH 1 ", 10);
	memcpy(line + 10, data, size);
	memcpy(line + 10 + size, "\r\n", 2);
	size_t used;
	if (imap_parser_feed(p, line, size + 12, &used) == IMAP_PARSE_COMMAND) {
		const struct imap_command *cmd = imap_parser_command(p);
		struct imap_fetch_spec spec;
		const char *why = NULL;
		if (cmd->n_args >= 2) {
			if (imap_fetch_spec_parse(&cmd->args[1], &spec, &why) == 0) {
				for (size_t i = 0; i < spec.n; i++)
					if (spec.items[i].name == NULL ||
					    (spec.items[i].partial && spec.items[i].length == 0))
						abort();
				imap_fetch_spec_free(&spec);
			} else if (why == NULL || spec.items != NULL) {
				abort();
			}
		}
	}
	free(line);
	imap_parser_free(&p);
}

static void fuzz_header(const char *data, size_t size, size_t split, bool not)
{
	char *names[] = { "subject", "To", "X-A" };
	struct imap_hdr_end h1, h2;
	imap_hdr_end_init(&h1);
	imap_hdr_end_init(&h2);
	imap_hdr_end_feed(&h1, data, size);
	size_t u = imap_hdr_end_feed(&h2, data, split);
	if (!h2.found)
		imap_hdr_end_feed(&h2, data + u, size - u);
	if (h1.found != h2.found || (h1.found && h1.end != h2.end))
		abort();
	struct msg_hdr_filter *f1 = msg_hdr_filter_new((const char *const *)names, 3, not);
	struct msg_hdr_filter *f2 = msg_hdr_filter_new((const char *const *)names, 3, not);
	struct msg_buf o1 = { 0 }, o2 = { 0 };
	msg_hdr_filter_run(f1, data, size, &o1);
	msg_hdr_filter_run(f2, data, split, &o2);
	msg_hdr_filter_run(f2, data + split, size - split, &o2);
	msg_hdr_filter_finish(f1, &o1);
	msg_hdr_filter_finish(f2, &o2);
	/* every bare LF may become CRLF, plus the closing blank line and the
	 * line end of a field cut short */
	if (o1.len != o2.len || (o1.len > 0 && memcmp(o1.data, o2.data, o1.len) != 0) ||
	    o1.len > 2 * size + 4)
		abort();
	msg_hdr_filter_free(&f1);
	msg_hdr_filter_free(&f2);
	msg_buf_free(&o1);
	msg_buf_free(&o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 65536)
		return 0;
	uint8_t mode = data[0] % 3;
	size_t split = data[1];
	data += 2;
	size -= 2;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	switch (mode) {
	case 0:
		fuzz_seqset(text);
		break;
	case 1:
		fuzz_items(data, size);
		break;
	default:
		fuzz_header(text, size, split <= size ? split : size, (data[-2] & 0x80) != 0);
		break;
	}
	free(text);
	return 0;
}
