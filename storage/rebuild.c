/* store_index_rebuild: make a new index from the Maildir alone. The old
 * index/ is moved aside to index.broken-<time> (deleted on success, moved
 * back on failure). UIDs come from U= in file names (duplicates and missing
 * U= get new UIDs after the highest), flags and keywords from the :2, info
 * and loft-keywords, sizes from S=/W= (or stat and a vsize count),
 * UIDVALIDITY from <mailbox>/loft-uidvalidity. When the old index can still
 * be read it also supplies what files cannot tell: per-message MODSEQs and
 * flags (flag renames are not fsynced, so the old index is more current),
 * keywords beyond the 26 letters, tombstones, subscriptions, special-use and
 * quota overrides. Without it, MODSEQs restart from a clock-derived base
 * (seconds * 1000) so they stay above anything a client cached.
 * The work runs as one writer op (serialised with other writers of the
 * user); progress is reported from the writer thread. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/match.h"
#include "storage/mailbox-create.h"
#include "storage/store-private.h"
#include "storage/writer.h"

struct mbox_scan {
	char *name, *dir;
	struct maildir_entry *ents;
	size_t n;
};

struct op_rebuild {
	struct wop op;
	struct idx *old;            /* NULL when unreadable */
	MDB_txn *old_txn;
	struct mbox_scan *boxes;
	size_t n_boxes, total, done;
	char **file_kw;             /* loft-keywords */
	size_t n_file_kw;
	store_progress_cb *progress;
	void *ctx;
};

static int rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", path, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	return rmdir(path) == 0 ? 0 : -errno;
}

static int name_cmp(const void *a, const void *b)
{
	const struct mbox_scan *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* Keywords: the old table keeps its ids; otherwise loft-keywords ids. */
static int rebuild_keywords(struct wtxn *w, struct op_rebuild *o)
{
	char **names = o->file_kw;
	size_t n = o->n_file_kw;
	char **old_names = NULL;
	size_t n_old = 0;
	if (o->old != NULL && idx_keyword_table(o->old, o->old_txn, &old_names, &n_old) == 0 &&
	    n_old > 0) {
		names = old_names;
		n = n_old;
	}
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		if (names[i] == NULL || !idx_keyword_valid(names[i]))
			continue;
		err = idx_keyword_put(w->idx, w->txn, names[i], (uint16_t)i);
	}
	if (err == 0)
		err = idx_meta_put(w->idx, w->txn, "next_keyword_id", n);
	store_strv_free(old_names, n_old);
	return err;
}

static void copy_old_user_data(struct wtxn *w, struct op_rebuild *o)
{
	if (o->old == NULL)
		return;
	char **subs = NULL;
	size_t n_subs = 0;
	if (idx_subs_list(o->old, o->old_txn, &subs, &n_subs) == 0) {
		for (size_t i = 0; i < n_subs; i++)
			idx_subs_set(w->idx, w->txn, subs[i], true);
	}
	store_strv_free(subs, n_subs);
	idx_annot_copy(o->old, o->old_txn, 0, w->idx, w->txn, 0);   /* the server's */
	static const char *const keys[] = { "quota_bytes", "quota_messages", "uidvalidity_seed" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t v;
		if (idx_meta_get(o->old, o->old_txn, keys[i], &v) == 0)
			idx_meta_put(w->idx, w->txn, keys[i], v);
	}
}

/* Old records of a mailbox's files, indexed like the files (heap copies). */
struct old_match {
	struct maildir_entry *ents;
	struct idx_msg **old;
};

static int old_pair(void *ctx, const struct idx_msg *m, struct maildir_entry *e)
{
	struct old_match *c = ctx;
	struct idx_msg *copy = xmalloc(sizeof(*copy));
	*copy = *m;
	c->old[e - c->ents] = copy;
	return 0;
}

static const struct match_ops old_ops = { old_pair, NULL, NULL };

