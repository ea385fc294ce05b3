/* The streaming MIME parser: bytes in, a tree of parts out. It never holds
 * more than one line start (84 bytes, enough to recognise any boundary) plus
 * the header field being read, so memory does not grow with the message, and
 * every byte is looked at a bounded number of times: linear time.
 *
 * Structure rules (RFC 2045/2046, with the recovery the big servers apply):
 * a boundary line is "--" + a boundary of an open multipart at a line start
 * (the line may go on; the longest, then the innermost, boundary wins); the
 * line end before it belongs to the boundary; "--" after it closes that
 * multipart, and a boundary of an outer multipart closes the inner ones.
 * A header ends at a blank line, at a boundary line or at the end of input.
 * Parts keep raw offsets and CRLF-normalised sizes (IMAP's). */
#include "storage/message/msg-internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/xmem.h"

#define LOOK_MAX (MSG_BOUNDARY_MAX + 4)   /* "--" boundary "--" */
#define NAME_MAX_KEEP 64

struct boundary {
	struct msg_part *part;
	size_t len;
	char str[MSG_BOUNDARY_MAX];
};
struct open_part {
	struct msg_part *part, *last_child;
};
enum pstate { PS_HEADER, PS_BODY, PS_SKIPLINE };

struct msg_parser {
	struct msg_limits lim;
	struct msg_info *info;
	struct msg_arena *a;
	struct msg_part *cur;
	struct open_part *open;
	size_t n_open, cap_open;
	struct boundary *bnd;
	size_t n_bnd, cap_bnd;
	uint64_t offset;            /* raw bytes accounted to parts so far */
	enum pstate st;
	unsigned char last;         /* last accounted byte */

	/* line start gate */
	bool line_start;
	unsigned char look[LOOK_MAX];
	size_t look_len;

	/* body lines while boundaries are open */
	unsigned pending_nl;        /* 0, 1 (LF) or 2 (CRLF) ending the last line */
	bool held_cr;               /* CR at the end of the input so far */
	bool first_line;            /* no line end precedes this line */

	/* header */
	bool field_active, name_done, name_skip, keep;
	enum msg_field_id field;
	struct msg_buf name, value;
	size_t first_line_len;
	bool value_cr;              /* a CR not yet known to end the line */
	unsigned field_nl;          /* line end to insert before a continuation */
	unsigned prev_hdr_nl;       /* line end size of the last header line */
	bool seen_ctype, seen_cte;
	struct msg_ctype_info ci;
	size_t kept;

	struct msg_sink sink;       /* the current leaf's body: sizes, preview */
};

static void push_open(struct msg_parser *p, struct msg_part *part)
{
	if (p->n_open == p->cap_open) {
		p->cap_open = p->cap_open == 0 ? 8 : p->cap_open * 2;
		p->open = xrealloc(p->open, p->cap_open * sizeof(*p->open));
	}
	p->open[p->n_open].part = part;
	p->open[p->n_open].last_child = NULL;
	p->n_open++;
	p->cur = part;
}

static struct msg_part *new_part(struct msg_parser *p, struct msg_part *parent)
{
	struct msg_part *part = msg_arena_alloc(p->a, sizeof(*part));
	part->offset = p->offset;
	part->parent = parent;
	p->info->n_parts++;
	if (parent != NULL) {
		struct open_part *op = &p->open[p->n_open - 1];
		if (op->last_child == NULL)
			parent->children = part;
		else
			op->last_child->next = part;
		op->last_child = part;
		parent->n_children++;
		if (parent->flags & MSG_PART_MULTIPART)
			part->flags |= MSG_PART_IS_MIME;
		if (parent->flags & MSG_PART_MESSAGE)
			part->envelope = msg_arena_alloc(p->a, sizeof(struct msg_envelope));
	} else {
		part->envelope = msg_arena_alloc(p->a, sizeof(struct msg_envelope));
	}
	push_open(p, part);
	p->st = PS_HEADER;
	p->line_start = true;
	p->field_active = false;
	p->prev_hdr_nl = 0;
	p->seen_ctype = false;
	p->seen_cte = false;
	p->pending_nl = 0;
	p->held_cr = false;
	return part;
}

