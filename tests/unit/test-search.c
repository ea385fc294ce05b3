/* The search engine (storage/search.h) against a real store: every kind of
 * criterion on a small mailbox of hand-made messages (flags, keywords,
 * sizes, dates, envelope fields, RFC 2047 words, charsets, base64 and
 * quoted-printable bodies, encapsulated messages), NOT/OR/AND nesting,
 * the same answers whatever the slice sizes, expunged messages, the
 * charset conversion of criteria, and store_search_match. */
#include "tests/unit/store-fixture.h"

#include "storage/search.h"

static const char *const msgs[] = {
	/* 1: plain ASCII, Date 2011 */
	"From: Alice Example <alice@example.org>\r\nTo: bob@example.net\r\n"
	"Cc: Carol <carol@example.com>\r\nSubject: Re: Quarterly report\r\n"
	"Date: Wed, 3 Aug 2011 10:00:00 +0200\r\nX-Tag: alpha\r\n\r\n"
	"The numbers are in.\r\n",
	/* 2: encoded subject and name, Latin-1 QP body */
	"From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\r\n"
	"To: Alice <alice@example.org>\r\nSubject: =?UTF-8?B?w4ljb2xlIGTDqXTDqQ==?=\r\n"
	"Date: Sat, 1 Jan 2005 23:59:59 -0800\r\nMIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	"Caf=E9 cr=E8me, stra=DFe.\r\n",
	/* 3: multipart with a base64 KOI8-R part and an attachment */
	"From: ivan@example.ru\r\nTo: team@example.org\r\nSubject: Privet\r\n"
	"Date: 15 Feb 2020 08:00 +0000\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
	"--XX\r\nContent-Type: text/plain; charset=koi8-r\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n8NLJ18XUIM3J0iE=\r\n"
	"--XX\r\nContent-Type: application/octet-stream\r\n\r\nSECRETBLOB\r\n"
	"--XX--\r\n",
	/* 4: no Date, encapsulated message, group address */
	"From: list@example.org\r\nTo: undisclosed-recipients:;\r\nSubject: Fwd: nested\r\n"
	"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
	"From: inner@example.org\r\nSubject: inner subject\r\n\r\ninner body text\r\n",
	/* 5: bare LF, Greek */
	"From: Nikos <nikos@example.gr>\nTo: alice@example.org\nSubject: =?UTF-8?Q?=CE=A3=CE=BF=CF=86=CE=AF=CE=B1?=\n"
	"Date: Mon, 1 Jun 2020 12:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n"
	"\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1 \xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1\n",
};
#define N_MSGS (sizeof(msgs) / sizeof(msgs[0]))

static const uint32_t msg_flags[N_MSGS] = {
	STORE_FLAG_SEEN, STORE_FLAG_FLAGGED | STORE_FLAG_SEEN, STORE_FLAG_ANSWERED,
	STORE_FLAG_DELETED | STORE_FLAG_DRAFT, 0,
};
static const int64_t msg_dates[N_MSGS] = {
	1580515200 /* 1-Feb-2020 00:00 */, 1580601599 /* 1-Feb-2020 23:59:59 */,
	1580601600 /* 2-Feb-2020 */, 1590969600 /* 1-Jun-2020 */, 1609459200 /* 1-Jan-2021 */,
};

struct sx {
	struct fx *fx;
	struct store_mailbox *mbox;
	struct store_view *view;
};

static int sx_setup(void **state)
{
	setup(state);
	struct fx *fx = *state;
	for (size_t i = 0; i < N_MSGS; i++) {
		const char *kw[] = { "$Work" };
		struct store_append_meta meta = { .flags = msg_flags[i], .internal_date = msg_dates[i],
						  .keywords = kw, .n_keywords = i % 2 == 0 ? 1 : 0 };
		uint32_t uid;
		assert_int_equal(try_append(fx->user, "INBOX", msgs[i], strlen(msgs[i]), &meta, &uid,
					    NULL), STORE_OK);
		assert_int_equal(uid, i + 1);
	}
	struct sx *sx = xcalloc(1, sizeof(*sx));
	sx->fx = fx;
	sx->mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_view_open(sx->mbox, &sx->view), STORE_OK);
	*state = sx;
	return 0;
}

static int sx_teardown(void **state)
{
	struct sx *sx = *state;
	store_view_close(&sx->view);
	store_mailbox_close(&sx->mbox);
	*state = sx->fx;
	free(sx);
	return teardown(state);
}

