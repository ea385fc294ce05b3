/* DATA and BDAT readers (see data-reader.h). One byte-driven state machine
 * over the position in a line serves both: DATA adds the held-back dot at a
 * line start (stuffing, or the end of the data after a real CRLF), BDAT
 * counts bytes instead. Verbatim runs of input go to the sink as one slice;
 * only what the reader changes (a dropped dot or NUL, an inserted CR or LF)
 * splits them. After the first error nothing more is emitted, but the state
 * machine keeps running to find the end. */
#include "server/net/data-reader.h"

#include <string.h>

#include "lib/error.h"

enum { MODE_IDLE, MODE_DOT, MODE_CHUNK };

enum {
	L_START,   /* at the start of a line */
	L_TEXT,    /* inside a line */
	L_CR,      /* after a CR (already part of the output) */
	L_DOT,     /* DATA: a "." at a line start, held back */
	L_DOT_CR,  /* DATA: ".\r" at a line start, held back */
};

/* Where the bytes of one feed go: [span, i) is verbatim output not yet given
 * to the sink. */
struct feed {
	struct data_reader *r;
	const char *data;
	size_t span;
};

static void fail(struct data_reader *r, enum data_error e)
{
	if (r->error == DATA_ERR_NONE)
		r->error = e;
}

/* The first of n bytes (offset k) that goes over `limit` when `have` are
 * counted already: fails with e when it is earlier than *first. */
static void over(uint64_t limit, uint64_t have, uint64_t n, enum data_error e,
		 uint64_t *first, enum data_error *err)
{
	uint64_t k = limit > have ? limit - have : 0;
	if (k < n && k < *first) {
		*first = k;
		*err = e;
	}
}

/* Count n bytes that each add one octet to the line, to what the client
 * sent and to the output (as the flags say), failing at the first byte over
 * a limit: errors are tied to input positions, so every split of the input
 * gives the same one. */
static void count(struct data_reader *r, uint64_t n, bool line, bool recv, bool out)
{
	if (n == 0)
		return;
	if (r->error == DATA_ERR_NONE) {
		uint64_t first = UINT64_MAX;
		enum data_error e = DATA_ERR_NONE;
		if (out && r->lim.max_size != 0)
			over(r->lim.max_size, r->size, n, DATA_ERR_TOO_BIG, &first, &e);
		if (recv && r->lim.declared_size != 0)
			over(r->lim.declared_size, r->received, n, DATA_ERR_OVER_DECLARED,
			     &first, &e);
		if (line && r->lim.max_line != 0)
			over(r->lim.max_line > 2 ? r->lim.max_line - 2 : 0, r->line_len, n,
			     DATA_ERR_LINE_TOO_LONG, &first, &e);
		if (e != DATA_ERR_NONE)
			fail(r, e);
	}
	if (line)
		r->line_len += n;
	if (recv)
		r->received += n;
	if (out)
		r->size += n;
}

/* Give bytes to the sink, unless the message failed already. */
static void emit(struct data_reader *r, const char *p, size_t n)
{
	if (n == 0 || r->error != DATA_ERR_NONE)
		return;
	int e = r->sink(r->sink_ctx, p, n);
	if (e < 0) {
		r->sink_error = e;
		fail(r, DATA_ERR_SINK);
	}
}

/* Give [span, i) to the sink and start the next span at `next`. */
static void flush(struct feed *f, size_t i, size_t next)
{
	emit(f->r, f->data + f->span, i - f->span);
	f->span = next;
}

/* Output bytes the reader adds (a CR or LF for a bare line ending). */
static void insert(struct feed *f, size_t i, const char *p, size_t n)
{
	count(f->r, n, false, false, true);
	flush(f, i, i);
	emit(f->r, p, n);
}

static void new_line(struct data_reader *r, bool after_crlf)
{
	r->state = L_START;
	r->crlf_start = after_crlf;
	r->line_len = 0;
}

/* A CR that no LF follows, before byte i (which is looked at again). The CR
 * itself is counted and output (in the span) unless it was held after a
 * dot. */
