/* Recipient resolution (see recipient.h). */
#include "server/lmtp/recipient.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool rcpt_domain_is_local(const char *local_domains, const char *domain)
{
	size_t dl = strlen(domain);
	const char *p = local_domains != NULL ? local_domains : "";
	while (*p != '\0') {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len == dl && len > 0 && strncasecmp(p, domain, len) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The user named name, if it is a valid name and exists. */
static const struct userdb_user *lookup(struct userdb *db, const char *name,
					struct rcpt_target *out)
{
	char norm[USERDB_NAME_MAX + 1];
	if (!userdb_name_normalize(name, norm))
		return NULL;
	const struct userdb_user *u = userdb_lookup(db, norm);
	if (u != NULL) {
		snprintf(out->user, sizeof(out->user), "%s", u->name);
		out->record = u;
	}
	return u;
}

/* name@domain as a user name (only when it fits). */
static const struct userdb_user *lookup_full(struct userdb *db, const char *local,
					     const char *domain, struct rcpt_target *out)
{
	char full[USERDB_NAME_MAX + 2];
	if (domain == NULL)
		return NULL;
	int n = snprintf(full, sizeof(full), "%s@%s", local, domain);
	if (n < 0 || (size_t)n > USERDB_NAME_MAX)
		return NULL;
	return lookup(db, full, out);
}

static enum rcpt_kind resolve_local(struct userdb *db, const struct rcpt_policy *pol,
				    const char *local, const char *domain,
				    struct rcpt_target *out)
{
	if (strcasecmp(local, "postmaster") == 0 && pol->postmaster != NULL)
		return lookup(db, pol->postmaster, out) != NULL ? RCPT_LOCAL : RCPT_UNKNOWN;
	if (lookup_full(db, local, domain, out) != NULL || lookup(db, local, out) != NULL)
		return RCPT_LOCAL;
	if (!pol->plus_addressing || pol->delimiter == NULL || pol->delimiter[0] == '\0')
		return RCPT_UNKNOWN;
	size_t cut = strcspn(local, pol->delimiter);
	if (cut == 0 || local[cut] == '\0' || local[cut + 1] == '\0')
		return RCPT_UNKNOWN;
	char user[SMTP_LOCAL_MAX + 1];
	memcpy(user, local, cut);
	user[cut] = '\0';
	if (lookup_full(db, user, domain, out) == NULL && lookup(db, user, out) == NULL)
		return RCPT_UNKNOWN;
	snprintf(out->detail, sizeof(out->detail), "%s", local + cut + 1);
	return RCPT_LOCAL;
}

enum rcpt_kind rcpt_resolve(struct userdb *db, const struct rcpt_policy *pol,
			    const struct smtp_path *path, struct rcpt_target *out)
{
	memset(out, 0, sizeof(*out));
	if (path->null)
		return RCPT_UNKNOWN;
	if (path->has_domain) {
		if (path->literal || !rcpt_domain_is_local(pol->local_domains, path->domain))
			return RCPT_NOT_LOCAL;
	} else if (!pol->lmtp && strcasecmp(path->local, "postmaster") != 0) {
		return RCPT_NOT_LOCAL;
	}
	return resolve_local(db, pol, path->local, path->has_domain ? path->domain : NULL,
			     out);
}

enum rcpt_kind rcpt_resolve_text(struct userdb *db, const struct rcpt_policy *pol,
				 const char *address, struct rcpt_target *out)
{
	char cmd[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 16];
	int n = snprintf(cmd, sizeof(cmd), "TO:<%s>", address);
	struct smtp_args args;
	memset(out, 0, sizeof(*out));
	/* -u names a user: "bob@example.org" may be one whatever the domain */
	if (lookup(db, address, out) != NULL)
		return RCPT_LOCAL;
	if (n < 0 || (size_t)n >= sizeof(cmd) ||
	    smtp_parse_args(cmd, (size_t)n, false, &args) != SMTP_PARSE_OK || args.n_params > 0)
		return RCPT_UNKNOWN;
	struct rcpt_policy p = *pol;
	p.lmtp = true;
	return rcpt_resolve(db, &p, &args.path, out);
}
