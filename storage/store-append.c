/* Streamed append: the message is written to <mailbox>/tmp/<base> on the
 * caller's thread and fsynced there; the commit op assigns the UID, inserts
 * the record and renames the file into cur/ inside a group-committed write
 * transaction (see writer.c for the crash-safety order). The bytes of a
 * streamed append are parsed as they pass (storage/message/), and the
 * parse result is stored in the same commit, so no FETCH ever reads the
 * file again for its structure. An append of a spooled message
 * (store_append_begin_spool) starts finished: its file is already in tmp/
 * and durable (a hard link to the spool, or a fsynced copy), and its caller
 * brings the parse result (store_append_meta.cache), parsed once for all
 * recipients as the spool was written. Several finished appends can
 * commit in one writer op (MULTIAPPEND): all of them or none. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/message/message.h"
#include "storage/store-keywords.h"
#include "storage/store-private.h"
#include "storage/store-quota.h"
#include "storage/store-spool.h"
#include "storage/writer.h"
#include "lib/thread-role.h"

struct store_append {
	struct store_user *user;
	char *mailbox;          /* canonical */
	char *dir;
	struct maildir_tmp tmp;
	struct msg_parser *parser;  /* fed every byte; NULL once finished */
	void *blob;             /* the parse result, when the caller gave none */
	size_t blob_len;
	struct store_append_meta meta; /* the caller's meta with our blob */
	int error;              /* sticky */
	bool finished;          /* file fsynced and closed, parse done (a
				 * spooled message starts so) */
};

/* A new append to mailbox (its tmp file not made yet), or NULL with the
 * error in *err_r. */
static struct store_append *app_new(struct store_user *user, const char *mailbox, int *err_r)
{
	char *canon = store_name_canonical(mailbox);
	if (canon == NULL) {
		*err_r = STORE_EINVALID;
		return NULL;
	}
	*err_r = store_mailbox_sync(user, canon);
	if (*err_r != 0) {
		free(canon);
		return NULL;
	}
	struct store_append *app = xcalloc(1, sizeof(*app));
	app->user = user;
	app->mailbox = canon;
	app->dir = store_mailbox_path(user, canon);
	return app;
}

