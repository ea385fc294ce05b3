/* Byte stuffing and TOP's line limit for multi-line replies (see stuff.h). */
#include "server/pop3/stuff.h"

#include <string.h>

void pop3_stuffer_init(struct pop3_stuffer *st, bool top, uint64_t lines)
{
	st->line_start = true;
	st->prev_cr = false;
	st->line_bytes = 0;
	st->in_body = false;
	st->top = top;
	st->done = false;
	st->lines = lines;
}

/* RETR: copy line by line, a "." more where a line begins with one. */
static size_t stuff_all(struct pop3_stuffer *st, const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;
	while (i < len) {
		if (st->line_start) {
			if (in[i] == '.')
				out[o++] = '.';
			st->line_start = false;
		}
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) + 1 : len;
		memcpy(out + o, in + i, end - i);
		o += end - i;
		i = end;
		if (nl != NULL)
			st->line_start = true;
	}
	return o;
}

size_t pop3_stuff(struct pop3_stuffer *st, const char *in, size_t len, char *out)
{
	if (!st->top)
		return stuff_all(st, in, len, out);
	size_t o = 0;
	for (size_t i = 0; i < len && !st->done; i++) {
		char c = in[i];
		if (st->line_start) {
			if (c == '.')
				out[o++] = '.';
			st->line_start = false;
			st->line_bytes = 0;
		}
		out[o++] = c;
		if (c != '\n') {
			if (st->line_bytes < 2)
				st->line_bytes++;
			st->prev_cr = c == '\r';
			continue;
		}
		/* a line ended; blank when it held nothing but its CR */
		bool blank = st->line_bytes == 0 || (st->line_bytes == 1 && st->prev_cr);
		st->line_start = true;
		st->prev_cr = false;
		if (!st->top)
			continue;
		if (st->in_body) {
			if (st->lines > 0)
				st->lines--;
			if (st->lines == 0)
				st->done = true;
		} else if (blank) {
			st->in_body = true;
			if (st->lines == 0)
				st->done = true;
		}
	}
	return o;
}

const char *pop3_stuff_end(const struct pop3_stuffer *st)
{
	return st->line_start ? ".\r\n" : "\r\n.\r\n";
}
