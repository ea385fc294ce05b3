/* Mailbox-level operations of the public API: list, create (with parents),
 * delete, rename (including the INBOX special case), special-use and the
 * <mailbox>/loft-uidvalidity file that lets an index rebuild keep
 * UIDVALIDITY. Mutations are writer ops; listings are short read txns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/store-mailbox.h"
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

/* ---- ops ---- */

struct op_mbox {
	struct wop op;
	const char *name, *new_name;
	uint32_t special_use;
};

static int run_create(struct wtxn *w, struct wop *op)
{
	struct op_mbox *o = (struct op_mbox *)op;
	return store_mbox_create_path(w, o->name, o->special_use, false, NULL);
}

static int run_delete(struct wtxn *w, struct wop *op)
{
	struct op_mbox *o = (struct op_mbox *)op;
	struct idx_mbox mb;
	int err = idx_mbox_by_name(w->idx, w->txn, o->name, &mb);
	if (err != 0)
		return err;
	char **kids;
	size_t n_kids;
	err = idx_mbox_children(w->idx, w->txn, o->name, &kids, &n_kids);
	if (err != 0)
		return err;
	store_strv_free(kids, n_kids);
	if (n_kids > 0)
		return STORE_EINUSE;
	err = idx_mbox_drop(w->idx, w->txn, &mb);
	if (err != 0)
		return err;
	char *dir = store_mailbox_path(w->u, o->name);
	char *trash = xasprintf("%s/loft-trash-%u-%u", w->u->dir, mb.id, mb.uidvalidity);
	if (rename(dir, trash) == 0) {
		wtxn_undo_rename(w, dir, trash);
		wtxn_rm_after_commit(w, trash);
		wtxn_fsync_dir(w, w->u->dir);
	} else if (errno != ENOENT) {
		log_error("store: rename %s: %s", dir, strerror(errno));
		err = STORE_EIO;
	}
	free(dir);
	free(trash);
	w->changed = true;
	return err;
}

/* Move every message of INBOX into a new mailbox (RFC 3501 6.3.5). */
static int rename_inbox(struct wtxn *w, const char *new_name)
{
	struct idx_mbox inbox, dst;
	int err = idx_mbox_by_name(w->idx, w->txn, "INBOX", &inbox);
	if (err == 0)
		err = store_mbox_create_path(w, new_name, 0, false, &dst);
	if (err != 0)
		return err;
	char *src_dir = store_mailbox_path(w->u, "INBOX");
	char *dst_dir = store_mailbox_path(w->u, new_name);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(w->txn, w->idx->dbi.msgs, &cur);
	struct idx_msg *msgs = NULL;
	size_t n = 0, cap = 0;
	if (rc == 0) {
		unsigned char kb[IDX_MSG_KEY_LEN];
		idx_msg_key(kb, inbox.id, 0);
		MDB_val k = { sizeof(kb), kb }, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (idx_get_u32(k.mv_data) != inbox.id)
				break;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				msgs = xrealloc(msgs, cap * sizeof(*msgs));
			}
			if ((err = idx_msg_decode(&k, &v, &msgs[n])) != 0)
				break;
			n++;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (err == 0)
		err = idx_err(rc, "inbox scan");
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg m = msgs[i];
		char *from = store_msg_path(src_dir, &msgs[i]);
		char *to = store_msg_path(dst_dir, &m);
		err = idx_msg_remove(w->idx, w->txn, &inbox, &msgs[i]);
		if (err == 0)
			err = idx_msg_insert(w->idx, w->txn, &dst, &m);
		if (err == 0 && rename(from, to) != 0) {
			char *found = NULL;
			if (errno == ENOENT && maildir_find_base(src_dir, m.base, &found) == 0 &&
			    rename(found, to) == 0) {
				free(from);
				from = found;
				found = NULL;
			} else {
				log_error("store: rename %s: %s", from, strerror(errno));
				err = STORE_EIO;
			}
			free(found);
		}
		if (err == 0)
			wtxn_undo_rename(w, from, to);
		free(from);
		free(to);
	}
	if (err == 0) {
		dst.uidnext = inbox.uidnext > dst.uidnext ? inbox.uidnext : dst.uidnext;
		dst.recent_uid = inbox.recent_uid;
		err = idx_mbox_put(w->idx, w->txn, &dst, false);
	}
	if (err == 0)
		err = idx_mbox_put(w->idx, w->txn, &inbox, false);
	if (err == 0) {
		char *cur_dir = xasprintf("%s/cur", dst_dir);
		wtxn_fsync_dir(w, cur_dir);
		free(cur_dir);
		cur_dir = xasprintf("%s/cur", src_dir);
		wtxn_fsync_dir(w, cur_dir);
		free(cur_dir);
		wtxn_touch(w, inbox.id, src_dir, true);
		wtxn_touch(w, dst.id, dst_dir, true);
	}
	free(msgs);
	free(src_dir);
	free(dst_dir);
	return err;
}

