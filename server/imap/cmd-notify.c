/* NOTIFY (RFC 5465): the command (SET [STATUS] event groups, NONE) and the
 * subscription it makes (see notify.h). Supported events: MessageNew,
 * MessageExpunge, FlagChange and MailboxName; the others are refused with
 * NO [BADEVENT]. MessageNew with FETCH attributes is refused as well (the
 * selected mailbox's new messages are announced by EXISTS). */
#include "server/imap/notify.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/commands.h"
#include "server/imap/reply.h"
#include "server/imap/selected.h"
#include "server/imap/status-items.h"
#include "server/services.h"
#include "storage/store.h"

enum {
	EV_NEW = 1u << 0,
	EV_EXPUNGE = 1u << 1,
	EV_FLAG = 1u << 2,
	EV_NAME = 1u << 3,
	EV_MESSAGE = EV_NEW | EV_EXPUNGE | EV_FLAG,
};

enum filter_kind { F_INBOXES, F_PERSONAL, F_SUBSCRIBED, F_SUBTREE, F_MAILBOXES };

struct filter {
	enum filter_kind kind;
	char **names;              /* store names (SUBTREE, MAILBOXES) */
	size_t n_names;
	unsigned events;
};

/* An immutable subscription, shared with the scan job in flight. */
struct spec {
	unsigned refs;
	unsigned sel_events;       /* SELECTED / SELECTED-DELAYED */
	bool sel_delayed;
	struct filter *f;
	size_t n;
};

struct mbstate {
	char *name;
	unsigned events;           /* what the filters ask of it */
	struct store_status st;
	bool have;                 /* st was read */
};

/* Shared with the store thread and the scan jobs: the user-wide watch
 * (mailbox names, other processes' commits) and one watch per followed
 * mailbox (which also notices files other programs drop into it). */
struct mwatch {
	char *name;
	struct store_watch *sw;
};

struct nwatch {
	struct net_server *net;
	uint64_t handle;
	unsigned gen;
	atomic_bool posted;
	atomic_uint refs;            /* the session's + scans in flight */
	struct store_watch *sw;
	pthread_mutex_t lock;        /* mw, dead */
	struct mwatch *mw;
	size_t n_mw;
	bool dead;
};

struct imap_notify {
	struct spec *spec;
	struct nwatch *w;
	unsigned gen;
	struct mbstate *known;     /* by name, as last reported */
	size_t n_known;
	bool scan_pending, scanning, first_done;
	bool sel_pending;          /* an update of the selected view is due */
	bool status_first;         /* SET STATUS: the first scan reports all */
	bool cmd_waiting;          /* NOTIFY SET waits for the first scan */
	struct imap_resp out;      /* responses waiting for a place */
};

static atomic_uint notify_generation;

static const char *const event_names[] = {
	"MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
};

/* ---- spec ---- */

static void spec_unref(struct spec *sp)
{
	if (sp == NULL || --sp->refs > 0)
		return;
	for (size_t i = 0; i < sp->n; i++) {
		store_strv_free(sp->f[i].names, sp->f[i].n_names);
	}
	free(sp->f);
	free(sp);
}

static bool subtree_has(const char *root, const char *name)
{
	if (strcasecmp(root, "INBOX") == 0 && strcasecmp(name, "INBOX") == 0)
		return true;
	size_t n = strlen(root);
	return strncmp(root, name, n) == 0 && (name[n] == '\0' || name[n] == STORE_HIERARCHY_SEP);
}

static bool name_is(const char *a, const char *b)
{
	return strcasecmp(a, "INBOX") == 0 ? strcasecmp(b, "INBOX") == 0 : strcmp(a, b) == 0;
}

/* The events the filters ask for a mailbox (the selected one excluded). */
static unsigned events_for(const struct spec *sp, const char *name, char **subs, size_t n_subs)
{
	unsigned ev = 0;
	for (size_t i = 0; i < sp->n; i++) {
		const struct filter *f = &sp->f[i];
		bool hit = false;
		switch (f->kind) {
		case F_INBOXES: hit = strcasecmp(name, "INBOX") == 0; break;
		case F_PERSONAL: hit = true; break;
		case F_SUBSCRIBED:
			for (size_t k = 0; k < n_subs && !hit; k++)
				hit = name_is(subs[k], name);
			break;
		case F_SUBTREE:
			for (size_t k = 0; k < f->n_names && !hit; k++)
				hit = subtree_has(f->names[k], name);
			break;
		case F_MAILBOXES:
			for (size_t k = 0; k < f->n_names && !hit; k++)
				hit = name_is(f->names[k], name);
			break;
		}
		if (hit)
			ev |= f->events;
	}
	return ev;
}

