/* Unit tests of the message parser's structure (storage/message/) and its
 * IMAP serialisation (server/imap/fetch-format.c). Every input is parsed
 * whole, byte by byte and split in two at every position (a sample of
 * positions for large inputs), each piece in an exact-size heap buffer so a
 * read past the given length trips ASan; all must give the same cache blob
 * (message-helpers.h). The cases: nested multiparts, message/rfc822 in a
 * multipart, RFC 2231, encoded words in every ENVELOPE header, malformed
 * boundaries, empty bodies, huge headers, limits, sections, the blob's
 * version and damage checks, pathological input and every corpus message.
 * Decoders, preview, search text and HEADER.FIELDS: test-message-text.c. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/config.h"
#include "server/imap/fetch-format.h"
#include "server/store-config.h"
#include "storage/message/message.h"
#include "tests/unit/message-helpers.h"

static char *bodystructure(const struct msg_info *info)
{
	struct msg_buf b = { 0 };
	imap_fmt_body(&b, info, true, 0);
	return b.data;
}

static char *envelope(const struct msg_info *info)
{
	struct msg_buf b = { 0 };
	imap_fmt_envelope(&b, info->root->envelope);
	return b.data;
}

static void check_bs(const char *msg, const char *want)
{
	struct msg_info *info = parse_str(msg);
	char *got = bodystructure(info);
	assert_string_equal(got, want);
	free(got);
	msg_info_free(&info);
}

/* The bytes of a section, CRLF-normalised, as a string. */
static char *section(const char *msg, const struct msg_info *info, const uint32_t *path,
		     size_t depth, enum msg_section_kind kind)
{
	struct msg_range r;
	if (msg_section(info, path, depth, kind, &r, NULL) != MSG_OK)
		return NULL;
	assert_true(r.offset + r.raw_size <= strlen(msg));
	struct msg_buf b = { 0 };
	struct msg_crlf c = { false };
	msg_crlf_run(&c, msg + r.offset, (size_t)r.raw_size, &b);
	assert_int_equal(b.len, r.size);
	msg_buf_putc(&b, '\0');
	return b.data;
}

