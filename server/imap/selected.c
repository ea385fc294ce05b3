/* The selected mailbox: selection life, change watch, flags output and the
 * view update (see selected.h). An update is one job (store_view_sync, plus
 * the \Recent claim of new messages for a rev1 read-write view) whose
 * results are kept compact — EXPUNGEs as runs of equal sequence numbers,
 * changed messages as UIDs — and written on the loop in pages: EXPUNGE
 * lines, then FLAGS/EXISTS/RECENT, then FETCH (UID FLAGS) through the FETCH
 * engine, each page waiting for the output to drain. */
#include "server/imap/selected.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/imap/commands.h"
#include "server/imap/fetch.h"
#include "server/imap/notify.h"
#include "server/imap/outbuf.h"
#include "server/imap/search-context.h"
#include "server/imap/qresync.h"
#include "server/imap/seqset.h"
#include "server/imap/uidonly.h"
#include "server/services.h"

#define OWN_MAX_RUNS 65536u
#define EXPUNGE_PAGE (64u * 1024u)

struct sel_watch {
	struct net_server *net;
	uint64_t handle;
	unsigned gen;
	atomic_bool posted;
	/* The highest HIGHESTMODSEQ announced (every commit raises it). */
	_Atomic uint64_t announced;
	struct store_watch *sw;
};

struct watch_msg {
	struct conn_msg base;
	unsigned gen;
};

static atomic_uint sel_generation;

/* ---- the watch: store thread -> session loop ---- */

static void watch_deliver(struct conn_msg *msg, struct conn *c)
{
	struct watch_msg *m = (struct watch_msg *)msg;
	struct imap_session *s = c != NULL ? conn_session(c) : NULL;
	if (s != NULL && s->sel != NULL && s->sel->gen == m->gen) {
		atomic_store(&s->sel->watch->posted, false);
		s->sel->pending = true;
		imap_idle_changed(s);
		imap_notify_selected_changed(s);   /* RFC 5465 SELECTED */
	}
	free(m);
}

static void watch_cb(const struct store_change *change, void *ctx)
{
	struct sel_watch *w = ctx;
	uint64_t seen = atomic_load(&w->announced);
	while (change->highestmodseq > seen &&
	       !atomic_compare_exchange_weak(&w->announced, &seen, change->highestmodseq))
		;
	if (atomic_exchange(&w->posted, true))
		return;           /* one post in flight is enough */
	struct watch_msg *m = xcalloc(1, sizeof(*m));
	m->base.deliver = watch_deliver;
	m->gen = w->gen;
	conn_post(w->net, w->handle, &m->base);
}

/* ---- selection life ---- */

struct imap_selected *imap_sel_new(struct imap_session *s, const char *name, bool read_only)
{
	struct imap_selected *sel = xcalloc(1, sizeof(*sel));
	sel->name = xstrdup(name);
	sel->read_only = read_only;
	sel->rev2 = (s->enabled & IMAP_ENABLED_IMAP4REV2) != 0;
	sel->gen = atomic_fetch_add(&sel_generation, 1) + 1;
	sel->watch = xcalloc(1, sizeof(*sel->watch));
	sel->watch->net = s->core.svc->net;
	sel->watch->handle = conn_handle(s->conn);
	sel->watch->gen = sel->gen;
	return sel;
}

int imap_sel_open_work(struct imap_session *s, struct imap_selected *sel)
{
	/* the watch first: a change after the view's read is announced */
	int err = store_watch_add(s->store_user, sel->name, watch_cb, sel->watch, &sel->watch->sw);
	if (err == 0)
		err = store_mailbox_open(s->store_user, sel->name, sel->read_only, &sel->mbox);
	if (err == 0)
		err = store_view_open(sel->mbox, &sel->view);
	if (err == 0)
		err = store_keywords(s->store_user, &sel->keywords, &sel->n_keywords);
	if (err == 0)
		sel->highestmodseq = store_view_highestmodseq(sel->view);
	return err;
}

