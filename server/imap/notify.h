/* NOTIFY (RFC 5465): a session's subscription to changes of several
 * mailboxes at once, and the unsolicited responses it brings. The selected
 * mailbox (filters SELECTED / SELECTED-DELAYED) gets its view updates
 * pushed between commands, not only in IDLE; other mailboxes of the
 * filters INBOXES, PERSONAL, SUBSCRIBED, SUBTREE and MAILBOXES get
 * "* STATUS" when messages arrive or go (MessageNew, MessageExpunge) or
 * flags change (FlagChange), and "* LIST" when mailboxes appear or go
 * (MailboxName; a rename shows as the old name gone and the new one
 * there). A user-wide store watch posts to the session; a job on the
 * storage pool reads the followed mailboxes' counters and compares them
 * with what the session last reported, so the cost follows the mailboxes
 * followed, never their size. Responses wait for a point where a whole
 * line may be written (no command, or IDLE).
 *
 * Threads: the session's loop; the watch callback only posts. */
#ifndef LOFT_IMAP_NOTIFY_H
#define LOFT_IMAP_NOTIFY_H

#include <stdbool.h>

struct imap_session;

/* The selected mailbox's watch announced a change (selected.c): push an
 * update now when NOTIFY asked for the selected mailbox's events and no
 * command runs. */
void imap_notify_selected_changed(struct imap_session *s);
/* A command ended (session.c): write what waited, push pending updates. */
void imap_notify_flush(struct imap_session *s);
/* The session goes away: drop the subscription (its watch on the pool). */
void imap_notify_free(struct imap_session *s);

#endif
