/* store_msg_info (store.h): a message's parsed structure from the parse
 * cache, or parsed again from its file when the entry is missing or was
 * written by an older parser. A re-parsed entry is cached by a detached,
 * non-durable writer op: the caller never waits for it, and a crash that
 * loses it only costs another parse. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/message/message.h"
#include "storage/store-private.h"
#include "storage/writer.h"

struct op_recache {
	struct wop op;
	uint32_t mbox_id, uid;
	void *blob;
	size_t len;
};

static int run_recache(struct wtxn *w, struct wop *op)
{
	struct op_recache *o = (struct op_recache *)op;
	struct idx_msg m;
	int err = idx_msg_get(w->idx, w->txn, o->mbox_id, o->uid, &m);
	if (err != 0)
		return err == STORE_ENOTFOUND ? 0 : err;  /* expunged meanwhile */
	if (idx_space_low(w->idx, w->txn))
		return 0;   /* a cache entry is never worth the last free pages */
	w->changed = true;
	return idx_cache_put(w->idx, w->txn, o->mbox_id, o->uid, o->blob, o->len);
}

static void free_recache(struct wop *op)
{
	struct op_recache *o = (struct op_recache *)op;
	free(o->blob);
	free(o);
}

static void recache(struct store_mailbox *mbox, uint32_t uid, const struct msg_info *info)
{
	struct op_recache *o = xcalloc(1, sizeof(*o));
	o->op.run = run_recache;
	o->op.free_fn = free_recache;
	o->op.nosync = true;
	o->mbox_id = mbox->id;
	o->uid = uid;
	msg_blob_write(info, &o->blob, &o->len);
	(void)writer_submit_detached(mbox->user, &o->op);
}

int store_msg_info(struct store_mailbox *mbox, uint32_t uid, struct msg_info **info_r)
{
	*info_r = NULL;
	void *blob;
	size_t len;
	int err = store_msg_cache_get(mbox, uid, &blob, &len);
	if (err == STORE_OK) {
		int r = msg_blob_read(blob, len, info_r);
		free(blob);
		if (r == 0)
			return STORE_OK;
		/* an older parser's entry, or damage: parse again */
	} else if (err != STORE_ENOTFOUND) {
		return err;
	}
	int fd;
	err = store_msg_open(mbox, uid, &fd, NULL);
	if (err != STORE_OK)
		return err;
	int r = msg_parse_fd(fd, &mbox->user->store->set.msg_limits, info_r);
	close(fd);
	if (r != 0) {
		log_error("store: parse uid=%u of user=%s mailbox=%s: %s", uid, mbox->user->name,
			  mbox->name, msg_strerror(r));
		return STORE_EIO;
	}
	recache(mbox, uid, *info_r);
	return STORE_OK;
}