/* ---- the scan: which followed mailboxes changed ---- */

struct scan {
	struct sess_job job;
	struct imap_session *s;
	struct store_user *user;
	struct spec *spec;
	unsigned gen;
	char *selected;            /* excluded: it has its own updates */
	struct nwatch *w;          /* referenced */
	struct mbstate *now;
	size_t n_now;
	int err;
};

static void nwatch_cb(const struct store_change *change, void *ctx);
static void nwatch_unref(struct nwatch *w);

/* Watch exactly the followed mailboxes whose messages matter. */
static void sync_mailbox_watches(struct scan *sc)
{
	struct nwatch *w = sc->w;
	pthread_mutex_lock(&w->lock);
	if (w->dead) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	for (size_t i = 0; i < w->n_mw;) {       /* no longer followed */
		bool keep = false;
		for (size_t k = 0; k < sc->n_now && !keep; k++)
			keep = (sc->now[k].events & EV_MESSAGE) &&
			       strcmp(sc->now[k].name, w->mw[i].name) == 0;
		if (keep) {
			i++;
			continue;
		}
		store_watch_remove(&w->mw[i].sw);
		free(w->mw[i].name);
		w->mw[i] = w->mw[--w->n_mw];
	}
	for (size_t k = 0; k < sc->n_now; k++) {
		if (!(sc->now[k].events & EV_MESSAGE))
			continue;
		bool have = false;
		for (size_t i = 0; i < w->n_mw && !have; i++)
			have = strcmp(w->mw[i].name, sc->now[k].name) == 0;
		struct store_watch *sw = NULL;
		if (have || store_watch_add(sc->user, sc->now[k].name, nwatch_cb, w, &sw) != 0)
			continue;
		w->mw = xrealloc(w->mw, (w->n_mw + 1) * sizeof(*w->mw));
		w->mw[w->n_mw++] = (struct mwatch){ xstrdup(sc->now[k].name), sw };
	}
	pthread_mutex_unlock(&w->lock);
}

static void scan_work(struct sess_job *job)
{
	struct scan *sc = (struct scan *)job;
	/* the user-wide watch first (on the pool: it may open the user's
	 * notify file), so no change after the read below is missed */
	if (sc->w != NULL) {
		pthread_mutex_lock(&sc->w->lock);
		if (!sc->w->dead && sc->w->sw == NULL &&
		    store_watch_user_add(sc->user, nwatch_cb, sc->w, &sc->w->sw) != 0)
			log_warn("notify: user=%s: no user-wide watch", store_user_name(sc->user));
		pthread_mutex_unlock(&sc->w->lock);
	}
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	char **subs = NULL;
	size_t n_subs = 0;
	sc->err = store_mailbox_list(sc->user, &list, &n);
	bool want_subs = false;
	for (size_t i = 0; i < sc->spec->n; i++)
		want_subs |= sc->spec->f[i].kind == F_SUBSCRIBED;
	if (sc->err == 0 && want_subs)
		sc->err = store_subscriptions(sc->user, &subs, &n_subs);
	if (sc->err != 0) {
		store_mailbox_list_free(list, n);
		return;
	}
	sc->now = xcalloc(n + 1, sizeof(*sc->now));
	for (size_t i = 0; i < n; i++) {
		if (sc->selected != NULL && name_is(sc->selected, list[i].name))
			continue;
		unsigned ev = events_for(sc->spec, list[i].name, subs, n_subs);
		if (ev == 0)
			continue;
		struct mbstate *m = &sc->now[sc->n_now++];
		m->name = xstrdup(list[i].name);
		m->events = ev;
		if ((ev & EV_MESSAGE) && store_status(sc->user, m->name, &m->st) == 0)
			m->have = true;
	}
	store_mailbox_list_free(list, n);
	store_strv_free(subs, n_subs);
	if (sc->w != NULL)
		sync_mailbox_watches(sc);
}

