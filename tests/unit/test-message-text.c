/* Unit tests of the text side of storage/message/: RFC 2047 decoding, the
 * base64 / quoted-printable decoders (every split of every input), the RFC
 * 8970 preview, the SEARCH text streamed from a file and the HEADER.FIELDS
 * filter (every split). Messages go through message-helpers.h, so they are
 * parsed at every split point too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/message/message.h"
#include "tests/unit/message-helpers.h"

static void test_rfc2047_decoder(void **state)
{
	(void)state;
	struct { const char *in, *want; } cases[] = {
		{ "plain text", "plain text" },
		{ "=?utf-8?q?a_b?=  =?utf-8?q?c?=", "a bc" },
		/* a character split over two words survives */
		{ "=?utf-8?b?ww==?= =?utf-8?b?pA==?=", "\xc3\xa4" },
		{ "x=?utf-8?q?y?=z", "xyz" },
		{ "=?bogus-charset?q?ok?=", "ok" },
		{ "=?utf-8?q?bad?", "=?utf-8?q?bad?" },
		{ "a\r\n =?utf-8?q?b?=", "a b" },
		{ "=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88" },
		{ "raw \xff byte", "raw \xef\xbf\xbd byte" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg_buf b = { 0 };
		msg_rfc2047_decode(cases[i].in, strlen(cases[i].in), &b);
		assert_non_null(b.data);
		assert_string_equal(b.data, cases[i].want);
		msg_buf_free(&b);
	}
}

static void decode_all_splits(enum msg_cte cte, const char *in, const char *want, bool error)
{
	size_t len = strlen(in);
	for (size_t k = 0; k <= len; k++) {
		struct msg_decoder d;
		struct msg_buf out = { 0 };
		msg_decoder_init(&d, cte);
		char *a = malloc(k + 1), *b = malloc(len - k + 1);
		memcpy(a, in, k);
		memcpy(b, in + k, len - k);
		msg_decoder_run(&d, a, k, &out);
		msg_decoder_run(&d, b, len - k, &out);
		msg_decoder_finish(&d, &out);
		free(a);
		free(b);
		msg_buf_putc(&out, '\0');
		assert_int_equal(out.len - 1, strlen(want));
		assert_memory_equal(out.data, want, strlen(want));
		assert_int_equal(d.had_error, error);
		msg_buf_free(&out);
	}
}

static void test_decoders(void **state)
{
	(void)state;
	decode_all_splits(MSG_CTE_BASE64, "aGVs\r\nbG8g\nd29y bGQ=\r\n", "hello world", false);
	decode_all_splits(MSG_CTE_BASE64, "aGVsbG8", "hello", true);
	decode_all_splits(MSG_CTE_BASE64, "aG!VsbG8=", "hello", true);
	decode_all_splits(MSG_CTE_QP, "caf=C3=A9 =\r\nsoft  \r\nline\n", "caf\xc3\xa9 soft\r\nline\r\n", false);
	decode_all_splits(MSG_CTE_QP, "a=3d=\nb", "a=b", false);
	decode_all_splits(MSG_CTE_QP, "bad =ZZ and =4", "bad =ZZ and =4", true);
	decode_all_splits(MSG_CTE_QP, "trailing   ", "trailing", false);
	decode_all_splits(MSG_CTE_7BIT, "a\nb\r\nc\n", "a\r\nb\r\nc\r\n", false);
	assert_int_equal(msg_cte_parse("Quoted-Printable", 16), MSG_CTE_QP);
	assert_int_equal(msg_cte_parse("x-uuencode", 10), MSG_CTE_UNKNOWN);
	assert_int_equal(msg_cte_parse("", 0), MSG_CTE_UNKNOWN);

	/* BINARY.SIZE of leaves, and an unknown encoding is kept as such */
	struct msg_info *info = parse_str("Content-Type: multipart/mixed; boundary=b\n\n"
					  "--b\nContent-Transfer-Encoding: quoted-printable\n\nx=3Dy\n"
					  "--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n--b--\n");
	assert_int_equal(info->root->children->binary_size, 3);
	assert_int_equal(info->root->children->next->cte, MSG_CTE_UNKNOWN);
	assert_int_equal(msg_binary_cte(info->root->children->next), MSG_CTE_UNKNOWN);
	assert_int_equal(msg_binary_cte(info->root->children), MSG_CTE_QP);
	assert_int_equal(msg_binary_cte(info->root), MSG_CTE_BINARY);   /* the multipart */
	assert_int_equal(info->root->binary_size, info->root->body.virt);
	msg_info_free(&info);
}

static void check_preview(const char *msg, const char *want)
{
	struct msg_info *info = parse_str(msg);
	assert_non_null(info->preview.data);
	assert_int_equal(info->preview.len, strlen(want));
	assert_memory_equal(info->preview.data, want, strlen(want));
	msg_info_free(&info);
}

