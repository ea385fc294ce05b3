/* Section addressing (RFC 3501 / RFC 9051 section 6.4.5): from part numbers
 * and a kind to a byte range of the message file, so BODY[...] and BINARY[...]
 * are served by seeking, never by parsing again. A number picks the n-th part
 * of a multipart; a non-multipart only has part 1 (itself); when more numbers
 * follow a message/rfc822 part, they count inside the encapsulated message. */
#include "storage/message/msg-internal.h"

static void whole(const struct msg_part *p, struct msg_range *r)
{
	r->offset = p->offset;
	r->raw_size = p->header.raw + p->body.raw;
	r->size = p->header.virt + p->body.virt;
}

static void header_of(const struct msg_part *p, struct msg_range *r)
{
	r->offset = p->offset;
	r->raw_size = p->header.raw;
	r->size = p->header.virt;
}

static void body_of(const struct msg_part *p, struct msg_range *r)
{
	r->offset = p->offset + p->header.raw;
	r->raw_size = p->body.raw;
	r->size = p->body.virt;
}

int msg_section(const struct msg_info *info, const uint32_t *path, size_t depth,
		enum msg_section_kind kind, struct msg_range *range_r,
		const struct msg_part **part_r)
{
	const struct msg_part *p = info->root;
	for (size_t i = 0; i < depth; i++) {
		uint32_t n = path[i];
		if (n == 0)
			return MSG_ENOENT;
		if (p->flags & MSG_PART_MULTIPART) {
			p = p->children;
			while (p != NULL && --n > 0)
				p = p->next;
			if (p == NULL)
				return MSG_ENOENT;
		} else if (n != 1 || (i + 1 < depth && !(p->flags & MSG_PART_MESSAGE))) {
			return MSG_ENOENT;
		}
		/* more numbers follow: they count inside the encapsulated message */
		if (i + 1 < depth && (p->flags & MSG_PART_MESSAGE)) {
			if (p->children == NULL)
				return MSG_ENOENT;
			p = p->children;
		}
	}
	if (part_r != NULL)
		*part_r = p;
	switch (kind) {
	case MSG_SECTION_BODY:
		if (depth == 0)
			whole(p, range_r);
		else
			body_of(p, range_r);
		return MSG_OK;
	case MSG_SECTION_MIME:
		if (depth == 0)
			return MSG_ENOENT;
		header_of(p, range_r);
		return MSG_OK;
	case MSG_SECTION_HEADER:
	case MSG_SECTION_TEXT:
		if (depth > 0) {
			if ((p->flags & MSG_PART_MESSAGE) == 0 || p->children == NULL)
				return MSG_ENOENT;
			p = p->children;
		}
		if (kind == MSG_SECTION_HEADER)
			header_of(p, range_r);
		else
			body_of(p, range_r);
		return MSG_OK;
	}
	return MSG_EINVAL;
}

enum msg_cte msg_binary_cte(const struct msg_part *part)
{
	if ((part->flags & MSG_PART_MULTIPART) ||
	    ((part->flags & MSG_PART_MESSAGE) && !(part->flags & MSG_PART_LIMITED)))
		return MSG_CTE_BINARY;
	return part->cte;
}
