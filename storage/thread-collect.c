/* What THREAD needs of each message of a mailbox (sort.h): the sent date
 * (else INTERNALDATE), the casemapped base subject and whether it was a
 * reply, the Message-ID and, for REFERENCES, the message ids of the
 * References field read from the message header (or In-Reply-To's first
 * one when References has none). Also the message-id list parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/casemap.h"
#include "lib/xmem.h"
#include "storage/search-private.h"
#include "storage/sort.h"

struct tmsg {
	struct store_thread_msg m;
	char *subject, *msgid;
	char **refs;
	size_t n_refs;
};

struct store_thread {
	struct store_mailbox *mbox;
	enum store_thread_algo algo;
	struct tmsg *v;
	size_t n, cap;
};

void store_msgids_parse(const char *value, size_t len, char ***ids_r, size_t *n_r)
{
	char **ids = NULL;
	size_t n = 0;
	const char *p = value, *end = value + len;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL)
			break;
		const char *gt = memchr(lt + 1, '>', (size_t)(end - lt - 1));
		if (gt == NULL)
			break;
		/* "<junk <a@b>": the id starts at the last '<' */
		lt = memrchr(lt, '<', (size_t)(gt - lt));
		/* the id without folding white space; it needs an '@' */
		char *id = xmalloc((size_t)(gt - lt));
		size_t o = 0;
		bool at = false;
		for (const char *c = lt + 1; c < gt; c++) {
			if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
				continue;
			if (*c == '@')
				at = true;
			id[o++] = *c;
		}
		id[o] = '\0';
		if (at && o > 2) {
			ids = xrealloc(ids, (n + 1) * sizeof(*ids));
			ids[n++] = id;
		} else {
			free(id);
		}
		p = gt + 1;
	}
	*ids_r = ids;
	*n_r = n;
}

struct store_thread *store_thread_new(struct store_mailbox *mbox, enum store_thread_algo algo)
{
	struct store_thread *t = xcalloc(1, sizeof(*t));
	t->mbox = mbox;
	t->algo = algo;
	return t;
}

static void tmsg_free(struct tmsg *m)
{
	free(m->subject);
	free(m->msgid);
	store_strv_free(m->refs, m->n_refs);
}

void store_thread_collect_free(struct store_thread **tp)
{
	struct store_thread *t = *tp;
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		tmsg_free(&t->v[i]);
	free(t->v);
	free(t);
	*tp = NULL;
}

static int scan_cb(const struct store_msg *m, void *ctx)
{
	struct store_thread *t = ctx;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	struct tmsg *tm = &t->v[t->n++];
	memset(tm, 0, sizeof(*tm));
	tm->m.uid = m->uid;
	tm->m.date = m->internal_date;
	return 0;
}

/* References from the message header. */
struct refs_ctx {
	const struct msg_part *root;
	struct msg_buf refs;
	bool seen;
};

static int refs_cb(enum msg_text_kind kind, const char *field, const struct msg_part *part,
		   const char *text, size_t len, void *ctx)
{
	struct refs_ctx *rc = ctx;
	if (kind != MSG_TEXT_HEADER || part != rc->root)
		return 1;                 /* past the message header */
	if (strcasecmp(field, "References") == 0) {
		/* the last References field counts (as the envelope's fields) */
		rc->refs.len = 0;
		msg_buf_append(&rc->refs, text, len);
		rc->seen = true;
	}
	return 0;
}

static int read_refs(struct store_thread *t, struct tmsg *tm, const struct msg_info *info)
{
	int fd;
	int err = store_msg_open(t->mbox, tm->m.uid, &fd, NULL);
	if (err != 0)
		return err;
	struct refs_ctx rc = { .root = info->root };
	int r = msg_search_text(info, fd, refs_cb, &rc);
	close(fd);
	if (r < 0) {
		msg_buf_free(&rc.refs);
		return STORE_EIO;
	}
	if (rc.seen)
		store_msgids_parse(rc.refs.data != NULL ? rc.refs.data : "", rc.refs.len,
				   &tm->refs, &tm->n_refs);
	msg_buf_free(&rc.refs);
	return 0;
}

static int fill(struct store_thread *t, struct tmsg *tm)
{
	struct msg_info *info = NULL;
	int err = store_msg_info(t->mbox, tm->m.uid, &info);
	if (err != 0)
		return err;
	const struct msg_envelope *env = info->root != NULL ? info->root->envelope : NULL;
	struct msg_buf b = { 0 };
	bool reply = false;
	if (env != NULL && env->subject.data != NULL)
		store_base_subject(env->subject.data, env->subject.len, &b, &reply);
	struct casemap_buf cb = { 0 };
	casemap_utf8(b.data != NULL ? b.data : "", b.len, &cb);
	tm->subject = xmalloc(cb.len + 1);
	if (cb.len > 0)
		memcpy(tm->subject, cb.data, cb.len);
	tm->subject[cb.len] = '\0';
	casemap_buf_free(&cb);
	msg_buf_free(&b);
	tm->m.reply = reply;
	struct search_date d;
	if (env != NULL && env->date.data != NULL &&
	    search_date_parse(env->date.data, env->date.len, &d) == 0)
		tm->m.date = d.utc;
	if (t->algo == STORE_THREAD_REFERENCES) {
		char **ids;
		size_t n;
		if (env != NULL && env->message_id.data != NULL) {
			store_msgids_parse(env->message_id.data, env->message_id.len, &ids, &n);
			if (n > 0)
				tm->msgid = xstrdup(ids[0]);
			store_strv_free(ids, n);
		}
		err = read_refs(t, tm, info);
		if (err == 0 && tm->n_refs == 0 && env != NULL && env->in_reply_to.data != NULL) {
			store_msgids_parse(env->in_reply_to.data, env->in_reply_to.len, &ids, &n);
			if (n > 0) {
				tm->refs = xmalloc(sizeof(*tm->refs));
				tm->refs[0] = xstrdup(ids[0]);
				tm->n_refs = 1;
			}
			store_strv_free(ids, n);
		}
	}
	msg_info_free(&info);
	return err;
}

int store_thread_add(struct store_thread *t, uint32_t lo, uint32_t hi)
{
	size_t start = t->n;
	int err = store_msg_scan(t->mbox, lo, hi, scan_cb, t);
	if (err != 0)
		return err;
	size_t o = start;
	for (size_t i = start; i < t->n; i++) {
		err = fill(t, &t->v[i]);
		if (err == STORE_ENOTFOUND) {
			tmsg_free(&t->v[i]);      /* expunged meanwhile */
			continue;
		}
		if (err != 0) {
			for (size_t k = i; k < t->n; k++)
				tmsg_free(&t->v[k]);
			t->n = o;
			return err;
		}
		t->v[o++] = t->v[i];
	}
	t->n = o;
	return 0;
}

struct store_thread_node *store_thread_finish(struct store_thread *t)
{
	struct store_thread_msg *m = xmalloc((t->n ? t->n : 1) * sizeof(*m));
	for (size_t i = 0; i < t->n; i++) {
		struct tmsg *tm = &t->v[i];
		m[i] = tm->m;
		m[i].subject = tm->subject;
		m[i].msgid = tm->msgid;
		m[i].refs = (const char *const *)tm->refs;
		m[i].n_refs = tm->n_refs;
	}
	struct store_thread_node *roots = store_thread_build(m, t->n, t->algo);
	free(m);
	return roots;
}
