/* Mailbox views and the read side of the public API: open/close a view
 * (claiming \Recent for read-write views), status, message scans, single
 * message lookups, opening a message's bytes, the parsed-metadata cache and
 * changes since a MODSEQ. Reads are short read transactions; the cost of
 * store_changes_since is one range scan of the modseq and expunged tables
 * starting at `since`, independent of the mailbox size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"
#include "storage/store-recent.h"
#include "storage/writer.h"
#include "lib/thread-role.h"

/* ---- keyword name cache for one read txn ---- */

static const char *kw_name(struct kwcache *c, struct idx *idx, MDB_txn *txn, uint16_t id)
{
	if (id >= c->n) {
		size_t n = (size_t)id + 16;
		c->names = xrealloc(c->names, n * sizeof(*c->names));
		memset(c->names + c->n, 0, (n - c->n) * sizeof(*c->names));
		c->n = n;
	}
	if (c->names[id] == NULL) {
		c->names[id] = idx_keyword_name(idx, txn, id);
		if (c->names[id] == NULL)
			c->names[id] = xasprintf("$Keyword%u", id);   /* unknown id: never NULL */
	}
	return c->names[id];
}

void store_kwcache_free(struct kwcache *c)
{
	store_strv_free(c->names, c->n);
	c->names = NULL;
	c->n = 0;
}

/* STORE_ID_LEN characters of base64url of SHA-256(base). */
static void id_of(const char *base, char out[STORE_ID_LEN + 1])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)base, strlen(base), md);
	for (size_t i = 0, o = 0; o < STORE_ID_LEN; i += 3) {
		uint32_t v = ((uint32_t)md[i] << 16) | ((uint32_t)md[i + 1] << 8) | md[i + 2];
		for (int k = 3; k >= 0 && o < STORE_ID_LEN; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	out[STORE_ID_LEN] = '\0';
}

void store_fill_msg(struct store_msg *out, const struct idx_msg *m, struct kwcache *c,
		    struct idx *idx, MDB_txn *txn)
{
	out->uid = m->uid;
	out->flags = m->flags;
	out->modseq = m->modseq;
	out->internal_date = m->internal_date;
	out->save_date = m->save_date;
	out->size = m->size;
	out->vsize = m->vsize;
	out->n_keywords = m->n_keywords;
	for (unsigned i = 0; i < m->n_keywords; i++)
		out->keywords[i] = c != NULL ? kw_name(c, idx, txn, m->keywords[i]) : NULL;
	/* both NUL-terminated within IDX_BASE_MAX (== STORE_ID_SRC_MAX) */
	memcpy(out->id_base, m->base, strlen(m->base) + 1);
	memcpy(out->id_origin, m->origin, strlen(m->origin) + 1);
}

void store_msg_uidl(const struct store_msg *msg, char uidl_r[STORE_ID_LEN + 1])
{
	id_of(msg->id_base, uidl_r);
}

void store_msg_emailid(const struct store_msg *msg, char emailid_r[STORE_ID_LEN + 2])
{
	emailid_r[0] = 'M';
	id_of(msg->id_origin[0] != '\0' ? msg->id_origin : msg->id_base, emailid_r + 1);
}

void store_mailboxid(const char *user, uint32_t uidvalidity, char id_r[STORE_ID_LEN + 2])
{
	char *src = xasprintf("mailbox/%s/%u", user, uidvalidity);
	id_r[0] = 'F';
	id_of(src, id_r + 1);
	free(src);
}

static int collect_vanished(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
			    struct store_uid_list *out);

/* ---- recent ---- */

int store_view_claim_recent(struct store_mailbox *mbox)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	int err = store_recent_claim(mbox->user, mbox->id, mbox->uidvalidity, &uids, &n);
	if (err == 0 && n > 0) {
		if (mbox->n_recent + n > mbox->recent_cap) {
			mbox->recent_cap = mbox->n_recent + n;
			mbox->recent = xrealloc(mbox->recent, mbox->recent_cap * sizeof(*mbox->recent));
		}
		memcpy(mbox->recent + mbox->n_recent, uids, n * sizeof(*uids));
		mbox->n_recent += n;
	}
	free(uids);
	return err;
}

/* ---- views ---- */

