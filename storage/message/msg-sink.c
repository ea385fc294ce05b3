/* The parser's view of a leaf part's body while it streams: the transfer
 * encoding is decoded only to count BINARY.SIZE (base64 is counted without
 * writing), except for the first text/plain and first text/html part that
 * is not an attachment and not inside an encapsulated message: those feed
 * the RFC 8970 preview builders, and the plain one wins. */
#include "storage/message/msg-internal.h"

#include <string.h>

static bool in_message_child(const struct msg_part *part)
{
	for (const struct msg_part *q = part->parent; q != NULL; q = q->parent)
		if (q->flags & MSG_PART_MESSAGE)
			return true;
	return false;
}

void msg_sink_start(struct msg_sink *s, struct msg_part *part)
{
	s->active = true;
	s->decode = part->cte == MSG_CTE_BASE64 || part->cte == MSG_CTE_QP;
	if (s->decode)
		msg_decoder_init(&s->dec, part->cte);
	s->pv = NULL;
	if ((part->flags & MSG_PART_TEXT) == 0 || in_message_child(part))
		return;
	if (msg_str_eq(part->disposition, "attachment"))
		return;
	bool html = msg_str_eq(part->subtype, "html");
	bool plain = part->subtype.data == NULL || part->subtype.len == 0 ||
		msg_str_eq(part->subtype, "plain");
	struct msg_str cs = msg_part_charset(part);
	if (plain && !s->plain_used) {
		s->plain_used = true;
		s->pv = &s->plain;
	} else if (html && !s->html_used) {
		s->html_used = true;
		s->pv = &s->html;
	}
	if (s->pv != NULL)
		msg_preview_start(s->pv, html, cs.data, cs.len);
}

void msg_sink_feed(struct msg_sink *s, struct msg_part *part, const unsigned char *d, size_t n)
{
	if (!s->active)
		return;
	if (s->decode) {
		if (s->pv == NULL || s->pv->done) {
			msg_decoder_count(&s->dec, d, n, &part->binary_size);
			return;
		}
		s->scratch.len = 0;
		msg_decoder_run(&s->dec, d, n, &s->scratch);
		part->binary_size += s->scratch.len;
		if (s->scratch.len > 0 && memchr(s->scratch.data, 0, s->scratch.len) != NULL)
			part->flags |= MSG_PART_BINARY_NUL;
		msg_preview_feed(s->pv, s->scratch.data, s->scratch.len);
	} else if (s->pv != NULL && !s->pv->done) {
		msg_preview_feed(s->pv, d, n);
	}
}

void msg_sink_stop(struct msg_sink *s, struct msg_part *part)
{
	if (s->decode) {
		s->scratch.len = 0;
		msg_decoder_finish(&s->dec, &s->scratch);
		part->binary_size += s->scratch.len;
		if (s->pv != NULL && !s->pv->done)
			msg_preview_feed(s->pv, s->scratch.data, s->scratch.len);
		if (s->dec.had_error)
			part->flags |= MSG_PART_BAD_ENCODING;
		if (s->dec.saw_nul ||
		    (s->scratch.len > 0 && memchr(s->scratch.data, 0, s->scratch.len) != NULL))
			part->flags |= MSG_PART_BINARY_NUL;
	} else {
		part->binary_size = part->body.virt;
	}
	s->active = false;
	s->pv = NULL;
}

struct msg_str msg_sink_preview(struct msg_sink *s, struct msg_arena *a)
{
	struct msg_buf *pv = s->plain.text.len > 0 ? &s->plain.text : &s->html.text;
	size_t n = pv->len;
	while (n > 0 && pv->data[n - 1] == ' ')
		n--;
	return msg_arena_str(a, n > 0 ? pv->data : "", n);
}

void msg_sink_free(struct msg_sink *s)
{
	msg_preview_free(&s->plain);
	msg_preview_free(&s->html);
	msg_buf_free(&s->scratch);
}
