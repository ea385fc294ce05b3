/* Section reading for CATENATE and URLFETCH (see section-read.h): the
 * message's parsed structure (store_msg_info, from the cache written at
 * append time) gives the section's byte range (msg_section); its bytes are
 * read from the file in blocks and given CRLF line ends as IMAP counts
 * them, a <partial> skipping and cutting in that form (a range already in
 * CRLF form is seeked into directly). HEADER.FIELDS[.NOT] runs the header
 * through the field filter into memory first: its size is only known
 * after filtering, and a header is small. */
#include "server/imap/section-read.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "storage/store.h"

#define BLOCK 65536

struct imap_section_reader {
	int fd;
	uint64_t raw_off, raw_left;   /* raw file bytes still to read */
	uint64_t skip;                /* normalised bytes to drop first */
	uint64_t left;                /* normalised bytes still to give */
	struct msg_crlf crlf;
	bool convert;                 /* bare LF in the range: add the CRs */
	struct msg_buf buf;           /* converted bytes not given yet */
	size_t buf_off;
};

/* ---- section-spec ---- */

static bool word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(end - *p) < n || strncasecmp(*p, w, n) != 0)
		return false;
	*p += n;
	return true;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")", names as
 * atoms or quoted strings. */
static int header_list(struct imap_section *sec, const char *p, const char *end)
{
	if (p >= end || *p != '(')
		return LOFT_EINVAL;
	p++;
	for (;;) {
		const char *a = p;
		char *name;
		if (p < end && *p == '"') {
			name = xmalloc((size_t)(end - p));
			size_t o = 0;
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
					p++;
				else if (*p == '\\' || *p == '\r' || *p == '\n')
					break;
				name[o++] = *p;
			}
			if (p >= end || *p != '"' || o == 0) {
				free(name);
				return LOFT_EINVAL;
			}
			name[o] = '\0';
			p++;
		} else {
			while (p < end && *p > ' ' && *p < 0x7f && strchr("(){%*\"\\]", *p) == NULL)
				p++;
			if (p == a)
				return LOFT_EINVAL;
			name = xstrndup(a, (size_t)(p - a));
		}
		sec->names = xrealloc(sec->names, (sec->n_names + 1) * sizeof(*sec->names));
		sec->names[sec->n_names++] = name;
		if (p < end && *p == ' ') {
			p++;
			continue;
		}
		if (p < end && *p == ')' && p + 1 == end)
			return 0;
		return LOFT_EINVAL;
	}
}

int imap_section_parse(const char *spec, size_t len, struct imap_section *sec)
{
	memset(sec, 0, sizeof(*sec));
	sec->kind = MSG_SECTION_BODY;
	const char *p = spec, *end = spec + len;
	/* section-part = nz-number *("." nz-number) */
	while (p < end && isdigit((unsigned char)*p)) {
		uint64_t n = 0;
		const char *d = p;
		while (p < end && isdigit((unsigned char)*p)) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX)
				goto bad;
			p++;
		}
		if (n == 0 || *d == '0' || sec->depth == IMAP_SECTION_MAX_DEPTH)
			goto bad;
		sec->path[sec->depth++] = (uint32_t)n;
		if (p == end)
			return 0;
		if (*p != '.')
			goto bad;
		p++;
		if (p == end)
			goto bad;
	}
	if (p == end)
		return sec->depth == 0 ? 0 : LOFT_EINVAL;
	if (word(&p, end, "HEADER.FIELDS.NOT ")) {
		sec->fields = sec->fields_not = true;
	} else if (word(&p, end, "HEADER.FIELDS ")) {
		sec->fields = true;
	} else if (word(&p, end, "HEADER")) {
		sec->kind = MSG_SECTION_HEADER;
		return p == end ? 0 : (imap_section_free(sec), LOFT_EINVAL);
	} else if (word(&p, end, "TEXT")) {
		sec->kind = MSG_SECTION_TEXT;
		return p == end ? 0 : (imap_section_free(sec), LOFT_EINVAL);
	} else if (sec->depth > 0 && word(&p, end, "MIME")) {
		sec->kind = MSG_SECTION_MIME;
		return p == end ? 0 : (imap_section_free(sec), LOFT_EINVAL);
	} else {
		goto bad;
	}
	sec->kind = MSG_SECTION_HEADER;
	if (header_list(sec, p, end) == 0)
		return 0;
bad:
	imap_section_free(sec);
	return LOFT_EINVAL;
}

void imap_section_free(struct imap_section *sec)
{
	for (size_t i = 0; i < sec->n_names; i++)
		free(sec->names[i]);
	free(sec->names);
	memset(sec, 0, sizeof(*sec));
}

/* ---- reading ---- */

