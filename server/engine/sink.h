/* A streaming sink: bytes a session receives (an IMAP literal, LMTP DATA)
 * written to their destination (a store_append, a spool file) by a pool
 * thread, so that neither the loop blocks on the file nor the message sits
 * in memory. Two buffers of chunk_size bytes: the loop fills one while a
 * pool thread writes the other. When both are full, sess_sink_feed() takes
 * nothing and the session stops reading until the on_space callback says
 * there is room again (back-pressure to the client's TCP window).
 *
 * Ownership: the session creates the sink and ends it with
 * sess_sink_finish(), whose callback runs on the loop once everything was
 * written (or an error stopped it, or discard was asked); the sink frees
 * itself right after that callback. The write target must stay valid until
 * then. Loop thread only, except write() which runs on the pool. */
#ifndef LOFT_ENGINE_SINK_H
#define LOFT_ENGINE_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "server/engine/session.h"

struct sess_sink;

/* On a pool thread: write len bytes; return 0 or a negative error (the
 * target's own error code, handed back to finish's callback). */
typedef int sess_sink_write_fn(void *target, const void *data, size_t len);

struct sess_sink *sess_sink_create(struct sess_core *core, struct work_pool *pool,
				   size_t chunk_size, sess_sink_write_fn *write,
				   void *target);
/* Called on the loop when a sink that refused bytes has room again. */
void sess_sink_on_space(struct sess_sink *sink, void (*on_space)(void *arg), void *arg);
/* Take up to len bytes; returns how many were taken (0: full, wait for
 * on_space). After a write error every byte is taken and dropped. */
size_t sess_sink_feed(struct sess_sink *sink, const void *data, size_t len);
/* How many bytes sess_sink_feed() would take now; 0: full, and on_space
 * will be called when there is room. */
size_t sess_sink_room(struct sess_sink *sink);
/* Total bytes fed so far. */
size_t sess_sink_total(const struct sess_sink *sink);
/* No more bytes. Once the last write returned, done(arg, err) runs on the
 * loop (err: the first write error or 0) and the sink is freed. With
 * discard, buffered bytes are dropped instead of written. If the session is
 * gone by then, done still runs (check sess_alive) so the target can be
 * released. */
void sess_sink_finish(struct sess_sink *sink, bool discard,
		      void (*done)(void *arg, int err), void *arg);

#endif
