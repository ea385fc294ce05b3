/* libFuzzer target for Maildir file names (storage/maildir.c) and mailbox
 * directory names (storage/mailbox-name.c): parse, format and parse again
 * must give the same fields, formatting is a fixed point, and a directory
 * name that maps to a mailbox maps back to exactly itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/mailbox-name.h"
#include "storage/maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_maildir_name(const char *input)
{
	struct maildir_name name, again;
	char buf[512], buf2[512];

	if (maildir_name_parse(input, &name) < 0)
		return;
	if (strlen(name.base) == 0 || strlen(name.base) >= sizeof(name.base))
		abort();
	int len = maildir_name_format(&name, buf, sizeof(buf));
	if (len < 0 || (size_t)len != strlen(buf))
		abort();
	if (maildir_name_parse(buf, &again) < 0)
		abort();
	if (strcmp(name.base, again.base) != 0 || name.uid != again.uid ||
	    name.size != again.size || name.vsize != again.vsize ||
	    name.flags != again.flags || name.keyword_bits != again.keyword_bits ||
	    name.has_info != again.has_info)
		abort();
	int len2 = maildir_name_format(&again, buf2, sizeof(buf2));
	if (len2 != len || strcmp(buf, buf2) != 0)
		abort();
}

static void check_mailbox_dir(const char *input)
{
	char *name = mailbox_name_from_dir(input);
	if (name == NULL)
		return;
	if (mailbox_name_validate(name, NULL) < 0)
		abort();
	char *dir = mailbox_name_to_dir(name);
	if (dir == NULL || strcmp(dir, input) != 0 || strchr(dir, '/') != NULL)
		abort();
	free(dir);
	free(name);
}

static void check_mailbox_name(const char *input)
{
	char *dir = mailbox_name_to_dir(input);
	if (dir == NULL) {
		if (mailbox_name_validate(input, NULL) == 0)
			abort();
		return;
	}
	if (strchr(dir, '/') != NULL || strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0)
		abort();
	if (dir[0] != '\0') {
		char *back = mailbox_name_from_dir(dir);
		char *canon = mailbox_name_canonical(input);
		if (back == NULL || canon == NULL || strcmp(back, canon) != 0)
			abort();
		free(back);
		free(canon);
	} else if (!mailbox_name_is_inbox(input)) {
		abort();
	}
	free(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = xstrndup((const char *)data, size);
	check_maildir_name(input);
	check_mailbox_dir(input);
	check_mailbox_name(input);
	free(input);
	return 0;
}
