/* Unit tests of the FETCH item parser (server/imap/fetch-items.c) and the
 * header machines FETCH uses (server/imap/fetch-body.c, msg_hdr_filter):
 * item and macro forms, sections with part numbers, BINARY, PREVIEW,
 * partial syntax, response names, errors; the header end and the
 * HEADER.FIELDS(.NOT) filter fed every input at every split point (and
 * byte by byte) must give the same result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/xmem.h"
#include "server/imap/fetch-body.h"
#include "server/imap/fetch-items.h"
#include "server/imap/parser.h"
#include "storage/message/message.h"

/* Parse "FETCH 1 <items>" with the real command parser and give the
 * item argument to the FETCH item parser. */
static int parse_items(const char *items, struct imap_fetch_spec *spec, const char **why_r)
{
	struct imap_parser_limits lim = { 65536, 65536, 0, 16, 1000 };
	struct imap_parser *p = imap_parser_create(&lim);
	char line[1024];
	snprintf(line, sizeof(line), "a FETCH 1 %s\r\n", items);
	size_t used;
	enum imap_parse_result r = imap_parser_feed(p, line, strlen(line), &used);
	assert_int_equal(r, IMAP_PARSE_COMMAND);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_int_equal(cmd->n_args, 2);
	int ret = imap_fetch_spec_parse(&cmd->args[1], spec, why_r);
	imap_parser_free(&p);
	return ret;
}

static void test_items(void **state)
{
	(void)state;
	struct imap_fetch_spec spec;
	const char *why = NULL;
	assert_int_equal(parse_items("FAST", &spec, &why), 0);
	assert_int_equal(spec.n, 3);
	assert_true(spec.has_flags);
	assert_false(spec.body);
	assert_string_equal(spec.items[1].name, "INTERNALDATE");
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("(uid Flags flags RFC822.SIZE EMAILID THREADID)", &spec, &why), 0);
	assert_int_equal(spec.n, 5);                   /* FLAGS once */
	assert_true(spec.has_uid);
	imap_fetch_spec_add(&spec, IMAP_FA_UID, true);
	assert_int_equal(spec.n, 5);
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("(FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\" x-y)]<5.10> "
				     "RFC822 RFC822.HEADER RFC822.TEXT BODY[TEXT] BODY[])",
				     &spec, &why), 0);
	assert_int_equal(spec.n, 7);
	assert_true(spec.body);
	assert_true(spec.seen);
	assert_true(spec.header);
	const struct imap_fetch_item *it = &spec.items[1];
	assert_int_equal(it->att, IMAP_FA_SECTION);
	assert_int_equal(it->sec, IMAP_SEC_FIELDS);
	assert_true(it->peek);
	assert_true(it->partial);
	assert_int_equal(it->origin, 5);
	assert_int_equal(it->length, 10);
	assert_int_equal(it->n_fields, 3);
	assert_string_equal(it->fields[1], "To");
	assert_string_equal(it->name, "BODY[HEADER.FIELDS (From \"To\" x-y)]<5>");
	assert_string_equal(spec.items[2].name, "RFC822");
	assert_false(spec.items[2].peek);
	assert_true(spec.items[3].peek);               /* RFC822.HEADER never sets \Seen */
	assert_int_equal(spec.items[3].sec, IMAP_SEC_HEADER);
	assert_false(spec.items[4].peek);
	assert_string_equal(spec.items[5].name, "BODY[TEXT]");
	assert_int_equal(spec.items[6].sec, IMAP_SEC_ALL);
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("BODY.PEEK[header.fields.not (Received)]", &spec, &why), 0);
	assert_int_equal(spec.items[0].sec, IMAP_SEC_FIELDS_NOT);
	assert_false(spec.seen);
	/* the section's words as RFC 9051 spells them, field names as sent */
	assert_string_equal(spec.items[0].name, "BODY[HEADER.FIELDS.NOT (Received)]");
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("BODY[]<0.4294967296>", &spec, &why), 0);
	assert_int_equal(spec.items[0].length, 4294967296ull);
	assert_string_equal(spec.items[0].name, "BODY[]<0>");
	imap_fetch_spec_free(&spec);

	/* origin is a number (leading zeros allowed); "<origin>" alone, as
	 * Dovecot and imaptest use it, runs to the end */
	assert_int_equal(parse_items("(BODY[]<007.2> BODY.PEEK[TEXT]<300> BINARY[1]<0>)", &spec,
				     &why), 0);
	assert_int_equal(spec.items[0].origin, 7);
	assert_int_equal(spec.items[0].length, 2);
	assert_string_equal(spec.items[0].name, "BODY[]<7>");
	assert_true(spec.items[1].partial);
	assert_int_equal(spec.items[1].origin, 300);
	assert_int_equal(spec.items[1].length, UINT64_MAX);
	assert_string_equal(spec.items[1].name, "BODY[TEXT]<300>");
	assert_int_equal(spec.items[2].origin, 0);
	assert_int_equal(spec.items[2].length, UINT64_MAX);
	imap_fetch_spec_free(&spec);

	/* an empty field name is an astring too; it names no field */
	assert_int_equal(parse_items("BODY[HEADER.FIELDS (\"\" x)]", &spec, &why), 0);
	assert_int_equal(spec.items[0].n_fields, 2);
	assert_string_equal(spec.items[0].fields[0], "");
	imap_fetch_spec_free(&spec);
}

