/* Reconcile: bring the index in line with what is on disk after another
 * program (an external MDA, a user's mv, a crash between rename and commit)
 * changed a Maildir. Runs inside writer ops, so the result is committed with
 * the batch; the read-side checks (store_mailbox_sync,
 * store_user_reconcile_all) only submit an op when the cheap stamp / readdir
 * comparison shows something changed.
 *
 * Rules: the index decides which base owns a UID; a file whose base is
 * unknown is adopted with its U= if that is >= UIDNEXT and not taken in this
 * pass, else with a fresh UID (a never-acknowledged message may survive with
 * a new UID, it never replaces another). Index records without a file are
 * expunged with a tombstone.
 *
 * Flags of known files: a file in cur/ whose name carries other flags than
 * the index and that was renamed after our last recorded cur/ stamp was
 * changed by another program (a mail client working on the Maildir): its
 * system flags and keyword letters are taken into the index with a new
 * MODSEQ (keywords beyond the 26 letters are kept). Our own renames happen
 * inside the commit that records the stamp, so they are never newer than
 * it; a rename of ours lost in a crash is older, and the file is renamed
 * back to the index's flags. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/match.h"
#include "storage/reconcile.h"
#include "storage/mailbox-create.h"
#include "storage/store-private.h"
#include "storage/writer.h"

#define TMP_MAX_AGE (36 * 3600)
#define TRASH_MAX_AGE 3600
#define ADOPT_UID_WINDOW 1000000u

static int file_vsize(const char *path, uint64_t *vsize_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[65536];
	bool cr = false;
	uint64_t v = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		v += maildir_crlf_size(buf, (size_t)n, &cr);
	int err = n < 0 ? -errno : 0;
	close(fd);
	*vsize_r = v;
	return err;
}

static char *entry_path(const char *dir, const struct maildir_entry *e)
{
	return xasprintf("%s/%s/%s", dir, e->in_new ? "new" : "cur", e->filename);
}

/* What the matcher found, applied after its iteration (match.h). */
struct fix { uint32_t uid; struct maildir_entry *e; };
struct stray { struct maildir_entry *e; bool dup; };
struct plan {
	uint32_t *gone;
	struct fix *fixes;
	struct stray *strays;
	size_t n_gone, n_fix, n_strays, cap_gone, cap_fix, cap_strays;
};

#define PUSH(arr, n, cap, val) do { if ((n) == (cap)) { (cap) = (cap) ? (cap) * 2 : 16; \
	(arr) = xrealloc((arr), (cap) * sizeof(*(arr))); } (arr)[(n)++] = (val); } while (0)

static int plan_pair(void *ctx, const struct idx_msg *m, struct maildir_entry *e)
{
	struct plan *p = ctx;
	char want[512];
	if (e->in_new || store_msg_filename(m, want, sizeof(want)) != 0 ||
	    strcmp(want, e->filename) != 0)
		PUSH(p->fixes, p->n_fix, p->cap_fix, ((struct fix){ m->uid, e }));
	return 0;
}

static int plan_lost(void *ctx, const struct idx_msg *m)
{
	struct plan *p = ctx;
	PUSH(p->gone, p->n_gone, p->cap_gone, m->uid);
	return 0;
}

static int plan_stray(void *ctx, struct maildir_entry *e, bool dup)
{
	struct plan *p = ctx;
	PUSH(p->strays, p->n_strays, p->cap_strays, ((struct stray){ e, dup }));
	return 0;
}

static const struct match_ops plan_ops = { plan_pair, plan_lost, plan_stray };

