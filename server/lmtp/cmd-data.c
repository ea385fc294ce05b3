/* DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), and what follows them: the
 * message streams through the data reader (dot-unstuffing, line length,
 * bare LF/CR, NUL, SIZE) into a session sink whose pool thread writes the
 * spool (delivery.h), behind the trace header lines (headers.h), and through
 * the checks (checks.h: sender checks, forged Authentication-Results
 * dropped). At the end the sink is flushed, the checks give their verdict
 * (a refusal, or header lines, \Junk and rspamd's verdict for the index),
 * the delivery step runs on the storage pool (one
 * spool sync, a link and a group commit per recipient) and only then come
 * the replies: LMTP one per accepted recipient in RCPT order (RFC 2033
 * 4.2), SMTP one for the message. Delivery status notifications (dsn.h)
 * are handed to the pool before the replies go out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/engine/sink.h"
#include "server/lmtp/checks.h"
#include "server/lmtp/dsn.h"
#include "server/lmtp/headers.h"
#include "server/lmtp/session.h"
#include "server/services.h"
#include "server/spam/spam.h"

#define SINK_CHUNK 65536
/* Input handed to the reader at once; its output is at most twice as long
 * (a bare LF becomes CRLF) plus a held-back ".\r", plus what the
 * Authentication-Results filter held back (a field's name and lookahead). */
#define FEED_MAX 32768
#define OVERFLOW_MAX (2 * FEED_MAX + 2 * AUTHRES_LOOKAHEAD + 256)

/* ---- the message stream ---- */

static int sink_write(void *target, const void *data, size_t len)
{
	return delivery_msg_write(target, data, len);
}

/* Reader output into the sink; what it cannot take waits in overflow. */
static int reader_sink(void *ctx, const char *data, size_t len)
{
	struct smtp_tx *tx = ((struct smtp_session *)ctx)->tx;
	if (tx->overflow_len == 0) {
		size_t n = sess_sink_feed(tx->sink, data, len);
		data += n;
		len -= n;
	}
	if (len == 0)
		return 0;
	if (tx->overflow_len + len > OVERFLOW_MAX)
		return LOFT_EIO;   /* cannot happen: FEED_MAX bounds the output */
	if (tx->overflow == NULL)
		tx->overflow = xmalloc(OVERFLOW_MAX);   /* rarely: see smtp_data_input */
	memcpy(tx->overflow + tx->overflow_len, data, len);
	tx->overflow_len += len;
	return 0;
}

static void filtered_out(void *ctx, const char *data, size_t len)
{
	(void)reader_sink(ctx, data, len);
}

/* The message as the reader gives it: through the checks when they run. */
static int reader_out(void *ctx, const char *data, size_t len)
{
	struct smtp_session *s = ctx;
	if (s->tx->checked) {
		smtp_checks_feed(s, data, len);
		return 0;
	}
	return reader_sink(ctx, data, len);
}

static void sink_has_room(void *arg)
{
	struct smtp_session *s = arg;
	if (s->wait == SMTP_WAIT_SINK)
		smtp_wait_done(s);
}

/* Open the message: trace headers, spool, sink, reader. */
static void start_message(struct smtp_session *s)
{
	const struct loft_config *cfg = smtp_config(s);
	struct smtp_tx *tx = s->tx;
	bool one = tx->n_rcpts == 1;
	char host[256];
	snprintf(host, sizeof(host), "%s", smtp_hostname(s));
	struct trace_info t = {
		.eol = "\r\n",
		.delivered_to = one ? tx->rcpts[0].address : NULL,
		.return_path = tx->sender,
		.by_host = host,
		.helo = s->helo,
		.client = conn_remote_ip(s->conn),
		.protocol = trace_protocol(s->lmtp, s->esmtp, conn_is_tls(s->conn), s->authenticated,
					   tx->smtputf8),
		.id = tx->id,
		.for_rcpt = one ? tx->rcpts[0].address : NULL,
		.when = time(NULL),
	};
	size_t hlen, plen = 0;
	char *headers = trace_headers(&t, &hlen);
	if (!one && cfg->delivered_to == CONF_DELIVERED_TO_ALWAYS) {
		for (size_t i = 0; i < tx->n_rcpts; i++) {
			struct smtp_rcpt *r = &tx->rcpts[i];
			r->prefix = xasprintf("Delivered-To: %s\r\n", r->address);
			if (strlen(r->prefix) > plen)
				plen = strlen(r->prefix);
		}
	}
	tx->msg = delivery_msg_new(smtp_services(s)->store, hlen + plen + smtp_checks_headroom(s));
	tx->sink = sess_sink_create(&s->core, smtp_services(s)->storage_pool, SINK_CHUNK,
				    sink_write, tx->msg);
	sess_sink_on_space(tx->sink, sink_has_room, s);
	struct data_reader_limits lim;
	data_reader_limits_from_config(cfg, tx->declared_size, &lim);
	data_reader_init(&tx->reader, &lim, reader_out, s);
	tx->checked = smtp_checks_data_begin(s, filtered_out, s);
	reader_sink(s, headers, hlen);
	free(headers);
}