static void sel_free(struct imap_selected *sel)
{
	store_watch_remove(&sel->watch->sw);
	free(sel->watch);
	store_view_close(&sel->view);
	store_mailbox_close(&sel->mbox);
	store_strv_free(sel->keywords, sel->n_keywords);
	store_uid_set_free(&sel->searchres);
	imap_search_contexts_free(sel);
	free(sel->own);
	free(sel->name);
	free(sel);
}

/* Closing touches the store (the watch registry's lock, the user's
 * references): on the pool, owned by an item that needs no session. The
 * session's worker is held until the watch is gone, so the network server
 * (which the watch posts to) outlives every watch. */
struct sel_cleanup {
	struct work_item item;
	struct net_msg back;
	struct worker *home;
	struct imap_selected *sel;
};

static void cleanup_back(struct net_msg *msg)
{
	struct sel_cleanup *c = (struct sel_cleanup *)((char *)msg -
						       offsetof(struct sel_cleanup, back));
	worker_release(c->home);
	free(c);
}

static void cleanup_run(struct work_item *item)
{
	struct sel_cleanup *c = (struct sel_cleanup *)item;
	sel_free(c->sel);
	c->back.run = cleanup_back;
	worker_post(c->home, &c->back);
}

void imap_sel_discard(struct imap_session *s, struct imap_selected *sel)
{
	if (sel == NULL)
		return;
	struct sel_cleanup *c = xcalloc(1, sizeof(*c));
	c->item.run = cleanup_run;
	c->home = s->core.home;
	c->sel = sel;
	worker_hold(c->home);
	work_pool_submit(s->core.svc->storage_pool, &c->item);
}

void imap_sel_attach(struct imap_session *s, struct imap_selected *sel)
{
	s->sel = sel;
	imap_enter_state(s, IMAP_STATE_SELECTED);
}

void imap_sel_close(struct imap_session *s)
{
	struct imap_selected *sel = s->sel;
	if (sel == NULL)
		return;
	s->sel = NULL;
	if (s->state == IMAP_STATE_SELECTED)
		imap_enter_state(s, IMAP_STATE_AUTH);
	imap_sel_discard(s, sel);
}

/* ---- flags ---- */

static int kw_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static bool kw_known(const struct imap_selected *sel, const char *kw)
{
	return sel->n_keywords > 0 &&
	       bsearch(&kw, sel->keywords, sel->n_keywords, sizeof(*sel->keywords), kw_cmp) != NULL;
}

const char *imap_sel_keyword_spelling(const struct imap_selected *sel, const char *name)
{
	char *const *k = sel->n_keywords == 0 ? NULL
		: bsearch(&name, sel->keywords, sel->n_keywords, sizeof(*sel->keywords), kw_cmp);
	return k != NULL ? *k : name;
}

bool imap_sel_is_recent(const struct imap_selected *sel, uint32_t uid)
{
	if (sel->rev2)
		return false;
	size_t n;
	const uint32_t *r = store_mailbox_recent(sel->mbox, &n);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo] == uid;
}

uint32_t imap_sel_recent_count(const struct imap_selected *sel)
{
	if (sel->rev2)
		return 0;
	size_t n;
	const uint32_t *r = store_mailbox_recent(sel->mbox, &n);
	uint32_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (store_view_seq(sel->view, r[i]) != 0)
			count++;
	return count;
}