static void bare_cr(struct feed *f, size_t i, bool cr_held)
{
	struct data_reader *r = f->r;
	if (cr_held)
		count(r, 1, false, true, false); /* output below as CRLF */
	if (r->lim.bare_newline == DATA_NEWLINE_REJECT)
		fail(r, DATA_ERR_BARE_CR);
	else
		insert(f, i, cr_held ? "\r\n" : "\n", cr_held ? 2 : 1);
	new_line(r, false);
}

/* Inside a line from byte i: skip ordinary bytes, then handle one special
 * byte. Returns the index of the next byte to look at. */
static size_t text(struct feed *f, size_t i, size_t end)
{
	struct data_reader *r = f->r;
	const unsigned char *d = (const unsigned char *)f->data;
	size_t j = i;
	while (j < end && d[j] != '\r' && d[j] != '\n' && d[j] != '\0')
		j++;
	count(r, j - i, true, true, true);
	if (j == end)
		return j;
	switch (d[j]) {
	case '\r':
		count(r, 1, false, true, true);
		r->state = L_CR;
		return j + 1;
	case '\n':
		count(r, 1, false, true, true);
		if (r->lim.bare_newline == DATA_NEWLINE_REJECT) {
			fail(r, DATA_ERR_BARE_LF);
			new_line(r, false);
			return j + 1;
		}
		insert(f, j, "\r", 1);   /* the LF starts the next span */
		new_line(r, false);
		return j + 1;
	default: /* NUL */
		if (r->lim.nul == DATA_NUL_REJECT) {
			count(r, 1, true, true, true);
			fail(r, DATA_ERR_NUL);
		} else if (r->lim.nul == DATA_NUL_STRIP) {
			count(r, 1, false, true, false);
			flush(f, j, j + 1);
		} else {
			count(r, 1, true, true, true);
		}
		return j + 1;
	}
}

/* Run the line machine over data[0..end). Returns true when DATA ended;
 * *at_r is then the index just past the terminator. */
static bool run(struct feed *f, size_t end, size_t *at_r)
{
	struct data_reader *r = f->r;
	const char *d = f->data;
	size_t i = 0;
	while (i < end) {
		switch (r->state) {
		case L_START:
			if (r->mode == MODE_DOT && d[i] == '.') {
				flush(f, i, i + 1);  /* held: stuffing or the end */
				r->state = L_DOT;
				i++;
			} else {
				r->state = L_TEXT;
			}
			break;
		case L_TEXT:
			i = text(f, i, end);
			break;
		case L_CR:
			if (d[i] == '\n') {
				count(r, 1, false, true, true);
				new_line(r, true);
				i++;
			} else {
				bare_cr(f, i, false);
			}
			break;
		case L_DOT:
			if (d[i] == '\r') {
				r->state = L_DOT_CR;
				f->span = ++i;
			} else {
				r->state = L_TEXT;   /* the dot was stuffing */
			}
			break;
		case L_DOT_CR:
			if (d[i] == '\n' && r->crlf_start) {
				*at_r = i + 1;
				return true;
			}
			f->span = i;
			if (d[i] == '\n') {
				/* "." alone after a bare newline: content, an
				 * empty line once unstuffed; never the end. */
				count(r, 2, false, true, true);
				emit(r, "\r\n", 2);
				f->span = i + 1;
				new_line(r, true);
				i++;
			} else {
				bare_cr(f, i, true);
			}
			break;
		}
	}
	return false;
}

/* The message is complete: what a final CR of a BDAT message becomes. */
static void finish(struct feed *f, size_t at)
{
	struct data_reader *r = f->r;
	flush(f, at, at);
	if (r->mode == MODE_CHUNK && r->state == L_CR) {
		if (r->lim.bare_newline == DATA_NEWLINE_REJECT)
			fail(r, DATA_ERR_BARE_CR);
		else
			insert(f, at, "\n", 1);
	}
	r->mode = MODE_IDLE;
}

