/* A connection's life (see conn.h and conn-private.h): accept and the limits
 * slot, identity and logging, the state enum with its logged transitions,
 * the callbacks' frame (enter/leave), the one timer that serves the TLS
 * handshake, login and inactivity deadlines, and the close: flush, optional
 * linger, uv_close, free. Input, output and TLS live in conn-input.c,
 * conn-output.c and conn-tls.c. */
#include "server/net/conn-private.h"
#include "server/net/post-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "server/net/listener.h"
#include "server/net/snapshot.h"
#include "server/net/tls.h"
#include "server/net/worker.h"
#include "lib/xmem.h"

#define CONN_CLOSE_FLUSH_MS 5000      /* wait this long for output at close */
#define CONN_CLOSE_FLUSH_STOP_MS 1000 /* ... when the server is stopping */
#define CONN_LINGER_MS 2000           /* read and drop input after our FIN */
#define CONN_DEFAULT_MAX_OUTPUT (256 * 1024)

/* ---- identity, logging ---- */

struct uv_loop_s *conn_loop(const struct conn *c) { return worker_loop(c->w); }
struct worker *conn_worker(const struct conn *c) { return c->w; }
void *conn_services(const struct conn *c) { return worker_services(c->w); }
void *conn_session(const struct conn *c) { return c->sess; }
uint64_t conn_handle(const struct conn *c) { return worker_slot_handle(c->w, c->slot); }
const char *conn_id(const struct conn *c) { return c->idhex; }
const char *conn_remote(const struct conn *c) { return c->remote; }
const char *conn_remote_ip(const struct conn *c) { return c->ip; }
bool conn_remote_is_loopback(const struct conn *c) { return c->loopback; }

const char *conn_proto_name(const struct conn *c) { return c->proto->name; }
const struct conf_listener *conn_listener(const struct conn *c) { return &c->lst->conf; }
const struct loft_config *conn_config(const struct conn *c) { return c->snap->cfg; }
bool conn_is_closing(const struct conn *c) { return conn_closing(c); }
bool conn_server_stopping(const struct conn *c) { return worker_stopping(c->w); }
bool conn_is_tls(const struct conn *c) { return c->tls != NULL; }

void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
{
	if ((int)level < (int)log_get_level())
		return;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "conn=%s proto=%s remote=%s %s", c->idhex, c->proto->name,
		c->remote, msg);
}

static void set_peer(struct conn *c, const struct loft_config *cfg)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	snprintf(c->ip, sizeof(c->ip), "unknown");
	snprintf(c->remote, sizeof(c->remote), "unknown");
	if (net_listener_is_unix(c->lst)) {
		/* A local client: which process, for the log. It counts as
		 * loopback, and all such clients as one network. */
		uv_os_fd_t fd;
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		snprintf(c->ip, sizeof(c->ip), "unix");
		if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			snprintf(c->remote, sizeof(c->remote), "unix:pid=%d,uid=%u", (int)cred.pid,
				 (unsigned)cred.uid);
		else
			snprintf(c->remote, sizeof(c->remote), "unix");
		c->loopback = true;
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	net_addr_key_from_sockaddr((struct sockaddr *)&ss, cfg->per_ip_ipv4_prefix,
				   cfg->per_ip_ipv6_prefix, &c->limit_key);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, c->ip, sizeof(c->ip));
		snprintf(c->remote, sizeof(c->remote), "%s:%u", c->ip, ntohs(sin->sin_port));
		c->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, c->ip, sizeof(c->ip));
		snprintf(c->remote, sizeof(c->remote), "[%s]:%u", c->ip, ntohs(sin6->sin6_port));
		c->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
}

size_t conn_max_output(const struct conn *c)
{
	size_t m = c->snap->cfg->max_output_buffer;
	return m ? m : CONN_DEFAULT_MAX_OUTPUT;
}

static unsigned handshake_timeout(const struct conn *c)
{
	unsigned t = c->snap->cfg->tls_handshake_timeout_ms;
	return t ? t : 30000;
}

/* ---- the state ---- */