/* Run prog with the given slice sizes; the UIDs as a bit mask. */
static unsigned run_mask(struct sx *sx, struct store_search *prog, unsigned msgs_per, uint64_t bytes)
{
	struct store_search_run *run = NULL;
	assert_int_equal(store_search_run_new(sx->mbox, sx->view, prog, &run), 0);
	struct store_uid_set res = { 0 };
	int r, steps = 0;
	while ((r = store_search_run_step(run, msgs_per, bytes, &res)) == 0)
		assert_true(++steps < 1000);
	assert_int_equal(r, 1);
	store_search_run_free(&run);
	unsigned mask = 0;
	for (size_t i = 0; i < res.count; i++)
		for (uint32_t u = res.ranges[i].lo; u <= res.ranges[i].hi; u++)
			mask |= 1u << u;
	store_uid_set_free(&res);
	/* every message alone through store_search_match agrees */
	unsigned one = 0;
	for (uint32_t u = 1; u <= N_MSGS; u++)
		if (store_search_match(sx->mbox, prog, u) == 1)
			one |= 1u << u;
	assert_int_equal(one, mask);
	return mask;
}

static unsigned mask_of(struct sx *sx, struct store_search *prog)
{
	unsigned a = run_mask(sx, prog, 4096, 4u << 20);
	assert_int_equal(run_mask(sx, prog, 1, 1), a);
	assert_int_equal(run_mask(sx, prog, 2, 100), a);
	return a;
}

#define M(...) (mask_bits((const unsigned[]){ __VA_ARGS__, 0 }))
static unsigned mask_bits(const unsigned *u)
{
	unsigned m = 0;
	for (; *u != 0; u++)
		m |= 1u << *u;
	return m;
}
#define NONE 0u

/* One criterion (with optional string) under the root. */
static unsigned one(struct sx *sx, enum store_search_kind kind, const char *field, const char *str)
{
	struct store_search *p = store_search_new();
	struct store_search_node *n = store_search_add(p, NULL, kind);
	if (str != NULL)
		store_search_set_str(n, field, str, strlen(str));
	unsigned m = mask_of(sx, p);
	store_search_free(&p);
	return m;
}

static unsigned flags(struct sx *sx, uint32_t f, bool negate)
{
	struct store_search *p = store_search_new();
	struct store_search_node *parent = negate ? store_search_add(p, NULL, STORE_SEARCH_NOT) : NULL;
	store_search_add(p, parent, STORE_SEARCH_FLAGS)->flags = f;
	unsigned m = mask_of(sx, p);
	store_search_free(&p);
	return m;
}

static unsigned num(struct sx *sx, enum store_search_kind kind, uint64_t v, int64_t day)
{
	struct store_search *p = store_search_new();
	struct store_search_node *n = store_search_add(p, NULL, kind);
	n->num = v;
	n->day = day;
	unsigned m = mask_of(sx, p);
	store_search_free(&p);
	return m;
}

static void test_index_keys(void **state)
{
	struct sx *sx = *state;
	assert_int_equal(one(sx, STORE_SEARCH_ALL, NULL, NULL), M(1, 2, 3, 4, 5));
	assert_int_equal(flags(sx, STORE_FLAG_SEEN, false), M(1, 2));
	assert_int_equal(flags(sx, STORE_FLAG_SEEN, true), M(3, 4, 5));
	assert_int_equal(flags(sx, STORE_FLAG_FLAGGED, false), M(2));
	assert_int_equal(flags(sx, STORE_FLAG_ANSWERED, false), M(3));
	assert_int_equal(flags(sx, STORE_FLAG_DELETED, false), M(4));
	assert_int_equal(flags(sx, STORE_FLAG_DRAFT, true), M(1, 2, 3, 5));
	assert_int_equal(one(sx, STORE_SEARCH_KEYWORD, NULL, "$work"), M(1, 3, 5));
	assert_int_equal(one(sx, STORE_SEARCH_KEYWORD, NULL, "$Other"), NONE);
	int64_t feb1 = store_search_day(2020, 2, 1), feb2 = store_search_day(2020, 2, 2);
	assert_int_equal(num(sx, STORE_SEARCH_ON, 0, feb1), M(1, 2));
	assert_int_equal(num(sx, STORE_SEARCH_BEFORE, 0, feb2), M(1, 2));
	assert_int_equal(num(sx, STORE_SEARCH_SINCE, 0, feb2), M(3, 4, 5));
	assert_int_equal(num(sx, STORE_SEARCH_SINCE, 0, store_search_day(2021, 1, 1)), M(5));
	uint64_t size1 = strlen(msgs[0]);
	assert_int_equal(num(sx, STORE_SEARCH_LARGER, size1 - 1, 0) & M(1), M(1));
	assert_int_equal(num(sx, STORE_SEARCH_LARGER, size1, 0) & M(1), NONE);
	assert_int_equal(num(sx, STORE_SEARCH_SMALLER, size1 + 1, 0) & M(1), M(1));
	assert_int_equal(num(sx, STORE_SEARCH_SMALLER, size1, 0) & M(1), NONE);
	/* RFC822.SIZE counts CRLF: message 5 has bare LF */
	uint64_t lines5 = 0;
	for (const char *c = msgs[4]; *c != '\0'; c++)
		lines5 += *c == '\n';
	assert_true(num(sx, STORE_SEARCH_LARGER, strlen(msgs[4]) + lines5 - 1, 0) & M(5));
	assert_int_equal(num(sx, STORE_SEARCH_MODSEQ, 1, 0), M(1, 2, 3, 4, 5));
	assert_int_equal(num(sx, STORE_SEARCH_MODSEQ, 1u << 30, 0), NONE);
	struct store_search *p = store_search_new();
	struct store_search_node *n = store_search_add(p, NULL, STORE_SEARCH_UIDS);
	store_uid_set_push_range(&n->uids, 2, 3);
	store_uid_set_push(&n->uids, 5);
	assert_int_equal(mask_of(sx, p), M(2, 3, 5));
	store_search_free(&p);
	/* \Recent: this read-write view claimed every message */
	assert_int_equal(one(sx, STORE_SEARCH_RECENT, NULL, NULL), M(1, 2, 3, 4, 5));
}