static int rebuild_mailbox(struct wtxn *w, struct op_rebuild *o, struct mbox_scan *b)
{
	struct idx_mbox mb, old_mb;
	bool have_old = o->old != NULL && idx_mbox_by_name(o->old, o->old_txn, b->name, &old_mb) == 0;
	int err = store_mbox_create_path(w, b->name, have_old ? old_mb.special_use : 0, true, &mb);
	if (err != 0)
		return err;
	if (have_old && old_mb.uidvalidity != mb.uidvalidity)
		have_old = false;   /* a different incarnation: its UIDs mean nothing here */
	uint64_t modseq_base = have_old ? old_mb.highestmodseq : (uint64_t)time(NULL) * 1000;
	if (modseq_base > mb.highestmodseq)
		mb.highestmodseq = modseq_base;
	/* the old record of each file, by the shared matching rules */
	struct old_match om_ctx = { .ents = b->ents,
				    .old = xcalloc(b->n ? b->n : 1, sizeof(*om_ctx.old)) };
	if (have_old && match_mailbox(o->old, o->old_txn, old_mb.id, b->ents, b->n, &old_ops,
				      &om_ctx) != 0)
		log_warn("rebuild: user=%s mailbox=%s: old index partly unreadable", w->u->name,
			 b->name);
	struct maildir_entry **order = xmalloc((b->n ? b->n : 1) * sizeof(*order));
	for (size_t i = 0; i < b->n; i++)
		order[i] = &b->ents[i];
	store_qsort(order, b->n, sizeof(*order), match_adopt_cmp);
	uint32_t last = 0;
	bool *defer = xcalloc(b->n ? b->n : 1, sizeof(*defer));
	uint32_t *uids = xcalloc(b->n ? b->n : 1, sizeof(*uids));
	for (size_t i = 0; i < b->n; i++) {
		if (order[i]->name.uid > last) {
			uids[i] = last = order[i]->name.uid;
		} else {
			defer[i] = true;
		}
	}
	uint32_t next = last + 1;
	if (have_old && old_mb.uidnext > next)
		next = old_mb.uidnext;
	for (size_t i = 0; i < b->n; i++) {
		if (defer[i])
			uids[i] = next++;
	}
	for (size_t i = 0; i < b->n && err == 0; i++) {
		struct maildir_entry *e = order[i];
		struct idx_msg m;
		const struct idx_msg *om = om_ctx.old[e - b->ents];
		memset(&m, 0, sizeof(m));
		m.uid = uids[i];
		snprintf(m.base, sizeof(m.base), "%s", e->name.base);
		if (defer[i] && e->name.uid != 0)
			maildir_new_base(m.base, sizeof(m.base));   /* duplicate identity */
		m.size = e->file_size;
		char *from = xasprintf("%s/%s/%s", b->dir, e->in_new ? "new" : "cur", e->filename);
		if (e->name.size == e->file_size && e->name.vsize != 0) {
			m.vsize = e->name.vsize;
		} else {
			FILE *f = fopen(from, "re");
			bool cr = false;
			char buf[65536];
			size_t k;
			while (f != NULL && (k = fread(buf, 1, sizeof(buf), f)) > 0)
				m.vsize += maildir_crlf_size(buf, k, &cr);
			if (f != NULL)
				fclose(f);
		}
		if (om != NULL && om->uid == m.uid && strcmp(m.base, om->base) == 0) {
			m.flags = om->flags;
			m.n_keywords = om->n_keywords;
			memcpy(m.keywords, om->keywords, sizeof(m.keywords));
			memcpy(m.origin, om->origin, sizeof(m.origin));
			m.internal_date = om->internal_date;
			m.save_date = om->save_date;
			m.modseq = om->modseq;
			err = idx_msg_insert_at(w->idx, w->txn, &mb, &m);
		} else {
			m.flags = e->name.flags & STORE_SYSTEM_FLAGS;
			for (unsigned l = 0; l < MAILDIR_KEYWORD_LETTERS; l++) {
				if (!(e->name.keyword_bits & (1u << l)))
					continue;
				char *kw = idx_keyword_name(w->idx, w->txn, (uint16_t)l);
				if (kw != NULL)
					m.keywords[m.n_keywords++] = (uint16_t)l;
				free(kw);
			}
			m.internal_date = e->mtime;
			m.save_date = e->mtime;
			err = idx_msg_insert(w->idx, w->txn, &mb, &m);
		}
		char *to = err == 0 ? store_msg_path(b->dir, &m) : NULL;
		if (to != NULL && strcmp(from, to) != 0) {
			if (rename(from, to) == 0)
				wtxn_undo_rename(w, from, to);
			else
				log_warn("rebuild: rename %s: %s", from, strerror(errno));
		}
		free(from);
		free(to);
		if (m.uid >= mb.uidnext)
			mb.uidnext = m.uid + 1;
		o->done++;
		if (o->progress != NULL && (o->done % 1000 == 0 || o->done == o->total))
			o->progress(o->done, o->total, o->ctx);
	}
	free(defer);
	free(uids);
	free(order);
	for (size_t i = 0; i < b->n; i++)
		free(om_ctx.old[i]);
	free(om_ctx.old);
	if (err == 0 && have_old) {
		/* keep the tombstones and how far they were pruned (QRESYNC) */
		struct idx_iter it;
		uint64_t ms, pruned = 0;
		uint32_t uid;
		int64_t when;
		int r;
		err = idx_tomb_iter_open(o->old, o->old_txn, old_mb.id, 0, &it);
		while (err == 0 && (r = idx_tomb_iter_next(&it, &ms, &uid, &when)) != 0) {
			struct idx_msg live;
			if (r < 0)
				break;   /* a damaged tail: keep what was read */
			if (idx_msg_get(w->idx, w->txn, mb.id, uid, &live) == 0)
				continue;
			err = idx_tomb_put(w->idx, w->txn, mb.id, ms, uid, when);
			if (ms > mb.highestmodseq)
				mb.highestmodseq = ms;
			if (uid >= mb.uidnext)
				mb.uidnext = uid + 1;
		}
		idx_iter_close(&it);
		if (err == 0 && idx_tomb_pruned(o->old, o->old_txn, old_mb.id, &pruned) == 0)
			err = idx_tomb_set_pruned(w->idx, w->txn, mb.id, pruned);
		if (err == 0)   /* METADATA entries; a damaged table keeps what was read */
			idx_annot_copy(o->old, o->old_txn, old_mb.id, w->idx, w->txn, mb.id);
		mb.recent_uid = old_mb.recent_uid < mb.uidnext ? old_mb.recent_uid : mb.uidnext;
	} else {
		mb.recent_uid = mb.uidnext;
	}
	if (err == 0)
		err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0) {
		char *cur = xasprintf("%s/cur", b->dir);
		wtxn_fsync_dir(w, cur);
		free(cur);
		wtxn_touch(w, mb.id, b->dir, true);
	}
	return err;
}

