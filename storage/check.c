/* store_index_check: compare a user's index with the Maildir without
 * changing anything (one read transaction): files missing or unknown, UIDs
 * in names that disagree with the index, duplicate UIDs in names, mailbox
 * counters that do not match the records, and modseq / tombstone tables that
 * are inconsistent with the messages. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
#include "storage/match.h"
#include "storage/store-private.h"

#define CHECK_MAX_LINES 1000

static void problem(struct store_check_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct store_check_report *r, const char *fmt, ...)
{
	r->problems++;
	if (r->n_lines >= CHECK_MAX_LINES)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line == NULL)
		return;
	r->lines = xrealloc(r->lines, (r->n_lines + 1) * sizeof(*r->lines));
	r->lines[r->n_lines++] = line;
}

void store_check_report_free(struct store_check_report *report)
{
	if (report == NULL)
		return;
	store_strv_free(report->lines, report->n_lines);
	memset(report, 0, sizeof(*report));
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

struct check_ctx {
	struct idx *idx;
	MDB_txn *txn;
	const struct idx_mbox *mb;
	const char *dir;
	struct store_check_report *r;
	struct idx_mbox sum;
	uint64_t max_modseq;
	uint32_t max_uid;
};

/* Counters and the modseq index of every record, paired or not. */
static void check_record(struct check_ctx *c, const struct idx_msg *m)
{
	c->sum.messages++;
	if (!(m->flags & STORE_FLAG_SEEN))
		c->sum.unseen++;
	if (m->flags & STORE_FLAG_DELETED)
		c->sum.deleted++;
	c->sum.size += m->size;
	c->sum.vsize += m->vsize;
	if (m->modseq > c->max_modseq)
		c->max_modseq = m->modseq;
	if (m->uid > c->max_uid)
		c->max_uid = m->uid;
	struct idx_iter it;
	uint64_t ms = 0;
	uint32_t uid = 0;
	bool ok = idx_modseq_iter_open(c->idx, c->txn, c->mb->id, m->modseq - 1, &it) == 0 &&
		  idx_modseq_iter_next(&it, &ms, &uid) == 1 && ms == m->modseq && uid == m->uid;
	idx_iter_close(&it);
	if (!ok)
		problem(c->r, "mailbox %s: uid %u: modseq %llu not indexed", c->mb->name, m->uid,
			(unsigned long long)m->modseq);
}

static int check_pair(void *ctx, const struct idx_msg *m, struct maildir_entry *e)
{
	struct check_ctx *c = ctx;
	check_record(c, m);
	if (e->name.uid != 0 && e->name.uid != m->uid)
		problem(c->r, "mailbox %s: uid %u: file %s names U=%u", c->mb->name, m->uid,
			e->filename, e->name.uid);
	if (e->file_size != m->size)
		problem(c->r, "mailbox %s: uid %u: size %llu in index, %llu on disk", c->mb->name,
			m->uid, (unsigned long long)m->size, (unsigned long long)e->file_size);
	return 0;
}

static int check_lost(void *ctx, const struct idx_msg *m)
{
	struct check_ctx *c = ctx;
	check_record(c, m);
	/* A writer next to us may have renamed it (a flag change) between
	 * our scan and now: look once more by base. */
	char *found = NULL;
	if (maildir_find_base(c->dir, m->base, &found) == 0)
		free(found);
	else
		problem(c->r, "mailbox %s: uid %u: file %s missing", c->mb->name, m->uid, m->base);
	return 0;
}

static int check_stray(void *ctx, struct maildir_entry *e, bool dup)
{
	struct check_ctx *c = ctx;
	(void)dup;
	problem(c->r, "mailbox %s: file %s%s not in the index", c->mb->name,
		e->in_new ? "new/" : "cur/", e->filename);
	return 0;
}

static const struct match_ops check_ops = { check_pair, check_lost, check_stray };

/* modseq entries must point at messages with that modseq; tombstones must
 * lie below UIDNEXT and not name live messages. */
static int check_tables(struct check_ctx *c)
{
	struct idx_iter it;
	uint64_t ms;
	uint32_t uid;
	int64_t when;
	int r, err = idx_modseq_iter_open(c->idx, c->txn, c->mb->id, 0, &it);
	while (err == 0 && (r = idx_modseq_iter_next(&it, &ms, &uid)) != 0) {
		struct idx_msg m;
		if (r < 0 || idx_msg_get(c->idx, c->txn, c->mb->id, uid, &m) != 0 || m.modseq != ms)
			problem(c->r, "mailbox %s: stale modseq entry %llu", c->mb->name,
				(unsigned long long)ms);
		if (r < 0)
			break;
	}
	idx_iter_close(&it);
	err = err != 0 ? err : idx_tomb_iter_open(c->idx, c->txn, c->mb->id, 0, &it);
	while (err == 0 && (r = idx_tomb_iter_next(&it, &ms, &uid, &when)) != 0) {
		if (r < 0) {
			problem(c->r, "mailbox %s: undecodable tombstone", c->mb->name);
			break;
		}
		struct idx_msg m;
		if (ms > c->max_modseq)
			c->max_modseq = ms;
		if (uid >= c->mb->uidnext)
			problem(c->r, "mailbox %s: tombstone uid %u >= uidnext %u", c->mb->name, uid,
				c->mb->uidnext);
		if (idx_msg_get(c->idx, c->txn, c->mb->id, uid, &m) == 0)
			problem(c->r, "mailbox %s: uid %u is both live and expunged", c->mb->name, uid);
	}
	idx_iter_close(&it);
	return err;
}