/* Feed the overflow to the sink; false while some is left. */
static bool drain_overflow(struct smtp_tx *tx)
{
	if (tx->overflow_len == 0)
		return true;
	size_t n = sess_sink_feed(tx->sink, tx->overflow, tx->overflow_len);
	memmove(tx->overflow, tx->overflow + n, tx->overflow_len - n);
	tx->overflow_len -= n;
	return tx->overflow_len == 0;
}

/* A failed message: the reader's reply, for each recipient on LMTP. */
static void fail_message(struct smtp_session *s, const char *line)
{
	struct smtp_tx *tx = s->tx;
	conn_info(s->conn, "message refused id=%s: %s", tx->id, line);
	if (s->lmtp) {
		for (size_t i = 0; i < tx->n_rcpts; i++)
			smtp_reply(s, atoi(line), "%.5s <%s>: %s", line + 4, tx->rcpts[i].address,
				   line + 10);
	} else {
		smtp_reply_line(s, line);
	}
	smtp_tx_reset(s);
}

/* ---- delivery ---- */

struct deliver_job {
	struct sess_job job;         /* first: the job is the struct */
	struct smtp_tx *tx;          /* the loop leaves it alone meanwhile */
	struct work_pool *pool;
	bool quota_tempfail;
	struct delivery_rcpt *d;
	size_t n;
	bool plus;                   /* plus-addressing on */
	/* delivery status notifications: copies, the session may go */
	bool dsn;
	struct dsn_relay relay;
	char *hostname;
	bool some_ok, some_failed;
	/* what the checks decided (checks.h) */
	char *headers;               /* prepended to every copy, or NULL */
	bool junk;                   /* into each user's \Junk mailbox */
	struct store_spam spam;
	char **prefixes, **junk_boxes;   /* per recipient, owned */
};

static bool wants_success(const struct smtp_rcpt *r)
{
	return (r->notify & SMTP_NOTIFY_SUCCESS) != 0;
}

static bool wants_failure(const struct smtp_rcpt *r)
{
	return r->notify == 0 || (r->notify & SMTP_NOTIFY_FAILURE) != 0;
}

/* On the pool: the reports the delivery calls for. */
static void send_reports(struct smtp_tx *tx, struct deliver_job *j)
{
	struct dsn_rcpt *list = xcalloc(tx->n_rcpts, sizeof(*list));
	for (int failed = 0; failed < 2; failed++) {
		/* failures are reported only where the reply said 250 */
		if (failed && !(j->some_ok && j->some_failed))
			continue;
		size_t n = 0;
		for (size_t i = 0; i < tx->n_rcpts; i++) {
			const struct smtp_rcpt *r = &tx->rcpts[i];
			bool ok = j->d[i].result == STORE_OK;
			if (ok == (bool)failed || !(failed ? wants_failure(r) : wants_success(r)))
				continue;
			list[n++] = (struct dsn_rcpt){
				.address = r->address, .orcpt = r->orcpt,
				.action = failed ? DSN_FAILED : DSN_DELIVERED,
				.reply = delivery_rcpt_reply(&j->d[i], j->quota_tempfail),
			};
		}
		if (n == 0)
			continue;
		struct dsn_report rep = {
			.hostname = j->hostname, .sender = tx->sender, .envid = tx->envid,
			.arrival = tx->started, .utf8 = tx->smtputf8,
			.full = failed && tx->ret == SMTP_RET_FULL, .rcpts = list, .n_rcpts = n,
		};
		dsn_submit(j->pool, &j->relay, &rep, delivery_msg_open(tx->msg));
	}
	free(list);
}

/* On the pool: the user's \Junk mailbox (heap), or NULL for INBOX. */
static char *junk_mailbox(struct store *store, const char *user)
{
	struct store_user *u = NULL;
	char *name = NULL;
	if (store_user_attach(store, user, &u) == STORE_OK)
		spam_junk_mailbox(u, &name);
	store_user_close(&u);
	return name;
}

