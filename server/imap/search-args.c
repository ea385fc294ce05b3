/* IMAP search keys to a search program (see search-args.h). One table row
 * per key: its name, the parser of its arguments and what it builds. Every
 * key builds exactly one node, so NOT, OR and parenthesised lists nest
 * without special cases. Sequence numbers beyond the mailbox select
 * nothing (as other servers do) instead of failing the SEARCH. */
#include "server/imap/search-args.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/caps.h"
#include "server/imap/search-modseq.h"
#include "server/imap/seqset.h"
#include "server/imap/uidonly.h"


struct sp {
	const struct imap_search_env *env;
	struct imap_search_parse *out;
	struct store_search *prog;
	const char *charset;          /* NULL: UTF-8 (the default, RFC 6855) */
	unsigned depth;
};

struct key_def;
typedef int key_fn(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		   size_t *i, struct store_search_node *parent);

struct key_def {
	const char *name;
	key_fn *parse;
	enum store_search_kind kind;
	uint32_t flag;                /* FLAGS keys */
	bool negate;                  /* UN... keys */
	const char *field;            /* address keys */
};

static int fail(struct sp *p, const char *why)
{
	p->out->why = why;
	return -1;
}

static const struct imap_arg *next_arg(struct sp *p, const struct imap_arg *a, size_t n,
				       size_t *i, const char *why)
{
	if (*i >= n) {
		fail(p, why);
		return NULL;
	}
	return &a[(*i)++];
}

/* An astring argument converted to UTF-8 (heap). */
static int string_arg(struct sp *p, const struct imap_arg *a, size_t n, size_t *i, char **s_r,
		      size_t *len_r)
{
	const struct imap_arg *s = next_arg(p, a, n, i, "Search key needs a string.");
	if (s == NULL)
		return -1;
	if (s->type == IMAP_ARG_LIST || s->str == NULL)
		return fail(p, "Search key needs a string.");
	const char *cs = p->charset != NULL ? p->charset : "UTF-8";
	if (store_search_charset_utf8(cs, s->str, s->len, s_r, len_r) < 0) {
		p->out->no = p->charset != NULL && strcasecmp(cs, "UTF-8") != 0;
		if (p->out->no)
			return fail(p, "The string is not valid in its charset.");
		return fail(p, "The string is not valid UTF-8.");
	}
	return 0;
}

static struct store_search_node *add(struct sp *p, struct store_search_node *parent,
				     enum store_search_kind kind)
{
	return store_search_add(p->prog, parent, kind);
}

static int key_simple(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		      size_t *i, struct store_search_node *parent)
{
	(void)a;
	(void)n;
	(void)i;
	if (k->negate)
		parent = add(p, parent, STORE_SEARCH_NOT);
	struct store_search_node *node = add(p, parent, k->kind);
	node->flags = k->flag;
	return 0;
}

static int key_recent(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		      size_t *i, struct store_search_node *parent)
{
	(void)a;
	(void)n;
	(void)i;
	/* NEW = RECENT UNSEEN, OLD = NOT RECENT (RFC 3501 6.4.4); no message
	 * is \Recent for an IMAP4rev2 session */
	struct store_search_node *g = parent;
	if (strcmp(k->name, "NEW") == 0)
		g = add(p, parent, STORE_SEARCH_AND);
	else if (strcmp(k->name, "OLD") == 0)
		g = add(p, parent, STORE_SEARCH_NOT);
	if (p->env->recent_ok && !p->env->rev2) {
		add(p, g, STORE_SEARCH_RECENT);
	} else {
		struct store_search_node *none = add(p, g, STORE_SEARCH_NOT);
		add(p, none, STORE_SEARCH_ALL);
	}
	if (strcmp(k->name, "NEW") == 0) {
		struct store_search_node *unseen = add(p, g, STORE_SEARCH_NOT);
		add(p, unseen, STORE_SEARCH_FLAGS)->flags = STORE_FLAG_SEEN;
	}
	return 0;
}

