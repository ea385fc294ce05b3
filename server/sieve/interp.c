/* The Sieve interpreter: runs a compiled script's commands over one message
 * and collects actions (RFC 5228 section 2.10: implicit keep, duplicate
 * deliveries to one mailbox or address merged, reject conflicts), counting
 * CPU steps, actions and redirects against their limits. Runtime errors
 * (RFC 5228 2.10.6) stop the run with run->error set; the plan then keeps
 * the message. Tests are in tests.c, variables and flags helpers here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/sieve/interp.h"
#include "storage/store.h"

void sv_run_fail(struct sv_run *run, int code, const char *fmt, ...)
{
	if (run->error != NULL)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	run->error = xstrdup(text);
	run->error_code = code;
}

bool sv_step(struct sv_run *run, uint64_t n)
{
	run->steps += n;
	if (run->steps > run->lim->max_steps) {
		sv_run_fail(run, SIEVE_ELIMIT, "the script used more than max_steps (%llu) CPU steps",
			    (unsigned long long)run->lim->max_steps);
		return false;
	}
	return true;
}

char *sv_tmp(struct sv_run *run, char *s)
{
	if (run->n_tmp == run->cap_tmp) {
		run->cap_tmp = run->cap_tmp ? run->cap_tmp * 2 : 16;
		run->tmp = xrealloc(run->tmp, run->cap_tmp * sizeof(*run->tmp));
	}
	run->tmp[run->n_tmp++] = s;
	return s;
}

static void tmp_clear(struct sv_run *run)
{
	for (size_t i = 0; i < run->n_tmp; i++)
		free(run->tmp[i]);
	run->n_tmp = 0;
}

/* ---- variables ---- */

static bool is_global(struct sv_frame *f, const char *name, size_t len)
{
	for (size_t i = 0; i < f->n_globals; i++)
		if (strlen(f->globals[i]) == len && strncasecmp(f->globals[i], name, len) == 0)
			return true;
	return false;
}

struct sv_var *sv_var_lookup(struct sv_run *run, struct sv_frame *f, const char *name,
			     size_t len, bool create)
{
	struct sv_vars *vars = is_global(f, name, len) ? &run->globals : &f->locals;
	struct sv_var *v = sv_vars_get(vars, name, len, false);
	if (v != NULL || !create)
		return v;
	if (vars->n >= run->lim->max_variables) {
		sv_run_fail(run, SIEVE_ELIMIT, "more than max_variables (%u) variables",
			    run->lim->max_variables);
		return NULL;
	}
	return sv_vars_get(vars, name, len, true);
}

static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void sv_var_set(struct sv_run *run, struct sv_var *v, const char *value, size_t len)
{
	len = utf8_cut(value, len, run->lim->max_variable_size);
	char *nv = xstrndup(value, len);
	free(v->value);
	v->value = nv;
	v->len = len;
}

const char *sv_expand(struct sv_run *run, struct sv_frame *f, uint32_t str, size_t *len_r)
{
	const struct sieve_script *s = f->s;
	const char *in = sv_str_data(s, str);
	size_t len = s->strs[str].len;
	if (!s->strs[str].vars || !f->vars) {
		*len_r = len;
		return in;
	}
	struct msg_buf out = { 0 };
	size_t i = 0;
	while (i < len) {
		const char *open = memmem(in + i, len - i, "${", 2);
		if (open == NULL) {
			msg_buf_append(&out, in + i, len - i);
			break;
		}
		size_t at = (size_t)(open - in);
		msg_buf_append(&out, in + i, at - i);
		const char *close = memchr(open + 2, '}', len - at - 2);
		if (close == NULL) {
			msg_buf_append(&out, open, len - at);
			break;
		}
		const char *name = open + 2;
		size_t nlen = (size_t)(close - name);
		bool digits = nlen > 0;
		for (size_t k = 0; k < nlen; k++)
			if (name[k] < '0' || name[k] > '9')
				digits = false;
		if (digits) {
			unsigned long idx = 0;
			for (size_t k = 0; k < nlen && idx < 100; k++)
				idx = idx * 10 + (unsigned long)(name[k] - '0');
			if (idx < run->ncaps && run->capbuf[idx] != NULL)
				msg_buf_append(&out, run->capbuf[idx], run->caplen[idx]);
		} else if (sv_var_name_valid(name, nlen)) {
			struct sv_var *v = sv_var_lookup(run, f, name, nlen, false);
			if (v != NULL)
				msg_buf_append(&out, v->value, v->len);
		} else {
			/* not a variable reference: kept as written (RFC 5229 3) */
			msg_buf_append(&out, open, nlen + 3);
		}
		i = (size_t)(close - in) + 1;
		if (out.len > run->lim->max_variable_size * 4)
			break;
	}
	msg_buf_putc(&out, '\0');
	*len_r = out.len - 1;
	(void)sv_step(run, 1 + out.len / 1024);
	return sv_tmp(run, out.data);
}

