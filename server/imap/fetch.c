/* The FETCH engine (see fetch.h). A job writes one page: without body
 * items it formats messages straight from one index scan; with them it
 * takes one message at a time (record, reader, section sizes), writes its
 * response and streams literals from the reader, stopping mid-literal when
 * the page is full and going on in the next job. Literal bytes are the
 * message's CRLF form; a NUL (not allowed in a literal, RFC 9051 4.3) is
 * sent as 0x80, as other servers do. */
#include "server/imap/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmem.h"
#include "server/imap/fetch-body.h"
#include "server/imap/outbuf.h"
#include "server/imap/selected.h"
#include "server/imap/seqset.h"
#include "server/services.h"

#define SEEN_BATCH 256u
#define READ_STEP (64u * 1024u)

/* The message being written when the spec has body items. */
struct fetch_cur {
	bool active;
	struct store_msg rec;
	char **kw;                   /* copies of rec.keywords */
	uint32_t seq;
	struct store_reader *rd;
	uint64_t vsize;
	uint64_t hdr_len;            /* header with its blank line */
	uint64_t *size;              /* per item: its section's full size */
	size_t item;                 /* next item to write */
	bool in_lit;
	uint64_t lit_left;
	/* HEADER.FIELDS streaming */
	struct imap_hdr_filter hf;
	uint64_t hf_in;              /* header bytes fed */
	uint64_t hf_skip;            /* selected bytes still to skip (origin) */
	struct imap_outbuf tmp;
	bool add_flags;              /* \Seen was set: show FLAGS */
};

struct imap_fetch {
	struct sess_job job;
	struct imap_session *s;
	const struct imap_fetch_spec *spec;
	struct store_uid_set set;
	uint64_t expected;
	size_t ri;                   /* cursor: range, next UID (0: its start) */
	uint32_t next;
	bool done;
	struct fetch_cur cur;
	struct imap_outbuf out;
	int err;
	bool fatal;                  /* a literal could not be completed */
	uint64_t sent;
	uint32_t seen_upto;
	struct store_uid_set seen;   /* messages whose \Seen this FETCH set */
	struct imap_fetch_result *res;
	imap_fetch_done_fn *fn;
	void *arg;
};

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

void imap_fetch_write_date(struct imap_outbuf *out, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	imap_outbuf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
			   month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			   tm.tm_sec);
}

/* ---- cursor over the set ---- */

static uint32_t cursor_lo(const struct imap_fetch *f)
{
	const struct store_uid_range *r = &f->set.ranges[f->ri];
	return f->next > r->lo ? f->next : r->lo;
}

static void cursor_past(struct imap_fetch *f, uint32_t uid)
{
	if (uid >= f->set.ranges[f->ri].hi) {
		f->ri++;
		f->next = 0;
	} else {
		f->next = uid + 1;
	}
}

/* ---- simple items ---- */

static void write_simple(struct imap_fetch *f, const struct imap_fetch_item *it,
			 const struct store_msg *m, const char *const *kw)
{
	struct imap_outbuf *out = &f->out;
	struct imap_selected *sel = f->s->sel;
	switch (it->att) {
	case IMAP_FA_FLAGS:
		imap_outbuf_str(out, "FLAGS ");
		imap_sel_write_flags(sel, out, m->flags, kw, m->n_keywords, m->uid);
		break;
	case IMAP_FA_UID:
		imap_outbuf_printf(out, "UID %u", m->uid);
		break;
	case IMAP_FA_INTERNALDATE:
		imap_outbuf_str(out, "INTERNALDATE ");
		imap_fetch_write_date(out, m->internal_date);
		break;
	case IMAP_FA_SAVEDATE:       /* RFC 8514 3: NIL when not known */
		imap_outbuf_str(out, "SAVEDATE ");
		if (m->save_date != 0)
			imap_fetch_write_date(out, m->save_date);
		else
			imap_outbuf_str(out, "NIL");
		break;
	case IMAP_FA_RFC822_SIZE:
		imap_outbuf_printf(out, "RFC822.SIZE %llu", (unsigned long long)m->vsize);
		break;
	case IMAP_FA_EMAILID: {
		char id[STORE_ID_LEN + 2];
		store_msg_emailid(m, id);
		imap_outbuf_printf(out, "EMAILID (%s)", id);
		break;
	}
	case IMAP_FA_THREADID:
		imap_outbuf_str(out, "THREADID NIL");
		break;
	case IMAP_FA_SECTION:
		break;
	}
}

