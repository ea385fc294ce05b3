/* The actions of a run (RFC 5228 4 and 2.10): keep, fileinto, redirect,
 * reject/ereject and vacation recorded with their flags, duplicates merged
 * (a mailbox or an address once), the implicit keep cancelled as the RFC
 * says, and the limits on actions and redirects; and imap4flags' flag
 * lists (setflag, addflag, removeflag; the internal variable). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/sieve/interp.h"
#include "storage/store.h"

/* ---- flags (imap4flags) ---- */

/* The next space-separated word of *p (advanced past it); false at the
 * end. */
bool sv_next_word(const char **p, const char **word_r, size_t *len_r)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	const char *e = s;
	while (*e && *e != ' ')
		e++;
	*p = e;
	*word_r = s;
	*len_r = (size_t)(e - s);
	return e > s;
}

static bool flag_in(const char *set, const char *flag, size_t flen)
{
	const char *w;
	size_t wl;
	while (sv_next_word(&set, &w, &wl))
		if (wl == flen && strncasecmp(w, flag, flen) == 0)
			return true;
	return false;
}

/* op: 0 set, 1 add, 2 remove. Returns a new heap string. */
static char *flags_apply(const char *cur, int op, const char *const *items, size_t n)
{
	struct msg_buf out = { 0 };
	const char *w;
	size_t wl;
	if (op != 0) {
		const char *p = cur;
		while (sv_next_word(&p, &w, &wl)) {
			bool drop = false;
			if (op == 2)
				for (size_t i = 0; i < n && !drop; i++)
					if (flag_in(items[i], w, wl))
						drop = true;
			if (!drop) {
				if (out.len)
					msg_buf_putc(&out, ' ');
				msg_buf_append(&out, w, wl);
			}
		}
	}
	if (op != 2) {
		for (size_t i = 0; i < n; i++) {
			const char *p = items[i];
			while (sv_next_word(&p, &w, &wl)) {
				msg_buf_putc(&out, '\0');
				out.len--;
				if (!flag_in(out.data, w, wl)) {
					if (out.len)
						msg_buf_putc(&out, ' ');
					msg_buf_append(&out, w, wl);
				}
			}
		}
	}
	msg_buf_putc(&out, '\0');
	return out.data;
}

/* cur changed by op with the flags of the string list arg (heap). */
static char *list_flags(struct sv_run *run, struct sv_frame *f, uint32_t arg, const char *cur,
			int op)
{
	const struct sv_arg *a = &f->s->args[arg];
	const char **items = xcalloc(a->n ? a->n : 1, sizeof(*items));
	for (uint32_t i = 0; i < a->n; i++) {
		size_t len;
		items[i] = sv_expand(run, f, a->first + i, &len);
	}
	char *nv = flags_apply(cur, op, items, a->n);
	free(items);
	return nv;
}

static const char *flags_var(struct sv_run *run, struct sv_frame *f, const struct sv_node *n,
			     struct sv_var **var_r)
{
	*var_r = NULL;
	if (n->pos[0] == SV_NONE)
		return run->flags;
	size_t len;
	const char *name = sv_expand(run, f, f->s->args[n->pos[0]].first, &len);
	struct sv_var *v = sv_var_lookup(run, f, name, len, true);
	*var_r = v;
	return v != NULL ? v->value : "";
}

void sv_cmd_flags(struct sv_run *run, struct sv_frame *f, const struct sv_node *n, int op)
{
	struct sv_var *var;
	const char *cur = flags_var(run, f, n, &var);
	if (run->error)
		return;
	char *nv = list_flags(run, f, n->pos[1], cur, op);
	if (var != NULL) {
		sv_var_set(run, var, nv, strlen(nv));
		free(nv);
	} else {
		free(run->flags);
		run->flags = nv;
	}
}

