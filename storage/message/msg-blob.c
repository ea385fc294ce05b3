/* The cache blob: a parse result as bytes, for the index to keep as an opaque
 * value. Layout: "LM", varint MSG_CACHE_VERSION, varint part count, the part
 * tree in pre-order, the preview. Numbers are LEB128 varints, strings a
 * varint (length + 1, 0 = absent) then the bytes. Reading checks every length
 * against the blob and bounds the depth, so a damaged blob is refused
 * (MSG_ECORRUPT), never trusted; the caller then parses the message again. */
#include "storage/message/msg-internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"

#define BLOB_MAX_DEPTH 1024

enum part_bits {
	BIT_ENVELOPE = 1u << 0,
};

static void put_u(struct msg_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	msg_buf_append(b, tmp, n);
}

static void put_s(struct msg_buf *b, struct msg_str s)
{
	if (s.data == NULL) {
		put_u(b, 0);
		return;
	}
	put_u(b, (uint64_t)s.len + 1);
	msg_buf_append(b, s.data, s.len);
}

static void put_size(struct msg_buf *b, const struct msg_size *s)
{
	put_u(b, s->raw);
	put_u(b, s->virt);
	put_u(b, s->lines);
}

static void put_params(struct msg_buf *b, const struct msg_param *p, uint32_t n)
{
	put_u(b, n);
	for (uint32_t i = 0; i < n; i++) {
		put_s(b, p[i].name);
		put_s(b, p[i].value);
	}
}

static void put_addrs(struct msg_buf *b, const struct msg_addr_list *l)
{
	put_u(b, l->count);
	for (uint32_t i = 0; i < l->count; i++) {
		put_s(b, l->addrs[i].name);
		put_s(b, l->addrs[i].route);
		put_s(b, l->addrs[i].mailbox);
		put_s(b, l->addrs[i].domain);
	}
}

static void put_part(struct msg_buf *b, const struct msg_part *p)
{
	put_u(b, p->flags);
	put_u(b, p->envelope != NULL ? BIT_ENVELOPE : 0);
	put_u(b, p->offset);
	put_size(b, &p->header);
	put_size(b, &p->body);
	put_u(b, (uint64_t)p->cte);
	put_u(b, p->binary_size);
	put_s(b, p->type);
	put_s(b, p->subtype);
	put_params(b, p->params, p->n_params);
	put_s(b, p->id);
	put_s(b, p->description);
	put_s(b, p->encoding);
	put_s(b, p->md5);
	put_s(b, p->disposition);
	put_params(b, p->disp_params, p->n_disp_params);
	put_u(b, p->n_languages);
	for (uint32_t i = 0; i < p->n_languages; i++)
		put_s(b, p->languages[i]);
	put_s(b, p->location);
	if (p->envelope != NULL) {
		const struct msg_envelope *e = p->envelope;
		put_s(b, e->date);
		put_s(b, e->subject);
		put_s(b, e->in_reply_to);
		put_s(b, e->message_id);
		put_addrs(b, &e->from);
		put_addrs(b, &e->sender);
		put_addrs(b, &e->reply_to);
		put_addrs(b, &e->to);
		put_addrs(b, &e->cc);
		put_addrs(b, &e->bcc);
	}
	put_u(b, p->n_children);
	for (const struct msg_part *c = p->children; c != NULL; c = c->next)
		put_part(b, c);
}

void msg_blob_write(const struct msg_info *info, void **blob_r, size_t *len_r)
{
	struct msg_buf b = { 0 };
	msg_buf_append(&b, "LM", 2);
	put_u(&b, MSG_CACHE_VERSION);
	put_u(&b, info->n_parts);
	put_part(&b, info->root);
	put_s(&b, info->preview);
	*len_r = b.len;
	*blob_r = b.data != NULL ? b.data : xmalloc(1);
}

/* ---- reading ---- */

struct rd {
	const unsigned char *p, *end;
	struct msg_arena *a;
	bool bad;
	uint32_t parts;
};

static uint64_t get_u(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			return v;
	}
	r->bad = true;
	return 0;
}

static struct msg_str get_s(struct rd *r)
{
	struct msg_str s = { NULL, 0 };
	uint64_t n = get_u(r);
	if (r->bad || n == 0)
		return s;
	n--;
	if (n > (uint64_t)(r->end - r->p) || n > UINT32_MAX) {
		r->bad = true;
		return s;
	}
	s.data = (const char *)r->p;   /* points into the info's own copy */
	s.len = (uint32_t)n;
	r->p += n;
	return s;
}

/* A count of items each at least min_bytes long must fit in what is left. */
static uint32_t get_count(struct rd *r, size_t min_bytes)
{
	uint64_t n = get_u(r);
	if (r->bad || n > (uint64_t)(r->end - r->p) / min_bytes) {
		r->bad = true;
		return 0;
	}
	return (uint32_t)n;
}

