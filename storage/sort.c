/* SORT (RFC 5256 3, RFC 5957): each added message gets one key value per
 * criterion — a number (ARRIVAL, DATE, SIZE) or a casemapped string (the
 * others, "" when the field is missing) — read from the index record and,
 * only when a criterion needs it, the cached parse. Sorting is a stable
 * comparison of the keys in criterion order, ties by UID. */
#include "storage/sort.h"

#include <stdlib.h>
#include <string.h>

#include "lib/casemap.h"
#include "lib/xmem.h"
#include "storage/search-private.h"

union sort_val {
	int64_t num;
	char *str;
};

struct sort_item {
	uint32_t uid;
	union sort_val v[];
};

struct store_sort {
	struct store_mailbox *mbox;
	struct store_sort_crit *crit;
	size_t n_crit;
	bool need_info;
	struct sort_item **items;
	size_t n, cap;
};

static bool is_num(enum store_sort_key k)
{
	return k == STORE_SORT_ARRIVAL || k == STORE_SORT_DATE || k == STORE_SORT_SIZE;
}

struct store_sort *store_sort_new(struct store_mailbox *mbox, const struct store_sort_crit *crit,
				  size_t n_crit)
{
	struct store_sort *s = xcalloc(1, sizeof(*s));
	s->mbox = mbox;
	s->crit = xmalloc((n_crit ? n_crit : 1) * sizeof(*crit));
	memcpy(s->crit, crit, n_crit * sizeof(*crit));
	s->n_crit = n_crit;
	for (size_t i = 0; i < n_crit; i++)
		if (crit[i].key != STORE_SORT_ARRIVAL && crit[i].key != STORE_SORT_SIZE)
			s->need_info = true;
	return s;
}

static void item_free(const struct store_sort *s, struct sort_item *it)
{
	for (size_t i = 0; i < s->n_crit; i++)
		if (!is_num(s->crit[i].key))
			free(it->v[i].str);
	free(it);
}

void store_sort_free(struct store_sort **sp)
{
	struct store_sort *s = *sp;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		item_free(s, s->items[i]);
	free(s->items);
	free(s->crit);
	free(s);
	*sp = NULL;
}

static int scan_cb(const struct store_msg *m, void *ctx)
{
	struct store_sort *s = ctx;
	struct sort_item *it = xcalloc(1, sizeof(*it) + s->n_crit * sizeof(union sort_val));
	it->uid = m->uid;
	for (size_t i = 0; i < s->n_crit; i++) {
		switch (s->crit[i].key) {
		case STORE_SORT_ARRIVAL:
		case STORE_SORT_DATE:
			it->v[i].num = m->internal_date;
			break;
		case STORE_SORT_SIZE:
			it->v[i].num = (int64_t)m->vsize;
			break;
		default:
			break;
		}
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
	}
	s->items[s->n++] = it;
	return 0;
}

static char *casemapped(const char *data, size_t len)
{
	struct casemap_buf b = { 0 };
	casemap_utf8(data != NULL ? data : "", len, &b);
	char *r = xmalloc(b.len + 1);
	if (b.len > 0)
		memcpy(r, b.data, b.len);
	r[b.len] = '\0';
	casemap_buf_free(&b);
	return r;
}

/* The first address of a list as the ENVELOPE shows it: a group's start
 * (its name as addr-mailbox) counts (RFC 5256 3: "addr-mailbox of the
 * first address"). */
static const struct msg_addr *first_addr(const struct msg_addr_list *l)
{
	for (uint32_t i = 0; i < l->count; i++)
		if (l->addrs[i].mailbox.data != NULL)
			return &l->addrs[i];
	return NULL;
}

static char *addr_key(const struct msg_addr_list *l, bool display)
{
	const struct msg_addr *a = l != NULL ? first_addr(l) : NULL;
	if (a == NULL)
		return xstrdup("");
	struct msg_buf b = { 0 };
	if (display && a->name.data != NULL && a->name.len > 0) {
		msg_rfc2047_decode(a->name.data, a->name.len, &b);
	} else if (display) {
		/* RFC 5957 2: no display name: the addr-spec */
		if (a->mailbox.data != NULL)
			msg_buf_append(&b, a->mailbox.data, a->mailbox.len);
		if (a->domain.data != NULL) {
			msg_buf_putc(&b, '@');
			msg_buf_append(&b, a->domain.data, a->domain.len);
		}
	} else if (a->mailbox.data != NULL) {
		msg_buf_append(&b, a->mailbox.data, a->mailbox.len);
	}
	char *r = casemapped(b.data, b.len);
	msg_buf_free(&b);
	return r;
}

