/* Sources and streams of FETCH's literal items (see fetch-section.h).
 * Sizes come first, because a literal announces its length: the part
 * tree gives them for BODY/BINARY sections, the top-level header end is
 * found by reading the header once, and HEADER.FIELDS sizes by running
 * the filter over the header without keeping its output (in that same
 * read for the top-level header). */
#include "server/imap/fetch-section.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/fetch-body.h"
#include "server/imap/fetch-format.h"
#include "server/imap/outbuf.h"

#define READ_STEP (64u * 1024u)

void imap_fetch_window(const struct imap_fetch_item *it, uint64_t size, uint64_t *origin_r,
		       uint64_t *len_r)
{
	uint64_t o = 0, n = size;
	if (it->partial) {
		o = it->origin < size ? it->origin : size;
		n = size - o < it->length ? size - o : it->length;
	}
	*origin_r = o;
	*len_r = n;
}

/* NUL bytes anywhere in the part's own bytes or its descendants'. */
static bool subtree_has_nul(const struct msg_part *p)
{
	if (p->flags & MSG_PART_HAS_NUL)
		return true;
	for (const struct msg_part *c = p->children; c != NULL; c = c->next)
		if (subtree_has_nul(c))
			return true;
	return false;
}

static struct msg_hdr_filter *fields_filter(const struct imap_fetch_item *it)
{
	return msg_hdr_filter_new((const char *const *)it->fields, it->n_fields,
				  it->sec == IMAP_SEC_FIELDS_NOT);
}

/* A HEADER.FIELDS source over the header at CRLF offset base: the size
 * its filter gives, found by running it once. */
static int fields_source(const struct imap_fetch_item *it, struct store_reader *rd,
			 uint64_t base, uint64_t len, struct imap_fetch_src *src)
{
	src->kind = IMAP_SRC_FIELDS;
	src->base = base;
	src->in_len = len;
	struct msg_hdr_filter *f = fields_filter(it);
	struct msg_buf out = { 0 };
	char *buf = xmalloc(READ_STEP);
	uint64_t total = 0;
	int err = store_reader_seek(rd, base);
	while (err == 0 && len > 0) {
		size_t got = 0;
		err = store_reader_read(rd, buf, len < READ_STEP ? (size_t)len : READ_STEP, &got);
		if (err == 0 && got == 0)
			err = STORE_EIO;          /* the file shrank */
		if (err != 0)
			break;
		len -= got;
		out.len = 0;
		msg_hdr_filter_run(f, buf, got, &out);
		total += out.len;
	}
	out.len = 0;
	msg_hdr_filter_finish(f, &out);
	src->size = total + out.len;
	msg_hdr_filter_free(&f);
	msg_buf_free(&out);
	free(buf);
	return err;
}

static bool top_fields(const struct imap_fetch_item *it)
{
	return (it->att == IMAP_FA_SECTION || it->att == IMAP_FA_BINARY_SIZE) &&
	       it->depth == 0 && (it->sec == IMAP_SEC_FIELDS || it->sec == IMAP_SEC_FIELDS_NOT);
}

/* The length of the top-level header, blank line included (the whole
 * message when it has no blank line), in one read of it that also sizes
 * every top-level HEADER.FIELDS item. */
static int top_header(const struct imap_fetch_spec *spec, struct store_reader *rd,
		      uint64_t *len_r, struct imap_fetch_src *srcs)
{
	struct imap_hdr_end he;
	imap_hdr_end_init(&he);
	struct msg_hdr_filter **f = xcalloc(spec->n, sizeof(*f));
	for (size_t i = 0; i < spec->n; i++)
		if (top_fields(&spec->items[i]))
			f[i] = fields_filter(&spec->items[i]);
	struct msg_buf out = { 0 };
	char *buf = xmalloc(READ_STEP);
	int err = store_reader_seek(rd, 0);
	while (err == 0 && !he.found) {
		size_t got = 0;
		err = store_reader_read(rd, buf, READ_STEP, &got);
		if (err != 0 || got == 0)
			break;
		size_t used = imap_hdr_end_feed(&he, buf, got);
		for (size_t i = 0; i < spec->n; i++) {
			if (f[i] == NULL)
				continue;
			out.len = 0;
			msg_hdr_filter_run(f[i], buf, used, &out);
			srcs[i].size += out.len;
		}
	}
	*len_r = he.found ? he.end : he.pos;
	for (size_t i = 0; i < spec->n; i++) {
		if (f[i] == NULL)
			continue;
		out.len = 0;
		msg_hdr_filter_finish(f[i], &out);
		srcs[i].size += out.len;
		srcs[i].kind = IMAP_SRC_FIELDS;
		srcs[i].in_len = *len_r;
		msg_hdr_filter_free(&f[i]);
	}
	free(f);
	free(buf);
	msg_buf_free(&out);
	return err;
}

