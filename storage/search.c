/* Search programs and their evaluation (see search.h): building the tree,
 * preparing it (casemapped keys, matcher slots, cost tiers), three-valued
 * evaluation per tier, and the sliced run over a view: an index scan of up
 * to max_msgs records in one short read transaction decides what flags,
 * sizes and dates can; the undecided messages of that slice then load
 * their parse (tier INFO) and, if still undecided, stream their file (tier
 * FILE), until the slice's byte budget is spent. Results come out in UID
 * order. */
#include "storage/search.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/utf8.h"
#include "lib/xmem.h"
#include "storage/search-private.h"

/* ---- building ---- */

struct store_search *store_search_new(void)
{
	struct store_search *p = xcalloc(1, sizeof(*p));
	p->root = xcalloc(1, sizeof(*p->root));
	p->root->kind = STORE_SEARCH_AND;
	return p;
}

static void node_free(struct store_search_node *n)
{
	while (n != NULL) {
		struct store_search_node *next = n->next;
		node_free(n->child);
		free(n->field);
		free(n->str);
		free(n->key);
		free(n->kmp_fail);
		store_uid_set_free(&n->uids);
		free(n);
		n = next;
	}
}

void store_search_free(struct store_search **prog)
{
	if (*prog == NULL)
		return;
	node_free((*prog)->root);
	free(*prog);
	*prog = NULL;
}

struct store_search_node *store_search_add(struct store_search *prog,
					   struct store_search_node *parent,
					   enum store_search_kind kind)
{
	if (parent == NULL)
		parent = prog->root;
	struct store_search_node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	struct store_search_node **tail = &parent->child;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = n;
	prog->prepared = false;
	return n;
}

void store_search_set_str(struct store_search_node *n, const char *field, const char *str,
			  size_t len)
{
	free(n->field);
	free(n->str);
	n->field = field != NULL ? xstrdup(field) : NULL;
	n->str = xmalloc(len + 1);
	memcpy(n->str, str, len);
	n->str[len] = '\0';
}

