/* Streaming content-transfer decoders (RFC 2045 6.7 quoted-printable, 6.8
 * base64) and CRLF normalisation, for BINARY[]/BINARY.SIZE (RFC 3516), the
 * preview and SEARCH. Decoding is robust as RFC 2045 recommends: bytes outside
 * the base64 alphabet are skipped, a '=' that starts no valid QP escape is
 * kept literally; such input sets had_error but never stops the decoder.
 * Quoted-printable line ends come out as CRLF, trailing blanks are removed. */
#include "storage/message/msg-internal.h"

#include <string.h>
#include <strings.h>

enum qp_state { QP_TEXT, QP_WS, QP_EQ, QP_HEX2, QP_EQ_WS, QP_CR, QP_SOFTCR };
#define QP_MAX_WS 76

enum msg_cte msg_cte_parse(const char *value, size_t len)
{
	static const struct { const char *name; enum msg_cte cte; } map[] = {
		{ "7bit", MSG_CTE_7BIT }, { "8bit", MSG_CTE_8BIT },
		{ "binary", MSG_CTE_BINARY }, { "base64", MSG_CTE_BASE64 },
		{ "quoted-printable", MSG_CTE_QP },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == len && strncasecmp(map[i].name, value, len) == 0)
			return map[i].cte;
	return MSG_CTE_UNKNOWN;
}

void msg_crlf_run(struct msg_crlf *c, const void *in, size_t len, struct msg_buf *out)
{
	if (len == 0)
		return;
	const unsigned char *d = in, *end = d + len, *start = d;
	for (const unsigned char *q = d; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) {
		bool cr = q == d ? c->last_cr : q[-1] == '\r';
		if (!cr) {
			msg_buf_append(out, start, (size_t)(q - start));
			msg_buf_append(out, "\r", 1);
			start = q;
		}
	}
	msg_buf_append(out, start, (size_t)(end - start));
	c->last_cr = end[-1] == '\r';
}

/* sextet value, or B64_PAD / B64_SPACE / B64_BAD */
enum { B64_PAD = 64, B64_SPACE = 65, B64_BAD = 66 };
static const unsigned char b64_table[256] = {
	66, 66, 66, 66, 66, 66, 66, 66, 66, 65, 65, 66, 66, 65, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 64, 66, 66,
	66,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

/* One byte that is not a sextet. Returns the bytes the padding flushes. */
static size_t b64_other(struct msg_decoder *d, unsigned char v, unsigned char *tmp)
{
	size_t t = 0;
	if (v == B64_PAD) {
		/* padding ends the quantum: flush what it holds */
		if (d->state == 2) {
			tmp[t++] = (unsigned char)(d->acc >> 4);
		} else if (d->state == 3) {
			tmp[t++] = (unsigned char)(d->acc >> 10);
			tmp[t++] = (unsigned char)(d->acc >> 2);
		} else if (d->state == 1) {
			d->had_error = true;
		}
		d->state = 0;
		d->acc = 0;
		d->hold_len = 1;
	} else if (v == B64_BAD) {
		d->had_error = true;
	}
	return t;
}

/* state: sextets in acc (0-3); hold_len 1 = padding seen. out NULL only
 * counts the decoded bytes into *count. */
static void b64_run(struct msg_decoder *d, const unsigned char *in, size_t len,
		    struct msg_buf *out, uint64_t *count)
{
	unsigned char tmp[258];
	size_t t = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char v = b64_table[in[i]];
		if (v >= B64_PAD) {
			t += b64_other(d, v, tmp + t);
		} else {
			if (d->hold_len == 1) {
				/* data after padding: keep decoding (concatenated blocks) */
				d->had_error = true;
				d->hold_len = 0;
			}
			d->acc = (d->acc << 6) | v;
			if (++d->state == 4) {
				tmp[t++] = (unsigned char)(d->acc >> 16);
				tmp[t++] = (unsigned char)(d->acc >> 8);
				tmp[t++] = (unsigned char)d->acc;
				d->state = 0;
				d->acc = 0;
			}
		}
		if (t > sizeof(tmp) - 3) {
			if (out != NULL) {
				msg_buf_append(out, tmp, t);
			} else {
				*count += t;
				d->saw_nul = d->saw_nul || memchr(tmp, 0, t) != NULL;
			}
			t = 0;
		}
	}
	if (out != NULL) {
		msg_buf_append(out, tmp, t);
	} else {
		*count += t;
		d->saw_nul = d->saw_nul || (t > 0 && memchr(tmp, 0, t) != NULL);
	}
}

void msg_decoder_init(struct msg_decoder *d, enum msg_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
}

void msg_decoder_count(struct msg_decoder *d, const void *in, size_t len, uint64_t *count)
{
	if (len == 0)
		return;
	if (d->cte == MSG_CTE_BASE64) {
		b64_run(d, in, len, NULL, count);
		return;
	}
	struct msg_buf tmp = { 0 };
	msg_decoder_run(d, in, len, &tmp);
	*count += tmp.len;
	d->saw_nul = d->saw_nul || (tmp.len > 0 && memchr(tmp.data, 0, tmp.len) != NULL);
	msg_buf_free(&tmp);
}