int store_mailbox_open(struct store_user *user, const char *name, bool read_only,
		       struct store_mailbox **mbox_r)
{
	*mbox_r = NULL;
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	int err = store_mailbox_sync(user, canon);
	MDB_txn *txn = NULL;
	struct idx_mbox mb;
	if (err == 0)
		err = idx_read_begin(&user->idx, &txn);
	if (err == 0)
		err = idx_mbox_by_name(&user->idx, txn, canon, &mb);
	idx_read_end(&user->idx, txn);
	if (err != 0) {
		free(canon);
		return err;
	}
	struct store_mailbox *mbox = xcalloc(1, sizeof(*mbox));
	mbox->user = user;
	mbox->name = canon;
	mbox->dir = store_mailbox_path(user, canon);
	mbox->id = mb.id;
	mbox->uidvalidity = mb.uidvalidity;
	mbox->read_only = read_only;
	mbox->recent_modseq = mb.highestmodseq;   /* nothing claimed was expunged before */
	store_user_ref(user);
	if (!read_only && mb.recent_uid < mb.uidnext) {
		err = store_view_claim_recent(mbox);
		if (err != 0) {
			store_mailbox_close(&mbox);
			return err;
		}
	}
	*mbox_r = mbox;
	return 0;
}

void store_mailbox_close(struct store_mailbox **mbox)
{
	struct store_mailbox *m = *mbox;
	if (m == NULL)
		return;
	*mbox = NULL;
	store_user_unref(m->user);
	free(m->name);
	free(m->dir);
	free(m->recent);
	free(m);
}

/* Read the view's mailbox record; STORE_ENOTFOUND once it was deleted (or
 * recreated with another UIDVALIDITY). */
static int view_record(struct store_mailbox *mbox, MDB_txn *txn, struct idx_mbox *mb)
{
	int err = idx_mbox_get(&mbox->user->idx, txn, mbox->id, mb);
	if (err == 0 && mb->uidvalidity != mbox->uidvalidity)
		err = STORE_ENOTFOUND;
	if (err == 0)
		store_view_follow(mbox, mb);
	return err;
}

void store_view_follow(struct store_mailbox *mbox, const struct idx_mbox *mb)
{
	if (strcmp(mbox->name, mb->name) == 0)
		return;
	char *dir = store_mailbox_path(mbox->user, mb->name);
	if (dir == NULL)
		return;
	free(mbox->name);
	free(mbox->dir);
	mbox->name = xstrdup(mb->name);
	mbox->dir = dir;
}

int store_mailbox_status(struct store_mailbox *mbox, struct store_status *status_r)
{
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	struct idx_mbox mb;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	err = view_record(mbox, txn, &mb);
	idx_read_end(idx, txn);
	if (err != 0)
		return err;
	if (!mbox->read_only && mb.recent_uid < mb.uidnext) {
		/* new messages arrived: this view claims their \Recent */
		err = store_view_claim_recent(mbox);
		if (err != 0)
			return err;
	}
	err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	err = view_record(mbox, txn, &mb);
	/* drop claimed UIDs expunged since the last look: the tombstones newer
	 * than that MODSEQ, so the cost follows the expunges, not the size */
	if (err == 0 && mbox->n_recent > 0 && mb.highestmodseq != mbox->recent_modseq) {
		struct store_uid_list gone = { NULL, 0 };
		err = collect_vanished(idx, txn, mbox->id, mbox->recent_modseq, &gone);
		size_t keep = 0, j = 0;
		for (size_t i = 0; i < mbox->n_recent && err == 0; i++) {
			while (j < gone.count && gone.uids[j] < mbox->recent[i])
				j++;
			if (j == gone.count || gone.uids[j] != mbox->recent[i])
				mbox->recent[keep++] = mbox->recent[i];
		}
		if (err == 0)
			mbox->n_recent = keep;
		store_uid_list_free(&gone);
	}
	if (err == 0)
		mbox->recent_modseq = mb.highestmodseq;
	uint64_t pruned = 0;
	if (err == 0)
		err = idx_tomb_pruned(idx, txn, mbox->id, &pruned);
	idx_read_end(idx, txn);
	if (err != 0)
		return err;
	memset(status_r, 0, sizeof(*status_r));
	status_r->messages = mb.messages;
	status_r->unseen = mb.unseen;
	status_r->recent = (uint32_t)mbox->n_recent;
	status_r->uidnext = mb.uidnext;
	status_r->uidvalidity = mb.uidvalidity;
	status_r->highestmodseq = mb.highestmodseq;
	status_r->size = mb.size;
	status_r->deleted = mb.deleted;
	status_r->pruned_modseq = pruned;
	status_r->vsize = mb.vsize;
	store_mailboxid(mbox->user->name, mb.uidvalidity, status_r->mailboxid);
	return 0;
}

const uint32_t *store_mailbox_recent(struct store_mailbox *mbox, size_t *count_r)
{
	*count_r = mbox->n_recent;
	return mbox->recent;
}

/* ---- messages ---- */

