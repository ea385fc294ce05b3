/* Updating searches (see search-context.h): the contexts of a selection,
 * the changes a view sync collects for them, and their re-evaluation with
 * the ESEARCH ADDTO/REMOVEFROM responses it produces. */
#include "server/imap/search-context.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/imap/outbuf.h"
#include "server/imap/selected.h"

void imap_search_context_add(struct imap_selected *sel, const char *tag, bool by_uid,
			     struct store_search *prog, struct store_uid_set *result,
			     struct store_sort *sort)
{
	struct imap_search_context *c = xcalloc(1, sizeof(*c));
	c->tag = xstrdup(tag);
	c->by_uid = by_uid;
	c->prog = prog;
	if (result != NULL) {
		c->result = *result;
		memset(result, 0, sizeof(*result));
	}
	c->sort = sort;
	sel->contexts = xrealloc(sel->contexts, (sel->n_contexts + 1) * sizeof(*sel->contexts));
	sel->contexts[sel->n_contexts++] = c;
}

static void context_free(struct imap_search_context *c)
{
	free(c->tag);
	store_search_free(&c->prog);
	store_uid_set_free(&c->result);
	store_sort_free(&c->sort);
	free(c);
}

bool imap_search_context_has(const struct imap_selected *sel, const char *tag)
{
	for (size_t i = 0; i < sel->n_contexts; i++)
		if (strcmp(sel->contexts[i]->tag, tag) == 0)
			return true;
	return false;
}

bool imap_search_context_cancel(struct imap_selected *sel, const char *tag)
{
	for (size_t i = 0; i < sel->n_contexts; i++) {
		if (strcmp(sel->contexts[i]->tag, tag) != 0)
			continue;
		context_free(sel->contexts[i]);
		memmove(&sel->contexts[i], &sel->contexts[i + 1],
			(sel->n_contexts - i - 1) * sizeof(*sel->contexts));
		sel->n_contexts--;
		return true;
	}
	return false;
}

void imap_search_contexts_free(struct imap_selected *sel)
{
	for (size_t i = 0; i < sel->n_contexts; i++)
		context_free(sel->contexts[i]);
	x_free(&sel->contexts);
	sel->n_contexts = 0;
}

/* ---- what a sync changed ---- */

void imap_search_changes_expunged(struct imap_search_changes *c, uint32_t uid, uint32_t seq)
{
	if (c->n_exp == c->cap_exp) {
		c->cap_exp = c->cap_exp ? c->cap_exp * 2 : 16;
		c->exp_uid = xrealloc(c->exp_uid, c->cap_exp * sizeof(*c->exp_uid));
		c->exp_seq = xrealloc(c->exp_seq, c->cap_exp * sizeof(*c->exp_seq));
	}
	/* the callback numbers each after the removals before it: add those */
	c->exp_uid[c->n_exp] = uid;
	c->exp_seq[c->n_exp] = seq + (uint32_t)c->n_exp;
	c->n_exp++;
}

void imap_search_changes_changed(struct imap_search_changes *c, uint32_t uid)
{
	if (c->n_chg == c->cap_chg) {
		c->cap_chg = c->cap_chg ? c->cap_chg * 2 : 64;
		c->chg = xrealloc(c->chg, c->cap_chg * sizeof(*c->chg));
	}
	c->chg[c->n_chg++] = uid;
}

void imap_search_changes_free(struct imap_search_changes *c)
{
	free(c->exp_uid);
	free(c->exp_seq);
	free(c->chg);
	memset(c, 0, sizeof(*c));
}

/* ---- re-evaluation ---- */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A sorted list of numbers as a sequence set. */
static void write_numbers(struct imap_outbuf *o, uint32_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), u32_cmp);
	for (size_t i = 0; i < n;) {
		size_t k = i;
		while (k + 1 < n && v[k + 1] == v[k] + 1)
			k++;
		const char *sep = i > 0 ? "," : "";
		if (k > i)
			imap_outbuf_printf(o, "%s%u:%u", sep, v[i], v[k]);
		else
			imap_outbuf_printf(o, "%s%u", sep, v[i]);
		i = k + 1;
	}
}

static void head(struct imap_outbuf *o, const struct imap_search_context *c)
{
	imap_outbuf_printf(o, "* ESEARCH (TAG \"%s\")%s", c->tag, c->by_uid ? " UID" : "");
}

/* The set without rm and with add (all sorted, disjoint). */
static void set_apply(struct store_uid_set *set, const uint32_t *rm, size_t n_rm,
		      const uint32_t *add, size_t n_add)
{
	struct store_uid_set out = { 0 };
	size_t ri = 0, ai = 0;
	for (size_t i = 0; i < set->count; i++) {
		for (uint32_t u = set->ranges[i].lo;; u++) {
			while (ai < n_add && add[ai] < u)
				store_uid_set_push(&out, add[ai++]);
			while (ri < n_rm && rm[ri] < u)
				ri++;
			if (ri < n_rm && rm[ri] == u)
				ri++;
			else
				store_uid_set_push(&out, u);
			if (u == set->ranges[i].hi)
				break;
			/* skip ahead inside a long range with nothing to do */
			uint32_t next = set->ranges[i].hi;
			if (ai < n_add && add[ai] <= next)
				next = add[ai];
			if (ri < n_rm && rm[ri] <= next)
				next = rm[ri];
			if (next > u + 1 && next <= set->ranges[i].hi) {
				store_uid_set_push_range(&out, u + 1, next - 1);
				u = next - 1;
			}
		}
	}
	while (ai < n_add)
		store_uid_set_push(&out, add[ai++]);
	store_uid_set_free(set);
	*set = out;
}