static int check_mailbox(struct store_user *u, MDB_txn *txn, const struct idx_mbox *mb,
			 struct store_check_report *r)
{
	char *dir = store_mailbox_path(u, mb->name);
	struct maildir_entry *ents = NULL;
	size_t n = 0;
	int sr = dir != NULL ? maildir_scan(dir, &ents, &n) : -EINVAL;
	if (sr != 0) {
		problem(r, "mailbox %s: cannot scan %s: %s", mb->name, dir ? dir : "?", strerror(-sr));
		free(dir);
		return 0;
	}
	struct check_ctx c = { .idx = &u->idx, .txn = txn, .mb = mb, .dir = dir, .r = r };
	int err = match_mailbox(&u->idx, txn, mb->id, ents, n, &check_ops, &c);
	if (err == STORE_ECORRUPT) {
		problem(r, "mailbox %s: undecodable message record", mb->name);
		err = 0;
	}
	if (err == 0)
		err = check_tables(&c);
	const struct idx_mbox *sum = &c.sum;
	if (sum->messages != mb->messages || sum->unseen != mb->unseen ||
	    sum->deleted != mb->deleted || sum->size != mb->size || sum->vsize != mb->vsize)
		problem(r, "mailbox %s: counters (messages %u unseen %u deleted %u size %llu) "
			"but records give (%u %u %u %llu)", mb->name, mb->messages, mb->unseen,
			mb->deleted, (unsigned long long)mb->size, sum->messages, sum->unseen,
			sum->deleted, (unsigned long long)sum->size);
	if (c.max_modseq > mb->highestmodseq)
		problem(r, "mailbox %s: modseq %llu above highestmodseq %llu", mb->name,
			(unsigned long long)c.max_modseq, (unsigned long long)mb->highestmodseq);
	if (c.max_uid >= mb->uidnext)
		problem(r, "mailbox %s: uid %u >= uidnext %u", mb->name, c.max_uid, mb->uidnext);

	/* duplicate U= in names */
	uint32_t *uids = xmalloc((n ? n : 1) * sizeof(*uids));
	size_t n_uids = 0;
	for (size_t i = 0; i < n; i++) {
		if (ents[i].name.uid != 0)
			uids[n_uids++] = ents[i].name.uid;
	}
	store_qsort(uids, n_uids, sizeof(*uids), u32_cmp);
	for (size_t i = 1; i < n_uids; i++) {
		if (uids[i] == uids[i - 1])
			problem(r, "mailbox %s: U=%u appears in more than one file name", mb->name,
				uids[i]);
	}
	r->messages += sum->messages;
	free(uids);
	maildir_scan_free(ents, n);
	free(dir);
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_index_check(struct store *store, const char *user, struct store_check_report *report_r)
{
	memset(report_r, 0, sizeof(*report_r));
	if (user == NULL || user[0] == '\0' || user[0] == '.' || strchr(user, '/') != NULL)
		return STORE_EINVALID;
	char *udir = xasprintf("%s/%s", store->mail_dir, user);
	char *data = xasprintf("%s/index/data.mdb", udir);
	struct stat st;
	bool have_dir = stat(udir, &st) == 0, have_index = stat(data, &st) == 0;
	free(data);
	if (!have_dir) {
		free(udir);
		return STORE_ENOTFOUND;
	}
	if (!have_index) {
		problem(report_r, "no index in %s/index (run index rebuild)", udir);
		free(udir);
		return 0;
	}
	struct store_user *u;
	int err = store_user_get(store, user, &u);
	if (err != 0) {
		free(udir);
		return err;
	}
	MDB_txn *txn;
	err = idx_read_begin(&u->idx, &txn);
	char **names = NULL;
	size_t n_names = 0;
	struct idx_iter it = { 0 };
	if (err == 0 && idx_mbox_iter_open(&u->idx, txn, &it) == 0) {
		struct idx_mbox mb;
		int r;
		while (err == 0 && (r = idx_mbox_iter_next(&it, &mb)) != 0) {
			if (r < 0) {
				problem(report_r, "undecodable mailbox record");
				break;
			}
			report_r->mailboxes++;
			names = xrealloc(names, (n_names + 1) * sizeof(*names));
			names[n_names++] = xstrdup(mb.name);
			struct idx_mbox by_name;
			if (idx_mbox_by_name(&u->idx, txn, mb.name, &by_name) != 0 || by_name.id != mb.id)
				problem(report_r, "mailbox %s: name mapping broken", mb.name);
			err = check_mailbox(u, txn, &mb, report_r);
		}
	}
	idx_iter_close(&it);
	idx_read_end(&u->idx, txn);
	store_qsort(names, n_names, sizeof(*names), name_cmp);
	if (store_bsearch(&(const char *){ "INBOX" }, names, n_names, sizeof(*names), name_cmp) == NULL)
		problem(report_r, "INBOX missing from the index");
	DIR *d = opendir(udir);
	struct dirent *de;
	while (err == 0 && d != NULL && (de = readdir(d)) != NULL) {
		char *name = mailbox_name_from_dir(de->d_name);
		if (name == NULL)
			continue;
		const char *key = name;
		if (store_bsearch(&key, names, n_names, sizeof(*names), name_cmp) == NULL)
			problem(report_r, "mailbox directory %s not in the index", de->d_name);
		free(name);
	}
	if (d != NULL)
		closedir(d);
	store_strv_free(names, n_names);
	store_user_unref(u);
	free(udir);
	if (err != 0)
		store_check_report_free(report_r);
	return err;
}
