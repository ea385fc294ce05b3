/* A user's store at the public API: opening (with the reconcile of what
 * other programs changed) and closing, and the per-user settings:
 * subscriptions (which may name mailboxes that do not exist) and quota
 * (override in the meta table; usage summed from the mailbox counters, so it
 * can never drift from them). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/xmem.h"
#include "storage/store-private.h"
#include "storage/store-quota.h"
#include "storage/writer.h"

int store_user_open(struct store *s, const char *user, struct store_user **user_r)
{
	struct store_user *u;
	int err = store_user_get(s, user, &u);
	if (err != 0)
		return err;
	err = store_user_reconcile_all(u);
	if (err != 0) {
		store_user_unref(u);
		return err;
	}
	atomic_store(&u->reconciled, true);
	*user_r = u;
	return 0;
}

int store_user_attach(struct store *s, const char *user, struct store_user **user_r)
{
	struct store_user *u;
	int err = store_user_get(s, user, &u);
	if (err != 0)
		return err;
	if (!atomic_load(&u->reconciled)) {
		err = store_user_reconcile_all(u);
		if (err != 0) {
			store_user_unref(u);
			return err;
		}
		atomic_store(&u->reconciled, true);
	}
	*user_r = u;
	return 0;
}

int store_user_open_existing(struct store *s, const char *user, struct store_user **user_r)
{
	*user_r = NULL;
	if (user == NULL || user[0] == '\0' || user[0] == '.' || strchr(user, '/') != NULL)
		return STORE_EINVALID;
	char *index = xasprintf("%s/%s/index", s->mail_dir, user);
	struct stat st;
	int r = stat(index, &st);
	free(index);
	if (r != 0)
		return errno == ENOENT || errno == ENOTDIR ? STORE_ENOTFOUND : STORE_EIO;
	return store_user_open(s, user, user_r);
}

void store_user_close(struct store_user **user)
{
	if (*user == NULL)
		return;
	store_user_unref(*user);
	*user = NULL;
}

const char *store_user_name(const struct store_user *user)
{
	return user->name;
}

const char *store_user_dir(const struct store_user *user)
{
	return user->dir;
}

struct op_user {
	struct wop op;
	const char *name;
	bool subscribe;
	uint64_t bytes, messages;
};

static int run_subscribe(struct wtxn *w, struct wop *op)
{
	struct op_user *o = (struct op_user *)op;
	w->changed = true;
	return idx_subs_set(w->idx, w->txn, o->name, o->subscribe);
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
	err = idx_subs_list(&user->idx, txn, names_r, count_r);
	idx_read_end(&user->idx, txn);
	return err;
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

int store_user_get_quota(struct store_user *user, uint64_t *bytes_r, uint64_t *messages_r)
{
	*bytes_r = *messages_r = 0;
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	err = idx_meta_get(&user->idx, txn, "quota_bytes", bytes_r);
	if (err == STORE_ENOTFOUND) {
		*bytes_r = 0;
		err = 0;
	}
	if (err == 0) {
		err = idx_meta_get(&user->idx, txn, "quota_messages", messages_r);
		if (err == STORE_ENOTFOUND) {
			*messages_r = 0;
			err = 0;
		}
	}
	idx_read_end(&user->idx, txn);
	return err;
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
