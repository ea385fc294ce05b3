/* Special-use attributes (see special-use.h). */
#include "server/imap/special-use.h"

#include <strings.h>

#include "conf/config.h"
#include "conf/mailboxes.h"
#include "lib/xmem.h"
#include "server/imap/reply.h"
#include "storage/store.h"

static const struct { const char *name; uint32_t bit; } uses[] = {
	{ "\\All", STORE_SPECIAL_ALL },
	{ "\\Archive", STORE_SPECIAL_ARCHIVE },
	{ "\\Drafts", STORE_SPECIAL_DRAFTS },
	{ "\\Flagged", STORE_SPECIAL_FLAGGED },
	{ "\\Junk", STORE_SPECIAL_JUNK },
	{ "\\Sent", STORE_SPECIAL_SENT },
	{ "\\Trash", STORE_SPECIAL_TRASH },
};

uint32_t imap_special_use_bit(const char *attr)
{
	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
		if (strcasecmp(uses[i].name, attr) == 0)
			return uses[i].bit;
	return 0;
}

void imap_special_use_write(struct imap_resp *r, uint32_t bits)
{
	for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		if (bits & uses[i].bit) {
			imap_resp_rawn(r, " ", 1);
			imap_resp_raw(r, uses[i].name);
		}
	}
}

uint32_t imap_special_use_creatable(void)
{
	return STORE_SPECIAL_ARCHIVE | STORE_SPECIAL_DRAFTS | STORE_SPECIAL_JUNK |
	       STORE_SPECIAL_SENT | STORE_SPECIAL_TRASH;
}

void imap_initial_mailboxes(const struct loft_config *cfg,
			    struct store_initial_mailbox **list_r, size_t *n_r)
{
	*list_r = NULL;
	*n_r = 0;
	struct conf_mailbox *conf;
	size_t n;
	char *why = NULL;
	if (cfg->initial_mailboxes == NULL ||
	    conf_mailboxes_parse(cfg->initial_mailboxes, &conf, &n, &why) < 0) {
		free(why);
		return;
	}
	if (n == 0)
		return;
	struct store_initial_mailbox *list = xcalloc(n, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		list[i].name = conf[i].name;
		conf[i].name = NULL;
		list[i].special_use = conf[i].use != NULL ? imap_special_use_bit(conf[i].use) : 0;
	}
	conf_mailboxes_free(conf, n);
	*list_r = list;
	*n_r = n;
}

void imap_initial_mailboxes_free(struct store_initial_mailbox *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)list[i].name);
	free(list);
}
