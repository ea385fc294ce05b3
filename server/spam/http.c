/* The HTTP/1.x response reader (see http.h): status line and header fields
 * are read a line at a time into a bounded buffer; the body is passed to
 * the sink straight from the caller's bytes (Content-Length, chunks, or up
 * to the close), so a reply costs no copy of its body. */
#include "server/spam/http.h"

#include <string.h>
#include <strings.h>

enum {
	H_STATUS,
	H_FIELD,
	H_BODY_LENGTH,
	H_BODY_CLOSE,
	H_CHUNK_SIZE,
	H_CHUNK_DATA,
	H_CHUNK_CRLF,
	H_TRAILER,
	H_DONE,
	H_FAILED,
};

void spam_http_init(struct spam_http *h, uint64_t max_body, spam_http_sink *sink, void *ctx)
{
	memset(h, 0, sizeof(*h));
	h->max_body = max_body;
	h->sink = sink;
	h->sink_ctx = ctx;
	h->state = H_STATUS;
}

static enum spam_http_result fail(struct spam_http *h, int err)
{
	h->state = H_FAILED;
	h->error = err;
	h->keep_alive = false;
	return SPAM_HTTP_FAILED;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int parse_status(struct spam_http *h, const char *s, size_t n)
{
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return SPAM_HTTP_ESYNTAX;
	h->minor = s[7] - '0';
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return SPAM_HTTP_ESYNTAX;
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (h->status < 200 || h->status > 599 || (n > 12 && s[12] != ' '))
		return SPAM_HTTP_ESYNTAX;   /* 1xx: we never send Expect */
	for (size_t i = 13; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return SPAM_HTTP_ESYNTAX;
	return 0;
}

static bool token_list_has(const char *v, const char *word)
{
	size_t wl = strlen(word);
	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		size_t n = 0;
		while (v[n] != '\0' && v[n] != ',' && v[n] != ' ' && v[n] != '\t')
			n++;
		if (n == wl && strncasecmp(v, word, n) == 0)
			return true;
		v += n;
	}
	return false;
}

static int parse_length(struct spam_http *h, const char *v)
{
	uint64_t len = 0;
	if (*v == '\0')
		return SPAM_HTTP_ESYNTAX;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || len > (UINT64_MAX - 9) / 10)
			return SPAM_HTTP_ESYNTAX;
		len = len * 10 + (uint64_t)(*p - '0');
	}
	if (h->have_length && len != h->length)
		return SPAM_HTTP_ESYNTAX;
	h->have_length = true;
	h->length = len;
	return 0;
}

static int parse_field(struct spam_http *h, char *s, size_t n)
{
	if (++h->fields > SPAM_HTTP_FIELDS_MAX)
		return SPAM_HTTP_EFIELDS;
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ':')
		return SPAM_HTTP_ESYNTAX;   /* also obs-fold (a leading space) */
	s[i] = '\0';
	char *v = s + i + 1;
	char *end = s + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	for (char *p = v; p < end; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return SPAM_HTTP_ESYNTAX;
	if (strcasecmp(s, "Content-Length") == 0)
		return parse_length(h, v);
	if (strcasecmp(s, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return SPAM_HTTP_EENCODING;
		h->chunked = true;
	} else if (strcasecmp(s, "Connection") == 0) {
		h->conn_close |= token_list_has(v, "close");
		h->conn_keep |= token_list_has(v, "keep-alive");
	} else if ((strcasecmp(s, "Content-Encoding") == 0 && strcasecmp(v, "identity") != 0) ||
		   strcasecmp(s, "Compression") == 0) {
		return SPAM_HTTP_EENCODING;    /* rspamd's zstd: never asked for */
	}
	return 0;
}

/* The header section ended: choose how the body is delimited. */
static enum spam_http_result headers_done(struct spam_http *h)
{
	if (h->chunked && h->have_length)
		return fail(h, SPAM_HTTP_ESYNTAX);
	h->keep_alive = h->minor == 1 ? !h->conn_close : (h->conn_keep && !h->conn_close);
	if (h->status == 204 || h->status == 304) {
		h->state = H_DONE;
		return SPAM_HTTP_DONE;
	}
	if (h->chunked) {
		h->state = H_CHUNK_SIZE;
	} else if (h->have_length) {
		if (h->length > h->max_body)
			return fail(h, SPAM_HTTP_ETOOBIG);
		h->left = h->length;
		h->state = H_BODY_LENGTH;
		if (h->left == 0) {
			h->state = H_DONE;
			return SPAM_HTTP_DONE;
		}
	} else {
		h->keep_alive = false;
		h->state = H_BODY_CLOSE;
	}
	return SPAM_HTTP_NEED_MORE;
}

static int parse_chunk_size(struct spam_http *h, const char *s, size_t n)
{
	uint64_t size = 0;
	size_t i = 0;
	for (; i < n; i++) {
		int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
			: s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (i >= 15)
			return SPAM_HTTP_ETOOBIG;
		size = size * 16 + (uint64_t)d;
	}
	if (i == 0)
		return SPAM_HTTP_ESYNTAX;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] != ';')
		return SPAM_HTTP_ESYNTAX;
	h->length = size;
	return 0;
}

