/* The asynchronous resolver of one loop: c-ares sends the queries (UDP,
 * TCP after truncation, retries over the configured servers), its sockets
 * are watched with uv_poll handles and its timeouts driven by one uv_timer;
 * answers are read by dns_msg_parse and kept in the cache.
 *
 * Every query also has its own deadline, timeout * (retries + 1) after it
 * was asked: when it passes, the caller gets DNS_TEMPFAIL "timeout" at once
 * and the query is left to c-ares, which forgets it later (or at once with
 * ares_cancel when nothing else is pending). While nothing is pending the
 * resolver holds no libuv handle: sockets close (no ARES_FLAG_STAYOPEN)
 * and the timer is closed, so a worker loop can end around an idle
 * resolver and free it afterwards. */
#include "server/dns/dns.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>
#include <uv.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "server/dns/dns-private.h"

struct sock {
	uv_poll_t poll;
	ares_socket_t fd;
	struct dns_resolver *r;
	struct sock *next;
};

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next;  /* live queries, oldest first */
	uint64_t deadline;
	char *name;
	enum dns_type type;
	dns_cb *cb;
	void *arg;
	bool dead;        /* cancelled or timed out: c-ares still holds it */
	bool starting;    /* inside ares_query() */
	struct dns_answer *early;  /* answered inside ares_query() */
};

struct dns_resolver {
	uv_loop_t *loop;
	ares_channel ch;
	struct dns_config cfg;
	struct dns_cache *cache;
	uv_timer_t *timer;                 /* NULL while idle */
	struct sock *socks;
	struct dns_query *head, *tail;     /* live queries */
	unsigned live;                     /* on the list */
	unsigned in_ares;                  /* c-ares has not called back yet */
	unsigned busy;                     /* inside c-ares processing */
	bool free_pending;
	struct dns_answer *now;            /* the last answer given by return */
	struct dns_stats st;
};

static void settle(struct dns_resolver *r);

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_global_init(void)
{
	ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

void dns_config_from(const struct loft_config *cfg, struct dns_config *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->dns_server != NULL)
		snprintf(out->server, sizeof(out->server), "%s", cfg->dns_server);
	out->port = (uint16_t)cfg->dns_port;
	out->timeout_ms = cfg->dns_timeout_ms;
	out->retries = cfg->dns_retries;
	out->cache_size = cfg->dns_cache_size;
	out->cache_max_ttl_s = cfg->dns_cache_max_ttl_ms / 1000u;
}

bool dns_config_same(const struct dns_config *a, const struct dns_config *b)
{
	return strcmp(a->server, b->server) == 0 && a->port == b->port &&
	       a->timeout_ms == b->timeout_ms && a->retries == b->retries &&
	       a->cache_size == b->cache_size && a->cache_max_ttl_s == b->cache_max_ttl_s;
}

/* ---- handles ---- */

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	struct dns_resolver *r = s->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
	if (status < 0 || (events & UV_READABLE))
		rfd = s->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = s->fd;
	r->busy++;
	ares_process_fd(r->ch, rfd, wfd);
	r->busy--;
	settle(r);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	struct sock **pp = &r->socks;
	while (*pp != NULL && (*pp)->fd != fd)
		pp = &(*pp)->next;
	struct sock *s = *pp;
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			uv_close((uv_handle_t *)&s->poll, free_handle);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		if (uv_poll_init_socket(r->loop, &s->poll, fd) != 0) {
			free(s);
			return;   /* c-ares times the query out */
		}
		s->fd = fd;
		s->r = r;
		s->poll.data = s;
		s->next = r->socks;
		r->socks = s;
	}
	uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
		      on_poll);
}

/* ---- queries ---- */

static void live_unlink(struct dns_resolver *r, struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		r->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		r->tail = q->prev;
	q->prev = q->next = NULL;
	r->live--;
}

static void query_free(struct dns_query *q)
{
	dns_answer_free(&q->early);
	free(q->name);
	free(q);
}

