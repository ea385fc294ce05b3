/* The Sieve interpreter: runs a compiled script's commands over one message
 * (control flow, include, set, editheader here; tests in tests.c, actions
 * in actions.c), counting CPU steps against max_steps, expanding variables,
 * and checking at the end that a reject goes with no delivery (RFC 5429).
 * Runtime errors (RFC 5228 2.10.6) stop the run with run->error set; the
 * plan then keeps the message. */
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
		case SV_C_KEEP: sv_cmd_keep(run, f, n); break;
		case SV_C_DISCARD:
			run->implicit_keep = false;
			break;
		case SV_C_REDIRECT: sv_cmd_redirect(run, f, n); break;
		case SV_C_FILEINTO: sv_cmd_fileinto(run, f, n); break;
		case SV_C_REJECT:
		case SV_C_EREJECT: sv_cmd_reject(run, f, n); break;
		case SV_C_VACATION: sv_cmd_vacation(run, f, n); break;
		case SV_C_SETFLAG: sv_cmd_flags(run, f, n, 0); break;
		case SV_C_ADDFLAG: sv_cmd_flags(run, f, n, 1); break;
		case SV_C_REMOVEFLAG: sv_cmd_flags(run, f, n, 2); break;
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