/* FLAGS will be shown: announce new keywords before the response. */
static void note_keywords(struct imap_fetch *f, bool flags, const char *const *kw, size_t n)
{
	if (flags && n > 0)
		imap_sel_note_keywords(f->s->sel, &f->out, kw, n);
}

/* ---- pages without body items: one scan ---- */

static int scan_cb(const struct store_msg *m, void *ctx)
{
	struct imap_fetch *f = ctx;
	struct imap_selected *sel = f->s->sel;
	uint32_t seq = store_view_seq(sel->view, m->uid);
	if (seq != 0) {
		note_keywords(f, f->spec->has_flags, m->keywords, m->n_keywords);
		imap_outbuf_printf(&f->out, "* %u FETCH (", seq);
		for (size_t i = 0; i < f->spec->n; i++) {
			if (i > 0)
				imap_outbuf_str(&f->out, " ");
			write_simple(f, &f->spec->items[i], m, m->keywords);
		}
		imap_outbuf_str(&f->out, ")\r\n");
		f->sent++;
	}
	cursor_past(f, m->uid);
	return f->out.len >= IMAP_FETCH_PAGE ? 1 : 0;
}

static void work_scan(struct imap_fetch *f)
{
	struct store_mailbox *mbox = f->s->sel->mbox;
	while (!f->done && f->err == 0 && f->out.len < IMAP_FETCH_PAGE) {
		if (f->ri >= f->set.count) {
			f->done = true;
			break;
		}
		size_t ri = f->ri;
		int r = store_msg_scan(mbox, cursor_lo(f), f->set.ranges[ri].hi, scan_cb, f);
		if (r < 0)
			f->err = r;
		else if (r == 0 && f->ri == ri) {
			f->ri++;          /* the range's last messages were gone */
			f->next = 0;
		}
	}
}

/* ---- pages with body items: one message at a time ---- */

static void cur_close(struct fetch_cur *c)
{
	store_reader_close(&c->rd);
	if (c->kw != NULL)
		store_strv_free(c->kw, c->rec.n_keywords);
	c->kw = NULL;
	x_free(&c->size);
	imap_outbuf_free(&c->tmp);
	c->active = false;
}

static int capture_cb(const struct store_msg *m, void *ctx)
{
	struct fetch_cur *c = ctx;
	c->rec = *m;
	c->kw = xcalloc(m->n_keywords + 1u, sizeof(*c->kw));
	for (size_t i = 0; i < m->n_keywords; i++) {
		c->kw[i] = xstrdup(m->keywords[i]);
		c->rec.keywords[i] = c->kw[i];
	}
	return 1;
}

static int seen_cb(const struct store_msg *m, void *ctx)
{
	struct imap_fetch *f = ctx;
	imap_sel_own_change(f->s->sel, m->uid, m->modseq);
	store_uid_set_push(&f->seen, m->uid);
	return 0;
}

/* Set \Seen on the next SEEN_BATCH messages of the set from the cursor:
 * one durable batch for many messages, each just before it is sent. */
static int seen_batch(struct imap_fetch *f)
{
	struct store_uid_set b = { 0 };
	size_t ri = f->ri;
	uint32_t next = f->next, left = SEEN_BATCH;
	while (ri < f->set.count && left > 0) {
		const struct store_uid_range *r = &f->set.ranges[ri];
		uint32_t lo = next > r->lo ? next : r->lo, hi = r->hi;
		if ((uint64_t)hi - lo + 1 > left)
			hi = lo + left - 1;
		store_uid_set_push_range(&b, lo, hi);
		left -= hi - lo + 1;
		f->seen_upto = hi;
		ri++;
		next = 0;
	}
	int err = store_flags_update_set(f->s->sel->mbox, b.ranges, b.count, STORE_FLAGS_ADD,
					 STORE_FLAG_SEEN, NULL, 0, 0, seen_cb, f, NULL);
	store_uid_set_free(&b);
	return err;
}

