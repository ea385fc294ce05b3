/* Per-user settings of the public API: subscriptions (which may name
 * mailboxes that do not exist) and quota (override in the meta table; usage
 * summed from the mailbox counters, so it can never drift from them). */
#include <string.h>

#include "lib/xmem.h"
#include "storage/store-private.h"
#include "storage/store-quota.h"
#include "storage/writer.h"

struct op_user {
	struct wop op;
	const char *name;
	bool subscribe;
	uint64_t bytes, messages;
};

static int run_subscribe(struct wtxn *w, struct wop *op)
{
	struct op_user *o = (struct op_user *)op;
	MDB_val k = { strlen(o->name), (void *)o->name }, v = { 0, NULL };
	int rc = o->subscribe ? mdb_put(w->txn, w->idx->dbi.subs, &k, &v, 0)
			      : mdb_del(w->txn, w->idx->dbi.subs, &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	w->changed = true;
	return idx_err(rc, "subscribe");
}

int store_subscribe(struct store_user *user, const char *name, bool subscribe)
{
	char *canon = store_name_canonical(name);
	if (canon == NULL)
		return STORE_EINVALID;
	struct op_user o = { .op = { .run = run_subscribe }, .name = canon, .subscribe = subscribe };
	int err = writer_run(user, &o.op);
	free(canon);
	return err;
}

int store_subscriptions(struct store_user *user, char ***names_r, size_t *count_r)
{
	*names_r = NULL;
	*count_r = 0;
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	MDB_cursor *cur;
	char **names = NULL;
	size_t n = 0;
	int rc = mdb_cursor_open(txn, user->idx.dbi.subs, &cur);
	if (rc == 0) {
		MDB_val k, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrndup(k.mv_data, k.mv_size);
		}
		mdb_cursor_close(cur);
	}
	idx_read_end(&user->idx, txn);
	if (rc != MDB_NOTFOUND) {
		store_strv_free(names, n);
		return idx_err(rc, "subscriptions");
	}
	*names_r = names;
	*count_r = n;
	return 0;
}

static int run_set_quota(struct wtxn *w, struct wop *op)
{
	struct op_user *o = (struct op_user *)op;
	int err = o->bytes == 0 ? idx_meta_del(w->idx, w->txn, "quota_bytes")
				: idx_meta_put(w->idx, w->txn, "quota_bytes", o->bytes);
	if (err == 0)
		err = o->messages == 0 ? idx_meta_del(w->idx, w->txn, "quota_messages")
				       : idx_meta_put(w->idx, w->txn, "quota_messages", o->messages);
	w->changed = true;
	return err;
}

int store_user_set_quota(struct store_user *user, uint64_t bytes, uint64_t messages)
{
	struct op_user o = { .op = { .run = run_set_quota }, .bytes = bytes, .messages = messages };
	return writer_run(user, &o.op);
}

static int limit_of(struct idx *idx, MDB_txn *txn, const char *key, uint64_t def, uint64_t *limit_r)
{
	uint64_t v;
	int err = idx_meta_get(idx, txn, key, &v);
	if (err == STORE_ENOTFOUND) {
		*limit_r = def;
		return 0;
	}
	if (err != 0)
		return err;
	*limit_r = v == UINT64_MAX ? 0 : v;
	return 0;
}

int store_quota_read(struct store_user *user, MDB_txn *txn, struct store_quota *q)
{
	const struct store_settings *set = &user->store->set;
	memset(q, 0, sizeof(*q));
	int err = limit_of(&user->idx, txn, "quota_bytes", set->quota_bytes, &q->bytes_limit);
	if (err == 0)
		err = limit_of(&user->idx, txn, "quota_messages", set->quota_messages,
			       &q->messages_limit);
	if (err == 0)
		err = idx_usage(&user->idx, txn, &q->bytes_used, &q->messages_used);
	return err;
}

int store_quota_get(struct store_user *user, struct store_quota *quota_r)
{
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	err = store_quota_read(user, txn, quota_r);
	idx_read_end(&user->idx, txn);
	return err;
}

int store_quota_check(struct wtxn *w, uint64_t add_bytes, uint64_t add_messages)
{
	struct store_quota q;
	int err = store_quota_read(w->u, w->txn, &q);
	if (err != 0)
		return err;
	if (q.bytes_limit != 0 && q.bytes_used + add_bytes > q.bytes_limit)
		return STORE_EQUOTA;
	if (q.messages_limit != 0 && q.messages_used + add_messages > q.messages_limit)
		return STORE_EQUOTA;
	return 0;
}
