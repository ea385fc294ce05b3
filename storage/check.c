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
#include "storage/index-schema.h"
#include "storage/maildir.h"
#include "storage/mailbox-name.h"
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

static int entry_cmp(const void *a, const void *b)
{
	const struct maildir_entry *x = a, *y = b;
	return strcmp(x->name.base, y->name.base);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static struct maildir_entry *find_entry(struct maildir_entry *e, size_t n, const char *base)
{
	struct maildir_entry key;
	memset(&key, 0, sizeof(key));
	snprintf(key.name.base, sizeof(key.name.base), "%s", base);
	return store_bsearch(&key, e, n, sizeof(*e), entry_cmp);
}

static int check_mailbox(struct store_user *u, MDB_txn *txn, const struct idx_mbox *mb,
			 struct store_check_report *r)
{
	struct idx *idx = &u->idx;
	char *dir = store_mailbox_path(u, mb->name);
	struct maildir_entry *ents = NULL;
	size_t n = 0;
	int sr = dir != NULL ? maildir_scan(dir, &ents, &n) : -EINVAL;
	if (sr != 0) {
		problem(r, "mailbox %s: cannot scan %s: %s", mb->name, dir ? dir : "?", strerror(-sr));
		free(dir);
		return 0;
	}
	store_qsort(ents, n, sizeof(*ents), entry_cmp);
	bool *used = xcalloc(n ? n : 1, sizeof(*used));
	struct idx_mbox sum;
	memset(&sum, 0, sizeof(sum));
	uint64_t max_modseq = 0;
	uint32_t max_uid = 0;
	size_t n_msgs = 0;

	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, idx->dbi.msgs, &cur);
	int err = 0;
	if (rc == 0) {
		unsigned char kb[IDX_MSG_KEY_LEN];
		idx_msg_key(kb, mb->id, 0);
		MDB_val k = { sizeof(kb), kb }, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (idx_get_u32(k.mv_data) != mb->id)
				break;
			struct idx_msg m;
			if (idx_msg_decode(&k, &v, &m) != 0) {
				problem(r, "mailbox %s: undecodable message record", mb->name);
				continue;
			}
			n_msgs++;
			sum.messages++;
			if (!(m.flags & STORE_FLAG_SEEN))
				sum.unseen++;
			if (m.flags & STORE_FLAG_DELETED)
				sum.deleted++;
			sum.size += m.size;
			sum.vsize += m.vsize;
			if (m.modseq > max_modseq)
				max_modseq = m.modseq;
			if (m.uid > max_uid)
				max_uid = m.uid;
			unsigned char mk[IDX_MODSEQ_KEY_LEN];
			idx_modseq_key(mk, mb->id, m.modseq);
			MDB_val mkv = { sizeof(mk), mk }, mv;
			if (mdb_get(txn, idx->dbi.modseq, &mkv, &mv) != 0 || mv.mv_size != 4 ||
			    idx_get_u32(mv.mv_data) != m.uid)
				problem(r, "mailbox %s: uid %u: modseq %llu not indexed", mb->name, m.uid,
					(unsigned long long)m.modseq);
			struct maildir_entry *e = find_entry(ents, n, m.base);
			if (e == NULL) {
				/* A writer next to us may have renamed it (a flag change)
				 * between our scan and now: look once more by base. */
				char *found = NULL;
				if (maildir_find_base(dir, m.base, &found) == 0) {
					free(found);
					continue;
				}
				problem(r, "mailbox %s: uid %u: file %s missing", mb->name, m.uid, m.base);
				continue;
			}
			used[e - ents] = true;
			if (e->name.uid != 0 && e->name.uid != m.uid)
				problem(r, "mailbox %s: uid %u: file %s names U=%u", mb->name, m.uid,
					e->filename, e->name.uid);
			if (e->file_size != m.size)
				problem(r, "mailbox %s: uid %u: size %llu in index, %llu on disk", mb->name,
					m.uid, (unsigned long long)m.size,
					(unsigned long long)e->file_size);
		}
		mdb_cursor_close(cur);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = idx_err(rc, "check scan");

	/* modseq entries must point at messages with that modseq */
	if (err == 0 && mdb_cursor_open(txn, idx->dbi.modseq, &cur) == 0) {
		unsigned char kb[IDX_MODSEQ_KEY_LEN];
		idx_modseq_key(kb, mb->id, 0);
		MDB_val k = { sizeof(kb), kb }, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size != IDX_MODSEQ_KEY_LEN || idx_get_u32(k.mv_data) != mb->id)
				break;
			uint64_t ms = idx_get_u64((unsigned char *)k.mv_data + 4);
			struct idx_msg m;
			if (v.mv_size != 4 ||
			    idx_msg_get(idx, txn, mb->id, idx_get_u32(v.mv_data), &m) != 0 ||
			    m.modseq != ms)
				problem(r, "mailbox %s: stale modseq entry %llu", mb->name,
					(unsigned long long)ms);
		}
		mdb_cursor_close(cur);
	}
	/* tombstones: below UIDNEXT and HIGHESTMODSEQ, not for live messages */
	if (err == 0 && mdb_cursor_open(txn, idx->dbi.expunged, &cur) == 0) {
		unsigned char kb[IDX_EXPUNGED_KEY_LEN];
		idx_expunged_key(kb, mb->id, 0, 0);
		MDB_val k = { sizeof(kb), kb }, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size != IDX_EXPUNGED_KEY_LEN || idx_get_u32(k.mv_data) != mb->id)
				break;
			uint64_t ms = idx_get_u64((unsigned char *)k.mv_data + 4);
			uint32_t uid = idx_get_u32((unsigned char *)k.mv_data + 12);
			struct idx_msg m;
			if (ms > max_modseq)
				max_modseq = ms;
			if (uid >= mb->uidnext)
				problem(r, "mailbox %s: tombstone uid %u >= uidnext %u", mb->name, uid,
					mb->uidnext);
			if (idx_msg_get(idx, txn, mb->id, uid, &m) == 0)
				problem(r, "mailbox %s: uid %u is both live and expunged", mb->name, uid);
		}
		mdb_cursor_close(cur);
	}

	if (sum.messages != mb->messages || sum.unseen != mb->unseen || sum.deleted != mb->deleted ||
	    sum.size != mb->size || sum.vsize != mb->vsize)
		problem(r, "mailbox %s: counters (messages %u unseen %u deleted %u size %llu) "
			"but records give (%u %u %u %llu)", mb->name, mb->messages, mb->unseen,
			mb->deleted, (unsigned long long)mb->size, sum.messages, sum.unseen,
			sum.deleted, (unsigned long long)sum.size);
	if (max_modseq > mb->highestmodseq)
		problem(r, "mailbox %s: modseq %llu above highestmodseq %llu", mb->name,
			(unsigned long long)max_modseq, (unsigned long long)mb->highestmodseq);
	if (max_uid >= mb->uidnext)
		problem(r, "mailbox %s: uid %u >= uidnext %u", mb->name, max_uid, mb->uidnext);

	/* files the index does not know; duplicate U= in names */
	uint32_t *uids = xmalloc((n ? n : 1) * sizeof(*uids));
	size_t n_uids = 0;
	for (size_t i = 0; i < n; i++) {
		if (!used[i])
			problem(r, "mailbox %s: file %s%s not in the index", mb->name,
				ents[i].in_new ? "new/" : "cur/", ents[i].filename);
		if (ents[i].name.uid != 0)
			uids[n_uids++] = ents[i].name.uid;
	}
	store_qsort(uids, n_uids, sizeof(*uids), u32_cmp);
	for (size_t i = 1; i < n_uids; i++) {
		if (uids[i] == uids[i - 1])
			problem(r, "mailbox %s: U=%u appears in more than one file name", mb->name,
				uids[i]);
	}
	r->messages += n_msgs;
	free(uids);
	free(used);
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
	MDB_cursor *cur;
	if (err == 0 && mdb_cursor_open(txn, u->idx.dbi.mailboxes, &cur) == 0) {
		MDB_val k, v;
		int rc;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			struct idx_mbox mb;
			if (idx_mbox_decode(&k, &v, &mb) != 0) {
				problem(report_r, "undecodable mailbox record");
				continue;
			}
			report_r->mailboxes++;
			names = xrealloc(names, (n_names + 1) * sizeof(*names));
			names[n_names++] = xstrdup(mb.name);
			struct idx_mbox by_name;
			if (idx_mbox_by_name(&u->idx, txn, mb.name, &by_name) != 0 || by_name.id != mb.id)
				problem(report_r, "mailbox %s: name mapping broken", mb.name);
			err = check_mailbox(u, txn, &mb, report_r);
		}
		mdb_cursor_close(cur);
	}
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
