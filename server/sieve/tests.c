/* The Sieve tests: header, address, envelope, exists, size, allof, anyof,
 * not, true, false (RFC 5228 5), body (RFC 5173), string (RFC 5229),
 * hasflag (RFC 5232), mailboxexists (RFC 5490), date and currentdate (RFC
 * 5260, with :index), duplicate (RFC 7352), spamtest (RFC 3685/5235). Each
 * feeds its values to one matcher that applies the node's comparator and
 * match type to every key, counts for :count, and sets match variables. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/sieve/interp.h"
#include "storage/store.h"

struct matcher {
	struct sv_run *run;
	struct sv_frame *f;
	const struct sv_node *n;
	const struct sv_arg *keys;
	uint64_t count;
	bool matched;
};

static void matcher_init(struct matcher *m, struct sv_run *run, struct sv_frame *f,
			 const struct sv_node *n, uint32_t keys_arg)
{
	memset(m, 0, sizeof(*m));
	m->run = run;
	m->f = f;
	m->n = n;
	m->keys = &f->s->args[keys_arg];
}

/* One value; returns true when the test is decided (a match). */
static bool feed(struct matcher *m, const char *v, size_t vlen)
{
	const struct sv_node *n = m->n;
	if (n->match == SV_MATCH_COUNT) {
		m->count++;
		return false;
	}
	for (uint32_t i = 0; i < m->keys->n; i++) {
		if (!sv_step(m->run, 1 + vlen / 4096))
			return true;
		size_t klen;
		const char *key = sv_expand(m->run, m->f, m->keys->first + i, &klen);
		struct sv_caps caps;
		bool want_caps = n->match == SV_MATCH_MATCHES && m->f->vars;
		if (sv_match(n->cmp, n->match, n->rel, v, vlen, key, klen,
			     want_caps ? &caps : NULL)) {
			if (want_caps)
				sv_set_caps(m->run, &caps);
			m->matched = true;
			return true;
		}
	}
	return false;
}

static bool result(struct matcher *m)
{
	if (m->n->match != SV_MATCH_COUNT)
		return m->matched;
	for (uint32_t i = 0; i < m->keys->n; i++) {
		size_t klen;
		const char *key = sv_expand(m->run, m->f, m->keys->first + i, &klen);
		if (sv_match_count(m->n->cmp, m->n->rel, m->count, key, klen))
			return true;
	}
	return false;
}

/* ---- header fields (with :index, RFC 5260 6) ---- */

typedef bool field_fn(struct matcher *m, const struct sv_field *fl);

static bool each_field(struct matcher *m, uint32_t names_arg, field_fn *fn)
{
	struct sv_run *run = m->run;
	const struct sv_arg *names = &m->f->s->args[names_arg];
	for (uint32_t i = 0; i < names->n; i++) {
		size_t nlen;
		const char *name = sv_expand(run, m->f, names->first + i, &nlen);
		if (!sv_header_name_valid(name, nlen))
			continue;
		if (m->n->index != 0) {
			size_t total = sv_msg_count(&run->msg, name);
			if (m->n->index > total)
				continue;
			size_t idx = (m->n->tags & SV_TAGBIT(SV_TAG_LAST))
				     ? total - m->n->index : m->n->index - 1;
			const struct sv_field *fl = sv_msg_field(&run->msg, name, idx);
			if (fl != NULL && fn(m, fl))
				return true;
			continue;
		}
		for (size_t k = 0;; k++) {
			const struct sv_field *fl = sv_msg_field(&run->msg, name, k);
			if (fl == NULL)
				break;
			if (fn(m, fl))
				return true;
		}
		if (run->error)
			return true;
	}
	return false;
}

static bool header_value(struct matcher *m, const struct sv_field *fl)
{
	return feed(m, fl->value, fl->value_len);
}

/* ---- addresses ---- */

struct addr_walk {
	struct matcher *m;
	bool done;
};