static void deliver_work(struct sess_job *job)
{
	struct deliver_job *j = (struct deliver_job *)job;
	struct smtp_tx *tx = j->tx;
	for (size_t i = 0; i < j->n; i++) {
		const struct smtp_rcpt *r = &tx->rcpts[i];
		const char *prefix = r->prefix, *mailbox = j->plus ? r->detail : NULL;
		if (j->headers != NULL)
			prefix = j->prefixes[i] = xasprintf("%s%s", j->headers,
							    r->prefix ? r->prefix : "");
		if (j->junk)
			mailbox = j->junk_boxes[i] = junk_mailbox(tx->msg->store, r->user);
		j->d[i] = (struct delivery_rcpt){
			.user = r->user, .mailbox = mailbox, .fallback = true,
			.fallback_invalid = true,
			.prefix = prefix, .prefix_len = prefix ? strlen(prefix) : 0,
			.fields = &r->quota, .address = r->address, .orcpt = r->orcpt,
		};
	}
	struct store_append_meta base = { .spam = j->spam };
	delivery_run(tx->msg, j->d, j->n, &base);
	for (size_t i = 0; i < j->n; i++) {
		j->some_ok |= j->d[i].result == STORE_OK;
		j->some_failed |= j->d[i].result != STORE_OK;
	}
	if (j->dsn && tx->sender[0] != '\0')
		send_reports(tx, j);
	delivery_msg_free(&tx->msg);
}

static void deliver_job_free(struct deliver_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->prefixes[i]);
		free(j->junk_boxes[i]);
	}
	free(j->prefixes);
	free(j->junk_boxes);
	free(j->headers);
	free(j->d);
	free((char *)j->relay.host);
	free(j->hostname);
	free(j);
}

static void log_results(struct smtp_session *s, const struct deliver_job *j)
{
	struct smtp_tx *tx = s->tx;
	for (size_t i = 0; i < j->n; i++) {
		const struct delivery_rcpt *d = &j->d[i];
		const char *mailbox = d->to_inbox || d->mailbox == NULL ? "INBOX" : d->mailbox;
		if (d->result == STORE_OK)
			conn_info(s->conn, "delivered id=%s from=<%s> rcpt=<%s> user=%s mailbox=%s "
				  "uid=%u", tx->id, tx->sender, tx->rcpts[i].address, d->user,
				  mailbox, d->uid);
		else
			conn_warn(s->conn, "delivery failed id=%s rcpt=<%s> user=%s mailbox=%s: %s",
				  tx->id, tx->rcpts[i].address, d->user, mailbox,
				  delivery_strerror(d->result));
	}
}

static void deliver_done(struct sess_job *job)
{
	struct smtp_session *s = (struct smtp_session *)job->core;
	struct deliver_job *j = (struct deliver_job *)job;
	if (!sess_alive(&s->core)) {
		deliver_job_free(j);
		return;
	}
	const struct loft_config *cfg = smtp_config(s);
	struct smtp_tx *tx = s->tx;
	conn_cork(s->conn);
	log_results(s, j);
	if (s->lmtp) {
		for (size_t i = 0; i < j->n; i++) {
			const char *line = delivery_rcpt_reply(&j->d[i], cfg->quota_full_tempfail);
			if (j->d[i].result == STORE_OK)
				smtp_reply(s, 250, "2.0.0 <%s> Delivered", tx->rcpts[i].address);
			else
				smtp_reply(s, atoi(line), "%.5s <%s>: %s", line + 4,
					   tx->rcpts[i].address, line + 10);
		}
	} else if (!j->some_failed) {
		smtp_reply(s, 250, "2.0.0 Delivered, id %s", tx->id);
	} else if (!j->some_ok) {
		smtp_reply_line(s, delivery_rcpt_reply(&j->d[0], cfg->quota_full_tempfail));
	} else if (j->dsn && tx->sender[0] != '\0') {
		smtp_reply(s, 250, "2.0.0 Delivered to some recipients, the sender is notified of "
			   "the others, id %s", tx->id);
	} else {
		/* No way to report the failed ones: the sender must retry them,
		 * and the others may get the message twice (never lose it). */
		smtp_reply(s, 451, "4.3.0 Not delivered to every recipient, try again later");
	}
	deliver_job_free(j);
	smtp_tx_reset(s);
	if (conn_server_stopping(s->conn)) {
		conn_printf(s->conn, "421 4.3.2 %s Server shutting down\r\n", smtp_hostname(s));
		smtp_enter_state(s, SMTP_STATE_LOGOUT);
		conn_close(s->conn, "server shutdown");
	}
	smtp_wait_done(s);
	conn_uncork(s->conn);
}