static int key_keyword(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		       size_t *i, struct store_search_node *parent)
{
	const struct imap_arg *kw = next_arg(p, a, n, i, "KEYWORD needs a flag name.");
	if (kw == NULL)
		return -1;
	if (kw->type != IMAP_ARG_ATOM || kw->str[0] == '\0' || strlen(kw->str) != kw->len)
		return fail(p, "KEYWORD needs a flag name.");
	for (const unsigned char *c = (const unsigned char *)kw->str; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f || strchr("(){%*\"]", *c) != NULL)
			return fail(p, "Invalid keyword.");
	if (k->negate)
		parent = add(p, parent, STORE_SEARCH_NOT);
	struct store_search_node *node;
	if (kw->str[0] == '\\') {
		/* a system flag named as a keyword matches nothing */
		node = add(p, parent, STORE_SEARCH_NOT);
		add(p, node, STORE_SEARCH_ALL);
		return 0;
	}
	node = add(p, parent, STORE_SEARCH_KEYWORD);
	store_search_set_str(node, NULL, kw->str, kw->len);
	return 0;
}

/* MODSEQ [entry-name entry-type] n (RFC 7162 3.1.5; search-modseq.h): the
 * store keeps one MODSEQ per message, which stands for every entry's. */
static int key_modseq(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		      size_t *i, struct store_search_node *parent)
{
	struct imap_search_modseq key;
	size_t used = 0;
	const char *why = NULL;
	/* a[*i - 1] is the word MODSEQ itself */
	if (imap_search_modseq_parse(&a[*i - 1], n - (*i - 1), &key, &used, &why) < 0)
		return fail(p, why);
	*i += used - 1;
	add(p, parent, k->kind)->num = key.modseq;
	return 0;
}