static void states_free(struct mbstate *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

static void scan_free(struct scan *sc)
{
	spec_unref(sc->spec);
	nwatch_unref(sc->w);
	states_free(sc->now, sc->n_now);
	free(sc->selected);
	free(sc);
}

static const struct mbstate *find_state(const struct mbstate *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

static void write_status(struct imap_session *s, struct imap_resp *r, const struct mbstate *m)
{
	struct imap_status_req req = { .n = 0 };
	req.items[req.n++] = IMAP_STATUS_MESSAGES;
	req.items[req.n++] = IMAP_STATUS_UIDNEXT;
	req.items[req.n++] = IMAP_STATUS_UIDVALIDITY;
	req.items[req.n++] = IMAP_STATUS_UNSEEN;
	if (imap_session_condstore(s))
		req.items[req.n++] = IMAP_STATUS_HIGHESTMODSEQ;
	imap_status_write(r, m->name, NULL, &req, &m->st, 0);
}

static void write_list(struct imap_resp *r, const char *name, bool gone)
{
	imap_resp_printf(r, "* LIST (%s) \"%c\" ", gone ? "\\NonExistent" : "",
			 STORE_HIERARCHY_SEP);
	imap_resp_mailbox(r, name);
	imap_resp_crlf(r);
}

/* What changed between the last report and now, as responses. */
static void compare(struct imap_session *s, const struct mbstate *now, size_t n_now,
		    bool status_all)
{
	struct imap_notify *nt = s->notify;
	struct imap_resp *r = &nt->out;
	for (size_t i = 0; i < n_now; i++) {
		const struct mbstate *m = &now[i];
		const struct mbstate *old = find_state(nt->known, nt->n_known, m->name);
		if (old == NULL && nt->first_done && (m->events & EV_NAME))
			write_list(r, m->name, false);
		if (!m->have)
			continue;
		bool counts = old == NULL || !old->have ||
			      old->st.messages != m->st.messages || old->st.uidnext != m->st.uidnext ||
			      old->st.uidvalidity != m->st.uidvalidity;
		bool flags = old != NULL && old->have &&
			     (old->st.highestmodseq != m->st.highestmodseq ||
			      old->st.unseen != m->st.unseen);
		if (!nt->first_done) {
			if (status_all && (m->events & (EV_NEW | EV_EXPUNGE)))
				write_status(s, r, m);
			continue;
		}
		if ((counts && (m->events & (EV_NEW | EV_EXPUNGE))) ||
		    (flags && !counts && (m->events & EV_FLAG)))
			write_status(s, r, m);
	}
	for (size_t i = 0; i < nt->n_known && nt->first_done; i++) {
		const struct mbstate *old = &nt->known[i];
		if ((old->events & EV_NAME) && find_state(now, n_now, old->name) == NULL &&
		    (s->sel == NULL || !name_is(s->sel->name, old->name)))
			write_list(r, old->name, true);
	}
}

static void scan_start(struct imap_session *s);

static void scan_done(struct sess_job *job)
{
	struct scan *sc = (struct scan *)job;
	struct imap_session *s = sc->s;
	struct imap_notify *nt = s->notify;
	if (!sess_alive(&s->core)) {
		bool waiting = nt != NULL && nt->cmd_waiting;
		if (nt != NULL)
			nt->scanning = nt->cmd_waiting = false;
		scan_free(sc);
		if (waiting)
			imap_cmd_finish(s);
		return;
	}
	if (nt == NULL || nt->gen != sc->gen) {
		scan_free(sc);
		return;
	}
	nt->scanning = false;
	if (sc->err == 0) {
		compare(s, sc->now, sc->n_now, nt->status_first);
		nt->status_first = false;
		states_free(nt->known, nt->n_known);
		nt->known = sc->now;
		nt->n_known = sc->n_now;
		sc->now = NULL;
		sc->n_now = 0;
		nt->first_done = true;
	} else {
		conn_warn(s->conn, "notify: mailboxes not read: %s", store_strerror(sc->err));
	}
	conn_debug(s->conn, "notify: scan done: %zu mailboxes followed, %zu bytes to send%s",
		   nt->n_known, nt->out.len, s->cmd != NULL ? " (after the command)" : "");
	scan_free(sc);
	if (nt->cmd_waiting) {           /* SET STATUS's answers, then its OK */
		nt->cmd_waiting = false;
		if (nt->out.len > 0) {
			imap_resp_send(&nt->out, s->conn);
			imap_resp_reset(&nt->out);
		}
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "NOTIFY completed.");
		imap_cmd_finish(s);
	} else {
		imap_notify_flush(s);
	}
	if (s->notify == nt && nt->scan_pending)
		scan_start(s);
}

static void scan_start(struct imap_session *s)
{
	struct imap_notify *nt = s->notify;
	if (nt->scanning) {
		nt->scan_pending = true;
		return;
	}
	nt->scan_pending = false;
	if (nt->spec->n == 0) {
		nt->first_done = true;
		return;
	}
	nt->scanning = true;
	struct scan *sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	sc->user = s->store_user;
	sc->spec = nt->spec;
	sc->spec->refs++;
	sc->gen = nt->gen;
	sc->selected = s->sel != NULL && nt->spec->sel_events != 0 ? xstrdup(s->sel->name) : NULL;
	sc->w = nt->w;
	if (sc->w != NULL)
		atomic_fetch_add(&sc->w->refs, 1);
	sc->job.work = scan_work;
	sc->job.done = scan_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &sc->job);
}