static void test_preview(void **state)
{
	(void)state;
	check_preview("Subject: x\n\n  Hello,\n\n> quoted reply\n>> more\nthanks\tfor  all\n",
		      "Hello, thanks for all");
	check_preview("Content-Type: multipart/alternative; boundary=a\n\n--a\n"
		      "Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
		      "<html><head><style>p{}</style></head><body><p>Caf=E9 &amp; <b>bar</b>&#33;</p></body></html>\n"
		      "--a--\n",
		      "Caf\xc3\xa9 & bar!");
	check_preview("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
		      "Content-Type: text/html\n\n<p>html</p>\n--a\nContent-Type: text/plain; charset=utf-8\n"
		      "Content-Transfer-Encoding: base64\n\nUGxhaW4gd2lucw==\n--a--\n",
		      "Plain wins");
	check_preview("Content-Type: application/pdf\n\n%PDF\n", "");
	check_preview("Content-Type: text/plain\nContent-Disposition: attachment\n\nfile\n", "");
	struct msg_buf m = { 0 };
	msg_buf_puts(&m, "\n");
	for (int i = 0; i < 300; i++)
		msg_buf_puts(&m, "\xc3\xa9 ");
	struct msg_info *info = parse_all(m.data, m.len);
	assert_int_equal(info->preview.len, 100 * 2 + 99);   /* 199 characters, the 200th a space */
	msg_info_free(&info);
	msg_buf_free(&m);
}

struct collected {
	struct msg_buf headers, bodies;
};

static int collect(enum msg_text_kind kind, const char *field, const struct msg_part *part,
		   const char *text, size_t len, void *ctx)
{
	struct collected *c = ctx;
	(void)part;
	if (kind == MSG_TEXT_HEADER) {
		msg_buf_printf(&c->headers, "%s=", field);
		msg_buf_append(&c->headers, text, len);
		msg_buf_putc(&c->headers, '|');
	} else {
		msg_buf_append(&c->bodies, text, len);
	}
	return 0;
}

static void test_search_text(void **state)
{
	(void)state;
	const char *m = "Subject: =?iso-8859-1?q?caf=E9?=\nX-Folded: a\n b\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
		"na=EFve\n--b\nContent-Type: image/png\n\nPNGDATA\n"
		"--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--b--\n";
	struct msg_info *info = parse_str(m);
	char path[] = "/tmp/loft-test-message-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, m, strlen(m)), (ssize_t)strlen(m));
	struct collected c = { { 0 }, { 0 } };
	assert_int_equal(msg_search_text(info, fd, collect, &c), 0);
	assert_string_equal(c.headers.data,
		"Subject=caf\xc3\xa9|X-Folded=a b|Content-Type=multipart/mixed; boundary=b|"
		"Content-Type=text/plain; charset=iso-8859-1|Content-Transfer-Encoding=quoted-printable|"
		"Content-Type=image/png|Content-Type=message/rfc822|Subject=inner|");
	assert_string_equal(c.bodies.data, "na\xc3\xafveinner body");
	msg_buf_free(&c.headers);
	msg_buf_free(&c.bodies);
	close(fd);
	msg_info_free(&info);
}

static void check_filter(const char *hdr, const char *const *names, size_t n, bool not,
			 const char *want)
{
	size_t len = strlen(hdr);
	for (size_t k = 0; k <= len; k++) {
		struct msg_hdr_filter *f = msg_hdr_filter_new(names, n, not);
		struct msg_buf out = { 0 };
		char *a = malloc(k + 1), *b = malloc(len - k + 1);
		memcpy(a, hdr, k);
		memcpy(b, hdr + k, len - k);
		msg_hdr_filter_run(f, a, k, &out);
		msg_hdr_filter_run(f, b, len - k, &out);
		msg_hdr_filter_finish(f, &out);
		msg_hdr_filter_free(&f);
		free(a);
		free(b);
		msg_buf_putc(&out, '\0');
		assert_string_equal(out.data, want);
		msg_buf_free(&out);
	}
}

static void test_header_fields(void **state)
{
	(void)state;
	static const char *const names[] = { "from", "SUBJECT" };
	const char *hdr = "From: a@b\nTo: c@d\nSubject: one\n two\nsubject : again\nX: y\n\n";
	check_filter(hdr, names, 2, false, "From: a@b\r\nSubject: one\r\n two\r\nsubject : again\r\n\r\n");
	check_filter(hdr, names, 2, true, "To: c@d\r\nX: y\r\n\r\n");
	check_filter("From: cut", names, 2, false, "From: cut\r\n\r\n");
	check_filter("", names, 2, false, "\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2047_decoder),
		cmocka_unit_test(test_decoders),
		cmocka_unit_test(test_preview),
		cmocka_unit_test(test_search_text),
		cmocka_unit_test(test_header_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
