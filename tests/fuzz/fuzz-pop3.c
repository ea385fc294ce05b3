/* libFuzzer target for the POP3 command parser (server/pop3/parse.c) and
 * the RETR/TOP byte stuffer (server/pop3/stuff.c). Every input line is
 * parsed and the result checked against the line (keyword shape, arguments
 * inside the line, numbers equal to their digits); the input is also run
 * through the stuffer as a message at two split points: both give the same
 * bytes, un-stuffing RETR's output gives the input back, and TOP's output
 * is a prefix of RETR's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/pop3/parse.h"
#include "server/pop3/stuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t len)
{
	struct pop3_cmdline cmd;
	enum pop3_parse_result r = pop3_parse_line(line, len, &cmd);
	if (r != POP3_PARSE_OK)
		return;
	size_t k = strlen(cmd.keyword);
	if (k < 3 || k > POP3_KEYWORD_MAX)
		abort();
	for (size_t i = 0; i < k; i++)
		if (cmd.keyword[i] < 'A' || cmd.keyword[i] > 'Z')
			abort();
	if (cmd.n_args > POP3_MAX_ARGS)
		abort();
	if (cmd.rest < line || cmd.rest + cmd.rest_len > line + len)
		abort();
	for (unsigned i = 0; i < cmd.n_args; i++) {
		if (cmd.args[i] < line || cmd.args[i] + cmd.arg_len[i] > line + len ||
		    cmd.arg_len[i] == 0 || memchr(cmd.args[i], ' ', cmd.arg_len[i]) != NULL)
			abort();
		uint32_t v;
		if (pop3_parse_number(cmd.args[i], cmd.arg_len[i], UINT32_MAX, &v)) {
			uint64_t want = 0;
			for (size_t j = 0; j < cmd.arg_len[i]; j++)
				want = want * 10 + (uint64_t)(cmd.args[i][j] - '0');
			if (want != v)
				abort();
		}
	}
}

static size_t stuff_split(const char *in, size_t len, size_t split, bool top, uint64_t lines,
			  char *out, struct pop3_stuffer *st)
{
	pop3_stuffer_init(st, top, lines);
	size_t n = pop3_stuff(st, in, split, out);
	n += pop3_stuff(st, in + split, len - split, out + n);
	return n;
}

static void check_stuffing(const char *in, size_t len)
{
	char *a = malloc(2 * len + 1), *b = malloc(2 * len + 1), *t = malloc(2 * len + 1);
	struct pop3_stuffer sa, sb, stop;
	size_t na = stuff_split(in, len, 0, false, 0, a, &sa);
	size_t nb = stuff_split(in, len, len / 3, false, 0, b, &sb);
	if (na != nb || memcmp(a, b, na) != 0 || strcmp(pop3_stuff_end(&sa), pop3_stuff_end(&sb)))
		abort();
	/* un-stuff: drop one '.' at the start of every line */
	size_t o = 0;
	bool bol = true;
	for (size_t i = 0; i < na; i++) {
		if (bol && a[i] == '.') {
			if (i + 1 >= na || a[i + 1] != '.')
				abort(); /* a lone dot at a line start would end the reply */
			i++;
		}
		if (o >= len || a[i] != in[o])
			abort();
		o++;
		bol = a[i] == '\n';
	}
	if (o != len)
		abort();
	uint64_t lines = len > 0 ? (unsigned char)in[0] % 8 : 0;
	size_t nt = stuff_split(in, len, len / 2, true, lines, t, &stop);
	if (nt > na || memcmp(t, a, nt) != 0)
		abort();
	free(a);
	free(b);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || in[i] == '\n') {
			size_t end = i;
			if (end > start && in[end - 1] == '\r')
				end--;
			check_line(in + start, end - start);
			start = i + 1;
		}
	}
	check_stuffing(in, size);
	return 0;
}
