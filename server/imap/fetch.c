/* The FETCH engine (see fetch.h). A job writes one page: without body
 * items it formats messages straight from one index scan; with them it
 * takes one message at a time (record, parsed structure, reader, section
 * sources), writes its response and streams literals (fetch-section.c),
 * stopping mid-literal when the page is full and going on in the next job.
 * ENVELOPE, BODY[STRUCTURE] and PREVIEW come from the structure the store
 * keeps per message (store_msg_info), formatted by fetch-format.c. */
#include "server/imap/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmem.h"
#include "server/imap/fetch-format.h"
#include "server/imap/fetch-section.h"
#include "server/imap/outbuf.h"
#include "server/imap/selected.h"
#include "server/imap/seqset.h"
#include "server/imap/uidonly.h"
#include "server/services.h"

#define SEEN_BATCH 256u

/* The message being written when the spec has body items. */
struct fetch_cur {
	bool active;
	struct store_msg rec;
	char **kw;                   /* copies of rec.keywords */
	uint32_t seq;
	struct store_reader *rd;     /* when some item reads the message */
	uint64_t vsize;
	struct msg_info *info;       /* when some item needs the structure */
	struct imap_fetch_src *src;  /* per item: where its data comes from */
	size_t item;                 /* next item to write */
	bool in_lit;
	struct imap_fetch_stream st; /* the literal being written */
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
	struct msg_buf fmt;          /* ENVELOPE / BODYSTRUCTURE being formatted */
	unsigned fmt_flags;          /* enum imap_fmt_flags */
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
	case IMAP_FA_MODSEQ:
		imap_outbuf_printf(out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		break;
	default:
		break;                      /* write_mime's and the sections */
	}
}

/* Items from the message's structure; false when it is not one. */
static bool write_mime(struct imap_fetch *f, const struct imap_fetch_item *it,
		       const struct msg_info *info, const struct imap_fetch_src *src)
{
	struct msg_buf *b = &f->fmt;
	b->len = 0;
	switch (it->att) {
	case IMAP_FA_ENVELOPE:
		msg_buf_puts(b, "ENVELOPE ");
		imap_fmt_envelope(b, info->root->envelope);
		break;
	case IMAP_FA_BODY:
	case IMAP_FA_BODYSTRUCTURE:
		msg_buf_puts(b, it->att == IMAP_FA_BODY ? "BODY " : "BODYSTRUCTURE ");
		imap_fmt_body(b, info, it->att == IMAP_FA_BODYSTRUCTURE, f->fmt_flags);
		break;
	case IMAP_FA_PREVIEW:
		/* RFC 8970 3: UTF-8 text, "" when the message has none */
		msg_buf_puts(b, "PREVIEW ");
		imap_fmt_nstring(b, info->preview.data != NULL ? info->preview.data : "",
				 info->preview.len, true);
		break;
	case IMAP_FA_BINARY_SIZE:
		msg_buf_printf(b, "%s %llu", it->name, (unsigned long long)src->size);
		break;
	default:
		return false;
	}
	imap_outbuf_add(&f->out, b->data, b->len);
	return true;
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
		imap_uidonly_fetch_open(f->s, &f->out, seq, m->uid);
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
	msg_info_free(&c->info);
	if (c->kw != NULL)
		store_strv_free(c->kw, c->rec.n_keywords);
	c->kw = NULL;
	x_free(&c->src);
	imap_fetch_stream_end(&c->st);
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
		c->vsize = c->rec.vsize;
		int err = c->seq == 0 ? STORE_ENOTFOUND : 0;
		if (err == 0 && f->spec->mime)
			err = store_msg_info(sel->mbox, c->rec.uid, &c->info);
		if (err == 0 && f->spec->reader)
			err = store_reader_open(sel->mbox, c->rec.uid, &c->rd, &c->vsize);
		if (err == STORE_ENOTFOUND) { /* expunged meanwhile */
			cur_close(c);
			continue;
		}
		c->src = xcalloc(f->spec->n, sizeof(*c->src));
		if (err == 0)
			err = imap_fetch_sources(f->spec, c->info, c->rd, c->vsize, c->src);
		if (err != 0) {
			f->err = err;
			cur_close(c);
			return false;
		}
		c->add_flags = !f->spec->has_flags && imap_uidset_has(&f->seen, c->rec.uid);
		note_keywords(f, f->spec->has_flags || c->add_flags,
			      (const char *const *)c->kw, c->rec.n_keywords);
		imap_uidonly_fetch_open(f->s, &f->out, c->seq, c->rec.uid);
		c->active = true;
		return true;
	}
	return false;
}

/* Write items of the current message until it is complete (true) or the
 * page is full (false). Sets f->err / f->fatal on failure. */
static bool write_message(struct imap_fetch *f)
{
	struct fetch_cur *c = &f->cur;
	const struct imap_fetch_spec *spec = f->spec;
	while (c->item < spec->n) {
		const struct imap_fetch_item *it = &spec->items[c->item];
		const struct imap_fetch_src *src = &c->src[c->item];
		if (it->att != IMAP_FA_SECTION) {
			if (c->item > 0)
				imap_outbuf_str(&f->out, " ");
			if (!write_mime(f, it, c->info, src))
				write_simple(f, it, &c->rec, (const char *const *)c->kw);
			c->item++;
			continue;
		}
		if (!c->in_lit) {
			if (f->out.len >= IMAP_FETCH_PAGE)
				return false;
			uint64_t o, n;
			imap_fetch_window(it, src->size, &o, &n);
			imap_outbuf_printf(&f->out, "%s%s %s{%llu}\r\n", c->item > 0 ? " " : "",
					   it->name, src->literal8 ? "~" : "", (unsigned long long)n);
			int err = imap_fetch_stream_start(&c->st, it, src, c->rd);
			if (err != 0) {
				f->err = err;
				f->fatal = true;
				return false;
			}
			c->in_lit = true;
		}
		int err = imap_fetch_stream_run(&c->st, c->rd, &f->out, IMAP_FETCH_PAGE);
		if (err != 0) {
			f->err = err;
			f->fatal = true;
			return false;
		}
		if (c->st.left > 0)
			return false;
		c->in_lit = false;
		c->item++;
	}
	if (c->add_flags) {
		imap_outbuf_str(&f->out, spec->n > 0 ? " FLAGS " : "FLAGS ");
		imap_sel_write_flags(f->s->sel, &f->out, c->rec.flags, (const char *const *)c->kw,
				     c->rec.n_keywords, c->rec.uid);
	}
	/* RFC 7162 3.1: a \Seen this FETCH set shows UID and MODSEQ once
	 * CONDSTORE is on */
	if (imap_session_condstore(f->s) && imap_uidset_has(&f->seen, c->rec.uid)) {
		if (!spec->has_uid && !imap_session_uidonly(f->s))
			imap_outbuf_printf(&f->out, " UID %u", c->rec.uid);
		if (!spec->has_modseq)
			imap_outbuf_printf(&f->out, " MODSEQ (%llu)",
					   (unsigned long long)c->rec.modseq);
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
	msg_buf_free(&f->fmt);
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
	/* message/global is body-type-msg only in IMAP4rev2's grammar */
	if (imap_session_rev2(s))
		f->fmt_flags = IMAP_FMT_GLOBAL_AS_MESSAGE;
	f->fn = done;
	f->arg = arg;
	s->sel->fetch = f;
	submit(f);
}
