/* The learner (see learn.h): a thread running its own libuv loop, fed by a
 * locked queue and a uv_async; it sends one message at a time to rspamd's
 * controller through the same client as the scans (its own pool), the
 * message file fed by feed.c. Messages waiting for a retry
 * sit in a list ordered by due time, with one timer for the earliest. */
#include "server/spam/learn.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "server/spam/client.h"
#include "server/spam/feed.h"
#include "server/spam/stats.h"
#include "storage/store.h"

struct learn_item {
	struct learn_item *next;
	char *user;
	enum spam_learn_class cls;
	int fd;
	unsigned attempts;
	uint64_t due;                  /* uv_now() of the next try */
};

struct spam_learner {
	const struct loft_config *cfg;
	uv_thread_t thread;
	uv_loop_t loop;
	uv_async_t async;
	uv_timer_t retry_timer;
	/* shared with submitters, under lock */
	pthread_mutex_t lock;
	struct learn_item *head, *tail;
	unsigned pending;              /* queued + delayed + in flight */
	bool stop;
	/* the loop's own */
	struct spam_client_settings set;
	struct spam_pool *pool;
	struct learn_item *ready;      /* taken from the queue, FIFO */
	struct learn_item *delayed;    /* waiting for a retry, by due time */
	struct learn_item *cur;
	struct spam_req *req;
	struct spam_feed *feed;
	bool stopping;
};

enum spam_learn_class spam_learn_class_of(uint32_t from_special, uint32_t to_special)
{
	bool from_junk = from_special & STORE_SPECIAL_JUNK, to_junk = to_special & STORE_SPECIAL_JUNK;
	if (to_junk && !from_junk)
		return SPAM_LEARN_SPAM;
	if (from_junk && !to_junk && !(to_special & STORE_SPECIAL_TRASH))
		return SPAM_LEARN_HAM;
	return SPAM_LEARN_NONE;
}

static void item_free(struct spam_learner *l, struct learn_item *it)
{
	if (it->fd >= 0)
		close(it->fd);
	free(it->user);
	free(it);
	pthread_mutex_lock(&l->lock);
	l->pending--;
	pthread_mutex_unlock(&l->lock);
}

static void start_next(struct spam_learner *l);

/* ---- retries ---- */

static void on_retry_timer(uv_timer_t *t)
{
	struct spam_learner *l = t->data;
	uint64_t now = uv_now(&l->loop);
	while (l->delayed != NULL && l->delayed->due <= now) {
		struct learn_item *it = l->delayed;
		l->delayed = it->next;
		it->next = NULL;
		struct learn_item **p = &l->ready;
		while (*p != NULL)
			p = &(*p)->next;
		*p = it;
	}
	if (l->delayed != NULL)
		uv_timer_start(&l->retry_timer, on_retry_timer, l->delayed->due - now, 0);
	start_next(l);
}

static void delay(struct spam_learner *l, struct learn_item *it)
{
	uint64_t wait = l->cfg->spam_learn_backoff_ms;
	for (unsigned i = 1; i < it->attempts && wait < 3600000; i++)
		wait *= 2;
	it->due = uv_now(&l->loop) + wait;
	struct learn_item **p = &l->delayed;
	while (*p != NULL && (*p)->due <= it->due)
		p = &(*p)->next;
	it->next = *p;
	*p = it;
	uv_timer_start(&l->retry_timer, on_retry_timer, l->delayed->due - uv_now(&l->loop), 0);
}

/* ---- one learn ---- */

static bool transient(const struct spam_reply *rep)
{
	if (rep->fail == SPAM_FAIL_HTTP)
		return rep->http_status >= 500 || rep->http_status == 408 || rep->http_status == 429;
	return rep->fail != SPAM_FAIL_BODY;
}