/* EMAILID / THREADID objectid (RFC 8474 6): 1*255 of [A-Za-z0-9_-]. */
static int key_objectid(struct sp *p, const struct key_def *k, const struct imap_arg *a,
			size_t n, size_t *i, struct store_search_node *parent)
{
	const struct imap_arg *id = next_arg(p, a, n, i, "Search key needs an object id.");
	if (id == NULL)
		return -1;
	if (id->type != IMAP_ARG_ATOM || id->len == 0 || id->len > 255 ||
	    strlen(id->str) != id->len)
		return fail(p, "Invalid object id.");
	for (const char *c = id->str; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return fail(p, "Invalid object id.");
	store_search_set_str(add(p, parent, k->kind), NULL, id->str, id->len);
	return 0;
}

static int key_text(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		    size_t *i, struct store_search_node *parent)
{
	char *field = NULL;
	if (k->kind == STORE_SEARCH_HEADER) {
		const struct imap_arg *f = next_arg(p, a, n, i, "HEADER needs a field name.");
		if (f == NULL)
			return -1;
		if (f->type == IMAP_ARG_LIST || f->str == NULL || f->len == 0 ||
		    strlen(f->str) != f->len)
			return fail(p, "HEADER needs a field name.");
		for (const unsigned char *c = (const unsigned char *)f->str; *c != '\0'; c++)
			if (*c <= 0x20 || *c >= 0x7f || *c == ':')
				return fail(p, "Invalid header field name.");
		field = f->str;
	}
	char *s;
	size_t len;
	if (string_arg(p, a, n, i, &s, &len) < 0)
		return -1;
	/* FROM "" etc.: every message that has the field, even empty (its
	 * envelope list is NIL then), as HEADER <field> "" */
	enum store_search_kind kind = k->kind == STORE_SEARCH_ADDRESS && len == 0
		? STORE_SEARCH_HEADER : k->kind;
	struct store_search_node *node = add(p, parent, kind);
	store_search_set_str(node, field != NULL ? field : k->field, s, len);
	free(s);
	return 0;
}

static int key_date(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		    size_t *i, struct store_search_node *parent)
{
	const struct imap_arg *d = next_arg(p, a, n, i, "Search key needs a date.");
	int64_t t;
	if (d == NULL)
		return -1;
	if (d->type == IMAP_ARG_LIST || d->str == NULL || imap_parse_date(d->str, &t) < 0)
		return fail(p, "Invalid date (expected d-Mon-yyyy).");
	add(p, parent, k->kind)->day = store_search_day_of(t);
	return 0;
}

static int key_number(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		      size_t *i, struct store_search_node *parent)
{
	const struct imap_arg *d = next_arg(p, a, n, i, "Search key needs a number.");
	if (d == NULL)
		return -1;
	if (d->type != IMAP_ARG_ATOM || d->str[0] == '\0')
		return fail(p, "Search key needs a number.");
	uint64_t v = 0;
	for (const char *c = d->str; *c != '\0'; c++) {
		uint64_t digit = (uint64_t)(*c - '0');
		if (!isdigit((unsigned char)*c) || v > (UINT64_MAX - digit) / 10)
			return fail(p, "Invalid number.");
		v = v * 10 + digit;
	}
	if (v == 0 && (k->kind == STORE_SEARCH_OLDER || k->kind == STORE_SEARCH_YOUNGER))
		return fail(p, "The interval must be at least one second.");
	add(p, parent, k->kind)->num = v;
	return 0;
}

/* Message numbers to UIDs, clipped to the view. */
static void resolve_seqs(struct sp *p, const struct imap_seqset *set, struct store_uid_set *out)
{
	const struct store_view *v = p->env->view;
	uint32_t count = store_view_count(v);
	if (count == 0)
		return;
	struct store_uid_set tmp = { 0 };
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->r[i].a ? set->r[i].a : count;
		uint32_t b = set->r[i].b ? set->r[i].b : count;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (a > count)
			continue;
		if (b > count)
			b = count;
		struct store_uid_set one = { 0 };
		store_view_uid_ranges(v, a, b, &one);
		/* merge one into tmp (both sorted) */
		struct store_uid_set m = { 0 };
		size_t x = 0, y = 0;
		while (x < tmp.count || y < one.count) {
			struct store_uid_range r = y >= one.count ||
				(x < tmp.count && tmp.ranges[x].lo < one.ranges[y].lo)
				? tmp.ranges[x++] : one.ranges[y++];
			if (m.count > 0 && (uint64_t)r.lo <= (uint64_t)m.ranges[m.count - 1].hi + 1) {
				if (r.hi > m.ranges[m.count - 1].hi)
					m.ranges[m.count - 1].hi = r.hi;
			} else {
				store_uid_set_push_range(&m, r.lo, r.hi);
			}
		}
		store_uid_set_free(&tmp);
		store_uid_set_free(&one);
		tmp = m;
	}
	*out = tmp;
}

