/* Mail transactions (see tx.h): create, add recipients, free. The spool is
 * removed on a pool thread by a job of its own that needs no session (the
 * session may be gone by then). */
#include "server/lmtp/tx.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/engine/pool.h"
#include "server/engine/sink.h"

struct smtp_tx *smtp_tx_create(unsigned seq, const char *conn_id)
{
	struct smtp_tx *tx = xcalloc(1, sizeof(*tx));
	tx->seq = seq;
	tx->started = time(NULL);
	snprintf(tx->id, sizeof(tx->id), "%s.%u", conn_id, seq);
	return tx;
}

struct smtp_rcpt *smtp_tx_add_rcpt(struct smtp_tx *tx)
{
	if (tx->n_rcpts == tx->cap_rcpts) {
		tx->cap_rcpts = tx->cap_rcpts ? tx->cap_rcpts * 2 : 4;
		tx->rcpts = xrealloc(tx->rcpts, tx->cap_rcpts * sizeof(*tx->rcpts));
	}
	struct smtp_rcpt *r = &tx->rcpts[tx->n_rcpts++];
	memset(r, 0, sizeof(*r));
	return r;
}

struct msg_drop {
	struct work_item item;
	struct work_pool *pool;
	struct delivery_msg *msg;
};

static void drop_run(struct work_item *item)
{
	struct msg_drop *d = (struct msg_drop *)item;
	delivery_msg_free(&d->msg);
	free(d);
}

void smtp_tx_drop_msg(struct smtp_tx *tx, struct work_pool *pool)
{
	if (tx->msg == NULL)
		return;
	struct msg_drop *d = xcalloc(1, sizeof(*d));
	d->item.run = drop_run;
	d->msg = tx->msg;
	tx->msg = NULL;
	work_pool_submit(pool, &d->item);
}

/* The sink was discarded: its writes are over, the spool can go. */
static void sink_discarded(void *arg, int err)
{
	struct msg_drop *d = arg;
	(void)err;
	work_pool_submit(d->pool, &d->item);
}

void smtp_tx_free(struct smtp_tx **txp, struct work_pool *pool)
{
	struct smtp_tx *tx = *txp;
	if (tx == NULL)
		return;
	*txp = NULL;
	if (tx->sink != NULL) {
		/* a write may be in flight: the spool goes after it */
		struct msg_drop *d = xcalloc(1, sizeof(*d));
		d->item.run = drop_run;
		d->pool = pool;
		d->msg = tx->msg;
		tx->msg = NULL;
		sess_sink_finish(tx->sink, true, sink_discarded, d);
		tx->sink = NULL;
	}
	smtp_tx_drop_msg(tx, pool);
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		free(tx->rcpts[i].address);
		free(tx->rcpts[i].detail);
		free(tx->rcpts[i].orcpt);
		free(tx->rcpts[i].prefix);
	}
	free(tx->rcpts);
	free(tx->sender);
	free(tx->envid);
	free(tx->auth);
	free(tx->overflow);
	free(tx);
}
