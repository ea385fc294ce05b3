/* The rspamd HTTP client on a libuv loop: one request at a time per
 * connection, non-blocking TCP to a literal IP address or a UNIX socket
 * (never a name lookup), the body streamed as the caller hands it over
 * (Content-Length when the size is known, else chunked), a connect timeout
 * and a whole-request timeout on one timer, and a small pool per loop of
 * kept-alive connections. The reply is read as it arrives
 * (server/spam/http.c, result.c) and handed to done() on the same loop.
 *
 * Threads: everything here runs on the loop thread of the pool. The
 * process must ignore SIGPIPE (loft does, server.c): a write to a
 * connection rspamd closed is then an error, not the end of the process.
 * Ownership: the caller creates and frees the pool (spam_pool_stop before
 * its loop ends, spam_pool_free after); a request belongs to the client
 * from spam_req_start until done() returned or spam_req_cancel(). */
#ifndef LOFT_SPAM_CLIENT_H
#define LOFT_SPAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "conf/config.h"
#include "server/spam/result.h"

/* Where rspamd listens: a UNIX socket when socket is set, else
 * address:port (an IPv4 or IPv6 literal). Strings are borrowed. */
struct spam_target {
	const char *address;
	unsigned port;
	const char *socket;
};

struct spam_client_settings {
	struct spam_target scan;         /* normal worker: /checkv2 */
	struct spam_target controller;   /* controller: /learnspam, /learnham */
	const char *password;            /* controller password or NULL */
	unsigned connect_timeout_ms;
	unsigned timeout_ms;             /* whole request */
	unsigned max_idle;               /* kept-alive connections in the pool */
	unsigned idle_timeout_ms;
	uint64_t max_reply;              /* reply body bytes */
};
/* The [spam] settings of cfg (strings borrowed from cfg). */
void spam_client_settings_from_config(const struct loft_config *cfg,
				      struct spam_client_settings *set_r);

enum spam_req_kind {
	SPAM_REQ_CHECK,                  /* POST /checkv2 */
	SPAM_REQ_LEARN_SPAM,             /* POST /learnspam (controller) */
	SPAM_REQ_LEARN_HAM,              /* POST /learnham (controller) */
};

/* Why a request failed. */
enum spam_fail {
	SPAM_FAIL_NONE = 0,
	SPAM_FAIL_CONNECT,               /* refused, unreachable, no socket */
	SPAM_FAIL_TIMEOUT,               /* connect or whole-request timeout */
	SPAM_FAIL_IO,                    /* the connection broke */
	SPAM_FAIL_PROTOCOL,              /* a reply we cannot read */
	SPAM_FAIL_HTTP,                  /* an HTTP error status */
	SPAM_FAIL_BODY,                  /* the caller's body did not match its size */
};
const char *spam_fail_name(enum spam_fail f);

struct spam_reply {
	enum spam_fail fail;             /* NONE: result holds rspamd's answer */
	int http_status;                 /* 0 if none was read */
	uint64_t elapsed_ms;             /* from start to the reply */
	bool reused;                     /* ran on a kept-alive connection */
	char detail[256];                /* for the log: what went wrong */
	struct spam_result result;
};

struct spam_pool;
struct spam_req;

/* done runs once on the loop (unless the request was cancelled); the
 * request is freed right after it returns. reply is valid during the call. */
typedef void spam_req_done_fn(struct spam_req *req, const struct spam_reply *reply, void *arg);

struct spam_req_params {
	enum spam_req_kind kind;
	const struct spam_client_settings *set;  /* copied */
	/* Extra request header lines, each "Name: value\r\n" (see
	 * spam_request_headers), copied. */
	const char *headers;
	int64_t body_size;               /* -1: unknown (chunked) */
};

struct spam_pool *spam_pool_create(uv_loop_t *loop);
/* Close the kept-alive connections and stop keeping new ones; requests in
 * flight go on (on their own connections). */
void spam_pool_stop(struct spam_pool *pool);
/* After the loop ran every close callback (spam_pool_stop first). */
void spam_pool_free(struct spam_pool **pool);
/* Idle connections kept now (tests). */
unsigned spam_pool_idle(const struct spam_pool *pool);
uv_loop_t *spam_pool_loop(const struct spam_pool *pool);

/* Start a request: takes a kept-alive connection to the target or
 * connects. Never fails at once: problems reach done(), which never runs
 * inside a call of this API (always from the loop), and never more than
 * once. After done() returned, the request is gone. */
struct spam_req *spam_req_start(struct spam_pool *pool, const struct spam_req_params *p,
				spam_req_done_fn *done, void *arg);
/* Body bytes the request takes now without buffering more than its bound
 * (SPAM_REQ_BUFFER); 0: wait for on_room. */
#define SPAM_REQ_BUFFER (256 * 1024)
size_t spam_req_room(const struct spam_req *req);
/* Take up to len bytes (copied); returns how many were taken. After a
 * failure every byte is taken and dropped (done() reports the failure). */
size_t spam_req_write(struct spam_req *req, const void *data, size_t len);
/* on_room(arg) runs once on the loop when room was 0 and is not any more. */
void spam_req_on_room(struct spam_req *req, void (*on_room)(void *arg), void *arg);
/* The body is complete. */
void spam_req_end(struct spam_req *req);
/* Forget the request: done() will not run; its connection is closed. */
void spam_req_cancel(struct spam_req **req);

#endif