/* The section window of item i: where it starts in the CRLF form (for
 * reader sources) and how many bytes the literal has. */
static void window(const struct imap_fetch_item *it, uint64_t size, uint64_t *origin_r,
		   uint64_t *len_r)
{
	uint64_t o = 0, n = size;
	if (it->partial) {
		o = it->origin < size ? it->origin : size;
		n = size - o < it->length ? size - o : it->length;
	}
	*origin_r = o;
	*len_r = n;
}

static uint64_t section_start(const struct fetch_cur *c, const struct imap_fetch_item *it)
{
	return it->sec == IMAP_SEC_TEXT ? c->hdr_len : 0;
}

/* Read the header once (when an item needs it): its end, and the sizes
 * HEADER.FIELDS items give; then every section's size. */
static int measure(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	const struct imap_fetch_spec *spec = f->spec;
	struct imap_hdr_filter *filters = xcalloc(spec->n, sizeof(*filters));
	for (size_t i = 0; i < spec->n; i++) {
		const struct imap_fetch_item *it = &spec->items[i];
		if (it->att == IMAP_FA_SECTION &&
		    (it->sec == IMAP_SEC_FIELDS || it->sec == IMAP_SEC_FIELDS_NOT))
			imap_hdr_filter_init(&filters[i], it->fields, it->n_fields,
					     it->sec == IMAP_SEC_FIELDS_NOT);
	}
	struct imap_hdr_end he;
	imap_hdr_end_init(&he);
	char *buf = xmalloc(READ_STEP);
	int err = spec->header ? store_reader_seek(c->rd, 0) : 0;
	while (err == 0 && spec->header && !he.found) {
		size_t got = 0;
		err = store_reader_read(c->rd, buf, READ_STEP, &got);
		if (err != 0 || got == 0)
			break;
		size_t used = imap_hdr_end_feed(&he, buf, got);
		for (size_t i = 0; i < spec->n; i++)
			if (filters[i].names != NULL)
				imap_hdr_filter_feed(&filters[i], buf, used, NULL);
	}
	free(buf);
	c->hdr_len = he.found ? he.end : he.pos;
	for (size_t i = 0; i < spec->n; i++) {
		const struct imap_fetch_item *it = &spec->items[i];
		if (it->att != IMAP_FA_SECTION)
			continue;
		switch (it->sec) {
		case IMAP_SEC_ALL: c->size[i] = c->vsize; break;
		case IMAP_SEC_HEADER: c->size[i] = c->hdr_len; break;
		case IMAP_SEC_TEXT: c->size[i] = c->vsize - c->hdr_len; break;
		case IMAP_SEC_FIELDS:
		case IMAP_SEC_FIELDS_NOT:
			imap_hdr_filter_finish(&filters[i], NULL);
			c->size[i] = filters[i].out_total;
			break;
		}
	}
	free(filters);
	return err;
}

/* Take the next message of the set; false when the set is exhausted. On a
 * store error f->err is set. */
static bool next_message(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	struct imap_selected *sel = f->s->sel;
	while (f->ri < f->set.count && f->err == 0) {
		uint32_t lo = cursor_lo(f);
		if (f->spec->seen && !sel->read_only && lo > f->seen_upto &&
		    (f->err = seen_batch(f)) != 0)
			return false;
		memset(c, 0, sizeof(*c));
		size_t ri = f->ri;
		int r = store_msg_scan(sel->mbox, lo, f->set.ranges[ri].hi, capture_cb, c);
		if (r < 0) {
			f->err = r;
			return false;
		}
		if (r == 0) {                 /* nothing left in this range */
			f->ri++;
			f->next = 0;
			continue;
		}
		cursor_past(f, c->rec.uid);
		c->seq = store_view_seq(sel->view, c->rec.uid);
		int err = c->seq == 0 ? STORE_ENOTFOUND
				      : store_reader_open(sel->mbox, c->rec.uid, &c->rd, &c->vsize);
		if (err == STORE_ENOTFOUND) { /* expunged meanwhile */
			cur_close(c);
			continue;
		}
		c->size = xcalloc(f->spec->n, sizeof(*c->size));
		if (err == 0)
			err = measure(f);
		if (err != 0) {
			f->err = err;
			cur_close(c);
			return false;
		}
		c->add_flags = !f->spec->has_flags && imap_uidset_has(&f->seen, c->rec.uid);
		note_keywords(f, f->spec->has_flags || c->add_flags,
			      (const char *const *)c->kw, c->rec.n_keywords);
		imap_outbuf_printf(&f->out, "* %u FETCH (", c->seq);
		c->active = true;
		return true;
	}
	return false;
}

