/* libFuzzer target for the message parser and its IMAP serialiser
 * (storage/message/, server/imap/fetch-format.c). For any input: parsing it
 * whole and parsed in three chunks (split points taken from the input) give
 * the same blob; the blob reads back and re-serialises to the same bytes;
 * ENVELOPE/BODYSTRUCTURE format; every section of the first parts resolves
 * inside the input; header filtering, decoding and search text run on the
 * ranges. The input is also fed to the blob reader as a (damaged) blob. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/imap/fetch-format.h"
#include "storage/message/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_text(enum msg_text_kind kind, const char *field, const struct msg_part *part,
		      const char *text, size_t len, void *ctx)
{
	(void)kind; (void)field; (void)part; (void)text;
	*(size_t *)ctx += len;
	return 0;
}

static void check_range(const struct msg_range *r, size_t size)
{
	if (r->offset > size || r->raw_size > size - r->offset || r->size < r->raw_size)
		abort();
}

static void sections(const struct msg_info *info, const uint8_t *data, size_t size)
{
	static const char *const names[] = { "From", "Subject", "Content-Type" };
	uint32_t path[3];
	for (uint32_t a = 0; a <= 3; a++) {
		for (uint32_t b = 0; b <= 2; b++) {
			size_t depth = a == 0 ? 0 : b == 0 ? 1 : 2;
			path[0] = a;
			path[1] = b;
			for (int kind = MSG_SECTION_BODY; kind <= MSG_SECTION_MIME; kind++) {
				struct msg_range r;
				const struct msg_part *part;
				if (msg_section(info, path, depth, (enum msg_section_kind)kind, &r, &part) != 0)
					continue;
				check_range(&r, size);
				struct msg_buf out = { 0 };
				if (kind == MSG_SECTION_HEADER) {
					struct msg_hdr_filter *f = msg_hdr_filter_new(names, 3, b == 1);
					msg_hdr_filter_run(f, data + r.offset, (size_t)r.raw_size, &out);
					msg_hdr_filter_finish(f, &out);
					msg_hdr_filter_free(&f);
				} else {
					struct msg_decoder d;
					msg_decoder_init(&d, part->cte);
					msg_decoder_run(&d, data + r.offset, (size_t)r.raw_size, &out);
					msg_decoder_finish(&d, &out);
					struct msg_crlf c = { false };
					out.len = 0;
					msg_crlf_run(&c, data + r.offset, (size_t)r.raw_size, &out);
					if (out.len != r.size)
						abort();
				}
				msg_buf_free(&out);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_limits lim;
	msg_limits_default(&lim);
	lim.max_parts = 200;
	lim.max_depth = 20;
	lim.max_header_field = 4096;
	lim.max_kept = 65536;

	struct msg_info *whole = msg_parse_buffer(data, size, &lim);
	size_t s1 = size > 0 ? data[0] % (size + 1) : 0;
	size_t s2 = size > 1 ? s1 + data[size - 1] % (size - s1 + 1) : s1;
	struct msg_parser *p = msg_parser_new(&lim);
	msg_parser_feed(p, data, s1);
	msg_parser_feed(p, data + s1, s2 - s1);
	msg_parser_feed(p, data + s2, size - s2);
	struct msg_info *split = msg_parser_finish(&p);

	void *b1, *b2, *b3;
	size_t l1, l2, l3;
	msg_blob_write(whole, &b1, &l1);
	msg_blob_write(split, &b2, &l2);
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		abort();   /* the split changed the result */
	struct msg_info *back;
	if (msg_blob_read(b1, l1, &back) != 0)
		abort();
	msg_blob_write(back, &b3, &l3);
	if (l3 != l1 || memcmp(b1, b3, l1) != 0)
		abort();
	if (msg_info_size(back) < size)
		abort();   /* CRLF sizes never shrink */

	struct msg_buf out = { 0 };
	imap_fmt_envelope(&out, back->root->envelope);
	imap_fmt_body(&out, back, true, 0);
	imap_fmt_body(&out, back, false, IMAP_FMT_GLOBAL_AS_MESSAGE);
	msg_buf_free(&out);
	sections(back, data, size);

	/* search text reads the ranges from a file */
	int fd = memfd_create("fuzz-message", 0);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			size_t n = 0;
			if (msg_search_text(back, fd, count_text, &n) != 0)
				abort();
		}
		close(fd);
	}

	struct msg_info *junk;
	if (msg_blob_read(data, size, &junk) == 0)
		msg_info_free(&junk);

	free(b1);
	free(b2);
	free(b3);
	msg_info_free(&whole);
	msg_info_free(&split);
	msg_info_free(&back);
	return 0;
}
