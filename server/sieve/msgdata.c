/* The message as a Sieve script sees it: the header fields (read once from
 * the message file, at most max_header_size bytes, values unfolded and RFC
 * 2047 decoded on first use), the edits of editheader (RFC 5293) applied to
 * that list, and the body text of each part for the body test (RFC 5173),
 * decoded with storage/message's decoders and charset conversion and read
 * part by part from the file, at most max_body_size bytes per part. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/utf8.h"
#include "lib/xmem.h"
#include "server/sieve/run.h"

#define READ_CHUNK 65536

void sv_msg_init(struct sv_msg *m, int fd, uint64_t size, const struct msg_info *info,
		 const struct sieve_limits *lim)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->size = size;
	m->info = info;
	m->max_header_size = lim->max_header_size;
	m->max_body_size = lim->max_body_size;
}

static void field_free(struct sv_field *f)
{
	free(f->name);
	free(f->raw);
	free(f->value);
}

void sv_msg_free(struct sv_msg *m)
{
	for (size_t i = 0; i < m->n_fields; i++)
		field_free(&m->fields[i]);
	free(m->fields);
	msg_info_free(&m->own_info);
	memset(m, 0, sizeof(*m));
}

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static struct sv_field *field_new(struct sv_msg *m, size_t at)
{
	if (m->n_fields == m->cap_fields) {
		m->cap_fields = m->cap_fields ? m->cap_fields * 2 : 16;
		m->fields = xrealloc(m->fields, m->cap_fields * sizeof(*m->fields));
	}
	memmove(&m->fields[at + 1], &m->fields[at], (m->n_fields - at) * sizeof(*m->fields));
	m->n_fields++;
	memset(&m->fields[at], 0, sizeof(*m->fields));
	return &m->fields[at];
}

/* Split a header block into fields. */
static void split_fields(struct sv_msg *m, const char *h, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *line = h + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) : len - i;
		/* the field: this line and its continuation lines */
		size_t end = i + l + (nl != NULL);
		while (end < len && (h[end] == ' ' || h[end] == '\t')) {
			const char *n2 = memchr(h + end, '\n', len - end);
			end = n2 ? (size_t)(n2 - h) + 1 : len;
		}
		const char *colon = memchr(line, ':', l);
		if (colon != NULL && colon > line && line[0] != ' ' && line[0] != '\t') {
			size_t nlen = (size_t)(colon - line);
			while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
				nlen--;
			if (nlen > 0) {
				size_t vstart = (size_t)(colon - h) + 1;
				size_t vend = end;
				while (vend > vstart && (h[vend - 1] == '\n' || h[vend - 1] == '\r'))
					vend--;
				struct sv_field *f = field_new(m, m->n_fields);
				f->name = xstrndup(line, nlen);
				f->raw = xstrndup(h + vstart, vend - vstart);
				f->raw_len = vend - vstart;
			}
		}
		i = end;
	}
}