static void copy_literal_bytes(struct imap_outbuf *out, const char *data, size_t n)
{
	char *p = imap_outbuf_reserve(out, n);
	memcpy(p, data, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0')
			p[i] = (char)0x80;
	imap_outbuf_commit(out, n);
}

/* Stream part of a reader-backed literal into the page. */
static int stream_reader(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	while (c->lit_left > 0 && f->out.len < IMAP_FETCH_PAGE) {
		size_t want = IMAP_FETCH_PAGE - f->out.len;
		if (want < 4096)
			want = 4096;
		if (want > c->lit_left)
			want = (size_t)c->lit_left;
		char *p = imap_outbuf_reserve(&f->out, want);
		size_t got = 0;
		int err = store_reader_read(c->rd, p, want, &got);
		if (err != 0 || got == 0)
			return err != 0 ? err : STORE_EIO;  /* the file shrank */
		for (size_t i = 0; i < got; i++)
			if (p[i] == '\0')
				p[i] = (char)0x80;
		imap_outbuf_commit(&f->out, got);
		c->lit_left -= got;
	}
	return 0;
}

/* Stream part of a HEADER.FIELDS literal: filter the header again. */
static int stream_fields(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	char *buf = NULL;
	int err = 0;
	while (c->lit_left > 0 && f->out.len < IMAP_FETCH_PAGE && err == 0) {
		c->tmp.len = 0;
		if (c->hf_in < c->hdr_len) {
			if (buf == NULL)
				buf = xmalloc(READ_STEP);
			uint64_t room = c->hdr_len - c->hf_in;
			size_t got = 0;
			err = store_reader_read(c->rd, buf, room < READ_STEP ? (size_t)room : READ_STEP,
						&got);
			if (err == 0 && got == 0)
				err = STORE_EIO;
			if (err != 0)
				break;
			c->hf_in += got;
			imap_hdr_filter_feed(&c->hf, buf, got, &c->tmp);
			if (c->hf_in == c->hdr_len)
				imap_hdr_filter_finish(&c->hf, &c->tmp);
		} else {
			err = STORE_EIO;      /* the filter gave fewer bytes than before */
			break;
		}
		size_t off = 0;
		if (c->hf_skip > 0) {
			off = c->hf_skip < c->tmp.len ? (size_t)c->hf_skip : c->tmp.len;
			c->hf_skip -= off;
		}
		size_t n = c->tmp.len - off;
		if (n > c->lit_left)
			n = (size_t)c->lit_left;
		copy_literal_bytes(&f->out, c->tmp.data + off, n);
		c->lit_left -= n;
	}
	free(buf);
	return err;
}

/* Write items of the current message until it is complete (true) or the
 * page is full (false). Sets f->err / f->fatal on failure. */
static bool write_message(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	const struct imap_fetch_spec *spec = f->spec;
	while (c->item < spec->n) {
		const struct imap_fetch_item *it = &spec->items[c->item];
		if (it->att != IMAP_FA_SECTION) {
			if (c->item > 0)
				imap_outbuf_str(&f->out, " ");
			write_simple(f, it, &c->rec, (const char *const *)c->kw);
			c->item++;
			continue;
		}
		if (!c->in_lit) {
			if (f->out.len >= IMAP_FETCH_PAGE)
				return false;
			uint64_t o, n;
			window(it, c->size[c->item], &o, &n);
			imap_outbuf_printf(&f->out, "%s%s {%llu}\r\n", c->item > 0 ? " " : "",
					   it->name, (unsigned long long)n);
			int err;
			if (it->sec == IMAP_SEC_FIELDS || it->sec == IMAP_SEC_FIELDS_NOT) {
				imap_hdr_filter_init(&c->hf, it->fields, it->n_fields,
						     it->sec == IMAP_SEC_FIELDS_NOT);
				c->hf_in = 0;
				c->hf_skip = o;
				err = store_reader_seek(c->rd, 0);
			} else {
				err = store_reader_seek(c->rd, section_start(c, it) + o);
			}
			if (err != 0) {
				f->err = err;
				f->fatal = true;
				return false;
			}
			c->in_lit = true;
			c->lit_left = n;
		}
		int err = it->sec == IMAP_SEC_FIELDS || it->sec == IMAP_SEC_FIELDS_NOT
			? stream_fields(f) : stream_reader(f);
		if (err != 0) {
			f->err = err;
			f->fatal = true;
			return false;
		}
		if (c->lit_left > 0)
			return false;
		c->in_lit = false;
		c->item++;
	}
	if (c->add_flags) {
		imap_outbuf_str(&f->out, spec->n > 0 ? " FLAGS " : "FLAGS ");
		imap_sel_write_flags(f->s->sel, &f->out, c->rec.flags, (const char *const *)c->kw,
				     c->rec.n_keywords, c->rec.uid);
	}
	imap_outbuf_str(&f->out, ")\r\n");
	f->sent++;
	cur_close(c);
	return true;
}

static void work_body(struct imap_fetch *f)
{
	while (f->err == 0 && f->out.len < IMAP_FETCH_PAGE) {
		if (!f->cur.active && !next_message(f)) {
			if (f->err == 0)
				f->done = true;
			return;
		}
		if (!write_message(f))
			return;
	}
}

/* ---- jobs and pages ---- */

static void fetch_work(struct sess_job *job)
{
	struct imap_fetch *f = (struct imap_fetch *)job;
	f->out.len = 0;
	if (f->spec->body)
		work_body(f);
	else
		work_scan(f);
}

static void fetch_end(struct imap_fetch *f, int err)
{
	struct imap_session *s = f->s;
	if (f->res != NULL) {
		f->res->sent = f->sent;
		f->res->missing = f->expected > f->sent && err == 0 ? f->expected - f->sent : 0;
	}
	imap_fetch_done_fn *fn = f->fn;
	void *arg = f->arg;
	if (s->sel != NULL && s->sel->fetch == f)
		s->sel->fetch = NULL;
	cur_close(&f->cur);
	imap_outbuf_free(&f->out);
	store_uid_set_free(&f->set);
	store_uid_set_free(&f->seen);
	free(f);
	fn(s, err, arg);
}

static void fetch_done(struct sess_job *job);

static void submit(struct imap_fetch *f)
{
	f->job.work = fetch_work;
	f->job.done = fetch_done;
	sess_submit(&f->s->core, f->s->core.svc->storage_pool, &f->job);
}

static enum imap_cmd_result fetch_drained(struct imap_session *s)
{
	s->cmd->on_drained = NULL;
	submit(s->sel->fetch);
	return IMAP_CMD_AGAIN;
}

static void fetch_done(struct sess_job *job)
{
	struct imap_fetch *f = (struct imap_fetch *)job;
	struct imap_session *s = f->s;
	if (!sess_alive(&s->core)) {
		fetch_end(f, IMAP_SEL_GONE);
		return;
	}
	bool full = imap_sel_send(s, &f->out);
	if (f->fatal) {
		/* A literal was cut short: the protocol cannot recover. */
		conn_error(s->conn, "fetch uid=%u: message read failed: %s", f->cur.rec.uid,
			   store_strerror(f->err));
		conn_close(s->conn, "fetch read error");
		fetch_end(f, IMAP_SEL_GONE);
		return;
	}
	if (f->err != 0 || f->done) {
		fetch_end(f, f->err);
		return;
	}
	if (full) {
		s->cmd->on_drained = fetch_drained;
		return;
	}
	submit(f);
}

void imap_fetch_start(struct imap_session *s, const struct imap_fetch_spec *spec,
		      struct store_uid_set *set, struct imap_fetch_result *res,
		      imap_fetch_done_fn *done, void *arg)
{
	struct imap_fetch *f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->spec = spec;
	f->set = *set;
	*set = (struct store_uid_set){ 0 };
	f->expected = store_uid_set_size(&f->set);
	f->res = res;
	f->fn = done;
	f->arg = arg;
	s->sel->fetch = f;
	submit(f);
}
