/* Charset conversion to UTF-8 with glibc iconv: streaming (a multibyte
 * sequence may straddle two calls), never failing (bytes that do not convert
 * become U+FFFD), and lenient about names (us-ascii text with 8-bit bytes is
 * read as UTF-8; a few common aliases iconv lacks are mapped). */
#include "storage/message/msg-internal.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

static const char *const utf8_names[] = {
	"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "ansi-x3.4-1968",
	"iso-ir-6", "646", "unknown-8bit", "x-unknown", "default", NULL,
};
static const struct { const char *from, *to; } aliases[] = {
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" }, { "x-sjis", "SHIFT_JIS" },
	{ "shift-jis", "SHIFT_JIS" }, { "x-euc-jp", "EUC-JP" }, { "iso-8859-8-i", "ISO-8859-8" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "windows-874", "CP874" }, { "x-mac-roman", "MACINTOSH" }, { "cp-850", "CP850" },
	{ "utf-7", "UTF-7" },
};

void msg_conv_open(struct msg_conv *c, const char *charset, size_t len)
{
	char name[64];
	memset(c, 0, sizeof(*c));
	c->cd = NULL;
	c->pending_len = 0;
	if (charset == NULL || len == 0 || len >= sizeof(name))
		return;
	memcpy(name, charset, len);
	name[len] = '\0';
	/* RFC 2231 section 5 language suffix: utf-8*en */
	char *star = strchr(name, '*');
	if (star != NULL)
		*star = '\0';
	for (size_t i = 0; utf8_names[i] != NULL; i++)
		if (strcasecmp(name, utf8_names[i]) == 0)
			return;
	const char *use = name;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].from) == 0)
			use = aliases[i].to;
	iconv_t cd = iconv_open("UTF-8", use);
	if (cd != (iconv_t)-1)
		c->cd = cd;
}

static void convert(struct msg_conv *c, const unsigned char *in, size_t len, bool final,
		    struct msg_buf *out)
{
	char tmp[1024];
	char *ip = (char *)(uintptr_t)in;
	size_t ileft = len;
	while (ileft > 0) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv((iconv_t)c->cd, &ip, &ileft, &op, &oleft);
		msg_buf_append(out, tmp, sizeof(tmp) - oleft);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && !final && ileft < sizeof(c->pending)) {
			memcpy(c->pending, ip, ileft);
			c->pending_len = ileft;
			return;
		}
		/* EILSEQ (or a truncated sequence at the end): one byte is lost */
		msg_buf_append(out, "\xEF\xBF\xBD", 3);
		ip++;
		ileft--;
	}
}

/* Convert or sanitise; an incomplete tail goes to c->pending unless final. */
static void process(struct msg_conv *c, const unsigned char *in, size_t len, bool final,
		    struct msg_buf *out)
{
	if (c->cd != NULL) {
		convert(c, in, len, final, out);
		return;
	}
	size_t rest = msg_utf8_sanitize(in, len, !final, out);
	if (rest > 0) {
		memcpy(c->pending, in + len - rest, rest);
		c->pending_len = rest;
	}
}

void msg_conv_run(struct msg_conv *c, const void *in, size_t len, struct msg_buf *out)
{
	const unsigned char *d = in;
	while (c->pending_len > 0 && len > 0) {
		unsigned char tmp[64];
		size_t n = c->pending_len, take = len < 48 ? len : 48;
		memcpy(tmp, c->pending, n);
		memcpy(tmp + n, d, take);
		c->pending_len = 0;
		process(c, tmp, n + take, false, out);
		size_t left = c->pending_len;
		if (left < take) {
			/* the new bytes still pending are read again from d */
			c->pending_len = 0;
			d += take - left;
			len -= take - left;
		} else {
			d += take;
			len -= take;
		}
	}
	if (len > 0)
		process(c, d, len, false, out);
}

void msg_conv_finish(struct msg_conv *c, struct msg_buf *out)
{
	if (c->pending_len == 0)
		return;
	unsigned char tmp[16];
	size_t n = c->pending_len;
	memcpy(tmp, c->pending, n);
	c->pending_len = 0;
	process(c, tmp, n, true, out);
	c->pending_len = 0;
}

void msg_conv_close(struct msg_conv *c)
{
	if (c->cd != NULL)
		iconv_close((iconv_t)c->cd);
	c->cd = NULL;
}

void msg_charset_to_utf8(const char *charset, size_t charset_len,
			 const void *in, size_t len, struct msg_buf *out)
{
	struct msg_conv c;
	msg_conv_open(&c, charset, charset_len);
	msg_conv_run(&c, in, len, out);
	msg_conv_finish(&c, out);
	msg_conv_close(&c);
}