/* Where the body starts in buf (after the blank line), or 0. */
static size_t find_end(const char *buf, size_t len)
{
	if (len > 0 && buf[0] == '\n')
		return 1; /* a message starting with an empty line */
	if (len > 1 && buf[0] == '\r' && buf[1] == '\n')
		return 2;
	for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf))) != NULL; p++) {
		size_t i = (size_t)(p - buf);
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Find the end of the header (after the blank line), reading the file
 * onward in chunks when buf does not hold it; size if there is none. */
static uint64_t find_body(struct sv_msg *m, const char *buf, size_t len)
{
	size_t end = find_end(buf, len);
	if (end != 0)
		return end;
	if (len < m->max_header_size || (uint64_t)len >= m->size)
		return m->size;
	/* a header longer than we keep: scan on without keeping it */
	char *chunk = xmalloc(READ_CHUNK + 2);
	uint64_t off = len >= 2 ? len - 2 : 0, found = m->size;
	for (;;) {
		ssize_t n = pread_full(m->fd, chunk, READ_CHUNK + 2, off);
		if (n < 0) {
			m->io_error = SIEVE_EIO;
			break;
		}
		if (n < 3)
			break;
		for (ssize_t i = 0; i + 1 < n; i++) {
			if (chunk[i] != '\n')
				continue;
			if (chunk[i + 1] == '\n') {
				found = off + (uint64_t)i + 2;
				goto done;
			}
			if (i + 2 < n && chunk[i + 1] == '\r' && chunk[i + 2] == '\n') {
				found = off + (uint64_t)i + 3;
				goto done;
			}
		}
		off += (uint64_t)n - 2;
	}
done:
	free(chunk);
	return found;
}

int sv_msg_load(struct sv_msg *m)
{
	if (m->loaded)
		return m->io_error;
	m->loaded = true;
	size_t limit = m->size < m->max_header_size ? (size_t)m->size : m->max_header_size;
	/* most headers are a few KiB: read 16 KiB first, all of the limit
	 * only when the header goes on */
	size_t want = limit < 16384 ? limit : 16384;
	char *buf = NULL;
	ssize_t n;
	for (;;) {
		buf = xrealloc(buf, want + 1);
		n = pread_full(m->fd, buf, want, 0);
		if (n < 0) {
			free(buf);
			m->io_error = SIEVE_EIO;
			return m->io_error;
		}
		if (m->info != NULL && m->info->root != NULL)
			break;
		if ((size_t)n < want || want == limit || find_end(buf, (size_t)n) != 0)
			break;
		want = limit;
	}
	if (m->info != NULL && m->info->root != NULL)
		m->body_offset = m->info->root->header.raw;
	else
		m->body_offset = find_body(m, buf, (size_t)n);
	size_t hlen = m->body_offset < (uint64_t)n ? (size_t)m->body_offset : (size_t)n;
	split_fields(m, buf, hlen);
	free(buf);
	return m->io_error;
}

static void decode_value(struct sv_field *f)
{
	if (f->value != NULL)
		return;
	/* unfold, then trim */
	struct msg_buf u = { 0 };
	for (size_t i = 0; i < f->raw_len; i++) {
		char c = f->raw[i];
		if (c == '\r' || c == '\n')
			continue;
		msg_buf_putc(&u, c);
	}
	size_t s = 0, e = u.len;
	while (s < e && (u.data[s] == ' ' || u.data[s] == '\t'))
		s++;
	while (e > s && (u.data[e - 1] == ' ' || u.data[e - 1] == '\t'))
		e--;
	struct msg_buf d = { 0 };
	msg_rfc2047_decode(u.data ? u.data + s : "", e - s, &d);
	msg_buf_putc(&d, '\0');
	f->value = d.data;
	f->value_len = d.len - 1;
	msg_buf_free(&u);
}

const char *sv_msg_value_at(struct sv_msg *m, size_t i, size_t *len_r)
{
	decode_value(&m->fields[i]);
	*len_r = m->fields[i].value_len;
	return m->fields[i].value;
}

size_t sv_msg_count(struct sv_msg *m, const char *name)
{
	if (sv_msg_load(m) != 0)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < m->n_fields; i++)
		if (strcasecmp(m->fields[i].name, name) == 0)
			n++;
	return n;
}

const struct sv_field *sv_msg_field(struct sv_msg *m, const char *name, size_t idx)
{
	if (sv_msg_load(m) != 0)
		return NULL;
	for (size_t i = 0; i < m->n_fields; i++) {
		if (strcasecmp(m->fields[i].name, name) != 0)
			continue;
		if (idx-- == 0) {
			decode_value(&m->fields[i]);
			return &m->fields[i];
		}
	}
	return NULL;
}

void sv_msg_add(struct sv_msg *m, const char *name, const char *value, size_t vlen, bool last)
{
	if (sv_msg_load(m) != 0)
		return;
	struct msg_buf enc = { 0 };
	sv_encode_header_value(value, vlen, &enc);
	struct sv_field *f = field_new(m, last ? m->n_fields : 0);
	f->name = xstrdup(name);
	f->raw = xasprintf(" %.*s", (int)enc.len, enc.data ? enc.data : "");
	f->raw_len = strlen(f->raw);
	msg_buf_free(&enc);
	m->edited = true;
}

void sv_msg_delete(struct sv_msg *m, size_t at)
{
	if (at >= m->n_fields)
		return;
	field_free(&m->fields[at]);
	memmove(&m->fields[at], &m->fields[at + 1], (m->n_fields - at - 1) * sizeof(*m->fields));
	m->n_fields--;
	m->edited = true;
}

void sv_msg_header_block(struct sv_msg *m, struct msg_buf *out)
{
	(void)sv_msg_load(m);
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct sv_field *f = &m->fields[i];
		msg_buf_puts(out, f->name);
		msg_buf_putc(out, ':');
		/* folded lines keep their breaks, as CRLF */
		for (size_t k = 0; k < f->raw_len; k++) {
			if (f->raw[k] == '\r')
				continue;
			if (f->raw[k] == '\n')
				msg_buf_putc(out, '\r');
			msg_buf_putc(out, f->raw[k]);
		}
		msg_buf_append(out, "\r\n", 2);
	}
	msg_buf_append(out, "\r\n", 2);
}

