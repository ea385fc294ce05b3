/* A new user's initial mailboxes (store_user_provision): the special-use
 * folders a server gives every user once, created and subscribed in one
 * writer op, with a mark in the meta table so that it happens once per user
 * and costs later logins only a read. */
#include <string.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/index-schema.h"
#include "storage/mailbox-create.h"
#include "storage/store-private.h"
#include "storage/writer.h"

#define PROVISIONED_KEY "provisioned"

struct op_provision {
	struct wop op;
	const struct store_initial_mailbox *list;
	char **canon;                 /* canonical names, NULL: invalid */
	size_t n;
};

/* Special-use bits carried by any mailbox of the user. */
static int uses_taken(struct wtxn *w, uint32_t *bits_r)
{
	*bits_r = 0;
	struct idx_iter it;
	struct idx_mbox mb;
	int r, err = idx_mbox_iter_open(w->idx, w->txn, &it);
	while (err == 0 && (r = idx_mbox_iter_next(&it, &mb)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		*bits_r |= mb.special_use;
	}
	idx_iter_close(&it);
	return err;
}

static int run_provision(struct wtxn *w, struct wop *op)
{
	struct op_provision *o = (struct op_provision *)op;
	uint64_t mark;
	int err = idx_meta_get(w->idx, w->txn, PROVISIONED_KEY, &mark);
	if (err == 0)
		return 0;   /* another session did it meanwhile */
	if (err != STORE_ENOTFOUND)
		return err;
	uint32_t taken;
	if ((err = uses_taken(w, &taken)) != 0)
		return err;
	for (size_t i = 0; i < o->n && err == 0; i++) {
		const char *name = o->canon[i];
		if (name == NULL)
			continue;
		uint32_t want = o->list[i].special_use, use = want & ~taken;
		struct idx_mbox mb;
		err = idx_mbox_by_name(w->idx, w->txn, name, &mb);
		if (err == STORE_ENOTFOUND) {
			if (want != 0 && use == 0) {
				err = 0;        /* that role is another mailbox's */
				continue;
			}
			err = store_mbox_create_path(w, name, use, false, NULL);
		} else if (err == 0) {
			if (mb.special_use != 0 || use == 0)
				continue;       /* left as the user has it */
			mb.special_use = use;
			err = idx_mbox_put(w->idx, w->txn, &mb, false);
		}
		if (err != 0)
			break;
		taken |= use;
		MDB_val sk = { strlen(name), (void *)name }, sv = { 0, NULL };
		err = idx_err(mdb_put(w->txn, w->idx->dbi.subs, &sk, &sv, 0), "subscribe");
	}
	if (err == 0)
		err = idx_meta_put(w->idx, w->txn, PROVISIONED_KEY, 1);
	w->changed = true;
	return err;
}

int store_user_provision(struct store_user *user, const struct store_initial_mailbox *list,
			 size_t n)
{
	if (n == 0)
		return 0;
	MDB_txn *txn;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	uint64_t mark;
	err = idx_meta_get(&user->idx, txn, PROVISIONED_KEY, &mark);
	idx_read_end(&user->idx, txn);
	if (err == 0)
		return 0;
	if (err != STORE_ENOTFOUND)
		return err;
	struct op_provision o = { .op = { .run = run_provision }, .list = list, .n = n };
	o.canon = xcalloc(n, sizeof(*o.canon));
	for (size_t i = 0; i < n; i++) {
		o.canon[i] = store_name_canonical(list[i].name);
		if (o.canon[i] == NULL || (list[i].special_use & ~0x7fu) != 0) {
			log_warn("store: user=%s initial mailbox '%s' is not a valid name; skipped",
				 user->name, list[i].name);
			x_free(&o.canon[i]);
		}
	}
	err = writer_run(user, &o.op);
	for (size_t i = 0; i < n; i++)
		free(o.canon[i]);
	free(o.canon);
	return err;
}