/* ---- the watch ---- */

struct nwatch_msg {
	struct conn_msg base;
	unsigned gen;
};

static void nwatch_deliver(struct conn_msg *msg, struct conn *c)
{
	struct nwatch_msg *m = (struct nwatch_msg *)msg;
	struct imap_session *s = c != NULL ? conn_session(c) : NULL;
	if (s != NULL && s->notify != NULL && s->notify->gen == m->gen) {
		atomic_store(&s->notify->w->posted, false);
		scan_start(s);
	}
	free(m);
}

static void nwatch_cb(const struct store_change *change, void *ctx)
{
	struct nwatch *w = ctx;
	(void)change;
	if (atomic_exchange(&w->posted, true))
		return;
	struct nwatch_msg *m = xcalloc(1, sizeof(*m));
	m->base.deliver = nwatch_deliver;
	m->gen = w->gen;
	conn_post(w->net, w->handle, &m->base);
}

/* Removing the watch takes store locks: on the pool, holding the worker
 * (the watch posts to its network server) until it is gone. */
struct ncleanup {
	struct work_item item;
	struct net_msg back;
	struct worker *home;
	struct nwatch *w;
};

static void ncleanup_back(struct net_msg *msg)
{
	struct ncleanup *c = (struct ncleanup *)((char *)msg - offsetof(struct ncleanup, back));
	worker_release(c->home);
	free(c);
}

/* The last reference: the watches are gone, free it (any thread). */
static void nwatch_unref(struct nwatch *w)
{
	if (w == NULL || atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->mw);
	free(w);
}

static void ncleanup_run(struct work_item *item)
{
	struct ncleanup *c = (struct ncleanup *)item;
	struct nwatch *w = c->w;
	pthread_mutex_lock(&w->lock);
	w->dead = true;
	store_watch_remove(&w->sw);
	for (size_t i = 0; i < w->n_mw; i++) {
		store_watch_remove(&w->mw[i].sw);
		free(w->mw[i].name);
	}
	w->n_mw = 0;
	pthread_mutex_unlock(&w->lock);
	nwatch_unref(w);
	c->back.run = ncleanup_back;
	worker_post(c->home, &c->back);
}

static void nwatch_drop(struct imap_session *s, struct nwatch *w)
{
	if (w == NULL)
		return;
	struct ncleanup *c = xcalloc(1, sizeof(*c));
	c->item.run = ncleanup_run;
	c->home = s->core.home;
	c->w = w;
	worker_hold(c->home);
	work_pool_submit(s->core.svc->storage_pool, &c->item);
}

void imap_notify_free(struct imap_session *s)
{
	struct imap_notify *nt = s->notify;
	if (nt == NULL)
		return;
	s->notify = NULL;
	nwatch_drop(s, nt->w);
	spec_unref(nt->spec);
	states_free(nt->known, nt->n_known);
	imap_resp_free(&nt->out);
	free(nt);
}

/* ---- pushes ---- */

static void sel_pushed(struct imap_session *s, int err, void *arg)
{
	(void)err;
	(void)arg;
	imap_cmd_finish(s);   /* flushes, and pushes again if more came */
}