int store_msg_scan(struct store_mailbox *mbox, uint32_t uid_lo, uint32_t uid_hi,
		   store_msg_cb *cb, void *ctx)
{
	if (uid_lo > uid_hi)
		return 0;
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	err = view_record(mbox, txn, &mb);
	struct kwcache kc = { 0 };
	struct idx_iter it = { 0 };
	struct idx_msg m;
	int r;
	if (err == 0)
		err = idx_msg_iter_open(idx, txn, mbox->id, uid_lo, &it);
	while (err == 0 && (r = idx_msg_iter_next(&it, &m)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		if (m.uid > uid_hi)
			break;
		struct store_msg sm;
		store_fill_msg(&sm, &m, &kc, idx, txn);
		err = cb(&sm, ctx);
	}
	idx_iter_close(&it);
	store_kwcache_free(&kc);
	idx_read_end(idx, txn);
	return err;
}

int store_msg_get(struct store_mailbox *mbox, uint32_t uid, struct store_msg *msg_r,
		  char ***keywords_r)
{
	if (keywords_r != NULL)
		*keywords_r = NULL;
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	struct idx_msg m;
	err = view_record(mbox, txn, &mb);
	if (err == 0)
		err = idx_msg_get(idx, txn, mbox->id, uid, &m);
	if (err == 0) {
		store_fill_msg(msg_r, &m, NULL, idx, txn);
		if (keywords_r != NULL) {
			char **kw = xcalloc(m.n_keywords + 1u, sizeof(*kw));
			for (unsigned i = 0; i < m.n_keywords; i++) {
				kw[i] = idx_keyword_name(idx, txn, m.keywords[i]);
				if (kw[i] == NULL)
					kw[i] = xasprintf("$Keyword%u", m.keywords[i]);
				msg_r->keywords[i] = kw[i];
			}
			*keywords_r = kw;
		}
	}
	idx_read_end(idx, txn);
	return err;
}

/* Open the current file of a message record: its expected name, else a
 * lookup by base (a flag rename may have happened after our read). */
static int open_record(const char *dir, const struct idx_msg *m, bool search)
{
	char *path = store_msg_path(dir, m);
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	int saved = path != NULL ? errno : ENOENT;
	free(path);
	if (fd >= 0 || saved != ENOENT || !search)
		return fd >= 0 ? fd : -saved;
	char *found = NULL;
	if (maildir_find_base(dir, m->base, &found) == 0) {
		fd = open(found, O_RDONLY | O_CLOEXEC);
		saved = errno;
	}
	free(found);
	return fd >= 0 ? fd : -saved;
}

int store_msg_open(struct store_mailbox *mbox, uint32_t uid, int *fd_r, uint64_t *size_r)
{
	thread_assert_may_block("store_msg_open");
	*fd_r = -1;
	struct idx *idx = &mbox->user->idx;
	int fd = -ENOENT;
	/* A concurrent flag change renames the file before its commit, so the
	 * name we compute can be stale for a moment: re-read and retry. */
	for (int attempt = 0; attempt < 20 && fd == -ENOENT; attempt++) {
		if (attempt > 0) {
			struct timespec ts = { 0, 1000000L * attempt };
			nanosleep(&ts, NULL);
		}
		MDB_txn *txn;
		int err = idx_read_begin(idx, &txn);
		if (err != 0)
			return err;
		struct idx_mbox mb;
		struct idx_msg m;
		err = view_record(mbox, txn, &mb);
		if (err == 0)
			err = idx_msg_get(idx, txn, mbox->id, uid, &m);
		idx_read_end(idx, txn);
		if (err != 0)
			return err;
		/* the first retries only re-read the record (the writer's
		 * commit follows its rename within milliseconds); a directory
		 * search by base is the expensive last resort */
		fd = open_record(mbox->dir, &m, attempt >= 3);
	}
	if (fd == -ENOENT) {
		log_warn("store: file of user=%s mailbox=%s uid=%u missing", mbox->user->name,
			 mbox->name, uid);
		return STORE_ENOTFOUND;
	}
	if (fd < 0) {
		log_error("store: open message uid=%u in %s: %s", uid, mbox->dir, strerror(-fd));
		return STORE_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return STORE_EIO;
	}
	*fd_r = fd;
	if (size_r != NULL)
		*size_r = (uint64_t)st.st_size;
	return 0;
}

/* ---- cache ---- */

int store_msg_cache_get(struct store_mailbox *mbox, uint32_t uid, void **data_r, size_t *len_r)
{
	*data_r = NULL;
	*len_r = 0;
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	err = idx_cache_get(idx, txn, mbox->id, uid, data_r, len_r);
	idx_read_end(idx, txn);
	return err;
}

int store_msg_spam_get(struct store_mailbox *mbox, uint32_t uid, struct store_spam *spam_r)
{
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0) {
		memset(spam_r, 0, sizeof(*spam_r));
		return err;
	}
	err = idx_spam_get(idx, txn, mbox->id, uid, spam_r);
	idx_read_end(idx, txn);
	return err;
}