static uint32_t num(const struct imap_selected *sel, const struct imap_search_context *c,
		    uint32_t uid)
{
	return c->by_uid ? uid : store_view_seq(sel->view, uid);
}

static bool in_result(const struct imap_search_context *c, uint32_t uid)
{
	return store_uid_set_has(&c->result, uid);
}

static void sync_one(struct imap_selected *sel, struct imap_search_context *c,
		     struct imap_search_changes *ch, struct imap_outbuf *pre,
		     struct imap_outbuf *post)
{
	uint32_t *rm = xmalloc((ch->n_exp + ch->n_chg + 1) * sizeof(*rm));
	uint32_t *out = xmalloc((ch->n_exp + ch->n_chg + 1) * sizeof(*out));
	uint32_t *add = xmalloc((ch->n_chg + 1) * sizeof(*add));
	size_t n_rm = 0, n_out = 0, n_add = 0;
	/* expunged members leave first, numbered as before the EXPUNGEs */
	for (size_t i = 0; i < ch->n_exp; i++) {
		if (!in_result(c, ch->exp_uid[i]))
			continue;
		rm[n_rm++] = ch->exp_uid[i];
		out[n_out++] = c->by_uid ? ch->exp_uid[i] : ch->exp_seq[i];
	}
	if (n_out > 0) {
		head(pre, c);
		imap_outbuf_str(pre, " REMOVEFROM (0 ");
		write_numbers(pre, out, n_out);
		imap_outbuf_str(pre, ")\r\n");
	}
	/* changed and new messages: in or out now? */
	n_out = 0;
	for (size_t i = 0; i < ch->n_chg; i++) {
		uint32_t uid = ch->chg[i];
		if (store_view_seq(sel->view, uid) == 0)
			continue;
		bool was = in_result(c, uid);
		bool now = store_search_match(sel->mbox, c->prog, uid) == 1;
		if (was && !now) {
			rm[n_rm++] = uid;
			out[n_out++] = num(sel, c, uid);
		} else if (!was && now) {
			add[n_add++] = uid;
		}
	}
	qsort(rm, n_rm, sizeof(*rm), u32_cmp);
	set_apply(&c->result, rm, n_rm, add, n_add);
	if (c->sort != NULL) {
		/* SORT: remove (one pass), then insert each at its place */
		struct store_uid_set gone = { 0 };
		for (size_t i = 0; i < n_rm; i++)
			store_uid_set_push(&gone, rm[i]);
		(void)store_sort_remove_set(c->sort, &gone);
		store_uid_set_free(&gone);
		if (n_out > 0) {
			head(post, c);
			imap_outbuf_str(post, " REMOVEFROM (0 ");
			write_numbers(post, out, n_out);
			imap_outbuf_str(post, ")");
		}
		bool first = true;
		for (size_t i = 0; i < n_add; i++) {
			size_t pos;
			if (store_sort_insert(c->sort, add[i], &pos) != 0)
				continue;
			if (first && n_out == 0)
				head(post, c);
			imap_outbuf_printf(post, "%s%zu %u", first ? " ADDTO (" : " ", pos + 1,
					   num(sel, c, add[i]));
			first = false;
		}
		if (!first)
			imap_outbuf_str(post, ")");
		if (n_out > 0 || !first)
			imap_outbuf_str(post, "\r\n");
	} else {
		if (n_out > 0 || n_add > 0) {
			head(post, c);
			if (n_out > 0) {
				imap_outbuf_str(post, " REMOVEFROM (0 ");
				write_numbers(post, out, n_out);
				imap_outbuf_str(post, ")");
			}
			if (n_add > 0) {
				for (size_t i = 0; i < n_add; i++)
					add[i] = num(sel, c, add[i]);
				imap_outbuf_str(post, " ADDTO (0 ");
				write_numbers(post, add, n_add);
				imap_outbuf_str(post, ")");
			}
			imap_outbuf_str(post, "\r\n");
		}
	}
	free(rm);
	free(out);
	free(add);
}

void imap_search_contexts_sync(struct imap_selected *sel, struct imap_search_changes *ch,
			       struct imap_outbuf *pre, struct imap_outbuf *post)
{
	if (ch->n_chg > 1) {
		qsort(ch->chg, ch->n_chg, sizeof(*ch->chg), u32_cmp);
		size_t o = 0;
		for (size_t i = 0; i < ch->n_chg; i++)
			if (o == 0 || ch->chg[o - 1] != ch->chg[i])
				ch->chg[o++] = ch->chg[i];
		ch->n_chg = o;
	}
	for (size_t i = 0; i < sel->n_contexts; i++)
		sync_one(sel, sel->contexts[i], ch, pre, post);
}