static int adopt(struct wtxn *w, struct idx_mbox *mb, const char *dir, struct maildir_entry *e,
		 bool new_base)
{
	struct idx_msg m;
	memset(&m, 0, sizeof(m));
	char *from = entry_path(dir, e);
	int err = 0;
	/* keep U= of a file our own crashed batch left (it is at or just above
	 * UIDNEXT); a far larger one would burn the UID space: renumber */
	if (e->name.uid >= mb->uidnext && e->name.uid < UINT32_MAX &&
	    e->name.uid - mb->uidnext < ADOPT_UID_WINDOW)
		m.uid = e->name.uid;
	else if (mb->uidnext < UINT32_MAX)
		m.uid = mb->uidnext;
	else
		err = STORE_EIO;
	mb->uidnext = m.uid + 1;
	m.flags = e->name.flags & STORE_SYSTEM_FLAGS;
	for (unsigned i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if (!(e->name.keyword_bits & (1u << i)))
			continue;
		char *kw = idx_keyword_name(w->idx, w->txn, (uint16_t)i);
		if (kw != NULL)
			m.keywords[m.n_keywords++] = (uint16_t)i;
		free(kw);
	}
	m.internal_date = e->mtime;
	m.save_date = (int64_t)time(NULL);   /* adopted into the mailbox now */
	m.size = e->file_size;
	if (e->name.size == e->file_size && e->name.vsize != 0)
		m.vsize = e->name.vsize;
	else if (err == 0 && file_vsize(from, &m.vsize) != 0)
		m.vsize = m.size;
	if (new_base)
		maildir_new_base(m.base, sizeof(m.base));
	else
		snprintf(m.base, sizeof(m.base), "%s", e->name.base);
	if (err == 0)
		err = idx_msg_insert(w->idx, w->txn, mb, &m);
	char *to = err == 0 ? store_msg_path(dir, &m) : NULL;
	if (err == 0 && to == NULL)
		err = STORE_EIO;
	if (err == 0 && strcmp(from, to) != 0) {
		if (rename(from, to) == 0) {
			wtxn_undo_rename(w, from, to);
		} else {
			log_error("reconcile: rename %s: %s", from, strerror(errno));
			err = errno == ENOENT ? 0 : STORE_EIO;
		}
	}
	if (err == 0)
		log_info("reconcile: adopted user=%s mailbox=%s uid=%u file=%s", w->u->name, mb->name,
			 m.uid, e->filename);
	free(from);
	free(to);
	return err;
}

/* If e shows a flag change made by another program (see the file comment),
 * apply it to the index record m (updated in place with its new MODSEQ). */
static int take_external_flags(struct wtxn *w, struct idx_mbox *mb,
			       const struct maildir_entry *e, struct idx_msg *m)
{
	if (e->in_new || !e->name.has_info || e->ctime_ns <= mb->cur_stamp)
		return 0;
	struct idx_msg nm = *m;
	nm.flags = e->name.flags & STORE_SYSTEM_FLAGS;
	nm.n_keywords = 0;
	for (unsigned i = 0; i < m->n_keywords; i++)
		if (m->keywords[i] >= MAILDIR_KEYWORD_LETTERS)
			nm.keywords[nm.n_keywords++] = m->keywords[i];
	for (uint16_t id = 0; id < MAILDIR_KEYWORD_LETTERS; id++) {
		if (!(e->name.keyword_bits & (1u << id)) ||
		    nm.n_keywords >= STORE_MAX_KEYWORDS_PER_MSG)
			continue;
		char *kw = idx_keyword_name(w->idx, w->txn, id);
		if (kw == NULL)
			return 0; /* a letter of a keyword whose commit never
				   * happened: a rename of ours lost in a crash,
				   * so the index's flags stand */
		free(kw);
		nm.keywords[nm.n_keywords++] = id;
	}
	if (nm.flags == m->flags && idx_msg_keyword_bits(&nm) == idx_msg_keyword_bits(m) &&
	    nm.n_keywords == m->n_keywords)
		return 0;
	int err = idx_msg_update(w->idx, w->txn, mb, m, &nm);
	if (err != 0)
		return err;
	log_info("reconcile: user=%s mailbox=%s uid=%u flags changed by another program",
		 w->u->name, mb->name, m->uid);
	w->changed = true;
	*m = nm;
	return 0;
}

int reconcile_mailbox(struct wtxn *w, struct idx_mbox *mb, const char *dir)
{
	struct maildir_entry *ents = NULL;
	size_t n = 0;
	int r = maildir_scan(dir, &ents, &n);
	if (r == -ENOENT) {
		if (strcmp(mb->name, "INBOX") != 0) {
			/* the directory is gone: so is the mailbox */
			log_info("reconcile: user=%s mailbox=%s directory vanished", w->u->name, mb->name);
			w->changed = true;
			return idx_mbox_drop(w->idx, w->txn, mb);
		}
		r = maildir_create(dir);
		if (r == 0)
			r = maildir_scan(dir, &ents, &n);
	}
	if (r != 0) {
		log_error("reconcile: scan %s: %s", dir, strerror(-r));
		return STORE_EIO;
	}
	maildir_tmp_cleanup(dir, TMP_MAX_AGE);
	struct plan p = { 0 };
	int err = match_mailbox(w->idx, w->txn, mb->id, ents, n, &plan_ops, &p);

	for (size_t i = 0; i < p.n_gone && err == 0; i++) {
		struct idx_msg m;
		err = idx_msg_get(w->idx, w->txn, mb->id, p.gone[i], &m);
		if (err == 0)
			err = idx_msg_remove(w->idx, w->txn, mb, &m);
		if (err == 0)
			log_info("reconcile: user=%s mailbox=%s uid=%u file vanished: expunged",
				 w->u->name, mb->name, p.gone[i]);
	}
	for (size_t i = 0; i < p.n_fix && err == 0; i++) {
		struct idx_msg m;
		err = idx_msg_get(w->idx, w->txn, mb->id, p.fixes[i].uid, &m);
		if (err != 0)
			break;
		err = take_external_flags(w, mb, p.fixes[i].e, &m);
		if (err != 0)
			break;
		char *from = entry_path(dir, p.fixes[i].e);
		char *to = store_msg_path(dir, &m);
		if (to != NULL && rename(from, to) == 0)
			wtxn_undo_rename(w, from, to);
		else if (errno != ENOENT)
			err = STORE_EIO;
		free(from);
		free(to);
	}
	/* a base that is already some other message's identity (a duplicate
	 * file) gets a fresh one */
	for (size_t i = 0; i < p.n_strays && err == 0; i++)
		err = adopt(w, mb, dir, p.strays[i].e, p.strays[i].dup);
	if (err == 0) {
		if (p.n_strays > 0 || p.n_gone > 0) {
			char *curdir = xasprintf("%s/cur", dir);
			wtxn_fsync_dir(w, curdir);
			free(curdir);
			char *newdir = xasprintf("%s/new", dir);
			wtxn_fsync_dir(w, newdir);
			free(newdir);
		}
		err = idx_mbox_put(w->idx, w->txn, mb, false);
		wtxn_touch(w, mb->id, dir, true);
	}
	free(p.gone);
	free(p.fixes);
	free(p.strays);
	maildir_scan_free(ents, n);
	return err;
}

