/* What a user name is: the allowed characters and length, case folding
 * (names are compared and stored lower case), and "user@domain" for the
 * configured local domains. The users file, `loft user` and every login go
 * through these functions, so the rule lives in one place. */
#include <string.h>
#include <strings.h>

#include "auth/userdb.h"

bool userdb_name_valid(const char *name)
{
	size_t len = name == NULL ? 0 : strlen(name);
	if (len == 0 || len > USERDB_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == '@' || c == '+' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

bool userdb_name_normalize(const char *name, char out[USERDB_NAME_MAX + 1])
{
	out[0] = '\0';
	if (!userdb_name_valid(name))
		return false;
	size_t i = 0;
	for (; name[i] != '\0'; i++) {
		char c = name[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[i] = '\0';
	return true;
}

bool userdb_name_strip_domain(const char *name, const char *local_domains,
			      char out[USERDB_NAME_MAX + 1])
{
	out[0] = '\0';
	const char *at = strrchr(name, '@');
	if (at == NULL || at == name || at[1] == '\0' || local_domains == NULL)
		return false;
	const char *domain = at + 1;
	size_t dl = strlen(domain);
	const char *p = local_domains;
	while (*p != '\0') {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len == dl && len > 0 && strncasecmp(p, domain, len) == 0) {
			size_t local = (size_t)(at - name);
			memcpy(out, name, local);
			out[local] = '\0';
			return userdb_name_valid(out);
		}
		p += len;
	}
	return false;
}