/* A complete line (CRLF removed) in the current line-reading state. */
static enum spam_http_result line_done(struct spam_http *h, char *s, size_t n)
{
	int err;
	switch (h->state) {
	case H_STATUS:
		err = parse_status(h, s, n);
		if (err != 0)
			return fail(h, err);
		h->state = H_FIELD;
		return SPAM_HTTP_NEED_MORE;
	case H_FIELD:
		if (n == 0)
			return headers_done(h);
		err = parse_field(h, s, n);
		return err != 0 ? fail(h, err) : SPAM_HTTP_NEED_MORE;
	case H_CHUNK_SIZE:
		err = parse_chunk_size(h, s, n);
		if (err != 0)
			return fail(h, err);
		if (h->length == 0) {
			h->state = H_TRAILER;
			return SPAM_HTTP_NEED_MORE;
		}
		if (h->length > h->max_body - h->body_len)
			return fail(h, SPAM_HTTP_ETOOBIG);
		h->left = h->length;
		h->state = H_CHUNK_DATA;
		return SPAM_HTTP_NEED_MORE;
	case H_CHUNK_CRLF:
		if (n != 0)
			return fail(h, SPAM_HTTP_ESYNTAX);
		h->state = H_CHUNK_SIZE;
		return SPAM_HTTP_NEED_MORE;
	case H_TRAILER:
		if (n == 0) {
			h->state = H_DONE;
			return SPAM_HTTP_DONE;
		}
		if (++h->fields > SPAM_HTTP_FIELDS_MAX)
			return fail(h, SPAM_HTTP_EFIELDS);
		return SPAM_HTTP_NEED_MORE;   /* trailer fields are not used */
	default:
		return fail(h, SPAM_HTTP_ESYNTAX);
	}
}

/* The sink sees the bytes up to the limit before the limit fails the
 * reply, so the error is the same wherever the input was cut. */
static enum spam_http_result body_bytes(struct spam_http *h, const char *p, size_t n)
{
	uint64_t room = h->max_body - h->body_len;
	size_t give = n < room ? n : (size_t)room;
	h->body_len += give;
	if (h->sink != NULL && give > 0 && h->sink(h->sink_ctx, p, give) != 0)
		return fail(h, SPAM_HTTP_ESINK);
	if (give < n)
		return fail(h, SPAM_HTTP_ETOOBIG);
	return SPAM_HTTP_NEED_MORE;
}

enum spam_http_result spam_http_feed(struct spam_http *h, const void *data, size_t len,
				     size_t *used_r)
{
	const char *p = data;
	size_t i = 0;
	enum spam_http_result r = SPAM_HTTP_NEED_MORE;
	while (i < len && r == SPAM_HTTP_NEED_MORE) {
		switch (h->state) {
		case H_BODY_LENGTH:
		case H_CHUNK_DATA: {
			size_t n = len - i < h->left ? len - i : (size_t)h->left;
			r = body_bytes(h, p + i, n);
			i += n;
			h->left -= n;
			if (r == SPAM_HTTP_NEED_MORE && h->left == 0) {
				if (h->state == H_CHUNK_DATA) {
					h->state = H_CHUNK_CRLF;
				} else {
					h->state = H_DONE;
					r = SPAM_HTTP_DONE;
				}
			}
			break;
		}
		case H_BODY_CLOSE:
			r = body_bytes(h, p + i, len - i);
			i = len;
			break;
		case H_DONE:
			r = SPAM_HTTP_DONE;
			break;
		case H_FAILED:
			r = SPAM_HTTP_FAILED;
			break;
		default: {
			/* a line: up to LF, which must follow CR */
			unsigned char c = (unsigned char)p[i++];
			if (c == '\n') {
				if (h->line_len == 0 || h->line[h->line_len - 1] != '\r') {
					r = fail(h, SPAM_HTTP_ESYNTAX);
					break;
				}
				size_t n = --h->line_len;
				h->line[n] = '\0';
				h->line_len = 0;
				r = line_done(h, h->line, n);
			} else if (h->line_len >= SPAM_HTTP_LINE_MAX) {
				r = fail(h, SPAM_HTTP_ELINE);
			} else if (c == '\0' || (h->line_len > 0 && h->line[h->line_len - 1] == '\r')) {
				r = fail(h, SPAM_HTTP_ESYNTAX);   /* NUL, or a bare CR */
			} else {
				h->line[h->line_len++] = (char)c;
			}
			break;
		}
		}
	}
	if (used_r != NULL)
		*used_r = i;
	return r;
}

enum spam_http_result spam_http_eof(struct spam_http *h)
{
	if (h->state == H_DONE)
		return SPAM_HTTP_DONE;
	if (h->state == H_FAILED)
		return SPAM_HTTP_FAILED;
	if (h->state == H_BODY_CLOSE) {
		h->state = H_DONE;
		return SPAM_HTTP_DONE;
	}
	return fail(h, SPAM_HTTP_ETRUNCATED);
}

const char *spam_http_strerror(int err)
{
	switch (err) {
	case SPAM_HTTP_OK: return "ok";
	case SPAM_HTTP_ESYNTAX: return "malformed HTTP response";
	case SPAM_HTTP_ELINE: return "HTTP header line too long";
	case SPAM_HTTP_EFIELDS: return "too many HTTP header fields";
	case SPAM_HTTP_ETOOBIG: return "reply larger than max_reply_size";
	case SPAM_HTTP_EENCODING: return "compressed or unknown transfer coding";
	case SPAM_HTTP_ETRUNCATED: return "connection closed inside the reply";
	case SPAM_HTTP_ESINK: return "reply body not understood";
	default: return "HTTP error";
	}
}
