/* APPEND's store side (see append.h): the ops queued between literals run
 * in order on a storage pool thread — begin a message's temporary file,
 * copy a URL part's section into it, write buffered text, finish it — and
 * at the command's end all messages commit in one writer op
 * (store_append_commit_multi), so a failing message leaves none. Freeing
 * discards whatever is still open, on the pool and only after the sink's
 * last write returned. */
#include "server/imap/append.h"

#include <string.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "server/engine/sink.h"
#include "server/imap/selected.h"
#include "server/imap/session.h"
#include "server/services.h"
#include "storage/store.h"

#define COPY_CHUNK 65536

void imap_append_op(struct imap_append *a, enum imap_append_op_kind kind, size_t msg,
		    char *text, size_t len, const struct imap_url *url)
{
	if (a->n_ops == a->cap_ops) {
		a->cap_ops = a->cap_ops ? a->cap_ops * 2 : 8;
		a->ops = xrealloc(a->ops, a->cap_ops * sizeof(*a->ops));
	}
	struct imap_append_op *op = &a->ops[a->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->msg = msg;
	op->text = text;
	op->len = len;
	if (url != NULL)
		op->url = *url;
}

static void ops_clear(struct imap_append *a)
{
	for (size_t i = 0; i < a->n_ops; i++) {
		free(a->ops[i].text);
		imap_url_free(&a->ops[i].url);
	}
	a->n_ops = 0;
}

/* ---- on the pool ---- */

static int copy_url(struct imap_append *a, struct imap_append_op *op)
{
	struct imap_url_source *src;
	uint64_t size;
	const char *why;
	a->urlctx.now = (int64_t)time(NULL);
	int err = imap_url_open(&a->urlctx, op->text, op->len, &op->url, false, &src, &size, &why);
	if (err == LOFT_ENOENT) {
		a->bad_url = xstrdup(op->text);
		log_info("append: CATENATE URL refused user=%s url=%s: %s", a->self_name, op->text,
			 why);
		return IMAP_APPEND_EBADURL;
	}
	if (err != 0)
		return STORE_EIO;
	struct store_append *app = a->msgs[op->msg].app;
	char *buf = xmalloc(COPY_CHUNK);
	int ret = 0;
	while (ret == 0) {
		size_t got;
		if (imap_url_read(src, buf, COPY_CHUNK, &got) != 0) {
			ret = STORE_EIO;
			break;
		}
		if (got == 0)
			break;
		ret = store_append_write(app, buf, got);
	}
	free(buf);
	imap_url_close(&src);
	return ret;
}

static int run_op(struct imap_append *a, struct imap_append_op *op)
{
	struct imap_append_msg *m = &a->msgs[op->msg];
	switch (op->kind) {
	case IMAP_APPEND_BEGIN:
		return store_append_begin(a->s->store_user, a->mailbox, &m->app);
	case IMAP_APPEND_URL:
		return copy_url(a, op);
	case IMAP_APPEND_TEXT:
		return store_append_write(m->app, op->text, op->len);
	case IMAP_APPEND_FINISH:
		return store_append_finish(m->app);
	}
	return STORE_EINVALID;
}

static void commit_all(struct imap_append *a)
{
	const char **kw = NULL;
	size_t n_kw = 0;
	for (size_t i = 0; i < a->n_msgs; i++)
		n_kw += a->msgs[i].n_keywords;
	kw = xcalloc(n_kw + 1, sizeof(*kw));
	struct store_append **apps = xcalloc(a->n_msgs, sizeof(*apps));
	struct store_append_meta *metas = xcalloc(a->n_msgs, sizeof(*metas));
	size_t k = 0;
	for (size_t i = 0; i < a->n_msgs; i++) {
		struct imap_append_msg *m = &a->msgs[i];
		size_t n = m->n_keywords < STORE_MAX_KEYWORDS_PER_MSG ? m->n_keywords
								      : STORE_MAX_KEYWORDS_PER_MSG;
		metas[i] = (struct store_append_meta){
			.flags = m->flags, .keywords = kw + k, .n_keywords = n,
			.internal_date = m->internal_date,
		};
		for (size_t j = 0; j < n; j++)
			kw[k++] = m->keywords[j];
		apps[i] = m->app;
		m->app = NULL;   /* commit_multi frees it, whatever happens */
	}
	a->uids = xcalloc(a->n_msgs, sizeof(*a->uids));
	if (a->replace)      /* one message (cmd-append.c refuses more) */
		a->err = store_append_commit_replace(&apps[0], &metas[0], a->s->sel->mbox,
						     a->replace_uid, &a->uids[0], &a->uidvalidity,
						     &a->replace_gone);
	else
		a->err = store_append_commit_multi(apps, a->n_msgs, metas, a->uids,
						   &a->uidvalidity);
	free(apps);
	free(metas);
	free(kw);
}

void imap_append_work(struct sess_job *job)
{
	struct imap_append *a = (struct imap_append *)job;
	for (size_t i = 0; i < a->n_ops && a->err == 0; i++)
		a->err = run_op(a, &a->ops[i]);
	ops_clear(a);
	if (a->commit && a->err == 0)
		commit_all(a);
}

/* ---- freeing ---- */

struct append_abort {
	struct work_item item;
	struct store_append **apps;
	size_t n;
	struct work_pool *pool;
};

static void abort_run(struct work_item *item)
{
	struct append_abort *ab = (struct append_abort *)item;
	for (size_t i = 0; i < ab->n; i++)
		store_append_abort(&ab->apps[i]);
	free(ab->apps);
	free(ab);
}

static void sink_done_abort(void *arg, int err)
{
	(void)err;
	struct append_abort *ab = arg;
	work_pool_submit(ab->pool, &ab->item);
}

void imap_append_free(void *ctx)
{
	struct imap_append *a = ctx;
	struct append_abort *ab = xcalloc(1, sizeof(*ab));
	ab->item.run = abort_run;
	ab->pool = a->s->core.svc->storage_pool;
	ab->apps = xcalloc(a->n_msgs + 1, sizeof(*ab->apps));
	for (size_t i = 0; i < a->n_msgs; i++) {
		if (a->msgs[i].app != NULL)
			ab->apps[ab->n++] = a->msgs[i].app;
		for (size_t k = 0; k < a->msgs[i].n_keywords; k++)
			free(a->msgs[i].keywords[k]);
		free(a->msgs[i].keywords);
	}
	if (a->sink != NULL) {
		/* A write may still run into one of the appends: discard the
		 * rest and abort them only once it has returned. */
		sess_sink_finish(a->sink, true, sink_done_abort, ab);
		a->sink = NULL;
	} else if (ab->n > 0) {
		work_pool_submit(ab->pool, &ab->item);
	} else {
		free(ab->apps);
		free(ab);
	}
	ops_clear(a);
	free(a->ops);
	free(a->msgs);
	free(a->mailbox);
	free(a->bad_url);
	free(a->code);
	free(a->uids);
	free(a->self_name);
	free(a->base_mailbox);
	free(a->submit_user);
	free(a);
}