static struct dns_answer *answer_of(struct dns_query *q, int status, unsigned char *abuf,
				    int alen)
{
	if (abuf != NULL && alen > 0 &&
	    (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND))
		return dns_msg_parse(abuf, (size_t)alen, q->name, q->type);
	const char *why;
	switch (status) {
	case ARES_ETIMEOUT: why = "timeout"; break;
	case ARES_ESERVFAIL: why = "SERVFAIL"; break;
	case ARES_EREFUSED: why = "REFUSED"; break;
	case ARES_ECONNREFUSED: why = "connection refused"; break;
	case ARES_EFORMERR: why = "FORMERR"; break;
	case ARES_EBADRESP: why = "bad reply"; break;
	case ARES_ENOTFOUND: return dns_answer_status(DNS_NXDOMAIN, q->type, NULL);
	case ARES_ENODATA: return dns_answer_status(DNS_NODATA, q->type, NULL);
	default: why = "resolver error"; break;
	}
	return dns_answer_status(DNS_TEMPFAIL, q->type, why);
}

static void on_ares(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns_resolver *r = q->r;
	r->in_ares--;
	if (q->dead) {
		query_free(q);
		return;
	}
	struct dns_answer *a = answer_of(q, status, abuf, alen);
	if (a->status == DNS_TEMPFAIL && status == ARES_ETIMEOUT)
		r->st.timeouts++;
	dns_cache_put(r->cache, q->name, q->type, a, uv_now(r->loop));
	if (q->starting) {
		q->early = a;
		return;
	}
	live_unlink(r, q);
	q->cb(q->arg, a);
	dns_answer_free(&a);
	query_free(q);
}

/* ---- the timer ---- */

static uint64_t next_due_ms(struct dns_resolver *r)
{
	uint64_t now = uv_now(r->loop);
	uint64_t due = UINT64_MAX;
	if (r->head != NULL)
		due = r->head->deadline > now ? r->head->deadline - now : 0;
	struct timeval tv, *tp = ares_timeout(r->ch, NULL, &tv);
	if (tp != NULL) {
		uint64_t ms = (uint64_t)tp->tv_sec * 1000u + (uint64_t)(tp->tv_usec + 999) / 1000u;
		if (ms < due)
			due = ms;
	}
	return due;
}

static void on_timer(uv_timer_t *t);

/* After anything happened: expire queries past their deadline, drop what
 * c-ares still holds when no caller waits, arm or close the timer, and
 * finish a deferred free. */
static void settle(struct dns_resolver *r)
{
	if (r->busy > 0)
		return;
	if (r->free_pending) {
		dns_resolver_free(&r);
		return;
	}
	uint64_t now = uv_now(r->loop);
	while (r->head != NULL && r->head->deadline <= now) {
		struct dns_query *q = r->head;
		live_unlink(r, q);
		q->dead = true;
		r->st.timeouts++;
		struct dns_answer *a = dns_answer_status(DNS_TEMPFAIL, q->type, "timeout");
		r->busy++;
		q->cb(q->arg, a);
		r->busy--;
		dns_answer_free(&a);
		if (r->free_pending) {
			dns_resolver_free(&r);
			return;
		}
		now = uv_now(r->loop);
	}
	if (r->live == 0 && r->in_ares > 0) {
		r->busy++;
		ares_cancel(r->ch);   /* every query left is dead: on_ares frees them */
		r->busy--;
	}
	if (r->live == 0 && r->in_ares == 0) {
		if (r->timer != NULL) {
			uv_close((uv_handle_t *)r->timer, free_handle);
			r->timer = NULL;
		}
		return;
	}
	if (r->timer == NULL) {
		r->timer = xcalloc(1, sizeof(*r->timer));
		uv_timer_init(r->loop, r->timer);
		r->timer->data = r;
	}
	uint64_t due = next_due_ms(r);
	if (due != UINT64_MAX)
		uv_timer_start(r->timer, on_timer, due, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct dns_resolver *r = t->data;
	r->busy++;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	r->busy--;
	settle(r);
}

/* ---- public ---- */

int dns_resolver_new(uv_loop_t *loop, const struct dns_config *cfg,
		     struct dns_resolver **r_r, char **err_r)
{
	pthread_once(&ares_once, ares_global_init);
	if (ares_init_status != ARES_SUCCESS) {
		*err_r = xasprintf("c-ares: %s", ares_strerror(ares_init_status));
		return LOFT_EIO;
	}
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->cfg = *cfg;
	struct ares_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = on_sock_state;
	opt.sock_state_cb_data = r;
	opt.timeout = (int)cfg->timeout_ms;
	opt.tries = (int)cfg->retries + 1;
	/* NOCHECKRESP: a SERVFAIL or REFUSED reply comes to us as it is (c-ares
	 * would otherwise report it as a refused connection) */
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
		    ARES_FLAG_NOCHECKRESP;
	opt.ednspsz = 1232;
	opt.lookups = (char *)"b";
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
		   ARES_OPT_EDNSPSZ | ARES_OPT_LOOKUPS;
	int e = ares_init_options(&r->ch, &opt, mask);
	if (e != ARES_SUCCESS) {
		*err_r = xasprintf("c-ares: %s", ares_strerror(e));
		free(r);
		return LOFT_EIO;
	}
	if (cfg->server[0] != '\0') {
		char csv[96];
		if (strchr(cfg->server, ':') != NULL)
			snprintf(csv, sizeof(csv), "[%s]:%u", cfg->server, cfg->port);
		else
			snprintf(csv, sizeof(csv), "%s:%u", cfg->server, cfg->port);
		e = ares_set_servers_ports_csv(r->ch, csv);
		if (e != ARES_SUCCESS) {
			*err_r = xasprintf("dns server %s: %s", csv, ares_strerror(e));
			ares_destroy(r->ch);
			free(r);
			return LOFT_EINVAL;
		}
	}
	r->cache = dns_cache_new(cfg->cache_size, cfg->cache_max_ttl_s);
	*r_r = r;
	return 0;
}

void dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;
	if (r == NULL)
		return;
	*rp = NULL;
	if (r->busy > 0) {
		r->free_pending = true;
		return;
	}
	while (r->head != NULL) {
		struct dns_query *q = r->head;
		live_unlink(r, q);
		q->dead = true;
	}
	r->busy++;
	ares_destroy(r->ch);   /* calls back every query (dead: freed), closes sockets */
	r->busy--;
	if (r->timer != NULL)
		uv_close((uv_handle_t *)r->timer, free_handle);
	while (r->socks != NULL) {
		struct sock *s = r->socks;
		r->socks = s->next;
		uv_close((uv_handle_t *)&s->poll, free_handle);
	}
	dns_cache_free(&r->cache);
	dns_answer_free(&r->now);
	free(r);
}

