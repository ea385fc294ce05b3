/* Variables of the variables extension (RFC 5229): a small table of
 * case-insensitive names and their values per script (and one for the
 * variables shared with "global", RFC 6609). Linear search: scripts set a
 * handful of variables, and max_variables bounds them. */
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/sieve/run.h"

struct sv_var *sv_vars_get(struct sv_vars *vars, const char *name, size_t len, bool create)
{
	for (size_t i = 0; i < vars->n; i++)
		if (strlen(vars->v[i].name) == len && strncasecmp(vars->v[i].name, name, len) == 0)
			return &vars->v[i];
	if (!create)
		return NULL;
	if (vars->n == vars->cap) {
		vars->cap = vars->cap ? vars->cap * 2 : 8;
		vars->v = xrealloc(vars->v, vars->cap * sizeof(*vars->v));
	}
	struct sv_var *v = &vars->v[vars->n++];
	v->name = xstrndup(name, len);
	for (char *p = v->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	v->value = xstrdup("");
	v->len = 0;
	return v;
}

void sv_vars_free(struct sv_vars *vars)
{
	for (size_t i = 0; i < vars->n; i++) {
		free(vars->v[i].name);
		free(vars->v[i].value);
	}
	free(vars->v);
	memset(vars, 0, sizeof(*vars));
}
