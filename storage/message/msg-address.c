/* RFC 5322 address lists (From, To, Cc, ...) for ENVELOPE: mailboxes, name
 * addresses, groups and the obsolete route syntax, parsed leniently. What does
 * not parse still yields an entry, with the placeholders MISSING_MAILBOX,
 * MISSING_DOMAIN, SYNTAX_ERROR and INVALID_ROUTE that IMAP servers commonly
 * use, so a client sees that something was there. One left-to-right pass:
 * linear in the field length. */
#include "storage/message/msg-internal.h"

#include <string.h>

#include "lib/xmem.h"

struct cur_addr {
	struct msg_str name, route, mailbox, domain;
	bool invalid;
};

struct addr_ctx {
	struct msg_lex lex;
	struct msg_arena *a;
	struct msg_buf str, comment;
	struct cur_addr cur;
	struct msg_addr *v;
	size_t n, cap;
};

static const struct msg_str nil = { NULL, 0 };

static struct msg_str lit(const char *s)
{
	struct msg_str r = { s, (uint32_t)strlen(s) };
	return r;
}

static struct msg_str keep(struct addr_ctx *c, const struct msg_buf *b)
{
	return msg_arena_str(c->a, b->data != NULL ? b->data : "", b->len);
}

static void add_address(struct addr_ctx *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 4 : c->cap * 2;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].name = c->cur.name;
	c->v[c->n].route = c->cur.route;
	c->v[c->n].mailbox = c->cur.mailbox;
	c->v[c->n].domain = c->cur.domain;
	c->n++;
	memset(&c->cur, 0, sizeof(c->cur));
}

static void add_fixed(struct addr_ctx *c)
{
	if (c->cur.mailbox.data == NULL)
		c->cur.mailbox = lit("MISSING_MAILBOX");
	if (c->cur.domain.data == NULL || c->cur.domain.len == 0)
		c->cur.domain = lit("MISSING_DOMAIN");
	add_address(c);
}

static int local_part(struct addr_ctx *c)
{
	int r;
	c->str.len = 0;
	if (*c->lex.p == '"')
		r = msg_lex_quoted(&c->lex, &c->str);
	else
		r = msg_lex_dot_atom(&c->lex, &c->str);
	if (r < 0)
		return -1;
	c->cur.mailbox = keep(c, &c->str);
	return r;
}

static int domain(struct addr_ctx *c)
{
	c->str.len = 0;
	int r = msg_lex_domain(&c->lex, &c->str);
	if (r < 0)
		return -1;
	c->cur.domain = keep(c, &c->str);
	return r;
}

static int domain_list(struct addr_ctx *c)
{
	/* obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain) */
	c->str.len = 0;
	for (;;) {
		if (c->lex.p >= c->lex.end)
			return 0;
		if (*c->lex.p != '@')
			break;
		if (c->str.len > 0)
			msg_buf_putc(&c->str, ',');
		msg_buf_putc(&c->str, '@');
		int r = msg_lex_domain(&c->lex, &c->str);
		if (r <= 0)
			return r;
		while (msg_lex_skip_ws(&c->lex) > 0 && *c->lex.p == ',')
			c->lex.p++;
	}
	c->cur.route = keep(c, &c->str);
	return 1;
}

static int angle_addr(struct addr_ctx *c)
{
	c->lex.p++;   /* '<' */
	if (msg_lex_skip_ws(&c->lex) <= 0)
		return -1;
	if (*c->lex.p == '@') {
		if (domain_list(c) > 0 && *c->lex.p == ':') {
			c->lex.p++;
		} else {
			c->cur.route = lit("INVALID_ROUTE");
			if (c->lex.p >= c->lex.end)
				return -1;
		}
		if (msg_lex_skip_ws(&c->lex) <= 0)
			return -1;
	}
	if (*c->lex.p != '>') {
		if (local_part(c) <= 0)
			return -1;
		if (*c->lex.p == '@' && domain(c) <= 0)
			return -1;
	}
	if (*c->lex.p != '>')
		return -1;
	c->lex.p++;
	return msg_lex_skip_ws(&c->lex);
}

static int name_addr(struct addr_ctx *c)
{
	c->str.len = 0;
	if (msg_lex_phrase(&c->lex, &c->str) <= 0 || *c->lex.p != '<')
		return -1;
	c->cur.name = c->str.len > 0 ? keep(c, &c->str) : nil;
	if (angle_addr(c) < 0) {
		c->cur.domain = lit("SYNTAX_ERROR");
		c->cur.invalid = true;
	}
	return c->lex.p < c->lex.end ? 1 : 0;
}

static int addr_spec(struct addr_ctx *c)
{
	int r, r2 = -2;
	c->comment.len = 0;
	bool quoted = *c->lex.p == '"';
	r = local_part(c);
	if (r <= 0)
		c->cur.invalid = true;
	if (r != 0 && c->lex.p < c->lex.end && *c->lex.p == '@') {
		r2 = domain(c);
		if (r2 <= 0)
			r = r2;
	}
	if (c->comment.len > 0) {
		c->cur.name = keep(c, &c->comment);
	} else if (r2 == -2) {
		/* "user" without @domain: a mailbox, unless more words follow,
		 * which make it a display name */
		msg_buf_putc(&c->str, ' ');
		size_t before = c->str.len;
		(void)msg_lex_phrase(&c->lex, &c->str);
		if (c->str.len != before) {
			c->cur.mailbox = nil;
			c->cur.name = keep(c, &c->str);
		} else if (!quoted) {
			c->cur.domain = lit("");
		}
		c->cur.invalid = true;
		r = -1;
	}
	return r;
}