static int answer_now(struct dns_resolver *r, struct dns_answer *a,
		      const struct dns_answer **now_r)
{
	dns_answer_free(&r->now);
	r->now = a;
	*now_r = a;
	return 1;
}

int dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type, dns_cb *cb,
	       void *arg, struct dns_query **q_r, const struct dns_answer **now_r)
{
	*q_r = NULL;
	if (!dns_name_valid(name))
		return answer_now(r, dns_answer_status(DNS_TEMPFAIL, type, "invalid name"), now_r);
	const struct dns_answer *hit = dns_cache_get(r->cache, name, type, uv_now(r->loop));
	if (hit != NULL) {
		r->st.cache_hits++;
		return answer_now(r, dns_answer_dup(hit), now_r);
	}
	struct dns_query *q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->name = xstrdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	uv_update_time(r->loop);
	q->deadline = uv_now(r->loop) + (uint64_t)r->cfg.timeout_ms * (r->cfg.retries + 1);
	q->starting = true;
	r->in_ares++;
	r->st.queries++;
	r->busy++;
	ares_query(r->ch, name, 1 /* C_IN */, (int)type, on_ares, q);
	r->busy--;
	q->starting = false;
	if (q->early != NULL) {
		struct dns_answer *a = q->early;
		q->early = NULL;
		query_free(q);
		answer_now(r, a, now_r);
		settle(r);
		return 1;
	}
	q->prev = r->tail;
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	r->live++;
	*q_r = q;
	settle(r);
	return 0;
}

void dns_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;
	if (q == NULL)
		return;
	*qp = NULL;
	struct dns_resolver *r = q->r;
	live_unlink(r, q);
	q->dead = true;
	settle(r);
}

bool dns_resolver_idle(const struct dns_resolver *r)
{
	return r->live == 0 && r->in_ares == 0 && r->timer == NULL && r->socks == NULL;
}

void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *st)
{
	*st = r->st;
	st->pending = r->live;
	st->cached = dns_cache_count(r->cache);
	unsigned h = r->timer != NULL;
	for (const struct sock *s = r->socks; s; s = s->next)
		h++;
	st->handles = h;
}