enum data_result data_reader_feed(struct data_reader *r, const char *data, size_t len,
				  size_t *consumed_r)
{
	struct feed f = { .r = r, .data = data, .span = 0 };
	*consumed_r = 0;
	if (r->mode == MODE_IDLE)
		return DATA_DONE;
	if (r->mode == MODE_DOT) {
		size_t at;
		if (run(&f, len, &at)) {
			finish(&f, f.span);  /* ".\r\n" was held, never output */
			*consumed_r = at;
			return DATA_DONE;
		}
		flush(&f, len, len);
		*consumed_r = len;
		return DATA_NEED_MORE;
	}
	size_t end = r->chunk_left < len ? (size_t)r->chunk_left : len;
	size_t unused;
	if (r->lim.binary)
		count(r, end, false, true, true);
	else
		(void)run(&f, end, &unused);
	r->chunk_left -= end;
	*consumed_r = end;
	if (r->chunk_left > 0 || !r->last_chunk) {
		flush(&f, end, end);
		return r->chunk_left > 0 ? DATA_NEED_MORE : DATA_CHUNK_DONE;
	}
	finish(&f, end);
	return DATA_DONE;
}

void data_reader_init(struct data_reader *r, const struct data_reader_limits *lim,
		      data_sink_fn *sink, void *sink_ctx)
{
	memset(r, 0, sizeof(*r));
	r->lim = *lim;
	r->sink = sink;
	r->sink_ctx = sink_ctx;
	r->mode = MODE_IDLE;
	new_line(r, true);
}

void data_reader_begin_dot(struct data_reader *r)
{
	r->mode = MODE_DOT;
	new_line(r, true);
}

void data_reader_begin_chunk(struct data_reader *r, uint64_t n, bool last)
{
	r->mode = MODE_CHUNK;
	r->chunk_left = n;
	r->last_chunk = last;
}

enum data_error data_reader_error(const struct data_reader *r)
{
	return r->error;
}

int data_reader_sink_error(const struct data_reader *r)
{
	return r->sink_error;
}

uint64_t data_reader_size(const struct data_reader *r)
{
	return r->size;
}

const char *data_error_reply(enum data_error err)
{
	switch (err) {
	case DATA_ERR_NONE:
		return NULL;
	case DATA_ERR_TOO_BIG:
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	case DATA_ERR_OVER_DECLARED:
		return "552 5.3.4 Message larger than the declared SIZE";
	case DATA_ERR_LINE_TOO_LONG:
		return "500 5.5.2 Line too long";
	case DATA_ERR_BARE_LF:
		return "550 5.6.2 Bare LF received; lines must end with CRLF";
	case DATA_ERR_BARE_CR:
		return "550 5.6.2 Bare CR received; lines must end with CRLF";
	case DATA_ERR_NUL:
		return "550 5.6.0 NUL byte in message";
	case DATA_ERR_SINK:
		return "451 4.3.0 Local error while storing the message";
	}
	return "451 4.3.0 Local error";
}

const char *data_error_name(enum data_error err)
{
	static const char *const names[] = {
		[DATA_ERR_NONE] = "none",
		[DATA_ERR_TOO_BIG] = "too-big",
		[DATA_ERR_OVER_DECLARED] = "over-declared-size",
		[DATA_ERR_LINE_TOO_LONG] = "line-too-long",
		[DATA_ERR_BARE_LF] = "bare-lf",
		[DATA_ERR_BARE_CR] = "bare-cr",
		[DATA_ERR_NUL] = "nul",
		[DATA_ERR_SINK] = "sink",
	};
	return (unsigned)err < sizeof(names) / sizeof(names[0]) ? names[err] : "?";
}

void data_reader_limits_from_config(const struct loft_config *cfg, uint64_t declared_size,
				    struct data_reader_limits *lim_r)
{
	memset(lim_r, 0, sizeof(*lim_r));
	lim_r->max_line = cfg->data_max_line_length;
	lim_r->max_size = cfg->max_literal_size;
	lim_r->declared_size = declared_size;
	lim_r->bare_newline = cfg->data_bare_newline;
	lim_r->nul = cfg->data_nul_bytes;
}