/* ---- accounting ---- */

static void add_body(struct msg_parser *p, const unsigned char *d, size_t n)
{
	if (n == 0)
		return;
	struct msg_size *s = &p->cur->body;
	uint64_t lines = 0, missing_cr = 0;
	const unsigned char *q = d, *end = d + n;
	unsigned char prev = p->last;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		lines++;
		if ((q == d ? prev : q[-1]) != '\r')
			missing_cr++;
		q++;
	}
	if (memchr(d, '\0', n) != NULL)
		p->cur->flags |= MSG_PART_HAS_NUL;
	s->raw += n;
	s->virt += n + missing_cr;
	s->lines += lines;
	p->offset += n;
	p->last = d[n - 1];
	msg_sink_feed(&p->sink, p->cur, d, n);
}

static void add_newline(struct msg_parser *p, unsigned nl)
{
	static const unsigned char crlf[] = "\r\n";
	struct msg_size *s = &p->cur->body;
	s->raw += nl;
	s->virt += 2;
	s->lines++;
	p->offset += nl;
	p->last = '\n';
	msg_sink_feed(&p->sink, p->cur, nl == 2 ? crlf : crlf + 1, nl);
}

static void add_header(struct msg_parser *p, const unsigned char *d, size_t n)
{
	if (n == 0)
		return;
	struct msg_size *s = &p->cur->header;
	const unsigned char *q = d, *end = d + n;
	unsigned char prev = p->last;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		s->lines++;
		if ((q == d ? prev : q[-1]) != '\r')
			s->virt++;
		q++;
	}
	if (memchr(d, '\0', n) != NULL)
		p->cur->flags |= MSG_PART_HAS_NUL;
	s->raw += n;
	s->virt += n;
	p->offset += n;
	p->last = d[n - 1];
}

static void finish_part(struct msg_parser *p)
{
	struct msg_part *part = p->cur;
	if (p->sink.active)
		msg_sink_stop(&p->sink, part);
	else
		part->binary_size = part->body.virt;
	p->n_open--;
	if (p->n_open == 0)
		return;
	struct msg_part *parent = p->open[p->n_open - 1].part;
	parent->body.raw += part->header.raw + part->body.raw;
	parent->body.virt += part->header.virt + part->body.virt;
	parent->body.lines += part->header.lines + part->body.lines;
	p->cur = parent;
}

/* ---- boundaries ---- */

/* The boundary the line in look starts, or NULL. eof: no more input. */
static struct boundary *find_boundary(struct msg_parser *p, bool *close_r)
{
	if (p->n_bnd == 0 || p->look_len < 2 || p->look[0] != '-' || p->look[1] != '-')
		return NULL;
	const unsigned char *d = p->look + 2;
	size_t size = p->look_len - 2;
	/* a boundary only has to begin the line (RFC 2046 5.1.1 allows
	 * trailing blanks; real mail adds more) */
	struct boundary *best = NULL;
	for (size_t i = p->n_bnd; i-- > 0;) {
		struct boundary *b = &p->bnd[i];
		if (b->len <= size && memcmp(b->str, d, b->len) == 0 &&
		    (best == NULL || best->len < b->len))
			best = b;
	}
	if (best != NULL)
		*close_r = size >= best->len + 2 && d[best->len] == '-' && d[best->len + 1] == '-';
	return best;
}

static void look_consume(struct msg_parser *p, size_t n)
{
	memmove(p->look, p->look + n, p->look_len - n);
	p->look_len -= n;
}

static void handle_boundary(struct msg_parser *p, struct boundary *b, bool close)
{
	unsigned nl = p->first_line ? 0 : p->pending_nl;
	struct msg_part *owner = b->part;
	size_t len = b->len;
	p->pending_nl = 0;
	while (p->cur != owner)
		finish_part(p);
	size_t idx = (size_t)(b - p->bnd);
	p->n_bnd = close ? idx : idx + 1;
	if (nl > 0)
		add_newline(p, nl);
	size_t n = 2 + len + (close ? 2 : 0);
	add_body(p, p->look, n);
	look_consume(p, n);
	p->st = PS_SKIPLINE;
	p->line_start = false;
}

