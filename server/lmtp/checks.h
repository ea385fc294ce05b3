/* Internal to server/lmtp/: what a message is checked for on its way in,
 * driven from the session's commands. The sender checks (mailauth.h: the
 * DNSBL at connect, SPF from MAIL, DKIM and DMARC as the message streams,
 * the verdict at its end) and rspamd's verdict (spam.h, asked about the
 * spooled message once the sender checks are done, with their results).
 *
 *   connect        smtp_checks_connect (the DNSBL query starts)
 *   HELO/EHLO      smtp_checks_helo
 *   MAIL           smtp_checks_hold_mail (waits for the DNSBL answer),
 *                  smtp_checks_mail_refused (554 5.7.1), then
 *                  smtp_checks_tx_begin after the 250
 *   DATA           smtp_checks_before_data (SPF fail reject: 550 5.7.23)
 *   message bytes  smtp_checks_feed (forged Authentication-Results out)
 *   end            smtp_checks_end -> done(result): a reply instead of
 *                  delivery, or the header lines, \Junk and the verdict
 *   RSET, reset    smtp_checks_tx_reset;  session gone: smtp_checks_free
 *
 * Every callback runs on the session's loop on a later turn; freeing
 * cancels them. A session without checks (nothing configured for its
 * protocol) has no state: every call is then a no-op. */
#ifndef LOFT_LMTP_CHECKS_H
#define LOFT_LMTP_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "server/mailauth/authres.h"
#include "storage/store.h"

struct smtp_session;

void smtp_checks_connect(struct smtp_session *s);
void smtp_checks_free(struct smtp_session *s);
void smtp_checks_helo(struct smtp_session *s);

/* At the start of MAIL: true when the DNSBL answer is still awaited; the
 * session then waits and the command is run again (smtp_cmd_mail) once
 * it came. */
bool smtp_checks_hold_mail(struct smtp_session *s, const char *args, size_t len);
/* True when the client is blocklisted with dnsbl_action = reject: the
 * 554 5.7.1 reply was given. */
bool smtp_checks_mail_refused(struct smtp_session *s);
void smtp_checks_tx_begin(struct smtp_session *s);
void smtp_checks_tx_reset(struct smtp_session *s);

/* DATA accepted so far: true when the command waits for SPF ([mailauth]
 * spf_fail = reject); cont(s, reply) follows with the 550 5.7.23 line or
 * NULL to go on. */
typedef void smtp_checks_cont_fn(struct smtp_session *s, const char *reject);
bool smtp_checks_before_data(struct smtp_session *s, smtp_checks_cont_fn *cont);

/* The message starts: true when the checks take its bytes (then every
 * chunk goes to smtp_checks_feed, which hands the stored copy to out). */
bool smtp_checks_data_begin(struct smtp_session *s, authres_out_fn *out, void *ctx);
void smtp_checks_feed(struct smtp_session *s, const char *data, size_t len);
/* The reader found the end: the filter lets go of what it held. */
void smtp_checks_data_end(struct smtp_session *s);
/* Bytes the checks may add in front of the stored message (headroom of
 * the spool beyond max_message_size). */
size_t smtp_checks_headroom(const struct smtp_session *s);

struct smtp_check_result {
	const char *reject;          /* the reply instead of a delivery, or NULL */
	const char *headers;         /* lines to prepend (CRLF), or NULL */
	bool junk;                   /* file into the \Junk mailbox */
	struct store_spam spam;      /* store_append_meta.spam */
};
/* Valid during the call only. */
typedef void smtp_checks_done_fn(struct smtp_session *s, const struct smtp_check_result *r);
/* The message is spooled and its sink flushed: finish the sender checks,
 * ask rspamd, then done (at once when there is nothing to check). The
 * session waits meanwhile. */
void smtp_checks_end(struct smtp_session *s, smtp_checks_done_fn *done);

#endif
