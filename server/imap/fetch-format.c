/* ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax from a parsed message.
 * Strings go out quoted unless they hold CR, LF, 8-bit bytes or more than a
 * few quoted-specials, then as literals; display text (subject, address
 * names) is tidied the way clients show it. Defaults follow RFC 2045: no
 * Content-Type is text/plain with charset us-ascii, no encoding is 7bit. */
#include "server/imap/fetch-format.h"

#include <string.h>
#include <strings.h>

/* Past this many '"' or '\' a literal is shorter than escaping. */
#define QUOTED_MAX_ESCAPES 4

static void literal(struct msg_buf *out, const char *s, size_t len)
{
	msg_buf_printf(out, "{%zu}\r\n", len);
	msg_buf_append(out, s, len);
}

static void quoted(struct msg_buf *out, const char *s, size_t len)
{
	msg_buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n' || (unsigned char)c >= 0x80)
			continue;
		if (c == '"' || c == '\\')
			msg_buf_putc(out, '\\');
		msg_buf_putc(out, c);
	}
	msg_buf_putc(out, '"');
}

void imap_fmt_nstring(struct msg_buf *out, const char *s, size_t len, bool present)
{
	if (!present || s == NULL) {
		msg_buf_puts(out, "NIL");
		return;
	}
	unsigned escapes = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if (escapes++ < QUOTED_MAX_ESCAPES)
				continue;
			literal(out, s, len);
			return;
		}
		if (c == '\r' || c == '\n' || c >= 0x80 || c == '\0') {
			literal(out, s, len);
			return;
		}
	}
	quoted(out, s, len);
}

void imap_fmt_nstring_nolf(struct msg_buf *out, const char *s, size_t len, bool present)
{
	if (!present || s == NULL || (memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL)) {
		imap_fmt_nstring(out, s, len, present);
		return;
	}
	struct msg_buf tmp = { 0 };
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			msg_buf_putc(&tmp, s[i]);
		} else if (i + 1 < len && s[i + 1] != ' ' && s[i + 1] != '\t' &&
			   s[i + 1] != '\r' && s[i + 1] != '\n') {
			msg_buf_putc(&tmp, ' ');   /* keep words apart */
		}
	}
	imap_fmt_nstring(out, tmp.data != NULL ? tmp.data : "", tmp.len, true);
	msg_buf_free(&tmp);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void imap_fmt_string_for_humans(struct msg_buf *out, const char *s, size_t len)
{
	size_t remove = 0;
	bool prefix = true, last_blank = true, modify = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\0') {
			last_blank = false;
			modify = true;
		} else if (is_blank(c)) {
			if (c != ' ')
				modify = true;
			if (last_blank) {
				modify = true;
				remove++;
			}
			last_blank = true;
		} else {
			if (c == '"' || c == '\\' || (unsigned char)c >= 0x80)
				modify = true;
			last_blank = false;
		}
		if (!last_blank)
			prefix = false;
	}
	if (last_blank && len > 0 && !prefix) {
		modify = true;
		remove++;
	}
	if (!modify) {
		msg_buf_putc(out, '"');
		msg_buf_append(out, s, len);
		msg_buf_putc(out, '"');
		return;
	}
	if (remove == len) {
		msg_buf_puts(out, "\"\"");
		return;
	}
	msg_buf_printf(out, "{%zu}\r\n", len - remove);
	size_t start = out->len;
	last_blank = true;
	prefix = true;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\0') {
			msg_buf_putc(out, (char)0x80);
			last_blank = false;
		} else if (is_blank(c)) {
			if (!last_blank)
				msg_buf_putc(out, ' ');
			last_blank = true;
		} else {
			msg_buf_putc(out, c);
			last_blank = false;
		}
		if (!last_blank)
			prefix = false;
	}
	if (last_blank && len > 0 && !prefix)
		out->len--;
	(void)start;
}

static void str_or_nil(struct msg_buf *out, struct msg_str s)
{
	imap_fmt_nstring(out, s.data, s.len, s.data != NULL);
}

static void str_nolf(struct msg_buf *out, struct msg_str s)
{
	imap_fmt_nstring_nolf(out, s.data, s.len, s.data != NULL);
}

