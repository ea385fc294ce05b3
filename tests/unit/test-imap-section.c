/* Unit tests of section reading for CATENATE and URLFETCH
 * (server/imap/section-read.c): section-spec parsing (part numbers,
 * HEADER, TEXT, MIME, HEADER.FIELDS[.NOT] with atoms and quoted names,
 * and the errors), and reading sections of stored messages through the
 * store API — CRLF and bare-LF files, partials at every offset and length
 * (the CRLF form is what counts), reads in small pieces, sections that do
 * not exist. */
#include "server/imap/section-read.h"
#include "lib/error.h"
#include "store-fixture.h"

static struct imap_section parse_ok(const char *spec)
{
	struct imap_section sec;
	if (imap_section_parse(spec, strlen(spec), &sec) != 0)
		fail_msg("refused: %s", spec);
	return sec;
}

static void parse_bad(const char *spec)
{
	struct imap_section sec;
	if (imap_section_parse(spec, strlen(spec), &sec) == 0)
		fail_msg("accepted: %s", spec);
	assert_null(sec.names);
}

static void test_parse(void **state)
{
	(void)state;
	struct imap_section s = parse_ok("");
	assert_int_equal(s.depth, 0);
	assert_int_equal(s.kind, MSG_SECTION_BODY);
	s = parse_ok("1.2.3");
	assert_int_equal(s.depth, 3);
	assert_int_equal(s.path[2], 3);
	assert_int_equal(s.kind, MSG_SECTION_BODY);
	s = parse_ok("header");
	assert_int_equal(s.kind, MSG_SECTION_HEADER);
	s = parse_ok("2.TEXT");
	assert_int_equal(s.kind, MSG_SECTION_TEXT);
	assert_int_equal(s.depth, 1);
	s = parse_ok("4.1.MIME");
	assert_int_equal(s.kind, MSG_SECTION_MIME);
	s = parse_ok("HEADER.FIELDS (From \"X-Weird Name\" to)");
	assert_true(s.fields && !s.fields_not);
	assert_int_equal(s.n_names, 3);
	assert_string_equal(s.names[1], "X-Weird Name");
	imap_section_free(&s);
	s = parse_ok("1.HEADER.FIELDS.NOT (Subject)");
	assert_true(s.fields && s.fields_not);
	assert_int_equal(s.depth, 1);
	imap_section_free(&s);
	const char *bad[] = { "0", "1.", ".1", "01", "1..2", "MIME", "HEADERX", "TEXT.1",
			      "HEADER.FIELDS", "HEADER.FIELDS ()", "HEADER.FIELDS (a", "1.FOO",
			      "HEADER.FIELDS (a) x", "HEADER.FIELDS (\"\")", "99999999999",
			      "HEADER.FIELDS (a\tb)" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
}

static char *read_all(struct store_mailbox *mbox, uint32_t uid, const char *spec,
		      uint64_t off, uint64_t len, size_t piece, int *err_r)
{
	struct imap_section sec = parse_ok(spec);
	struct imap_section_reader *r;
	uint64_t size;
	*err_r = imap_section_open(mbox, uid, &sec, off, len, &r, &size);
	imap_section_free(&sec);
	if (*err_r != 0)
		return NULL;
	char *out = xmalloc(size + 1);
	size_t have = 0;
	for (;;) {
		size_t got;
		assert_int_equal(imap_section_read(r, out + have, piece, &got), 0);
		if (got == 0)
			break;
		have += got;
		assert_true(have <= size);
		assert_int_equal(imap_section_left(r), size - have);
	}
	assert_int_equal(have, size);
	out[have] = '\0';
	imap_section_close(&r);
	return out;
}

static void expect(struct store_mailbox *mbox, uint32_t uid, const char *spec, const char *want)
{
	int err;
	size_t wlen = strlen(want);
	/* Whole, then every partial of it, read in small pieces. */
	char *got = read_all(mbox, uid, spec, 0, 0, 3, &err);
	if (err != 0)
		fail_msg("%s: error %d", spec, err);
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", spec, got, want);
	free(got);
	for (size_t off = 0; off <= wlen + 1; off++) {
		for (size_t len = 0; len <= wlen + 1 - (off < wlen ? off : wlen); len++) {
			got = read_all(mbox, uid, spec, off, len, 7, &err);
			size_t start = off < wlen ? off : wlen;
			size_t n = len == 0 || len > wlen - start ? wlen - start : len;
			assert_int_equal(err, 0);
			if (strlen(got) != n || memcmp(got, want + start, n) != 0)
				fail_msg("%s <%zu.%zu>: %s", spec, off, len, got);
			free(got);
		}
	}
}

static void test_read_sections(void **state)
{
	struct fx *fx = *state;
	const char *crlf = "From: a@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
			   "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			   "--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
			   "--b\r\nContent-Type: message/rfc822\r\n\r\n"
			   "Subject: in\r\n\r\ninner\r\n--b--\r\n";
	const char *lf = "From: lf@example.org\nSubject: lf\n\nline one\nline two\n";
	uint32_t u1, u2;
	assert_int_equal(try_append(fx->user, "INBOX", crlf, strlen(crlf), NULL, &u1, NULL),
			 STORE_OK);
	assert_int_equal(try_append(fx->user, "INBOX", lf, strlen(lf), NULL, &u2, NULL),
			 STORE_OK);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	expect(mbox, u1, "", crlf);
	expect(mbox, u1, "1", "one");
	expect(mbox, u1, "1.MIME", "Content-Type: text/plain\r\n\r\n");
	expect(mbox, u1, "2.HEADER", "Subject: in\r\n\r\n");
	expect(mbox, u1, "2.TEXT", "inner");
	expect(mbox, u1, "HEADER.FIELDS (subject)", "Subject: hi\r\n\r\n");
	expect(mbox, u1, "HEADER.FIELDS.NOT (from content-type mime-version)",
	       "Subject: hi\r\n\r\n");
	expect(mbox, u2, "", "From: lf@example.org\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n");
	expect(mbox, u2, "TEXT", "line one\r\nline two\r\n");
	expect(mbox, u2, "1", "line one\r\nline two\r\n");
	expect(mbox, u2, "HEADER", "From: lf@example.org\r\nSubject: lf\r\n\r\n");
	int err;
	assert_null(read_all(mbox, u1, "3", 0, 0, 10, &err));
	assert_int_equal(err, LOFT_ENOENT);
	assert_null(read_all(mbox, u1, "1.HEADER", 0, 0, 10, &err));
	assert_int_equal(err, LOFT_ENOENT);
	assert_null(read_all(mbox, u2 + 5, "", 0, 0, 10, &err));
	assert_int_equal(err, LOFT_ENOENT);
	store_mailbox_close(&mbox);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_read_sections, setup, teardown),
	};
	return FX_RUN("imap-section", tests);
}
