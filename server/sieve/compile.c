/* Compiling a script (sieve_compile: parse, validate, then pack the arrays
 * into one exactly-sized block), the script's reference count, and the
 * small shared tables: limits' defaults, error and action names. */
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/sieve/sieve-internal.h"

const char *sieve_strerror(int err)
{
	switch (err) {
	case SIEVE_OK: return "OK";
	case SIEVE_ESYNTAX: return "script error";
	case SIEVE_ELIMIT: return "limit exceeded";
	case SIEVE_ERUNTIME: return "runtime error";
	case SIEVE_ENOTFOUND: return "no such script";
	case SIEVE_EIO: return "I/O error";
	default: return "error";
	}
}

const char *sieve_action_name(enum sieve_action_kind kind)
{
	static const char *const names[] = {
		"keep", "fileinto", "redirect", "reject", "ereject", "vacation", "discard",
	};
	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

void sieve_limits_default(struct sieve_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_script_size = 1024 * 1024;
	lim->max_scripts = 32;
	lim->max_actions = 32;
	lim->max_redirects = 4;
	lim->max_steps = 1000000;
	lim->max_nesting = 32;
	lim->max_include_depth = 10;
	lim->max_variable_size = 4096;
	lim->max_variables = 128;
	lim->max_body_size = 1024 * 1024;
	lim->max_header_size = 256 * 1024;
	lim->vacation_min_period = 86400;
	lim->vacation_max_period = 90 * 86400;
	lim->vacation_default_period = 7 * 86400;
	lim->duplicate_default_period = 7 * 86400;
	lim->duplicate_max_period = 30 * 86400;
	lim->max_marks = 10000;
}

/* Move the growable arrays into one block sized to fit. */
static void pack(struct sieve_script *s)
{
	size_t nodes = (size_t)s->n_nodes * sizeof(*s->nodes);
	size_t args = (size_t)s->n_args * sizeof(*s->args);
	size_t strs = (size_t)s->n_strs * sizeof(*s->strs);
	char *block = xmalloc(nodes + args + strs + s->pool_len + 1);
	char *p = block;
	if (nodes)
		memcpy(p, s->nodes, nodes);
	free(s->nodes);
	s->nodes = (struct sv_node *)(void *)p;
	p += nodes;
	if (args)
		memcpy(p, s->args, args);
	free(s->args);
	s->args = (struct sv_arg *)(void *)p;
	p += args;
	if (strs)
		memcpy(p, s->strs, strs);
	free(s->strs);
	s->strs = (struct sv_str *)(void *)p;
	p += strs;
	if (s->pool_len)
		memcpy(p, s->pool, s->pool_len);
	free(s->pool);
	s->pool = p;
	s->memory = nodes + args + strs + s->pool_len;
	/* only the first pointer owns the block now */
	s->args = s->n_args ? s->args : NULL;
}

int sieve_compile(const struct sieve_limits *lim, const char *name, const char *text,
		  size_t len, struct sieve_script **script_r, char **err_r)
{
	*script_r = NULL;
	if (err_r != NULL)
		*err_r = NULL;
	struct sieve_script *s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name != NULL ? name : "");
	struct msg_buf eb = { 0 };
	struct sv_errors errs = { &eb, 0 };
	int r = sv_parse(lim, text, len, s, &errs);
	if (r == SIEVE_OK)
		r = sv_validate(lim, s, &errs);
	if (r != SIEVE_OK) {
		if (errs.count > SV_MAX_ERRORS)
			msg_buf_printf(&eb, "(%u more errors)\n", errs.count - SV_MAX_ERRORS);
		if (eb.len > 0 && eb.data[eb.len - 1] == '\n')
			eb.len--;
		msg_buf_putc(&eb, '\0');
		if (err_r != NULL)
			*err_r = eb.data;
		else
			msg_buf_free(&eb);
		sv_script_destroy(s);
		return r;
	}
	msg_buf_free(&eb);
	pack(s);
	atomic_init(&s->refs, 1);
	*script_r = s;
	return SIEVE_OK;
}

void sieve_script_ref(struct sieve_script *script)
{
	atomic_fetch_add(&script->refs, 1);
}

void sieve_script_unref(struct sieve_script **scriptp)
{
	struct sieve_script *s = *scriptp;
	if (s == NULL)
		return;
	*scriptp = NULL;
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->nodes); /* the packed block */
	free(s->name);
	free(s);
}

size_t sieve_script_memory(const struct sieve_script *script)
{
	return script->memory + sizeof(*script);
}

void sieve_script_includes(const struct sieve_script *s,
			   void (*cb)(const char *name, bool global, bool optional, void *ctx),
			   void *ctx)
{
	bool vars = (s->exts & SV_EXT_BIT(SV_EXT_VARIABLES)) != 0;
	for (uint32_t i = 0; i < s->n_nodes; i++) {
		const struct sv_node *n = &s->nodes[i];
		if (n->id != SV_C_INCLUDE)
			continue;
		uint32_t st = s->args[n->pos[0]].first;
		if (vars && s->strs[st].vars)
			continue;
		cb(sv_str_data(s, st), (n->tags & SV_TAGBIT(SV_TAG_GLOBAL)) != 0,
		   (n->tags & SV_TAGBIT(SV_TAG_OPTIONAL)) != 0, ctx);
	}
}