static int top_source(const struct imap_fetch_item *it, uint64_t vsize, uint64_t hdr_len,
		      struct imap_fetch_src *src)
{
	src->kind = IMAP_SRC_CRLF;
	switch (it->sec) {
	case IMAP_SEC_ALL:
		src->size = vsize;
		return 0;
	case IMAP_SEC_HEADER:
		src->size = hdr_len;
		return 0;
	case IMAP_SEC_TEXT:
		src->base = hdr_len;
		src->size = vsize - hdr_len;
		return 0;
	case IMAP_SEC_FIELDS:
	case IMAP_SEC_FIELDS_NOT:
		src->kind = IMAP_SRC_FIELDS;   /* sized by top_header() */
		return 0;
	case IMAP_SEC_MIME:
		break;                      /* never without a part number */
	}
	src->kind = IMAP_SRC_EMPTY;
	return 0;
}

static enum msg_section_kind msg_kind(enum imap_section_kind k)
{
	switch (k) {
	case IMAP_SEC_ALL: return MSG_SECTION_BODY;
	case IMAP_SEC_TEXT: return MSG_SECTION_TEXT;
	case IMAP_SEC_MIME: return MSG_SECTION_MIME;
	default: return MSG_SECTION_HEADER;
	}
}

/* BINARY[part] (or BINARY.SIZE): the part with its own transfer encoding
 * removed; BINARY[TEXT] / BINARY[n.TEXT]: the body of that message with
 * the encoding of the message's own root part removed (as Dovecot does).
 * rd is NULL for BINARY.SIZE items, which need only the size. */
static int binary_source(const struct imap_fetch_item *it, const struct msg_info *info,
			 struct store_reader *rd, uint64_t vsize, struct imap_fetch_src *src)
{
	src->binary = true;
	if (it->depth == 0 && it->sec == IMAP_SEC_ALL) {   /* the message as a whole */
		src->kind = IMAP_SRC_CRLF;
		src->size = vsize;
		src->literal8 = subtree_has_nul(info->root);
		return 0;
	}
	struct msg_range range;
	const struct msg_part *part;
	bool text = it->sec == IMAP_SEC_TEXT;
	if (msg_section(info, it->path, it->depth, text ? MSG_SECTION_TEXT : MSG_SECTION_BODY,
			&range, &part) != 0) {
		src->kind = IMAP_SRC_EMPTY;
		return 0;
	}
	if (text && it->depth > 0)
		part = part->children;           /* the encapsulated message's root */
	src->cte = msg_binary_cte(part);
	if (src->cte == MSG_CTE_UNKNOWN)
		return IMAP_FETCH_EUNKNOWN_CTE;
	if (src->cte == MSG_CTE_BASE64 || src->cte == MSG_CTE_QP) {
		src->kind = IMAP_SRC_DECODE;
		src->raw_off = range.offset;
		src->raw_len = range.raw_size;
		src->size = part->binary_size;
		src->literal8 = (part->flags & MSG_PART_BINARY_NUL) != 0;
		return 0;
	}
	src->kind = IMAP_SRC_CRLF;
	src->size = range.size;
	src->literal8 = subtree_has_nul(part);
	return rd != NULL ? store_reader_seek_raw(rd, range.offset, &src->base) : 0;
}

/* BODY[part...] of a part (or anything below the top level). */
static int part_source(const struct imap_fetch_item *it, const struct msg_info *info,
		       struct store_reader *rd, struct imap_fetch_src *src)
{
	struct msg_range range;
	if (msg_section(info, it->path, it->depth, msg_kind(it->sec), &range, NULL) != 0) {
		src->kind = IMAP_SRC_EMPTY;   /* a part that does not exist */
		return 0;
	}
	uint64_t base;
	int err = store_reader_seek_raw(rd, range.offset, &base);
	if (err != 0)
		return err;
	if (it->sec == IMAP_SEC_FIELDS || it->sec == IMAP_SEC_FIELDS_NOT)
		return fields_source(it, rd, base, range.size, src);
	src->kind = IMAP_SRC_CRLF;
	src->base = base;
	src->size = range.size;
	return 0;
}

int imap_fetch_sources(const struct imap_fetch_spec *spec, const struct msg_info *info,
		       struct store_reader *rd, uint64_t vsize, struct imap_fetch_src *srcs)
{
	uint64_t hdr_len = 0;
	memset(srcs, 0, spec->n * sizeof(*srcs));
	int err = spec->header ? top_header(spec, rd, &hdr_len, srcs) : 0;
	for (size_t i = 0; i < spec->n && err == 0; i++) {
		const struct imap_fetch_item *it = &spec->items[i];
		struct imap_fetch_src *src = &srcs[i];
		if (it->att != IMAP_FA_SECTION && it->att != IMAP_FA_BINARY_SIZE)
			continue;
		if (imap_fetch_item_decodes(it))
			err = binary_source(it, info,
					    it->att == IMAP_FA_SECTION ? rd : NULL, vsize, src);
		else if (it->depth == 0)
			err = top_source(it, vsize, hdr_len, src);
		else
			err = part_source(it, info, rd, src);
	}
	return err;
}