static int mailbox(struct addr_ctx *c)
{
	const unsigned char *start = c->lex.p;
	int r = name_addr(c);
	if (r < 0) {
		c->lex.p = start;
		r = addr_spec(c);
		if (c->cur.invalid && c->cur.name.data == NULL &&
		    c->cur.mailbox.data != NULL && c->cur.domain.data == NULL) {
			c->cur.name = c->cur.mailbox;
			c->cur.mailbox = nil;
		}
	}
	add_fixed(c);
	return r;
}

static int group(struct addr_ctx *c)
{
	int r;
	c->str.len = 0;
	if (msg_lex_phrase(&c->lex, &c->str) <= 0 || *c->lex.p != ':')
		return -1;
	c->lex.p++;
	r = msg_lex_skip_ws(&c->lex);
	c->cur.mailbox = keep(c, &c->str);
	add_address(c);
	if (r > 0 && *c->lex.p != ';') {
		for (;;) {
			(void)mailbox(c);
			if (c->lex.p >= c->lex.end || *c->lex.p != ',')
				break;
			c->lex.p++;
			if (msg_lex_skip_ws(&c->lex) <= 0) {
				r = -1;
				break;
			}
		}
	}
	if (r >= 0) {
		if (c->lex.p >= c->lex.end || *c->lex.p != ';') {
			r = -1;
		} else {
			c->lex.p++;
			r = msg_lex_skip_ws(&c->lex);
		}
	}
	add_address(c);
	return r == 0 ? 0 : 1;
}

static int address(struct addr_ctx *c)
{
	const unsigned char *start = c->lex.p;
	int r = group(c);
	if (r < 0) {
		c->lex.p = start;
		r = mailbox(c);
	}
	return r;
}

static size_t capacity(size_t n)
{
	size_t cap = 4;
	while (cap < n)
		cap *= 2;
	return cap;
}

void msg_addr_parse(const char *value, size_t len, struct msg_arena *a,
		    struct msg_addr_list *list_r)
{
	struct addr_ctx c;
	memset(&c, 0, sizeof(c));
	c.a = a;
	msg_lex_init(&c.lex, value, len);
	c.lex.last_comment = &c.comment;

	if (msg_lex_skip_ws(&c.lex) > 0) {
		for (;;) {
			if (address(&c) == 0)
				break;
			if (c.lex.p >= c.lex.end || *c.lex.p != ',')
				break;
			c.lex.p++;
			int r = msg_lex_skip_ws(&c.lex);
			if (r <= 0) {
				if (r < 0)
					add_fixed(&c);   /* ends with garbage */
				break;
			}
		}
	}
	/* a repeated field adds its addresses to the earlier ones */
	list_r->present = true;
	if (c.n > 0) {
		/* arrays are sized in powers of two: appending stays linear */
		size_t old = list_r->count, cap = capacity(old), want = old + c.n;
		if (list_r->addrs == NULL || want > cap) {
			struct msg_addr *all = msg_arena_alloc(a, capacity(want) * sizeof(struct msg_addr));
			if (old > 0)
				memcpy(all, list_r->addrs, old * sizeof(struct msg_addr));
			list_r->addrs = all;
		}
		memcpy(list_r->addrs + old, c.v, c.n * sizeof(struct msg_addr));
		list_r->count = (uint32_t)want;
	}
	free(c.v);
	msg_buf_free(&c.str);
	msg_buf_free(&c.comment);
}

/* Addresses of any header field for filters (Sieve's address test): the
 * same parse as ENVELOPE's; group markers and the entries that carry a
 * placeholder (what did not parse) are left out. */
size_t msg_address_each(const char *value, size_t len, msg_address_cb *cb, void *ctx,
			bool *groups_r)
{
	if (groups_r != NULL)
		*groups_r = false;
	struct msg_arena *a = msg_arena_new();
	struct msg_addr_list list;
	memset(&list, 0, sizeof(list));
	msg_addr_parse(value, len, a, &list);
	size_t n = 0;
	for (uint32_t i = 0; i < list.count; i++) {
		const struct msg_addr *ad = &list.addrs[i];
		if (ad->domain.data == NULL) {
			if (groups_r != NULL)
				*groups_r = true;
			continue; /* a group's start or end */
		}
		if (ad->mailbox.data == NULL || msg_str_eq(ad->mailbox, "MISSING_MAILBOX") ||
		    msg_str_eq(ad->mailbox, "SYNTAX_ERROR") || msg_str_eq(ad->domain, "MISSING_DOMAIN") ||
		    msg_str_eq(ad->domain, "SYNTAX_ERROR") || msg_str_eq(ad->domain, "INVALID_ROUTE"))
			continue; /* what did not parse */
		n++;
		if (cb != NULL)
			cb(ad->mailbox.data, ad->mailbox.len, ad->domain.data, ad->domain.len, ctx);
	}
	msg_arena_free(a);
	return n;
}