static int read_raw(int fd, uint64_t off, char *buf, size_t n, size_t *got_r)
{
	ssize_t r;
	do {
		r = pread(fd, buf, n, (off_t)off);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return LOFT_EIO;
	*got_r = (size_t)r;
	return 0;
}

/* HEADER.FIELDS[.NOT]: the filtered header, whole, in r->buf. */
static int filter_header(struct imap_section_reader *r, const struct imap_section *sec,
			 const struct msg_range *range)
{
	struct msg_hdr_filter *f = msg_hdr_filter_new((const char *const *)sec->names,
						      sec->n_names, sec->fields_not);
	char *block = xmalloc(BLOCK);
	uint64_t off = range->offset, left = range->raw_size;
	int err = 0;
	while (left > 0) {
		size_t got;
		err = read_raw(r->fd, off, block, left < BLOCK ? (size_t)left : BLOCK, &got);
		if (err != 0 || got == 0)
			break;
		msg_hdr_filter_run(f, block, got, &r->buf);
		off += got;
		left -= got;
	}
	if (err == 0)
		msg_hdr_filter_finish(f, &r->buf);
	msg_hdr_filter_free(&f);
	free(block);
	return err;
}

int imap_section_open(struct store_mailbox *mbox, uint32_t uid, const struct imap_section *sec,
		      uint64_t partial_offset, uint64_t partial_length,
		      struct imap_section_reader **reader_r, uint64_t *size_r)
{
	*reader_r = NULL;
	struct msg_info *info = NULL;
	int err = store_msg_info(mbox, uid, &info);
	if (err != STORE_OK)
		return err == STORE_ENOTFOUND ? LOFT_ENOENT : LOFT_EIO;
	struct msg_range range;
	int m = msg_section(info, sec->path, sec->depth, sec->kind, &range, NULL);
	msg_info_free(&info);
	if (m != MSG_OK)
		return LOFT_ENOENT;
	int fd;
	uint64_t file_size;
	err = store_msg_open(mbox, uid, &fd, &file_size);
	if (err != STORE_OK)
		return err == STORE_ENOTFOUND ? LOFT_ENOENT : LOFT_EIO;
	struct imap_section_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	uint64_t total;
	if (sec->fields) {
		err = filter_header(r, sec, &range);
		if (err != 0) {
			imap_section_close(&r);
			return err;
		}
		total = r->buf.len;
	} else {
		total = range.size;
		r->raw_off = range.offset;
		r->raw_left = range.raw_size;
	}
	uint64_t start = partial_offset < total ? partial_offset : total;
	uint64_t len = total - start;
	if (partial_length != 0 && partial_length < len)
		len = partial_length;
	if (sec->fields) {
		r->buf_off = (size_t)start;
		r->buf.len = (size_t)(start + len);
	} else if (range.raw_size == range.size) {
		/* Already CRLF there: seek straight to the partial, which may
		 * start between a CR and its LF, so nothing is converted. */
		r->raw_off += start;
		r->raw_left = len;
	} else {
		r->convert = true;
		r->skip = start;
	}
	r->left = len;
	*reader_r = r;
	*size_r = len;
	return 0;
}

int imap_section_read(struct imap_section_reader *r, char *buf, size_t cap, size_t *got_r)
{
	*got_r = 0;
	while (r->left > 0 && cap > 0) {
		size_t have = r->buf.len - r->buf_off;
		if (have > 0) {
			size_t n = have < cap ? have : cap;
			if (n > r->left)
				n = (size_t)r->left;
			memcpy(buf, r->buf.data + r->buf_off, n);
			r->buf_off += n;
			r->left -= n;
			*got_r += n;
			buf += n;
			cap -= n;
			continue;
		}
		if (r->raw_left == 0)
			return LOFT_EIO;  /* the file is shorter than its record says */
		r->buf.len = r->buf_off = 0;
		char block[BLOCK / 4];
		size_t want = r->raw_left < sizeof(block) ? (size_t)r->raw_left : sizeof(block), got;
		int err = read_raw(r->fd, r->raw_off, block, want, &got);
		if (err != 0)
			return err;
		if (got == 0)
			return LOFT_EIO;
		r->raw_off += got;
		r->raw_left -= got;
		if (r->convert)
			msg_crlf_run(&r->crlf, block, got, &r->buf);
		else
			msg_buf_append(&r->buf, block, got);
		if (r->skip > 0) {
			size_t drop = r->buf.len < r->skip ? r->buf.len : (size_t)r->skip;
			r->buf_off = drop;
			r->skip -= drop;
		}
	}
	return 0;
}

uint64_t imap_section_left(const struct imap_section_reader *r)
{
	return r->left;
}

void imap_section_close(struct imap_section_reader **rp)
{
	struct imap_section_reader *r = *rp;
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	msg_buf_free(&r->buf);
	free(r);
	*rp = NULL;
}
