/* Changes to messages of a view: flag/keyword updates (one op, one txn, for
 * any number of UIDs), expunge and copy/move. Each changed message gets a
 * new MODSEQ; expunges leave tombstones. Flag renames of the Maildir files
 * are not directory-fsynced (the index is authoritative for flags); expunges
 * and copies are, because a resurrected or lost file would be adopted or
 * dropped by reconcile. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-keywords.h"
#include "storage/store-private.h"
#include "storage/store-quota.h"
#include "storage/writer.h"

static void uid_push(struct store_uid_list *l, size_t *cap, uint32_t uid)
{
	if (l->count == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		l->uids = xrealloc(l->uids, *cap * sizeof(*l->uids));
	}
	l->uids[l->count++] = uid;
}

static int view_mbox(struct wtxn *w, struct store_mailbox *mbox, struct idx_mbox *mb)
{
	int err = idx_mbox_get(w->idx, w->txn, mbox->id, mb);
	if (err == 0 && mb->uidvalidity != mbox->uidvalidity)
		err = STORE_ENOTFOUND;
	if (err == 0)
		store_view_follow(mbox, mb);   /* renamed meanwhile */
	return err;
}

/* Rename a message file from its old record name to the new one; a stale
 * name is looked up by base. A missing file is left to reconcile. */
static int rename_msg(struct wtxn *w, const char *dir, const struct idx_msg *old,
		      const struct idx_msg *m)
{
	char *from = store_msg_path(dir, old);
	char *to = store_msg_path(dir, m);
	int err = 0;
	if (from == NULL || to == NULL) {
		err = STORE_EIO;
	} else if (strcmp(from, to) != 0) {
		if (rename(from, to) == 0) {
			wtxn_undo_rename(w, from, to);
		} else if (errno == ENOENT) {
			char *found = NULL;
			if (maildir_find_base(dir, m->base, &found) == 0) {
				if (rename(found, to) == 0)
					wtxn_undo_rename(w, found, to);
				else
					err = STORE_EIO;
			} else {
				log_warn("store: message file of uid=%u in %s missing", m->uid, dir);
			}
			free(found);
		} else {
			log_error("store: rename %s: %s", from, strerror(errno));
			err = STORE_EIO;
		}
	}
	free(from);
	free(to);
	return err;
}

/* ---- flags ---- */

struct op_flags {
	struct wop op;
	struct store_mailbox *mbox;
	const uint32_t *uids;
	size_t n_uids;
	enum store_flags_op how;
	uint32_t flags;
	const char *const *keywords;
	size_t n_keywords;
	uint64_t unchangedsince;
	struct store_uid_list failed;
	size_t failed_cap;
};

static bool kw_has(const struct idx_msg *m, uint16_t id)
{
	for (unsigned i = 0; i < m->n_keywords; i++) {
		if (m->keywords[i] == id)
			return true;
	}
	return false;
}

static int apply_flags(struct op_flags *o, const uint16_t *ids, size_t n_ids, struct idx_msg *m)
{
	uint32_t f = o->flags & STORE_SYSTEM_FLAGS;
	switch (o->how) {
	case STORE_FLAGS_SET:
		m->flags = f;
		m->n_keywords = 0;
		/* fall through */
	case STORE_FLAGS_ADD:
		if (o->how == STORE_FLAGS_ADD)
			m->flags |= f;
		for (size_t i = 0; i < n_ids; i++) {
			if (kw_has(m, ids[i]))
				continue;
			if (m->n_keywords == STORE_MAX_KEYWORDS_PER_MSG)
				return STORE_EINVALID;
			m->keywords[m->n_keywords++] = ids[i];
		}
		break;
	case STORE_FLAGS_REMOVE:
		m->flags &= ~f;
		for (size_t i = 0; i < n_ids; i++) {
			for (unsigned j = 0; j < m->n_keywords; j++) {
				if (m->keywords[j] == ids[i]) {
					m->keywords[j] = m->keywords[--m->n_keywords];
					break;
				}
			}
		}
		break;
	}
	return 0;
}

static bool same_state(const struct idx_msg *a, const struct idx_msg *b)
{
	if (a->flags != b->flags || a->n_keywords != b->n_keywords)
		return false;
	for (unsigned i = 0; i < a->n_keywords; i++) {
		if (!kw_has(b, a->keywords[i]))
			return false;
	}
	return true;
}

