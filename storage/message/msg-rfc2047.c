/* Decoding of header text for people and SEARCH: RFC 2047 encoded words
 * (=?charset?B|Q?text?=, with RFC 2231 language suffixes) and RFC 2231
 * parameter values (charset'language'%XX). Lenient like mail readers:
 * encoded words glued to other text are decoded, whitespace between two
 * encoded words is dropped, adjacent words in one charset are joined before
 * conversion (a character split across words survives), folding is undone. */
#include "storage/message/msg-internal.h"

#include <string.h>
#include <strings.h>

struct word {
	const char *charset;
	size_t charset_len;
	char enc;                 /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total;             /* bytes of the whole =?...?= */
};

static bool parse_word(const char *p, const char *end, struct word *w)
{
	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return false;
	const char *q = p + 2, *cs = q;
	while (q < end && *q != '?' && (unsigned char)*q > ' ' && q - cs < 64)
		q++;
	if (q >= end || *q != '?' || q == cs)
		return false;
	w->charset = cs;
	w->charset_len = (size_t)(q - cs);
	q++;
	if (q + 2 > end || q[1] != '?')
		return false;
	char e = (char)(*q & ~0x20);
	if (e != 'B' && e != 'Q')
		return false;
	w->enc = e;
	q += 2;
	const char *t = q;
	while (q + 1 < end && !(q[0] == '?' && q[1] == '=')) {
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			return false;
		q++;
	}
	if (q + 1 >= end)
		return false;
	w->text = t;
	w->text_len = (size_t)(q - t);
	w->total = (size_t)(q + 2 - p);
	return true;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

static void word_bytes(const struct word *w, struct msg_buf *raw)
{
	if (w->enc == 'B') {
		struct msg_decoder d;
		msg_decoder_init(&d, MSG_CTE_BASE64);
		msg_decoder_run(&d, w->text, w->text_len, raw);
		msg_decoder_finish(&d, raw);
		return;
	}
	for (size_t i = 0; i < w->text_len; i++) {
		char c = w->text[i];
		if (c == '_') {
			msg_buf_putc(raw, ' ');
		} else if (c == '=' && i + 2 < w->text_len && hexv(w->text[i + 1]) >= 0 &&
			   hexv(w->text[i + 2]) >= 0) {
			msg_buf_putc(raw, (char)(hexv(w->text[i + 1]) * 16 + hexv(w->text[i + 2])));
			i += 2;
		} else {
			msg_buf_putc(raw, c);
		}
	}
}

/* Plain text between words: unfold and pass UTF-8 through. */
static void plain(const char *p, size_t n, struct msg_buf *out)
{
	struct msg_buf tmp = { 0 };
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			msg_buf_putc(&tmp, p[i]);
	if (tmp.len > 0)
		(void)msg_utf8_sanitize((const unsigned char *)tmp.data, tmp.len, false, out);
	msg_buf_free(&tmp);
}

void msg_rfc2047_decode(const char *in, size_t len, struct msg_buf *out)
{
	if (len == 0)
		return;
	const char *p = in, *end = in + len, *text = in;
	struct msg_buf raw = { 0 };
	struct word run = { 0 };     /* charset of the bytes waiting in raw */
	bool have_run = false;

	while (p < end) {
		const char *eq = memchr(p, '=', (size_t)(end - p));
		struct word w;
		if (eq == NULL)
			break;
		if (!parse_word(eq, end, &w)) {
			p = eq + 1;
			continue;
		}
		/* text before the word: dropped if only whitespace after a word */
		bool blank = true;
		for (const char *q = text; q < eq; q++)
			if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
				blank = false;
		if (!(blank && have_run)) {
			if (have_run) {
				msg_charset_to_utf8(run.charset, run.charset_len, raw.data, raw.len, out);
				raw.len = 0;
				have_run = false;
			}
			plain(text, (size_t)(eq - text), out);
		}
		if (have_run && (run.charset_len != w.charset_len ||
				 strncasecmp(run.charset, w.charset, w.charset_len) != 0)) {
			msg_charset_to_utf8(run.charset, run.charset_len, raw.data, raw.len, out);
			raw.len = 0;
		}
		run = w;
		have_run = true;
		word_bytes(&w, &raw);
		p = eq + w.total;
		text = p;
	}
	if (have_run)
		msg_charset_to_utf8(run.charset, run.charset_len, raw.data, raw.len, out);
	plain(text, (size_t)(end - text), out);
	msg_buf_free(&raw);
}

void msg_rfc2231_decode(const struct msg_param *param, struct msg_buf *out)
{
	const char *v = param->value.data != NULL ? param->value.data : "";
	size_t len = param->value.len;
	if (param->name.len == 0 || param->name.data[param->name.len - 1] != '*') {
		msg_rfc2047_decode(v, len, out);
		return;
	}
	const char *q1 = memchr(v, '\'', len);
	const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;
	const char *cs = "", *text = v;
	size_t cs_len = 0;
	if (q2 != NULL) {
		cs = v;
		cs_len = (size_t)(q1 - v);
		text = q2 + 1;
	}
	struct msg_buf raw = { 0 };
	const char *end = v + len;
	for (const char *p = text; p < end; p++) {
		if (*p == '%' && end - p >= 3 && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
			msg_buf_putc(&raw, (char)(hexv(p[1]) * 16 + hexv(p[2])));
			p += 2;
		} else {
			msg_buf_putc(&raw, *p);
		}
	}
	msg_charset_to_utf8(cs, cs_len, raw.data, raw.len, out);
	msg_buf_free(&raw);
}