void imap_sel_write_flags(const struct imap_selected *sel, struct imap_outbuf *out,
			  uint32_t flags, const char *const *keywords, size_t n_keywords,
			  uint32_t uid)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ STORE_FLAG_SEEN, "\\Seen" }, { STORE_FLAG_ANSWERED, "\\Answered" },
		{ STORE_FLAG_FLAGGED, "\\Flagged" }, { STORE_FLAG_DELETED, "\\Deleted" },
		{ STORE_FLAG_DRAFT, "\\Draft" },
	};
	const char *sep = "";
	imap_outbuf_str(out, "(");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			imap_outbuf_printf(out, "%s%s", sep, names[i].name);
			sep = " ";
		}
	}
	for (size_t i = 0; i < n_keywords; i++) {
		imap_outbuf_printf(out, "%s%s", sep, keywords[i]);
		sep = " ";
	}
	if (imap_sel_is_recent(sel, uid))
		imap_outbuf_printf(out, "%s\\Recent", sep);
	imap_outbuf_str(out, ")");
}

void imap_sel_write_flag_lists(const struct imap_selected *sel, struct imap_outbuf *out)
{
	static const char sys[] = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
	imap_outbuf_str(out, "* FLAGS (" );
	imap_outbuf_str(out, sys);
	for (size_t i = 0; i < sel->n_keywords; i++)
		imap_outbuf_printf(out, " %s", sel->keywords[i]);
	imap_outbuf_str(out, ")\r\n");
	if (sel->read_only) {
		imap_outbuf_str(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
		return;
	}
	imap_outbuf_str(out, "* OK [PERMANENTFLAGS (");
	imap_outbuf_str(out, sys);
	for (size_t i = 0; i < sel->n_keywords; i++)
		imap_outbuf_printf(out, " %s", sel->keywords[i]);
	imap_outbuf_str(out, " \\*)] Flags permitted.\r\n");
}

void imap_sel_note_keywords(struct imap_selected *sel, struct imap_outbuf *out,
			    const char *const *keywords, size_t n_keywords)
{
	bool added = false;
	for (size_t i = 0; i < n_keywords; i++) {
		if (keywords[i] == NULL || kw_known(sel, keywords[i]))
			continue;
		sel->keywords = xrealloc(sel->keywords, (sel->n_keywords + 1) * sizeof(*sel->keywords));
		sel->keywords[sel->n_keywords++] = xstrdup(keywords[i]);
		qsort(sel->keywords, sel->n_keywords, sizeof(*sel->keywords), kw_cmp);
		added = true;
	}
	if (added)
		imap_sel_write_flag_lists(sel, out);
}

/* ---- own changes ---- */

void imap_sel_own_change(struct imap_selected *sel, uint32_t uid, uint64_t modseq)
{
	if (sel->n_own > 0) {
		struct imap_sel_own_run *r = &sel->own[sel->n_own - 1];
		if ((uint64_t)r->uid + r->len == uid && r->modseq + r->len == modseq) {
			r->len++;
			return;
		}
		if (uid < r->uid + r->len)
			sel->own_overflow = true;   /* out of order: not recorded */
	}
	if (sel->own_overflow || sel->n_own == OWN_MAX_RUNS) {
		sel->own_overflow = true;
		return;
	}
	if (sel->n_own == sel->cap_own) {
		sel->cap_own = sel->cap_own ? sel->cap_own * 2 : 16;
		sel->own = xrealloc(sel->own, sel->cap_own * sizeof(*sel->own));
	}
	sel->own[sel->n_own++] = (struct imap_sel_own_run){ uid, 1, modseq };
}

bool imap_sel_own_has(const struct imap_selected *sel, uint32_t uid, uint64_t modseq)
{
	size_t lo = 0, hi = sel->n_own;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)sel->own[mid].uid + sel->own[mid].len <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == sel->n_own || sel->own[lo].uid > uid)
		return false;
	return sel->own[lo].modseq + (uid - sel->own[lo].uid) == modseq;
}

void imap_sel_own_clear(struct imap_selected *sel)
{
	sel->n_own = 0;
	sel->own_overflow = false;
	if (sel->cap_own > 64) {     /* an idle session keeps no big array */
		x_free(&sel->own);
		sel->cap_own = 0;
	}
}

/* ---- arguments ---- */