bool reconcile_new_pending(const char *dir)
{
	char *path = xasprintf("%s/new", dir);
	DIR *d = opendir(path);
	free(path);
	if (d == NULL)
		return false;
	bool found = false;
	struct dirent *de;
	struct maildir_name name;
	/* only names maildir_scan would adopt, so a stray file that can never
	 * be adopted does not make every access rescan the mailbox */
	while (!found && (de = readdir(d)) != NULL)
		found = maildir_name_parse(de->d_name, &name) == 0;
	closedir(d);
	return found;
}

int reconcile_if_changed(struct wtxn *w, const char *name)
{
	struct idx_mbox mb;
	int err = idx_mbox_by_name(w->idx, w->txn, name, &mb);
	if (err == STORE_ENOTFOUND)
		return 0;
	if (err != 0)
		return err;
	char *dir = store_mailbox_path(w->u, name);
	if (dir == NULL)
		return STORE_EINVALID;
	int64_t cs = 0, ns = 0;
	if (maildir_dir_stamp(dir, &cs, &ns) == 0 && cs == mb.cur_stamp && ns == mb.new_stamp &&
	    !reconcile_new_pending(dir)) {
		free(dir);
		return 0;
	}
	err = reconcile_mailbox(w, &mb, dir);
	free(dir);
	return err;
}

/* ---- read-side checks that submit reconcile ops ---- */

static int run_noop(struct wtxn *w, struct wop *op)
{
	(void)w;
	(void)op;
	return 0;
}