static void check_section(const char *msg, const struct msg_info *info, const char *want,
			  enum msg_section_kind kind, size_t depth, ...)
{
	uint32_t path[8];
	va_list ap;
	va_start(ap, depth);
	for (size_t i = 0; i < depth; i++)
		path[i] = va_arg(ap, uint32_t);
	va_end(ap);
	char *got = section(msg, info, path, depth, kind);
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* ---- structure ---- */

static void test_simple(void **state)
{
	(void)state;
	const char *crlf = "From: Joe <joe@example.org>\r\nTo: ann@example.org\r\n"
		"Subject: hello\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
		"Message-ID: <1@x>\r\n\r\nline 1\r\nline 2\r\n";
	const char *lf = "From: Joe <joe@example.org>\nTo: ann@example.org\n"
		"Subject: hello\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
		"Message-ID: <1@x>\n\nline 1\nline 2\n";
	for (int i = 0; i < 2; i++) {
		const char *m = i == 0 ? crlf : lf;
		struct msg_info *info = parse_str(m);
		assert_int_equal(msg_info_size(info), strlen(crlf));
		char *bs = bodystructure(info);
		assert_string_equal(bs, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 16 2 NIL NIL NIL NIL)");
		free(bs);
		char *env = envelope(info);
		assert_string_equal(env, "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"hello\" "
				    "((\"Joe\" NIL \"joe\" \"example.org\")) ((\"Joe\" NIL \"joe\" \"example.org\")) "
				    "((\"Joe\" NIL \"joe\" \"example.org\")) ((NIL NIL \"ann\" \"example.org\")) "
				    "NIL NIL NIL \"<1@x>\")");
		free(env);
		check_section(m, info, "line 1\r\nline 2\r\n", MSG_SECTION_BODY, 1, 1);
		check_section(m, info, "line 1\r\nline 2\r\n", MSG_SECTION_TEXT, 0);
		check_section(m, info, NULL, MSG_SECTION_BODY, 1, 2);
		check_section(m, info, NULL, MSG_SECTION_HEADER, 1, 1);
		assert_int_equal(info->root->header.lines, 6);
		assert_int_equal(info->root->body.lines, 2);
		msg_info_free(&info);
	}
}

static const char nested[] =
	"From: a@b.c\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
	"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain\r\n"
	"--inner\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<b>x=3D</b>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
	"Content-Transfer-Encoding: base64\r\nContent-ID: <c1>\r\nContent-Description: data\r\n"
	"Content-Disposition: attachment; filename=a.bin\r\nContent-Language: en, de\r\n"
	"Content-Location: http://x/y\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n"
	"AAECAw==\r\n"
	"--outer--\r\nepilogue\r\n";

static void test_nested_multipart(void **state)
{
	(void)state;
	struct msg_info *info = parse_all(nested, sizeof(nested) - 1);
	char *bs = bodystructure(info);
	assert_string_equal(bs,
		"(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)"
		"(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 11 0 NIL NIL NIL NIL)"
		" \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
		"(\"application\" \"octet-stream\" (\"name\" \"a.bin\") \"<c1>\" \"data\" \"base64\" 8"
		" \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" \"a.bin\")) (\"en\" \"de\") \"http://x/y\")"
		" \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	free(bs);
	struct msg_buf b = { 0 };
	imap_fmt_body(&b, info, false, 0);
	assert_string_equal(b.data,
		"(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0)"
		"(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 11 0)"
		" \"alternative\")(\"application\" \"octet-stream\" (\"name\" \"a.bin\") \"<c1>\" \"data\" \"base64\" 8)"
		" \"mixed\")");
	msg_buf_free(&b);
	check_section(nested, info, "plain", MSG_SECTION_BODY, 2, 1, 1);
	check_section(nested, info, "<b>x=3D</b>", MSG_SECTION_BODY, 2, 1, 2);
	check_section(nested, info, "Content-Type: text/html\r\nContent-Transfer-Encoding: "
		      "quoted-printable\r\n\r\n", MSG_SECTION_MIME, 2, 1, 2);
	check_section(nested, info, "AAECAw==", MSG_SECTION_BODY, 1, 2);
	check_section(nested, info, NULL, MSG_SECTION_BODY, 1, 3);
	check_section(nested, info, NULL, MSG_SECTION_HEADER, 1, 2);
	/* decoded sizes for BINARY.SIZE */
	const struct msg_part *att = info->root->children->next;
	assert_int_equal(att->cte, MSG_CTE_BASE64);
	assert_int_equal(att->binary_size, 4);
	const struct msg_part *html = info->root->children->children->next;
	assert_int_equal(html->binary_size, 9);   /* "<b>x=</b>" */
	/* "AAECAw==" decodes to 00 01 02 03: BINARY[] must be literal8 */
	assert_true(att->flags & MSG_PART_BINARY_NUL);
	assert_false(html->flags & MSG_PART_BINARY_NUL);
	assert_false(info->root->children->children->flags & MSG_PART_BINARY_NUL);
	assert_int_equal(info->n_parts, 5);
	msg_info_free(&info);
}

/* BINARY[] of a part whose decoded body holds NUL must be literal8: the
 * parser notes it for every decoder path (counting only, and feeding the
 * preview). */
static void test_binary_nul(void **state)
{
	(void)state;
	static const char *const msgs[] = {
		"Content-Type: application/x\nContent-Transfer-Encoding: quoted-printable\n\na=00b\n",
		"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\na=00b\n",
		"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nYQBi\n",
		"Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\nYQBi\n",
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct msg_info *info = parse_all(msgs[i], strlen(msgs[i]));
		assert_true(info->root->flags & MSG_PART_BINARY_NUL);
		assert_int_equal(info->root->binary_size, i < 2 ? 5 : 3);
		msg_info_free(&info);
	}
	const char *clean = "Content-Transfer-Encoding: base64\n\nYWJj\n";
	struct msg_info *info = parse_all(clean, strlen(clean));
	assert_false(info->root->flags & MSG_PART_BINARY_NUL);
	msg_info_free(&info);
}

static const char rfc822_in_multipart[] =
	"Content-Type: multipart/mixed; boundary=b\n\n"
	"--b\nContent-Type: text/plain\n\nintro\n"
	"--b\nContent-Type: message/rfc822\n\n"
	"From: Inner <in@x.org>\nSubject: inner one\nDate: Tue, 2 Jan 2024 00:00:00 +0000\n"
	"Content-Type: multipart/mixed; boundary=c\n\n"
	"--c\n\ninner text\n--c\nContent-Type: image/gif\n\nGIF\n--c--\n"
	"--b\nContent-Type: message/rfc822\n\nSubject: flat\n\nflat body\n"
	"--b--\n";

static void test_message_rfc822(void **state)
{
	(void)state;
	const char *m = rfc822_in_multipart;
	struct msg_info *info = parse_all(m, strlen(m));
	char *bs = bodystructure(info);
	assert_string_equal(bs,
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 190 (\"Tue, 2 Jan 2024 00:00:00 +0000\" \"inner one\""
		" ((\"Inner\" NIL \"in\" \"x.org\")) ((\"Inner\" NIL \"in\" \"x.org\")) ((\"Inner\" NIL \"in\" \"x.org\"))"
		" NIL NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)"
		"(\"image\" \"gif\" NIL NIL NIL \"7bit\" 3 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"c\") NIL NIL NIL) 13"
		" NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 26 (NIL \"flat\" NIL NIL NIL NIL NIL NIL NIL NIL)"
		" (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)"
		" \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	free(bs);
	check_section(m, info, "Subject: flat\r\n\r\nflat body", MSG_SECTION_BODY, 1, 3);
	check_section(m, info, "Subject: flat\r\n\r\n", MSG_SECTION_HEADER, 1, 3);
	check_section(m, info, "flat body", MSG_SECTION_TEXT, 1, 3);
	check_section(m, info, "flat body", MSG_SECTION_BODY, 2, 3, 1);
	check_section(m, info, "inner text", MSG_SECTION_BODY, 2, 2, 1);
	check_section(m, info, "GIF", MSG_SECTION_BODY, 2, 2, 2);
	check_section(m, info, "Content-Type: image/gif\r\n\r\n", MSG_SECTION_MIME, 2, 2, 2);
	check_section(m, info, NULL, MSG_SECTION_BODY, 2, 2, 3);
	check_section(m, info, NULL, MSG_SECTION_BODY, 3, 3, 1, 1);
	msg_info_free(&info);
}

static void test_message_global(void **state)
{
	(void)state;
	const char *m = "Content-Type: message/global\n\nSubject: caf\xc3\xa9\n\nbody\n";
	struct msg_info *info = parse_str(m);
	struct msg_buf b = { 0 };
	imap_fmt_body(&b, info, false, IMAP_FMT_GLOBAL_AS_MESSAGE);
	assert_string_equal(b.data, "(\"message\" \"global\" NIL NIL NIL \"7bit\" 24 (NIL {5}\r\ncaf\xc3\xa9"
			    " NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\")"
			    " NIL NIL \"7bit\" 6 1) 3)");
	b.len = 0;
	imap_fmt_body(&b, info, false, 0);
	assert_string_equal(b.data, "(\"message\" \"global\" NIL NIL NIL \"7bit\" 24)");
	msg_buf_free(&b);
	msg_info_free(&info);
}

static void test_digest_defaults(void **state)
{
	(void)state;
	check_bs("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nx\n--d--\n",
		 "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL)"
		 " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL) 2"
		 " NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)");
}

/* ---- parameters ---- */

static void test_rfc2231(void **state)
{
	(void)state;
	const char *m = "Content-Type: application/x-stuff;\n"
		" title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
		" title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n title*2=\"isn't it!\"; name=plain\n"
		"Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.txt\n\nx\n";
	struct msg_info *info = parse_str(m);
	char *bs = bodystructure(info);
	assert_string_equal(bs, "(\"application\" \"x-stuff\" (\"name\" \"plain\" \"title*\""
			    " \"us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!\")"
			    " NIL NIL \"7bit\" 3 NIL (\"attachment\" (\"filename*\" \"iso-8859-1''caf%E9.txt\")) NIL NIL)");
	free(bs);
	struct msg_buf b = { 0 };
	msg_rfc2231_decode(&info->root->params[1], &b);
	assert_string_equal(b.data, "This is even more ***fun*** isn't it!");
	b.len = 0;
	msg_rfc2231_decode(&info->root->disp_params[0], &b);
	assert_string_equal(b.data, "caf\xc3\xa9.txt");
	msg_buf_free(&b);
	msg_info_free(&info);

	/* a boundary in extended form still separates parts (RFC 2231 4) */
	check_bs("Content-Type: multipart/mixed; boundary*=us-ascii''b%31\n\n--b1\n\none\n--b1--\n",
		 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary*\" \"us-ascii''b%31\") NIL NIL NIL)");
	/* a gap in the numbering keeps the pieces apart */
	check_bs("Content-Type: text/plain; a*0=x; a*2=z\n\n",
		 "(\"text\" \"plain\" (\"a*0\" \"x\" \"a*2\" \"z\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
}

/* ---- encoded words in every ENVELOPE header ---- */

static void test_encoded_words_envelope(void **state)
{
	(void)state;
	const char *m =
		"Date: Wed, 3 Jan 2024 12:00:00 +0100\n"
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= =?ISO-8859-1?B?S/ZsbA==?=\n"
		"From: =?utf-8?b?w4Fsdm9yZQ==?= <a@x.org>\n"
		"Sender: =?iso-8859-2?q?Pawe=B3?= <p@x.org>\n"
		"Reply-To: =?utf-8?q?R=C3=A9ply?= <r@x.org>\n"
		"To: =?koi8-r?b?8NLJ18XU?= <t@x.org>, =?utf-8?q?Gr=C3=BCppe?=: g@x.org;\n"
		"Cc: =?utf-8?q?=E2=82=AC?= <c@x.org>\n"
		"Bcc: =?us-ascii*en?q?Blind?= <b@x.org>\n"
		"In-Reply-To: <prev@x.org>\nMessage-ID: <me@x.org>\n\n";
	struct msg_info *info = parse_str(m);
	char *env = envelope(info);
	/* ENVELOPE keeps the words encoded (RFC 3501 7.4.2) */
	assert_string_equal(env,
		"(\"Wed, 3 Jan 2024 12:00:00 +0100\" \"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= =?ISO-8859-1?B?S/ZsbA==?=\""
		" ((\"=?utf-8?b?w4Fsdm9yZQ==?=\" NIL \"a\" \"x.org\"))"
		" ((\"=?iso-8859-2?q?Pawe=B3?=\" NIL \"p\" \"x.org\"))"
		" ((\"=?utf-8?q?R=C3=A9ply?=\" NIL \"r\" \"x.org\"))"
		" ((\"=?koi8-r?b?8NLJ18XU?=\" NIL \"t\" \"x.org\")(NIL NIL \"=?utf-8?q?Gr=C3=BCppe?=\" NIL)"
		"(NIL NIL \"g\" \"x.org\")(NIL NIL NIL NIL))"
		" ((\"=?utf-8?q?=E2=82=AC?=\" NIL \"c\" \"x.org\"))"
		" ((\"=?us-ascii*en?q?Blind?=\" NIL \"b\" \"x.org\"))"
		" \"<prev@x.org>\" \"<me@x.org>\")");
	free(env);
	/* ... and they decode for display, SORT and SEARCH */
	const struct msg_envelope *e = info->root->envelope;
	struct { struct msg_str s; const char *want; } cases[] = {
		{ e->subject, "Gr\xc3\xbc\xc3\x9f" "e ausK\xc3\xb6ll" },
		{ e->from.addrs[0].name, "\xc3\x81lvore" },
		{ e->sender.addrs[0].name, "Pawe\xc5\x82" },
		{ e->reply_to.addrs[0].name, "R\xc3\xa9ply" },
		{ e->to.addrs[0].name, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
		{ e->to.addrs[1].mailbox, "Gr\xc3\xbcppe" },
		{ e->cc.addrs[0].name, "\xe2\x82\xac" },
		{ e->bcc.addrs[0].name, "Blind" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg_buf b = { 0 };
		msg_rfc2047_decode(cases[i].s.data, cases[i].s.len, &b);
		assert_string_equal(b.data, cases[i].want);
		msg_buf_free(&b);
	}
	msg_info_free(&info);
}


/* ---- malformed MIME ---- */

static void test_malformed_boundaries(void **state)
{
	(void)state;
	/* missing final boundary: the last part runs to the end */
	check_bs("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
		 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
		 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	/* a boundary that never appears: one empty part shown */
	check_bs("Content-Type: multipart/mixed; boundary=nope\n\ntext\n",
		 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"nope\") NIL NIL NIL)");
	/* no boundary parameter at all */
	check_bs("Content-Type: multipart/mixed\n\n--x\n\ntext\n",
		 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		 " \"mixed\" NIL NIL NIL NIL)");
	/* an outer boundary closes the inner multipart */
	check_bs("Content-Type: multipart/mixed; boundary=o\n\n--o\n"
		 "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nin\n--o\n\nout\n--o--\n",
		 "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"i\") NIL NIL NIL)"
		 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"o\") NIL NIL NIL)");
	/* a boundary cuts a part's header short; trailing junk after "--b" */
	check_bs("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n"
		 "--b   junk\n\nsecond\n--b--junk\nepilogue --b\n",
		 "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	/* the longest matching boundary wins when one is a prefix of another */
	check_bs("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
		 "Content-Type: multipart/mixed; boundary=aa\n\n--aa\n\nx\n--aa--\n--a--\n",
		 "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"aa\") NIL NIL NIL) \"mixed\" (\"boundary\" \"a\") NIL NIL NIL)");
	/* an unusable Content-Type and junk after the subtype */
	check_bs("Content-Type: text/plain>\n\nx\n",
		 "(\"\" \"\" NIL NIL NIL \"7bit\" 3 NIL NIL NIL NIL)");
	check_bs("Content-Type: text\n\nx\n",
		 "(\"text\" \"\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)");
	/* Content-* without MIME-Version or Content-Type are ignored */
	check_bs("Content-Transfer-Encoding: base64\nContent-Description: d\n\nx\n",
		 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)");
	/* NUL bytes and garbage */
	static const char bin[] = "Subject: \0x\n\n\0\xff\r\r\n--\n";
	struct msg_info *info = parse_all(bin, sizeof(bin) - 1);
	assert_true(info->root->flags & MSG_PART_HAS_NUL);
	assert_int_equal(msg_info_size(info), sizeof(bin) - 1 + 3);
	msg_info_free(&info);
}

static void test_empty_bodies(void **state)
{
	(void)state;
	struct msg_info *info = parse_all("", 0);
	assert_int_equal(msg_info_size(info), 0);
	char *bs = bodystructure(info);
	assert_string_equal(bs, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	free(bs);
	char *env = envelope(info);
	assert_string_equal(env, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	free(env);
	msg_info_free(&info);

	info = parse_str("Subject: header only, no line end");
	assert_int_equal(info->root->header.raw, 33);
	assert_int_equal(info->root->body.raw, 0);
	msg_info_free(&info);

	info = parse_str("\n\nbody after an empty header\n");
	assert_int_equal(info->root->header.raw, 1);
	check_section("\n\nbody after an empty header\n", info, "\r\nbody after an empty header\r\n",
		      MSG_SECTION_TEXT, 0);
	msg_info_free(&info);

	check_bs("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\n\n\n--b--\n",
		 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		 " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	check_bs("Content-Type: message/rfc822\n\n",
		 "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
		 " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL)");
}

/* ---- huge headers and limits ---- */

static void test_huge_header(void **state)
{
	(void)state;
	struct msg_buf m = { 0 };
	msg_buf_puts(&m, "To: ");
	for (int i = 0; i < 20000; i++)
		msg_buf_printf(&m, "%s=?utf-8?q?N=C3=A4me_%d?= <u%d@example.org>", i > 0 ? ",\r\n " : "", i, i);
	msg_buf_puts(&m, "\r\nSubject: big\r\n\r\nbody\r\n");

	struct msg_limits lim;
	msg_limits_default(&lim);
	lim.max_header_field = 4u << 20;
	test_limits = &lim;
	struct msg_info *info = parse_all(m.data, m.len);
	assert_int_equal(info->root->envelope->to.count, 20000);
	assert_int_equal(info->root->header.raw, m.len - 6);
	msg_info_free(&info);

	/* a field beyond message_max_header_field is cut, not refused */
	lim.max_header_field = 1024;
	info = parse_all(m.data, m.len);
	assert_true(info->root->envelope->to.count < 40);
	assert_true(info->root->envelope->to.count > 10);
	assert_true(info->root->envelope->subject.data != NULL);
	assert_int_equal(msg_info_size(info), m.len);
	msg_info_free(&info);

	/* message_max_kept bounds all fields together */
	lim.max_header_field = MSG_DEFAULT_MAX_HEADER_FIELD;
	lim.max_kept = 100;
	info = parse_all(m.data, m.len);
	assert_true(info->root->envelope->to.count <= 3);
	msg_info_free(&info);
	test_limits = NULL;
	msg_buf_free(&m);
}

static void test_part_limits(void **state)
{
	(void)state;
	/* 300 nested multiparts and message/rfc822 parts */
	struct msg_buf m = { 0 };
	for (int i = 0; i < 300; i++) {
		if (i % 2 == 0)
			msg_buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
		else
			msg_buf_puts(&m, "Content-Type: message/rfc822\n\n");
	}
	msg_buf_puts(&m, "\ndeep\n");
	struct msg_limits lim;
	msg_limits_default(&lim);
	lim.max_depth = 10;
	test_limits = &lim;
	struct msg_info *info = parse_all(m.data, m.len);
	unsigned depth = 0;
	const struct msg_part *p = info->root;
	while (p->children != NULL) {
		p = p->children;
		depth++;
	}
	assert_int_equal(depth, 10);
	assert_true(p->flags & MSG_PART_LIMITED);
	size_t lfs = 0;
	for (size_t i = 0; i < m.len; i++)
		lfs += m.data[i] == '\n';
	assert_int_equal(msg_info_size(info), m.len + lfs);   /* every LF counts as CRLF */
	msg_info_free(&info);

	/* 1000 parts, limited to 50 */
	m.len = 0;
	msg_buf_puts(&m, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (int i = 0; i < 1000; i++)
		msg_buf_printf(&m, "--x\n\npart %d\n", i);
	msg_buf_puts(&m, "--x--\n");
	lim.max_depth = MSG_DEFAULT_MAX_DEPTH;
	lim.max_parts = 50;
	info = parse_all(m.data, m.len);
	assert_int_equal(info->n_parts, 50);
	assert_int_equal(info->root->n_children, 49);
	msg_info_free(&info);
	test_limits = NULL;
	msg_buf_free(&m);

	/* the settings feed the limits */
	struct loft_config *cfg;
	char *err = NULL;
	assert_int_equal(conf_load_string("t", "[limits]\nmessage_max_parts = 7\nmessage_max_depth = 3\n"
					  "message_max_header_field = 2K\nmessage_max_kept = 1M\n", &cfg, &err), 0);
	struct msg_limits got;
	store_config_msg_limits(cfg, &got);
	assert_int_equal(got.max_parts, 7);
	assert_int_equal(got.max_depth, 3);
	assert_int_equal(got.max_header_field, 2048);
	assert_int_equal(got.max_kept, 1024 * 1024);
	conf_free(cfg);
	assert_true(conf_load_string("t", "[limits]\nmessage_max_depth = 0\n", &cfg, &err) < 0);
	free(err);
}










/* ---- blob ---- */

static void test_blob_checks(void **state)
{
	(void)state;
	struct msg_info *info = parse_all(nested, sizeof(nested) - 1);
	void *blob;
	size_t len;
	msg_blob_write(info, &blob, &len);
	msg_info_free(&info);
	unsigned char *b = blob;
	assert_int_equal(b[0], 'L');
	assert_int_equal(b[2], MSG_CACHE_VERSION);
	/* every truncation is refused */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(msg_blob_read(blob, n, &info), n < 3 ? MSG_ECORRUPT :
				 msg_blob_read(blob, n, &info));
	for (size_t n = 3; n < len; n++)
		assert_int_equal(msg_blob_read(blob, n, &info), MSG_ECORRUPT);
	/* another version asks for a new parse */
	b[2] = MSG_CACHE_VERSION + 1;
	assert_int_equal(msg_blob_read(blob, len, &info), MSG_EVERSION);
	b[2] = MSG_CACHE_VERSION;
	/* a flipped byte is refused or reads as some valid tree, never crashes */
	for (size_t i = 3; i < len; i++) {
		b[i] ^= 0x5a;
		if (msg_blob_read(blob, len, &info) == MSG_OK)
			msg_info_free(&info);
		b[i] ^= 0x5a;
	}
	assert_int_equal(msg_blob_read(blob, len, &info), MSG_OK);
	msg_info_free(&info);
	free(blob);
}

/* ---- linear time on pathological input ---- */

static void test_pathological(void **state)
{
	(void)state;
	/* 100 open boundaries and 200k lines that each look like boundaries */
	struct msg_buf m = { 0 };
	for (int i = 0; i < 100; i++)
		msg_buf_printf(&m, "Content-Type: multipart/mixed; boundary=\"%0*d\"\n\n--%0*d\n", 60, i, 60, i);
	for (int i = 0; i < 200000; i++)
		msg_buf_puts(&m, "--000000000000000000000000000000000000000000000000000000000000x\n");
	struct msg_info *info = msg_parse_buffer(m.data, m.len, NULL);
	assert_int_equal(msg_info_size(info), m.len + 200000 + 300);
	msg_info_free(&info);
	/* 500k header lines without colons and a 1 MB line of binary */
	m.len = 0;
	for (int i = 0; i < 500000; i++)
		msg_buf_puts(&m, "garbage\n");
	for (int i = 0; i < 1000000; i++)
		msg_buf_putc(&m, (char)(i * 7));
	info = msg_parse_buffer(m.data, m.len, NULL);
	assert_int_equal(info->root->header.raw + info->root->body.raw, m.len);
	msg_info_free(&info);
	msg_buf_free(&m);
}

/* ---- the shared corpus ---- */

static const char *corpus_dir(void)
{
	static char buf[4096];
	const char *env = getenv("LOFT_CORPUS");
	const char *src = getenv("LOFT_SOURCE_DIR");
	struct stat st;
	if (env != NULL)
		return env;
	snprintf(buf, sizeof(buf), "%s/tests/corpus/mail", src != NULL ? src : ".");
	if (stat(buf, &st) != 0)
		fail_msg("corpus not found at %s: run through ctest or set LOFT_CORPUS", buf);
	return buf;
}

static void test_corpus(void **state)
{
	(void)state;
	char path[16384];
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", corpus_dir());
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[8192];
	unsigned n = 0;
	assert_non_null(fgets(line, sizeof(line), f));   /* column names */
	while (fgets(line, sizeof(line), f) != NULL) {
		char *tab = strchr(line, '\t');
		assert_non_null(tab);
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", corpus_dir(), line);
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		char *data = malloc((size_t)st.st_size + 1);
		assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
		close(fd);
		size_t len = (size_t)st.st_size;
		/* whole, and split at three points; the blob must round-trip */
		struct msg_info *whole = msg_parse_buffer(data, len, NULL);
		void *want, *got;
		size_t want_len, got_len;
		msg_blob_write(whole, &want, &want_len);
		size_t cuts[] = { 1, len / 3, len - len / 7 };
		struct msg_parser *p = msg_parser_new(NULL);
		size_t at = 0;
		for (int i = 0; i < 3; i++) {
			size_t c = cuts[i] > len ? len : cuts[i];
			if (c < at)
				c = at;
			feed_copy(p, data + at, c - at);
			at = c;
		}
		feed_copy(p, data + at, len - at);
		struct msg_info *split = msg_parser_finish(&p);
		msg_blob_write(split, &got, &got_len);
		if (got_len != want_len || memcmp(got, want, want_len) != 0)
			fail_msg("%s: split parse differs", line);
		struct msg_info *back;
		assert_int_equal(msg_blob_read(want, want_len, &back), MSG_OK);
		assert_int_equal(msg_info_size(back), msg_info_size(whole));
		assert_true(msg_info_size(whole) >= len);
		msg_info_free(&back);
		free(want);
		free(got);
		msg_info_free(&whole);
		msg_info_free(&split);
		free(data);
		n++;
	}
	fclose(f);
	assert_true(n >= 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_nested_multipart),
		cmocka_unit_test(test_binary_nul),
		cmocka_unit_test(test_message_rfc822),
		cmocka_unit_test(test_message_global),
		cmocka_unit_test(test_digest_defaults),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_encoded_words_envelope),
		cmocka_unit_test(test_malformed_boundaries),
		cmocka_unit_test(test_empty_bodies),
		cmocka_unit_test(test_huge_header),
		cmocka_unit_test(test_part_limits),
		cmocka_unit_test(test_blob_checks),
		cmocka_unit_test(test_pathological),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