static void feed_part(struct matcher *m, const char *local, size_t llen, const char *dom,
		      size_t dlen, bool *done)
{
	const char *delim = m->run->delimiter != NULL ? m->run->delimiter : "+";
	size_t cut = llen;
	for (size_t i = 0; i < llen; i++) {
		if (strchr(delim, local[i]) != NULL && local[i] != '\0') {
			cut = i;
			break;
		}
	}
	switch ((enum sv_part)m->n->part) {
	case SV_PART_ALL: {
		char *all = dlen > 0 ? xasprintf("%.*s@%.*s", (int)llen, local, (int)dlen, dom)
			    : xstrndup(local, llen);
		*done = feed(m, all, strlen(all));
		free(all);
		break;
	}
	case SV_PART_LOCALPART: *done = feed(m, local, llen); break;
	case SV_PART_DOMAIN: *done = feed(m, dom, dlen); break;
	case SV_PART_USER: *done = feed(m, local, cut); break;
	case SV_PART_DETAIL:
		/* RFC 5233 4: no separator, no detail: nothing to match */
		if (cut < llen)
			*done = feed(m, local + cut + 1, llen - cut - 1);
		break;
	}
}

static void addr_cb(const char *local, size_t llen, const char *dom, size_t dlen, void *ctx)
{
	struct addr_walk *w = ctx;
	if (w->done)
		return;
	feed_part(w->m, local, llen, dom, dlen, &w->done);
}

static bool address_value(struct matcher *m, const struct sv_field *fl)
{
	/* A value with no address (nor group) that parses is one address:
	 * the whole value, which only :all compares (RFC 5228 2.7.4, as
	 * Pigeonhole does); an empty one too. */
	bool groups;
	if (msg_address_each(fl->raw, fl->raw_len, NULL, NULL, &groups) == 0 && !groups) {
		if (m->n->part == SV_PART_ALL || m->n->match == SV_MATCH_COUNT)
			return feed(m, fl->value, fl->value_len);
		return false;
	}
	struct addr_walk w = { m, false };
	(void)msg_address_each(fl->raw, fl->raw_len, addr_cb, &w, NULL);
	return w.done;
}

static bool test_envelope(struct matcher *m, uint32_t parts_arg)
{
	const struct sv_arg *parts = &m->f->s->args[parts_arg];
	const struct sieve_delivery *d = m->run->d;
	for (uint32_t i = 0; i < parts->n; i++) {
		size_t len;
		const char *part = sv_expand(m->run, m->f, parts->first + i, &len);
		const char *addr = NULL;
		if (strcasecmp(part, "from") == 0)
			addr = d->mail_from != NULL ? d->mail_from : "";
		else if (strcasecmp(part, "to") == 0)
			addr = d->rcpt_to != NULL ? d->rcpt_to : "";
		if (addr == NULL)
			continue;
		bool done = false;
		const char *at = strrchr(addr, '@');
		if (addr[0] == '\0') {
			/* the null reverse-path: every part is empty */
			if (m->n->part == SV_PART_DETAIL)
				continue;
			done = feed(m, "", 0);
		} else if (at != NULL) {
			feed_part(m, addr, (size_t)(at - addr), at + 1, strlen(at + 1), &done);
		} else {
			feed_part(m, addr, strlen(addr), "", 0, &done);
		}
		if (done)
			return true;
	}
	return false;
}

/* ---- body ---- */

static int body_cb(const char *text, size_t len, void *ctx)
{
	struct matcher *m = ctx;
	return feed(m, text, len) ? 1 : 0;
}

static void test_body(struct matcher *m)
{
	const struct sv_node *n = m->n;
	const char **types = NULL;
	size_t n_types = 0;
	if (n->part == SV_BODY_CONTENT) {
		const struct sv_arg *a = &m->f->s->args[n->slot[0]];
		types = xcalloc(a->n ? a->n : 1, sizeof(*types));
		for (uint32_t i = 0; i < a->n; i++) {
			size_t len;
			types[n_types++] = sv_expand(m->run, m->f, a->first + i, &len);
		}
	}
	(void)sv_msg_body(&m->run->msg, (enum sv_body)n->part, types, n_types, body_cb, m);
	free(types);
}

/* ---- flags ---- */

static void feed_flags(struct matcher *m, const char *list, bool *done)
{
	const char *w;
	size_t wl;
	while (!*done && sv_next_word(&list, &w, &wl))
		*done = feed(m, w, wl);
}

static void test_hasflag(struct matcher *m)
{
	bool done = false;
	if (m->n->pos[0] == SV_NONE) {
		feed_flags(m, m->run->flags != NULL ? m->run->flags : "", &done);
		return;
	}
	const struct sv_arg *vars = &m->f->s->args[m->n->pos[0]];
	for (uint32_t i = 0; i < vars->n && !done; i++) {
		size_t len;
		const char *name = sv_expand(m->run, m->f, vars->first + i, &len);
		struct sv_var *v = sv_var_lookup(m->run, m->f, name, len, false);
		if (v != NULL)
			feed_flags(m, v->value, &done);
	}
}

