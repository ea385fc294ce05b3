/* The shared delivery step (see delivery.h): spool once, plan each
 * recipient's copies (its Sieve script's, delivery-sieve.c, or the keep),
 * sync once, link into every mailbox, commit all appends at once and wait
 * for their group commits. */
#include "server/lmtp/delivery.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/lmtp/delivery-run.h"

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
	msg_info_free(&m->info);
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

static void committed(int err, uint32_t uid, uint32_t uidvalidity, void *ctx)
{
	struct run_target *t = ctx;
	struct run_wait *wait = t->slot->wait;
	(void)uidvalidity;
	t->result = err;
	t->uid = uid;
	pthread_mutex_lock(&wait->lock);
	if (--wait->left == 0)
		pthread_cond_signal(&wait->cond);
	pthread_mutex_unlock(&wait->lock);
}

static bool same_target(const struct delivery_rcpt *a, const struct delivery_rcpt *b)
{
	const char *ma = a->mailbox != NULL ? a->mailbox : "INBOX";
	const char *mb = b->mailbox != NULL ? b->mailbox : "INBOX";
	return a->prefix == NULL && b->prefix == NULL && strcmp(a->user, b->user) == 0 &&
	       strcmp(ma, mb) == 0 && a->fallback == b->fallback &&
	       a->fallback_invalid == b->fallback_invalid;
}

static bool same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0 || strcasecmp(b, "INBOX") == 0)
		return strcasecmp(a, b) == 0;
	return strcmp(a, b) == 0;
}

struct run_target *run_target_add(struct run_ctx *c, struct run_slot *slot, const char *mailbox,
				  uint32_t flags, char *const *kw, size_t n_kw)
{
	slot->targets = xrealloc(slot->targets, (slot->n_targets + 1) * sizeof(*slot->targets));
	struct run_target *t = &slot->targets[slot->n_targets++];
	memset(t, 0, sizeof(*t));
	t->slot = slot;
	t->mailbox = xstrdup(mailbox);
	t->meta = *c->base;
	t->meta.flags |= flags;
	size_t nb = c->base->n_keywords;
	t->keywords = xcalloc(nb + n_kw + 1, sizeof(*t->keywords));
	for (size_t i = 0; i < nb; i++)
		t->keywords[t->n_keywords++] = c->base->keywords[i];
	for (size_t i = 0; i < n_kw; i++)
		t->keywords[t->n_keywords++] = kw[i];
	t->result = STORE_EIO;
	return t;
}

/* Open target t's append: a link of the recipient's copy (its own spool,
 * or the shared one), or a copy with its prefix. A missing mailbox is made
 * for :create, else falls back to INBOX as the target's rules say. */
static int target_begin(struct run_ctx *c, struct run_slot *slot, struct run_target *t)
{
	struct delivery_rcpt *r = slot->rcpt;
	struct store_spool *spool = slot->own != NULL ? slot->own : c->m->spool;
	const char *prefix = slot->own != NULL ? NULL : r->prefix;
	size_t plen = slot->own != NULL ? 0 : r->prefix_len;
	t->stored_in = t->mailbox;
	int err = store_append_begin_spool(slot->user, t->mailbox, spool, prefix, plen, &t->app);
	if (err == STORE_ENOTFOUND && t->create) {
		int cr = store_mailbox_create(slot->user, t->mailbox, 0);
		if (cr == STORE_OK || cr == STORE_EEXISTS)
			err = store_append_begin_spool(slot->user, t->mailbox, spool, prefix, plen,
						       &t->app);
	}
	bool fall = t->keep ? (err == STORE_ENOTFOUND && r->fallback) ||
				      (err == STORE_EINVALID && r->fallback_invalid)
			    : err == STORE_ENOTFOUND || err == STORE_EINVALID;
	if (fall && strcasecmp(t->mailbox, "INBOX") != 0) {
		if (!t->keep)
			log_info("sieve: user=%s: fileinto \"%s\": %s; delivered to INBOX",
				 r->user, t->mailbox, store_strerror(err));
		t->stored_in = "INBOX";
		err = store_append_begin_spool(slot->user, "INBOX", spool, prefix, plen, &t->app);
	}
	return err;
}

/* Begin every target of slot; a target that lands where an earlier one
 * did is dropped and its flags join the earlier one's (RFC 5228 2.10.3:
 * a mailbox gets the message once). Returns the first error. */