/* Finish app_new: r is how making the tmp file went (0 or -errno). */
static int app_started(struct store_append *app, int r, struct store_append **app_r)
{
	if (r != 0) {
		if (r != -ENOENT)
			log_error("store: create tmp file in %s: %s", app->dir, strerror(-r));
		free(app->dir);
		free(app->mailbox);
		free(app);
		return r == -ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	store_user_ref(app->user);
	*app_r = app;
	return 0;
}

int store_append_begin(struct store_user *user, const char *mailbox, struct store_append **app_r)
{
	*app_r = NULL;
	thread_assert_may_block("store_append_begin");
	int err;
	struct store_append *app = app_new(user, mailbox, &err);
	if (app == NULL)
		return err;
	err = app_started(app, maildir_tmp_create(app->dir, &app->tmp), app_r);
	if (err == 0)
		(*app_r)->parser = msg_parser_new(&user->store->set.msg_limits);
	return err;
}

/* Write prefix and the spool's bytes into a new tmp file and fsync it. */
static int copy_spool(struct store_spool *sp, const char *dir, const void *prefix,
		      size_t prefix_len, struct maildir_tmp *tmp)
{
	int r = maildir_tmp_create(dir, tmp);
	if (r != 0)
		return r;
	if (prefix_len > 0)
		r = maildir_tmp_write(tmp, prefix, prefix_len);
	int in = r == 0 ? open(sp->tmp.path, O_RDONLY | O_CLOEXEC) : -1;
	if (r == 0 && in < 0)
		r = -errno;
	char *buf = in >= 0 ? xmalloc(65536) : NULL;
	while (r == 0) {
		ssize_t n = read(in, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		r = maildir_tmp_write(tmp, buf, (size_t)n);
	}
	free(buf);
	if (in >= 0)
		close(in);
	if (r == 0)
		r = maildir_tmp_finish(tmp);
	if (r != 0)
		maildir_tmp_discard(tmp);
	return r;
}

int store_append_begin_spool(struct store_user *user, const char *mailbox,
			     struct store_spool *sp, const void *prefix, size_t prefix_len,
			     struct store_append **app_r)
{
	*app_r = NULL;
	thread_assert_may_block("store_append_begin_spool");
	if (sp->error != 0)
		return sp->error;
	if (prefix_len == 0 && !sp->synced)
		return STORE_EINVALID;
	if (sp->max_size != 0 && sp->tmp.size + prefix_len > sp->max_size)
		return STORE_ETOOBIG;
	/* No reconcile here (the commit's batch reconciles the mailbox before
	 * the append runs): concurrent deliveries to one mailbox would each
	 * see the others' renames and queue a commit of their own. The
	 * mailbox must exist, though. */
	char *canon = store_name_canonical(mailbox);
	if (canon == NULL)
		return STORE_EINVALID;
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err == 0) {
		struct idx_mbox mb;
		err = idx_mbox_by_name(&user->idx, txn, canon, &mb);
		idx_read_end(&user->idx, txn);
	}
	if (err != 0) {
		free(canon);
		return err;
	}
	struct store_append *app = xcalloc(1, sizeof(*app));
	app->user = user;
	app->mailbox = canon;
	app->dir = store_mailbox_path(user, canon);
	int r = -EXDEV;
	if (prefix_len == 0) {
		r = maildir_tmp_link(app->dir, &sp->tmp, &app->tmp);
		/* Another file system, too many links, no hard links: copy. */
		if (r == -EXDEV || r == -EMLINK || r == -EPERM || r == -ENOTSUP)
			log_debug("store: link spool into %s: %s; copying", app->dir,
				  strerror(-r));
	}
	if (r == -EXDEV || r == -EMLINK || r == -EPERM || r == -ENOTSUP)
		r = copy_spool(sp, app->dir, prefix, prefix_len, &app->tmp);
	app->finished = r == 0;
	return app_started(app, r, app_r);
}

int store_append_write(struct store_append *app, const void *data, size_t len)
{
	thread_assert_may_block("store_append_write");
	if (app->error != 0)
		return app->error;
	if (app->finished)
		return STORE_EINVALID;
	uint64_t max = app->user->store->set.max_message_size;
	if (max != 0 && app->tmp.size + len > max) {
		app->error = STORE_ETOOBIG;
		return app->error;
	}
	int r = maildir_tmp_write(&app->tmp, data, len);
	if (r != 0) {
		log_error("store: write %s: %s", app->tmp.path, strerror(-r));
		app->error = STORE_EIO;
		return app->error;
	}
	if (app->parser != NULL)
		msg_parser_feed(app->parser, data, len);
	return 0;
}

/* The meta the commit stores: the caller's, with the parse result as the
 * cache blob unless the caller brought one (borrowed from app). */
static const struct store_append_meta *commit_meta(struct store_append *app,
						   const struct store_append_meta *meta)
{
	if (meta != NULL) {
		app->meta = *meta;
		if (app->meta.cache == NULL && app->blob != NULL) {
			/* parsed already (store_append_finish) */
			app->meta.cache = app->blob;
			app->meta.cache_len = app->blob_len;
		}
	}
	if (app->meta.cache == NULL && app->parser != NULL) {
		struct msg_info *info = msg_parser_finish(&app->parser);
		if (info != NULL) {
			msg_blob_write(info, &app->blob, &app->blob_len);
			msg_info_free(&info);
			app->meta.cache = app->blob;
			app->meta.cache_len = app->blob_len;
		}
	}
	return &app->meta;
}

int store_append_finish(struct store_append *app)
{
	thread_assert_may_block("store_append_finish");
	if (app->error != 0 || app->finished)
		return app->error;
	int r = maildir_tmp_finish(&app->tmp);
	if (r != 0) {
		log_error("store: fsync %s: %s", app->tmp.path, strerror(-r));
		app->error = STORE_EIO;
		return app->error;
	}
	commit_meta(app, NULL);   /* the parse ends with the bytes */
	app->finished = true;
	return 0;
}

uint64_t store_append_size(const struct store_append *app)
{
	return app->tmp.size;
}

static void app_free(struct store_append *app)
{
	maildir_tmp_discard(&app->tmp);
	msg_parser_free(&app->parser);
	free(app->blob);
	store_user_unref(app->user);
	free(app->dir);
	free(app->mailbox);
	free(app);
}

void store_append_abort(struct store_append **app)
{
	if (*app == NULL)
		return;
	app_free(*app);
	*app = NULL;
}

struct op_append {
	struct wop op;
	struct store_append *app;
	const struct store_append_meta *meta;
	uint32_t uid, uidvalidity;
	bool sync_file;             /* fsync the tmp file first (async) */
	store_append_cb *cb;
	void *ctx;
};

/* One message into the index and cur/, inside the op's transaction. */
static int append_one(struct wtxn *w, struct store_append *app,
		      const struct store_append_meta *meta, uint32_t *uid_r,
		      uint32_t *uidvalidity_r)
{
	struct idx_mbox mb;
	int err = idx_mbox_by_name(w->idx, w->txn, app->mailbox, &mb);
	if (err != 0)
		return err;
	if (mb.uidnext == UINT32_MAX)
		return STORE_EIO;   /* UID space exhausted: needs a new UIDVALIDITY */
	err = store_quota_check(w, app->tmp.size, 1);
	if (err != 0)
		return err;
	if (idx_space_low(w->idx, w->txn))
		return STORE_EIO;
	struct idx_msg m;
	memset(&m, 0, sizeof(m));
	size_t nk = 0;
	if (meta != NULL && meta->n_keywords > 0) {
		err = store_keywords_resolve(w, meta->keywords, meta->n_keywords, m.keywords, &nk);
		if (err != 0)
			return err;
	}
	m.n_keywords = (uint16_t)nk;
	m.uid = mb.uidnext++;
	m.flags = meta != NULL ? meta->flags & STORE_SYSTEM_FLAGS : 0;
	m.internal_date = meta != NULL && meta->internal_date != 0 ? meta->internal_date
									   : (int64_t)time(NULL);
	m.save_date = (int64_t)time(NULL);
	m.size = app->tmp.size;
	m.vsize = app->tmp.vsize;
	snprintf(m.base, sizeof(m.base), "%s", app->tmp.base);
	err = idx_msg_insert(w->idx, w->txn, &mb, &m);
	if (err == 0)
		err = idx_mbox_put(w->idx, w->txn, &mb, false);
	if (err == 0 && meta != NULL && meta->cache != NULL)
		err = idx_cache_put(w->idx, w->txn, mb.id, m.uid, meta->cache, meta->cache_len);
	if (err == 0 && meta != NULL && meta->spam.verdict != STORE_SPAM_NONE)
		err = idx_spam_put(w->idx, w->txn, mb.id, m.uid, &meta->spam);
	if (err != 0)
		return err;
	char *path = store_msg_path(app->dir, &m);
	if (path == NULL)
		return STORE_EIO;
	int r = maildir_rename(app->tmp.path, path);
	if (r != 0) {
		log_error("store: rename %s -> %s: %s", app->tmp.path, path, strerror(-r));
		free(path);
		return r == -ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	wtxn_undo_rename(w, app->tmp.path, path);
	free(path);
	char *cur = xasprintf("%s/cur", app->dir);
	wtxn_fsync_dir_added(w, cur);
	free(cur);
	wtxn_touch(w, mb.id, app->dir, true);
	*uid_r = m.uid;
	*uidvalidity_r = mb.uidvalidity;
	return 0;
}

static int run_append(struct wtxn *w, struct wop *op)
{
	struct op_append *o = (struct op_append *)op;
	if (o->sync_file && !o->app->finished) {
		/* async commit: the file's fsync runs here, not on the caller */
		int r = maildir_tmp_finish(&o->app->tmp);
		if (r != 0) {
			log_error("store: fsync %s: %s", o->app->tmp.path, strerror(-r));
			return STORE_EIO;
		}
		o->sync_file = false;
	}
	return append_one(w, o->app, o->meta, &o->uid, &o->uidvalidity);
}

/* The checks and the file's fsync before a commit: 0 or a store error. */
static int commit_ready(struct store_append *app, const struct store_append_meta *meta)
{
	if (app == NULL)
		return STORE_EINVALID;
	int err = app->error;
	if (err == 0 && meta != NULL && ((meta->n_keywords > 0 && meta->keywords == NULL) ||
					 (meta->cache == NULL && meta->cache_len > 0)))
		err = STORE_EINVALID;
	if (err == 0 && !app->finished) {
		int r = maildir_tmp_finish(&app->tmp);
		if (r != 0) {
			log_error("store: fsync %s: %s", app->tmp.path, strerror(-r));
			err = STORE_EIO;
		}
	}
	return err;
}

/* Run op (an op_append or op_replace) and hand out its results. */
static int commit_run(struct store_append *app, struct op_append *o, uint32_t *uid_r,
		      uint32_t *uidvalidity_r)
{
	int err = writer_run(app->user, &o->op);
	if (err == 0) {
		if (uid_r != NULL)
			*uid_r = o->uid;
		if (uidvalidity_r != NULL)
			*uidvalidity_r = o->uidvalidity;
		app->tmp.path[0] = '\0';   /* now in cur/: nothing to discard */
	}
	return err;
}

int store_append_commit(struct store_append **appp, const struct store_append_meta *meta,
			uint32_t *uid_r, uint32_t *uidvalidity_r)
{
	struct store_append *app = *appp;
	*appp = NULL;
	int err = commit_ready(app, meta);
	if (err == 0) {
		struct op_append o = { .op = { .run = run_append, .mbox = { app->mailbox } },
				       .app = app, .meta = commit_meta(app, meta) };
		err = commit_run(app, &o, uid_r, uidvalidity_r);
	}
	if (app != NULL)
		app_free(app);
	return err;
}

/* ---- REPLACE (RFC 8508): append and expunge in one commit ---- */

struct op_replace {
	struct op_append a;         /* first: commit_run takes it */
	struct store_mailbox *old;
	uint32_t old_uid;
	bool old_gone;
};

/* The expunge first: old_uid must never name the message being added
 * (both are in one transaction; the order is invisible outside it). */
static int run_replace(struct wtxn *w, struct wop *op)
{
	struct op_replace *o = (struct op_replace *)op;
	int err = store_expunge_in_op(w, o->old, o->old_uid);
	o->old_gone = err == STORE_ENOTFOUND;
	if (err == 0)
		err = append_one(w, o->a.app, o->a.meta, &o->a.uid, &o->a.uidvalidity);
	return err;
}

int store_append_commit_replace(struct store_append **appp, const struct store_append_meta *meta,
				struct store_mailbox *old, uint32_t old_uid, uint32_t *uid_r,
				uint32_t *uidvalidity_r, bool *old_gone_r)
{
	thread_assert_may_block("store_append_commit_replace");
	if (old_gone_r != NULL)
		*old_gone_r = false;
	struct store_append *app = *appp;
	*appp = NULL;
	int err = commit_ready(app, meta);
	if (err == 0 && (old == NULL || old->user != app->user || old_uid == 0))
		err = STORE_EINVALID;
	if (err == 0) {
		struct op_replace o = {
			.a = { .op = { .run = run_replace, .mbox = { app->mailbox, old->name } },
			       .app = app, .meta = commit_meta(app, meta) },
			.old = old, .old_uid = old_uid,
		};
		err = commit_run(app, &o.a, uid_r, uidvalidity_r);
		if (old_gone_r != NULL)
			*old_gone_r = o.old_gone;
	}
	if (app != NULL)
		app_free(app);
	return err;
}

/* ---- several appends in one op (MULTIAPPEND) ---- */

struct op_multi {
	struct wop op;
	struct store_append **apps;
	const struct store_append_meta *metas;
	size_t n;
	uint32_t *uids;
	uint32_t uidvalidity;
};

/* Every message or none: a failure aborts the op's nested transaction and
 * its undo log moves the files already renamed back into tmp/. */
static int run_multi(struct wtxn *w, struct wop *op)
{
	struct op_multi *o = (struct op_multi *)op;
	for (size_t i = 0; i < o->n; i++) {
		int err = append_one(w, o->apps[i], &o->metas[i], &o->uids[i], &o->uidvalidity);
		if (err != 0)
			return err;
	}
	return 0;
}

int store_append_commit_multi(struct store_append **apps, size_t n,
			      const struct store_append_meta *metas, uint32_t *uids_r,
			      uint32_t *uidvalidity_r)
{
	thread_assert_may_block("store_append_commit_multi");
	int err = n == 0 || apps == NULL || metas == NULL ? STORE_EINVALID : 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		const struct store_append_meta *m = &metas[i];
		if (apps[i] == NULL || apps[i]->user != apps[0]->user ||
		    strcmp(apps[i]->mailbox, apps[0]->mailbox) != 0 ||
		    (m->n_keywords > 0 && m->keywords == NULL) ||
		    (m->cache == NULL && m->cache_len > 0))
			err = STORE_EINVALID;
		else
			err = store_append_finish(apps[i]);
	}
	if (err == 0) {
		struct store_append_meta *full = xcalloc(n, sizeof(*full));
		for (size_t i = 0; i < n; i++)
			full[i] = *commit_meta(apps[i], &metas[i]);
		uint32_t *uids = xcalloc(n, sizeof(*uids));
		struct op_multi o = { .op = { .run = run_multi, .mbox = { apps[0]->mailbox } },
				      .apps = apps, .metas = full, .n = n, .uids = uids };
		err = writer_run(apps[0]->user, &o.op);
		if (err == 0) {
			if (uids_r != NULL)
				memcpy(uids_r, uids, n * sizeof(*uids));
			if (uidvalidity_r != NULL)
				*uidvalidity_r = o.uidvalidity;
			for (size_t i = 0; i < n; i++)
				apps[i]->tmp.path[0] = '\0';  /* in cur/ now */
		}
		free(uids);
		free(full);
	}
	for (size_t i = 0; i < n && apps != NULL; i++) {
		if (apps[i] != NULL)
			app_free(apps[i]);
		apps[i] = NULL;
	}
	return err;
}

static void append_done(struct wop *op)
{
	struct op_append *o = (struct op_append *)op;
	if (o->op.result == 0)
		o->app->tmp.path[0] = '\0';
	o->cb(o->op.result, o->op.result == 0 ? o->uid : 0, o->op.result == 0 ? o->uidvalidity : 0,
	      o->ctx);
	app_free(o->app);
	free(o);
}

void store_append_commit_async(struct store_append **appp, const struct store_append_meta *meta,
			       store_append_cb *cb, void *ctx)
{
	struct store_append *app = *appp;
	*appp = NULL;
	int err = app == NULL ? STORE_EINVALID : app->error;
	if (err == 0 && meta != NULL && ((meta->n_keywords > 0 && meta->keywords == NULL) ||
					 (meta->cache == NULL && meta->cache_len > 0)))
		err = STORE_EINVALID;
	if (err != 0) {
		if (app != NULL)
			app_free(app);
		cb(err, 0, 0, ctx);
		return;
	}
	struct op_append *o = xcalloc(1, sizeof(*o));
	o->op.run = run_append;
	o->op.mbox[0] = app->mailbox;
	o->op.free_fn = append_done;
	o->app = app;
	o->meta = commit_meta(app, meta);
	o->sync_file = true;
	o->cb = cb;
	o->ctx = ctx;
	/* on a stopping store the op is completed (freed) with STORE_EIO */
	if (writer_submit_detached(app->user, &o->op) != 0)
		return;
}