static int run_flags(struct wtxn *w, struct wop *op)
{
	struct op_flags *o = (struct op_flags *)op;
	struct idx_mbox mb;
	int err = view_mbox(w, o->mbox, &mb);
	if (err != 0)
		return err;
	uint16_t ids[STORE_MAX_KEYWORDS_PER_MSG];
	size_t n_ids = 0;
	if (o->how == STORE_FLAGS_REMOVE) {
		for (size_t i = 0; i < o->n_keywords; i++) {
			if (o->keywords[i] == NULL || !idx_keyword_valid(o->keywords[i]))
				return STORE_EINVALID;
			uint16_t id;
			err = idx_keyword_id(w->idx, w->txn, o->keywords[i], false, &id, NULL);
			if (err == STORE_ENOTFOUND)
				continue;
			if (err != 0)
				return err;
			if (n_ids < STORE_MAX_KEYWORDS_PER_MSG)
				ids[n_ids++] = id;
		}
	} else if (o->n_keywords > 0) {
		err = store_keywords_resolve(w, o->keywords, o->n_keywords, ids, &n_ids);
		if (err != 0)
			return err;
	}
	o->failed.count = 0;
	bool changed = false;
	for (size_t i = 0; i < o->n_uids; i++) {
		struct idx_msg old, m;
		err = idx_msg_get(w->idx, w->txn, mb.id, o->uids[i], &old);
		if (err == STORE_ENOTFOUND) {
			err = 0;
			continue;
		}
		if (err != 0)
			return err;
		if (o->unchangedsince != 0 && old.modseq > o->unchangedsince) {
			uid_push(&o->failed, &o->failed_cap, old.uid);
			continue;
		}
		m = old;
		if ((err = apply_flags(o, ids, n_ids, &m)) != 0)
			return err;
		if (same_state(&old, &m))
			continue;
		err = idx_msg_update(w->idx, w->txn, &mb, &old, &m);
		if (err == 0)
			err = rename_msg(w, o->mbox->dir, &old, &m);
		if (err != 0)
			return err;
		changed = true;
	}
	if (!changed)
		return 0;
	err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0)
		wtxn_touch(w, mb.id, o->mbox->dir, true);
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int store_flags_update(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		       enum store_flags_op op, uint32_t flags, const char *const *keywords,
		       size_t n_keywords, uint64_t unchangedsince, struct store_uid_list *failed_r)
{
	if (failed_r != NULL)
		*failed_r = (struct store_uid_list){ NULL, 0 };
	if (mbox->read_only)
		return STORE_ENOPERM;
	if ((n_keywords > 0 && keywords == NULL) || (n_uids > 0 && uids == NULL) ||
	    (op != STORE_FLAGS_SET && op != STORE_FLAGS_ADD && op != STORE_FLAGS_REMOVE))
		return STORE_EINVALID;
	if (n_uids == 0)
		return 0;
	struct op_flags o = { .op = { .run = run_flags, .mbox = { mbox->name } }, .mbox = mbox,
			      .uids = uids, .n_uids = n_uids, .how = op, .flags = flags,
			      .keywords = keywords, .n_keywords = n_keywords,
			      .unchangedsince = unchangedsince };
	int err = writer_run(mbox->user, &o.op);
	if (err == 0 && failed_r != NULL && o.failed.count > 0) {
		store_qsort(o.failed.uids, o.failed.count, sizeof(uint32_t), cmp_u32);
		*failed_r = o.failed;
	} else {
		store_uid_list_free(&o.failed);
	}
	return err;
}

/* ---- expunge ---- */

/* Move a message file out of cur/ into tmp/ (removed after the commit;
 * undone if the batch fails). A missing file is fine. */
static int retire_file(struct wtxn *w, const char *dir, const struct idx_msg *m)
{
	char *from = store_msg_path(dir, m);
	char *to = xasprintf("%s/tmp/%s.expunged", dir, m->base);
	int err = 0;
	char *found = NULL;
	if (from != NULL && rename(from, to) != 0) {
		if (errno == ENOENT && maildir_find_base(dir, m->base, &found) == 0) {
			free(from);
			from = found;
			if (rename(from, to) != 0)
				err = STORE_EIO;
		} else if (errno != ENOENT) {
			err = STORE_EIO;
		} else {
			free(from);
			from = NULL;   /* already gone */
		}
	}
	if (err != 0)
		log_error("store: remove message %s: %s", from ? from : m->base, strerror(errno));
	else if (from != NULL) {
		wtxn_undo_rename(w, from, to);
		wtxn_rm_after_commit(w, to);
	}
	free(from);
	free(to);
	return err;
}