static void b64_finish(struct msg_decoder *d, struct msg_buf *out)
{
	unsigned char tmp[2];
	if (d->state == 2) {
		tmp[0] = (unsigned char)(d->acc >> 4);
		msg_buf_append(out, tmp, 1);
	} else if (d->state == 3) {
		tmp[0] = (unsigned char)(d->acc >> 10);
		tmp[1] = (unsigned char)(d->acc >> 2);
		msg_buf_append(out, tmp, 2);
	}
	if (d->state != 0)
		d->had_error = true;
	d->state = 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

static void qp_hold(struct msg_decoder *d, unsigned char c)
{
	if (d->hold_len < QP_MAX_WS)
		d->hold[d->hold_len++] = c;
	else
		d->had_error = true;
}

/* The state's held bytes are not what they seemed: write them out. */
static void qp_invalid(struct msg_decoder *d, struct msg_buf *out)
{
	unsigned char h;
	switch (d->state) {
	case QP_EQ:
		msg_buf_append(out, "=", 1);
		break;
	case QP_HEX2:
		h = (unsigned char)d->acc;
		msg_buf_append(out, "=", 1);
		msg_buf_append(out, &h, 1);
		break;
	case QP_EQ_WS:
		msg_buf_append(out, "=", 1);
		msg_buf_append(out, d->hold, d->hold_len);
		break;
	case QP_CR:
		msg_buf_append(out, d->hold, d->hold_len);
		msg_buf_append(out, "\r", 1);
		break;
	case QP_SOFTCR:
		msg_buf_append(out, "=", 1);
		msg_buf_append(out, d->hold, d->hold_len);
		msg_buf_append(out, "\r", 1);
		break;
	default:
		break;
	}
	d->hold_len = 0;
	d->state = QP_TEXT;
	d->had_error = true;
}

static void qp_run(struct msg_decoder *d, const unsigned char *in, size_t len, struct msg_buf *out)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = in[i];
		switch (d->state) {
		case QP_TEXT: {
			size_t start = i;
			while (i < len && in[i] != '=' && in[i] != '\r' && in[i] != '\n' &&
			       in[i] != ' ' && in[i] != '\t')
				i++;
			msg_buf_append(out, in + start, i - start);
			if (i == len)
				return;
			c = in[i];
			if (c == '=')
				d->state = QP_EQ;
			else if (c == '\r')
				d->state = QP_CR;
			else if (c == '\n')
				msg_buf_append(out, "\r\n", 2);
			else {
				d->hold_len = 0;
				qp_hold(d, c);
				d->state = QP_WS;
			}
			break;
		}
		case QP_WS:
			if (c == ' ' || c == '\t') {
				qp_hold(d, c);
			} else if (c == '\r') {
				d->state = QP_CR;
			} else if (c == '\n') {
				d->hold_len = 0;
				msg_buf_append(out, "\r\n", 2);
				d->state = QP_TEXT;
			} else {
				msg_buf_append(out, d->hold, d->hold_len);
				d->hold_len = 0;
				d->state = QP_TEXT;
				continue;
			}
			break;
		case QP_EQ:
			if (hexval(c) >= 0) {
				d->acc = c;
				d->state = QP_HEX2;
			} else if (c == ' ' || c == '\t') {
				d->hold_len = 0;
				qp_hold(d, c);
				d->state = QP_EQ_WS;
			} else if (c == '\r') {
				d->hold_len = 0;
				d->state = QP_SOFTCR;
			} else if (c == '\n') {
				d->state = QP_TEXT;
			} else {
				qp_invalid(d, out);
				continue;
			}
			break;
		case QP_HEX2:
			if (hexval(c) >= 0) {
				unsigned char b = (unsigned char)(hexval((unsigned char)d->acc) * 16 + hexval(c));
				msg_buf_append(out, &b, 1);
				d->state = QP_TEXT;
			} else {
				qp_invalid(d, out);
				continue;
			}
			break;
		case QP_EQ_WS:
			if (c == ' ' || c == '\t') {
				qp_hold(d, c);
			} else if (c == '\r') {
				d->state = QP_SOFTCR;
			} else if (c == '\n') {
				d->hold_len = 0;
				d->state = QP_TEXT;
			} else {
				qp_invalid(d, out);
				continue;
			}
			break;
		case QP_CR:
		case QP_SOFTCR:
			if (c == '\n') {
				if (d->state == QP_CR)
					msg_buf_append(out, "\r\n", 2);
				d->hold_len = 0;
				d->state = QP_TEXT;
			} else {
				qp_invalid(d, out);
				continue;
			}
			break;
		}
		i++;
	}
}

void msg_decoder_run(struct msg_decoder *d, const void *in, size_t len, struct msg_buf *out)
{
	if (len == 0)
		return;
	switch (d->cte) {
	case MSG_CTE_BASE64:
		b64_run(d, in, len, out, NULL);
		break;
	case MSG_CTE_QP:
		qp_run(d, in, len, out);
		break;
	default: {
		struct msg_crlf c = { d->last_cr };
		msg_crlf_run(&c, in, len, out);
		d->last_cr = c.last_cr;
		break;
	}
	}
}

void msg_decoder_finish(struct msg_decoder *d, struct msg_buf *out)
{
	if (d->cte == MSG_CTE_BASE64) {
		b64_finish(d, out);
	} else if (d->cte == MSG_CTE_QP) {
		if (d->state == QP_WS)
			d->hold_len = 0;   /* trailing blanks at the end go too */
		else if (d->state != QP_TEXT)
			qp_invalid(d, out);
		d->state = QP_TEXT;
	}
}