/* Split a flag list into store flags and keywords. */
void sv_flags_to_store(const char *list, uint32_t *flags_r, char ***kw_r, size_t *n_kw_r)
{
	static const struct { const char *name; uint32_t bit; } sys[] = {
		{ "\\seen", STORE_FLAG_SEEN }, { "\\answered", STORE_FLAG_ANSWERED },
		{ "\\flagged", STORE_FLAG_FLAGGED }, { "\\deleted", STORE_FLAG_DELETED },
		{ "\\draft", STORE_FLAG_DRAFT },
	};
	*flags_r = 0;
	*kw_r = NULL;
	*n_kw_r = 0;
	const char *p;
	size_t len;
	while (sv_next_word(&list, &p, &len)) {
		if (p[0] == '\\') {
			for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
				if (strlen(sys[i].name) == len && strncasecmp(sys[i].name, p, len) == 0)
					*flags_r |= sys[i].bit;
		} else if (*n_kw_r < STORE_MAX_KEYWORDS_PER_MSG) {
			bool ok = true;
			for (size_t i = 0; i < len; i++) {
				unsigned char c = (unsigned char)p[i];
				if (c <= 32 || c >= 127 || strchr("(){%*\"\\]", c) != NULL)
					ok = false;
			}
			if (ok) {
				*kw_r = xrealloc(*kw_r, (*n_kw_r + 1) * sizeof(**kw_r));
				(*kw_r)[(*n_kw_r)++] = xstrndup(p, len);
			}
		}
	}
}

/* ---- actions ---- */

static struct sv_action *action_add(struct sv_run *run, enum sieve_action_kind kind)
{
	if (run->n_actions >= run->lim->max_actions) {
		sv_run_fail(run, SIEVE_ELIMIT, "more than max_actions (%u) actions",
			    run->lim->max_actions);
		return NULL;
	}
	if (run->n_actions == run->cap_actions) {
		run->cap_actions = run->cap_actions ? run->cap_actions * 2 : 8;
		run->actions = xrealloc(run->actions, run->cap_actions * sizeof(*run->actions));
	}
	struct sv_action *a = &run->actions[run->n_actions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

static bool same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0)
		return true;
	return strcmp(a, b) == 0;
}

static void store_action(struct sv_run *run, struct sv_frame *f, const struct sv_node *n,
			 const char *mailbox)
{
	for (size_t i = 0; i < run->n_actions; i++) {
		struct sv_action *a = &run->actions[i];
		if ((a->kind == SIEVE_ACT_KEEP || a->kind == SIEVE_ACT_FILEINTO) &&
		    same_mailbox(a->mailbox, mailbox))
			return; /* RFC 5228 2.10.3: once per mailbox */
	}
	const char *flags = run->flags;
	if (n->slot[0] != SV_NONE) {
		flags = sv_tmp(run, list_flags(run, f, n->slot[0], "", 0));
	}
	bool keep = n->id == SV_C_KEEP;
	struct sv_action *a = action_add(run, keep ? SIEVE_ACT_KEEP : SIEVE_ACT_FILEINTO);
	if (a == NULL)
		return;
	a->mailbox = xstrdup(keep ? "INBOX" : mailbox);
	a->create = (n->tags & SV_TAGBIT(SV_TAG_CREATE)) != 0;
	a->copy = (n->tags & SV_TAGBIT(SV_TAG_COPY)) != 0;
	sv_flags_to_store(flags, &a->flags, &a->keywords, &a->n_keywords);
}

void sv_cmd_keep(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	store_action(run, f, n, "INBOX");
	run->implicit_keep = false;
}

void sv_cmd_fileinto(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	size_t len;
	const char *mb = sv_expand(run, f, f->s->args[n->pos[0]].first, &len);
	if (len == 0 || !sv_utf8_valid(mb, len) || strlen(mb) != len) {
		sv_run_fail(run, SIEVE_ERUNTIME, "fileinto: invalid mailbox name \"%s\"", mb);
		return;
	}
	store_action(run, f, n, mb);
	if (!(n->tags & SV_TAGBIT(SV_TAG_COPY)))
		run->implicit_keep = false;
}

