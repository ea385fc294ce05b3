/* Header end and header field selection over a message's CRLF form (see
 * fetch-body.h). */
#include "server/imap/fetch-body.h"

#include <string.h>
#include <strings.h>

#include "server/imap/outbuf.h"

void imap_hdr_end_init(struct imap_hdr_end *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

size_t imap_hdr_end_feed(struct imap_hdr_end *h, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len && !h->found) {
		char c = data[i++];
		h->pos++;
		if (h->cr && c == '\n') {
			h->found = true;
			h->end = h->pos;
			break;
		}
		h->cr = h->line_start && c == '\r';
		h->line_start = c == '\n';
	}
	return i;
}

enum { HF_LINE_START, HF_CR, HF_NAME, HF_VALUE, HF_END };

void imap_hdr_filter_init(struct imap_hdr_filter *f, char *const *names, size_t n_names, bool not)
{
	memset(f, 0, sizeof(*f));
	f->names = names;
	f->n_names = n_names;
	f->not = not;
	f->st = HF_LINE_START;
}

static void put(struct imap_hdr_filter *f, struct imap_outbuf *out, const char *data, size_t len)
{
	f->out_total += len;
	if (out != NULL)
		imap_outbuf_add(out, data, len);
}

/* The field name collected so far decides whether the field is kept. */
static void decide(struct imap_hdr_filter *f, size_t name_len, struct imap_outbuf *out)
{
	bool match = false;
	if (name_len <= IMAP_FIELD_NAME_MAX) {
		for (size_t i = 0; i < f->n_names && !match; i++)
			match = strlen(f->names[i]) == name_len &&
				strncasecmp(f->names[i], f->name, name_len) == 0;
	}
	f->keep = match != f->not;
	if (f->keep)
		put(f, out, f->name, f->name_len);
	f->name_len = 0;
}

void imap_hdr_filter_feed(struct imap_hdr_filter *f, const char *data, size_t len,
			  struct imap_outbuf *out)
{
	size_t i = 0;
	while (i < len && f->st != HF_END) {
		if (f->st == HF_VALUE) {
			/* copy (or skip) up to and including the end of the line */
			const char *nl = memchr(data + i, '\n', len - i);
			size_t n = nl != NULL ? (size_t)(nl - (data + i)) + 1 : len - i;
			if (f->keep)
				put(f, out, data + i, n);
			i += n;
			if (nl != NULL)
				f->st = HF_LINE_START;
			continue;
		}
		char c = data[i];
		if (f->st == HF_LINE_START) {
			if (c == ' ' || c == '\t') {     /* continuation line */
				f->st = HF_VALUE;
				continue;
			}
			f->name_len = 0;
			if (c == '\r') {                 /* the blank line? */
				f->st = HF_CR;
				i++;
				continue;
			}
			f->st = HF_NAME;
		} else if (f->st == HF_CR) {
			if (c == '\n') {
				f->st = HF_END;
				break;
			}
			f->name[f->name_len++] = '\r';   /* a name starting with CR */
			f->st = HF_NAME;
		}
		/* HF_NAME */
		f->name[f->name_len++] = c;
		i++;
		if (c == ':') {
			size_t n = f->name_len - 1;
			while (n > 0 && (f->name[n - 1] == ' ' || f->name[n - 1] == '\t'))
				n--;
			decide(f, n, out);
			f->st = HF_VALUE;
		} else if (c == '\n') {
			decide(f, IMAP_FIELD_NAME_MAX + 1, out);   /* no colon: no name */
			f->st = HF_LINE_START;
		} else if (f->name_len == sizeof(f->name)) {
			decide(f, IMAP_FIELD_NAME_MAX + 1, out);   /* too long to match */
			f->st = HF_VALUE;
		}
	}
}

void imap_hdr_filter_finish(struct imap_hdr_filter *f, struct imap_outbuf *out)
{
	if (f->st == HF_CR)
		f->name[f->name_len++] = '\r';
	if (f->st == HF_NAME || f->st == HF_CR)
		decide(f, IMAP_FIELD_NAME_MAX + 1, out);
	f->st = HF_LINE_START;
	put(f, out, "\r\n", 2);
}
