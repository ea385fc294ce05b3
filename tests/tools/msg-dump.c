/* msg-dump: Loft's answers to the FETCH items of the Dovecot differential
 * check (tests/differential/), for each message file named on the command
 * line or on stdin (one path per line, relative to --root). Each message is
 * parsed, serialised to its cache blob and read back, and the items are
 * formatted from the read-back tree, so the check covers the blob too.
 * Output per message: "#FILE path\n" then items "== NAME LENGTH\n<bytes>\n".
 * --extra adds more sections (TEXT, 2, 1.MIME, 2.1, ...) for checks by hand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/imap/fetch-format.h"
#include "storage/message/message.h"

static void item(const char *name, const struct msg_buf *b)
{
	printf("== %s %zu\n", name, b->len);
	fwrite(b->data != NULL ? b->data : "", 1, b->len, stdout);
	putchar('\n');
}

static int read_range(int fd, const struct msg_range *r, struct msg_buf *raw)
{
	char buf[65536];
	uint64_t off = r->offset, left = r->raw_size;
	while (left > 0) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n <= 0)
			return -1;
		msg_buf_append(raw, buf, (size_t)n);
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	return 0;
}

static bool extra;

static int dump(const char *root, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", root, root[0] != '\0' ? "/" : "", rel);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "msg-dump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct msg_info *parsed, *info;
	if (msg_parse_fd(fd, NULL, &parsed) != 0) {
		fprintf(stderr, "msg-dump: %s: read failed\n", path);
		close(fd);
		return -1;
	}
	void *blob;
	size_t blob_len;
	msg_blob_write(parsed, &blob, &blob_len);
	msg_info_free(&parsed);
	int r = msg_blob_read(blob, blob_len, &info);
	free(blob);
	if (r != 0) {
		fprintf(stderr, "msg-dump: %s: blob read back: %s\n", path, msg_strerror(r));
		close(fd);
		return -1;
	}

	struct msg_buf b = { 0 }, raw = { 0 };
	printf("#FILE %s\n", rel);
	msg_buf_printf(&b, "RFC822.SIZE %llu", (unsigned long long)msg_info_size(info));
	item("RFC822.SIZE", &b);

	b.len = 0;
	msg_buf_puts(&b, "ENVELOPE ");
	imap_fmt_envelope(&b, info->root->envelope);
	item("ENVELOPE", &b);

	b.len = 0;
	msg_buf_puts(&b, "BODYSTRUCTURE ");
	imap_fmt_body(&b, info, true, 0);
	item("BODYSTRUCTURE", &b);

	uint32_t one = 1;
	struct msg_range range;
	const struct msg_part *part;
	b.len = 0;
	if (msg_section(info, &one, 1, MSG_SECTION_BODY, &range, &part) == 0 &&
	    read_range(fd, &range, &raw) == 0) {
		struct msg_buf crlf = { 0 };
		struct msg_crlf c = { false };
		msg_crlf_run(&c, raw.data, raw.len, &crlf);
		imap_fmt_nul_to_8bit(crlf.data, crlf.len);
		msg_buf_printf(&b, "BODY[1] {%zu}\r\n", crlf.len);
		msg_buf_append(&b, crlf.data, crlf.len);
		msg_buf_free(&crlf);
	} else {
		/* a part that does not exist reads as empty, as in Dovecot */
		msg_buf_puts(&b, "BODY[1] {0}\r\n");
	}
	item("BODY[1]", &b);

	static const char *const names[] = { "FROM", "TO", "SUBJECT", "DATE" };
	b.len = 0;
	raw.len = 0;
	if (msg_section(info, NULL, 0, MSG_SECTION_HEADER, &range, NULL) == 0 &&
	    read_range(fd, &range, &raw) == 0) {
		struct msg_buf fields = { 0 };
		struct msg_hdr_filter *f = msg_hdr_filter_new(names, 4, false);
		msg_hdr_filter_run(f, raw.data, raw.len, &fields);
		msg_hdr_filter_finish(f, &fields);
		msg_hdr_filter_free(&f);
		msg_buf_printf(&b, "BODY[HEADER.FIELDS (FROM TO SUBJECT DATE)] {%zu}\r\n", fields.len);
		msg_buf_append(&b, fields.data, fields.len);
		msg_buf_free(&fields);
	}
	item("HEADER.FIELDS", &b);

	b.len = 0;
	if (msg_section(info, &one, 1, MSG_SECTION_BODY, &range, &part) != 0)
		msg_buf_puts(&b, "BINARY.SIZE[1] 0");   /* reads as empty, like BODY[1] */
	else if (msg_binary_cte(part) == MSG_CTE_UNKNOWN)
		msg_buf_puts(&b, "ERROR NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
	else
		msg_buf_printf(&b, "BINARY.SIZE[1] %llu", (unsigned long long)part->binary_size);
	item("BINARY.SIZE[1]", &b);

	if (extra) {
		/* more sections, for checking section addressing by hand */
		static const struct { const char *name; uint32_t path[3]; size_t depth;
				      enum msg_section_kind kind; } more[] = {
			{ "BODY[TEXT]", { 0 }, 0, MSG_SECTION_TEXT },
			{ "BODY[2]", { 2 }, 1, MSG_SECTION_BODY },
			{ "BODY[1.MIME]", { 1 }, 1, MSG_SECTION_MIME },
			{ "BODY[2.MIME]", { 2 }, 1, MSG_SECTION_MIME },
			{ "BODY[2.1]", { 2, 1 }, 2, MSG_SECTION_BODY },
			{ "BODY[1.1]", { 1, 1 }, 2, MSG_SECTION_BODY },
			{ "BODY[2.HEADER]", { 2 }, 1, MSG_SECTION_HEADER },
			{ "BODY[1.TEXT]", { 1 }, 1, MSG_SECTION_TEXT },
		};
		for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++) {
			b.len = 0;
			raw.len = 0;
			if (msg_section(info, more[k].path, more[k].depth, more[k].kind, &range, NULL) == 0 &&
			    read_range(fd, &range, &raw) == 0) {
				struct msg_buf crlf = { 0 };
				struct msg_crlf c = { false };
				msg_crlf_run(&c, raw.data, raw.len, &crlf);
				imap_fmt_nul_to_8bit(crlf.data, crlf.len);
				msg_buf_printf(&b, "%s {%zu}\r\n", more[k].name, crlf.len);
				msg_buf_append(&b, crlf.data, crlf.len);
				msg_buf_free(&crlf);
			} else {
				msg_buf_printf(&b, "%s ENOENT", more[k].name);
			}
			item(more[k].name, &b);
		}
	}
	msg_buf_free(&b);
	msg_buf_free(&raw);
	msg_info_free(&info);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = "";
	int i = 1, failed = 0;
	if (i < argc && strcmp(argv[i], "--extra") == 0) {
		extra = true;
		i++;
	}
	if (argc > i + 1 && strcmp(argv[i], "--root") == 0) {
		root = argv[i + 1];
		i += 2;
	}
	if (i < argc) {
		for (; i < argc; i++)
			failed |= dump(root, argv[i]) != 0;
	} else {
		char line[4096];
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] != '\0')
				failed |= dump(root, line) != 0;
		}
	}
	fflush(stdout);
	return failed ? 1 : 0;
}