static void push_selected(struct imap_session *s)
{
	struct imap_notify *nt = s->notify;
	nt->sel_pending = false;
	imap_cmd_hold(s, "*", NULL, NULL);
	imap_sel_update(s, nt->spec->sel_delayed ? IMAP_SEL_NO_EXPUNGE : 0, sel_pushed, NULL);
}

void imap_notify_selected_changed(struct imap_session *s)
{
	struct imap_notify *nt = s->notify;
	if (nt == NULL || nt->spec->sel_events == 0 || s->sel == NULL || s->conn == NULL)
		return;
	nt->sel_pending = true;
	if (s->cmd == NULL && s->state == IMAP_STATE_SELECTED)
		push_selected(s);
}

void imap_notify_flush(struct imap_session *s)
{
	struct imap_notify *nt = s->notify;
	if (nt == NULL || s->conn == NULL)
		return;
	/* whole lines only: between commands, or in IDLE (its pushes are
	 * whole lines too) */
	if (s->cmd != NULL && s->cmd->on_input == NULL)
		return;
	if (nt->out.len > 0) {
		imap_resp_send(&nt->out, s->conn);
		imap_resp_reset(&nt->out);
	}
	if (s->cmd == NULL && nt->sel_pending && s->sel != NULL && imap_sel_pending(s))
		push_selected(s);
	else if (s->cmd == NULL)
		nt->sel_pending = false;
}

/* ---- the command ---- */

static int parse_events(const struct imap_arg *a, bool selected, unsigned *ev_r,
			const char **why_r, bool *badevent_r)
{
	*ev_r = 0;
	if (a->type == IMAP_ARG_ATOM && strcasecmp(a->str, "NONE") == 0)
		return 0;
	*why_r = "Events are NONE or a list.";
	if (a->type != IMAP_ARG_LIST || a->list_count == 0)
		return -1;
	for (size_t i = 0; i < a->list_count; i++) {
		const struct imap_arg *e = &a->list[i];
		if (e->type == IMAP_ARG_LIST) {
			*why_r = "MessageNew with FETCH attributes is not supported.";
			*badevent_r = true;
			return -1;
		}
		if (e->type != IMAP_ARG_ATOM)
			return -1;
		unsigned bit = 0;
		for (unsigned k = 0; k < 4; k++)
			if (strcasecmp(e->str, event_names[k]) == 0)
				bit = 1u << k;
		if (bit == 0) {
			*badevent_r = true;
			*why_r = "Unsupported event.";
			return -1;
		}
		*ev_r |= bit;
	}
	(void)selected;
	*why_r = "MessageNew and MessageExpunge go together, and FlagChange needs both.";
	if (((*ev_r & EV_NEW) != 0) != ((*ev_r & EV_EXPUNGE) != 0) ||
	    ((*ev_r & EV_FLAG) && !(*ev_r & EV_NEW)))
		return -1;
	return 0;
}

static int parse_names(struct imap_session *s, const struct imap_arg *a, struct filter *f,
		       const char **why_r)
{
	const struct imap_arg *items;
	size_t n;
	if (imap_arg_items(a, &items, &n) < 0) {
		*why_r = "An empty mailbox list.";
		return -1;
	}
	f->names = xcalloc(n, sizeof(*f->names));
	for (size_t i = 0; i < n; i++) {
		if (imap_arg_mailbox(&items[i], imap_session_utf8(s), &f->names[i], why_r) < 0)
			return -1;
		f->n_names++;
	}
	return 0;
}