const struct msg_info *sv_msg_info(struct sv_msg *m)
{
	if (m->info != NULL)
		return m->info;
	if (m->own_info != NULL)
		return m->own_info;
	struct msg_parser *p = msg_parser_new(NULL);
	char *buf = xmalloc(READ_CHUNK);
	uint64_t off = 0;
	while (off < m->size) {
		ssize_t n = pread_full(m->fd, buf, READ_CHUNK, off);
		if (n < 0) {
			m->io_error = SIEVE_EIO;
			break;
		}
		if (n == 0)
			break;
		msg_parser_feed(p, buf, (size_t)n);
		off += (uint64_t)n;
	}
	free(buf);
	m->own_info = msg_parser_finish(&p);
	return m->own_info;
}

/* ---- body ---- */

static struct msg_str param_of(const struct msg_part *part, const char *name)
{
	for (uint32_t i = 0; i < part->n_params; i++)
		if (msg_str_eq(part->params[i].name, name))
			return part->params[i].value;
	struct msg_str none = { NULL, 0 };
	return none;
}

static bool type_matches(const struct msg_part *part, const char *const *types, size_t n)
{
	const char *ty = "text", *st = "plain";
	size_t tl = 4, sl = 5;
	if (part->type.data != NULL) {
		ty = part->type.data;
		tl = part->type.len;
		st = part->subtype.data != NULL ? part->subtype.data : "";
		sl = part->subtype.len;
	}
	for (size_t i = 0; i < n; i++) {
		const char *t = types[i];
		if (t[0] == '\0')
			return true;
		const char *slash = strchr(t, '/');
		size_t len = slash != NULL ? (size_t)(slash - t) : strlen(t);
		if (len != tl || strncasecmp(ty, t, tl) != 0)
			continue;
		if (slash == NULL)
			return true;
		if (strlen(slash + 1) == sl && strncasecmp(st, slash + 1, sl) == 0)
			return true;
	}
	return false;
}

/* Read the body range of part, decode it and (for text) convert it to
 * UTF-8; at most max bytes of output. */
static int part_text(struct sv_msg *m, const struct msg_part *part, bool decode,
		     struct msg_buf *out)
{
	uint64_t off = part->offset + part->header.raw;
	uint64_t end = off + part->body.raw;
	struct msg_decoder dec;
	msg_decoder_init(&dec, decode ? part->cte : MSG_CTE_8BIT);
	struct msg_buf raw = { 0 };
	char *buf = xmalloc(READ_CHUNK);
	while (off < end && raw.len < m->max_body_size) {
		size_t want = end - off < READ_CHUNK ? (size_t)(end - off) : READ_CHUNK;
		ssize_t n = pread_full(m->fd, buf, want, off);
		if (n <= 0) {
			if (n < 0)
				m->io_error = SIEVE_EIO;
			break;
		}
		msg_decoder_run(&dec, buf, (size_t)n, &raw);
		off += (uint64_t)n;
	}
	msg_decoder_finish(&dec, &raw);
	free(buf);
	if (raw.len > m->max_body_size)
		raw.len = m->max_body_size;
	bool text = (part->flags & MSG_PART_TEXT) != 0;
	if (decode && text) {
		struct msg_str cs = param_of(part, "charset");
		msg_charset_to_utf8(cs.data, cs.len, raw.data ? raw.data : "", raw.len, out);
	} else {
		msg_buf_append(out, raw.data ? raw.data : "", raw.len);
	}
	msg_buf_free(&raw);
	return m->io_error;
}

/* The text of an HTML document: tags, comments, <script> and <style>
 * contents removed, the common entities and numeric references decoded,
 * block tags as line breaks. */