static void deliver(struct smtp_session *s, const struct smtp_check_result *r)
{
	const struct loft_config *cfg = smtp_config(s);
	struct smtp_tx *tx = s->tx;
	struct deliver_job *j = xcalloc(1, sizeof(*j));
	j->n = tx->n_rcpts;
	j->d = xcalloc(j->n, sizeof(*j->d));
	j->headers = r->headers != NULL ? xstrdup(r->headers) : NULL;
	j->junk = r->junk;
	j->spam = r->spam;
	j->prefixes = xcalloc(j->n, sizeof(*j->prefixes));
	j->junk_boxes = xcalloc(j->n, sizeof(*j->junk_boxes));
	j->plus = cfg->plus_addressing;
	j->dsn = !s->lmtp && cfg->smtp_dsn_relay_host != NULL;
	if (j->dsn) {
		j->relay = (struct dsn_relay){
			.host = xstrdup(cfg->smtp_dsn_relay_host), .port = cfg->smtp_dsn_relay_port,
			.timeout_ms = cfg->smtp_dsn_timeout_ms,
		};
	}
	j->hostname = xstrdup(smtp_hostname(s));
	j->relay.helo = j->hostname;
	j->tx = tx;
	j->pool = smtp_services(s)->storage_pool;
	j->quota_tempfail = cfg->quota_full_tempfail;
	/* Sieve at delivery (delivery.h): a reject is LMTP's per recipient,
	 * SMTP's for the message */
	tx->msg->sieve = smtp_services(s)->sieve;
	tx->msg->mail_from = tx->sender;
	tx->msg->refuse = s->lmtp ? DELIVERY_REFUSE_RCPT : DELIVERY_REFUSE_MESSAGE;
	j->job.work = deliver_work;
	j->job.done = deliver_done;
	smtp_wait(s, SMTP_WAIT_JOB);
	sess_submit(&s->core, smtp_services(s)->storage_pool, &j->job);
}

/* The checks are done: refuse the message or deliver it. */
static void checked(struct smtp_session *s, const struct smtp_check_result *r)
{
	if (r->reject == NULL) {
		deliver(s, r);
		return;
	}
	fail_message(s, r->reject);
	smtp_wait_done(s);
}

/* The sink wrote the last bytes (or failed). */
static void flushed(void *arg, int err)
{
	struct smtp_session *s = arg;
	if (!sess_alive(&s->core))
		return;   /* the transaction goes with the session */
	if (err != 0) {
		conn_cork(s->conn);
		fail_message(s, delivery_reply(err, smtp_config(s)->quota_full_tempfail));
		smtp_wait_done(s);
		conn_uncork(s->conn);
		return;
	}
	smtp_checks_end(s, checked);
}

/* The reader found the end and the sink took everything: flush, deliver. */
static void finish_message(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct sess_sink *sink = tx->sink;
	tx->sink = NULL;
	smtp_wait(s, SMTP_WAIT_FLUSH);
	sess_sink_finish(sink, false, flushed, s);
}

/* A BDAT chunk that is not the last one was read. */
static void chunk_done(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	enum data_error e = data_reader_error(&tx->reader);
	if (e != DATA_ERR_NONE) {
		/* RFC 3030 3: the transaction has failed; later chunks fail */
		fail_message(s, data_error_reply(e));
		return;
	}
	smtp_enter_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, 250, "2.0.0 %llu octets received", (unsigned long long)tx->chunk);
}

/* BDAT bytes with no transaction to take them. */
static bool discard_input(struct smtp_session *s)
{
	const char *data;
	size_t len;
	conn_input(s->conn, &data, &len);
	size_t n = len < s->discard_left ? len : (size_t)s->discard_left;
	conn_consume(s->conn, n);
	s->discard_left -= n;
	if (s->discard_left > 0)
		return false;
	s->discarding = false;
	smtp_enter_state(s, s->discard_state);
	smtp_reply_line(s, s->discard_reply);
	return true;
}

