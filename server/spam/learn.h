/* Teaching rspamd from what users do: a message moved or copied into the
 * \Junk mailbox is sent to rspamd's controller as spam (/learnspam), one
 * moved out of \Junk into any mailbox but \Trash as ham (/learnham). The
 * learner is one thread with its own libuv loop and a bounded queue
 * ([spam] learn_queue): submitting takes a lock for O(1) and never waits
 * for rspamd, so the IMAP reply is never delayed; a full queue drops the
 * message (counted). A learn that fails for a reason that may pass
 * (rspamd down, slow, 5xx) is tried again learn_retries times, waiting
 * learn_backoff and then twice as long each time; rspamd's "already
 * learned" counts as done, other refusals as failed. With learn_per_user
 * the user goes along as Deliver-To (rspamd's per_user statistics).
 *
 * The IMAP COPY/MOVE code calls spam_learn_moved() after the store call
 * succeeded, on the pool thread that ran it, with an fd of the message
 * (store_msg_open on the source view, before a MOVE's expunge is seen:
 * the fd stays readable after an expunge). */
#ifndef LOFT_SPAM_LEARN_H
#define LOFT_SPAM_LEARN_H

#include <stdint.h>

#include "conf/config.h"

struct spam_learner;

enum spam_learn_class {
	SPAM_LEARN_NONE = 0,     /* nothing to learn from this move */
	SPAM_LEARN_SPAM,
	SPAM_LEARN_HAM,
};

/* Which lesson a move or copy between mailboxes with these special-use
 * bits (STORE_SPECIAL_*) teaches: into \Junk from elsewhere: spam; out of
 * \Junk into anything but \Junk or \Trash: ham; else none. */
enum spam_learn_class spam_learn_class_of(uint32_t from_special, uint32_t to_special);

/* Start the learner thread (cfg must outlive it). Returns 0 or LOFT_EIO
 * with a heap message in *err_r. */
int spam_learner_start(const struct loft_config *cfg, struct spam_learner **l_r, char **err_r);
/* Stop: the learn in flight is abandoned, queued ones are dropped (and
 * counted), the thread is joined. NULL is allowed. */
void spam_learner_stop(struct spam_learner **l);

/* Any thread. Queue fd (a message opened for reading; the learner owns it
 * from now on and closes it in every case) to be learned as cls for user.
 * Returns 0, or LOFT_ELIMIT when the queue is full (dropped, fd closed) or
 * LOFT_EINVAL for SPAM_LEARN_NONE (fd closed). */
int spam_learn_submit(struct spam_learner *l, const char *user, enum spam_learn_class cls,
		      int fd);
/* Any thread: spam_learn_class_of(from_special, to_special), then submit
 * when there is something to learn (else just close fd and return 0).
 * l NULL (learning off): closes fd, returns 0. Mailbox names are only
 * logged. */
int spam_learn_moved(struct spam_learner *l, const char *user, const char *from,
		     uint32_t from_special, const char *to, uint32_t to_special, int fd);

/* Messages waiting or in flight now (tests). */
unsigned spam_learn_pending(struct spam_learner *l);

#endif