/* ---- streaming ---- */

int imap_fetch_stream_start(struct imap_fetch_stream *st, const struct imap_fetch_item *it,
			    const struct imap_fetch_src *src, struct store_reader *rd)
{
	imap_fetch_stream_end(st);
	uint64_t o, n;
	imap_fetch_window(it, src->size, &o, &n);
	st->src = src;
	st->item = it;
	st->left = n;
	switch (src->kind) {
	case IMAP_SRC_EMPTY:
		return 0;
	case IMAP_SRC_CRLF:
		return n > 0 ? store_reader_seek(rd, src->base + o) : 0;
	case IMAP_SRC_FIELDS:
		st->skip = o;
		st->in_pos = src->base;
		st->in_end = src->base + src->in_len;
		st->hf = fields_filter(it);
		return store_reader_seek(rd, src->base);
	case IMAP_SRC_DECODE:
		st->skip = o;
		st->in_pos = src->raw_off;
		st->in_end = src->raw_off + src->raw_len;
		msg_decoder_init(&st->dec, src->cte);
		return 0;
	}
	return 0;
}

/* n literal bytes into out; a NUL, which no literal but literal8 may
 * carry (RFC 9051 4.3), is sent as 0x80, as other servers do. */
static void put_bytes(struct imap_outbuf *out, const char *data, size_t n, bool keep_nul)
{
	char *p = imap_outbuf_reserve(out, n);
	memcpy(p, data, n);
	if (!keep_nul)
		imap_fmt_nul_to_8bit(p, n);
	imap_outbuf_commit(out, n);
}

/* The CRLF form straight from the reader into the page. */
static int run_crlf(struct imap_fetch_stream *st, struct store_reader *rd,
		    struct imap_outbuf *out, size_t limit)
{
	while (st->left > 0 && out->len < limit) {
		size_t want = limit - out->len;
		if (want < 4096)
			want = 4096;
		if (want > st->left)
			want = (size_t)st->left;
		char *p = imap_outbuf_reserve(out, want);
		size_t got = 0;
		int err = store_reader_read(rd, p, want, &got);
		if (err != 0 || got == 0)
			return err != 0 ? err : STORE_EIO;  /* the file shrank */
		if (!st->src->literal8)
			imap_fmt_nul_to_8bit(p, got);
		imap_outbuf_commit(out, got);
		st->left -= got;
	}
	return 0;
}

/* Read the next slice of input and convert it into st->pend. */
static int convert_more(struct imap_fetch_stream *st, struct store_reader *rd)
{
	st->pend.len = st->pend_pos = 0;
	if (st->in_pos == st->in_end) {
		if (st->hf != NULL)
			msg_hdr_filter_finish(st->hf, &st->pend);
		else
			msg_decoder_finish(&st->dec, &st->pend);
		st->finished = true;
		return 0;
	}
	if (st->buf == NULL)
		st->buf = xmalloc(READ_STEP);
	uint64_t room = st->in_end - st->in_pos;
	size_t want = room < READ_STEP ? (size_t)room : READ_STEP, got = 0;
	int err = st->hf != NULL ? store_reader_read(rd, st->buf, want, &got)
				 : store_reader_pread(rd, st->in_pos, st->buf, want, &got);
	if (err == 0 && got == 0)
		err = STORE_EIO;               /* the file shrank */
	if (err != 0)
		return err;
	st->in_pos += got;
	if (st->hf != NULL)
		msg_hdr_filter_run(st->hf, st->buf, got, &st->pend);
	else
		msg_decoder_run(&st->dec, st->buf, got, &st->pend);
	return 0;
}

int imap_fetch_stream_run(struct imap_fetch_stream *st, struct store_reader *rd,
			  struct imap_outbuf *out, size_t limit)
{
	if (st->src->kind == IMAP_SRC_CRLF)
		return run_crlf(st, rd, out, limit);
	while (st->left > 0 && out->len < limit) {
		size_t avail = st->pend.len - st->pend_pos;
		if (avail == 0) {
			if (st->finished)
				return STORE_EIO;      /* fewer bytes than measured */
			int err = convert_more(st, rd);
			if (err != 0)
				return err;
			continue;
		}
		if (st->skip > 0) {
			size_t d = st->skip < avail ? (size_t)st->skip : avail;
			st->pend_pos += d;
			st->skip -= d;
			continue;
		}
		size_t n = avail;
		if (n > st->left)
			n = (size_t)st->left;
		if (n > limit - out->len)
			n = limit - out->len;
		put_bytes(out, st->pend.data + st->pend_pos, n, st->src->literal8);
		st->pend_pos += n;
		st->left -= n;
	}
	return 0;
}

void imap_fetch_stream_end(struct imap_fetch_stream *st)
{
	msg_hdr_filter_free(&st->hf);
	msg_buf_free(&st->pend);
	free(st->buf);
	memset(st, 0, sizeof(*st));
}