static int run_rebuild(struct wtxn *w, struct wop *op)
{
	struct op_rebuild *o = (struct op_rebuild *)op;
	int err = rebuild_keywords(w, o);
	if (err == 0)
		copy_old_user_data(w, o);
	for (size_t i = 0; i < o->n_boxes && err == 0; i++)
		err = rebuild_mailbox(w, o, &o->boxes[i]);
	w->changed = true;
	return err;
}

static int scan_user(struct store *store, const char *user, struct op_rebuild *o)
{
	char *udir = xasprintf("%s/%s", store->mail_dir, user);
	DIR *d = opendir(udir);
	if (d == NULL) {
		int e = errno;
		free(udir);
		return e == ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	o->boxes = xcalloc(1, sizeof(*o->boxes));
	o->boxes[0].name = xstrdup("INBOX");
	o->boxes[0].dir = xstrdup(udir);
	o->n_boxes = 1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *name = mailbox_name_from_dir(de->d_name);
		if (name == NULL)
			continue;
		o->boxes = xrealloc(o->boxes, (o->n_boxes + 1) * sizeof(*o->boxes));
		o->boxes[o->n_boxes].name = name;
		o->boxes[o->n_boxes].dir = xasprintf("%s/%s", udir, de->d_name);
		o->boxes[o->n_boxes].ents = NULL;
		o->boxes[o->n_boxes].n = 0;
		o->n_boxes++;
	}
	closedir(d);
	free(udir);
	store_qsort(o->boxes + 1, o->n_boxes - 1, sizeof(*o->boxes), name_cmp);
	for (size_t i = 0; i < o->n_boxes; i++) {
		int r = maildir_scan(o->boxes[i].dir, &o->boxes[i].ents, &o->boxes[i].n);
		if (r == -ENOENT)
			continue;   /* not a Maildir (yet): created empty */
		if (r != 0)
			return STORE_EIO;
		o->total += o->boxes[i].n;
	}
	return 0;
}

static bool has_mailboxes(struct idx *idx)
{
	MDB_txn *txn;
	if (idx_read_begin(idx, &txn) != 0)
		return false;
	MDB_stat st;
	bool yes = mdb_stat(txn, idx->dbi.mailboxes, &st) == 0 && st.ms_entries > 0;
	idx_read_end(idx, txn);
	return yes;
}