static void on_learned(struct spam_req *req, const struct spam_reply *rep, void *arg)
{
	(void)req;
	struct spam_learner *l = arg;
	struct learn_item *it = l->cur;
	l->req = NULL;
	l->cur = NULL;
	spam_feed_detach(&l->feed);
	const char *what = it->cls == SPAM_LEARN_SPAM ? "spam" : "ham";
	if (rep->fail == SPAM_FAIL_NONE ||
	    (rep->http_status == 404 && strstr(rep->result.error, "already learned") != NULL)) {
		log_info("spam: learned user=%s as=%s attempts=%u%s", it->user, what,
			 it->attempts + 1, rep->fail == SPAM_FAIL_NONE ? "" : " (already learned)");
		spam_stats_learn(SPAM_STAT_LEARN_DONE);
	} else if (transient(rep) && it->attempts < l->cfg->spam_learn_retries && !l->stopping) {
		it->attempts++;
		log_info("spam: learn user=%s as=%s failed (%s: %s), retry %u of %u", it->user, what,
			 spam_fail_name(rep->fail), rep->detail, it->attempts,
			 l->cfg->spam_learn_retries);
		spam_stats_learn(SPAM_STAT_LEARN_RETRIED);
		delay(l, it);
		start_next(l);
		return;
	} else {
		log_warn("spam: learn user=%s as=%s failed (%s: %s) after %u attempts", it->user,
			 what, spam_fail_name(rep->fail), rep->detail, it->attempts + 1);
		spam_stats_learn(SPAM_STAT_LEARN_FAILED);
	}
	item_free(l, it);
	start_next(l);
}

static void start_next(struct spam_learner *l)
{
	if (l->cur != NULL || l->stopping)
		return;
	if (l->ready == NULL) {
		pthread_mutex_lock(&l->lock);
		l->ready = l->head;
		l->head = l->tail = NULL;
		pthread_mutex_unlock(&l->lock);
	}
	struct learn_item *it = l->ready;
	if (it == NULL)
		return;
	l->ready = it->next;
	it->next = NULL;
	struct stat st;
	if (fstat(it->fd, &st) != 0) {
		log_warn("spam: learn user=%s: message unreadable", it->user);
		spam_stats_learn(SPAM_STAT_LEARN_FAILED);
		item_free(l, it);
		start_next(l);
		return;
	}
	l->cur = it;
	char *headers = NULL;
	if (l->cfg->spam_learn_per_user)
		headers = xasprintf("Deliver-To: %s\r\n", it->user);
	struct spam_req_params p = {
		.kind = it->cls == SPAM_LEARN_SPAM ? SPAM_REQ_LEARN_SPAM : SPAM_REQ_LEARN_HAM,
		.set = &l->set, .headers = headers, .body_size = (int64_t)st.st_size,
	};
	l->req = spam_req_start(l->pool, &p, on_learned, l);
	free(headers);
	l->feed = spam_feed_start(&l->loop, l->req, it->fd, (uint64_t)st.st_size);
}

/* ---- the thread ---- */

static void drop_list(struct spam_learner *l, struct learn_item *it)
{
	while (it != NULL) {
		struct learn_item *n = it->next;
		spam_stats_learn(SPAM_STAT_LEARN_DROPPED);
		item_free(l, it);
		it = n;
	}
}

static void on_async(uv_async_t *a)
{
	struct spam_learner *l = a->data;
	pthread_mutex_lock(&l->lock);
	bool stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	if (!stop) {
		start_next(l);
		return;
	}
	if (l->stopping)
		return;
	l->stopping = true;
	pthread_mutex_lock(&l->lock);
	struct learn_item *queued = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	drop_list(l, queued);
	drop_list(l, l->ready);
	drop_list(l, l->delayed);
	l->ready = l->delayed = NULL;
	if (l->cur != NULL) {
		spam_feed_detach(&l->feed);
		spam_req_cancel(&l->req);
		spam_stats_learn(SPAM_STAT_LEARN_DROPPED);
		item_free(l, l->cur);
		l->cur = NULL;
	}
	spam_pool_stop(l->pool);
	uv_close((uv_handle_t *)&l->retry_timer, NULL);
	uv_close((uv_handle_t *)&l->async, NULL);
}

