/* The text SEARCH reads (RFC 3501 6.4.4 BODY/TEXT/HEADER keys): header fields
 * of the message, of every encapsulated message and every MIME header,
 * unfolded and RFC 2047-decoded, and every text part (and message/ part
 * that encapsulates no message), transfer-decoded and converted to UTF-8, streamed from the message file in blocks by the ranges
 * the parse recorded. */
#include "storage/message/msg-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 65536
#define FIELD_MAX (256u * 1024u)

struct search_ctx {
	int fd;
	msg_text_cb *cb;
	void *ctx;
	unsigned char *block;
	struct msg_buf field, decoded, out;
};

/* Read [off, off+len) of the file in blocks, calling fn on each. */
static int read_range(struct search_ctx *s, uint64_t off, uint64_t len,
		      int (*fn)(struct search_ctx *, const unsigned char *, size_t, void *),
		      void *arg)
{
	while (len > 0) {
		size_t want = len < BLOCK ? (size_t)len : BLOCK;
		ssize_t n = pread(s->fd, s->block, want, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MSG_EIO;
		}
		if (n == 0)
			return MSG_EIO;   /* the file is shorter than its parse */
		int r = fn(s, s->block, (size_t)n, arg);
		if (r != 0)
			return r;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int emit_field(struct search_ctx *s, const struct msg_part *part)
{
	const char *f = s->field.data;
	size_t len = s->field.len;
	if (len == 0)
		return 0;
	const char *colon = memchr(f, ':', len);
	if (colon == NULL)
		return 0;
	char name[128];
	size_t n = (size_t)(colon - f);
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, f, n);
	name[n] = '\0';
	const char *v = colon + 1;
	size_t vlen = len - (size_t)(v - f);
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	s->decoded.len = 0;
	msg_rfc2047_decode(v, vlen, &s->decoded);
	return s->cb(MSG_TEXT_HEADER, name, part, s->decoded.data != NULL ? s->decoded.data : "",
		     s->decoded.len, s->ctx);
}

struct hdr_state {
	const struct msg_part *part;
	bool line_start;
};

static int header_block(struct search_ctx *s, const unsigned char *d, size_t n, void *arg)
{
	struct hdr_state *h = arg;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = d[i];
		if (h->line_start) {
			h->line_start = false;
			if (c != ' ' && c != '\t') {
				int r = emit_field(s, h->part);
				s->field.len = 0;
				if (r != 0)
					return r;
			}
		}
		if (c == '\n') {
			h->line_start = true;
			continue;
		}
		if (c == '\r')
			continue;
		if (s->field.len < FIELD_MAX)
			msg_buf_putc(&s->field, (char)c);
	}
	return 0;
}

static int search_header(struct search_ctx *s, const struct msg_part *part)
{
	struct hdr_state h = { part, true };
	s->field.len = 0;
	int r = read_range(s, part->offset, part->header.raw, header_block, &h);
	if (r == 0)
		r = emit_field(s, part);
	s->field.len = 0;
	return r;
}

struct body_state {
	const struct msg_part *part;
	struct msg_decoder dec;
	struct msg_conv conv;
};

static int body_block(struct search_ctx *s, const unsigned char *d, size_t n, void *arg)
{
	struct body_state *b = arg;
	s->decoded.len = 0;
	msg_decoder_run(&b->dec, d, n, &s->decoded);
	s->out.len = 0;
	msg_conv_run(&b->conv, s->decoded.data, s->decoded.len, &s->out);
	if (s->out.len == 0)
		return 0;
	return s->cb(MSG_TEXT_BODY, NULL, b->part, s->out.data, s->out.len, s->ctx);
}

static int search_body(struct search_ctx *s, const struct msg_part *part)
{
	struct body_state b;
	b.part = part;
	msg_decoder_init(&b.dec, part->cte == MSG_CTE_UNKNOWN ? MSG_CTE_8BIT : part->cte);
	struct msg_str cs = msg_part_charset(part);
	msg_conv_open(&b.conv, cs.data, cs.len);
	int r = read_range(s, part->offset + part->header.raw, part->body.raw, body_block, &b);
	if (r == 0) {
		s->decoded.len = 0;
		msg_decoder_finish(&b.dec, &s->decoded);
		s->out.len = 0;
		msg_conv_run(&b.conv, s->decoded.data, s->decoded.len, &s->out);
		msg_conv_finish(&b.conv, &s->out);
		if (s->out.len > 0)
			r = s->cb(MSG_TEXT_BODY, NULL, part, s->out.data, s->out.len, s->ctx);
	}
	msg_conv_close(&b.conv);
	return r;
}

static int walk(struct search_ctx *s, const struct msg_part *part)
{
	int r = search_header(s, part);
	if (r != 0)
		return r;
	if (part->children != NULL) {
		for (const struct msg_part *c = part->children; c != NULL; c = c->next)
			if ((r = walk(s, c)) != 0)
				return r;
		return 0;
	}
	/* text leaves, and message/ leaves that encapsulate nothing
	 * (delivery-status, partial, external-body: text for a reader) */
	if (((part->flags & MSG_PART_TEXT) || msg_str_eq(part->type, "message")) &&
	    !(part->flags & (MSG_PART_MULTIPART | MSG_PART_MESSAGE)))
		return search_body(s, part);
	return 0;
}

int msg_search_text(const struct msg_info *info, int fd, msg_text_cb *cb, void *ctx)
{
	struct search_ctx s;
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.cb = cb;
	s.ctx = ctx;
	s.block = malloc(BLOCK);
	if (s.block == NULL)
		return MSG_EIO;
	int r = walk(&s, info->root);
	free(s.block);
	msg_buf_free(&s.field);
	msg_buf_free(&s.decoded);
	msg_buf_free(&s.out);
	return r;
}
