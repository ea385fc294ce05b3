/* Feeding a message file to an rspamd request (a spooled message to scan,
 * a message to learn): reads [0, size) of a duplicate of the caller's fd
 * with libuv file requests (libuv's thread pool, never the loop thread),
 * one chunk at a time at the pace the request takes it, and ends the
 * request at the end. A short or unreadable file ends the request early,
 * which then reports a body shorter than announced. Loop thread only. */
#ifndef LOFT_SPAM_FEED_H
#define LOFT_SPAM_FEED_H

#include <stdint.h>

#include <uv.h>

#include "server/spam/client.h"

struct spam_feed;

/* Start feeding req (which must announce size as its body size). fd stays
 * the caller's (the feed reads its own duplicate). NULL if fd cannot be
 * duplicated: the request is then ended at once (and fails as short). */
struct spam_feed *spam_feed_start(uv_loop_t *loop, struct spam_req *req, int fd, uint64_t size);
/* The request finished or is being cancelled: stop. Frees the feed now,
 * or when a file read in flight comes back. Call it from the request's
 * done() (and before spam_req_cancel). NULL is allowed. */
void spam_feed_detach(struct spam_feed **feed);

#endif
