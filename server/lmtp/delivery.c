/* The shared delivery step (see delivery.h): spool once, sync once, link
 * into every recipient's mailbox, commit all appends at once and wait for
 * their group commits. */
#include "server/lmtp/delivery.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "lib/log.h"
#include "lib/xmem.h"

struct delivery_msg *delivery_msg_new(struct store *store, uint64_t headroom)
{
	struct delivery_msg *m = xcalloc(1, sizeof(*m));
	m->store = store;
	m->headroom = headroom;
	m->parser = msg_parser_new(store_msg_limits(store));
	return m;
}

int delivery_msg_write(struct delivery_msg *m, const void *data, size_t len)
{
	if (m->error != 0)
		return m->error;
	if (m->spool == NULL)
		m->error = store_spool_create(m->store, m->headroom, &m->spool);
	if (m->error == 0)
		m->error = store_spool_write(m->spool, data, len);
	if (m->error == 0) {
		msg_parser_feed(m->parser, data, len);
		m->size += len;
	}
	return m->error;
}

int delivery_msg_open(struct delivery_msg *m)
{
	int fd = -1;
	if (m->spool == NULL || store_spool_open(m->spool, &fd) != STORE_OK)
		return -1;
	return fd;
}

void delivery_msg_free(struct delivery_msg **mp)
{
	struct delivery_msg *m = *mp;
	if (m == NULL)
		return;
	*mp = NULL;
	store_spool_free(&m->spool);
	msg_parser_free(&m->parser);
	free(m->cache);
	free(m);
}

/* A per-user quota from the users file becomes the store's override, when
 * it differs from what the store applies now (no commit otherwise). A
 * value of 0 in the users file means unlimited. */
static void apply_quota(struct store_user *u, const struct userdb_fields *f)
{
	if (f == NULL || (!f->has_quota_bytes && !f->has_quota_messages))
		return;
	struct store_quota q;
	if (store_quota_get(u, &q) != STORE_OK)
		return;
	if ((!f->has_quota_bytes || f->quota_bytes == q.bytes_limit) &&
	    (!f->has_quota_messages || f->quota_messages == q.messages_limit))
		return;
	uint64_t b = !f->has_quota_bytes ? 0 : f->quota_bytes == 0 ? UINT64_MAX : f->quota_bytes;
	uint64_t n = !f->has_quota_messages ? 0
		   : f->quota_messages == 0 ? UINT64_MAX : f->quota_messages;
	int err = store_user_set_quota(u, b, n);
	if (err != STORE_OK)
		log_warn("delivery: user=%s quota from the users file not applied: %s",
			 store_user_name(u), store_strerror(err));
}

int delivery_quota_check(struct store *store, const char *user,
			 const struct userdb_fields *fields, uint64_t size)
{
	struct store_user *u = NULL;
	int err = store_user_attach(store, user, &u);
	if (err != STORE_OK)
		return err;
	apply_quota(u, fields);
	struct store_quota q;
	err = store_quota_get(u, &q);
	if (err == STORE_OK &&
	    ((q.messages_limit != 0 && q.messages_used + 1 > q.messages_limit) ||
	     (q.bytes_limit != 0 && (q.bytes_used + size > q.bytes_limit ||
				     q.bytes_used >= q.bytes_limit))))
		err = STORE_EQUOTA;
	store_user_close(&u);
	return err;
}

/* The recipients' commits in flight: the caller waits until left is 0. */
struct run_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t left;
};

struct run_slot {
	struct run_wait *wait;
	struct delivery_rcpt *rcpt;
	struct store_user *user;
	int dup_of;                  /* index of the recipient it repeats, or -1 */
};

static void committed(int err, uint32_t uid, uint32_t uidvalidity, void *ctx)
{
	struct run_slot *slot = ctx;
	(void)uidvalidity;
	slot->rcpt->result = err;
	slot->rcpt->uid = uid;
	pthread_mutex_lock(&slot->wait->lock);
	if (--slot->wait->left == 0)
		pthread_cond_signal(&slot->wait->cond);
	pthread_mutex_unlock(&slot->wait->lock);
}

static bool same_target(const struct delivery_rcpt *a, const struct delivery_rcpt *b)
{
	const char *ma = a->mailbox != NULL ? a->mailbox : "INBOX";
	const char *mb = b->mailbox != NULL ? b->mailbox : "INBOX";
	return a->prefix == NULL && b->prefix == NULL && strcmp(a->user, b->user) == 0 &&
	       strcmp(ma, mb) == 0 && a->fallback == b->fallback &&
	       a->fallback_invalid == b->fallback_invalid;
}