int imap_sel_message_set(struct imap_session *s, const char *tag, const struct imap_arg *a,
			 bool by_uid, struct store_uid_set *out)
{
	struct imap_seqset set;
	const char *why = "Invalid message set.";
	int r = imap_seqset_parse_arg(a, &set);
	if (r == 0)
		r = imap_seqset_resolve(&set, by_uid, s->sel->view, &s->sel->searchres, out, &why);
	imap_seqset_free(&set);
	if (r < 0) {
		store_uid_set_free(out);
		imap_reply_tagged(s, tag, "BAD", NULL, why);
	}
	return r;
}

/* ---- errors ---- */

void imap_sel_reply_error(struct imap_session *s, const char *tag, int err, bool target)
{
	const char *code = "SERVERBUG", *text = "Internal error.";
	switch (err) {
	case STORE_ENOTFOUND:
		code = target ? "TRYCREATE" : "NONEXISTENT";
		text = "Mailbox does not exist.";
		break;
	case STORE_EINVALID: code = "CANNOT"; text = "Invalid mailbox name or argument."; break;
	case STORE_EQUOTA: code = "OVERQUOTA"; text = "Quota exceeded."; break;
	case STORE_EIO: code = "UNAVAILABLE"; text = "Temporary failure, try again."; break;
	case STORE_EINUSE: code = "INUSE"; text = "Mailbox in use."; break;
	case STORE_ENOPERM: code = "NOPERM"; text = "Not allowed."; break;
	case STORE_ETOOBIG: code = "TOOBIG"; text = "Too big."; break;
	case STORE_EEXISTS: code = "ALREADYEXISTS"; text = "Mailbox already exists."; break;
	default:
		if (s->conn != NULL)
			conn_error(s->conn, "store error: %s", store_strerror(err));
		break;
	}
	imap_reply_tagged(s, tag, "NO", code, text);
}

/* ---- output ---- */

bool imap_sel_send(struct imap_session *s, struct imap_outbuf *out)
{
	if (s->conn == NULL) {
		out->len = 0;
		return false;
	}
	conn_cork(s->conn);
	imap_outbuf_send(out, s->conn);
	bool full = conn_output_full(s->conn);
	conn_uncork(s->conn);
	return full;
}

void imap_sel_condstore_enable(struct imap_session *s)
{
	bool was = imap_session_condstore(s);
	imap_session_condstore_on(s);
	if (!was)
		imap_sel_report_highestmodseq(s);
}

void imap_sel_report_highestmodseq(struct imap_session *s)
{
	if (s->state != IMAP_STATE_SELECTED || s->sel == NULL)
		return;
	struct imap_outbuf out = { 0 };
	imap_outbuf_printf(&out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			   (unsigned long long)s->sel->highestmodseq);
	imap_sel_send(s, &out);
	imap_outbuf_free(&out);
}

/* ---- updates ---- */

struct exp_run {
	uint32_t seq, n;
};

enum upd_stage { UPD_EXPUNGES, UPD_COUNTS, UPD_FETCH, UPD_END };

struct sel_update {
	struct sess_job job;
	struct imap_session *s;
	unsigned flags;
	int err;
	struct store_view_sync_info info;
	struct exp_run *exp;
	size_t n_exp, cap_exp;
	bool vanished;                /* QRESYNC: VANISHED instead of EXPUNGE */
	struct store_uid_set van;
	uint32_t *chg;
	size_t n_chg, cap_chg;
	uint32_t recent;
	bool send_recent;
	/* CONDSTORE: the view moved to a new HIGHESTMODSEQ; said last, once
	 * everything up to it was reported */
	bool announce_hms;
	struct imap_outbuf head;      /* FLAGS lines for new keywords */
	enum upd_stage stage;
	size_t ei;                    /* EXPUNGE run being written */
	uint32_t edone;               /* lines written of it */
	struct imap_outbuf out;
	struct imap_fetch_spec spec;
	/* RFC 5267 updating searches: what changed, what to tell */
	struct imap_search_changes cx;
	struct imap_outbuf cx_pre, cx_post;
	imap_sel_done_fn *done;
	void *arg;
};

