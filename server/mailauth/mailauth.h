/* Sender authentication of mail received over SMTP (and LMTP if
 * configured): the one header the SMTP session includes. It runs the
 * checks of issue 23 on the session's loop, asynchronously, with the
 * loop's DNS resolver (server/dns/dns.h):
 *
 *   at connect      mailauth_conn_new(), mailauth_dnsbl_start(): DNS
 *                   blocklists of the client address
 *   HELO/EHLO       mailauth_conn_set_helo()
 *   MAIL FROM       mailauth_tx_begin(): SPF of the reverse-path (of the
 *                   HELO name when the path is null) starts at once
 *   DATA command    optionally mailauth_tx_on_spf(): reject an SPF fail
 *                   (550 5.7.23) before the message is sent
 *   DATA bytes      mailauth_tx_feed(), a data_sink_fn: the header block
 *                   is kept (bounded), DKIM key and DMARC record lookups
 *                   start when it ends, the body is hashed as it streams
 *   end of DATA     mailauth_tx_end(): the callback runs when every check
 *                   is done or [mailauth] timeout has passed (what is not
 *                   done is a temperror); then mailauth_tx_verdict() and
 *                   mailauth_tx_header() (Authentication-Results, to be
 *                   prepended; run the stored copy through an
 *                   authres_filter to drop forged ones, authres.h)
 *
 * Results follow RFC 7208, 6376, 7489 and 8601; the actions come from the
 * [mailauth] settings: SPF fail tag or 550 5.7.23, DMARC p=reject and
 * p=quarantine each reject (550 5.7.1), quarantine (the Junk folder) or
 * tag, blocklisted clients 554 5.7.1 or a header.
 *
 * Threads: a mailauth_env is made on the main thread (it reads the Public
 * Suffix List) and then shared read-only by every loop; everything else
 * belongs to the loop thread of the session that made it. Callbacks never
 * run inside the call that asked for them. Freeing a conn or tx cancels
 * its lookups and callbacks at any time. */
#ifndef LOFT_MAILAUTH_MAILAUTH_H
#define LOFT_MAILAUTH_MAILAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "server/mailauth/dkim.h"
#include "server/mailauth/dmarc.h"
#include "server/mailauth/spf.h"

struct uv_loop_s;
struct msg_buf;

/* ---- per configuration ---- */

struct mailauth_env;
/* Blocking (reads [mailauth] public_suffix_file): at start and on reload.
 * Returns 0, or LOFT_EIO/LOFT_EINVAL with a heap message in *err_r. */
int mailauth_env_new(const struct loft_config *cfg, struct mailauth_env **env_r, char **err_r);
void mailauth_env_free(struct mailauth_env **env);
/* Whether sessions of protocol p run the checks (SMTP when [mailauth]
 * checks is not empty; LMTP only with on_lmtp). */
bool mailauth_env_enabled(const struct mailauth_env *env, enum conf_proto p);
bool mailauth_env_dnsbl(const struct mailauth_env *env);
const char *mailauth_env_authserv_id(const struct mailauth_env *env);

/* What the session does with the message or client. */
enum mailauth_verdict {
	MAILAUTH_ACCEPT,      /* deliver (to the inbox) */
	MAILAUTH_JUNK,        /* deliver to the Junk folder (DMARC quarantine) */
	MAILAUTH_REJECT,      /* refuse with the reply given */
};
const char *mailauth_verdict_name(enum mailauth_verdict v);

typedef void mailauth_cb(void *arg);

/* ---- per connection ---- */

struct mailauth_conn;
/* client_ip: the connecting address ("192.0.2.1", "2001:db8::1");
 * receiver: our host name for SPF's %{r}. NULL (logged in *err_r) when
 * the loop's resolver could not be made. */
struct mailauth_conn *mailauth_conn_new(const struct mailauth_env *env,
					struct uv_loop_s *loop, const char *client_ip,
					const char *receiver, char **err_r);
void mailauth_conn_free(struct mailauth_conn **c);
void mailauth_conn_set_helo(struct mailauth_conn *c, const char *helo);

/* Ask every [mailauth] dnsbl_zones zone about the client; cb runs when all
 * have answered (at once, i.e. on the next loop turn, without zones). */
void mailauth_dnsbl_start(struct mailauth_conn *c, mailauth_cb *cb, void *arg);
/* After the callback: REJECT with "554 5.7.1 ..." when listed and the
 * action is reject; ACCEPT otherwise (a listing to tag goes into the
 * header of every message of the connection). */
enum mailauth_verdict mailauth_dnsbl_verdict(const struct mailauth_conn *c,
					     const char **reply_r);

/* ---- per transaction (MAIL FROM .. end of DATA) ---- */

struct mailauth_tx;
/* mail_from: the reverse-path without <> ("" for the null path). The conn
 * must outlive the tx. */
struct mailauth_tx *mailauth_tx_begin(struct mailauth_conn *c, const char *mail_from);
void mailauth_tx_free(struct mailauth_tx **tx);
/* cb when SPF is done (bounded by [mailauth] timeout from this call). */
void mailauth_tx_on_spf(struct mailauth_tx *tx, mailauth_cb *cb, void *arg);
/* After the SPF callback: REJECT "550 5.7.23 ..." for a fail with
 * spf_fail = reject; ACCEPT otherwise. */
enum mailauth_verdict mailauth_tx_spf_verdict(const struct mailauth_tx *tx,
					      const char **reply_r);
/* The message as the DATA reader gives it (dot-unstuffed, CRLF). Same
 * signature as data_sink_fn (server/net/data-reader.h); returns 0. */
int mailauth_tx_feed(void *tx, const char *data, size_t len);
/* End of the message: cb when every check is done. */
void mailauth_tx_end(struct mailauth_tx *tx, mailauth_cb *cb, void *arg);

/* After the end callback. */
struct mailauth_results {
	bool spf_checked;
	enum spf_result spf;
	bool spf_helo;                 /* the null path: the HELO identity */
	const char *spf_identity;      /* "user@domain" or the HELO name */
	const char *spf_domain;
	const char *spf_reason;
	const char *spf_explanation;   /* exp= of a fail, or NULL */
	bool dkim_checked;
	size_t n_dkim;
	const struct dkim_sig_result *const *dkim;
	bool dmarc_checked;
	unsigned from_fields;          /* From: fields in the header */
	const char *dmarc_problem;     /* no usable From: domain, or NULL */
	size_t n_dmarc;
	const struct dmarc_result *const *dmarc;
	bool dnsbl_listed;
	const char *dnsbl_zone;
};
const struct mailauth_results *mailauth_tx_results(const struct mailauth_tx *tx);
/* The action: REJECT with the reply (no CRLF), JUNK or ACCEPT. */
enum mailauth_verdict mailauth_tx_verdict(const struct mailauth_tx *tx, const char **reply_r);
/* Append the header fields to prepend: Authentication-Results, and
 * X-Loft-DNSBL when the client is listed and the action is tag. */
void mailauth_tx_header(const struct mailauth_tx *tx, struct msg_buf *out);

#endif
