/* Scanning one message at delivery (see spam.h): a /checkv2 request fed as
 * the message arrives or from its spool file (feed.c), the decision from
 * rspamd's answer, one log line and the counters per message, the
 * per-worker pool of kept-alive connections and the Junk mailbox. */
#include "server/spam/spam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/engine/session.h"
#include "server/net/worker-ext.h"
#include "server/net/worker.h"
#include "server/spam/feed.h"
#include "server/spam/stats.h"

struct spam_scan {
	struct spam_req *req;
	struct spam_policy policy;     /* copied: the config may go first */
	enum conf_proto proto;
	spam_scan_done_fn *done;
	void *arg;
	char queue_id[64];
	struct spam_feed *feed;      /* scanning a spooled file */
};

bool spam_scan_wanted(const struct loft_config *cfg, enum conf_proto proto)
{
	return cfg->spam_enabled &&
	       (proto == CONF_PROTO_SMTP || (proto == CONF_PROTO_LMTP && cfg->spam_scan_lmtp));
}


static void log_decision(const struct spam_scan *s, const struct spam_decision *d,
			 const struct spam_reply *rep)
{
	static const char *const outcomes[] = { "deliver", "reject", "tempfail" };
	if (d->scanned) {
		log_info("spam: queue=%s proto=%s action=\"%s\" score=%.2f/%.2f outcome=%s%s "
			 "time=%llums reused=%d", s->queue_id, conf_proto_name(s->proto),
			 rep->result.action_text, d->score, d->required, outcomes[d->outcome],
			 d->junk ? " junk=yes" : "", (unsigned long long)d->elapsed_ms,
			 rep->reused);
	} else {
		log_warn("spam: queue=%s proto=%s rspamd unavailable (%s: %s) outcome=%s time=%llums",
			 s->queue_id, conf_proto_name(s->proto), spam_fail_name(d->fail),
			 rep->detail, d->outcome == SPAM_TEMPFAIL ? "tempfail" : "accept-unscanned",
			 (unsigned long long)d->elapsed_ms);
	}
}

static void on_reply(struct spam_req *req, const struct spam_reply *rep, void *arg)
{
	(void)req;
	struct spam_scan *s = arg;
	s->req = NULL;
	spam_feed_detach(&s->feed);
	struct spam_decision d;
	spam_decide(&s->policy, rep, s->proto == CONF_PROTO_SMTP, &d);
	log_decision(s, &d, rep);
	spam_stats_count(&d);
	s->done(s->arg, &d);
	spam_decision_clear(&d);
	free(s);
}

struct spam_scan *spam_scan_begin_on(struct spam_pool *pool, const struct loft_config *cfg,
				     enum conf_proto proto, const struct spam_envelope *env,
				     int64_t size, spam_scan_done_fn *done, void *arg)
{
	if (!spam_scan_wanted(cfg, proto))
		return NULL;
	struct spam_scan *s = xcalloc(1, sizeof(*s));
	spam_policy_from_config(cfg, &s->policy);
	s->proto = proto;
	s->done = done;
	s->arg = arg;
	snprintf(s->queue_id, sizeof(s->queue_id), "%s",
		 env->queue_id != NULL ? env->queue_id : "-");
	struct spam_client_settings set;
	spam_client_settings_from_config(cfg, &set);
	char *headers = spam_request_headers(env);
	struct spam_req_params p = { .kind = SPAM_REQ_CHECK, .set = &set, .headers = headers,
				     .body_size = size };
	s->req = spam_req_start(pool, &p, on_reply, s);
	free(headers);
	return s;
}

static void worker_pool_stop(void *ptr)
{
	spam_pool_stop(ptr);
}

static void worker_pool_free(void *ptr)
{
	struct spam_pool *pool = ptr;
	spam_pool_free(&pool);
}

struct spam_pool *spam_worker_pool(struct sess_core *core)
{
	static const struct worker_ext_ops ops = {
		.stop = worker_pool_stop,
		.free = worker_pool_free,
	};
	struct spam_pool *pool = worker_ext_get(core->home, WORKER_EXT_SPAM);
	if (pool == NULL) {
		pool = spam_pool_create(worker_loop(core->home));
		worker_ext_set(core->home, WORKER_EXT_SPAM, pool, &ops);
	}
	return pool;
}

struct spam_scan *spam_scan_begin(struct sess_core *core, enum conf_proto proto,
				  const struct spam_envelope *env, int64_t size,
				  spam_scan_done_fn *done, void *arg)
{
	if (core->conn == NULL || !spam_scan_wanted(conn_config(core->conn), proto))
		return NULL;
	return spam_scan_begin_on(spam_worker_pool(core), conn_config(core->conn), proto, env,
				  size, done, arg);
}

size_t spam_scan_feed(struct spam_scan *s, const void *data, size_t len)
{
	if (s->req == NULL)
		return len;
	return spam_req_write(s->req, data, len);
}

void spam_scan_on_room(struct spam_scan *s, void (*on_room)(void *arg), void *arg)
{
	if (s->req != NULL)
		spam_req_on_room(s->req, on_room, arg);
}

void spam_scan_end(struct spam_scan *s)
{
	if (s->req != NULL)
		spam_req_end(s->req);
}

void spam_scan_abort(struct spam_scan **sp)
{
	struct spam_scan *s = *sp;
	*sp = NULL;
	if (s == NULL)
		return;
	spam_feed_detach(&s->feed);
	spam_req_cancel(&s->req);
	free(s);
}

/* ---- from a spooled file ---- */

struct spam_scan *spam_scan_file_on(struct spam_pool *pool, const struct loft_config *cfg,
				    enum conf_proto proto, const struct spam_envelope *env,
				    int fd, uint64_t size, spam_scan_done_fn *done, void *arg)
{
	struct spam_scan *s = spam_scan_begin_on(pool, cfg, proto, env, (int64_t)size, done, arg);
	if (s == NULL)
		return NULL;
	s->feed = spam_feed_start(spam_pool_loop(pool), s->req, fd, size);
	return s;
}

struct spam_scan *spam_scan_file(struct sess_core *core, enum conf_proto proto,
				 const struct spam_envelope *env, int fd, uint64_t size,
				 spam_scan_done_fn *done, void *arg)
{
	if (core->conn == NULL || !spam_scan_wanted(conn_config(core->conn), proto))
		return NULL;
	return spam_scan_file_on(spam_worker_pool(core), conn_config(core->conn), proto, env, fd,
				 size, done, arg);
}

/* ---- the Junk mailbox ---- */

int spam_junk_mailbox(struct store_user *user, char **name_r)
{
	*name_r = NULL;
	struct store_mailbox_info *list = NULL;
	size_t n = 0;
	int err = store_mailbox_list(user, &list, &n);
	if (err != STORE_OK)
		return err;
	for (size_t i = 0; i < n && *name_r == NULL; i++)
		if (list[i].special_use & STORE_SPECIAL_JUNK)
			*name_r = xstrdup(list[i].name);
	store_mailbox_list_free(list, n);
	if (*name_r == NULL) {
		log_info("spam: user=%s has no \\Junk mailbox: spam goes to INBOX",
			 store_user_name(user));
		*name_r = xstrdup("INBOX");
	}
	return STORE_OK;
}
