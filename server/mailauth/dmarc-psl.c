/* The Public Suffix List (Debian's publicsuffix package) and the
 * organizational domain of RFC 7489 3.2. Rules are kept sorted for binary
 * search; a name's public suffix is the longest rule that matches it
 * (normal, "*." wildcard, or "!" exception, which removes one label), or
 * its last label when none does (the "*" default rule). Loaded once per
 * configuration on the main thread; read-only afterwards, so every loop
 * shares it. */
#include "server/mailauth/dmarc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xmem.h"

struct dmarc_psl {
	char **rules;            /* sorted, lower case; "*.x" and "!x" as written */
	size_t n;
	char *text;              /* the strings' storage */
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct dmarc_psl *dmarc_psl_from_text(const char *text, size_t len)
{
	struct dmarc_psl *psl = xcalloc(1, sizeof(*psl));
	psl->text = xmalloc(len + 1);
	memcpy(psl->text, text, len);
	psl->text[len] = '\0';
	size_t cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(psl->text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		/* a rule is the line's first word; "//" begins a comment */
		while (*line == ' ' || *line == '\t')
			line++;
		if (line[0] == '\0' || (line[0] == '/' && line[1] == '/'))
			continue;
		line[strcspn(line, " \t\r")] = '\0';
		for (char *p = line; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (psl->n == cap) {
			cap = cap ? cap * 2 : 1024;
			psl->rules = xrealloc(psl->rules, cap * sizeof(*psl->rules));
		}
		psl->rules[psl->n++] = line;
	}
	if (psl->n > 0)
		qsort(psl->rules, psl->n, sizeof(*psl->rules), cmp);
	return psl;
}

int dmarc_psl_load(const char *path, struct dmarc_psl **psl_r, char **err_r)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		*err_r = xasprintf("public suffix list %s: %s", path, strerror(errno));
		return LOFT_EIO;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 256 * 1024;
			buf = xrealloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	bool err = ferror(fp) != 0;
	fclose(fp);
	if (err) {
		free(buf);
		*err_r = xasprintf("public suffix list %s: read error", path);
		return LOFT_EIO;
	}
	struct dmarc_psl *psl = dmarc_psl_from_text(buf, len);
	free(buf);
	if (psl->n == 0) {
		dmarc_psl_free(&psl);
		*err_r = xasprintf("public suffix list %s has no rules", path);
		return LOFT_EINVAL;
	}
	*psl_r = psl;
	return 0;
}

void dmarc_psl_free(struct dmarc_psl **pp)
{
	struct dmarc_psl *p = *pp;
	if (p == NULL)
		return;
	free(p->rules);
	free(p->text);
	x_free(pp);
}

size_t dmarc_psl_rules(const struct dmarc_psl *psl)
{
	return psl->n;
}

static bool has_rule(const struct dmarc_psl *psl, const char *prefix, const char *s)
{
	char key[300];
	if (snprintf(key, sizeof(key), "%s%s", prefix, s) >= (int)sizeof(key))
		return false;
	const char *k = key;
	return bsearch(&k, psl->rules, psl->n, sizeof(*psl->rules), cmp) != NULL;
}

char *dmarc_org_domain(const struct dmarc_psl *psl, const char *domain)
{
	char *d = xstrdup(domain);
	size_t dl = strlen(d);
	if (dl > 0 && d[dl - 1] == '.')
		d[--dl] = '\0';
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* label starts, left to right */
	size_t starts[128];
	size_t n = 0;
	starts[n++] = 0;
	for (size_t i = 0; i < dl && n < 128; i++)
		if (d[i] == '.')
			starts[n++] = i + 1;
	size_t ps = 1;   /* labels of the public suffix: "*" by default */
	for (size_t j = 0; j < n; j++) {
		const char *suffix = d + starts[j];
		if (has_rule(psl, "!", suffix)) {
			ps = n - j - 1;
			break;
		}
		if (has_rule(psl, "", suffix) ||
		    (j + 1 < n && has_rule(psl, "*.", d + starts[j + 1]))) {
			ps = n - j;
			break;
		}
	}
	if (ps >= n) {
		return d;    /* the name is a public suffix itself */
	}
	char *org = xstrdup(d + starts[n - ps - 1]);
	free(d);
	return org;
}