/* ---- dates ---- */

static bool date_zone(struct sv_run *run, struct sv_frame *f, const struct sv_node *n,
		      int64_t t, int orig, int *zone_r)
{
	if (n->tags & SV_TAGBIT(SV_TAG_ORIGINALZONE)) {
		*zone_r = orig;
		return true;
	}
	if (n->slot[0] != SV_NONE) {
		size_t len;
		const char *z = sv_expand(run, f, f->s->args[n->slot[0]].first, &len);
		/* RFC 5260 4.1: an invalid zone makes the test false */
		return sv_zone_parse(z, zone_r);
	}
	*zone_r = sv_local_zone(t);
	return true;
}

static void feed_date(struct matcher *m, uint32_t part_arg, int64_t t, int zone)
{
	size_t len;
	const char *pname = sv_expand(m->run, m->f, m->f->s->args[part_arg].first, &len);
	int part = sv_date_part_find(pname);
	if (part < 0)
		return;
	char buf[64];
	sv_date_part(part, t, zone, buf, sizeof(buf));
	(void)feed(m, buf, strlen(buf));
}

static void test_date(struct matcher *m)
{
	struct sv_run *run = m->run;
	const struct sv_node *n = m->n;
	size_t len;
	const char *name = sv_expand(run, m->f, m->f->s->args[n->pos[0]].first, &len);
	if (!sv_header_name_valid(name, len))
		return;
	size_t total = sv_msg_count(&run->msg, name), idx = 0;
	if (n->index != 0) {
		if (n->index > total)
			return;
		idx = (n->tags & SV_TAGBIT(SV_TAG_LAST)) ? total - n->index : n->index - 1;
	}
	const struct sv_field *fl = sv_msg_field(&run->msg, name, idx);
	if (fl == NULL)
		return;
	int64_t t;
	int orig;
	if (!sv_date_parse(fl->value, fl->value_len, &t, &orig))
		return;
	int zone;
	if (date_zone(run, m->f, n, t, orig, &zone))
		feed_date(m, n->pos[1], t, zone);
}

static void test_currentdate(struct matcher *m)
{
	int64_t t = (int64_t)m->run->now;
	int zone;
	if (date_zone(m->run, m->f, m->n, t, 0, &zone))
		feed_date(m, m->n->pos[0], t, zone);
}

/* ---- duplicate (RFC 7352) ---- */

static bool test_duplicate(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	const struct sieve_script *s = f->s;
	size_t len;
	const char *id = NULL;
	if (n->tags & SV_TAGBIT(SV_TAG_UNIQUEID)) {
		id = sv_expand(run, f, s->args[n->slot[1]].first, &len);
	} else {
		const char *hname = "message-id";
		if (n->tags & SV_TAGBIT(SV_TAG_HEADER))
			hname = sv_expand(run, f, s->args[n->slot[1]].first, &len);
		const struct sv_field *fl = sv_msg_field(&run->msg, hname, 0);
		if (fl == NULL)
			return false; /* RFC 7352 3.1: no such field, no duplicate */
		id = fl->value;
	}
	const char *handle = "";
	if (n->slot[0] != SV_NONE)
		handle = sv_expand(run, f, s->args[n->slot[0]].first, &len);
	uint64_t period = run->lim->duplicate_default_period;
	if (n->slot[2] != SV_NONE)
		period = s->args[n->slot[2]].num;
	if (period > run->lim->duplicate_max_period)
		period = run->lim->duplicate_max_period;
	struct sv_mark mk;
	memset(&mk, 0, sizeof(mk));
	sv_mark_key(mk.key, "duplicate", handle, id);
	mk.period = (uint32_t)period;
	mk.refresh = (n->tags & SV_TAGBIT(SV_TAG_LAST)) != 0;
	bool seen = false;
	/* a mark this run already made counts (RFC 7352 3: the same message
	 * tested twice is a duplicate the second time) */
	for (size_t i = 0; i < run->n_marks; i++)
		if (memcmp(run->marks[i].key, mk.key, 32) == 0)
			seen = true;
	if (!seen && run->mark_check != NULL && run->mark_check(run->mark_ctx, mk.key, &seen) != 0) {
		sv_run_fail(run, SIEVE_EIO, "duplicate: the tracking marks could not be read");
		return false;
	}
	mk.exists = seen;
	run->marks = xrealloc(run->marks, (run->n_marks + 1) * sizeof(*run->marks));
	run->marks[run->n_marks++] = mk;
	return seen;
}