static void fill_info(struct store_sort *s, struct sort_item *it, const struct msg_envelope *env)
{
	for (size_t i = 0; i < s->n_crit; i++) {
		union sort_val *v = &it->v[i];
		switch (s->crit[i].key) {
		case STORE_SORT_DATE: {
			struct search_date d;
			if (env != NULL && env->date.data != NULL &&
			    search_date_parse(env->date.data, env->date.len, &d) == 0)
				v->num = d.utc;
			break;
		}
		case STORE_SORT_SUBJECT: {
			struct msg_buf b = { 0 };
			if (env != NULL && env->subject.data != NULL)
				store_base_subject(env->subject.data, env->subject.len, &b, NULL);
			v->str = casemapped(b.data, b.len);
			msg_buf_free(&b);
			break;
		}
		case STORE_SORT_FROM:
			v->str = addr_key(env != NULL ? &env->from : NULL, false);
			break;
		case STORE_SORT_TO:
			v->str = addr_key(env != NULL ? &env->to : NULL, false);
			break;
		case STORE_SORT_CC:
			v->str = addr_key(env != NULL ? &env->cc : NULL, false);
			break;
		case STORE_SORT_DISPLAYFROM:
			v->str = addr_key(env != NULL ? &env->from : NULL, true);
			break;
		case STORE_SORT_DISPLAYTO:
			v->str = addr_key(env != NULL ? &env->to : NULL, true);
			break;
		default:
			break;
		}
	}
}

int store_sort_add(struct store_sort *s, uint32_t lo, uint32_t hi)
{
	size_t start = s->n;
	int err = store_msg_scan(s->mbox, lo, hi, scan_cb, s);
	if (err != 0)
		return err;
	if (!s->need_info)
		return 0;
	size_t o = start;
	for (size_t i = start; i < s->n; i++) {
		struct sort_item *it = s->items[i];
		struct msg_info *info = NULL;
		err = store_msg_info(s->mbox, it->uid, &info);
		if (err == STORE_ENOTFOUND) {
			item_free(s, it);         /* expunged meanwhile */
			continue;
		}
		if (err != 0) {
			for (size_t k = i; k < s->n; k++)
				item_free(s, s->items[k]);
			s->n = o;
			return err;
		}
		fill_info(s, it, info->root != NULL ? info->root->envelope : NULL);
		msg_info_free(&info);
		s->items[o++] = it;
	}
	s->n = o;
	return 0;
}

static int item_cmp(const void *x, const void *y, void *ctx)
{
	const struct sort_item *a = *(struct sort_item *const *)x;
	const struct sort_item *b = *(struct sort_item *const *)y;
	const struct store_sort *s = ctx;
	for (size_t i = 0; i < s->n_crit; i++) {
		int r;
		if (is_num(s->crit[i].key))
			r = a->v[i].num < b->v[i].num ? -1 : a->v[i].num > b->v[i].num;
		else
			r = strcmp(a->v[i].str, b->v[i].str);
		if (r != 0)
			return s->crit[i].reverse ? -r : r;
	}
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

void store_sort_finish(struct store_sort *s, uint32_t **uids_r, size_t *n_r)
{
	if (s->n > 1)
		qsort_r(s->items, s->n, sizeof(*s->items), item_cmp, s);
	uint32_t *uids = xmalloc((s->n ? s->n : 1) * sizeof(*uids));
	for (size_t i = 0; i < s->n; i++)
		uids[i] = s->items[i]->uid;
	*uids_r = uids;
	*n_r = s->n;
}

int store_sort_insert(struct store_sort *s, uint32_t uid, size_t *pos_r)
{
	size_t before = s->n;
	int err = store_sort_add(s, uid, uid);
	if (err != 0)
		return err;
	if (s->n == before)
		return STORE_ENOTFOUND;
	struct sort_item *it = s->items[s->n - 1];
	size_t lo = 0, hi = s->n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (item_cmp(&s->items[mid], &it, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->items[lo + 1], &s->items[lo], (s->n - 1 - lo) * sizeof(*s->items));
	s->items[lo] = it;
	*pos_r = lo;
	return 0;
}

bool store_sort_remove(struct store_sort *s, uint32_t uid, size_t *pos_r)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->items[i]->uid != uid)
			continue;
		item_free(s, s->items[i]);
		memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof(*s->items));
		s->n--;
		*pos_r = i;
		return true;
	}
	return false;
}

size_t store_sort_remove_set(struct store_sort *s, const struct store_uid_set *uids)
{
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (store_uid_set_has(uids, s->items[i]->uid))
			item_free(s, s->items[i]);
		else
			s->items[o++] = s->items[i];
	}
	size_t gone = s->n - o;
	s->n = o;
	return gone;
}

size_t store_sort_count(const struct store_sort *s)
{
	return s->n;
}

uint32_t store_sort_uid(const struct store_sort *s, size_t pos)
{
	return pos < s->n ? s->items[pos]->uid : 0;
}