const char *conn_state_name(enum conn_state st)
{
	static const char *const names[] = {
		[CONN_STATE_ACCEPTED] = "accepted",
		[CONN_STATE_HANDSHAKING] = "handshaking",
		[CONN_STATE_OPEN] = "open",
		[CONN_STATE_CLOSING] = "closing",
		[CONN_STATE_FLUSHING] = "flushing",
		[CONN_STATE_LINGERING] = "lingering",
		[CONN_STATE_CLOSED] = "closed",
	};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

void conn_enter_state(struct conn *c, enum conn_state st)
{
	if (c->state == st)
		return;
	conn_debug(c, "state %s -> %s", conn_state_name(c->state), conn_state_name(st));
	c->state = st;
}

/* ---- the callbacks' frame ---- */

static void finish_close(struct conn *c);

void conn_enter(struct conn *c)
{
	c->depth++;
}

void conn_leave(struct conn *c)
{
	if (--c->depth > 0 || c->state == CONN_STATE_CLOSED)
		return;
	if (conn_closing(c)) {
		finish_close(c);
		return;
	}
	conn_flush(c);
	if (c->state == CONN_STATE_CLOSED)
		return;
	conn_output_check(c);
	conn_update_reading(c);
	conn_rbuf_release(c);
}

void conn_cork(struct conn *c)
{
	conn_enter(c);
}

void conn_uncork(struct conn *c)
{
	conn_leave(c);
}

/* ---- the timer: handshake, login and inactivity deadlines ----
 * One uv_timer per connection, armed for the earliest deadline. Input only
 * moves the inactivity deadline later, so reading does not touch the
 * timer: when it fires early, it is armed again for what is left. */

static void on_timer(uv_timer_t *t);

static uint64_t timer_due(const struct conn *c)
{
	uint64_t due = UINT64_MAX;
	if (c->state == CONN_STATE_HANDSHAKING)
		due = c->handshake_start_ms + handshake_timeout(c);
	else if (c->state == CONN_STATE_OPEN && c->timeout_ms != 0)
		due = c->last_input_ms + c->timeout_ms;
	if (c->login_deadline_ms != 0 && c->login_deadline_ms < due)
		due = c->login_deadline_ms;
	return due;
}

void conn_arm_timer(struct conn *c)
{
	if (conn_closing(c))
		return;
	uint64_t due = timer_due(c);
	if (due == UINT64_MAX) {
		uv_timer_stop(&c->timer);
		return;
	}
	uint64_t now = uv_now(worker_loop(c->w));
	uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

void conn_set_timeout(struct conn *c, unsigned ms)
{
	c->timeout_ms = ms;
	c->last_input_ms = uv_now(worker_loop(c->w));
	conn_arm_timer(c);
}

void conn_set_authenticated(struct conn *c)
{
	if (conn_closing(c))
		return;
	c->login_deadline_ms = 0;
	conn_debug(c, "authenticated: idle timeout %u ms", c->snap->cfg->idle_timeout_ms);
	conn_set_timeout(c, c->snap->cfg->idle_timeout_ms);
}

void conn_set_unauthenticated(struct conn *c)
{
	if (conn_closing(c))
		return;
	const struct loft_config *cfg = c->snap->cfg;
	uint64_t now = uv_now(worker_loop(c->w));
	c->login_deadline_ms = !c->proto->no_login && cfg->login_deadline_ms != 0
		? now + cfg->login_deadline_ms : 0;
	conn_debug(c, "unauthenticated: preauth timeout %u ms", cfg->preauth_timeout_ms);
	conn_set_timeout(c, cfg->preauth_timeout_ms);
}

static void timed_out(struct conn *c, const char *reason)
{
	if (c->state == CONN_STATE_OPEN && c->proto->session_timeout != NULL &&
	    c->sess != NULL)
		c->proto->session_timeout(c->sess);
	conn_close(c, reason);
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == CONN_STATE_CLOSED)
		return;
	if (conn_closing(c)) {
		conn_close_handles(c); /* output did not drain, or no EOF, in time */
		return;
	}
	uint64_t now = uv_now(worker_loop(c->w));
	conn_enter(c);
	if (c->state == CONN_STATE_HANDSHAKING &&
	    now >= c->handshake_start_ms + handshake_timeout(c)) {
		conn_info(c, "tls handshake timeout after %u ms", handshake_timeout(c));
		conn_close(c, "tls handshake timeout");
	} else if (c->login_deadline_ms != 0 && now >= c->login_deadline_ms) {
		conn_info(c, "login deadline passed after %llu ms",
			  (unsigned long long)(now - c->start_ms));
		timed_out(c, "login deadline");
	} else if (c->state == CONN_STATE_OPEN && c->timeout_ms != 0 &&
		   now >= c->last_input_ms + c->timeout_ms) {
		conn_info(c, "timeout after %u ms", c->timeout_ms);
		timed_out(c, "timeout");
	} else {
		conn_arm_timer(c); /* input came meanwhile */
	}
	conn_leave(c);
}

/* ---- close ---- */

static void conn_destroy(struct conn *c)
{
	struct worker *w = c->w;
	struct conn_list *list = worker_conns(w);
	uint64_t ms = uv_now(worker_loop(w)) - c->start_ms;
	if (c->counted)
		conn_info(c, "disconnect reason=\"%s\" in=%llu out=%llu duration_ms=%llu",
			  c->close_reason[0] ? c->close_reason : "closed",
			  (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
			  (unsigned long long)ms);
	if (c->sess != NULL)
		c->proto->session_free(c->sess);
	c->sess = NULL;
	if (c->counted)
		net_limits_release(worker_limits(w), &c->limit_key);
	worker_slot_release(w, c->slot);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		list->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->in_resumed) {
		struct conn **pp = &list->resumed;
		while (*pp != NULL && *pp != c)
			pp = &(*pp)->resume_next;
		if (*pp == c)
			*pp = c->resume_next;
	}
	list->n--;
	c->rstart = c->rend;
	conn_rbuf_release(c);
	conn_obuf_free(&c->out);
	conn_obuf_free(&c->wire);
	conn_compress_end(c);
	tls_conn_free(&c->tls);
	net_snapshot_unref(&c->snap);
	free(c);
	worker_conn_gone(w);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open == 0)
		conn_destroy(c);
}

