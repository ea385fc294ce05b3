/* HEADER.FIELDS and HEADER.FIELDS.NOT (RFC 3501 6.4.5): a streaming filter
 * over the raw bytes of a header that passes on the selected fields, each
 * with its continuation lines, in CRLF form, followed by the blank line that
 * ends a header. Field names match case-insensitively; a line without a colon
 * is a field named by the whole line, as the big servers treat it. */
#include "storage/message/msg-internal.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

#define NAME_KEEP 256

struct msg_hdr_filter {
	const char *const *names;
	size_t n_names;
	bool not;
	bool line_start, in_name, keep, ended;
	char name[NAME_KEEP];
	size_t name_len;
	bool name_long;
	struct msg_buf held;     /* the field's first bytes while its name is read */
	struct msg_crlf crlf;
	bool blank_cr;           /* a line that so far is only "\r" */
};

struct msg_hdr_filter *msg_hdr_filter_new(const char *const *names, size_t n_names, bool not)
{
	struct msg_hdr_filter *f = xcalloc(1, sizeof(*f));
	f->names = names;
	f->n_names = n_names;
	f->not = not;
	f->line_start = true;
	return f;
}

static bool selected(struct msg_hdr_filter *f)
{
	size_t n = f->name_len;
	while (n > 0 && (f->name[n - 1] == ' ' || f->name[n - 1] == '\t'))
		n--;
	bool match = false;
	if (!f->name_long) {
		for (size_t i = 0; i < f->n_names && !match; i++)
			match = strlen(f->names[i]) == n && strncasecmp(f->names[i], f->name, n) == 0;
	}
	return match != f->not;
}

static void emit(struct msg_hdr_filter *f, const void *d, size_t n, struct msg_buf *out)
{
	msg_crlf_run(&f->crlf, d, n, out);
}

static void name_known(struct msg_hdr_filter *f, struct msg_buf *out)
{
	f->in_name = false;
	f->keep = selected(f);
	if (f->keep)
		emit(f, f->held.data, f->held.len, out);
	f->held.len = 0;
}

void msg_hdr_filter_run(struct msg_hdr_filter *f, const void *in, size_t len, struct msg_buf *out)
{
	const unsigned char *d = in;
	size_t i = 0;
	while (i < len && !f->ended) {
		if (f->line_start) {
			unsigned char c = d[i];
			if (f->blank_cr) {
				f->blank_cr = false;
				if (c == '\n') {
					f->ended = true;
					return;
				}
				/* "\r" then more: a field line starting with CR */
				f->line_start = false;
				f->in_name = true;
				f->name_len = 0;
				f->name_long = false;
				f->name[f->name_len++] = '\r';
				msg_buf_putc(&f->held, '\r');
				continue;
			}
			if (c == '\n') {
				f->ended = true;
				return;
			}
			if (c == '\r') {
				f->blank_cr = true;
				i++;
				continue;
			}
			f->line_start = false;
			if (c != ' ' && c != '\t') {
				f->in_name = true;
				f->name_len = 0;
				f->name_long = false;
			}
		}
		const unsigned char *lf = memchr(d + i, '\n', len - i);
		size_t end = lf != NULL ? (size_t)(lf - d) + 1 : len;
		if (f->in_name) {
			size_t j = i;
			while (j < end && d[j] != ':' && d[j] != '\n') {
				if (f->name_len == NAME_KEEP) {
					f->name_long = true;
					break;
				}
				f->name[f->name_len++] = (char)d[j];
				j++;
			}
			msg_buf_append(&f->held, d + i, j - i);
			i = j;
			if (f->name_long) {
				/* too long to be any name asked for: decide now, so
				 * a huge line never sits in held */
				name_known(f, out);
			} else if (i < end && d[i] == ':') {
				name_known(f, out);
			} else if (i < end) {
				/* line ended without a colon: the whole line names it */
				size_t n = f->name_len;
				if (n > 0 && f->name[n - 1] == '\r')
					f->name_len--;
				name_known(f, out);
			} else {
				continue;
			}
		}
		if (f->keep)
			emit(f, d + i, end - i, out);
		i = end;
		if (lf != NULL)
			f->line_start = true;
	}
}

void msg_hdr_filter_finish(struct msg_hdr_filter *f, struct msg_buf *out)
{
	if (f->in_name)
		name_known(f, out);
	if (!f->line_start && f->keep)
		emit(f, "\r\n", 2, out);   /* header cut short: end the field's line */
	msg_buf_append(out, "\r\n", 2);
}

void msg_hdr_filter_free(struct msg_hdr_filter **f)
{
	if (*f == NULL)
		return;
	msg_buf_free(&(*f)->held);
	free(*f);
	*f = NULL;
}
