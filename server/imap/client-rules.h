/* Capability switches per client: the [imap] client_rules setting and the
 * [imap] client_quirks table, matched on the name and version a client
 * sends with ID (RFC 2971). A rule is "NAME[/VERSION]: SWITCH ...", rules
 * separated by ";": NAME is compared with the ID "name" without regard to
 * case, VERSION (optional) must be a prefix of the ID "version", and the
 * switches (caps.h names) of every matching rule are switched off for the
 * session. The quirk table is a set of such rules shipped with the server,
 * each off until named in client_quirks (docs/PROTOCOLS.md says why each
 * exists). */
#ifndef LOFT_IMAP_CLIENT_RULES_H
#define LOFT_IMAP_CLIENT_RULES_H

#include <stddef.h>

struct loft_config;

/* Check [imap] client_rules: 0, or LOFT_EINVAL with a heap message in
 * *err_r naming the bad rule. */
int imap_client_rules_check(const struct loft_config *cfg, char **err_r);
/* The IMAP_CAP_* bits the rules and enabled quirks of cfg switch off for
 * a client that sent this name and version (version may be NULL). */
unsigned imap_client_rules_match(const struct loft_config *cfg, const char *name,
				 size_t name_len, const char *version, size_t version_len);

#endif