int store_mailbox_sync(struct store_user *u, const char *name)
{
	MDB_txn *txn;
	int err = idx_read_begin(&u->idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	err = idx_mbox_by_name(&u->idx, txn, name, &mb);
	idx_read_end(&u->idx, txn);
	if (err != 0)
		return err;
	char *dir = store_mailbox_path(u, name);
	int64_t cs = 0, ns = 0;
	bool same = dir != NULL && maildir_dir_stamp(dir, &cs, &ns) == 0 && cs == mb.cur_stamp &&
		    ns == mb.new_stamp && !reconcile_new_pending(dir);
	free(dir);
	if (same)
		return 0;
	struct wop op = { .run = run_noop, .mbox = { name } };
	return writer_run(u, &op);
}

struct op_user_sync {
	struct wop op;
	char **create, **drop, **check, **half;
	size_t n_create, n_drop, n_check, n_half;
};

static bool is_dir(const char *parent, const char *name, const char *sub)
{
	char *p = xasprintf("%s/%s/%s", parent, name, sub);
	struct stat st;
	bool yes = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return yes;
}

static int run_user_sync(struct wtxn *w, struct wop *op)
{
	struct op_user_sync *o = (struct op_user_sync *)op;
	int err = 0;
	for (size_t i = 0; i < o->n_create && err == 0; i++) {
		err = store_mbox_create_path(w, o->create[i], 0, true, NULL);
		if (err == 0)
			err = reconcile_if_changed(w, o->create[i]);
	}
	for (size_t i = 0; i < o->n_drop && err == 0; i++) {
		struct idx_mbox mb;
		if (idx_mbox_by_name(w->idx, w->txn, o->drop[i], &mb) != 0)
			continue;
		char *dir = store_mailbox_path(w->u, o->drop[i]);
		struct stat st;
		if (dir != NULL && stat(dir, &st) != 0 && errno == ENOENT) {
			log_info("reconcile: user=%s mailbox=%s directory vanished", w->u->name, mb.name);
			err = idx_mbox_drop(w->idx, w->txn, &mb);
			w->changed = true;
		}
		free(dir);
	}
	for (size_t i = 0; i < o->n_check && err == 0; i++)
		err = reconcile_if_changed(w, o->check[i]);
	/* A mailbox directory with neither cur/ nor new/ that the index does
	 * not know: a create killed halfway (never acknowledged). Creates run
	 * under the write lock we hold, so none is in progress now.
	 * maildir_remove refuses anything holding other directories. */
	for (size_t i = 0; i < o->n_half && err == 0; i++) {
		char *name = mailbox_name_from_dir(o->half[i]);
		struct idx_mbox mb;
		if (name != NULL && idx_mbox_by_name(w->idx, w->txn, name, &mb) == STORE_ENOTFOUND &&
		    !is_dir(w->u->dir, o->half[i], "cur") && !is_dir(w->u->dir, o->half[i], "new")) {
			char *p = xasprintf("%s/%s", w->u->dir, o->half[i]);
			if (maildir_remove(p) == 0)
				log_info("reconcile: user=%s removed half-created %s", w->u->name,
					 o->half[i]);
			free(p);
		}
		free(name);
	}
	return err;
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_user_reconcile_all(struct store_user *u)
{
	struct op_user_sync o = { .op = { .run = run_user_sync } };
	char **known = NULL;
	size_t n_known = 0;
	MDB_txn *txn;
	int err = idx_read_begin(&u->idx, &txn);
	if (err != 0)
		return err;
	struct idx_iter it;
	struct idx_mbox mb;
	int r;
	err = idx_mbox_iter_open(&u->idx, txn, &it);
	while (err == 0 && (r = idx_mbox_iter_next(&it, &mb)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		push(&known, &n_known, mb.name);
		char *dir = store_mailbox_path(u, mb.name);
		int64_t cs, ns;
		int sr = dir != NULL ? maildir_dir_stamp(dir, &cs, &ns) : -EINVAL;
		struct stat st;
		if (sr == -ENOENT && strcmp(mb.name, "INBOX") != 0 && stat(dir, &st) != 0)
			push(&o.drop, &o.n_drop, mb.name);
		else if (sr != 0 || cs != mb.cur_stamp || ns != mb.new_stamp)
			push(&o.check, &o.n_check, mb.name);
		free(dir);
	}
	idx_iter_close(&it);
	idx_read_end(&u->idx, txn);
	store_qsort(known, n_known, sizeof(*known), name_cmp);
	if (err == 0 && store_bsearch(&(const char *){ "INBOX" }, known, n_known, sizeof(*known),
				name_cmp) == NULL)
		push(&o.create, &o.n_create, "INBOX");
	DIR *d = err == 0 ? opendir(u->dir) : NULL;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "loft-trash-", 11) == 0) {
			struct stat st;
			char *p = xasprintf("%s/%s", u->dir, de->d_name);
			if (stat(p, &st) == 0 && st.st_mtime + TRASH_MAX_AGE < time(NULL))
				maildir_remove(p);
			free(p);
			continue;
		}
		char *name = mailbox_name_from_dir(de->d_name);
		if (name == NULL)
			continue;
		const char *key = name;
		if (store_bsearch(&key, known, n_known, sizeof(*known), name_cmp) == NULL) {
			char *cur_dir = xasprintf("%s/%s/cur", u->dir, de->d_name);
			char *new_dir = xasprintf("%s/%s/new", u->dir, de->d_name);
			struct stat st;
			if ((stat(cur_dir, &st) == 0 && S_ISDIR(st.st_mode)) ||
			    (stat(new_dir, &st) == 0 && S_ISDIR(st.st_mode))) {
				push(&o.create, &o.n_create, name);
			} else {
				/* neither cur/ nor new/: a create killed halfway,
				 * or one in progress in another process; decided
				 * under the write lock */
				push(&o.half, &o.n_half, de->d_name);
			}
			free(cur_dir);
			free(new_dir);
		}
		free(name);
	}
	if (d != NULL)
		closedir(d);
	store_strv_free(known, n_known);
	if (err == 0 && o.n_create + o.n_drop + o.n_check + o.n_half > 0) {
		/* parents before children */
		store_qsort(o.create, o.n_create, sizeof(*o.create), name_cmp);
		err = writer_run(u, &o.op);
	}
	store_strv_free(o.create, o.n_create);
	store_strv_free(o.drop, o.n_drop);
	store_strv_free(o.check, o.n_check);
	store_strv_free(o.half, o.n_half);
	return err;
}