static void addresses(struct msg_buf *out, const struct msg_addr_list *l)
{
	if (l->count == 0) {
		msg_buf_puts(out, "NIL");
		return;
	}
	msg_buf_putc(out, '(');
	for (uint32_t i = 0; i < l->count; i++) {
		const struct msg_addr *a = &l->addrs[i];
		msg_buf_putc(out, '(');
		if (a->name.data == NULL)
			msg_buf_puts(out, "NIL");
		else
			imap_fmt_string_for_humans(out, a->name.data, a->name.len);
		msg_buf_putc(out, ' ');
		str_or_nil(out, a->route);
		msg_buf_putc(out, ' ');
		str_or_nil(out, a->mailbox);
		msg_buf_putc(out, ' ');
		str_or_nil(out, a->domain);
		msg_buf_putc(out, ')');
	}
	msg_buf_putc(out, ')');
}

static void envelope_fields(struct msg_buf *out, const struct msg_envelope *e)
{
	if (e == NULL) {
		msg_buf_puts(out, "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL");
		return;
	}
	str_nolf(out, e->date);
	msg_buf_putc(out, ' ');
	if (e->subject.data == NULL)
		msg_buf_puts(out, "NIL");
	else
		imap_fmt_string_for_humans(out, e->subject.data, e->subject.len);
	msg_buf_putc(out, ' ');
	addresses(out, &e->from);
	msg_buf_putc(out, ' ');
	addresses(out, e->sender.count > 0 ? &e->sender : &e->from);
	msg_buf_putc(out, ' ');
	addresses(out, e->reply_to.count > 0 ? &e->reply_to : &e->from);
	msg_buf_putc(out, ' ');
	addresses(out, &e->to);
	msg_buf_putc(out, ' ');
	addresses(out, &e->cc);
	msg_buf_putc(out, ' ');
	addresses(out, &e->bcc);
	msg_buf_putc(out, ' ');
	str_nolf(out, e->in_reply_to);
	msg_buf_putc(out, ' ');
	str_nolf(out, e->message_id);
}

void imap_fmt_envelope(struct msg_buf *out, const struct msg_envelope *env)
{
	msg_buf_putc(out, '(');
	envelope_fields(out, env);
	msg_buf_putc(out, ')');
}

static void params(struct msg_buf *out, const struct msg_param *p, uint32_t n, bool default_charset)
{
	if (n == 0 && !default_charset) {
		msg_buf_puts(out, "NIL");
		return;
	}
	bool seen = false;
	msg_buf_putc(out, '(');
	for (uint32_t i = 0; i < n; i++) {
		if (i > 0)
			msg_buf_putc(out, ' ');
		if (msg_str_eq(p[i].name, "charset"))
			seen = true;
		imap_fmt_nstring(out, p[i].name.data, p[i].name.len, true);
		msg_buf_putc(out, ' ');
		imap_fmt_nstring(out, p[i].value.data != NULL ? p[i].value.data : "", p[i].value.len, true);
	}
	if (default_charset && !seen) {
		if (n > 0)
			msg_buf_putc(out, ' ');
		msg_buf_puts(out, "\"charset\" \"us-ascii\"");
	}
	msg_buf_putc(out, ')');
}

static void ext_common(struct msg_buf *out, const struct msg_part *p)
{
	msg_buf_putc(out, ' ');
	if (p->disposition.data == NULL) {
		msg_buf_puts(out, "NIL");
	} else {
		msg_buf_putc(out, '(');
		imap_fmt_nstring(out, p->disposition.data, p->disposition.len, true);
		msg_buf_putc(out, ' ');
		params(out, p->disp_params, p->n_disp_params, false);
		msg_buf_putc(out, ')');
	}
	msg_buf_putc(out, ' ');
	if (p->n_languages == 0) {
		msg_buf_puts(out, "NIL");
	} else {
		msg_buf_putc(out, '(');
		for (uint32_t i = 0; i < p->n_languages; i++) {
			if (i > 0)
				msg_buf_putc(out, ' ');
			imap_fmt_nstring(out, p->languages[i].data, p->languages[i].len, true);
		}
		msg_buf_putc(out, ')');
	}
	msg_buf_putc(out, ' ');
	str_nolf(out, p->location);
}

static void part_body(struct msg_buf *out, const struct msg_part *p, bool ext, unsigned flags);

