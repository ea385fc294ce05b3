/* Creating mailboxes inside writer ops (internal to storage/): one mailbox
 * or a path of missing parents, with its Maildir directory, and the
 * <mailbox>/loft-uidvalidity file that lets an index rebuild keep
 * UIDVALIDITY. Used by the public mailbox operations (store-mailbox.c),
 * reconcile and rebuild; it calls none of them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/mailbox-create.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/store-private.h"
#include "storage/writer.h"

/* ---- loft-uidvalidity ---- */

int store_uidvalidity_read(const char *dir, uint32_t *uidvalidity_r)
{
	char *path = xasprintf("%s/loft-uidvalidity", dir);
	FILE *f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return -errno;
	unsigned long v = 0;
	int n = fscanf(f, "%lu", &v);
	fclose(f);
	if (n != 1 || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*uidvalidity_r = (uint32_t)v;
	return 0;
}

int store_uidvalidity_write(const char *dir, uint32_t uidvalidity)
{
	char *path = xasprintf("%s/loft-uidvalidity", dir);
	char *tmp = xasprintf("%s/.loft-uidvalidity.tmp", dir);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%u\n", uidvalidity);
	int ret = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)len) != len || fsync(fd) != 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret == 0)
		ret = maildir_fsync_dir(dir);   /* the rename itself must survive */
	if (ret != 0)
		unlink(tmp);
	free(tmp);
	free(path);
	return ret;
}

/* ---- creation inside a writer op ---- */

int store_mbox_create_one(struct wtxn *w, const char *name, uint32_t special_use,
			  struct idx_mbox *mb_r)
{
	struct idx_mbox mb;
	memset(&mb, 0, sizeof(mb));
	char *dir = store_mailbox_path(w->u, name);
	if (dir == NULL)
		return STORE_EINVALID;
	struct stat st;
	bool existed = stat(dir, &st) == 0;
	bool is_inbox = strcmp(name, "INBOX") == 0;
	int r = maildir_create(dir);
	if (r != 0) {
		log_error("store: create mailbox dir %s: %s", dir, strerror(-r));
		/* A half-made tree (cur/ but no tmp/) must not look like a
		 * mailbox to the next reconcile. */
		int rr = !existed && !is_inbox ? maildir_remove(dir) : 0;
		if (rr < 0 && rr != -ENOENT)
			log_warn("store: remove half-made %s: %s", dir, strerror(-rr));
		free(dir);
		return STORE_EIO;
	}
	if (!existed && !is_inbox)
		wtxn_undo_mkdir(w, dir);
	int err = 0;
	if (!existed || store_uidvalidity_read(dir, &mb.uidvalidity) != 0) {
		err = idx_new_uidvalidity(w->idx, w->txn, &mb.uidvalidity);
		if (err == 0 && store_uidvalidity_write(dir, mb.uidvalidity) != 0) {
			log_error("store: write %s/loft-uidvalidity failed", dir);
			err = STORE_EIO;
		}
	} else {
		/* an adopted UIDVALIDITY (a rebuild, a reconciled folder): the
		 * next fresh one must lie above it, so no two mailboxes of the
		 * user share one (UIDs and MAILBOXID rest on that) */
		uint64_t seed = 0;
		err = idx_meta_get(w->idx, w->txn, "uidvalidity_seed", &seed);
		if (err == STORE_ENOTFOUND || (err == 0 && seed < mb.uidvalidity))
			err = idx_meta_put(w->idx, w->txn, "uidvalidity_seed", mb.uidvalidity);
	}
	uint64_t id = 0;
	if (err == 0)
		err = idx_meta_next(w->idx, w->txn, "next_mailbox_id", 1, &id);
	if (err == 0 && id > UINT32_MAX)
		err = STORE_EIO;
	if (err == 0) {
		mb.id = (uint32_t)id;
		mb.uidnext = 1;
		mb.recent_uid = 1;
		mb.highestmodseq = 1;
		mb.special_use = special_use;
		snprintf(mb.name, sizeof(mb.name), "%s", name);
		/* A directory that existed already may hold messages: leave the
		 * stamps at 0 so the next access reconciles (adopts) them. */
		err = idx_mbox_put(w->idx, w->txn, &mb, true);
	}
	if (err == 0) {
		wtxn_touch(w, mb.id, dir, !existed);
		if (mb_r != NULL)
			*mb_r = mb;
	}
	free(dir);
	return err;
}

int store_mbox_create_path(struct wtxn *w, const char *name, uint32_t special_use, bool exist_ok,
			   struct idx_mbox *mb_r)
{
	char *prefix = xstrdup(name);
	int err = 0;
	for (char *p = prefix;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		struct idx_mbox mb;
		err = idx_mbox_by_name(w->idx, w->txn, prefix, &mb);
		if (err == 0) {
			if (last) {
				if (!exist_ok)
					err = STORE_EEXISTS;
				else if (mb_r != NULL)
					*mb_r = mb;
			}
		} else if (err == STORE_ENOTFOUND) {
			err = store_mbox_create_one(w, prefix, last ? special_use : 0, last ? mb_r : NULL);
		}
		if (err != 0 || last)
			break;
		*p = '/';
	}
	free(prefix);
	return err;
}
