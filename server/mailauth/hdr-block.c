/* Header block collection: a byte-at-a-time state machine finds the blank
 * line (a CRLF at the start of a line) across any split of the input,
 * copying header bytes into one buffer up to the limit; once done, the
 * buffer is cut into fields (a line beginning with space or tab continues
 * the previous field). */
#include "server/mailauth/hdr-block.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

struct hdr_block {
	size_t max;
	char *buf;
	size_t len, cap;
	bool overflow;
	bool done;
	bool line_start;     /* the next byte begins a line */
	bool blank_cr;       /* a CR at the start of a line */
	struct hdr_field *fields;
	size_t n;
};

struct hdr_block *hdr_block_new(size_t max)
{
	struct hdr_block *h = xcalloc(1, sizeof(*h));
	h->max = max;
	h->line_start = true;
	return h;
}

void hdr_block_free(struct hdr_block **hp)
{
	struct hdr_block *h = *hp;
	if (h == NULL)
		return;
	free(h->buf);
	free(h->fields);
	x_free(hp);
}

static void keep(struct hdr_block *h, const char *p, size_t n)
{
	if (h->overflow || n == 0)
		return;
	if (h->len + n > h->max) {
		h->overflow = true;
		x_free(&h->buf);
		h->len = h->cap = 0;
		return;
	}
	if (h->len + n > h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4096;
		while (h->cap < h->len + n)
			h->cap *= 2;
		if (h->cap > h->max)
			h->cap = h->max;
		h->buf = xrealloc(h->buf, h->cap);
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

static void split_fields(struct hdr_block *h)
{
	if (h->overflow)
		return;
	size_t cap = 0;
	size_t pos = 0;
	while (pos < h->len) {
		size_t start = pos;
		/* a field: this line and every line starting with WSP after it */
		for (;;) {
			const char *nl = memchr(h->buf + pos, '\n', h->len - pos);
			pos = nl != NULL ? (size_t)(nl - h->buf) + 1 : h->len;
			if (pos >= h->len || (h->buf[pos] != ' ' && h->buf[pos] != '\t'))
				break;
		}
		size_t raw_len = pos - start;
		const char *raw = h->buf + start;
		if (raw_len <= 2 && (raw[0] == '\r' || raw[0] == '\n'))
			break;   /* the blank line */
		if (h->n == cap) {
			cap = cap ? cap * 2 : 32;
			h->fields = xrealloc(h->fields, cap * sizeof(*h->fields));
		}
		struct hdr_field *f = &h->fields[h->n++];
		memset(f, 0, sizeof(*f));
		f->raw = raw;
		f->raw_len = raw_len;
		size_t end = raw_len;
		if (end > 0 && raw[end - 1] == '\n')
			end--;
		if (end > 0 && raw[end - 1] == '\r')
			end--;
		const char *colon = memchr(raw, ':', end);
		/* a name is printable ASCII without spaces (RFC 5322 2.2), maybe
		 * followed by white space (the obsolete syntax of 4.5) */
		if (colon != NULL) {
			const char *ne = colon;
			while (ne > raw && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			bool ok = ne > raw;
			for (const char *p = raw; p < ne && ok; p++)
				if (*p <= ' ' || *p >= 0x7f)
					ok = false;
			if (ok) {
				f->name = raw;
				f->name_len = (size_t)(ne - raw);
				f->value = colon + 1;
				f->value_len = (size_t)(raw + end - f->value);
			}
		}
	}
}

size_t hdr_block_feed(struct hdr_block *h, const char *data, size_t len, bool *done_r)
{
	size_t i = 0;
	while (!h->done && i < len) {
		char c = data[i++];
		if (h->blank_cr) {
			h->blank_cr = false;
			if (c == '\n') {
				h->done = true;
				break;
			}
			h->line_start = false;
		} else if (h->line_start && c == '\r') {
			h->blank_cr = true;
			continue;
		} else if (h->line_start && c == '\n') {
			h->done = true;   /* a bare LF blank line (not from DATA) */
			break;
		}
		h->line_start = c == '\n';
	}
	keep(h, data, i);
	if (h->done)
		split_fields(h);
	*done_r = h->done;
	return i;
}

void hdr_block_end(struct hdr_block *h)
{
	if (h->done)
		return;
	h->done = true;
	split_fields(h);
}

bool hdr_block_done(const struct hdr_block *h)
{
	return h->done;
}

bool hdr_block_overflow(const struct hdr_block *h)
{
	return h->overflow;
}

size_t hdr_block_count(const struct hdr_block *h)
{
	return h->n;
}

const struct hdr_field *hdr_block_field(const struct hdr_block *h, size_t i)
{
	return &h->fields[i];
}

bool hdr_field_is(const struct hdr_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}