struct op_expunge {
	struct wop op;
	struct store_mailbox *mbox;
	const uint32_t *uids;
	size_t n_uids;
	bool only_deleted;
	struct store_uid_list done;
	size_t done_cap;
};

static int run_expunge(struct wtxn *w, struct wop *op)
{
	struct op_expunge *o = (struct op_expunge *)op;
	struct idx_mbox mb;
	int err = view_mbox(w, o->mbox, &mb);
	if (err != 0)
		return err;
	o->done.count = 0;
	for (size_t i = 0; i < o->n_uids; i++) {
		struct idx_msg m;
		err = idx_msg_get(w->idx, w->txn, mb.id, o->uids[i], &m);
		if (err == STORE_ENOTFOUND) {
			err = 0;
			continue;
		}
		if (err != 0)
			return err;
		if (o->only_deleted && !(m.flags & STORE_FLAG_DELETED))
			continue;
		err = idx_msg_remove(w->idx, w->txn, &mb, &m);
		if (err == 0)
			err = retire_file(w, o->mbox->dir, &m);
		if (err != 0)
			return err;
		uid_push(&o->done, &o->done_cap, m.uid);
	}
	if (o->done.count == 0)
		return 0;
	err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0) {
		char *cur = xasprintf("%s/cur", o->mbox->dir);
		wtxn_fsync_dir(w, cur);
		free(cur);
		wtxn_touch(w, mb.id, o->mbox->dir, true);
	}
	return err;
}

int store_expunge(struct store_mailbox *mbox, const uint32_t *uids, size_t n_uids,
		  bool only_deleted, struct store_uid_list *expunged_r)
{
	if (expunged_r != NULL)
		*expunged_r = (struct store_uid_list){ NULL, 0 };
	if (mbox->read_only)
		return STORE_ENOPERM;
	if (n_uids > 0 && uids == NULL)
		return STORE_EINVALID;
	if (n_uids == 0)
		return 0;
	struct op_expunge o = { .op = { .run = run_expunge, .mbox = { mbox->name } }, .mbox = mbox,
				.uids = uids, .n_uids = n_uids, .only_deleted = only_deleted };
	int err = writer_run(mbox->user, &o.op);
	if (err == 0 && expunged_r != NULL) {
		store_qsort(o.done.uids, o.done.count, sizeof(uint32_t), cmp_u32);
		*expunged_r = o.done;
	} else {
		store_uid_list_free(&o.done);
	}
	return err;
}

/* ---- copy / move ---- */

static int copy_bytes(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	char buf[65536];
	ssize_t n;
	int ret = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(out, buf + off, (size_t)(n - off));
			if (k < 0) {
				ret = -errno;
				break;
			}
			off += k;
		}
		if (ret != 0)
			break;
	}
	if (n < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && fsync(out) != 0)
		ret = -errno;
	close(in);
	close(out);
	if (ret != 0)
		unlink(to);
	return ret;
}

struct op_copy {
	struct wop op;
	struct store_mailbox *src;
	const char *dst_name;
	const uint32_t *uids;
	size_t n_uids;
	bool move;
	struct store_uid_list src_uids, dst_uids;
	size_t src_cap, dst_cap;
	uint32_t dst_uidvalidity;
};

static int place_copy(struct wtxn *w, struct op_copy *o, const char *src_dir, const char *dst_dir,
		      const struct idx_msg *m, const struct idx_msg *nm)
{
	char *from = store_msg_path(src_dir, m);
	char *to = store_msg_path(dst_dir, nm);
	char *found = NULL;
	int r = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (o->move)
			r = rename(from, to) == 0 ? 0 : -errno;
		else {
			r = link(from, to) == 0 ? 0 : -errno;
			if (r == -EXDEV || r == -EPERM || r == -EMLINK)
				r = copy_bytes(from, to);
		}
		if (r != -ENOENT || attempt == 1 || maildir_find_base(src_dir, m->base, &found) != 0)
			break;
		free(from);
		from = found;
		found = NULL;
	}
	int err = 0;
	if (r == 0) {
		if (o->move)
			wtxn_undo_rename(w, from, to);
		else
			wtxn_undo_unlink(w, to);
	} else {
		log_error("store: %s %s -> %s: %s", o->move ? "move" : "copy", from, to, strerror(-r));
		err = r == -ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	free(from);
	free(to);
	return err;
}

