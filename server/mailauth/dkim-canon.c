/* DKIM canonicalisation (RFC 6376 3.4). The body canonicalisers are
 * streaming state machines: empty lines are counted, not kept, and written
 * only when more content follows (so trailing empty lines vanish);
 * relaxed remembers that whitespace was seen and writes one space only
 * when the line goes on. The header canonicaliser works on one field. */
#include "server/mailauth/dkim.h"

#include <ctype.h>
#include <string.h>

#include "storage/message/message.h"

void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c)
{
	memset(bc, 0, sizeof(*bc));
	bc->c = c;
}

static void flush_empty(struct dkim_body_canon *bc, dkim_out_fn *out, void *ctx)
{
	while (bc->empty_lines > 0) {
		out(ctx, "\r\n", 2);
		bc->empty_lines--;
	}
}

/* Content bytes p[0..n) without CR, LF (and, relaxed, without WSP). */
static void content(struct dkim_body_canon *bc, const char *p, size_t n, dkim_out_fn *out,
		    void *ctx)
{
	if (n == 0)
		return;
	if (!bc->line_has_content)
		flush_empty(bc, out, ctx);
	if (bc->wsp) {
		out(ctx, " ", 1);
		bc->wsp = false;
	}
	out(ctx, p, n);
	bc->line_has_content = true;
	bc->any = true;
}

static void line_end(struct dkim_body_canon *bc, dkim_out_fn *out, void *ctx)
{
	bc->wsp = false;   /* relaxed: trailing whitespace goes */
	if (bc->line_has_content)
		out(ctx, "\r\n", 2);
	else
		bc->empty_lines++;
	bc->line_has_content = false;
}

void dkim_body_canon_feed(struct dkim_body_canon *bc, const char *data, size_t len,
			  dkim_out_fn *out, void *ctx)
{
	bool relaxed = bc->c == DKIM_RELAXED;
	size_t i = 0;
	while (i < len) {
		if (bc->cr) {
			bc->cr = false;
			if (data[i] == '\n') {
				line_end(bc, out, ctx);
				i++;
				continue;
			}
			content(bc, "\r", 1, out, ctx);   /* a CR that ends no line */
		}
		char c = data[i];
		if (c == '\r') {
			bc->cr = true;
			i++;
			continue;
		}
		if (relaxed && (c == ' ' || c == '\t')) {
			bc->wsp = true;   /* written as one space if the line goes on */
			i++;
			continue;
		}
		/* a run of ordinary bytes */
		size_t j = i;
		while (j < len && data[j] != '\r' &&
		       !(relaxed && (data[j] == ' ' || data[j] == '\t')))
			j++;
		content(bc, data + i, j - i, out, ctx);
		i = j;
	}
}

void dkim_body_canon_end(struct dkim_body_canon *bc, dkim_out_fn *out, void *ctx)
{
	if (bc->cr) {
		bc->cr = false;
		content(bc, "\r", 1, out, ctx);
	}
	if (bc->line_has_content) {
		out(ctx, "\r\n", 2);   /* the last line had no CRLF */
		bc->line_has_content = false;
	}
	/* simple: an empty body is one CRLF; relaxed: nothing */
	if (bc->c == DKIM_SIMPLE && !bc->any)
		out(ctx, "\r\n", 2);
	bc->empty_lines = 0;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

void dkim_header_canon(enum dkim_canon c, const char *name, size_t name_len,
		       const char *value, size_t value_len, const char *raw, size_t raw_len,
		       bool no_crlf, struct msg_buf *out)
{
	if (c == DKIM_SIMPLE) {
		if (raw != NULL) {
			size_t l = raw_len;
			if (no_crlf && l >= 2 && raw[l - 2] == '\r' && raw[l - 1] == '\n')
				l -= 2;
			msg_buf_append(out, raw, l);
		} else {
			msg_buf_append(out, name, name_len);
			msg_buf_putc(out, ':');
			msg_buf_append(out, value, value_len);
			if (!no_crlf)
				msg_buf_puts(out, "\r\n");
		}
		return;
	}
	/* relaxed: lower-case name without trailing WSP, ':', the value
	 * unfolded with WSP runs as one space and no WSP at either end */
	size_t nl = name_len;
	while (nl > 0 && is_wsp(name[nl - 1]))
		nl--;
	for (size_t i = 0; i < nl; i++)
		msg_buf_putc(out, (char)tolower((unsigned char)name[i]));
	msg_buf_putc(out, ':');
	bool pending = false, started = false;
	for (size_t i = 0; i < value_len; i++) {
		char ch = value[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (is_wsp(ch)) {
			pending = true;
			continue;
		}
		if (pending && started)
			msg_buf_putc(out, ' ');
		pending = false;
		started = true;
		msg_buf_putc(out, ch);
	}
	if (!no_crlf)
		msg_buf_puts(out, "\r\n");
}
