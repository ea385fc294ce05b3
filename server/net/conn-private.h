/* Private to the connection files: struct conn, its lifecycle as one state
 * enum (conn_enter_state logs every change), and the helpers conn.c (life,
 * timers, accept, close), conn-input.c (read buffer, delivery),
 * conn-output.c (write queue) and conn-tls.c (the TLS layer's glue) call in
 * each other. Nothing outside server/net/conn*.c includes it. */
#ifndef LOFT_NET_CONN_PRIVATE_H
#define LOFT_NET_CONN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "server/net/conn.h"
#include "server/net/limits.h"
#include "server/net/reader.h"

struct compress_conn;
struct tls_conn;
struct worker;

/* The life of a connection. Moves only forward, except HANDSHAKING <-> OPEN
 * for STARTTLS:
 *   ACCEPTED -> [HANDSHAKING ->] OPEN [-> HANDSHAKING -> OPEN]
 *            -> CLOSING -> FLUSHING [-> LINGERING] -> CLOSED
 * Any state may jump to CLOSED (write error, reset, flush timer). */
enum conn_state {
	CONN_STATE_ACCEPTED,    /* socket accepted, no session yet */
	CONN_STATE_HANDSHAKING, /* TLS handshake running; session output waits */
	CONN_STATE_OPEN,        /* the session reads and writes */
	CONN_STATE_CLOSING,     /* conn_close(): applied when the callback returns */
	CONN_STATE_FLUSHING,    /* sending what is queued (and close_notify) */
	CONN_STATE_LINGERING,   /* our FIN is out: drop input until the client's EOF */
	CONN_STATE_CLOSED,      /* handles closing; freed in the last uv_close callback */
};

/* A byte queue: data[start..end) is pending, cap allocated. */
struct obuf {
	char *data;
	size_t start, end, cap;
};

struct wreq;

struct conn {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;           /* from a UNIX socket listener */
	};
	uv_timer_t timer;
	struct worker *w;
	struct net_snapshot *snap;
	struct net_listener *lst;
	const struct conn_proto *proto;
	void *sess;
	struct conn *prev, *next;     /* worker's list */
	struct conn *resume_next;     /* worker's resumed list */
	enum conn_state state;

	char idhex[17];
	char remote[64];
	char ip[48];
	struct net_addr_key limit_key; /* the limits slot this connection holds */

	char *rbuf;                   /* read buffer (plaintext), NULL while idle */
	size_t rstart, rend, rcap;
	struct reader rd;

	struct obuf out;              /* plaintext not yet sent/encrypted */
	struct obuf wire;             /* TLS/compression: bytes for the socket */
	struct wreq *inflight;        /* the one uv_write in progress */
	struct tls_conn *tls;
	struct compress_conn *z;      /* COMPRESS=DEFLATE, above TLS */

	uint64_t bytes_in, bytes_out;
	uint32_t slot;                /* in the worker's handle table (post.c) */
	uint64_t start_ms;            /* accept, uv_now() */
	uint64_t last_input_ms;       /* last bytes read, uv_now() */
	uint64_t handshake_start_ms;  /* the running TLS handshake's start */
	uint64_t login_deadline_ms;   /* uv_now() by which to log in; 0 = none */
	unsigned timeout_ms;          /* inactivity timeout; 0 = none */
	int depth;                    /* nesting of enter()/leave() */
	int handles_open;
	char close_reason[80];

	/* Orthogonal flags (the life is in state). */
	bool reading : 1;             /* uv_read_start is active */
	bool paused_session : 1;      /* conn_pause_input() */
	bool paused_output : 1;       /* output above max_output_buffer */
	bool drain_wanted : 1;        /* the session saw conn_output_full() */
	bool drained_pending : 1;     /* call session_drained from the loop */
	bool in_resumed : 1;          /* on the worker's resumed list */
	bool counted : 1;             /* holds a slot in the limits */
	bool loopback : 1;
	bool peer_eof : 1;            /* the client's FIN arrived */
	bool authenticated : 1;       /* conn_set_authenticated() */
};