/* Open the recipient's append (the link, or a copy with its prefix). */
static int begin(struct delivery_msg *m, struct run_slot *slot, struct store_append **app_r)
{
	struct delivery_rcpt *r = slot->rcpt;
	int err = store_user_attach(m->store, r->user, &slot->user);
	if (err != STORE_OK)
		return err;
	apply_quota(slot->user, r->fields);
	const char *mailbox = r->mailbox != NULL ? r->mailbox : "INBOX";
	err = store_append_begin_spool(slot->user, mailbox, m->spool, r->prefix, r->prefix_len,
				       app_r);
	if (((err == STORE_ENOTFOUND && r->fallback) ||
	     (err == STORE_EINVALID && r->fallback_invalid)) && strcasecmp(mailbox, "INBOX") != 0) {
		r->to_inbox = true;
		err = store_append_begin_spool(slot->user, "INBOX", m->spool, r->prefix,
					       r->prefix_len, app_r);
	}
	return err;
}

void delivery_run(struct delivery_msg *m, struct delivery_rcpt *rcpts, size_t n,
		  const struct store_append_meta *base)
{
	if (m->error == 0 && m->spool == NULL)
		m->error = store_spool_create(m->store, m->headroom, &m->spool);
	bool linked = false;
	for (size_t i = 0; i < n; i++) {
		rcpts[i].result = STORE_EIO;
		rcpts[i].uid = 0;
		rcpts[i].to_inbox = false;
		linked |= rcpts[i].prefix == NULL;
	}
	int err = m->error;
	if (err == 0 && linked)
		err = store_spool_sync(m->spool);
	if (err != 0) {
		for (size_t i = 0; i < n; i++)
			rcpts[i].result = err;
		return;
	}
	/* The structure parsed while the message was written: stored with every
	 * recipient's copy of the spool in that append's commit. A recipient
	 * with its own header lines (a copy with a prefix) has other offsets:
	 * its structure is parsed from its file when first asked for. */
	if (m->parser != NULL && m->cache == NULL) {
		struct msg_info *info = msg_parser_finish(&m->parser);
		if (info != NULL) {
			msg_blob_write(info, &m->cache, &m->cache_len);
			msg_info_free(&info);
		}
	}
	struct store_append_meta meta = { 0 };
	if (base != NULL)
		meta = *base;
	struct store_append_meta meta_prefixed = meta;
	meta.cache = m->cache;
	meta.cache_len = m->cache_len;
	struct run_wait wait = { .left = 0 };
	pthread_mutex_init(&wait.lock, NULL);
	pthread_cond_init(&wait.cond, NULL);
	struct run_slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	for (size_t i = 0; i < n; i++) {
		slots[i] = (struct run_slot){ .wait = &wait, .rcpt = &rcpts[i], .dup_of = -1 };
		for (size_t j = 0; j < i && slots[i].dup_of < 0; j++)
			if (same_target(&rcpts[j], &rcpts[i]))
				slots[i].dup_of = (int)j;
	}
	/* Every append is queued before any is waited for, so one user's
	 * appends share a commit and other users' commits run alongside. */
	for (size_t i = 0; i < n; i++) {
		if (slots[i].dup_of >= 0)
			continue;
		struct store_append *app = NULL;
		err = begin(m, &slots[i], &app);
		if (err != STORE_OK) {
			rcpts[i].result = err;
			continue;
		}
		pthread_mutex_lock(&wait.lock);
		wait.left++;
		pthread_mutex_unlock(&wait.lock);
		store_append_commit_async(&app, rcpts[i].prefix == NULL ? &meta : &meta_prefixed,
					  committed, &slots[i]);
	}
	pthread_mutex_lock(&wait.lock);
	while (wait.left > 0)
		pthread_cond_wait(&wait.cond, &wait.lock);
	pthread_mutex_unlock(&wait.lock);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].dup_of >= 0) {
			const struct delivery_rcpt *o = &rcpts[slots[i].dup_of];
			rcpts[i].result = o->result;
			rcpts[i].uid = o->uid;
			rcpts[i].to_inbox = o->to_inbox;
		}
		store_user_close(&slots[i].user);
	}
	free(slots);
	pthread_mutex_destroy(&wait.lock);
	pthread_cond_destroy(&wait.cond);
}

const char *delivery_reply(int err, bool quota_tempfail)
{
	switch (err) {
	case STORE_OK:
		return "250 2.0.0 Delivered";
	case STORE_EQUOTA:
		return quota_tempfail ? "452 4.2.2 Mailbox full, try again later"
				      : "552 5.2.2 Mailbox full";
	case STORE_ETOOBIG:
		return "552 5.3.4 Message too big for system";
	case STORE_ENOTFOUND:
	case STORE_EINVALID:
		return "550 5.1.1 Mailbox unavailable";
	default:
		return "451 4.3.0 Temporary local problem, try again later";
	}
}

int delivery_exit_code(int err, bool quota_tempfail)
{
	switch (err) {
	case STORE_OK:
		return EX_OK;
	case STORE_EQUOTA:
		return quota_tempfail ? EX_TEMPFAIL : EX_CANTCREAT;
	case STORE_ETOOBIG:
		return EX_CANTCREAT;
	case STORE_ENOTFOUND:
		return EX_NOUSER;
	case STORE_EINVALID:
		return EX_USAGE;
	default:
		return EX_TEMPFAIL;
	}
}