static int str_rcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Backups of earlier indexes (index.broken-*), newest first. */
static void list_backups(const char *udir, char ***dirs_r, size_t *n_r)
{
	char **dirs = NULL;
	size_t n = 0;
	DIR *d = opendir(udir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "index.broken-", 13) != 0)
			continue;
		dirs = xrealloc(dirs, (n + 1) * sizeof(*dirs));
		dirs[n++] = xasprintf("%s/%s", udir, de->d_name);
	}
	if (d != NULL)
		closedir(d);
	store_qsort(dirs, n, sizeof(*dirs), str_rcmp);
	*dirs_r = dirs;
	*n_r = n;
}

/* The best source of what files cannot tell: the index just moved aside,
 * else (a rebuild killed earlier left an empty index) the newest readable
 * backup that still holds mailboxes. */
static void open_old(struct store *store, const char *user, char **dirs, size_t n, struct idx *old,
		     struct op_rebuild *o)
{
	for (size_t i = 0; i < n; i++) {
		char *data = xasprintf("%s/data.mdb", dirs[i]);
		struct stat st;
		bool present = stat(data, &st) == 0 && st.st_size > 0;
		free(data);
		if (!present || idx_open(old, dirs[i], store->set.lmdb_map_size) != 0)
			continue;
		if (has_mailboxes(old) && idx_read_begin(old, &o->old_txn) == 0) {
			o->old = old;
			log_info("rebuild: user=%s keeps MODSEQs, flags and tombstones from %s", user,
				 dirs[i]);
			return;
		}
		idx_close(old);
	}
	if (n > 0)
		log_warn("rebuild: no readable old index of user=%s; MODSEQs restart", user);
}

int store_index_rebuild(struct store *store, const char *user, store_progress_cb *progress,
			void *ctx)
{
	if (user == NULL || user[0] == '\0' || user[0] == '.' || strchr(user, '/') != NULL)
		return STORE_EINVALID;
	struct op_rebuild o = { .op = { .run = run_rebuild }, .progress = progress, .ctx = ctx };
	int err = scan_user(store, user, &o);
	char *udir = xasprintf("%s/%s", store->mail_dir, user);
	char *index = xasprintf("%s/index", udir);
	/* a unique backup name: killed rebuilds may have left others */
	char *backup = xasprintf("%s/index.broken-%lld-%ld", udir, (long long)time(NULL),
				 (long)getpid());
	bool moved = false;
	struct idx old;
	memset(&old, 0, sizeof(old));
	char **backups = NULL;
	size_t n_backups = 0;
	if (err == 0)
		err = store_user_evict(store, user);
	if (err == 0) {
		struct stat st;
		if (stat(backup, &st) == 0)
			rm_tree(backup);
		if (rename(index, backup) == 0)
			moved = true;
		else if (errno != ENOENT)
			err = STORE_EIO;
	}
	if (err == 0) {
		list_backups(udir, &backups, &n_backups);
		/* the index just moved aside first, then older backups */
		for (size_t i = 0; i < n_backups && moved; i++) {
			if (strcmp(backups[i], backup) == 0) {
				char *t = backups[0];
				backups[0] = backups[i];
				backups[i] = t;
				break;
			}
		}
		open_old(store, user, backups, n_backups, &old, &o);
		maildir_keywords_read(udir, &o.file_kw, &o.n_file_kw);
	}
	struct store_user *u = NULL;
	if (err == 0)
		err = store_user_get(store, user, &u);
	if (err == 0)
		err = writer_run(u, &o.op);
	if (o.old != NULL)
		idx_read_end(&old, o.old_txn);
	idx_close(&old);
	if (u != NULL)
		store_user_unref(u);
	if (err == 0) {
		/* the new index is durable: every backup is obsolete */
		for (size_t i = 0; i < n_backups; i++)
			rm_tree(backups[i]);
		log_info("rebuild: user=%s mailboxes=%zu messages=%zu", user, o.n_boxes, o.total);
	} else if (moved && store_user_evict(store, user) == 0) {
		rm_tree(index);
		if (rename(backup, index) != 0)
			log_error("rebuild: could not restore %s: %s", backup, strerror(errno));
	}
	store_strv_free(backups, n_backups);
	for (size_t i = 0; i < o.n_boxes; i++) {
		free(o.boxes[i].name);
		free(o.boxes[i].dir);
		maildir_scan_free(o.boxes[i].ents, o.boxes[i].n);
	}
	free(o.boxes);
	store_strv_free(o.file_kw, o.n_file_kw);
	free(udir);
	free(index);
	free(backup);
	return err;
}
