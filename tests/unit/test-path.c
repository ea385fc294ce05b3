/* Unit tests of lib/path.c: the directory part of absolute, relative,
 * root-level and slash-terminated paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/path.h"

static void check(const char *path, const char *want)
{
	char *got = path_dir_of(path);
	if (strcmp(got, want) != 0)
		fail_msg("path_dir_of(\"%s\") = \"%s\", want \"%s\"", path, got, want);
	free(got);
}

static void test_dir_of(void **state)
{
	(void)state;
	check("/etc/loft/loft.conf", "/etc/loft");
	check("conf.d/a.conf", "conf.d");
	check("loft.conf", ".");
	check("", ".");
	check("/x", "/");
	check("/", "/");
	check("//", "/");
	check("/a/b/", "/a");
	check("a//b", "a");
	check("mail/alice/.Work/", "mail/alice");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_of),
	};
	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