void sv_cmd_redirect(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	size_t len;
	const char *to = sv_expand(run, f, f->s->args[n->pos[0]].first, &len);
	if (!sv_address_valid(to, len) || strlen(to) != len) {
		sv_run_fail(run, SIEVE_ERUNTIME, "redirect: invalid address \"%s\"", to);
		return;
	}
	if (!(n->tags & SV_TAGBIT(SV_TAG_COPY)))
		run->implicit_keep = false;
	for (size_t i = 0; i < run->n_actions; i++)
		if (run->actions[i].kind == SIEVE_ACT_REDIRECT &&
		    strcasecmp(run->actions[i].address, to) == 0)
			return; /* RFC 5228 2.10.3 */
	if (++run->n_redirects > run->lim->max_redirects) {
		sv_run_fail(run, SIEVE_ELIMIT, "more than max_redirects (%u) redirects",
			    run->lim->max_redirects);
		return;
	}
	struct sv_action *a = action_add(run, SIEVE_ACT_REDIRECT);
	if (a == NULL)
		return;
	a->address = xstrdup(to);
	a->copy = (n->tags & SV_TAGBIT(SV_TAG_COPY)) != 0;
}

void sv_cmd_reject(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	for (size_t i = 0; i < run->n_actions; i++) {
		enum sieve_action_kind k = run->actions[i].kind;
		if (k == SIEVE_ACT_REJECT || k == SIEVE_ACT_EREJECT) {
			sv_run_fail(run, SIEVE_ERUNTIME, "more than one reject or ereject");
			return;
		}
	}
	size_t len;
	const char *reason = sv_expand(run, f, f->s->args[n->pos[0]].first, &len);
	struct sv_action *a = action_add(run, n->id == SV_C_REJECT ? SIEVE_ACT_REJECT
					 : SIEVE_ACT_EREJECT);
	if (a == NULL)
		return;
	a->text = xstrndup(reason, len);
	run->implicit_keep = false;
}

void sv_cmd_vacation(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	if (run->has_vacation) {
		sv_run_fail(run, SIEVE_ERUNTIME, "more than one vacation action");
		return;
	}
	run->has_vacation = true;
	const struct sieve_script *s = f->s;
	struct sv_vacation v;
	memset(&v, 0, sizeof(v));
	v.reason = sv_expand(run, f, s->args[n->pos[0]].first, &v.reason_len);
	uint64_t period = run->lim->vacation_default_period;
	if (n->slot[0] != SV_NONE) {
		uint64_t num = s->args[n->slot[0]].num;
		period = (n->tags & SV_TAGBIT(SV_TAG_DAYS)) ? num * 86400 : num;
	}
	if (period < run->lim->vacation_min_period)
		period = run->lim->vacation_min_period;
	if (period > run->lim->vacation_max_period)
		period = run->lim->vacation_max_period;
	v.period = (uint32_t)period;
	size_t len;
	if (n->slot[1] != SV_NONE)
		v.subject = sv_expand(run, f, s->args[n->slot[1]].first, &len);
	if (n->slot[2] != SV_NONE)
		v.from = sv_expand(run, f, s->args[n->slot[2]].first, &len);
	const char **addrs = NULL;
	if (n->slot[3] != SV_NONE) {
		const struct sv_arg *a = &s->args[n->slot[3]];
		addrs = xcalloc(a->n ? a->n : 1, sizeof(*addrs));
		for (uint32_t i = 0; i < a->n; i++)
			addrs[i] = sv_expand(run, f, a->first + i, &len);
		v.addresses = addrs;
		v.n_addresses = a->n;
	}
	v.mime = (n->tags & SV_TAGBIT(SV_TAG_MIME)) != 0;
	if (n->pos[2] != SV_NONE)
		v.handle = sv_expand(run, f, s->args[n->pos[2]].first, &len);
	char *to = NULL, *msg = NULL;
	unsigned char mark[32];
	const char *why = NULL;
	bool reply = sv_vacation_reply(run, &v, &to, &msg, mark, &why);
	free(addrs);
	if (!reply)
		return;
	struct sv_action *a = action_add(run, SIEVE_ACT_VACATION);
	if (a == NULL) {
		free(to);
		free(msg);
		return;
	}
	a->address = to;
	a->text = msg;
	memcpy(a->mark, mark, sizeof(mark));
	a->period = v.period;
}

