/* Delivery status notifications (RFC 3461 DSN, RFC 3464 report format):
 * after an SMTP delivery, recipients that asked for NOTIFY=SUCCESS (or a
 * failure, where the delivery failed after the DATA reply promised it)
 * get a multipart/report message sent to the envelope sender through the
 * configured relay host (dsn_relay_host:dsn_relay_port), MAIL FROM:<> as
 * RFC 3461 6.1 asks. The report's third part is the original header
 * section (text/rfc822-headers; RET=FULL returns the whole message for
 * failures only, RFC 3461 4.3), streamed from the spool, never held in
 * memory. SMTPUTF8 transactions get the RFC 6533 global types.
 *
 * dsn_submit() hands the report to a pool thread, which sends it with a
 * blocking SMTP client (each step bounded by dsn_timeout) and logs the
 * outcome: the session that caused it may be gone by then. A relay that
 * refuses or cannot be reached loses the notification (logged at warn):
 * Loft has no outgoing queue. */
#ifndef LOFT_LMTP_DSN_H
#define LOFT_LMTP_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct work_pool;

enum dsn_action { DSN_DELIVERED, DSN_FAILED };

struct dsn_rcpt {
	const char *address;         /* the recipient as given to RCPT */
	const char *orcpt;           /* ORCPT decoded ("rfc822;a@b"), or NULL */
	enum dsn_action action;
	const char *reply;           /* our reply for it ("250 2.0.0 ...") */
};

struct dsn_report {
	const char *hostname;        /* Reporting-MTA, From:, Message-ID */
	const char *sender;          /* the envelope sender: the report's recipient */
	const char *envid;           /* ENVID decoded, or NULL */
	time_t arrival;
	bool utf8;                   /* SMTPUTF8: RFC 6533 types */
	bool full;                   /* return the whole message (RET=FULL, failures) */
	const struct dsn_rcpt *rcpts;
	size_t n_rcpts;
};

struct dsn_relay {
	const char *host;
	unsigned port;
	unsigned timeout_ms;
	const char *helo;            /* our name in EHLO */
};

/* Build the report and queue its sending on pool. message_fd is a
 * descriptor of the message as delivered (its header section or all of it
 * is copied from it); it is taken over and closed. Strings are copied. */
void dsn_submit(struct work_pool *pool, const struct dsn_relay *relay,
		const struct dsn_report *report, int message_fd);

/* The report's text before and after the returned message part (tests,
 * the fuzz-free unit test of the format): heap strings. */
void dsn_build(const struct dsn_report *report, const char *boundary, char **head_r,
	       char **tail_r);

#endif