static int range_cmp(const void *x, const void *y)
{
	const struct store_uid_range *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* A UID set as written, without a view: "*" is the largest UID there is;
 * ranges sorted and merged as store_uid_set_has needs them. */
static void raw_uids(const struct imap_seqset *set, struct store_uid_set *out)
{
	struct store_uid_range *r = xcalloc(set->n + 1, sizeof(*r));
	for (size_t i = 0; i < set->n; i++) {
		uint32_t a = set->r[i].a ? set->r[i].a : UINT32_MAX;
		uint32_t b = set->r[i].b ? set->r[i].b : UINT32_MAX;
		r[i].lo = a < b ? a : b;
		r[i].hi = a < b ? b : a;
	}
	qsort(r, set->n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < set->n; i++) {
		struct store_uid_range *last = out->count > 0 ? &out->ranges[out->count - 1] : NULL;
		if (last != NULL && (uint64_t)r[i].lo <= (uint64_t)last->hi + 1) {
			if (r[i].hi > last->hi)
				last->hi = r[i].hi;
		} else {
			store_uid_set_push_range(out, r[i].lo, r[i].hi);
		}
	}
	free(r);
}

static int set_node(struct sp *p, const char *text, bool by_uid, struct store_search_node *parent)
{
	struct imap_seqset set;
	if (imap_seqset_parse(text, &set) < 0)
		return fail(p, "Invalid message set.");
	if (p->env->no_seqs && !set.saved && !by_uid) {
		imap_seqset_free(&set);
		p->out->code = "UIDREQUIRED";
		return fail(p, IMAP_UIDONLY_WHY);
	}
	if (p->env->uids_only && (set.saved || !by_uid)) {
		imap_seqset_free(&set);
		return fail(p, "Only UIDs can name messages of several mailboxes.");
	}
	struct store_search_node *node = add(p, parent, STORE_SEARCH_UIDS);
	if (p->env->uids_only) {
		raw_uids(&set, &node->uids);
	} else if (set.saved) {
		p->out->uses_saved = true;
		const struct store_uid_set *s = p->env->saved;
		for (size_t i = 0; s != NULL && i < s->count; i++)
			store_uid_set_push_range(&node->uids, s->ranges[i].lo, s->ranges[i].hi);
	} else if (p->env->view != NULL) {
		if (by_uid) {
			const char *why;
			(void)imap_seqset_resolve(&set, true, p->env->view, NULL, &node->uids, &why);
		} else {
			resolve_seqs(p, &set, &node->uids);
		}
	}
	imap_seqset_free(&set);
	return 0;
}

static int key_uid(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		   size_t *i, struct store_search_node *parent)
{
	(void)k;
	const struct imap_arg *s = next_arg(p, a, n, i, "UID needs a message set.");
	if (s == NULL)
		return -1;
	if (s->type != IMAP_ARG_ATOM || strlen(s->str) != s->len)
		return fail(p, "Invalid message set.");
	return set_node(p, s->str, true, parent);
}

static int parse_key(struct sp *p, const struct imap_arg *a, size_t n, size_t *i,
		     struct store_search_node *parent);

static int key_not(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		   size_t *i, struct store_search_node *parent)
{
	(void)k;
	if (*i >= n)
		return fail(p, "NOT needs a search key.");
	return parse_key(p, a, n, i, add(p, parent, STORE_SEARCH_NOT));
}

static int key_or(struct sp *p, const struct key_def *k, const struct imap_arg *a, size_t n,
		  size_t *i, struct store_search_node *parent)
{
	(void)k;
	struct store_search_node *or = add(p, parent, STORE_SEARCH_OR);
	for (int side = 0; side < 2; side++) {
		if (*i >= n)
			return fail(p, "OR needs two search keys.");
		if (parse_key(p, a, n, i, or) < 0)
			return -1;
	}
	return 0;
}

#define FLAG(n, bit, neg) { n, key_simple, STORE_SEARCH_FLAGS, bit, neg, NULL }
#define TEXT(n, kind, field) { n, key_text, kind, 0, false, field }

/* The keys of RFC 9051 6.4.4 and RFC 3501 6.4.4, and the extensions':
 * MODSEQ (CONDSTORE, RFC 7162 3.1.5; out->uses_modseq follows it), EMAILID
 * and THREADID (OBJECTID, RFC 8474 6). */
static const struct key_def keys[] = {
	{ "ALL", key_simple, STORE_SEARCH_ALL, 0, false, NULL },
	FLAG("ANSWERED", STORE_FLAG_ANSWERED, false),
	FLAG("DELETED", STORE_FLAG_DELETED, false),
	FLAG("DRAFT", STORE_FLAG_DRAFT, false),
	FLAG("FLAGGED", STORE_FLAG_FLAGGED, false),
	FLAG("SEEN", STORE_FLAG_SEEN, false),
	FLAG("UNANSWERED", STORE_FLAG_ANSWERED, true),
	FLAG("UNDELETED", STORE_FLAG_DELETED, true),
	FLAG("UNDRAFT", STORE_FLAG_DRAFT, true),
	FLAG("UNFLAGGED", STORE_FLAG_FLAGGED, true),
	FLAG("UNSEEN", STORE_FLAG_SEEN, true),
	{ "RECENT", key_recent, STORE_SEARCH_RECENT, 0, false, NULL },
	{ "NEW", key_recent, STORE_SEARCH_RECENT, 0, false, NULL },
	{ "OLD", key_recent, STORE_SEARCH_RECENT, 0, false, NULL },
	{ "KEYWORD", key_keyword, STORE_SEARCH_KEYWORD, 0, false, NULL },
	{ "UNKEYWORD", key_keyword, STORE_SEARCH_KEYWORD, 0, true, NULL },
	TEXT("BCC", STORE_SEARCH_ADDRESS, "Bcc"),
	TEXT("CC", STORE_SEARCH_ADDRESS, "Cc"),
	TEXT("FROM", STORE_SEARCH_ADDRESS, "From"),
	TEXT("TO", STORE_SEARCH_ADDRESS, "To"),
	TEXT("SUBJECT", STORE_SEARCH_SUBJECT, "Subject"),
	TEXT("BODY", STORE_SEARCH_BODY, NULL),
	TEXT("TEXT", STORE_SEARCH_TEXT, NULL),
	TEXT("HEADER", STORE_SEARCH_HEADER, NULL),
	{ "BEFORE", key_date, STORE_SEARCH_BEFORE, 0, false, NULL },
	{ "ON", key_date, STORE_SEARCH_ON, 0, false, NULL },
	{ "SINCE", key_date, STORE_SEARCH_SINCE, 0, false, NULL },
	{ "SENTBEFORE", key_date, STORE_SEARCH_SENTBEFORE, 0, false, NULL },
	{ "SENTON", key_date, STORE_SEARCH_SENTON, 0, false, NULL },
	{ "SENTSINCE", key_date, STORE_SEARCH_SENTSINCE, 0, false, NULL },
	{ "LARGER", key_number, STORE_SEARCH_LARGER, 0, false, NULL },
	{ "SMALLER", key_number, STORE_SEARCH_SMALLER, 0, false, NULL },
	{ "UID", key_uid, STORE_SEARCH_UIDS, 0, false, NULL },
	{ "NOT", key_not, STORE_SEARCH_NOT, 0, false, NULL },
	{ "OR", key_or, STORE_SEARCH_OR, 0, false, NULL },
};

/* Keys of the extensions a session may switch off (caps.h). */
static const struct {
	struct key_def def;
	unsigned cap;
} ext_keys[] = {
	/* WITHIN (RFC 5032 3): an interval in seconds before now */
	{ { "MODSEQ", key_modseq, STORE_SEARCH_MODSEQ, 0, false, NULL }, IMAP_CAP_CONDSTORE },
	{ { "EMAILID", key_objectid, STORE_SEARCH_EMAILID, 0, false, NULL }, IMAP_CAP_OBJECTID },
	{ { "THREADID", key_objectid, STORE_SEARCH_THREADID, 0, false, NULL }, IMAP_CAP_OBJECTID },
	{ { "OLDER", key_number, STORE_SEARCH_OLDER, 0, false, NULL }, IMAP_CAP_WITHIN },
	{ { "YOUNGER", key_number, STORE_SEARCH_YOUNGER, 0, false, NULL }, IMAP_CAP_WITHIN },
	/* SAVEDATE (RFC 8514 4.3); every mailbox keeps save dates */
	{ { "SAVEDBEFORE", key_date, STORE_SEARCH_SAVEDBEFORE, 0, false, NULL }, IMAP_CAP_SAVEDATE },
	{ { "SAVEDON", key_date, STORE_SEARCH_SAVEDON, 0, false, NULL }, IMAP_CAP_SAVEDATE },
	{ { "SAVEDSINCE", key_date, STORE_SEARCH_SAVEDSINCE, 0, false, NULL }, IMAP_CAP_SAVEDATE },
	{ { "SAVEDATESUPPORTED", key_simple, STORE_SEARCH_ALL, 0, false, NULL },
	  IMAP_CAP_SAVEDATE },
};

static int parse_list(struct sp *p, const struct imap_arg *a, size_t n,
		      struct store_search_node *parent)
{
	if (n == 0)
		return fail(p, "Empty search key list.");
	size_t i = 0;
	while (i < n)
		if (parse_key(p, a, n, &i, parent) < 0)
			return -1;
	return 0;
}

static int parse_key(struct sp *p, const struct imap_arg *a, size_t n, size_t *i,
		     struct store_search_node *parent)
{
	const struct imap_arg *k = &a[(*i)++];
	if (++p->depth > p->env->max_depth) {
		p->depth--;
		return fail(p, "Search keys nested too deeply.");
	}
	int r;
	if (k->type == IMAP_ARG_LIST) {
		r = parse_list(p, k->list, k->list_count, add(p, parent, STORE_SEARCH_AND));
	} else if (k->type != IMAP_ARG_ATOM) {
		r = fail(p, "Search key expected.");
	} else if (isdigit((unsigned char)k->str[0]) || k->str[0] == '*' || k->str[0] == '$') {
		r = strlen(k->str) == k->len ? set_node(p, k->str, false, parent)
					     : fail(p, "Invalid message set.");
	} else {
		const struct key_def *def = NULL;
		for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (strcasecmp(keys[j].name, k->str) == 0)
				def = &keys[j];
		for (size_t j = 0; j < sizeof(ext_keys) / sizeof(ext_keys[0]); j++)
			if (strcasecmp(ext_keys[j].def.name, k->str) == 0 &&
			    (ext_keys[j].cap & p->env->caps_off) == 0)
				def = &ext_keys[j].def;
		r = def != NULL ? def->parse(p, def, a, n, i, parent)
				: fail(p, "Unknown search key.");
	}
	p->depth--;
	return r;
}

/* "lo:hi" of PARTIAL (RFC 5267 4.4): two non-zero numbers, either order. */
static int parse_partial(const struct imap_arg *a, uint32_t *lo_r, uint32_t *hi_r)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	uint64_t v[2] = { 0, 0 };
	const char *p = a->str;
	for (int k = 0; k < 2; k++) {
		if (*p < '1' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
			if (v[k] > UINT32_MAX)
				return -1;
		}
		if (k == 0 && *p++ != ':')
			return -1;
	}
	if (*p != '\0')
		return -1;
	*lo_r = (uint32_t)(v[0] < v[1] ? v[0] : v[1]);
	*hi_r = (uint32_t)(v[0] < v[1] ? v[1] : v[0]);
	return 0;
}