bool smtp_data_input(struct smtp_session *s)
{
	if (s->discarding)
		return discard_input(s);
	struct smtp_tx *tx = s->tx;
	if (!drain_overflow(tx)) {
		smtp_wait(s, SMTP_WAIT_SINK);
		return false;
	}
	if (tx->complete) {
		finish_message(s);
		return false;
	}
	if (sess_sink_room(tx->sink) == 0) {
		smtp_wait(s, SMTP_WAIT_SINK);
		return false;
	}
	const char *data;
	size_t len, consumed;
	conn_input(s->conn, &data, &len);
	/* what the sink can take as it is (output is at most twice the
	 * input, plus a held-back ".\r"): the overflow is for the odd case */
	size_t room = sess_sink_room(tx->sink);
	size_t give = len < FEED_MAX ? len : FEED_MAX;
	if (room > 64 && room / 2 - 8 < give)
		give = room / 2 - 8;
	enum data_result r = data_reader_feed(&tx->reader, data, give, &consumed);
	conn_consume(s->conn, consumed);
	if (r == DATA_NEED_MORE)
		return consumed > 0;
	if (r == DATA_CHUNK_DONE) {
		chunk_done(s);
		return true;
	}
	enum data_error e = data_reader_error(&tx->reader);
	if (e != DATA_ERR_NONE) {
		fail_message(s, data_error_reply(e));
		return true;
	}
	smtp_checks_data_end(s);   /* may add to the overflow */
	tx->complete = true;
	return true;   /* the next round drains and finishes */
}

/* ---- the commands ---- */

static void data_go_on(struct smtp_session *s, const char *reject);

void smtp_cmd_data(struct smtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len != 0) {
		smtp_reply(s, 501, "5.5.4 Syntax: DATA");
		return;
	}
	if (s->tx == NULL) {
		smtp_reply(s, 503, "5.5.1 Need MAIL command first");
		return;
	}
	if (s->tx->bdat) {
		smtp_reply(s, 503, "5.5.1 DATA cannot follow BDAT");
		return;
	}
	if (s->tx->n_rcpts == 0) {
		smtp_reply(s, 554, "5.5.1 No valid recipients");
		return;
	}
	if (!smtp_checks_before_data(s, data_go_on))
		data_go_on(s, NULL);
}

/* DATA accepted, or refused for a failed SPF check. */
static void data_go_on(struct smtp_session *s, const char *reject)
{
	if (reject != NULL) {
		smtp_reply_line(s, reject);
		smtp_tx_reset(s);
		return;
	}
	start_message(s);
	data_reader_begin_dot(&s->tx->reader);
	smtp_enter_state(s, SMTP_STATE_DATA);
	conn_set_timeout(s->conn, smtp_config(s)->data_timeout_ms);
	smtp_reply(s, 354, "End data with <CR><LF>.<CR><LF>");
}

/* "n" or "n LAST"; false when the arguments are not that. */
static bool parse_bdat(const char *args, size_t len, uint64_t *n_r, bool *last_r)
{
	size_t i = 0;
	uint64_t n = 0;
	for (; i < len && args[i] >= '0' && args[i] <= '9'; i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(args[i] - '0');
	}
	if (i == 0)
		return false;
	*n_r = n;
	*last_r = false;
	if (i == len)
		return true;
	if (len - i == 5 && args[i] == ' ' && strncasecmp(args + i + 1, "LAST", 4) == 0) {
		*last_r = true;
		return true;
	}
	return false;
}

void smtp_cmd_bdat(struct smtp_session *s, const char *args, size_t len)
{
	uint64_t n;
	bool last;
	if (!parse_bdat(args, len, &n, &last)) {
		smtp_reply(s, 501, "5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	const char *refuse = NULL;
	if (s->state == SMTP_STATE_GREETED)
		refuse = s->lmtp ? "503 5.5.1 Send LHLO first" : "503 5.5.1 Send EHLO or HELO first";
	else if (s->tx == NULL)
		refuse = "503 5.5.1 Need MAIL command first";
	else if (s->tx->n_rcpts == 0)
		refuse = "554 5.5.1 No valid recipients";
	if (refuse != NULL) {
		/* the chunk's bytes are read (and dropped) before the reply */
		snprintf(s->discard_reply, sizeof(s->discard_reply), "%s", refuse);
		s->discard_left = n;
		s->discarding = true;
		s->discard_state = s->state;
		smtp_enter_state(s, SMTP_STATE_BDAT);
		return;
	}
	if (!s->tx->bdat) {
		start_message(s);
		s->tx->bdat = true;
	}
	s->tx->chunk = n;
	data_reader_begin_chunk(&s->tx->reader, n, last);
	smtp_enter_state(s, SMTP_STATE_BDAT);
	conn_set_timeout(s->conn, smtp_config(s)->data_timeout_ms);
}