/* ---- header fields ---- */

static void finish_field(struct msg_parser *p)
{
	if (!p->field_active)
		return;
	p->field_active = false;
	if (p->value_cr) {
		p->value_cr = false;
		if (p->keep)
			msg_buf_putc(&p->value, '\r');
	}
	if (!p->name_done || p->field == MSG_F_OTHER)
		return;
	struct msg_part *part = p->cur;
	const char *v = p->value.data != NULL ? p->value.data : "";
	size_t len = p->value.len, pos = 0;
	size_t first = p->first_line_len < len ? p->first_line_len : len;
	while (pos < first && (v[pos] == ' ' || v[pos] == '\t'))
		pos++;
	if (pos == first && first > 0)
		pos = 1;   /* the first line is all blanks: drop only one */
	v += pos;
	len -= pos;

	switch (p->field) {
	case MSG_F_MIME_VERSION:
		part->flags |= MSG_PART_IS_MIME;
		break;
	case MSG_F_CONTENT_TYPE:
		part->flags |= MSG_PART_IS_MIME;
		if (!p->seen_ctype) {
			p->seen_ctype = true;
			msg_ctype_classify(v, len, &p->ci);
			part->flags |= p->ci.flags;
		}
		msg_content_field(part, p->a, p->field, v, len);
		break;
	case MSG_F_CONTENT_TRANSFER_ENCODING:
		if (p->seen_cte)
			break;
		p->seen_cte = true;
		/* fall through */
	case MSG_F_CONTENT_ID:
	case MSG_F_CONTENT_DESCRIPTION: case MSG_F_CONTENT_DISPOSITION:
	case MSG_F_CONTENT_LANGUAGE: case MSG_F_CONTENT_LOCATION: case MSG_F_CONTENT_MD5:
		msg_content_field(part, p->a, p->field, v, len);
		break;
	case MSG_F_OTHER: case MSG_F_CONTENT_OTHER:
		break;
	default:
		if (part->envelope != NULL)
			msg_envelope_field(part->envelope, p->a, p->field, v, len);
		break;
	}
}

static void start_field(struct msg_parser *p)
{
	p->field_active = true;
	p->name_done = false;
	p->name_skip = false;
	p->keep = false;
	p->field = MSG_F_OTHER;
	p->name.len = 0;
	p->value.len = 0;
	p->first_line_len = 0;
	p->value_cr = false;
	p->field_nl = 0;
}