static int slot_begin(struct run_ctx *c, struct run_slot *slot)
{
	for (size_t i = 0; i < slot->n_targets; i++) {
		struct run_target *t = &slot->targets[i];
		int err = target_begin(c, slot, t);
		if (err != STORE_OK) {
			t->result = err;
			return err;
		}
		for (size_t j = 0; j < i; j++) {
			struct run_target *o = &slot->targets[j];
			if (o->merged || !same_mailbox(o->stored_in, t->stored_in))
				continue;
			store_append_abort(&t->app);
			t->merged = true;
			o->meta.flags |= t->meta.flags;
			o->keywords = xrealloc(o->keywords, (o->n_keywords + t->n_keywords + 1) *
							     sizeof(*o->keywords));
			for (size_t k = 0; k < t->n_keywords; k++)
				o->keywords[o->n_keywords++] = t->keywords[k];
			break;
		}
	}
	return STORE_OK;
}

/* Queue the commits of slot's appends (one group commit takes them with
 * every other recipient's). */
static void slot_commit(struct run_ctx *c, struct run_slot *slot)
{
	const struct delivery_rcpt *r = slot->rcpt;
	for (size_t i = 0; i < slot->n_targets; i++) {
		struct run_target *t = &slot->targets[i];
		if (t->app == NULL)
			continue;
		t->meta.keywords = t->keywords;
		t->meta.n_keywords = t->n_keywords;
		/* the structure parsed as the file was written; a copy with a
		 * prefix has other offsets: parsed from its file when asked */
		if (slot->own != NULL) {
			t->meta.cache = slot->own_cache;
			t->meta.cache_len = slot->own_cache_len;
		} else if (r->prefix == NULL) {
			t->meta.cache = c->m->cache;
			t->meta.cache_len = c->m->cache_len;
		} else {
			t->meta.cache = NULL;
			t->meta.cache_len = 0;
		}
		pthread_mutex_lock(&slot->wait->lock);
		slot->wait->left++;
		pthread_mutex_unlock(&slot->wait->lock);
		store_append_commit_async(&t->app, &t->meta, committed, t);
	}
}

/* The recipient's result from its targets: the first failure, else OK
 * (the first copy's UID). */
static void slot_result(struct run_slot *slot)
{
	struct delivery_rcpt *r = slot->rcpt;
	bool first = true;
	for (size_t i = 0; i < slot->n_targets; i++) {
		const struct run_target *t = &slot->targets[i];
		if (t->merged)
			continue;
		if (first) {
			r->uid = t->uid;
			r->to_inbox = t->stored_in != NULL && t->stored_in != t->mailbox;
			first = false;
		}
		if (t->result != STORE_OK) {
			r->result = t->result;
			return;
		}
	}
	r->result = STORE_OK;
}

static void slot_free(struct run_slot *slot)
{
	for (size_t i = 0; i < slot->n_targets; i++) {
		struct run_target *t = &slot->targets[i];
		store_append_abort(&t->app);
		free(t->mailbox);
		free(t->keywords);
	}
	free(slot->targets);
	store_user_close(&slot->user);
}

/* The parse result of the spooled message: its blob rides every linked
 * append's commit, its structure is what Sieve reads. */
static void finish_parse(struct delivery_msg *m)
{
	if (m->parser == NULL || m->cache != NULL)
		return;
	m->info = msg_parser_finish(&m->parser);
	if (m->info != NULL)
		msg_blob_write(m->info, &m->cache, &m->cache_len);
}