void conn_close_handles(struct conn *c)
{
	if (c->state == CONN_STATE_CLOSED)
		return;
	conn_enter_state(c, CONN_STATE_CLOSED);
	c->reading = false;
	c->handles_open = 2;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void conn_close_now(struct conn *c, const char *reason)
{
	if (!conn_closing(c) || c->close_reason[0] == '\0')
		snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	conn_close_handles(c);
}

/* All output is sent: half-close, then linger: read and drop whatever the
 * client still sends until its EOF (or the timer), so unread input does not
 * turn the close into a reset that could destroy our last reply before the
 * client read it. A connection whose client already sent its FIN, or a
 * plain one with no unread input, closes at once: close() then sends a FIN,
 * not a reset. TLS otherwise lingers, since the client's close_notify is
 * still on its way. */
static void linger(struct conn *c)
{
	uv_os_fd_t fd;
	if (c->peer_eof || (c->tls == NULL && conn_input_drained(c)) ||
	    uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) {
		conn_close_handles(c);
		return;
	}
	conn_enter_state(c, CONN_STATE_LINGERING);
	/* Sends the FIN with the data conn_flush_final() held back. libuv has
	 * no write queued, so it does not mind the shutdown done here. */
	if (shutdown(fd, SHUT_WR) != 0 ||
	    (!c->reading &&
	     uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) != 0)) {
		conn_close_handles(c);
		return;
	}
	c->reading = true;
	uv_timer_start(&c->timer, on_timer, worker_stopping(c->w) ? CONN_CLOSE_FLUSH_STOP_MS
								  : CONN_LINGER_MS, 0);
}

/* Runs from the outermost leave() of a closing connection, every time.
 * Reading goes on while flushing (input is dropped), which saves stopping
 * and restarting it for the linger. */
static void finish_close(struct conn *c)
{
	if (c->state == CONN_STATE_CLOSING) {
		conn_enter_state(c, CONN_STATE_FLUSHING);
		if (c->z != NULL)
			conn_compress_output(c);
		if (c->tls != NULL && c->state != CONN_STATE_CLOSED)
			conn_tls_close(c);
		uv_timer_start(&c->timer, on_timer, worker_stopping(c->w) ? CONN_CLOSE_FLUSH_STOP_MS
									  : CONN_CLOSE_FLUSH_MS, 0);
	}
	if (c->state == CONN_STATE_FLUSHING && conn_flush_final(c))
		linger(c);
}

void conn_close(struct conn *c, const char *reason)
{
	if (conn_closing(c))
		return;
	conn_enter_state(c, CONN_STATE_CLOSING);
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "closed");
	if (c->depth == 0) {
		c->depth++;
		conn_leave(c);
	}
}

/* ---- accept and shutdown ---- */

static void on_accept_failed_closed(uv_handle_t *h)
{
	free(h);
}

