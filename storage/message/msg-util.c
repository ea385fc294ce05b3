/* Small shared pieces of storage/message/: the arena a parse result lives in,
 * the growable buffer, default limits, error names, and UTF-8 clean-up. */
#include "storage/message/msg-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "lib/xmem.h"

#define ARENA_BLOCK (16u * 1024u)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};
struct msg_arena {
	struct arena_block *head;
};

struct msg_arena *msg_arena_new(void)
{
	return xcalloc(1, sizeof(struct msg_arena));
}

void *msg_arena_alloc(struct msg_arena *a, size_t size)
{
	size = (size + 15u) & ~(size_t)15u;
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < size) {
		size_t bsize = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + bsize);
		b->used = 0;
		b->size = bsize;
		if (size > ARENA_BLOCK / 4 && a->head != NULL) {
			/* a big one-off: keep filling the current block */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

struct msg_str msg_arena_str(struct msg_arena *a, const void *data, size_t len)
{
	struct msg_str s;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	char *p = msg_arena_alloc(a, len + 1);
	if (len > 0)
		memcpy(p, data, len);
	s.data = p;
	s.len = (uint32_t)len;
	return s;
}

void msg_arena_free(struct msg_arena *a)
{
	if (a == NULL)
		return;
	while (a->head != NULL) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
	free(a);
}

void msg_buf_append(struct msg_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (b->cap - b->len < len + 1) {
		size_t cap = b->cap < 64 ? 64 : b->cap;
		while (cap - b->len < len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void msg_buf_putc(struct msg_buf *b, char c)
{
	msg_buf_append(b, &c, 1);
}

void msg_buf_puts(struct msg_buf *b, const char *s)
{
	msg_buf_append(b, s, strlen(s));
}

void msg_buf_printf(struct msg_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		msg_buf_append(b, tmp, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	msg_buf_append(b, big, (size_t)n);
	free(big);
}

void msg_buf_free(struct msg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void msg_limits_default(struct msg_limits *lim)
{
	lim->max_parts = MSG_DEFAULT_MAX_PARTS;
	lim->max_depth = MSG_DEFAULT_MAX_DEPTH;
	lim->max_header_field = MSG_DEFAULT_MAX_HEADER_FIELD;
	lim->max_kept = MSG_DEFAULT_MAX_KEPT;
}

const char *msg_strerror(int err)
{
	switch (err) {
	case MSG_OK: return "ok";
	case MSG_ENOENT: return "no such part";
	case MSG_EVERSION: return "cache blob of another version";
	case MSG_ECORRUPT: return "cache blob damaged";
	case MSG_EIO: return "I/O error";
	case MSG_EUNKNOWN_CTE: return "unknown content-transfer-encoding";
	case MSG_EINVAL: return "invalid argument";
	}
	return "unknown error";
}

void msg_info_free(struct msg_info **info)
{
	if (*info == NULL)
		return;
	struct msg_arena *a = (*info)->arena;
	msg_arena_free(a);   /* the info itself lives in its arena */
	*info = NULL;
}

uint64_t msg_info_size(const struct msg_info *info)
{
	return info->root->header.virt + info->root->body.virt;
}

bool msg_str_eq(struct msg_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.data != NULL && s.len == n && strncasecmp(s.data, lit, n) == 0;
}

struct msg_str msg_part_charset(const struct msg_part *part)
{
	struct msg_str none = { NULL, 0 };
	for (uint32_t i = 0; i < part->n_params; i++)
		if (msg_str_eq(part->params[i].name, "charset"))
			return part->params[i].value;
	return none;
}

size_t msg_utf8_sanitize(const unsigned char *in, size_t len, bool partial_ok, struct msg_buf *out)
{
	static const char repl[] = "\xEF\xBF\xBD";
	size_t i = 0, start = 0;
	if (len == 0)
		return 0;
	while (i < len) {
		if (in[i] < 0x80) {
			i++;
			continue;
		}
		size_t need = in[i] >= 0xF0 ? 4 : in[i] >= 0xE0 ? 3 : in[i] >= 0xC0 ? 2 : 1;
		if (partial_ok && len - i < need && need > 1) {
			/* maybe completed by the next call */
			bool prefix_ok = true;
			for (size_t k = i + 1; k < len; k++)
				if ((in[k] & 0xC0) != 0x80)
					prefix_ok = false;
			if (prefix_ok) {
				msg_buf_append(out, in + start, i - start);
				return len - i;
			}
		}
		unsigned char tmp[5] = { 0 };
		size_t avail = len - i < 4 ? len - i : 4;
		memcpy(tmp, in + i, avail);
		uint32_t cp;
		size_t n = utf8_decode(tmp, &cp);
		if (n == 0 || n > avail) {
			msg_buf_append(out, in + start, i - start);
			msg_buf_append(out, repl, 3);
			i++;
			start = i;
			continue;
		}
		i += n;
	}
	msg_buf_append(out, in + start, len - start);
	return 0;
}