/* BINARY and BINARY.SIZE take the whole section-spec: HEADER, MIME and
 * field lists are BODY's (read the header, no decoding), a part or TEXT
 * is decoded (needs the structure). */
static void test_binary_sections(void **state)
{
	(void)state;
	struct imap_fetch_spec spec;
	const char *why = NULL;
	assert_int_equal(parse_items("(binary.peek[header] BINARY.SIZE[header.fields (a)])",
				     &spec, &why), 0);
	assert_string_equal(spec.items[0].name, "BINARY[HEADER]");
	assert_string_equal(spec.items[1].name, "BINARY.SIZE[HEADER.FIELDS (a)]");
	assert_int_equal(spec.items[1].att, IMAP_FA_BINARY_SIZE);
	assert_int_equal(spec.items[1].sec, IMAP_SEC_FIELDS);
	assert_false(imap_fetch_item_decodes(&spec.items[0]));
	assert_false(imap_fetch_item_decodes(&spec.items[1]));
	assert_true(spec.header && spec.reader);
	assert_false(spec.mime || spec.seen);
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("(BINARY.SIZE[TEXT] BINARY.SIZE[2.1] BINARY.SIZE[1.MIME])",
				     &spec, &why), 0);
	assert_true(imap_fetch_item_decodes(&spec.items[0]));
	assert_true(imap_fetch_item_decodes(&spec.items[1]));
	assert_false(imap_fetch_item_decodes(&spec.items[2]));
	assert_int_equal(spec.items[2].sec, IMAP_SEC_MIME);
	assert_true(spec.mime && spec.reader);         /* 1.MIME reads the part's header */
	assert_false(spec.header || spec.seen);
	imap_fetch_spec_free(&spec);

	/* sizes of decoded sections come from the structure alone */
	assert_int_equal(parse_items("(BINARY.SIZE[TEXT] BINARY.SIZE[3])", &spec, &why), 0);
	assert_true(spec.mime);
	assert_false(spec.reader || spec.header);
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("BINARY[2.TEXT]<4.5>", &spec, &why), 0);
	const struct imap_fetch_item *it = &spec.items[0];
	assert_true(it->binary && !it->peek && it->partial);
	assert_int_equal(it->sec, IMAP_SEC_TEXT);
	assert_int_equal(it->depth, 1);
	assert_string_equal(it->name, "BINARY[2.TEXT]<4>");
	assert_true(spec.seen && spec.mime && spec.reader);
	imap_fetch_spec_free(&spec);
}