static int rename_one(struct wtxn *w, const char *from_name, const char *to_name)
{
	struct idx_mbox mb, other;
	int err = idx_mbox_by_name(w->idx, w->txn, from_name, &mb);
	if (err != 0)
		return err;
	err = idx_mbox_by_name(w->idx, w->txn, to_name, &other);
	if (err == 0)
		return STORE_EEXISTS;
	if (err != STORE_ENOTFOUND)
		return err;
	char *from = store_mailbox_path(w->u, from_name);
	char *to = store_mailbox_path(w->u, to_name);
	struct stat st;
	if (to == NULL) {
		err = STORE_EINVALID;
	} else if (lstat(to, &st) == 0) {
		log_warn("store: rename target %s exists on disk", to);
		err = STORE_EEXISTS;
	} else if (rename(from, to) != 0) {
		log_error("store: rename %s: %s", from, strerror(errno));
		err = STORE_EIO;
	} else {
		wtxn_undo_rename(w, from, to);
		err = idx_mbox_rename(w->idx, w->txn, &mb, to_name);
		if (err == 0)
			wtxn_touch(w, mb.id, to, false);
	}
	free(from);
	free(to);
	return err;
}

static int run_rename(struct wtxn *w, struct wop *op)
{
	struct op_mbox *o = (struct op_mbox *)op;
	size_t olen = strlen(o->name);
	if (strcmp(o->new_name, o->name) == 0)
		return STORE_EEXISTS;
	if (strncmp(o->new_name, o->name, olen) == 0 && o->new_name[olen] == '/')
		return STORE_EINVALID;   /* into itself */
	struct idx_mbox mb;
	int err = idx_mbox_by_name(w->idx, w->txn, o->name, &mb);
	if (err != 0)
		return err;
	err = idx_mbox_by_name(w->idx, w->txn, o->new_name, &mb);
	if (err == 0)
		return STORE_EEXISTS;
	if (err != STORE_ENOTFOUND)
		return err;
	if (strcmp(o->name, "INBOX") == 0)
		return rename_inbox(w, o->new_name);
	/* create missing parents of the new name */
	err = 0;
	char *parent = mailbox_name_parent(o->new_name);
	if (parent != NULL)
		err = store_mbox_create_path(w, parent, 0, true, NULL);
	free(parent);
	if (err != 0)
		return err;
	char **kids;
	size_t n_kids;
	err = idx_mbox_children(w->idx, w->txn, o->name, &kids, &n_kids);
	if (err != 0)
		return err;
	err = rename_one(w, o->name, o->new_name);
	for (size_t i = 0; i < n_kids && err == 0; i++) {
		char *to = xasprintf("%s%s", o->new_name, kids[i] + olen);
		if (strlen(to) > MAILBOX_NAME_MAX)
			err = STORE_EINVALID;
		else
			err = rename_one(w, kids[i], to);
		free(to);
	}
	store_strv_free(kids, n_kids);
	if (err == 0)
		wtxn_fsync_dir(w, w->u->dir);
	return err;
}

static int run_special_use(struct wtxn *w, struct wop *op)
{
	struct op_mbox *o = (struct op_mbox *)op;
	struct idx_mbox mb;
	int err = idx_mbox_by_name(w->idx, w->txn, o->name, &mb);
	if (err != 0)
		return err;
	mb.special_use = o->special_use;
	err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0)
		w->changed = true;
	return err;
}

#define SPECIAL_ALL_BITS 0x7fu

int store_mailbox_create(struct store_user *user, const char *name, uint32_t special_use)
{
	if (special_use & ~SPECIAL_ALL_BITS)
		return STORE_EINVALID;
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	struct op_mbox o = { .op = { .run = run_create }, .name = canon, .special_use = special_use };
	int err = writer_run(user, &o.op);
	free(canon);
	return err;
}

int store_mailbox_delete(struct store_user *user, const char *name)
{
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	int err;
	if (strcmp(canon, "INBOX") == 0) {
		err = STORE_ENOPERM;
	} else {
		struct op_mbox o = { .op = { .run = run_delete }, .name = canon };
		err = writer_run(user, &o.op);
	}
	free(canon);
	return err;
}

int store_mailbox_rename(struct store_user *user, const char *old_name, const char *new_name)
{
	char *from = store_name_canonical(old_name);
	char *to = store_name_canonical(new_name);
	int err;
	if (from == NULL || to == NULL) {
		err = STORE_EINVALID;
	} else {
		struct op_mbox o = { .op = { .run = run_rename, .mbox = { from } },
				     .name = from, .new_name = to };
		err = writer_run(user, &o.op);
	}
	free(from);
	free(to);
	return err;
}

