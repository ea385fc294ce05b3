/* Unit tests of the CONDSTORE MODSEQ search key (server/imap/search-modseq.c):
 * the grammar of RFC 7162 3.1.5 (with and without an entry name, every
 * entry type, bad values), matching and the "(MODSEQ n)" of the answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/imap/outbuf.h"
#include "server/imap/parser.h"
#include "server/imap/search-modseq.h"
#include "storage/store.h"

static struct imap_arg atom(const char *s)
{
	return (struct imap_arg){ .type = IMAP_ARG_ATOM, .str = (char *)s, .len = strlen(s) };
}

static struct imap_arg quoted(const char *s)
{
	return (struct imap_arg){ .type = IMAP_ARG_QUOTED, .str = (char *)s, .len = strlen(s) };
}

static void test_parse(void **state)
{
	(void)state;
	struct imap_search_modseq k;
	size_t used;
	const char *why;
	struct imap_arg a[] = { atom("MODSEQ"), atom("620162338"), atom("UNSEEN") };
	assert_int_equal(imap_search_modseq_parse(a, 3, &k, &used, &why), 0);
	assert_int_equal(used, 2);
	assert_int_equal(k.modseq, 620162338);
	assert_null(k.flag);

	struct imap_arg b[] = { atom("modseq"), quoted("/flags/\\draft"), atom("all"),
				atom("620162338") };
	assert_int_equal(imap_search_modseq_parse(b, 4, &k, &used, &why), 0);
	assert_int_equal(used, 4);
	assert_string_equal(k.flag, "\\draft");
	assert_int_equal(k.type, IMAP_MODSEQ_ENTRY_ALL);
	struct imap_arg c[] = { atom("MODSEQ"), quoted("/flags/$Label1"), atom("PRIV"), atom("0") };
	assert_int_equal(imap_search_modseq_parse(c, 4, &k, &used, &why), 0);
	assert_int_equal(k.type, IMAP_MODSEQ_ENTRY_PRIV);
	assert_int_equal(k.modseq, 0);
	c[2] = atom("shared");
	assert_int_equal(imap_search_modseq_parse(c, 4, &k, &used, &why), 0);
	assert_int_equal(k.type, IMAP_MODSEQ_ENTRY_SHARED);

	const struct { struct imap_arg a[4]; size_t n; } bad[] = {
		{ { atom("MODSEQ") }, 1 },
		{ { atom("MODSEQ"), atom("x") }, 2 },
		{ { atom("MODSEQ"), atom("-1") }, 2 },
		{ { atom("MODSEQ"), atom("99999999999999999999") }, 2 },
		{ { atom("MODSEQ"), atom("9223372036854775808") }, 2 },
		{ { atom("MODSEQ"), quoted("/flags/\\Seen"), atom("all") }, 3 },
		{ { atom("MODSEQ"), quoted("/flags/\\Seen"), atom("mine"), atom("1") }, 4 },
		{ { atom("MODSEQ"), quoted("/other/x"), atom("all"), atom("1") }, 4 },
		{ { atom("MODSEQ"), quoted("/flags/"), atom("all"), atom("1") }, 4 },
		{ { atom("MODSEQ"), quoted("/flags/a b"), atom("all"), atom("1") }, 4 },
		{ { atom("MODSEQ"), atom("/flags/x"), atom("all"), atom("1") }, 4 },
		{ { atom("MODSEQ"), quoted("/flags/x"), atom("all"), atom("1x") }, 4 },
		{ { atom("SEEN"), atom("1") }, 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(imap_search_modseq_parse(bad[i].a, bad[i].n, &k, &used, &why), -1);
		assert_non_null(why);
	}
	struct imap_arg big[] = { atom("MODSEQ"), atom("9223372036854775807") };
	assert_int_equal(imap_search_modseq_parse(big, 2, &k, &used, &why), 0);
	assert_true(k.modseq == 9223372036854775807ull);
}

static void test_match_and_answer(void **state)
{
	(void)state;
	struct imap_search_modseq k = { .modseq = 10 };
	struct store_msg m;
	memset(&m, 0, sizeof(m));
	struct imap_search_modseq_acc acc = { .used = true };
	struct imap_outbuf out = { 0 };
	imap_search_modseq_write(&acc, &out);
	assert_int_equal(out.len, 0);         /* nothing matched: no (MODSEQ) */
	const uint64_t ms[] = { 9, 10, 11, 400 };
	const bool want[] = { false, true, true, true };
	for (size_t i = 0; i < 4; i++) {
		m.modseq = ms[i];
		assert_int_equal(imap_search_modseq_match(&k, &m), want[i]);
		if (want[i])
			imap_search_modseq_note(&acc, &m);
	}
	imap_search_modseq_write(&acc, &out);
	assert_int_equal(out.len, strlen(" (MODSEQ 400)"));
	assert_memory_equal(out.data, " (MODSEQ 400)", out.len);
	acc.used = false;
	out.len = 0;
	imap_search_modseq_write(&acc, &out);
	assert_int_equal(out.len, 0);
	imap_outbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match_and_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
