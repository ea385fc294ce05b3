/* Per-client capability switches (client-rules.h): the parser of the
 * "NAME[/VERSION]: SWITCH ..." rules, the shipped quirk table and the
 * match on a client's ID. */
#include "server/imap/client-rules.h"

#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "lib/error.h"
#include "lib/xmem.h"
#include "server/imap/caps.h"

/* Known client quirks, each off until named in [imap] client_quirks; the
 * index is the conf_imap_quirk value. docs/PROTOCOLS.md explains each. */
static const char *const quirks[CONF_IMAP_QUIRK_COUNT] = {
	[CONF_IMAP_QUIRK_NONE] = "",
	[CONF_IMAP_QUIRK_THUNDERBIRD_CONDSTORE] = "Thunderbird: CONDSTORE QRESYNC",
	[CONF_IMAP_QUIRK_K9_COMPRESS] = "K-9 Mail: COMPRESS",
};

struct rule {
	const char *name, *version, *caps;
	size_t name_len, version_len, caps_len;
};

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

/* One rule of len bytes at p: 0, or -1 with a static reason. */
static int rule_parse(const char *p, size_t len, struct rule *r, const char **why_r)
{
	const char *colon = memchr(p, ':', len);
	if (colon == NULL) {
		*why_r = "needs \"NAME[/VERSION]: SWITCH ...\"";
		return -1;
	}
	r->name = p;
	r->name_len = (size_t)(colon - p);
	r->caps = colon + 1;
	r->caps_len = len - r->name_len - 1;
	const char *slash = memchr(p, '/', r->name_len);
	r->version = NULL;
	r->version_len = 0;
	if (slash != NULL) {
		r->version = slash + 1;
		r->version_len = (size_t)(colon - slash - 1);
		r->name_len = (size_t)(slash - p);
		trim(&r->version, &r->version_len);
	}
	trim(&r->name, &r->name_len);
	trim(&r->caps, &r->caps_len);
	if (r->name_len == 0) {
		*why_r = "has no client name";
		return -1;
	}
	if (slash != NULL && r->version_len == 0) {
		*why_r = "has an empty version after '/'";
		return -1;
	}
	if (r->caps_len == 0) {
		*why_r = "names no capability";
		return -1;
	}
	return 0;
}

/* Call fn for each rule of text; stops at the first that fails. */
static int rules_each(const char *text, int (*fn)(const struct rule *r, const char *at,
						  size_t len, const char *why, void *ctx),
		      void *ctx)
{
	const char *p = text;
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ';');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *q = p;
		size_t qlen = len;
		trim(&q, &qlen);
		if (qlen > 0) {
			struct rule r;
			const char *why = NULL;
			int rc = rule_parse(q, qlen, &r, &why);
			rc = fn(rc == 0 ? &r : NULL, q, qlen, why, ctx);
			if (rc < 0)
				return rc;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

struct check_ctx {
	char *err;
};

static int check_rule(const struct rule *r, const char *at, size_t len, const char *why,
		      void *ctx)
{
	struct check_ctx *c = ctx;
	if (r == NULL) {
		c->err = xasprintf("[imap] client_rules: rule \"%.*s\" %s", (int)len, at, why);
		return -1;
	}
	const char *bad = NULL;
	size_t bad_len = 0;
	imap_caps_parse(r->caps, r->caps_len, &bad, &bad_len);
	if (bad != NULL) {
		char names[256];
		imap_caps_names(names, sizeof(names), ~0u);
		c->err = xasprintf("[imap] client_rules: rule for \"%.*s\" names \"%.*s\", "
				   "which is no capability switch; use %s", (int)r->name_len,
				   r->name, (int)bad_len, bad, names);
		return -1;
	}
	return 0;
}

int imap_client_rules_check(const struct loft_config *cfg, char **err_r)
{
	struct check_ctx c = { NULL };
	if (cfg->imap_client_rules != NULL && rules_each(cfg->imap_client_rules, check_rule, &c) < 0) {
		*err_r = c.err;
		return LOFT_EINVAL;
	}
	return 0;
}

struct match_ctx {
	const char *name, *version;
	size_t name_len, version_len;
	unsigned bits;
};

static int match_rule(const struct rule *r, const char *at, size_t len, const char *why,
		      void *ctx)
{
	struct match_ctx *m = ctx;
	(void)at;
	(void)len;
	(void)why;
	if (r == NULL)
		return 0;             /* refused at load; never half-applied */
	if (r->name_len != m->name_len || strncasecmp(r->name, m->name, r->name_len) != 0)
		return 0;
	if (r->version != NULL && (m->version == NULL || m->version_len < r->version_len ||
				   memcmp(r->version, m->version, r->version_len) != 0))
		return 0;
	m->bits |= imap_caps_parse(r->caps, r->caps_len, NULL, NULL);
	return 0;
}

unsigned imap_client_rules_match(const struct loft_config *cfg, const char *name,
				 size_t name_len, const char *version, size_t version_len)
{
	struct match_ctx m = {
		.name = name, .name_len = name_len, .version = version,
		.version_len = version_len,
	};
	if (cfg->imap_client_rules != NULL)
		rules_each(cfg->imap_client_rules, match_rule, &m);
	for (unsigned i = 1; i < CONF_IMAP_QUIRK_COUNT; i++)
		if (cfg->imap_client_quirks & (1u << i))
			rules_each(quirks[i], match_rule, &m);
	return m.bits;
}