/* RETURN (...) of RFC 4731 3.1, RFC 5182 2 and RFC 5267 4. */
int imap_search_parse_return(const struct imap_arg *l, struct imap_search_parse *out)
{
	if (l->type != IMAP_ARG_LIST) {
		out->why = "RETURN needs a list of options.";
		return -1;
	}
	static const struct { const char *name; unsigned bit; } opts[] = {
		{ "MIN", IMAP_SRET_MIN }, { "MAX", IMAP_SRET_MAX }, { "ALL", IMAP_SRET_ALL },
		{ "COUNT", IMAP_SRET_COUNT }, { "SAVE", IMAP_SRET_SAVE },
		{ "UPDATE", IMAP_SRET_UPDATE }, { "CONTEXT", IMAP_SRET_CONTEXT },
		{ "PARTIAL", IMAP_SRET_PARTIAL },
	};
	out->have_return = true;
	for (size_t i = 0; i < l->list_count; i++) {
		const struct imap_arg *o = &l->list[i];
		unsigned bit = 0;
		for (size_t k = 0; o->type == IMAP_ARG_ATOM && k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strcasecmp(o->str, opts[k].name) == 0)
				bit = opts[k].bit;
		if (bit == 0 || (out->ret & bit) != 0) {
			out->why = bit == 0 ? "Unknown RETURN option." : "RETURN option given twice.";
			return -1;
		}
		if (bit == IMAP_SRET_PARTIAL) {
			if (i + 1 >= l->list_count ||
			    parse_partial(&l->list[i + 1], &out->partial_lo, &out->partial_hi) < 0) {
				out->why = "PARTIAL needs a range like 1:100.";
				return -1;
			}
			i++;
		}
		out->ret |= bit;
	}
	if ((out->ret & IMAP_SRET_PARTIAL) && (out->ret & IMAP_SRET_ALL)) {
		out->why = "PARTIAL and ALL cannot be combined.";
		return -1;
	}
	/* RETURN () means RETURN (ALL) (RFC 4731 3.1); so does UPDATE or
	 * CONTEXT alone: the updates need the set they change */
	if ((out->ret & (IMAP_SRET_MIN | IMAP_SRET_MAX | IMAP_SRET_ALL | IMAP_SRET_COUNT |
			 IMAP_SRET_SAVE | IMAP_SRET_PARTIAL)) == 0)
		out->ret |= IMAP_SRET_ALL;
	return 0;
}

