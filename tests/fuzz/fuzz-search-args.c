/* libFuzzer target for the IMAP search-key grammar (server/imap/
 * search-args.c): the input is the argument text of a SEARCH, SORT's or
 * THREAD's criteria (first byte modulo 3), fed through the real command
 * parser and then imap_search_parse without a view (sequence sets resolve
 * to nothing). A parse must either give a program or a reason, never
 * both; the program it gives is then prepared and freed. Otherwise
 * abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/imap/parser.h"
#include "server/imap/search-args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum imap_search_form forms[] = {
		IMAP_SEARCH_FORM_SEARCH, IMAP_SEARCH_FORM_SORT, IMAP_SEARCH_FORM_CRITERIA,
	};
	enum imap_search_form form = forms[data[0] % 3];
	data++;
	size--;
	struct imap_parser_limits lim = { 8192, 8192, 0, 16, 500 };
	struct imap_parser *p = imap_parser_create(&lim);
	char *line = malloc(size + 16);
	memcpy(line, "a SEARCH ", 9);
	memcpy(line + 9, data, size);
	memcpy(line + 9 + size, "\r\n", 2);
	size_t used;
	if (imap_parser_feed(p, line, size + 11, &used) == IMAP_PARSE_COMMAND) {
		const struct imap_command *cmd = imap_parser_command(p);
		struct imap_search_env env = { .recent_ok = true, .max_depth = 64 };
		struct store_uid_set saved = { 0 };
		store_uid_set_push_range(&saved, 3, 9);
		env.saved = &saved;
		struct imap_search_parse out;
		int r = imap_search_parse(&env, form, cmd->args, cmd->n_args, &out);
		if (r == 0) {
			if (out.prog == NULL || out.why != NULL)
				abort();
			(void)store_search_uses(out.prog, STORE_SEARCH_TEXT);
			if ((out.ret & IMAP_SRET_PARTIAL) &&
			    (out.partial_lo == 0 || out.partial_lo > out.partial_hi))
				abort();
		} else if (out.prog != NULL || out.why == NULL) {
			abort();
		}
		imap_search_parse_free(&out);
		store_uid_set_free(&saved);
	}
	imap_parser_free(&p);
	free(line);
	return 0;
}