/* ---- conn.c ---- */

const char *conn_state_name(enum conn_state st);
void conn_enter_state(struct conn *c, enum conn_state st);
/* A connection that is closing in any way (conn_close() or beyond). */
static inline bool conn_closing(const struct conn *c)
{
	return c->state >= CONN_STATE_CLOSING;
}
/* The callbacks' frame: every entry from libuv or from a session outside a
 * callback is enter() ... leave(); the outermost leave() flushes output,
 * applies a pending close and frees an empty read buffer. */
void conn_enter(struct conn *c);
void conn_leave(struct conn *c);
/* Close the handles at once (no flush). */
void conn_close_now(struct conn *c, const char *reason);
void conn_close_handles(struct conn *c);
/* Re-arm the timer for the earliest of the handshake, login and idle
 * deadlines (after a change of state or setting). */
void conn_arm_timer(struct conn *c);
size_t conn_max_output(const struct conn *c);

/* ---- conn-input.c ---- */

void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
/* Start or stop reading the socket as the state and pauses ask. */
void conn_update_reading(struct conn *c);
/* Make room at the end of the read buffer; returns the free bytes. */
size_t conn_rbuf_prepare(struct conn *c);
void conn_rbuf_release(struct conn *c);
/* Hand buffered input to the session (and pull more out of TLS). */
void conn_deliver(struct conn *c);
bool conn_can_deliver(const struct conn *c);
/* Run conn_deliver() (and a pending session_drained) next loop turn. */
void conn_schedule(struct conn *c);
/* Whether the kernel and the read buffer hold no unread input. */
bool conn_input_drained(struct conn *c);

/* ---- conn-output.c ---- */

static inline size_t obuf_len(const struct obuf *b)
{
	return b->end - b->start;
}
void conn_obuf_free(struct obuf *b);
void conn_obuf_append(struct obuf *b, const void *p, size_t n);
/* Encrypt pending plaintext (TLS) and write what the socket takes. */
void conn_flush(struct conn *c);
/* At close: hand all queued output to the kernel with MSG_MORE, so the FIN
 * that shutdown()/close() sends right after leaves in the same segment.
 * Returns true when nothing is left to send; false when a uv_write carries
 * the rest (or the connection closed on an error). */
bool conn_flush_final(struct conn *c);
/* Bytes queued and not yet written to the socket. */
size_t conn_unsent(const struct conn *c);
/* After leave(): pause reading above the high mark, or schedule the
 * session_drained the session waits for. */
void conn_output_check(struct conn *c);

/* ---- conn-tls.c ---- */

/* Whether a TLS layer exists and finished its handshake. */
bool conn_tls_ready(const struct conn *c);
/* Implicit TLS from accept. Returns 0 or LOFT_ENOMEM. */
int conn_tls_start(struct conn *c);
/* Ciphertext arrived in the worker's scratch buffer. */
void conn_tls_input(struct conn *c, const char *data, size_t len);
/* Turn queued plaintext into ciphertext once the handshake is done. */
void conn_tls_encrypt(struct conn *c);
/* Pull plaintext out of the TLS layer into the read buffer for the session. */
void conn_tls_pump(struct conn *c);
/* conn_close() with TLS up: encrypt what is queued and add close_notify
 * (nothing is written yet); before the handshake, drop the output. */
void conn_tls_close(struct conn *c);

/* ---- conn-compress.c ---- */

/* Plain bytes from the socket (no TLS) into the compression layer. */
void conn_compress_input(struct conn *c, const char *data, size_t len);
/* Inflate into the read buffer for the session (pulling TLS plaintext). */
void conn_compress_pump(struct conn *c);
bool conn_compress_has_pending(const struct conn *c);
/* Deflate queued output (sync flush) into TLS or the socket queue. */
void conn_compress_output(struct conn *c);
/* Free the layer (connection destroyed). */
void conn_compress_end(struct conn *c);

#endif