int store_mailbox_set_special_use(struct store_user *user, const char *name, uint32_t special_use)
{
	if (special_use & ~SPECIAL_ALL_BITS)
		return STORE_EINVALID;
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	struct op_mbox o = { .op = { .run = run_special_use }, .name = canon,
			     .special_use = special_use };
	int err = writer_run(user, &o.op);
	free(canon);
	return err;
}

/* ---- listing ---- */

static int info_cmp(const void *a, const void *b)
{
	const struct store_mailbox_info *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

int store_mailbox_list(struct store_user *user, struct store_mailbox_info **list_r, size_t *count_r)
{
	*list_r = NULL;
	*count_r = 0;
	struct idx *idx = &user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct store_mailbox_info *list = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.mailboxes, &cur);
	if (rc == 0) {
		MDB_val k, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			struct idx_mbox mb;
			if ((err = idx_mbox_decode(&k, &v, &mb)) != 0)
				break;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				list = xrealloc(list, cap * sizeof(*list));
			}
			struct store_mailbox_info *info = &list[n++];
			memset(info, 0, sizeof(*info));
			info->name = xstrdup(mb.name);
			info->special_use = mb.special_use;
			MDB_val sk = { strlen(mb.name), mb.name }, sv;
			info->subscribed = mdb_get(txn, idx->dbi.subs, &sk, &sv) == 0;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (err == 0)
		err = idx_err(rc, "mailbox list");
	idx_read_end(idx, txn);
	if (err != 0) {
		store_mailbox_list_free(list, n);
		return err;
	}
	store_qsort(list, n, sizeof(*list), info_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list[i].name);
		if (i == 0 && strcmp(list[0].name, "INBOX") == 0) {
			for (size_t j = 1; j < n && !list[0].has_children; j++)
				list[0].has_children = strncmp(list[j].name, "INBOX/", 6) == 0;
			continue;
		}
		/* children sort after their parent but not necessarily right
		 * after it ("a b" < "a/b"): look ahead until names stop sharing
		 * the parent as a prefix. */
		for (size_t j = i + 1; j < n; j++) {
			if (strncmp(list[j].name, list[i].name, len) != 0)
				break;
			if (list[j].name[len] == '/') {
				list[i].has_children = true;
				break;
			}
		}
	}
	*list_r = list;
	*count_r = n;
	return 0;
}

void store_mailbox_list_free(struct store_mailbox_info *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i].name);
	free(list);
}

void store_strv_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Messages with uid >= mb->recent_uid: nobody claimed them as \Recent. */
static int count_unclaimed(struct idx *idx, MDB_txn *txn, const struct idx_mbox *mb,
			   uint32_t *count_r)
{
	*count_r = 0;
	if (mb->recent_uid >= mb->uidnext)
		return 0;
	if (mb->recent_uid <= 1) {
		*count_r = mb->messages;
		return 0;
	}
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.msgs, &cur);
	if (rc != 0)
		return idx_err(rc, "recent count");
	unsigned char kb[IDX_MSG_KEY_LEN];
	idx_msg_key(kb, mb->id, mb->recent_uid);
	MDB_val k = { sizeof(kb), kb }, v;
	uint32_t n = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < IDX_MSG_KEY_LEN || idx_get_u32(k.mv_data) != mb->id)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return idx_err(rc, "recent count");
	*count_r = n;
	return 0;
}

static int status_of(struct store_user *user, const char *name, bool recent,
		     struct store_status *status_r)
{
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	int err = store_mailbox_sync(user, canon);
	struct idx_mbox mb;
	MDB_txn *txn = NULL;
	uint32_t unclaimed = 0;
	if (err == 0)
		err = idx_read_begin(&user->idx, &txn);
	if (err == 0)
		err = idx_mbox_by_name(&user->idx, txn, canon, &mb);
	if (err == 0 && recent)
		err = count_unclaimed(&user->idx, txn, &mb, &unclaimed);
	idx_read_end(&user->idx, txn);
	free(canon);
	if (err != 0)
		return err;
	memset(status_r, 0, sizeof(*status_r));
	status_r->messages = mb.messages;
	status_r->unseen = mb.unseen;
	status_r->uidnext = mb.uidnext;
	status_r->uidvalidity = mb.uidvalidity;
	status_r->highestmodseq = mb.highestmodseq;
	status_r->size = mb.size;
	status_r->deleted = mb.deleted;
	status_r->vsize = mb.vsize;
	status_r->recent = unclaimed;
	return 0;
}

int store_status(struct store_user *user, const char *name, struct store_status *status_r)
{
	return status_of(user, name, false, status_r);
}

int store_status_recent(struct store_user *user, const char *name, struct store_status *status_r)
{
	return status_of(user, name, true, status_r);
}