void delivery_run(struct delivery_msg *m, struct delivery_rcpt *rcpts, size_t n,
		  const struct store_append_meta *base)
{
	if (m->error == 0 && m->spool == NULL)
		m->error = store_spool_create(m->store, m->headroom, &m->spool);
	for (size_t i = 0; i < n; i++) {
		struct delivery_rcpt *r = &rcpts[i];
		r->result = STORE_EIO;
		r->uid = 0;
		r->to_inbox = r->sieve = r->discarded = r->rejected = false;
		r->reply[0] = '\0';
	}
	if (m->error != 0) {
		for (size_t i = 0; i < n; i++)
			rcpts[i].result = m->error;
		return;
	}
	finish_parse(m);
	struct store_append_meta none = { 0 };
	struct run_ctx c = { .m = m, .base = base != NULL ? base : &none, .fd = -1 };
	struct run_wait wait = { .left = 0 };
	pthread_mutex_init(&wait.lock, NULL);
	pthread_cond_init(&wait.cond, NULL);
	struct run_slot *slots = xcalloc(n ? n : 1, sizeof(*slots));
	for (size_t i = 0; i < n; i++) {
		slots[i] = (struct run_slot){ .wait = &wait, .rcpt = &rcpts[i], .dup_of = -1,
					      .own_fd = -1 };
		for (size_t j = 0; j < i && slots[i].dup_of < 0; j++)
			if (same_target(&rcpts[j], &rcpts[i]))
				slots[i].dup_of = (int)j;
	}
	/* Each recipient's plan: its script's (which may read the message),
	 * or the keep into its mailbox. */
	bool link_shared = false;
	for (size_t i = 0; i < n; i++) {
		struct run_slot *slot = &slots[i];
		struct delivery_rcpt *r = slot->rcpt;
		if (slot->dup_of >= 0)
			continue;
		int err = store_user_attach(m->store, r->user, &slot->user);
		if (err == STORE_OK) {
			apply_quota(slot->user, r->fields);
			if (m->sieve != NULL)
				err = dsieve_plan(&c, slot);
		}
		if (err != STORE_OK) {
			r->result = err;
			slot->dup_of = -2;   /* failed: nothing to store */
			continue;
		}
		if (slot->plan == NULL)
			run_target_add(&c, slot, r->mailbox != NULL ? r->mailbox : "INBOX", 0, NULL,
				       0)->keep = true;
		link_shared |= slot->own == NULL && r->prefix == NULL && slot->n_targets > 0;
	}
	/* One sync of the shared spool before it is linked anywhere. */
	int err = link_shared ? store_spool_sync(m->spool) : STORE_OK;
	/* Every append is queued before any is waited for, so one user's
	 * appends share a commit and other users' commits run alongside. */
	for (size_t i = 0; i < n; i++) {
		struct run_slot *slot = &slots[i];
		if (slot->dup_of != -1)
			continue;
		bool shared = slot->own == NULL && slot->rcpt->prefix == NULL;
		int e = shared && err != STORE_OK ? err : slot_begin(&c, slot);
		if (e != STORE_OK) {
			for (size_t k = 0; k < slot->n_targets; k++)
				store_append_abort(&slot->targets[k].app);
			slot->rcpt->result = e;
			slot->dup_of = -2;
			continue;
		}
		slot_commit(&c, slot);
	}
	pthread_mutex_lock(&wait.lock);
	while (wait.left > 0)
		pthread_cond_wait(&wait.cond, &wait.lock);
	pthread_mutex_unlock(&wait.lock);
	for (size_t i = 0; i < n; i++)
		if (slots[i].dup_of == -1)
			slot_result(&slots[i]);
	if (m->sieve != NULL)
		dsieve_finish(&c, slots, n);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].dup_of >= 0) {
			const struct delivery_rcpt *o = &rcpts[slots[i].dup_of];
			struct delivery_rcpt *r = &rcpts[i];
			r->result = o->result;
			r->uid = o->uid;
			r->to_inbox = o->to_inbox;
			r->sieve = o->sieve;
			r->discarded = o->discarded;
			r->rejected = o->rejected;
			memcpy(r->reply, o->reply, sizeof(r->reply));
		}
		slot_free(&slots[i]);
	}
	if (c.fd >= 0)
		close(c.fd);
	free(slots);
	pthread_mutex_destroy(&wait.lock);
	pthread_cond_destroy(&wait.cond);
}

const char *delivery_reply(int err, bool quota_tempfail)
{
	switch (err) {
	case STORE_OK:
		return "250 2.0.0 Delivered";
	case DELIVERY_EREJECTED:
		return "550 5.7.1 Rejected by the recipient's mail filter";
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

const char *delivery_rcpt_reply(const struct delivery_rcpt *d, bool quota_tempfail)
{
	if (d->result == DELIVERY_EREJECTED && d->reply[0] != '\0')
		return d->reply;
	return delivery_reply(d->result, quota_tempfail);
}

const char *delivery_strerror(int err)
{
	return err == DELIVERY_EREJECTED ? "rejected by the recipient's Sieve script"
					 : store_strerror(err);
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
	case DELIVERY_EREJECTED:
		return EX_NOPERM;
	case STORE_EINVALID:
		return EX_USAGE;
	default:
		return EX_TEMPFAIL;
	}
}