static void learner_main(void *arg)
{
	struct spam_learner *l = arg;
	thread_role_set(THREAD_ROLE_LOOP);
	uv_run(&l->loop, UV_RUN_DEFAULT);
}

int spam_learner_start(const struct loft_config *cfg, struct spam_learner **l_r, char **err_r)
{
	*l_r = NULL;
	*err_r = NULL;
	struct spam_learner *l = xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	pthread_mutex_init(&l->lock, NULL);
	spam_client_settings_from_config(cfg, &l->set);
	uv_loop_init(&l->loop);
	uv_async_init(&l->loop, &l->async, on_async);
	l->async.data = l;
	uv_timer_init(&l->loop, &l->retry_timer);
	l->retry_timer.data = l;
	l->pool = spam_pool_create(&l->loop);
	int e = uv_thread_create(&l->thread, learner_main, l);
	if (e != 0) {
		*err_r = xasprintf("spam learner: cannot start thread: %s", uv_strerror(e));
		spam_pool_stop(l->pool);
		uv_close((uv_handle_t *)&l->retry_timer, NULL);
		uv_close((uv_handle_t *)&l->async, NULL);
		uv_run(&l->loop, UV_RUN_DEFAULT);
		uv_loop_close(&l->loop);
		spam_pool_free(&l->pool);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return LOFT_EIO;
	}
	*l_r = l;
	return 0;
}

void spam_learner_stop(struct spam_learner **lp)
{
	struct spam_learner *l = *lp;
	*lp = NULL;
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_mutex_unlock(&l->lock);
	uv_async_send(&l->async);
	uv_thread_join(&l->thread);
	if (uv_loop_close(&l->loop) != 0)
		log_warn("spam learner: loop closed with handles open");
	spam_pool_free(&l->pool);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int spam_learn_submit(struct spam_learner *l, const char *user, enum spam_learn_class cls,
		      int fd)
{
	if (cls == SPAM_LEARN_NONE || l == NULL) {
		close(fd);
		return l == NULL ? 0 : LOFT_EINVAL;
	}
	pthread_mutex_lock(&l->lock);
	if (l->stop || l->pending >= l->cfg->spam_learn_queue) {
		pthread_mutex_unlock(&l->lock);
		close(fd);
		spam_stats_learn(SPAM_STAT_LEARN_DROPPED);
		log_warn("spam: learn queue full (%u): message of user=%s not learned",
			 l->cfg->spam_learn_queue, user);
		return LOFT_ELIMIT;
	}
	struct learn_item *it = xcalloc(1, sizeof(*it));
	it->user = xstrdup(user);
	it->cls = cls;
	it->fd = fd;
	if (l->tail != NULL)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->pending++;
	pthread_mutex_unlock(&l->lock);
	spam_stats_learn(SPAM_STAT_LEARN_QUEUED);
	uv_async_send(&l->async);
	return 0;
}

int spam_learn_moved(struct spam_learner *l, const char *user, const char *from,
		     uint32_t from_special, const char *to, uint32_t to_special, int fd)
{
	enum spam_learn_class cls = spam_learn_class_of(from_special, to_special);
	if (l == NULL || cls == SPAM_LEARN_NONE) {
		close(fd);
		return 0;
	}
	log_debug("spam: user=%s moved %s -> %s: learn as %s", user, from, to,
		  cls == SPAM_LEARN_SPAM ? "spam" : "ham");
	return spam_learn_submit(l, user, cls, fd);
}

unsigned spam_learn_pending(struct spam_learner *l)
{
	pthread_mutex_lock(&l->lock);
	unsigned n = l->pending;
	pthread_mutex_unlock(&l->lock);
	return n;
}