struct op_cache {
	struct wop op;
	uint32_t mbox_id, uid;
	const void *data;
	size_t len;
};

static int run_cache_set(struct wtxn *w, struct wop *op)
{
	struct op_cache *o = (struct op_cache *)op;
	struct idx_msg m;
	int err = idx_msg_get(w->idx, w->txn, o->mbox_id, o->uid, &m);
	if (err != 0)
		return err;
	if (o->len > 0 && idx_space_low(w->idx, w->txn))
		return STORE_EIO;
	w->changed = true;
	return idx_cache_put(w->idx, w->txn, o->mbox_id, o->uid, o->data, o->len);
}

int store_msg_cache_set(struct store_mailbox *mbox, uint32_t uid, const void *data, size_t len)
{
	if (data == NULL && len > 0)
		return STORE_EINVALID;
	struct op_cache o = { .op = { .run = run_cache_set, .nosync = true }, .mbox_id = mbox->id,
			      .uid = uid, .data = data, .len = len };
	return writer_run(mbox->user, &o.op);
}

/* ---- keywords ---- */

static int kw_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

int store_keywords(struct store_user *user, char ***names_r, size_t *count_r)
{
	*names_r = NULL;
	*count_r = 0;
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	char **table = NULL;
	size_t n = 0, k = 0;
	err = idx_keyword_table(&user->idx, txn, &table, &n);
	idx_read_end(&user->idx, txn);
	if (err != 0) {
		store_strv_free(table, n);
		return err;
	}
	for (size_t i = 0; i < n; i++) {       /* close the id holes */
		if (table[i] != NULL)
			table[k++] = table[i];
	}
	store_qsort(table, k, sizeof(*table), kw_cmp);
	*names_r = table;
	*count_r = k;
	return 0;
}

/* ---- changes since ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void store_uid_list_free(struct store_uid_list *list)
{
	if (list == NULL)
		return;
	x_free(&list->uids);
	list->count = 0;
}

static int collect_vanished(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, uint64_t since,
			    struct store_uid_list *out)
{
	struct idx_iter it;
	size_t cap = 0;
	uint64_t ms;
	uint32_t uid;
	int64_t when;
	int r, err = idx_tomb_iter_open(idx, txn, mbox_id, since, &it);
	while (err == 0 && (r = idx_tomb_iter_next(&it, &ms, &uid, &when)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		if (out->count == cap) {
			cap = cap ? cap * 2 : 16;
			out->uids = xrealloc(out->uids, cap * sizeof(*out->uids));
		}
		out->uids[out->count++] = uid;
	}
	idx_iter_close(&it);
	if (err != 0)
		return err;
	store_qsort(out->uids, out->count, sizeof(*out->uids), cmp_u32);
	return 0;
}

int store_changes_since(struct store_mailbox *mbox, uint64_t since, store_msg_cb *changed_cb,
			void *ctx, struct store_uid_list *vanished_r)
{
	if (vanished_r != NULL)
		*vanished_r = (struct store_uid_list){ NULL, 0 };
	struct idx *idx = &mbox->user->idx;
	MDB_txn *txn;
	int err = idx_read_begin(idx, &txn);
	if (err != 0)
		return err;
	struct idx_mbox mb;
	err = view_record(mbox, txn, &mb);
	struct kwcache kc = { 0 };
	if (err == 0 && changed_cb != NULL && since < mb.highestmodseq) {
		struct idx_iter it;
		uint64_t ms;
		uint32_t uid;
		int r;
		err = idx_modseq_iter_open(idx, txn, mbox->id, since, &it);
		while (err == 0 && (r = idx_modseq_iter_next(&it, &ms, &uid)) != 0) {
			struct idx_msg m;
			if (r < 0 || (err = idx_msg_get(idx, txn, mbox->id, uid, &m)) != 0) {
				err = r < 0 ? r : err;
				if (err == STORE_ENOTFOUND) {
					log_warn("store: modseq entry without message user=%s mailbox=%s",
						 mbox->user->name, mbox->name);
					err = 0;
					continue;
				}
				break;
			}
			struct store_msg sm;
			store_fill_msg(&sm, &m, &kc, idx, txn);
			err = changed_cb(&sm, ctx);
		}
		idx_iter_close(&it);
	}
	if (err == 0 && vanished_r != NULL)
		err = collect_vanished(idx, txn, mbox->id, since, vanished_r);
	store_kwcache_free(&kc);
	idx_read_end(idx, txn);
	if (err != 0 && vanished_r != NULL)
		store_uid_list_free(vanished_r);
	return err;
}