void sv_set_caps(struct sv_run *run, const struct sv_caps *caps)
{
	for (unsigned i = 0; i < 10; i++)
		x_free(&run->capbuf[i]);
	run->ncaps = caps->n;
	for (unsigned i = 0; i < caps->n && i < 10; i++) {
		run->capbuf[i] = xstrndup(caps->s[i], caps->len[i]);
		run->caplen[i] = caps->len[i];
	}
}

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

static void cmd_flags(struct sv_run *run, struct sv_frame *f, const struct sv_node *n, int op)
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

static void cmd_keep(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	store_action(run, f, n, "INBOX");
	run->implicit_keep = false;
}

static void cmd_fileinto(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
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

static void cmd_redirect(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
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

static void cmd_reject(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
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

static void cmd_vacation(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
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

static void cmd_set(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	const struct sieve_script *s = f->s;
	size_t nlen, vlen;
	const char *name = sv_expand(run, f, s->args[n->pos[0]].first, &nlen);
	const char *value = sv_expand(run, f, s->args[n->pos[1]].first, &vlen);
	char *v = xstrndup(value, vlen);
	if (n->tags & (SV_TAGBIT(SV_TAG_LOWER) | SV_TAGBIT(SV_TAG_UPPER))) {
		bool up = (n->tags & SV_TAGBIT(SV_TAG_UPPER)) != 0;
		for (size_t i = 0; i < vlen; i++) {
			if (up && v[i] >= 'a' && v[i] <= 'z')
				v[i] = (char)(v[i] - 32);
			else if (!up && v[i] >= 'A' && v[i] <= 'Z')
				v[i] = (char)(v[i] + 32);
		}
	}
	if (vlen > 0 && (n->tags & SV_TAGBIT(SV_TAG_LOWERFIRST)) && v[0] >= 'A' && v[0] <= 'Z')
		v[0] = (char)(v[0] + 32);
	if (vlen > 0 && (n->tags & SV_TAGBIT(SV_TAG_UPPERFIRST)) && v[0] >= 'a' && v[0] <= 'z')
		v[0] = (char)(v[0] - 32);
	if (n->tags & SV_TAGBIT(SV_TAG_QUOTEWILDCARD)) {
		struct msg_buf q = { 0 };
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] == '*' || v[i] == '?' || v[i] == '\\')
				msg_buf_putc(&q, '\\');
			msg_buf_putc(&q, v[i]);
		}
		msg_buf_putc(&q, '\0');
		free(v);
		v = q.data;
		vlen = q.len - 1;
	}
	if (n->tags & SV_TAGBIT(SV_TAG_LENGTH)) {
		size_t chars = 0;
		for (size_t i = 0; i < vlen; i++)
			if (((unsigned char)v[i] & 0xc0) != 0x80)
				chars++;
		free(v);
		v = xasprintf("%zu", chars);
		vlen = strlen(v);
	}
	struct sv_var *var = sv_var_lookup(run, f, name, nlen, true);
	if (var != NULL)
		sv_var_set(run, var, v, vlen);
	free(v);
}

static void cmd_addheader(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	size_t nlen, vlen;
	const char *name = sv_expand(run, f, f->s->args[n->pos[0]].first, &nlen);
	const char *value = sv_expand(run, f, f->s->args[n->pos[1]].first, &vlen);
	if (!sv_header_name_valid(name, nlen) || strcasecmp(name, "received") == 0 ||
	    strcasecmp(name, "auto-submitted") == 0) {
		sv_run_fail(run, SIEVE_ERUNTIME, "addheader: header \"%s\" cannot be added", name);
		return;
	}
	if (!sv_utf8_valid(value, vlen) || memchr(value, '\0', vlen) != NULL) {
		sv_run_fail(run, SIEVE_ERUNTIME, "addheader: invalid value");
		return;
	}
	sv_msg_add(&run->msg, name, value, vlen, (n->tags & SV_TAGBIT(SV_TAG_LAST)) != 0);
}

static void cmd_deleteheader(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	size_t nlen;
	const char *name = sv_expand(run, f, f->s->args[n->pos[0]].first, &nlen);
	if (!sv_header_name_valid(name, nlen) || strcasecmp(name, "received") == 0 ||
	    strcasecmp(name, "auto-submitted") == 0) {
		sv_run_fail(run, SIEVE_ERUNTIME, "deleteheader: header \"%s\" cannot be deleted",
			    name);
		return;
	}
	if (sv_msg_load(&run->msg) != 0)
		return;
	size_t total = sv_msg_count(&run->msg, name);
	size_t target = SIZE_MAX;
	if (n->index != 0) {
		if (n->index > total)
			return;
		target = (n->tags & SV_TAGBIT(SV_TAG_LAST)) ? total - n->index : n->index - 1;
	}
	const struct sv_arg *pat = n->pos[1] != SV_NONE ? &f->s->args[n->pos[1]] : NULL;
	size_t occ = 0;
	for (size_t i = 0; i < run->msg.n_fields;) {
		struct sv_field *fl = &run->msg.fields[i];
		if (strcasecmp(fl->name, name) != 0) {
			i++;
			continue;
		}
		size_t this = occ++;
		bool del = target == SIZE_MAX || this == target;
		if (del && pat != NULL) {
			size_t vl;
			const char *val = sv_msg_value_at(&run->msg, i, &vl);
			del = false;
			for (uint32_t k = 0; k < pat->n && !del; k++) {
				size_t klen;
				const char *key = sv_expand(run, f, pat->first + k, &klen);
				if (!sv_step(run, 1))
					return;
				del = sv_match(n->cmp, n->match, n->rel, val, vl, key, klen, NULL);
			}
		}
		if (del)
			sv_msg_delete(&run->msg, i);
		else
			i++;
	}
}

/* ---- include (RFC 6609) ---- */

enum { X_NEXT = 0, X_STOP = 1, X_RETURN = 2, X_FAIL = -1 };

static int exec_script(struct sv_run *run, struct sieve_script *script);

static bool name_in(char **list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static int cmd_include(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	size_t len;
	const char *name = sv_expand(run, f, f->s->args[n->pos[0]].first, &len);
	bool global = (n->tags & SV_TAGBIT(SV_TAG_GLOBAL)) != 0;
	bool optional = (n->tags & SV_TAGBIT(SV_TAG_OPTIONAL)) != 0;
	if (len == 0 || len > 255 || memchr(name, '/', len) != NULL || name[0] == '.' ||
	    strlen(name) != len) {
		sv_run_fail(run, SIEVE_ERUNTIME, "include: invalid script name \"%s\"", name);
		return X_FAIL;
	}
	/* the key outlives this command's temporary strings (the included
	 * script's commands free them) */
	char key[512];
	snprintf(key, sizeof(key), "%c:%s", global ? 'g' : 'p', name);
	if ((n->tags & SV_TAGBIT(SV_TAG_ONCE)) && name_in(run->once, run->n_once, key))
		return X_NEXT;
	if (name_in(run->stack, run->depth, key)) {
		sv_run_fail(run, SIEVE_ERUNTIME, "include: script \"%s\" includes itself", name);
		return X_FAIL;
	}
	if (run->depth >= run->lim->max_include_depth) {
		sv_run_fail(run, SIEVE_ELIMIT, "include: nested deeper than max_include_depth (%u)",
			    run->lim->max_include_depth);
		return X_FAIL;
	}
	if (run->loader == NULL) {
		if (optional)
			return X_NEXT;
		sv_run_fail(run, SIEVE_ERUNTIME, "include: no scripts to include from");
		return X_FAIL;
	}
	struct sieve_script *inc = NULL;
	char *err = NULL;
	int r = run->loader(run->loader_ctx, key + 2, global, &inc, &err);
	if (r == SIEVE_ENOTFOUND && optional) {
		free(err);
		return X_NEXT;
	}
	if (r != 0) {
		sv_run_fail(run, r == SIEVE_ENOTFOUND ? SIEVE_ERUNTIME : r,
			    "include: %s script \"%s\": %s", global ? "global" : "personal", key + 2,
			    err != NULL ? err : sieve_strerror(r));
		free(err);
		return X_FAIL;
	}
	run->stack = xrealloc(run->stack, (run->depth + 1) * sizeof(*run->stack));
	run->stack[run->depth++] = xstrdup(key);
	r = exec_script(run, inc);
	run->depth--;
	free(run->stack[run->depth]);
	sieve_script_unref(&inc);
	if (n->tags & SV_TAGBIT(SV_TAG_ONCE)) {
		run->once = xrealloc(run->once, (run->n_once + 1) * sizeof(*run->once));
		run->once[run->n_once++] = xstrdup(key);
	}
	return r == X_RETURN ? X_NEXT : r;
}

static void cmd_global(struct sv_run *run, struct sv_frame *f, const struct sv_node *n)
{
	const struct sv_arg *a = &f->s->args[n->pos[0]];
	for (uint32_t i = 0; i < a->n; i++) {
		size_t len;
		const char *name = sv_expand(run, f, a->first + i, &len);
		if (!sv_var_name_valid(name, len)) {
			sv_run_fail(run, SIEVE_ERUNTIME, "global: invalid variable name \"%s\"", name);
			return;
		}
		f->globals = xrealloc(f->globals, (f->n_globals + 1) * sizeof(*f->globals));
		f->globals[f->n_globals++] = xstrndup(name, len);
	}
}

/* ---- commands ---- */

static int exec_block(struct sv_run *run, struct sv_frame *f, uint32_t first)
{
	struct sieve_script *s = f->s;
	bool chain_taken = false;
	for (uint32_t ni = first; ni != SV_NONE; ni = s->nodes[ni].next) {
		const struct sv_node *n = &s->nodes[ni];
		if (!sv_step(run, 1))
			return X_FAIL;
		int r = X_NEXT;
		switch (n->id) {
		case SV_C_REQUIRE:
			break;
		case SV_C_IF:
		case SV_C_ELSIF:
		case SV_C_ELSE: {
			if (n->id == SV_C_IF)
				chain_taken = false;
			if (chain_taken)
				break;
			bool take = n->id == SV_C_ELSE || sv_eval_test(run, f, n->test);
			tmp_clear(run);
			if (run->error)
				return X_FAIL;
			if (take) {
				chain_taken = true;
				r = exec_block(run, f, n->block);
			}
			break;
		}
		case SV_C_STOP: r = X_STOP; break;
		case SV_C_RETURN: r = X_RETURN; break;
		case SV_C_KEEP: cmd_keep(run, f, n); break;
		case SV_C_DISCARD:
			run->implicit_keep = false;
			break;
		case SV_C_REDIRECT: cmd_redirect(run, f, n); break;
		case SV_C_FILEINTO: cmd_fileinto(run, f, n); break;
		case SV_C_REJECT:
		case SV_C_EREJECT: cmd_reject(run, f, n); break;
		case SV_C_VACATION: cmd_vacation(run, f, n); break;
		case SV_C_SETFLAG: cmd_flags(run, f, n, 0); break;
		case SV_C_ADDFLAG: cmd_flags(run, f, n, 1); break;
		case SV_C_REMOVEFLAG: cmd_flags(run, f, n, 2); break;
		case SV_C_SET: cmd_set(run, f, n); break;
		case SV_C_ADDHEADER: cmd_addheader(run, f, n); break;
		case SV_C_DELETEHEADER: cmd_deleteheader(run, f, n); break;
		case SV_C_INCLUDE: r = cmd_include(run, f, n); break;
		case SV_C_GLOBAL: cmd_global(run, f, n); break;
		default:
			sv_run_fail(run, SIEVE_ERUNTIME, "line %u: '%s' cannot run here", n->line,
				    sv_id_name(n->id));
			break;
		}
		if (n->id != SV_C_IF && n->id != SV_C_ELSIF && n->id != SV_C_ELSE)
			chain_taken = false;
		tmp_clear(run);
		if (run->error)
			return X_FAIL;
		if (run->msg.io_error) {
			sv_run_fail(run, SIEVE_EIO, "the message could not be read");
			return X_FAIL;
		}
		if (r != X_NEXT)
			return r;
	}
	return X_NEXT;
}

static int exec_script(struct sv_run *run, struct sieve_script *script)
{
	struct sv_frame f;
	memset(&f, 0, sizeof(f));
	f.s = script;
	f.vars = (script->exts & SV_EXT_BIT(SV_EXT_VARIABLES)) != 0;
	int r = exec_block(run, &f, script->root);
	sv_vars_free(&f.locals);
	for (size_t i = 0; i < f.n_globals; i++)
		free(f.globals[i]);
	free(f.globals);
	return r;
}

int sv_run_script(struct sv_run *run, struct sieve_script *script)
{
	run->implicit_keep = true;
	if (run->flags == NULL)
		run->flags = xstrdup("");
	int r = exec_script(run, script);
	tmp_clear(run);
	if (r == X_FAIL || run->error != NULL)
		return run->error_code ? run->error_code : SIEVE_ERUNTIME;
	/* RFC 5429 2.2 (and Pigeonhole): a reject cannot go with a delivery */
	bool reject = false, deliver = false;
	for (size_t i = 0; i < run->n_actions; i++) {
		enum sieve_action_kind k = run->actions[i].kind;
		if (k == SIEVE_ACT_REJECT || k == SIEVE_ACT_EREJECT)
			reject = true;
		if (k == SIEVE_ACT_KEEP || k == SIEVE_ACT_FILEINTO || k == SIEVE_ACT_REDIRECT)
			deliver = true;
	}
	if (reject && deliver) {
		sv_run_fail(run, SIEVE_ERUNTIME, "reject cannot be combined with keep, fileinto "
			    "or redirect");
		return SIEVE_ERUNTIME;
	}
	return 0;
}

static void action_free(struct sv_action *a)
{
	free(a->mailbox);
	for (size_t i = 0; i < a->n_keywords; i++)
		free(a->keywords[i]);
	free(a->keywords);
	free(a->address);
	free(a->text);
}

void sv_run_free(struct sv_run *run)
{
	for (size_t i = 0; i < run->n_actions; i++)
		action_free(&run->actions[i]);
	free(run->actions);
	for (unsigned i = 0; i < 10; i++)
		free(run->capbuf[i]);
	sv_vars_free(&run->globals);
	free(run->flags);
	free(run->marks);
	free(run->error);
	for (size_t i = 0; i < run->depth; i++)
		free(run->stack[i]);
	free(run->stack);
	for (size_t i = 0; i < run->n_once; i++)
		free(run->once[i]);
	free(run->once);
	tmp_clear(run);
	free(run->tmp);
	sv_msg_free(&run->msg);
}