static void test_mime_items(void **state)
{
	(void)state;
	struct imap_fetch_spec spec;
	const char *why = NULL;
	/* the macros (RFC 9051 6.4.5) */
	assert_int_equal(parse_items("ALL", &spec, &why), 0);
	assert_int_equal(spec.n, 4);
	assert_int_equal(spec.items[3].att, IMAP_FA_ENVELOPE);
	assert_true(spec.body && spec.mime);
	assert_false(spec.reader || spec.seen);
	imap_fetch_spec_free(&spec);
	assert_int_equal(parse_items("full", &spec, &why), 0);
	assert_int_equal(spec.n, 5);
	assert_int_equal(spec.items[4].att, IMAP_FA_BODY);
	assert_string_equal(spec.items[4].name, "BODY");
	imap_fetch_spec_free(&spec);

	assert_int_equal(parse_items("(BODYSTRUCTURE body ENVELOPE PREVIEW (LAZY) UID "
				     "BODY[1.2.3] BODY.PEEK[2.MIME] BODY[3.HEADER.FIELDS.NOT (X)]<1.2> "
				     "binary[1.2]<3.4> BINARY.PEEK[] BINARY.SIZE[4] preview)",
				     &spec, &why), 0);
	assert_int_equal(spec.n, 11);                  /* PREVIEW once */
	assert_int_equal(spec.items[0].att, IMAP_FA_BODYSTRUCTURE);
	assert_int_equal(spec.items[1].att, IMAP_FA_BODY);
	assert_int_equal(spec.items[3].att, IMAP_FA_PREVIEW);
	assert_string_equal(spec.items[3].name, "PREVIEW");
	const struct imap_fetch_item *it = &spec.items[5];
	assert_int_equal(it->att, IMAP_FA_SECTION);
	assert_int_equal(it->depth, 3);
	assert_int_equal(it->path[2], 3);
	assert_int_equal(it->sec, IMAP_SEC_ALL);
	assert_string_equal(it->name, "BODY[1.2.3]");
	it = &spec.items[6];
	assert_int_equal(it->sec, IMAP_SEC_MIME);
	assert_true(it->peek);
	assert_string_equal(it->name, "BODY[2.MIME]");
	it = &spec.items[7];
	assert_int_equal(it->sec, IMAP_SEC_FIELDS_NOT);
	assert_int_equal(it->depth, 1);
	assert_int_equal(it->n_fields, 1);
	assert_string_equal(it->name, "BODY[3.HEADER.FIELDS.NOT (X)]<1>");
	it = &spec.items[8];
	assert_true(it->binary);
	assert_false(it->peek);
	assert_true(it->partial);
	assert_string_equal(it->name, "BINARY[1.2]<3>");
	it = &spec.items[9];
	assert_true(it->binary && it->peek);
	assert_int_equal(it->depth, 0);
	assert_string_equal(it->name, "BINARY[]");
	it = &spec.items[10];
	assert_int_equal(it->att, IMAP_FA_BINARY_SIZE);
	assert_string_equal(it->name, "BINARY.SIZE[4]");
	assert_true(spec.body && spec.mime && spec.reader && spec.seen);
	assert_false(spec.header);                     /* no top-level header item */
	imap_fetch_spec_free(&spec);

	/* a top-level HEADER needs the header's end, not the structure */
	assert_int_equal(parse_items("(BODY.PEEK[HEADER] BODY.PEEK[4294967295.TEXT])", &spec, &why), 0);
	assert_true(spec.header && spec.reader && spec.mime);
	assert_false(spec.seen);
	assert_int_equal(spec.items[1].path[0], 4294967295u);
	imap_fetch_spec_free(&spec);
	assert_int_equal(parse_items("BODY.PEEK[TEXT]", &spec, &why), 0);
	assert_false(spec.mime);
	imap_fetch_spec_free(&spec);
}

static void test_bad_items(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"()", "FOO", "(FLAGS FOO)", "BODY.STRUCTURE", "ENVELOPE[]", "(ALL)", "(FULL FLAGS)",
		"BODY[MIME]", "BODY[0]", "BODY[01]", "BODY[1.]", "BODY[.1]", "BODY[1..2]",
		"BODY[4294967296]", "BODY[1.MIME.X]", "BODY[1.2.MIMEX]", "BODY[HEADER.FIELDS]",
		"BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (a b]", "BODY[HEADER.FIELDS (\"a)]",
		"BODY[1.HEADER.FIELDS]", "BODY[TEXT]<>", "BODY[]<1.>", "BODY[]<1.0>", "BODY[]<1.02>",
		"BODY[]<.2>", "BODY[]<1>x", "BODY[]<1.2>x", "BODY[]<1.2.3>", "BODY.PEEKX[]", "BINARY",
		"BINARY.PEEK", "BINARY.SIZE", "BINARY[MIME]", "BINARY[0]", "BINARY.PEEK[TEXT.1]",
		"BINARY.SIZE[1]<0.1>", "BINARY.SIZE[1]<0>", "RFC822<0.1>", "\"FLAGS\"",
		"(FLAGS (UID))", "BODY[HEADERX]", "BODY[]<99999999999999999999.1>",
		"(PREVIEW ())", "(PREVIEW (FOO))", "(PREVIEW (LAZY) (LAZY))", "(PREVIEW (\"LAZY\"))",
		"(FLAGS (LAZY))",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_fetch_spec spec;
		const char *why = NULL;
		assert_int_equal(parse_items(bad[i], &spec, &why), -1);
		assert_non_null(why);
		assert_null(spec.items);
	}
}