static void get_size(struct rd *r, struct msg_size *s)
{
	s->raw = get_u(r);
	s->virt = get_u(r);
	s->lines = get_u(r);
}

static void get_params(struct rd *r, struct msg_param **p, uint32_t *n)
{
	*n = get_count(r, 2);
	*p = NULL;
	if (r->bad || *n == 0)
		return;
	*p = msg_arena_alloc(r->a, *n * sizeof(**p));
	for (uint32_t i = 0; i < *n && !r->bad; i++) {
		(*p)[i].name = get_s(r);
		(*p)[i].value = get_s(r);
	}
}

static void get_addrs(struct rd *r, struct msg_addr_list *l)
{
	l->count = get_count(r, 4);
	l->present = l->count > 0;
	l->addrs = NULL;
	if (r->bad || l->count == 0)
		return;
	l->addrs = msg_arena_alloc(r->a, l->count * sizeof(*l->addrs));
	for (uint32_t i = 0; i < l->count && !r->bad; i++) {
		l->addrs[i].name = get_s(r);
		l->addrs[i].route = get_s(r);
		l->addrs[i].mailbox = get_s(r);
		l->addrs[i].domain = get_s(r);
	}
}

static struct msg_part *get_part(struct rd *r, struct msg_part *parent, unsigned depth)
{
	if (depth > BLOB_MAX_DEPTH) {
		r->bad = true;
		return NULL;
	}
	struct msg_part *p = msg_arena_alloc(r->a, sizeof(*p));
	p->parent = parent;
	r->parts++;
	p->flags = (uint32_t)get_u(r);
	uint64_t bits = get_u(r);
	p->offset = get_u(r);
	get_size(r, &p->header);
	get_size(r, &p->body);
	uint64_t cte = get_u(r);
	if (cte > MSG_CTE_UNKNOWN)
		r->bad = true;
	p->cte = (enum msg_cte)cte;
	p->binary_size = get_u(r);
	p->type = get_s(r);
	p->subtype = get_s(r);
	get_params(r, &p->params, &p->n_params);
	p->id = get_s(r);
	p->description = get_s(r);
	p->encoding = get_s(r);
	p->md5 = get_s(r);
	p->disposition = get_s(r);
	get_params(r, &p->disp_params, &p->n_disp_params);
	p->n_languages = get_count(r, 1);
	if (!r->bad && p->n_languages > 0) {
		p->languages = msg_arena_alloc(r->a, p->n_languages * sizeof(*p->languages));
		for (uint32_t i = 0; i < p->n_languages && !r->bad; i++)
			p->languages[i] = get_s(r);
	}
	p->location = get_s(r);
	if (bits & BIT_ENVELOPE) {
		struct msg_envelope *e = msg_arena_alloc(r->a, sizeof(*e));
		e->date = get_s(r);
		e->subject = get_s(r);
		e->in_reply_to = get_s(r);
		e->message_id = get_s(r);
		get_addrs(r, &e->from);
		get_addrs(r, &e->sender);
		get_addrs(r, &e->reply_to);
		get_addrs(r, &e->to);
		get_addrs(r, &e->cc);
		get_addrs(r, &e->bcc);
		p->envelope = e;
	}
	uint32_t n = get_count(r, 8);
	struct msg_part *last = NULL;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct msg_part *c = get_part(r, p, depth + 1);
		if (c == NULL)
			break;
		if (last == NULL)
			p->children = c;
		else
			last->next = c;
		last = c;
		p->n_children++;
	}
	if ((p->flags & MSG_PART_MESSAGE) && p->n_children > 1)
		r->bad = true;
	return r->bad ? NULL : p;
}

int msg_blob_read(const void *blob, size_t len, struct msg_info **info_r)
{
	const unsigned char *in = blob;
	*info_r = NULL;
	if (len < 3 || in[0] != 'L' || in[1] != 'M')
		return MSG_ECORRUPT;
	struct msg_arena *a = msg_arena_new();
	unsigned char *copy = msg_arena_alloc(a, len);
	memcpy(copy, blob, len);
	struct rd r = { copy + 2, copy + len, a, false, 0 };
	uint64_t version = get_u(&r);
	if (r.bad || version != MSG_CACHE_VERSION) {
		msg_arena_free(a);
		return r.bad ? MSG_ECORRUPT : MSG_EVERSION;
	}
	uint64_t n_parts = get_u(&r);
	struct msg_info *info = msg_arena_alloc(a, sizeof(*info));
	info->arena = a;
	info->root = get_part(&r, NULL, 0);
	if (!r.bad)
		info->preview = get_s(&r);
	if (r.bad || info->root == NULL || r.p != r.end || n_parts != r.parts) {
		msg_arena_free(a);
		return MSG_ECORRUPT;
	}
	info->n_parts = r.parts;
	*info_r = info;
	return MSG_OK;
}