static int run_copy(struct wtxn *w, struct wop *op)
{
	struct op_copy *o = (struct op_copy *)op;
	struct idx_mbox src, dst_rec, *dst = &dst_rec;
	int err = view_mbox(w, o->src, &src);
	if (err == 0)
		err = idx_mbox_by_name(w->idx, w->txn, o->dst_name, &dst_rec);
	if (err != 0)
		return err;
	if (dst_rec.id == src.id)
		dst = &src;
	char *dst_dir = store_mailbox_path(w->u, o->dst_name);
	/* collect the source messages that exist */
	struct idx_msg *msgs = xmalloc((o->n_uids ? o->n_uids : 1) * sizeof(*msgs));
	size_t n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < o->n_uids && err == 0; i++) {
		err = idx_msg_get(w->idx, w->txn, src.id, o->uids[i], &msgs[n]);
		if (err == STORE_ENOTFOUND) {
			err = 0;
			continue;
		}
		if (err == 0)
			bytes += msgs[n++].size;
	}
	if (err == 0 && !o->move)
		err = store_quota_check(w, bytes, n);
	if (err == 0 && n > 0 && idx_space_low(w->idx, w->txn))
		err = STORE_EIO;
	if (err == 0 && n > 0 && (uint64_t)dst->uidnext + n >= UINT32_MAX)
		err = STORE_EIO;
	o->src_uids.count = o->dst_uids.count = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		struct idx_msg nm = msgs[i];
		nm.uid = dst->uidnext++;
		if (!o->move) {
			/* a copy is a new file but the same email (EMAILID) */
			if (nm.origin[0] == '\0')
				memcpy(nm.origin, nm.base, sizeof(nm.origin));
			maildir_new_base(nm.base, sizeof(nm.base));
		}
		if (o->move)
			err = idx_msg_remove(w->idx, w->txn, &src, &msgs[i]);
		if (err == 0)
			err = idx_msg_insert(w->idx, w->txn, dst, &nm);
		if (err == 0)
			err = place_copy(w, o, o->src->dir, dst_dir, &msgs[i], &nm);
		if (err == 0) {
			uid_push(&o->src_uids, &o->src_cap, msgs[i].uid);
			uid_push(&o->dst_uids, &o->dst_cap, nm.uid);
		}
	}
	if (err == 0 && n > 0) {
		if (dst != &src)
			err = idx_mbox_put(w->idx, w->txn, dst, false);
		if (err == 0 && (o->move || dst == &src))
			err = idx_mbox_put(w->idx, w->txn, &src, false);
	}
	if (err == 0) {
		o->dst_uidvalidity = dst->uidvalidity;
		if (n > 0) {
			char *cur = xasprintf("%s/cur", dst_dir);
			wtxn_fsync_dir(w, cur);
			free(cur);
			wtxn_touch(w, dst->id, dst_dir, true);
			if (o->move) {
				cur = xasprintf("%s/cur", o->src->dir);
				wtxn_fsync_dir(w, cur);
				free(cur);
				wtxn_touch(w, src.id, o->src->dir, true);
			}
		}
	}
	free(msgs);
	free(dst_dir);
	return err;
}

int store_copy(struct store_mailbox *src, const uint32_t *uids, size_t n_uids,
	       const char *dst_mailbox, bool move, struct store_uid_list *src_uids_r,
	       struct store_uid_list *dst_uids_r, uint32_t *dst_uidvalidity_r)
{
	if (src_uids_r != NULL)
		*src_uids_r = (struct store_uid_list){ NULL, 0 };
	if (dst_uids_r != NULL)
		*dst_uids_r = (struct store_uid_list){ NULL, 0 };
	if (move && src->read_only)
		return STORE_ENOPERM;
	if (n_uids > 0 && uids == NULL)
		return STORE_EINVALID;
	char *dst = store_name_canonical(dst_mailbox);
	if (dst == NULL)
		return STORE_EINVALID;
	struct op_copy o = { .op = { .run = run_copy, .mbox = { src->name, dst } }, .src = src,
			     .dst_name = dst, .uids = uids, .n_uids = n_uids, .move = move };
	int err = writer_run(src->user, &o.op);
	if (err == 0) {
		if (dst_uidvalidity_r != NULL)
			*dst_uidvalidity_r = o.dst_uidvalidity;
		if (src_uids_r != NULL) {
			*src_uids_r = o.src_uids;
			o.src_uids = (struct store_uid_list){ NULL, 0 };
		}
		if (dst_uids_r != NULL) {
			*dst_uids_r = o.dst_uids;
			o.dst_uids = (struct store_uid_list){ NULL, 0 };
		}
	}
	store_uid_list_free(&o.src_uids);
	store_uid_list_free(&o.dst_uids);
	free(dst);
	return err;
}