static void keep_value(struct msg_parser *p, const unsigned char *d, size_t n)
{
	size_t room = p->lim.max_header_field > p->value.len ?
		p->lim.max_header_field - p->value.len : 0;
	size_t total = p->lim.max_kept > p->kept ? p->lim.max_kept - p->kept : 0;
	if (room > total)
		room = total;
	if (n > room)
		n = room;
	for (size_t i = 0; i < n;) {
		const unsigned char *z = memchr(d + i, '\0', n - i);
		size_t k = z != NULL ? (size_t)(z - (d + i)) : n - i;
		msg_buf_append(&p->value, d + i, k);
		i += k;
		if (z != NULL) {
			msg_buf_append(&p->value, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	p->kept += n;
}

static void name_decided(struct msg_parser *p)
{
	p->name_done = true;
	size_t n = p->name.len;
	while (n > 0 && (p->name.data[n - 1] == ' ' || p->name.data[n - 1] == '\t'))
		n--;
	p->field = p->name_skip ? MSG_F_OTHER : msg_field_lookup(p->name.data, n);
	bool env = p->field >= MSG_F_DATE && p->cur->envelope != NULL;
	p->keep = (p->field >= MSG_F_MIME_VERSION && p->field < MSG_F_CONTENT_OTHER) || env;
}

/* Bytes of a header line (no line end inside) belonging to the field. */
static void field_bytes(struct msg_parser *p, const unsigned char *d, size_t n)
{
	if (!p->field_active || n == 0)
		return;
	if (!p->name_done) {
		const unsigned char *colon = memchr(d, ':', n);
		size_t k = colon != NULL ? (size_t)(colon - d) : n;
		if (!p->name_skip) {
			if (p->name.len + k <= NAME_MAX_KEEP)
				msg_buf_append(&p->name, d, k);
			else
				p->name_skip = true;
		}
		if (colon == NULL)
			return;
		name_decided(p);
		d += k + 1;
		n -= k + 1;
	}
	if (!p->keep || n == 0)
		return;
	if (p->value_cr) {
		keep_value(p, (const unsigned char *)"\r", 1);
		p->value_cr = false;
	}
	if (d[n - 1] == '\r') {
		p->value_cr = true;
		n--;
	}
	keep_value(p, d, n);
}

static void field_line_end(struct msg_parser *p, unsigned nl)
{
	if (p->value_cr)
		p->value_cr = false;   /* the CR was the line end's */
	if (!p->field_active)
		return;
	if (!p->name_done) {
		/* no colon on the field's first line: not a field we read */
		p->name_done = true;
		p->field = MSG_F_OTHER;
		p->keep = false;
	}
	if (p->first_line_len == 0 && p->field_nl == 0)
		p->first_line_len = p->value.len;
	p->field_nl = nl;
}

static void end_of_header(struct msg_parser *p, bool blank);

/* Header bytes after the line start was decided: up to the line end. */
static size_t header_line(struct msg_parser *p, const unsigned char *d, size_t n)
{
	const unsigned char *lf = memchr(d, '\n', n);
	size_t k = lf != NULL ? (size_t)(lf - d) : n;
	unsigned char before = k > 0 ? d[k - 1] : p->last;
	field_bytes(p, d, k);
	add_header(p, d, lf != NULL ? k + 1 : k);
	if (lf != NULL) {
		unsigned nl = before == '\r' ? 2 : 1;
		field_line_end(p, nl);
		p->prev_hdr_nl = nl;
		p->line_start = true;
		return k + 1;
	}
	return k;
}

static void header_line_start(struct msg_parser *p)
{
	bool close;
	struct boundary *b = find_boundary(p, &close);
	if (b != NULL && b->part != p->cur) {
		/* an outer boundary ends this header; the last line end is its */
		struct msg_part *part = p->cur;
		if (p->prev_hdr_nl > 0) {
			struct msg_part *parent = part->parent;
			part->header.lines--;
			part->header.raw -= p->prev_hdr_nl;
			part->header.virt -= 2;
			parent->body.lines++;
			parent->body.raw += p->prev_hdr_nl;
			parent->body.virt += 2;
		}
		finish_field(p);
		end_of_header(p, false);
		return;
	}
	if (p->look[0] == '\n' || (p->look[0] == '\r' && p->look_len > 1 && p->look[1] == '\n')) {
		size_t n = p->look[0] == '\n' ? 1 : 2;
		finish_field(p);
		add_header(p, p->look, n);
		look_consume(p, n);
		end_of_header(p, true);
		return;
	}
	if ((p->look[0] == ' ' || p->look[0] == '\t') && p->field_active) {
		if (p->keep && p->field_nl > 0)
			keep_value(p, (const unsigned char *)"\r\n" + (p->field_nl == 2 ? 0 : 1),
				   p->field_nl);
	} else {
		finish_field(p);
		start_field(p);
	}
	p->line_start = false;
	size_t used = header_line(p, p->look, p->look_len);
	look_consume(p, used);
}

static bool limits_allow_child(const struct msg_parser *p)
{
	return p->n_open < p->lim.max_depth + 1 && p->info->n_parts < p->lim.max_parts;
}

static void end_of_header(struct msg_parser *p, bool blank)
{
	struct msg_part *part = p->cur;
	if ((part->flags & MSG_PART_IS_MIME) == 0) {
		part->flags &= MSG_PART_HAS_NUL;
		msg_content_forget(part);
	}
	if (!p->seen_ctype || (part->flags & MSG_PART_IS_MIME) == 0) {
		if (part->parent != NULL && (part->parent->flags & MSG_PART_DIGEST))
			part->flags |= MSG_PART_MESSAGE;
		else
			part->flags |= MSG_PART_TEXT;
	}
	p->st = PS_BODY;
	p->line_start = true;
	p->first_line = true;
	p->pending_nl = 0;
	p->held_cr = false;
	if (part->flags & MSG_PART_MULTIPART) {
		if (blank && p->seen_ctype && p->ci.has_boundary && (part->flags & MSG_PART_IS_MIME)) {
			if (p->n_open < p->lim.max_depth + 1) {
				if (p->n_bnd == p->cap_bnd) {
					p->cap_bnd = p->cap_bnd == 0 ? 4 : p->cap_bnd * 2;
					p->bnd = xrealloc(p->bnd, p->cap_bnd * sizeof(*p->bnd));
				}
				struct boundary *b = &p->bnd[p->n_bnd++];
				b->part = part;
				b->len = p->ci.boundary.len;
				memcpy(b->str, p->ci.boundary.data != NULL ? p->ci.boundary.data : "", b->len);
			} else {
				part->flags |= MSG_PART_LIMITED;
			}
		}
		return;
	}
	if (part->flags & MSG_PART_MESSAGE) {
		if (limits_allow_child(p)) {
			(void)new_part(p, part);
			return;
		}
		part->flags |= MSG_PART_LIMITED;
	}
	msg_sink_start(&p->sink, part);
}

/* ---- body ---- */

static void body_line_start(struct msg_parser *p)
{
	bool close;
	struct boundary *b = find_boundary(p, &close);
	if (b != NULL) {
		handle_boundary(p, b, close);
		return;
	}
	if (p->pending_nl > 0) {
		add_newline(p, p->pending_nl);
		p->pending_nl = 0;
	}
	p->first_line = false;
	p->line_start = false;
}

/* Body bytes inside a line while boundaries are open: up to the line end,
 * which is held back (it may belong to a boundary). */
static size_t body_line(struct msg_parser *p, const unsigned char *d, size_t n)
{
	if (p->held_cr) {
		p->held_cr = false;
		if (d[0] == '\n') {
			p->pending_nl = 2;
			p->line_start = true;
			return 1;
		}
		add_body(p, (const unsigned char *)"\r", 1);
	}
	const unsigned char *lf = memchr(d, '\n', n);
	if (lf == NULL) {
		size_t k = n;
		if (d[n - 1] == '\r') {
			p->held_cr = true;
			k--;
		}
		add_body(p, d, k);
		return n;
	}
	size_t k = (size_t)(lf - d);
	if (k > 0 && d[k - 1] == '\r') {
		add_body(p, d, k - 1);
		p->pending_nl = 2;
	} else {
		add_body(p, d, k);
		p->pending_nl = 1;
	}
	p->line_start = true;
	return k + 1;
}

static size_t skip_line(struct msg_parser *p, const unsigned char *d, size_t n)
{
	const unsigned char *lf = memchr(d, '\n', n);
	size_t k = lf != NULL ? (size_t)(lf - d) + 1 : n;
	add_body(p, d, k);
	if (lf == NULL)
		return k;
	/* the boundary line is over: a new part, or more of the multipart */
	if (p->n_bnd > 0 && p->bnd[p->n_bnd - 1].part == p->cur &&
	    p->info->n_parts < p->lim.max_parts) {
		(void)new_part(p, p->cur);
		p->cur->flags |= MSG_PART_IS_MIME;
	} else {
		p->st = PS_BODY;
		p->line_start = true;
		p->first_line = true;
		p->pending_nl = 0;
	}
	return k;
}

/* ---- driver ---- */

/* A held CR and line end are content after all: no boundary can follow. */
static void flush_held(struct msg_parser *p)
{
	if (p->held_cr) {
		p->held_cr = false;
		add_body(p, (const unsigned char *)"\r", 1);
	}
	if (p->pending_nl > 0) {
		add_newline(p, p->pending_nl);
		p->pending_nl = 0;
	}
}

/* Run the line start gate of the current state over look (complete). */
static void gate(struct msg_parser *p)
{
	if (p->st == PS_HEADER)
		header_line_start(p);
	else
		body_line_start(p);
}

static bool need_gate(const struct msg_parser *p)
{
	if (!p->line_start)
		return false;
	if (p->st == PS_HEADER)
		return true;
	return p->st == PS_BODY && p->n_bnd > 0;
}

static bool look_ready(const struct msg_parser *p)
{
	return p->look_len >= LOOK_MAX || memchr(p->look, '\n', p->look_len) != NULL;
}

/* Process what is in look after the gate decided, as ordinary input. */
static size_t step(struct msg_parser *p, const unsigned char *d, size_t n)
{
	switch (p->st) {
	case PS_HEADER:
		return header_line(p, d, n);
	case PS_SKIPLINE:
		return skip_line(p, d, n);
	case PS_BODY:
		if (p->n_bnd == 0) {
			flush_held(p);
			add_body(p, d, n);
			return n;
		}
		if (p->line_start) {
			/* reached only at end of input with a short line */
			body_line_start(p);
			return 0;
		}
		return body_line(p, d, n);
	}
	return n;
}

static void drain_look(struct msg_parser *p, bool eof)
{
	while (p->look_len > 0) {
		if (need_gate(p)) {
			if (!eof && !look_ready(p))
				return;
			gate(p);
			continue;
		}
		size_t used = step(p, p->look, p->look_len);
		look_consume(p, used);
	}
}

void msg_parser_feed(struct msg_parser *p, const void *data, size_t len)
{
	const unsigned char *d = data;
	while (len > 0) {
		if (need_gate(p)) {
			/* gather a line start */
			size_t want = LOOK_MAX - p->look_len;
			size_t span = len < want ? len : want;
			const unsigned char *lf = memchr(d, '\n', span);
			size_t k = lf != NULL ? (size_t)(lf - d) + 1 : span;
			memcpy(p->look + p->look_len, d, k);
			p->look_len += k;
			d += k;
			len -= k;
			drain_look(p, false);
			continue;
		}
		size_t used = step(p, d, len);
		d += used;
		len -= used;
	}
}

struct msg_parser *msg_parser_new(const struct msg_limits *limits)
{
	struct msg_parser *p = xcalloc(1, sizeof(*p));
	if (limits != NULL)
		p->lim = *limits;
	else
		msg_limits_default(&p->lim);
	if (p->lim.max_parts < 1)
		p->lim.max_parts = 1;
	p->a = msg_arena_new();
	p->info = msg_arena_alloc(p->a, sizeof(*p->info));
	p->info->arena = p->a;
	p->last = '\n';
	p->info->root = new_part(p, NULL);
	return p;
}

void msg_parser_free(struct msg_parser **pp)
{
	struct msg_parser *p = *pp;
	if (p == NULL)
		return;
	msg_sink_free(&p->sink);
	msg_buf_free(&p->name);
	msg_buf_free(&p->value);
	msg_buf_free(&p->ci.boundary);
	free(p->open);
	free(p->bnd);
	if (p->a != NULL)
		msg_arena_free(p->a);
	free(p);
	*pp = NULL;
}

struct msg_info *msg_parser_finish(struct msg_parser **pp)
{
	struct msg_parser *p = *pp;
	drain_look(p, true);
	/* a message/rfc822 header may open a child, whose header ends too */
	while (p->st == PS_HEADER) {
		finish_field(p);
		end_of_header(p, false);
	}
	flush_held(p);
	while (p->n_open > 0)
		finish_part(p);

	struct msg_info *info = p->info;
	info->preview = msg_sink_preview(&p->sink, p->a);
	p->a = NULL;   /* now owned by info */
	msg_parser_free(pp);
	return info;
}

struct msg_info *msg_parse_buffer(const void *data, size_t len, const struct msg_limits *limits)
{
	struct msg_parser *p = msg_parser_new(limits);
	msg_parser_feed(p, data, len);
	return msg_parser_finish(&p);
}

int msg_parse_fd(int fd, const struct msg_limits *limits, struct msg_info **info_r)
{
	struct msg_parser *p = msg_parser_new(limits);
	unsigned char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg_parser_free(&p);
			return MSG_EIO;
		}
		if (n == 0)
			break;
		msg_parser_feed(p, buf, (size_t)n);
	}
	*info_r = msg_parser_finish(&p);
	return MSG_OK;
}