static bool charset_known(const char *cs)
{
	char *tmp;
	size_t len;
	if (store_search_charset_utf8(cs, "a", 1, &tmp, &len) < 0)
		return false;
	free(tmp);
	return true;
}

int imap_search_parse(const struct imap_search_env *env, enum imap_search_form form,
		      const struct imap_arg *args, size_t n, struct imap_search_parse *out)
{
	memset(out, 0, sizeof(*out));
	struct sp p = { .env = env, .out = out };
	size_t i = 0;
	out->prog = store_search_new();
	p.prog = out->prog;
	if (form == IMAP_SEARCH_FORM_SEARCH && i + 1 < n && args[i].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[i].str, "RETURN") == 0) {
		if (imap_search_parse_return(&args[i + 1], out) < 0)
			goto fail;
		i += 2;
	}
	bool need_charset = form != IMAP_SEARCH_FORM_SEARCH;
	if (need_charset || (i + 1 < n && args[i].type == IMAP_ARG_ATOM &&
			     strcasecmp(args[i].str, "CHARSET") == 0)) {
		if (!need_charset)
			i++;
		if (i >= n || args[i].type == IMAP_ARG_LIST || args[i].str == NULL) {
			fail(&p, "A charset name is needed.");
			goto fail;
		}
		const char *cs = args[i++].str;
		/* RFC 6855 3 (errata 4029): no CHARSET after UTF8=ACCEPT, and
		 * only UTF-8 for SORT/THREAD */
		if (env->utf8_accept && (!need_charset || strcasecmp(cs, "UTF-8") != 0)) {
			fail(&p, "No CHARSET other than UTF-8 after ENABLE UTF8=ACCEPT.");
			goto fail;
		}
		if (!charset_known(cs)) {
			out->no = true;
			out->code = "BADCHARSET (" IMAP_SEARCH_CHARSETS ")";
			fail(&p, "Unknown charset.");
			goto fail;
		}
		p.charset = cs;
		/* SORT/THREAD: RETURN (...) after the charset is read as before the
		 * sort criteria (the form some clients and test suites send) */
		if (form == IMAP_SEARCH_FORM_SORT && !out->have_return && i + 1 < n &&
		    args[i].type == IMAP_ARG_ATOM && strcasecmp(args[i].str, "RETURN") == 0) {
			if (imap_search_parse_return(&args[i + 1], out) < 0)
				goto fail;
			i += 2;
		}
	}
	if (i >= n) {
		fail(&p, "Search criteria expected.");
		goto fail;
	}
	while (i < n)
		if (parse_key(&p, args, n, &i, NULL) < 0)
			goto fail;
	out->uses_modseq = store_search_uses(out->prog, STORE_SEARCH_MODSEQ);
	return 0;
fail:
	store_search_free(&out->prog);
	return -1;
}

void imap_search_parse_free(struct imap_search_parse *p)
{
	store_search_free(&p->prog);
}