static void html_to_text(const char *in, size_t len, struct msg_buf *out)
{
	static const struct { const char *name; const char *text; } ents[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "nbsp", " " },
	};
	size_t i = 0;
	while (i < len) {
		char c = in[i];
		if (c == '<') {
			if (len - i >= 4 && strncmp(in + i, "<!--", 4) == 0) {
				const char *e = memmem(in + i + 4, len - i - 4, "-->", 3);
				i = e != NULL ? (size_t)(e - in) + 3 : len;
				continue;
			}
			const char *gt = memchr(in + i, '>', len - i);
			size_t end = gt != NULL ? (size_t)(gt - in) + 1 : len;
			const char *name = in + i + 1;
			bool script = end - i > 7 && strncasecmp(name, "script", 6) == 0;
			bool style = end - i > 6 && strncasecmp(name, "style", 5) == 0;
			if (script || style) {
				const char *close = script ? "</script" : "</style";
				size_t cl = strlen(close), k = end;
				while (k + cl <= len && strncasecmp(in + k, close, cl) != 0)
					k++;
				const char *g2 = k < len ? memchr(in + k, '>', len - k) : NULL;
				i = g2 != NULL ? (size_t)(g2 - in) + 1 : len;
				continue;
			}
			if (strncasecmp(name, "br", 2) == 0 || strncasecmp(name, "p", 1) == 0 ||
			    strncasecmp(name, "/p", 2) == 0 || strncasecmp(name, "div", 3) == 0)
				msg_buf_putc(out, '\n');
			i = end;
			continue;
		}
		if (c == '&') {
			const char *semi = memchr(in + i, ';', len - i < 12 ? len - i : 12);
			if (semi != NULL) {
				size_t n = (size_t)(semi - in) - i - 1;
				const char *e = in + i + 1;
				bool done = false;
				if (n > 1 && e[0] == '#') {
					unsigned long cp = e[1] == 'x' || e[1] == 'X'
							   ? strtoul(e + 2, NULL, 16) : strtoul(e + 1, NULL, 10);
					char u[4];
					if (cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
						msg_buf_append(out, u, utf8_encode(u, (uint32_t)cp));
						done = true;
					}
				}
				for (size_t k = 0; !done && k < sizeof(ents) / sizeof(ents[0]); k++) {
					if (strlen(ents[k].name) == n && strncmp(e, ents[k].name, n) == 0) {
						msg_buf_puts(out, ents[k].text);
						done = true;
					}
				}
				if (done) {
					i = (size_t)(semi - in) + 1;
					continue;
				}
			}
		}
		msg_buf_putc(out, c);
		i++;
	}
}

struct body_walk {
	struct sv_msg *m;
	enum sv_body how;
	const char *const *types;
	size_t n_types;
	sv_body_cb *cb;
	void *ctx;
};

static int walk(struct body_walk *w, const struct msg_part *part)
{
	if (part->flags & (MSG_PART_MULTIPART | MSG_PART_MESSAGE)) {
		for (const struct msg_part *c = part->children; c != NULL; c = c->next) {
			int r = walk(w, c);
			if (r != 0)
				return r;
		}
		return 0;
	}
	bool want = w->how == SV_BODY_TEXT ? (part->flags & MSG_PART_TEXT) != 0
		    : type_matches(part, w->types, w->n_types);
	/* a part whose transfer encoding is unknown has no text to offer
	 * (as Pigeonhole) */
	if (!want || part->cte == MSG_CTE_UNKNOWN)
		return 0;
	struct msg_buf text = { 0 };
	int r = part_text(w->m, part, true, &text);
	if (r == 0 && w->how == SV_BODY_TEXT && msg_str_eq(part->subtype, "html")) {
		/* :text reads what a person reads: HTML without its markup */
		struct msg_buf plain = { 0 };
		html_to_text(text.data ? text.data : "", text.len, &plain);
		msg_buf_free(&text);
		text = plain;
	}
	if (r == 0)
		r = w->cb(text.data ? text.data : "", text.len, w->ctx);
	msg_buf_free(&text);
	return r;
}

int sv_msg_body(struct sv_msg *m, enum sv_body how, const char *const *types, size_t n_types,
		sv_body_cb *cb, void *ctx)
{
	if (how == SV_BODY_RAW) {
		if (sv_msg_load(m) != 0)
			return m->io_error;
		struct msg_part whole;
		memset(&whole, 0, sizeof(whole));
		whole.offset = 0;
		whole.header.raw = m->body_offset;
		whole.body.raw = m->size > m->body_offset ? m->size - m->body_offset : 0;
		struct msg_buf text = { 0 };
		int r = part_text(m, &whole, false, &text);
		if (r == 0)
			r = cb(text.data ? text.data : "", text.len, ctx);
		msg_buf_free(&text);
		return r;
	}
	const struct msg_info *info = sv_msg_info(m);
	if (info == NULL || info->root == NULL)
		return m->io_error;
	struct body_walk w = { m, how, types, n_types, cb, ctx };
	return walk(&w, info->root);
}