/* Count the connection against the limits, or refuse it. */
static bool admit(struct conn *c)
{
	const struct loft_config *cfg = c->snap->cfg;
	bool stopping = worker_stopping(c->w);
	enum net_limit_result lim = NET_LIMIT_OK;
	if (!stopping)
		lim = net_limits_acquire(worker_limits(c->w), &c->limit_key,
					 cfg->max_connections, cfg->max_connections_per_ip);
	if (!stopping && lim == NET_LIMIT_OK) {
		c->counted = true;
		return true;
	}
	const char *why = stopping ? "server stopping"
		: lim == NET_LIMIT_TOTAL ? "max_connections reached"
					 : "max_connections_per_ip reached";
	char net[NET_ADDR_KEY_TEXT];
	net_addr_key_format(&c->limit_key, net, sizeof(net));
	conn_warn(c, "connection refused: %s listener=%s network=%s", why,
		  c->lst->conf.name, net);
	/* An implicit-TLS client cannot read a plaintext refusal. */
	if (c->lst->conf.tls != CONF_TLS_IMPLICIT && !stopping)
		c->proto->refuse(c, lim == NET_LIMIT_TOTAL ? CONN_REFUSE_TOTAL
							   : CONN_REFUSE_PER_IP);
	conn_close(c, why);
	return false;
}

void conn_accept(struct worker *w, uv_stream_t *server, struct net_listener *l)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	if (net_listener_is_unix(l))
		uv_pipe_init(worker_loop(w), &c->pipe, 0);
	else
		uv_tcp_init(worker_loop(w), &c->tcp);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, on_accept_failed_closed);
		return;
	}
	uv_timer_init(worker_loop(w), &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->w = w;
	c->lst = l;
	c->state = CONN_STATE_ACCEPTED;
	c->proto = worker_proto(w, l->conf.protocol);
	c->snap = worker_snapshot(w);
	const struct loft_config *cfg = c->snap->cfg;
	snprintf(c->idhex, sizeof(c->idhex), "%llx", (unsigned long long)worker_next_conn_id(w));
	c->start_ms = c->last_input_ms = uv_now(worker_loop(w));
	c->slot = worker_slot_acquire(w, c);
	set_peer(c, cfg);
	struct conn_list *list = worker_conns(w);
	c->next = list->head;
	if (list->head != NULL)
		list->head->prev = c;
	list->head = c;
	list->n++;
	reader_init(&c->rd, cfg->max_line_length_preauth ? cfg->max_line_length_preauth : 8192);
	/* TCP_NODELAY and keepalive are inherited from the listening socket
	 * (listener.c), which saves five setsockopt calls per connection. */

	conn_enter(c);
	if (!admit(c)) {
		conn_leave(c);
		return;
	}
	conn_info(c, "connect listener=%s tls=%s", l->conf.name, conf_tls_mode_name(l->conf.tls));
	c->timeout_ms = cfg->preauth_timeout_ms;
	if (!c->proto->no_login && cfg->login_deadline_ms != 0)
		c->login_deadline_ms = c->start_ms + cfg->login_deadline_ms;
	if (l->conf.tls == CONF_TLS_IMPLICIT) {
		if (c->snap->tls_ctx == NULL || conn_tls_start(c) < 0) {
			conn_close(c, "no TLS context");
			conn_leave(c);
			return;
		}
	} else {
		conn_enter_state(c, CONN_STATE_OPEN);
	}
	conn_arm_timer(c);
	c->sess = c->proto->session_create(c);
	conn_leave(c);
}

static void conn_shutdown(struct conn *c, bool force)
{
	if (c->state == CONN_STATE_CLOSED)
		return;
	if (conn_closing(c)) {
		if (force)
			uv_timer_start(&c->timer, on_timer, CONN_CLOSE_FLUSH_STOP_MS, 0);
		return;
	}
	conn_enter(c);
	if (c->sess != NULL && c->proto->session_shutdown != NULL)
		c->proto->session_shutdown(c->sess, force);
	if (force || c->sess == NULL || c->proto->session_shutdown == NULL)
		conn_close(c, "server shutdown");
	conn_leave(c);
}

void conn_shutdown_all(struct worker *w, bool force)
{
	/* conn_shutdown() never frees a connection synchronously (only the
	 * uv_close callbacks do), so the list stays intact during the walk. */
	for (struct conn *c = worker_conns(w)->head; c != NULL; c = c->next)
		conn_shutdown(c, force);
}