static int upd_expunged(uint32_t seq, uint32_t uid, void *ctx)
{
	struct sel_update *u = ctx;
	if (u->s->sel->n_contexts > 0)
		imap_search_changes_expunged(&u->cx, uid, seq);
	if (u->vanished) {            /* ascending UIDs (store_view_ops) */
		store_uid_set_push(&u->van, uid);
		return 0;
	}
	if (u->n_exp > 0 && u->exp[u->n_exp - 1].seq == seq) {
		u->exp[u->n_exp - 1].n++;
		return 0;
	}
	if (u->n_exp == u->cap_exp) {
		u->cap_exp = u->cap_exp ? u->cap_exp * 2 : 16;
		u->exp = xrealloc(u->exp, u->cap_exp * sizeof(*u->exp));
	}
	u->exp[u->n_exp++] = (struct exp_run){ seq, 1 };
	return 0;
}

static int upd_changed(const struct store_msg *m, void *ctx)
{
	struct sel_update *u = ctx;
	struct imap_selected *sel = u->s->sel;
	if (sel->n_contexts > 0)
		imap_search_changes_changed(&u->cx, m->uid);   /* own changes too */
	if (imap_sel_own_has(sel, m->uid, m->modseq))
		return 0;
	imap_sel_note_keywords(sel, &u->head, m->keywords, m->n_keywords);
	if (u->n_chg == u->cap_chg) {
		u->cap_chg = u->cap_chg ? u->cap_chg * 2 : 64;
		u->chg = xrealloc(u->chg, u->cap_chg * sizeof(*u->chg));
	}
	u->chg[u->n_chg++] = m->uid;
	return 0;
}

static int upd_added(const struct store_msg *m, void *ctx)
{
	struct sel_update *u = ctx;
	if (u->s->sel->n_contexts > 0)
		imap_search_changes_changed(&u->cx, m->uid);
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void upd_work(struct sess_job *job)
{
	struct sel_update *u = (struct sel_update *)job;
	struct imap_selected *sel = u->s->sel;
	static const struct store_view_ops ops = { .expunged = upd_expunged, .changed = upd_changed,
						   .added = upd_added };
	u->err = store_view_sync(sel->view, (u->flags & IMAP_SEL_NO_EXPUNGE) ? STORE_VIEW_NO_EXPUNGE : 0,
				 &ops, u, &u->info);
	if (u->err == 0) {
		sel->expunges_held = u->info.expunges_pending;
		/* with expunges held back, the next update says it */
		if (!u->info.expunges_pending) {
			u->announce_hms = u->info.highestmodseq > sel->highestmodseq;
			sel->highestmodseq = u->info.highestmodseq;
		}
	}
	if (u->info.added > 0 && !sel->rev2) {
		/* claims \Recent of the new messages; \Recent is a hint, so a
		 * failed claim only means they are not recent here */
		struct store_status st;
		if (!sel->read_only && store_mailbox_status(sel->mbox, &st) != 0)
			log_warn("imap: mailbox=%s: \\Recent not claimed", sel->name);
		u->recent = imap_sel_recent_count(sel);
		u->send_recent = true;
	}
	if (sel->n_contexts > 0)
		imap_search_contexts_sync(sel, &u->cx, &u->cx_pre, &u->cx_post);
	imap_sel_own_clear(sel);
	if (u->n_chg > 1)
		qsort(u->chg, u->n_chg, sizeof(*u->chg), u32_cmp);
}

static void upd_end(struct imap_session *s, struct sel_update *u, int err)
{
	imap_sel_done_fn *done = u->done;
	void *arg = u->arg;
	if (s->sel != NULL && s->sel->upd == u)
		s->sel->upd = NULL;
	imap_outbuf_free(&u->head);
	imap_outbuf_free(&u->out);
	imap_outbuf_free(&u->cx_pre);
	imap_outbuf_free(&u->cx_post);
	imap_search_changes_free(&u->cx);
	imap_fetch_spec_free(&u->spec);
	free(u->exp);
	free(u->chg);
	store_uid_set_free(&u->van);
	free(u);
	done(s, err, arg);
}

static void upd_emit(struct imap_session *s);

static enum imap_cmd_result upd_drained(struct imap_session *s)
{
	s->cmd->on_drained = NULL;
	upd_emit(s);
	return IMAP_CMD_AGAIN;
}

static void upd_fetched(struct imap_session *s, int err, void *arg)
{
	struct sel_update *u = arg;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		upd_end(s, u, IMAP_SEL_GONE);
		return;
	}
	if (err != 0)
		conn_warn(s->conn, "update: flag changes not reported: %s", store_strerror(err));
	u->stage = UPD_END;
	upd_emit(s);
}