static int parse_set(struct imap_session *s, const struct imap_command *cmd, size_t at,
		     struct spec *sp, bool *status_r, const char **why_r, bool *badevent_r)
{
	if (at < cmd->n_args && cmd->args[at].type == IMAP_ARG_ATOM &&
	    strcasecmp(cmd->args[at].str, "STATUS") == 0) {
		*status_r = true;
		at++;
	}
	*why_r = "NOTIFY SET needs event groups.";
	if (at >= cmd->n_args)
		return -1;
	bool sel_seen = false;
	for (; at < cmd->n_args; at++) {
		const struct imap_arg *g = &cmd->args[at];
		*why_r = "An event group is (filter events).";
		if (g->type != IMAP_ARG_LIST || g->list_count < 2 || g->list[0].type != IMAP_ARG_ATOM)
			return -1;
		const char *word = g->list[0].str;
		const struct imap_arg *ev = &g->list[g->list_count - 1];
		unsigned events = 0;
		if (strcasecmp(word, "SELECTED") == 0 || strcasecmp(word, "SELECTED-DELAYED") == 0) {
			if (g->list_count != 2 || sel_seen) {
				*why_r = "SELECTED comes once, with its events.";
				return -1;
			}
			sel_seen = true;
			if (parse_events(ev, true, &events, why_r, badevent_r) < 0)
				return -1;
			if (events & EV_NAME) {   /* only for other mailboxes */
				*badevent_r = true;
				*why_r = "MailboxName is not an event of the selected mailbox.";
				return -1;
			}
			sp->sel_events = events;
			sp->sel_delayed = strcasecmp(word, "SELECTED-DELAYED") == 0;
			continue;
		}
		struct filter f = { 0 };
		bool names = false;
		if (strcasecmp(word, "INBOXES") == 0)
			f.kind = F_INBOXES;
		else if (strcasecmp(word, "PERSONAL") == 0)
			f.kind = F_PERSONAL;
		else if (strcasecmp(word, "SUBSCRIBED") == 0)
			f.kind = F_SUBSCRIBED;
		else if (strcasecmp(word, "SUBTREE") == 0)
			f.kind = F_SUBTREE, names = true;
		else if (strcasecmp(word, "MAILBOXES") == 0)
			f.kind = F_MAILBOXES, names = true;
		else {
			*why_r = "Unknown mailbox filter.";
			return -1;
		}
		if (g->list_count != (names ? 3u : 2u)) {
			*why_r = names ? "SUBTREE and MAILBOXES name mailboxes." : "Unknown mailbox filter.";
			return -1;
		}
		sp->f = xrealloc(sp->f, (sp->n + 1) * sizeof(*sp->f));
		sp->f[sp->n] = f;
		struct filter *fp = &sp->f[sp->n++];
		if (names && parse_names(s, &g->list[1], fp, why_r) < 0)
			return -1;
		if (parse_events(ev, false, &fp->events, why_r, badevent_r) < 0)
			return -1;
	}
	return 0;
}

enum imap_cmd_result imap_cmd_notify(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = "NOTIFY takes NONE or SET.";
	if (cmd->n_args == 1 && cmd->args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(cmd->args[0].str, "NONE") == 0) {
		imap_notify_free(s);
		imap_reply_tagged(s, cmd->tag, "OK", NULL, "NOTIFY completed.");
		return IMAP_CMD_DONE;
	}
	if (cmd->n_args < 1 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(cmd->args[0].str, "SET") != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	struct spec *sp = xcalloc(1, sizeof(*sp));
	sp->refs = 1;
	bool status = false, badevent = false;
	if (parse_set(s, cmd, 1, sp, &status, &why, &badevent) < 0) {
		spec_unref(sp);
		if (badevent)
			imap_reply_tagged(s, cmd->tag, "NO",
					  "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName)",
					  why);
		else
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	/* replaces any earlier subscription (RFC 5465 3) */
	imap_notify_free(s);
	struct imap_notify *nt = xcalloc(1, sizeof(*nt));
	nt->spec = sp;
	nt->gen = atomic_fetch_add(&notify_generation, 1) + 1;
	imap_resp_init(&nt->out, imap_session_utf8(s));
	s->notify = nt;
	if (sp->n > 0) {
		struct nwatch *w = xcalloc(1, sizeof(*w));
		w->net = s->core.svc->net;
		w->handle = conn_handle(s->conn);
		w->gen = nt->gen;
		atomic_init(&w->refs, 1);
		pthread_mutex_init(&w->lock, NULL);
		nt->w = w;
	}
	nt->status_first = status;
	if (sp->n == 0) {
		nt->first_done = true;
		imap_reply_tagged(s, cmd->tag, "OK", NULL, "NOTIFY completed.");
		return IMAP_CMD_DONE;
	}
	/* the first scan records what is there now (and answers STATUS) */
	imap_cmd_hold(s, cmd->tag, NULL, NULL);
	nt->cmd_waiting = true;
	scan_start(s);
	return IMAP_CMD_AGAIN;
}