static void test_envelope_keys(void **state)
{
	struct sx *sx = *state;
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "From", "alice"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "From", "Alice Example <alice@"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "To", "ALICE@EXAMPLE.ORG"), M(2, 5));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "From", "jörg müller"), M(2));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "From", "JÖRG"), M(2));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "Cc", "carol <carol@example.com>"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "Cc", ""), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "Bcc", ""), NONE);
	assert_int_equal(one(sx, STORE_SEARCH_ADDRESS, "To", "undisclosed-recipients"), M(4));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "report"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "école"), M(2));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "ÉCOLE"), M(2));
	/* É maps to E + U+0301: "ECOLE" is not a substring (casemap.h limits) */
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "ECOLE"), NONE);
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "détÉ"), M(2));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "σοφία"), M(5));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "ΣΟΦΊΑ"), M(5));
	assert_int_equal(one(sx, STORE_SEARCH_SUBJECT, NULL, "inner"), NONE);  /* not the root */
	int64_t d = store_search_day(2011, 8, 3);
	assert_int_equal(num(sx, STORE_SEARCH_SENTON, 0, d), M(1));
	/* the Date's own day, not UTC: 1 Jan 2005 23:59:59 -0800 */
	assert_int_equal(num(sx, STORE_SEARCH_SENTON, 0, store_search_day(2005, 1, 1)), M(2));
	assert_int_equal(num(sx, STORE_SEARCH_SENTBEFORE, 0, store_search_day(2005, 1, 2)), M(2));
	assert_int_equal(num(sx, STORE_SEARCH_SENTSINCE, 0, store_search_day(2020, 1, 1)), M(3, 5));
}

static void test_file_keys(void **state)
{
	struct sx *sx = *state;
	assert_int_equal(one(sx, STORE_SEARCH_HEADER, "X-Tag", "ALPHA"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_HEADER, "x-tag", ""), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_HEADER, "Content-Type", "multipart"), M(3));
	/* HEADER looks at the message's header only */
	assert_int_equal(one(sx, STORE_SEARCH_HEADER, "Content-Type", "koi8"), NONE);
	assert_int_equal(one(sx, STORE_SEARCH_HEADER, "Subject", "inner"), NONE);
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "numbers ARE"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "café crème"), M(2));   /* QP + Latin-1 */
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "cafe"), M(2));         /* É = E + ́ */
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "straße"), M(2));
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "ПРИВЕТ мир"), M(3));  /* base64 KOI8-R */
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "secretblob"), NONE);   /* not text */
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "inner body"), M(4));
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "ΚΑΛΗΜΈΡΑ"), M(5));
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "Subject"), NONE);
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, ""), M(1, 2, 3, 4, 5));
	assert_int_equal(one(sx, STORE_SEARCH_TEXT, NULL, "Subject: inner"), M(4));
	assert_int_equal(one(sx, STORE_SEARCH_TEXT, NULL, "charset=koi8-r"), M(3));
	assert_int_equal(one(sx, STORE_SEARCH_TEXT, NULL, "numbers"), M(1));
	assert_int_equal(one(sx, STORE_SEARCH_TEXT, NULL, "x-tag: alpha"), M(1));
}