/* Write what the sync found, page by page. */
static void upd_emit(struct imap_session *s)
{
	struct sel_update *u = s->sel->upd;
	/* updating searches lose expunged members before the EXPUNGEs (or the
	 * VANISHED); sent once, also when the expunges take several pages */
	if (u->stage == UPD_EXPUNGES && u->cx_pre.len > 0) {
		(void)imap_sel_send(s, &u->cx_pre);
		u->cx_pre.len = 0;
	}
	if (u->stage == UPD_EXPUNGES && u->van.count > 0) {
		/* RFC 7162 3.2.10: one VANISHED for the UIDs */
		u->stage = UPD_COUNTS;
		u->out.len = 0;
		imap_qresync_write_vanished(&u->out, &u->van, false);
		if (imap_sel_send(s, &u->out)) {
			s->cmd->on_drained = upd_drained;
			return;
		}
	}
	if (u->stage == UPD_EXPUNGES) {
		while (u->ei < u->n_exp) {
			u->out.len = 0;
			while (u->ei < u->n_exp && u->out.len < EXPUNGE_PAGE) {
				imap_outbuf_printf(&u->out, "* %u EXPUNGE\r\n", u->exp[u->ei].seq);
				if (++u->edone == u->exp[u->ei].n) {
					u->ei++;
					u->edone = 0;
				}
			}
			if (imap_sel_send(s, &u->out)) {
				s->cmd->on_drained = upd_drained;
				return;
			}
		}
		u->stage = UPD_COUNTS;
	}
	if (u->stage == UPD_COUNTS) {
		u->stage = UPD_FETCH;
		imap_outbuf_add(&u->out, u->head.data, u->head.len);
		if (u->info.added > 0)
			imap_outbuf_printf(&u->out, "* %u EXISTS\r\n", u->info.exists);
		if (u->send_recent)
			imap_outbuf_printf(&u->out, "* %u RECENT\r\n", u->recent);
		if (imap_sel_send(s, &u->out)) {
			s->cmd->on_drained = upd_drained;
			return;
		}
	}
	if (u->stage == UPD_FETCH) {
		if (u->n_chg > 0) {
			struct store_uid_set set = { 0 };
			for (size_t i = 0; i < u->n_chg; i++) {
				if ((set.count == 0 || u->chg[i] > set.ranges[set.count - 1].hi) &&
				    store_view_seq(s->sel->view, u->chg[i]) != 0)
					store_uid_set_push(&set, u->chg[i]);
			}
			x_free(&u->chg);
			u->n_chg = 0;
			if (!imap_session_uidonly(s))   /* UIDFETCH names it */
				imap_fetch_spec_add(&u->spec, IMAP_FA_UID, false);
			imap_fetch_spec_add(&u->spec, IMAP_FA_FLAGS, false);
			if (imap_session_condstore(s))   /* RFC 7162 3.1 */
				imap_fetch_spec_add(&u->spec, IMAP_FA_MODSEQ, false);
			imap_fetch_start(s, &u->spec, &set, NULL, upd_fetched, u);
			return;
		}
		u->stage = UPD_END;
	}
	/* ... and report the rest after EXISTS and FETCH */
	if (u->cx_post.len > 0)
		(void)imap_sel_send(s, &u->cx_post);
	/* RFC 7162 3.2.10 (HIGHESTMODSEQ response code): every change up to
	 * it was reported above, so a client may resume from it */
	if (u->announce_hms && imap_session_condstore(s)) {
		u->out.len = 0;
		imap_outbuf_printf(&u->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
				   (unsigned long long)u->info.highestmodseq);
		imap_sel_send(s, &u->out);
	}
	upd_end(s, u, u->err);
}