/* ---- the dispatcher ---- */

bool sv_eval_test(struct sv_run *run, struct sv_frame *f, uint32_t ni)
{
	const struct sieve_script *s = f->s;
	const struct sv_node *n = &s->nodes[ni];
	if (!sv_step(run, 1))
		return false;
	const struct sieve_delivery *d = run->d;
	struct matcher m;
	switch (n->id) {
	case SV_T_TRUE:
		return true;
	case SV_T_FALSE:
		return false;
	case SV_T_NOT:
		return !sv_eval_test(run, f, n->test) && run->error == NULL;
	case SV_T_ALLOF:
		for (uint32_t t = n->test; t != SV_NONE; t = s->nodes[t].next)
			if (!sv_eval_test(run, f, t))
				return false;
		return true;
	case SV_T_ANYOF:
		for (uint32_t t = n->test; t != SV_NONE; t = s->nodes[t].next) {
			if (sv_eval_test(run, f, t))
				return true;
			if (run->error)
				return false;
		}
		return false;
	case SV_T_EXISTS: {
		const struct sv_arg *a = &s->args[n->pos[0]];
		for (uint32_t i = 0; i < a->n; i++) {
			size_t len;
			const char *name = sv_expand(run, f, a->first + i, &len);
			if (!sv_header_name_valid(name, len) || sv_msg_count(&run->msg, name) == 0)
				return false;
		}
		return true;
	}
	case SV_T_SIZE: {
		uint64_t lim = s->args[n->slot[0]].num;
		return (n->tags & SV_TAGBIT(SV_TAG_OVER)) ? d->size > lim : d->size < lim;
	}
	case SV_T_HEADER:
		matcher_init(&m, run, f, n, n->pos[1]);
		(void)each_field(&m, n->pos[0], header_value);
		return result(&m);
	case SV_T_ADDRESS:
		matcher_init(&m, run, f, n, n->pos[1]);
		(void)each_field(&m, n->pos[0], address_value);
		return result(&m);
	case SV_T_ENVELOPE:
		matcher_init(&m, run, f, n, n->pos[1]);
		(void)test_envelope(&m, n->pos[0]);
		return result(&m);
	case SV_T_BODY:
		matcher_init(&m, run, f, n, n->pos[0]);
		test_body(&m);
		return result(&m);
	case SV_T_STRING: {
		matcher_init(&m, run, f, n, n->pos[1]);
		const struct sv_arg *src = &s->args[n->pos[0]];
		for (uint32_t i = 0; i < src->n; i++) {
			size_t len;
			const char *v = sv_expand(run, f, src->first + i, &len);
			/* RFC 5229 5: empty strings are not counted */
			if (n->match == SV_MATCH_COUNT && len == 0)
				continue;
			if (feed(&m, v, len))
				break;
		}
		return result(&m);
	}
	case SV_T_HASFLAG:
		matcher_init(&m, run, f, n, n->pos[1]);
		test_hasflag(&m);
		return result(&m);
	case SV_T_MAILBOXEXISTS: {
		const struct sv_arg *a = &s->args[n->pos[0]];
		for (uint32_t i = 0; i < a->n; i++) {
			size_t len;
			const char *name = sv_expand(run, f, a->first + i, &len);
			struct store_status st;
			if (d->user == NULL || store_status(d->user, name, &st) != STORE_OK)
				return false;
		}
		return true;
	}
	case SV_T_DATE:
		matcher_init(&m, run, f, n, n->pos[2]);
		test_date(&m);
		return result(&m);
	case SV_T_CURRENTDATE:
		matcher_init(&m, run, f, n, n->pos[1]);
		test_currentdate(&m);
		return result(&m);
	case SV_T_DUPLICATE:
		return test_duplicate(run, f, n);
	case SV_T_SPAMTEST: {
		matcher_init(&m, run, f, n, n->pos[0]);
		char v[16];
		unsigned val = !d->spam_tested ? 0 : (n->tags & SV_TAGBIT(SV_TAG_PERCENT))
			       ? d->spam_percent : d->spam_score;
		snprintf(v, sizeof(v), "%u", val);
		(void)feed(&m, v, strlen(v));
		return result(&m);
	}
	default:
		sv_run_fail(run, SIEVE_ERUNTIME, "line %u: '%s' is not a test", n->line,
			    sv_id_name(n->id));
		return false;
	}
}