int64_t store_search_day(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t store_search_day_of(int64_t when)
{
	return when >= 0 ? when / 86400 : -((-when + 86399) / 86400);
}

static bool uses(const struct store_search_node *n, enum store_search_kind kind)
{
	for (; n != NULL; n = n->next)
		if (n->kind == kind || uses(n->child, kind))
			return true;
	return false;
}

bool store_search_uses(const struct store_search *prog, enum store_search_kind kind)
{
	return uses(prog->root, kind);
}

/* ---- charsets ---- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char seq[5] = { 0 };
		size_t n = len - i < 4 ? len - i : 4;
		memcpy(seq, s + i, n);
		uint32_t cp;
		size_t got = utf8_decode(seq, &cp);
		if (got == 0 || (cp == 0 && s[i] != 0))
			return false;
		i += got;
	}
	return true;
}

int store_search_charset_utf8(const char *charset, const char *in, size_t len, char **out_r,
			      size_t *len_r)
{
	*out_r = NULL;
	*len_r = 0;
	bool ascii = strcasecmp(charset, "US-ASCII") == 0 || strcasecmp(charset, "ASCII") == 0;
	if (ascii || strcasecmp(charset, "UTF-8") == 0 || strcasecmp(charset, "UTF8") == 0) {
		for (size_t i = 0; ascii && i < len; i++)
			if ((unsigned char)in[i] >= 0x80)
				return STORE_EINVALID;
		if (!ascii && !utf8_valid((const unsigned char *)in, len))
			return STORE_EINVALID;
		char *out = xmalloc(len + 1);
		memcpy(out, in, len);
		out[len] = '\0';
		*out_r = out;
		*len_r = len;
		return STORE_OK;
	}
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return STORE_EINVALID;
	size_t cap = len * 4 + 16;
	char *out = xmalloc(cap);
	char *ip = (char *)in, *op = out;
	size_t il = len, ol = cap - 1;
	size_t r = iconv(cd, &ip, &il, &op, &ol);
	if (r != (size_t)-1)
		r = iconv(cd, NULL, NULL, &op, &ol);
	iconv_close(cd);
	if (r == (size_t)-1) {
		free(out);
		return STORE_EINVALID;
	}
	*op = '\0';
	*out_r = out;
	*len_r = (size_t)(op - out);
	return STORE_OK;
}

/* ---- preparing ---- */

static unsigned prepare(struct store_search *p, struct store_search_node *n)
{
	unsigned max = SEARCH_TIER_INDEX;
	for (; n != NULL; n = n->next) {
		unsigned tier = SEARCH_TIER_INDEX;
		switch (n->kind) {
		case STORE_SEARCH_AND:
		case STORE_SEARCH_OR:
		case STORE_SEARCH_NOT:
			tier = prepare(p, n->child);
			break;
		case STORE_SEARCH_SENTBEFORE:
		case STORE_SEARCH_SENTON:
		case STORE_SEARCH_SENTSINCE:
		case STORE_SEARCH_ADDRESS:
		case STORE_SEARCH_SUBJECT:
			tier = SEARCH_TIER_INFO;
			break;
		case STORE_SEARCH_HEADER:
		case STORE_SEARCH_BODY:
		case STORE_SEARCH_TEXT:
			tier = SEARCH_TIER_FILE;
			break;
		default:
			break;
		}
		if (tier > SEARCH_TIER_INDEX && n->child == NULL &&
		    n->kind != STORE_SEARCH_AND && n->kind != STORE_SEARCH_OR &&
		    n->kind != STORE_SEARCH_NOT) {
			n->slot = p->n_text++;
			free(n->key);
			n->key = NULL;
			n->key_len = 0;
			if (n->str != NULL) {
				struct casemap_buf b = { 0 };
				casemap_utf8(n->str, strlen(n->str), &b);
				n->key = xmalloc(b.len + 1);
				if (b.len > 0)
					memcpy(n->key, b.data, b.len);
				n->key[b.len] = '\0';
				n->key_len = b.len;
				casemap_buf_free(&b);
				free(n->kmp_fail);
				n->kmp_fail = xmalloc((n->key_len + 1) * sizeof(*n->kmp_fail));
				n->kmp_fail[0] = 0;
				for (size_t i = 1, k = 0; i < n->key_len; i++) {
					while (k > 0 && n->key[i] != n->key[k])
						k = n->kmp_fail[k - 1];
					if (n->key[i] == n->key[k])
						k++;
					n->kmp_fail[i] = k;
				}
			}
		}
		n->tier = tier;
		if (tier > max)
			max = tier;
	}
	return max;
}

static void search_prepare(struct store_search *p)
{
	if (p->prepared)
		return;
	p->n_text = 0;
	p->max_tier = prepare(p, p->root);
	p->prepared = true;
}

/* ---- evaluation ---- */

struct eval_msg {
	const struct store_msg *m;
	const uint32_t *recent;
	size_t n_recent;
	struct search_vals *sv;
	int64_t now;                  /* OLDER/YOUNGER's reference time */
};

static bool has_recent(const struct eval_msg *e, uint32_t uid)
{
	size_t lo = 0, hi = e->n_recent;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->recent[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n_recent && e->recent[lo] == uid;
}

static enum search_val eval(const struct store_search_node *n, const struct eval_msg *e);

/* The save date, or INTERNALDATE where none was recorded. */
static int64_t saved(const struct store_msg *m)
{
	return m->save_date != 0 ? m->save_date : m->internal_date;
}

static enum search_val eval_list(const struct store_search_node *c, const struct eval_msg *e,
				 bool any)
{
	enum search_val res = any ? SV_FALSE : SV_TRUE;
	for (; c != NULL; c = c->next) {
		enum search_val v = eval(c, e);
		if (v == (any ? SV_TRUE : SV_FALSE))
			return v;
		if (v == SV_UNKNOWN)
			res = SV_UNKNOWN;
	}
	return res;
}

static enum search_val tv(bool b)
{
	return b ? SV_TRUE : SV_FALSE;
}

static enum search_val eval(const struct store_search_node *n, const struct eval_msg *e)
{
	const struct store_msg *m = e->m;
	switch (n->kind) {
	case STORE_SEARCH_AND:
		return eval_list(n->child, e, false);
	case STORE_SEARCH_OR:
		return eval_list(n->child, e, true);
	case STORE_SEARCH_NOT: {
		enum search_val v = eval_list(n->child, e, false);
		return v == SV_UNKNOWN ? v : tv(v == SV_FALSE);
	}
	case STORE_SEARCH_ALL:
		return SV_TRUE;
	case STORE_SEARCH_FLAGS:
		return tv((m->flags & n->flags) == n->flags);
	case STORE_SEARCH_RECENT:
		return tv(has_recent(e, m->uid));
	case STORE_SEARCH_KEYWORD:
		for (uint16_t i = 0; i < m->n_keywords; i++)
			if (m->keywords[i] != NULL && strcasecmp(m->keywords[i], n->str) == 0)
				return SV_TRUE;
		return SV_FALSE;
	case STORE_SEARCH_UIDS:
		return tv(store_uid_set_has(&n->uids, m->uid));
	case STORE_SEARCH_EMAILID: {
		char id[STORE_ID_LEN + 2];
		store_msg_emailid(m, id);
		return tv(strcmp(id, n->str) == 0);
	}
	case STORE_SEARCH_THREADID:
		return SV_FALSE;
	case STORE_SEARCH_LARGER:
		return tv(m->vsize > n->num);
	case STORE_SEARCH_SMALLER:
		return tv(m->vsize < n->num);
	case STORE_SEARCH_BEFORE:
		return tv(store_search_day_of(m->internal_date) < n->day);
	case STORE_SEARCH_ON:
		return tv(store_search_day_of(m->internal_date) == n->day);
	case STORE_SEARCH_SINCE:
		return tv(store_search_day_of(m->internal_date) >= n->day);
	case STORE_SEARCH_SAVEDBEFORE:
		return tv(store_search_day_of(saved(m)) < n->day);
	case STORE_SEARCH_SAVEDON:
		return tv(store_search_day_of(saved(m)) == n->day);
	case STORE_SEARCH_SAVEDSINCE:
		return tv(store_search_day_of(saved(m)) >= n->day);
	case STORE_SEARCH_OLDER:
		return tv(m->internal_date < e->now - (int64_t)n->num);
	case STORE_SEARCH_YOUNGER:
		return tv(m->internal_date >= e->now - (int64_t)n->num);
	case STORE_SEARCH_MODSEQ:
		return tv(m->modseq >= n->num);
	default:
		return (enum search_val)e->sv->v[n->slot];
	}
}

/* ---- one message through the tiers ---- */

struct store_search_run {
	struct store_mailbox *mbox;
	const struct store_view *view;
	struct store_search *prog;
	struct search_vals sv;
	uint32_t next_seq;            /* next sequence number of the view */
	/* the slice: UIDs the index could not decide */
	uint32_t *pend;
	size_t n_pend, cap_pend, pi;
	/* UIDs of the slice in order, with their decision */
	struct slice_ent { uint32_t uid; uint8_t val; uint64_t modseq; } *slice;
	size_t n_slice, cap_slice, emitted;
	struct store_search_modseqs modseqs;   /* of the matches so far */
};

/* Tiers INFO and FILE for one message: its value. */
static int decide_message(struct store_search_run *run, uint32_t uid, const struct store_msg *m,
			  enum search_val *val_r, uint64_t *bytes_r)
{
	struct store_search *p = run->prog;
	size_t n_recent = 0;
	const uint32_t *recent = store_mailbox_recent(run->mbox, &n_recent);
	struct eval_msg e = { m, recent, n_recent, &run->sv, run->prog->now };
	search_vals_reset(&run->sv, p->n_text);
	struct msg_info *info = NULL;
	int err = store_msg_info(run->mbox, uid, &info);
	if (err != 0)
		return err;
	search_eval_info(p, info, &run->sv);
	enum search_val v = eval(p->root, &e);
	if (v == SV_UNKNOWN) {
		int fd;
		err = store_msg_open(run->mbox, uid, &fd, NULL);
		if (err == 0) {
			err = search_eval_file(p, info, fd, &run->sv, bytes_r);
			close(fd);
		}
		v = eval(p->root, &e);
	}
	msg_info_free(&info);
	if (err != 0)
		return err;
	*val_r = v == SV_TRUE ? SV_TRUE : SV_FALSE;
	return 0;
}

int store_search_match(struct store_mailbox *mbox, struct store_search *prog, uint32_t uid)
{
	search_prepare(prog);
	prog->now = (int64_t)time(NULL);
	struct store_msg m;
	char **kw = NULL;
	int err = store_msg_get(mbox, uid, &m, &kw);
	if (err != 0)
		return err;
	struct store_search_run run = { .mbox = mbox, .prog = prog };
	size_t n_recent = 0;
	const uint32_t *recent = store_mailbox_recent(mbox, &n_recent);
	search_vals_reset(&run.sv, prog->n_text);
	struct eval_msg e = { &m, recent, n_recent, &run.sv, prog->now };
	enum search_val v = eval(prog->root, &e);
	uint64_t bytes = 0;
	if (v == SV_UNKNOWN)
		err = decide_message(&run, uid, &m, &v, &bytes);
	store_strv_free(kw, m.n_keywords);
	search_vals_free(&run.sv);
	if (err != 0)
		return err;
	return v == SV_TRUE ? 1 : 0;
}

/* ---- the run ---- */

int store_search_run_new(struct store_mailbox *mbox, const struct store_view *view,
			 struct store_search *prog, struct store_search_run **run_r)
{
	search_prepare(prog);
	prog->now = (int64_t)time(NULL);
	struct store_search_run *run = xcalloc(1, sizeof(*run));
	run->mbox = mbox;
	run->view = view;
	run->prog = prog;
	run->next_seq = 1;
	*run_r = run;
	return STORE_OK;
}

uint32_t store_search_run_reached(const struct store_search_run *run)
{
	return run->next_seq > 0 ? run->next_seq - 1 : 0;
}

void store_search_run_free(struct store_search_run **runp)
{
	struct store_search_run *run = *runp;
	if (run == NULL)
		return;
	search_vals_free(&run->sv);
	free(run->pend);
	free(run->slice);
	free(run);
	*runp = NULL;
}

struct scan_ctx {
	struct store_search_run *run;
	unsigned left;
	uint32_t last;
};

static void slice_push(struct store_search_run *run, uint32_t uid, enum search_val v,
		       uint64_t modseq)
{
	if (run->n_slice == run->cap_slice) {
		run->cap_slice = run->cap_slice ? run->cap_slice * 2 : 256;
		run->slice = xrealloc(run->slice, run->cap_slice * sizeof(*run->slice));
	}
	run->slice[run->n_slice].uid = uid;
	run->slice[run->n_slice].val = (uint8_t)v;
	run->slice[run->n_slice].modseq = modseq;
	run->n_slice++;
	if (v == SV_UNKNOWN) {
		if (run->n_pend == run->cap_pend) {
			run->cap_pend = run->cap_pend ? run->cap_pend * 2 : 64;
			run->pend = xrealloc(run->pend, run->cap_pend * sizeof(*run->pend));
		}
		run->pend[run->n_pend++] = (uint32_t)(run->n_slice - 1);
	}
}

static int scan_cb(const struct store_msg *m, void *ctx)
{
	struct scan_ctx *sc = ctx;
	struct store_search_run *run = sc->run;
	sc->last = m->uid;
	if (store_view_seq(run->view, m->uid) != 0) {
		size_t n_recent = 0;
		const uint32_t *recent = store_mailbox_recent(run->mbox, &n_recent);
		search_vals_reset(&run->sv, run->prog->n_text);
		struct eval_msg e = { m, recent, n_recent, &run->sv, run->prog->now };
		enum search_val v = eval(run->prog->root, &e);
		if (v != SV_FALSE)
			slice_push(run, m->uid, v, m->modseq);
	}
	return --sc->left == 0 ? 1 : 0;
}

/* Scan the next max_msgs records of the view into the slice. */
static int scan_slice(struct store_search_run *run, unsigned max_msgs)
{
	uint32_t count = store_view_count(run->view);
	if (run->next_seq > count)
		return 1;
	uint32_t lo = store_view_uid(run->view, run->next_seq);
	uint32_t hi = store_view_uid(run->view, count);
	struct scan_ctx sc = { run, max_msgs ? max_msgs : 1, 0 };
	int r = store_msg_scan(run->mbox, lo, hi, scan_cb, &sc);
	if (r < 0)
		return r;
	if (r == 0)
		run->next_seq = count + 1;   /* reached the end */
	else
		run->next_seq = store_view_seq_ceil(run->view, sc.last + 1);
	return 0;
}

/* A match goes into the result (in UID order) and its MODSEQ is noted. */
static void emit_match(struct store_search_run *run, const struct slice_ent *se,
		       struct store_uid_set *result)
{
	struct store_search_modseqs *ms = &run->modseqs;
	store_uid_set_push(result, se->uid);
	if (ms->highest == 0)           /* the first match */
		ms->first = se->modseq;
	ms->last = se->modseq;
	if (se->modseq > ms->highest)
		ms->highest = se->modseq;
}

void store_search_run_modseqs(const struct store_search_run *run,
			      struct store_search_modseqs *modseqs_r)
{
	*modseqs_r = run->modseqs;
}

int store_search_run_step(struct store_search_run *run, unsigned max_msgs, uint64_t max_bytes,
			  struct store_uid_set *result)
{
	uint64_t bytes = 0;
	for (;;) {
		/* decide the pending messages of the slice */
		while (run->pi < run->n_pend) {
			if (max_bytes > 0 && bytes >= max_bytes)
				return 0;
			struct slice_ent *se = &run->slice[run->pend[run->pi]];
			struct store_msg m;
			char **kw = NULL;
			int err = store_msg_get(run->mbox, se->uid, &m, &kw);
			enum search_val v = SV_FALSE;
			if (err == 0) {
				err = decide_message(run, se->uid, &m, &v, &bytes);
				store_strv_free(kw, m.n_keywords);
			}
			if (err == STORE_ENOTFOUND)
				err = 0;       /* expunged meanwhile: no match */
			if (err != 0)
				return err;
			se->val = (uint8_t)v;
			se->modseq = m.modseq;
			bytes += 512;          /* the parse itself costs */
			run->pi++;
		}
		/* emit the slice in UID order */
		for (; run->emitted < run->n_slice; run->emitted++)
			if (run->slice[run->emitted].val == SV_TRUE)
				emit_match(run, &run->slice[run->emitted], result);
		run->n_slice = run->emitted = run->n_pend = run->pi = 0;
		if (run->next_seq > store_view_count(run->view))
			return 1;
		int r = scan_slice(run, max_msgs);
		if (r < 0)
			return r;
		if (run->n_pend == 0) {
			for (size_t i = 0; i < run->n_slice; i++)
				if (run->slice[i].val == SV_TRUE)
					emit_match(run, &run->slice[i], result);
			run->n_slice = 0;
			if (run->next_seq > store_view_count(run->view))
				return 1;
			return 0;
		}
	}
}