/* ---- header machines at every split ---- */

static const char msg1[] =
	"From: a@b\r\n"
	"Subject: hello\r\n"
	" world\r\n"
	"X-Long: 1\r\n"
	"to : c@d\r\n"
	"NoColonLine\r\n"
	"\r\n"
	"Subject: not a header\r\n";

static uint64_t hdr_end(const char *data, size_t len, size_t split)
{
	struct imap_hdr_end h;
	imap_hdr_end_init(&h);
	size_t used = imap_hdr_end_feed(&h, data, split);
	if (!h.found)
		used += imap_hdr_end_feed(&h, data + split, len - split);
	(void)used;
	return h.found ? h.end : UINT64_MAX;
}

static void test_header_end(void **state)
{
	(void)state;
	size_t len = strlen(msg1);
	uint64_t want = (uint64_t)(strstr(msg1, "\r\n\r\n") - msg1) + 4;
	for (size_t k = 0; k <= len; k++)
		assert_int_equal(hdr_end(msg1, len, k), want);
	assert_int_equal(hdr_end("\r\nbody", 6, 1), 2);
	assert_int_equal(hdr_end("a: b\r\nc: d\r\n", 12, 3), UINT64_MAX);
	assert_int_equal(hdr_end("a\r\r\nb\r\n\r\n", 9, 4), 9);
}

/* HEADER.FIELDS(.NOT) as FETCH runs it: msg_hdr_filter over the bytes
 * fed in the given pieces. */
static char *filter(const char *data, size_t len, char *const *names, size_t n, bool not,
		    const size_t *splits, size_t n_splits, uint64_t *counted_r)
{
	struct msg_hdr_filter *f = msg_hdr_filter_new((const char *const *)names, n, not);
	struct msg_buf out = { 0 };
	size_t at = 0;
	for (size_t i = 0; i <= n_splits; i++) {
		size_t end = i < n_splits ? splits[i] : len;
		msg_hdr_filter_run(f, data + at, end - at, &out);
		at = end;
	}
	msg_hdr_filter_finish(f, &out);
	msg_hdr_filter_free(&f);
	*counted_r = out.len;
	char *r = xstrndup(out.data != NULL ? out.data : "", out.len);
	msg_buf_free(&out);
	return r;
}

static void check_filter(const char *data, char *const *names, size_t n, bool not,
			 const char *want)
{
	size_t len = strlen(data);
	for (size_t k = 0; k <= len; k++) {
		uint64_t counted;
		char *got = filter(data, len, names, n, not, &k, 1, &counted);
		assert_string_equal(got, want);
		assert_int_equal(counted, strlen(want));
		free(got);
	}
	size_t *every = malloc(len * sizeof(*every));
	for (size_t k = 0; k < len; k++)
		every[k] = k;
	uint64_t counted;
	char *got = filter(data, len, names, n, not, every, len, &counted);
	assert_string_equal(got, want);
	free(got);
	free(every);
}

static void test_header_fields(void **state)
{
	(void)state;
	char *subj[] = { "SUBJECT", "to" };
	check_filter(msg1, subj, 2, false, "Subject: hello\r\n world\r\nto : c@d\r\n\r\n");
	check_filter(msg1, subj, 2, true,
		     "From: a@b\r\nX-Long: 1\r\nNoColonLine\r\n\r\n");
	char *none[] = { "Cc" };
	check_filter(msg1, none, 1, false, "\r\n");
	/* a header without a blank line, and an empty header */
	check_filter("A: 1\r\nB: 2\r\n", subj + 1, 1, true, "A: 1\r\nB: 2\r\n\r\n");
	check_filter("\r\nbody", none, 1, true, "\r\n");
	/* a field name longer than any that can match */
	char longname[1200];
	memset(longname, 'x', 1100);
	strcpy(longname + 1100, ": v\r\nCc: y\r\n\r\n");
	char *cc[] = { "cc" };
	check_filter(longname, cc, 1, false, "Cc: y\r\n\r\n");
	char want[1200];
	memcpy(want, longname, 1105);
	strcpy(want + 1105, "\r\n");
	check_filter(longname, cc, 1, true, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_mime_items),
		cmocka_unit_test(test_binary_sections),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_header_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
