/* Mailbox access keys: a random secret per mailbox of a user, kept in the
 * user's index (table mbox_keys), that a front end keys its URL
 * authorizations with (IMAP URLAUTH, RFC 4467). A key is made on first
 * use in a writer op (which keeps a key another session made meanwhile),
 * read without a commit afterwards, and forgotten by a reset, one mailbox
 * or all of them, so every authorization made with it stops verifying. A
 * deleted mailbox's key goes with its records (idx_mbox_drop). */
#include <string.h>

#include <openssl/rand.h>

#include "lib/log.h"
#include "storage/store-private.h"
#include "storage/writer.h"
#include "lib/thread-role.h"

struct op_key {
	struct wop op;
	const char *mailbox;     /* canonical; NULL = every mailbox (reset) */
	bool reset;
	unsigned char key[STORE_MAILBOX_KEY_LEN];
	uint32_t uidvalidity;
};

static int read_key(struct store_user *user, const char *canon,
		    unsigned char key_r[STORE_MAILBOX_KEY_LEN], uint32_t *uidvalidity_r)
{
	MDB_txn *txn;
	struct idx_mbox mb;
	int err = idx_read_begin(&user->idx, &txn);
	if (err != 0)
		return err;
	err = idx_mbox_by_name(&user->idx, txn, canon, &mb);
	if (err == 0) {
		*uidvalidity_r = mb.uidvalidity;
		err = idx_mbox_key_get(&user->idx, txn, mb.id, key_r, STORE_MAILBOX_KEY_LEN);
	}
	idx_read_end(&user->idx, txn);
	return err;
}

static int run_key(struct wtxn *w, struct wop *op)
{
	struct op_key *o = (struct op_key *)op;
	struct idx_mbox mb;
	int err;
	if (o->reset && o->mailbox == NULL) {
		w->changed = true;
		return idx_mbox_key_del_all(w->idx, w->txn);
	}
	err = idx_mbox_by_name(w->idx, w->txn, o->mailbox, &mb);
	if (err != 0)
		return err;
	o->uidvalidity = mb.uidvalidity;
	if (o->reset) {
		w->changed = true;
		return idx_mbox_key_del(w->idx, w->txn, mb.id);
	}
	err = idx_mbox_key_get(w->idx, w->txn, mb.id, o->key, sizeof(o->key));
	if (err != STORE_ENOTFOUND)
		return err;     /* made meanwhile (0), or broken */
	if (RAND_bytes(o->key, sizeof(o->key)) != 1) {
		log_error("store: no random bytes for a mailbox key");
		return STORE_EIO;
	}
	w->changed = true;
	return idx_mbox_key_put(w->idx, w->txn, mb.id, o->key, sizeof(o->key));
}

int store_mailbox_key(struct store_user *user, const char *mailbox, bool create,
		      unsigned char key_r[STORE_MAILBOX_KEY_LEN], uint32_t *uidvalidity_r)
{
	thread_assert_may_block("store_mailbox_key");
	char *canon = store_name_canonical(mailbox);
	if (canon == NULL)
		return STORE_EINVALID;
	uint32_t uidvalidity = 0;
	int err = read_key(user, canon, key_r, &uidvalidity);
	if (err == STORE_ENOTFOUND && create) {
		struct op_key o = { .op = { .run = run_key }, .mailbox = canon };
		err = writer_run(user, &o.op);
		if (err == 0) {
			memcpy(key_r, o.key, sizeof(o.key));
			uidvalidity = o.uidvalidity;
		}
		OPENSSL_cleanse(o.key, sizeof(o.key));
	}
	free(canon);
	if (err == 0 && uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	if (err != 0)
		OPENSSL_cleanse(key_r, STORE_MAILBOX_KEY_LEN);
	return err;
}

int store_mailbox_key_reset(struct store_user *user, const char *mailbox)
{
	char *canon = NULL;
	if (mailbox != NULL && (canon = store_name_canonical(mailbox)) == NULL)
		return STORE_EINVALID;
	struct op_key o = { .op = { .run = run_key }, .mailbox = canon, .reset = true };
	int err = writer_run(user, &o.op);
	free(canon);
	return err;
}
