/* MIME parameters (RFC 2045 5.1) with RFC 2231 continuations: the list after
 * a Content-Type or Content-Disposition value, kept as written. Parameters
 * split as name*0, name*1*, ... are merged into one name (or name*, still
 * percent-encoded, when any piece was extended) in the order IMAP servers
 * conventionally show them: plain parameters first, then merged ones sorted
 * by name. Broken parameters are skipped, never fatal. */
#include "storage/message/msg-internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

struct raw_param {
	char *key, *value;     /* heap */
	unsigned idx;
	bool extended;
	size_t order;
};

/* ";" key "=" value. Returns 1 with key/value, 0 at end, -1 broken. */
static int next_param(struct msg_lex *l, struct msg_buf *key, struct msg_buf *value)
{
	key->len = 0;
	value->len = 0;
	if (l->p >= l->end)
		return 0;
	if (*l->p != ';')
		return -1;
	l->p++;
	if (msg_lex_skip_ws(l) <= 0)
		return -1;
	if (msg_lex_token(l, key) <= 0)
		return -1;
	if (*l->p != '=')
		return -1;
	l->p++;
	int r = msg_lex_skip_ws(l);
	if (r <= 0) {
		/* no value */
	} else if (*l->p == '"') {
		r = msg_lex_quoted(l, value);
	} else if (*l->p == '=') {
		/* unquoted encoded word: name==?utf-8?b?...?= */
		const unsigned char *start = l->p;
		while (l->p < l->end && *l->p != ';' && *l->p != ' ' && *l->p != '\t' &&
		       *l->p != '\r' && *l->p != '\n')
			l->p++;
		msg_buf_append(value, start, (size_t)(l->p - start));
	} else {
		r = msg_lex_token(l, value);
	}
	return r < 0 ? -1 : 1;
}

static char *buf_dup(const struct msg_buf *b)
{
	return xstrndup(b->data != NULL ? b->data : "", b->len);
}

static int raw_cmp(const struct raw_param *a, const struct raw_param *b)
{
	int r = strcmp(a->key, b->key);
	if (r != 0)
		return r;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
}

static int raw_qsort_cmp(const void *a, const void *b)
{
	return raw_cmp(a, b);
}

struct plist {
	struct msg_param *v;
	size_t n, cap;
};

static void plist_add(struct plist *pl, struct msg_arena *a, const char *k, size_t klen,
		      const char *v, size_t vlen)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap == 0 ? 8 : pl->cap * 2;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	pl->v[pl->n].name = msg_arena_str(a, k, klen);
	pl->v[pl->n].value = msg_arena_str(a, v, vlen);
	pl->n++;
}

static void merge_2231(struct raw_param *rp, size_t n, struct msg_arena *a, struct plist *out)
{
	struct msg_buf tmp = { 0 };
	/* order is a unique tiebreak, so qsort is deterministic here */
	qsort(rp, n, sizeof(*rp), raw_qsort_cmp);
	for (size_t i = 0, next; i < n; i = next) {
		bool ok = true, have_ext = false;
		unsigned want = 0;
		size_t j;
		for (j = i; j < n && strcasecmp(rp[i].key, rp[j].key) == 0; j++) {
			if (rp[j].idx != want)
				ok = false;
			if (rp[j].extended)
				have_ext = true;
			want++;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				tmp.len = 0;
				msg_buf_printf(&tmp, rp[j].extended ? "%s*%u*" : "%s*%u",
					       rp[j].key, rp[j].idx);
				plist_add(out, a, tmp.data, tmp.len, rp[j].value, strlen(rp[j].value));
			}
			continue;
		}
		tmp.len = 0;
		if (!rp[i].extended && have_ext)
			msg_buf_puts(&tmp, "''");
		for (j = i; j < next; j++) {
			const char *v = rp[j].value;
			if (!rp[j].extended && have_ext) {
				for (; *v != '\0'; v++) {
					if (*v == '%')
						msg_buf_puts(&tmp, "%25");
					else
						msg_buf_putc(&tmp, *v);
				}
			} else {
				msg_buf_puts(&tmp, v);
			}
		}
		size_t klen = strlen(rp[i].key);
		char *key = xmalloc(klen + 2);
		memcpy(key, rp[i].key, klen);
		if (have_ext)
			key[klen++] = '*';
		plist_add(out, a, key, klen, tmp.data != NULL ? tmp.data : "", tmp.len);
		free(key);
	}
	msg_buf_free(&tmp);
}

void msg_params_parse(struct msg_lex *l, struct msg_arena *a,
		      struct msg_param **params_r, uint32_t *count_r)
{
	struct msg_buf key = { 0 }, value = { 0 };
	struct plist out = { 0 };
	struct raw_param *rp = NULL;
	size_t n_rp = 0, cap_rp = 0;
	unsigned idx = 0;   /* carried over between parameters, as common parsers do */
	int r;

	while ((r = next_param(l, &key, &value)) != 0) {
		if (r < 0) {
			if (l->p >= l->end)
				break;
			l->p++;
			continue;
		}
		const char *k = key.data != NULL ? key.data : "";
		const char *star = memchr(k, '*', key.len);
		bool is_2231 = false, extended = false;
		if (star != NULL) {
			const char *p = star;
			if (p[1] != '\0') {
				p++;
				idx = 0;
				for (; *p >= '0' && *p <= '9'; p++)
					idx = idx * 10 + (unsigned)(*p - '0');
			}
			if (*p == '*') {
				extended = true;
				p++;
			}
			is_2231 = *p == '\0';
		}
		if (!is_2231) {
			plist_add(&out, a, k, key.len, value.data != NULL ? value.data : "", value.len);
			continue;
		}
		if (n_rp == cap_rp) {
			cap_rp = cap_rp == 0 ? 8 : cap_rp * 2;
			rp = xrealloc(rp, cap_rp * sizeof(*rp));
		}
		rp[n_rp].key = xstrndup(k, (size_t)(star - k));
		rp[n_rp].value = buf_dup(&value);
		rp[n_rp].idx = idx;
		rp[n_rp].extended = extended;
		rp[n_rp].order = n_rp;
		n_rp++;
	}
	if (n_rp > 0)
		merge_2231(rp, n_rp, a, &out);
	for (size_t i = 0; i < n_rp; i++) {
		free(rp[i].key);
		free(rp[i].value);
	}
	free(rp);
	msg_buf_free(&key);
	msg_buf_free(&value);

	*count_r = (uint32_t)out.n;
	*params_r = NULL;
	if (out.n > 0) {
		*params_r = msg_arena_alloc(a, out.n * sizeof(struct msg_param));
		memcpy(*params_r, out.v, out.n * sizeof(struct msg_param));
	}
	free(out.v);
}