static void test_nesting(void **state)
{
	struct sx *sx = *state;
	/* OR (NOT SEEN BODY inner) (FLAGGED SUBJECT école) */
	struct store_search *p = store_search_new();
	struct store_search_node *or = store_search_add(p, NULL, STORE_SEARCH_OR);
	struct store_search_node *a = store_search_add(p, or, STORE_SEARCH_AND);
	struct store_search_node *not = store_search_add(p, a, STORE_SEARCH_NOT);
	store_search_add(p, not, STORE_SEARCH_FLAGS)->flags = STORE_FLAG_SEEN;
	store_search_set_str(store_search_add(p, a, STORE_SEARCH_BODY), NULL, "inner", 5);
	struct store_search_node *b = store_search_add(p, or, STORE_SEARCH_AND);
	store_search_add(p, b, STORE_SEARCH_FLAGS)->flags = STORE_FLAG_FLAGGED;
	store_search_set_str(store_search_add(p, b, STORE_SEARCH_SUBJECT), NULL, "école", 6);
	assert_int_equal(mask_of(sx, p), M(2, 4));
	/* AND with a file criterion and a false index criterion: no read */
	store_search_free(&p);
	p = store_search_new();
	store_search_add(p, NULL, STORE_SEARCH_FLAGS)->flags = STORE_FLAG_FLAGGED;
	struct store_search_node *nb = store_search_add(p, NULL, STORE_SEARCH_NOT);
	store_search_set_str(store_search_add(p, nb, STORE_SEARCH_TEXT), NULL, "zzz", 3);
	assert_int_equal(mask_of(sx, p), M(2));
	assert_true(store_search_uses(p, STORE_SEARCH_TEXT));
	assert_false(store_search_uses(p, STORE_SEARCH_MODSEQ));
	store_search_free(&p);
}

static void test_expunged_and_view(void **state)
{
	struct sx *sx = *state;
	uint32_t uids[] = { 2 };
	assert_int_equal(store_expunge(sx->mbox, uids, 1, false, NULL), STORE_OK);
	/* the view still holds 2 (not synced): it matches nothing */
	assert_int_equal(one(sx, STORE_SEARCH_ALL, NULL, NULL), M(1, 3, 4, 5));
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "café"), NONE);
	/* a message that arrived after the view's last sync is not searched */
	uint32_t uid;
	assert_int_equal(try_append(sx->fx->user, "INBOX", msgs[0], strlen(msgs[0]), NULL, &uid,
				    NULL), STORE_OK);
	assert_int_equal(one(sx, STORE_SEARCH_BODY, NULL, "numbers"), M(1));
}

static void test_charsets(void **state)
{
	(void)state;
	char *out;
	size_t len;
	assert_int_equal(store_search_charset_utf8("ISO-8859-1", "caf\xe9", 4, &out, &len), 0);
	assert_string_equal(out, "café");
	free(out);
	assert_int_equal(store_search_charset_utf8("koi8-r", "\xf0\xd2", 2, &out, &len), 0);
	assert_string_equal(out, "Пр");
	free(out);
	assert_int_equal(store_search_charset_utf8("utf-8", "\xc3\xa9", 2, &out, &len), 0);
	assert_int_equal(len, 2);
	free(out);
	assert_int_equal(store_search_charset_utf8("UTF-8", "\xc3", 1, &out, &len), STORE_EINVALID);
	assert_int_equal(store_search_charset_utf8("UTF-8", "\xed\xa0\x80", 3, &out, &len),
			 STORE_EINVALID);
	assert_int_equal(store_search_charset_utf8("US-ASCII", "\xe9", 1, &out, &len),
			 STORE_EINVALID);
	assert_int_equal(store_search_charset_utf8("US-ASCII", "abc", 3, &out, &len), 0);
	free(out);
	assert_int_equal(store_search_charset_utf8("X-NO-SUCH", "a", 1, &out, &len),
			 STORE_EINVALID);
	assert_null(out);
	assert_int_equal(store_search_day(1970, 1, 1), 0);
	assert_int_equal(store_search_day(2020, 3, 1), 18322);
	assert_int_equal(store_search_day_of(-1), -1);
	assert_int_equal(store_search_day_of(86399), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_index_keys, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_envelope_keys, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_file_keys, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_nesting, sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_expunged_and_view, sx_setup, sx_teardown),
		cmocka_unit_test(test_charsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
