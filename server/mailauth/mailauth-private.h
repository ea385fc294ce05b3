/* Internal to the mailauth driver: the structures mailauth.c (lookups,
 * timers, life) and mailauth-report.c (verdicts and header fields) share. */
#ifndef LOFT_MAILAUTH_PRIVATE_H
#define LOFT_MAILAUTH_PRIVATE_H

#include <uv.h>

#include "server/mailauth/dnsbl.h"
#include "server/mailauth/hdr-block.h"
#include "server/mailauth/mailauth.h"

struct mailauth_env {
	bool run_spf, run_dkim, run_dmarc;
	bool on_lmtp;
	char *authserv_id;
	unsigned timeout_ms;
	int spf_fail_action;               /* enum conf_auth_action */
	unsigned spf_lookup_limit, spf_void_limit;
	struct dkim_limits dkim;           /* now set per message */
	size_t max_header;
	int dmarc_reject_action, dmarc_quarantine_action;
	struct dmarc_psl *psl;
	char **zones;
	size_t n_zones;
	int dnsbl_action;
	struct dns_config dns;
};

/* A libuv timer owned by a conn or tx; freed in its close callback so the
 * owner may go at once. */
struct ma_timer {
	uv_timer_t h;
	void (*fn)(void *owner);
	void *owner;
};

/* One outstanding lookup. */
struct ma_pending {
	struct dns_query *q;
	void *owner;
	size_t i;
	bool done;
};

struct mailauth_conn {
	const struct mailauth_env *env;
	uv_loop_t *loop;
	struct dns_resolver *dns;
	struct spf_ip ip;
	bool ip_ok;
	char *ip_text;
	char *receiver;
	char *helo;
	struct ma_pending *bl;             /* one per zone */
	size_t bl_left;
	bool bl_done;
	bool listed;
	const char *listed_zone;
	char listed_code[20];
	char *bl_reply;
	mailauth_cb *bl_cb;
	void *bl_arg;
	struct ma_timer *tick;
};

struct mailauth_tx {
	struct mailauth_conn *c;
	const struct mailauth_env *env;
	char *mail_from;

	struct spf_eval *spf;
	struct ma_pending spf_q;
	bool spf_done;
	mailauth_cb *spf_cb;
	void *spf_arg;

	struct hdr_block *hdr;
	struct dkim_verifier *dkim;
	struct ma_pending *keys;
	size_t n_keys, keys_left;
	struct dmarc_from from;
	struct dmarc_eval **dm;
	struct ma_pending *dmq;
	size_t n_dm, dm_left;

	bool header_done, ended, finished;
	mailauth_cb *end_cb;
	void *end_arg;
	struct ma_timer *wait;             /* [mailauth] timeout */
	struct ma_timer *tick;             /* callbacks, one per loop turn */

	struct mailauth_results res;
	const struct dkim_sig_result **dkim_res;
	const struct dmarc_result **dm_res;
	char *reply;                       /* a REJECT reply */
	char *spf_reply;                   /* "550 5.7.23 ..." */
	enum mailauth_verdict verdict;
};

/* mailauth-report.c: fill tx->verdict / tx->reply from the results. */
void mailauth_decide(struct mailauth_tx *tx);
/* The reply to an SPF fail (kept in tx->spf_reply). */
const char *mailauth_spf_reply(struct mailauth_tx *tx);

#endif