static void upd_done(struct sess_job *job)
{
	struct sel_update *u = (struct sel_update *)job;
	struct imap_session *s = u->s;
	if (!sess_alive(&s->core)) {
		upd_end(s, u, IMAP_SEL_GONE);
		return;
	}
	if (u->err == STORE_ENOTFOUND) {
		/* RFC 9051 7.1.5: the mailbox is gone from under the session. */
		imap_bye(s, "Selected mailbox was deleted.", "selected mailbox deleted");
		upd_end(s, u, IMAP_SEL_GONE);
		return;
	}
	/* A failed sync may still have moved the view part way (expunges are
	 * applied first): what it absorbed is reported all the same. */
	if (u->err != 0)
		conn_warn(s->conn, "update mailbox=%s: %s", s->sel->name, store_strerror(u->err));
	upd_emit(s);
}

void imap_sel_update(struct imap_session *s, unsigned flags, imap_sel_done_fn *done, void *arg)
{
	struct sel_update *u = xcalloc(1, sizeof(*u));
	u->s = s;
	u->flags = flags;
	u->vanished = imap_session_qresync(s) || imap_session_uidonly(s);
	u->done = done;
	u->arg = arg;
	s->sel->upd = u;
	s->sel->pending = false;
	u->job.work = upd_work;
	u->job.done = upd_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &u->job);
}

bool imap_sel_pending(const struct imap_session *s)
{
	const struct imap_selected *sel = s->sel;
	if (sel == NULL)
		return false;
	/* our own commits are announced too: only a state the view has not
	 * seen counts (no job may be running: the view is read here) */
	if (sel->pending && atomic_load(&sel->watch->announced) <= store_view_highestmodseq(sel->view))
		s->sel->pending = false;
	return sel->pending || sel->expunges_held;
}

/* ---- commands that do not report changes themselves ---- */

struct deferred {
	const struct imap_command_def *def;
	const struct imap_command *cmd;
};

static void deferred_go(struct imap_session *s, int err, void *arg)
{
	struct deferred *d = arg;
	if (err == IMAP_SEL_GONE || !sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	const struct imap_command_def *def = d->def;
	const struct imap_command *cmd = d->cmd;
	/* the handler may hold the command itself: it is its own again */
	s->cmd->ctx = NULL;
	s->cmd->free_ctx = NULL;
	free(d);
	imap_session_run_handler(s, def, cmd);
}

bool imap_sel_defer_command(struct imap_session *s, const struct imap_command_def *def,
			    const struct imap_command *cmd)
{
	if (s->state != IMAP_STATE_SELECTED || s->sel == NULL || s->cmd != NULL ||
	    (def->flags & IMAP_CMD_SELF_UPDATES) != 0 || !imap_sel_pending(s))
		return false;
	struct deferred *d = xcalloc(1, sizeof(*d));
	d->def = def;
	d->cmd = cmd;
	imap_cmd_hold(s, cmd->tag, d, free);
	imap_sel_update(s, (def->flags & IMAP_CMD_USES_SEQS) ? IMAP_SEL_NO_EXPUNGE : 0,
			deferred_go, d);
	return true;
}