static void empty_child(struct msg_buf *out, bool ext)
{
	/* RFC 2046 wants one part at least: show an empty text/plain */
	msg_buf_puts(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0");
	if (ext)
		msg_buf_puts(out, " NIL NIL NIL NIL");
	msg_buf_putc(out, ')');
}

static void multipart(struct msg_buf *out, const struct msg_part *p, bool ext, unsigned flags)
{
	if (p->children == NULL)
		empty_child(out, ext);
	for (const struct msg_part *c = p->children; c != NULL; c = c->next) {
		msg_buf_putc(out, '(');
		part_body(out, c, ext, flags);
		msg_buf_putc(out, ')');
	}
	msg_buf_putc(out, ' ');
	imap_fmt_nstring(out, p->subtype.data != NULL ? p->subtype.data : "", p->subtype.len, true);
	if (!ext)
		return;
	msg_buf_putc(out, ' ');
	params(out, p->params, p->n_params, false);
	ext_common(out, p);
}

static void part_body(struct msg_buf *out, const struct msg_part *p, bool ext, unsigned flags)
{
	if (p->flags & MSG_PART_MULTIPART) {
		multipart(out, p, ext, flags);
		return;
	}
	bool message = (p->flags & MSG_PART_MESSAGE) &&
		(!(p->flags & MSG_PART_GLOBAL) || (flags & IMAP_FMT_GLOBAL_AS_MESSAGE));
	bool text;
	if (message) {
		msg_buf_puts(out, (p->flags & MSG_PART_GLOBAL) ? "\"message\" \"global\"" :
			     "\"message\" \"rfc822\"");
		text = false;
	} else if (p->type.data == NULL) {
		text = true;
		msg_buf_puts(out, "\"text\" \"plain\"");
	} else {
		text = msg_str_eq(p->type, "text");
		imap_fmt_nstring(out, p->type.data, p->type.len, true);
		msg_buf_putc(out, ' ');
		imap_fmt_nstring(out, p->subtype.data != NULL ? p->subtype.data : "", p->subtype.len, true);
	}
	msg_buf_putc(out, ' ');
	params(out, p->params, p->n_params, text);
	msg_buf_putc(out, ' ');
	str_nolf(out, p->id);
	msg_buf_putc(out, ' ');
	str_nolf(out, p->description);
	msg_buf_putc(out, ' ');
	if (p->encoding.data != NULL)
		imap_fmt_nstring(out, p->encoding.data, p->encoding.len, true);
	else
		msg_buf_puts(out, "\"7bit\"");
	msg_buf_printf(out, " %llu", (unsigned long long)p->body.virt);
	if (text) {
		msg_buf_printf(out, " %llu", (unsigned long long)p->body.lines);
	} else if (message) {
		const struct msg_part *c = p->children;
		msg_buf_puts(out, " (");
		envelope_fields(out, c != NULL ? c->envelope : NULL);
		msg_buf_puts(out, ") ");
		if (c == NULL) {
			empty_child(out, ext);
		} else {
			msg_buf_putc(out, '(');
			part_body(out, c, ext, flags);
			msg_buf_putc(out, ')');
		}
		msg_buf_printf(out, " %llu", (unsigned long long)p->body.lines);
	}
	if (!ext)
		return;
	msg_buf_putc(out, ' ');
	str_nolf(out, p->md5);
	ext_common(out, p);
}

/* A message that is nothing but 7-bit US-ASCII plain text is shown in the
 * canonical spelling of its defaults ("7bit", "us-ascii"), whatever case the
 * header used; IMAP treats these values case-insensitively anyway. */
static bool plain_7bit(const struct msg_part *p)
{
	if ((p->flags & (MSG_PART_TEXT | MSG_PART_MULTIPART | MSG_PART_MESSAGE)) != MSG_PART_TEXT)
		return false;
	if (p->subtype.data != NULL && !msg_str_eq(p->subtype, "plain"))
		return false;
	if (p->n_params > 1 || (p->n_params == 1 && (!msg_str_eq(p->params[0].name, "charset") ||
						      !msg_str_eq(p->params[0].value, "us-ascii"))))
		return false;
	if (p->id.data != NULL || p->description.data != NULL)
		return false;
	if (p->encoding.data != NULL && !msg_str_eq(p->encoding, "7bit"))
		return false;
	return p->md5.data == NULL && p->disposition.data == NULL && p->n_languages == 0 &&
		p->location.data == NULL;
}

void imap_fmt_body(struct msg_buf *out, const struct msg_info *info, bool extended,
		   unsigned flags)
{
	const struct msg_part *root = info->root;
	if (plain_7bit(root)) {
		msg_buf_printf(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" %llu %llu%s)",
			       (unsigned long long)root->body.virt, (unsigned long long)root->body.lines,
			       extended ? " NIL NIL NIL NIL" : "");
		return;
	}
	msg_buf_putc(out, '(');
	part_body(out, root, extended, flags);
	msg_buf_putc(out, ')');
}

void imap_fmt_nul_to_8bit(char *data, size_t len)
{
	if (len == 0)
		return;
	char *p = data, *end = data + len;
	while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
		*p++ = (char)0x80;
}
