/* Mailbox-level operations of the public API: list, create (with parents,
 * through mailbox-create.c), delete, rename (including the INBOX special
 * case), special-use and status. Mutations are writer ops; listings are
 * short read txns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/mailbox-create.h"
#include "storage/store-private.h"
#include "storage/store-recent.h"
#include "storage/writer.h"

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
	wtxn_touch(w, mb.id, NULL, false);   /* announced (nameless) after commit */
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
	if (err == 0)   /* the annotations go with the messages */
		err = idx_annot_move(w->idx, w->txn, inbox.id, dst.id);
	if (err != 0)
		return err;
	char *src_dir = store_mailbox_path(w->u, "INBOX");
	char *dst_dir = store_mailbox_path(w->u, new_name);
	struct idx_msg *msgs = NULL;
	size_t n = 0, cap = 0;
	struct idx_iter it;
	err = idx_msg_iter_open(w->idx, w->txn, inbox.id, 0, &it);
	for (int r = 0; err == 0; n++) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			msgs = xrealloc(msgs, cap * sizeof(*msgs));
		}
		if ((r = idx_msg_iter_next(&it, &msgs[n])) <= 0) {
			err = r;
			break;
		}
	}
	idx_iter_close(&it);
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg m = msgs[i];
		m.save_date = (int64_t)time(NULL);   /* saved into the new mailbox */
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
	struct idx_iter it;
	struct idx_mbox mb;
	int r;
	err = idx_mbox_iter_open(idx, txn, &it);
	while (err == 0 && (r = idx_mbox_iter_next(&it, &mb)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof(*list));
		}
		struct store_mailbox_info *info = &list[n++];
		memset(info, 0, sizeof(*info));
		info->name = xstrdup(mb.name);
		info->special_use = mb.special_use;
		info->subscribed = idx_subs_has(idx, txn, mb.name);
	}
	idx_iter_close(&it);
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
/* Messages no view of this process has claimed \Recent for (STATUS RECENT
 * outside a view): those at or above the claim boundary. */
static int count_unclaimed(struct store_user *u, MDB_txn *txn, const struct idx_mbox *mb,
			   uint32_t *count_r)
{
	*count_r = 0;
	uint32_t from = store_recent_boundary(u, mb->id, mb->uidvalidity, mb->recent_uid);
	if (from >= mb->uidnext)
		return 0;
	if (from <= 1) {
		*count_r = mb->messages;
		return 0;
	}
	struct idx_iter it;
	uint32_t uid, n = 0;
	int r, err = idx_msg_iter_open(&u->idx, txn, mb->id, from, &it);
	while (err == 0 && (r = idx_msg_iter_next_uid(&it, &uid)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		n++;
	}
	idx_iter_close(&it);
	*count_r = n;
	return err;
}

/* Bytes (as stored) of the messages flagged \Deleted: what an EXPUNGE
 * would give back to the quota (RFC 9208 DELETED-STORAGE). */
static int sum_deleted(struct store_user *u, MDB_txn *txn, const struct idx_mbox *mb,
		       uint64_t *bytes_r)
{
	*bytes_r = 0;
	if (mb->deleted == 0)
		return 0;
	struct idx_iter it;
	struct idx_msg m;
	uint64_t sum = 0;
	int r, err = idx_msg_iter_open(&u->idx, txn, mb->id, 1, &it);
	while (err == 0 && (r = idx_msg_iter_next(&it, &m)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		if (m.flags & STORE_FLAG_DELETED)
			sum += m.size;
	}
	idx_iter_close(&it);
	*bytes_r = sum;
	return err;
}

static int status_of(struct store_user *user, const char *name, unsigned what,
		     struct store_status *status_r)
{
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	int err = store_mailbox_sync(user, canon);
	struct idx_mbox mb;
	MDB_txn *txn = NULL;
	uint32_t unclaimed = 0;
	uint64_t deleted_size = 0;
	if (err == 0)
		err = idx_read_begin(&user->idx, &txn);
	if (err == 0)
		err = idx_mbox_by_name(&user->idx, txn, canon, &mb);
	uint64_t pruned = 0;
	if (err == 0)
		err = idx_tomb_pruned(&user->idx, txn, mb.id, &pruned);
	if (err == 0 && (what & STORE_STATUS_RECENT))
		err = count_unclaimed(user, txn, &mb, &unclaimed);
	if (err == 0 && (what & STORE_STATUS_DELETED_SIZE))
		err = sum_deleted(user, txn, &mb, &deleted_size);
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
	status_r->pruned_modseq = pruned;
	status_r->vsize = mb.vsize;
	status_r->recent = unclaimed;
	status_r->deleted_size = deleted_size;
	store_mailboxid(user->name, mb.uidvalidity, status_r->mailboxid);
	return 0;
}

int store_status(struct store_user *user, const char *name, struct store_status *status_r)
{
	return status_of(user, name, 0, status_r);
}

int store_status_recent(struct store_user *user, const char *name, struct store_status *status_r)
{
	return status_of(user, name, STORE_STATUS_RECENT, status_r);
}

int store_status_items(struct store_user *user, const char *name, unsigned what,
		       struct store_status *status_r)
{
	return status_of(user, name, what, status_r);
}
