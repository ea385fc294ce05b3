/* Unit tests of the capability switches (server/imap/caps.c,
 * server/imap/client-rules.c): parsing switch lists (names, advertised
 * tokens, separators, unknown words, CONDSTORE implying QRESYNC), filtering
 * a capability string, and the client rules' syntax check and match on an
 * ID's name and version (with and without the shipped quirks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "server/imap/caps.h"
#include "server/imap/client-rules.h"

static unsigned parse(const char *text, const char **bad_r)
{
	size_t bad_len = 0;
	*bad_r = NULL;
	return imap_caps_parse(text, strlen(text), bad_r, &bad_len);
}

static void test_parse(void **state)
{
	(void)state;
	const char *bad;
	assert_int_equal(parse("", &bad), 0);
	assert_null(bad);
	assert_int_equal(parse("idle", &bad), IMAP_CAP_IDLE);
	assert_int_equal(parse(" MOVE,,unselect\t", &bad), IMAP_CAP_MOVE | IMAP_CAP_UNSELECT);
	assert_int_equal(parse("COMPRESS=DEFLATE", &bad), IMAP_CAP_COMPRESS);
	assert_int_equal(parse("COMPRESS", &bad), IMAP_CAP_COMPRESS);
	assert_int_equal(parse("THREAD=REFERENCES ESORT", &bad), IMAP_CAP_THREAD | IMAP_CAP_SORT);
	assert_int_equal(parse("QUOTA=RES-STORAGE", &bad), IMAP_CAP_QUOTA);
	assert_int_equal(parse("CONDSTORE", &bad), IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC);
	assert_int_equal(parse("QRESYNC", &bad), IMAP_CAP_QRESYNC);
	assert_int_equal(parse("objectid,Binary,REPLACE,INPROGRESS", &bad),
			 IMAP_CAP_OBJECTID | IMAP_CAP_BINARY | IMAP_CAP_REPLACE | IMAP_CAP_INPROGRESS);
	assert_null(bad);
	assert_int_equal(parse("IDLE NOSUCH MOVE", &bad), IMAP_CAP_IDLE | IMAP_CAP_MOVE);
	assert_non_null(bad);
	assert_memory_equal(bad, "NOSUCH", 6);
	/* a prefix of a name is not the name */
	assert_int_equal(parse("THREAD=", &bad), IMAP_CAP_THREAD);
	assert_int_equal(parse("SOR", &bad), 0);
	assert_non_null(bad);
	/* base capabilities are not switches */
	assert_int_equal(parse("IMAP4rev2", &bad), 0);
	assert_non_null(bad);
}

static void test_filter(void **state)
{
	(void)state;
	char buf[256];
	strcpy(buf, "IMAP4rev1 IDLE SORT SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT "
	       "THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE COMPRESS=DEFLATE APPENDLIMIT=5");
	imap_caps_filter(buf, 0);
	assert_string_equal(buf, "IMAP4rev1 IDLE SORT SORT=DISPLAY ESORT CONTEXT=SEARCH "
			    "CONTEXT=SORT THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE "
			    "COMPRESS=DEFLATE APPENDLIMIT=5");
	imap_caps_filter(buf, IMAP_CAP_SORT | IMAP_CAP_QUOTA);
	assert_string_equal(buf, "IMAP4rev1 IDLE CONTEXT=SEARCH THREAD=REFERENCES "
			    "COMPRESS=DEFLATE APPENDLIMIT=5");
	imap_caps_filter(buf, IMAP_CAP_IDLE | IMAP_CAP_COMPRESS | IMAP_CAP_THREAD);
	assert_string_equal(buf, "IMAP4rev1 CONTEXT=SEARCH APPENDLIMIT=5");
	strcpy(buf, "IDLE");
	imap_caps_filter(buf, IMAP_CAP_IDLE);
	assert_string_equal(buf, "");
}

static unsigned match(const struct loft_config *cfg, const char *name, const char *version)
{
	return imap_client_rules_match(cfg, name, strlen(name), version,
				       version != NULL ? strlen(version) : 0);
}

static void test_rules(void **state)
{
	(void)state;
	struct loft_config cfg = { 0 };
	char rules[] = " Thunderbird/102.: IDLE MOVE ; other client : COMPRESS;;"
		       "thunderbird: UNSELECT";
	cfg.imap_client_rules = rules;
	char *err = NULL;
	assert_int_equal(imap_client_rules_check(&cfg, &err), 0);
	assert_int_equal(match(&cfg, "THUNDERBIRD", "102.15"),
			 IMAP_CAP_IDLE | IMAP_CAP_MOVE | IMAP_CAP_UNSELECT);
	assert_int_equal(match(&cfg, "Thunderbird", "91.0"), IMAP_CAP_UNSELECT);
	assert_int_equal(match(&cfg, "Thunderbird", NULL), IMAP_CAP_UNSELECT);
	assert_int_equal(match(&cfg, "Other Client", NULL), IMAP_CAP_COMPRESS);
	assert_int_equal(match(&cfg, "Other", NULL), 0);
	assert_int_equal(match(&cfg, "K-9 Mail", "6"), 0);
	cfg.imap_client_quirks = 1u << CONF_IMAP_QUIRK_K9_COMPRESS;
	assert_int_equal(match(&cfg, "k-9 mail", "6"), IMAP_CAP_COMPRESS);
	cfg.imap_client_quirks |= 1u << CONF_IMAP_QUIRK_THUNDERBIRD_CONDSTORE;
	assert_int_equal(match(&cfg, "Thunderbird", "91.0"),
			 IMAP_CAP_UNSELECT | IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC);

	static const char *const bad[] = {
		"Thunderbird IDLE", ": IDLE", "x/: IDLE", "x:", "x: IDLE NOPE", "a: IDLE; b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char copy[64];
		strcpy(copy, bad[i]);
		cfg.imap_client_rules = copy;
		err = NULL;
		assert_true(imap_client_rules_check(&cfg, &err) < 0);
		assert_non_null(err);
		assert_non_null(strstr(err, "[imap] client_rules"));
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
