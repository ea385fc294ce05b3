/* Paths of mailboxes and message files below a user's directory, built only
 * from validated canonical names (mailbox-name.h) and index records. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/store-private.h"

char *store_name_canonical(const char *name)
{
	if (name == NULL)
		return NULL;
	return mailbox_name_canonical(name);
}

char *store_mailbox_path(const struct store_user *user, const char *name)
{
	char *rel = mailbox_name_to_dir(name);
	if (rel == NULL)
		return NULL;
	/* Maildir++ keeps every folder as one directory entry: a name whose
	 * escaped form exceeds NAME_MAX cannot exist on disk (STORE_EINVALID). */
	if (strlen(rel) > NAME_MAX) {
		free(rel);
		return NULL;
	}
	char *path = rel[0] == '\0' ? xstrdup(user->dir) : xasprintf("%s/%s", user->dir, rel);
	free(rel);
	return path;
}

int store_msg_filename(const struct idx_msg *m, char *buf, size_t size)
{
	struct maildir_name n;
	memset(&n, 0, sizeof(n));
	snprintf(n.base, sizeof(n.base), "%s", m->base);
	n.uid = m->uid;
	n.size = m->size;
	n.vsize = m->vsize;
	n.flags = m->flags & ~(uint32_t)STORE_FLAG_RECENT;
	n.keyword_bits = idx_msg_keyword_bits(m);
	n.has_info = true;
	return maildir_name_format(&n, buf, size) < 0 ? -1 : 0;
}

char *store_msg_path(const char *mbox_dir, const struct idx_msg *m)
{
	char name[512];
	if (store_msg_filename(m, name, sizeof(name)) != 0)
		return NULL;
	return xasprintf("%s/cur/%s", mbox_dir, name);
}
