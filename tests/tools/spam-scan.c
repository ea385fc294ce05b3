/* Drives the rspamd client (server/spam/) the way delivery and IMAP will,
 * for the end-to-end tests against a real rspamd (tests/e2e/test_spam.py)
 * while the SMTP session is being rewritten:
 *
 *   spam-scan -c CONFIG [options] scan FILE...
 *       scan each message (from its file, or streamed in chunks with
 *       --stream) and print one line per message:
 *         file=F outcome=deliver|reject|tempfail junk=0|1 scanned=0|1
 *         action=A score=S required=R fail=KIND elapsed_ms=N reply=TEXT
 *       followed by "  | header line" for each header to prepend.
 *       --deliver USER   also deliver what is delivered into USER's store
 *                        (mail_dir of CONFIG; initial_mailboxes made
 *                        first): Junk when decided so, else INBOX, with the
 *                        headers prepended and the verdict as
 *                        store_append_meta.spam; prints
 *                        "delivered mailbox=M uid=N spamtest=T"
 *       --proto smtp|lmtp (default smtp), --ip, --helo, --from, --rcpt
 *       (repeatable), --user, --spf/--dkim DOMAIN:RESULT/--dmarc RESULT
 *   spam-scan -c CONFIG learn spam|ham USER FILE...
 *       submit each file to the learner, wait until the queue is empty
 *       (at most --wait seconds) and print the learn counters:
 *         learned=N retried=N failed=N dropped=N
 *   spam-scan -c CONFIG verdict USER MAILBOX UID
 *       print the verdict stored with a message: "verdict=V action=A
 *       score_milli=S required_milli=R spamtest=T percent=P"
 * Exit 0 when every step ran (whatever rspamd said), 1 on errors. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "conf/config.h"
#include "conf/mailboxes.h"
#include "lib/xmem.h"
#include "server/spam/learn.h"
#include "server/spam/spam.h"
#include "server/spam/stats.h"
#include "server/store-config.h"

#define MAX_RCPT 16

struct opts {
	const char *config;
	enum conf_proto proto;
	bool stream;
	const char *deliver;
	struct spam_envelope env;
	const char *rcpts[MAX_RCPT];
	struct spam_auth auth;
	struct spam_dkim dkim[4];
	unsigned wait_s;
};

struct job {
	const char *file;
	char *data;          /* --stream: the whole file */
	size_t len, fed;
	int fd;
	struct spam_scan *scan;
	struct spam_decision d;
	bool done;
};

static void on_done(void *arg, struct spam_decision *d)
{
	struct job *j = arg;
	j->d = *d;
	d->headers = NULL;   /* kept by the job */
	j->done = true;
	j->scan = NULL;
}

static void feed_more(void *arg)
{
	struct job *j = arg;
	while (j->scan != NULL && j->fed < j->len) {
		size_t chunk = j->len - j->fed < 1000 ? j->len - j->fed : 1000;
		size_t n = spam_scan_feed(j->scan, j->data + j->fed, chunk);
		j->fed += n;
		if (n == 0) {
			spam_scan_on_room(j->scan, feed_more, j);
			return;
		}
	}
	if (j->scan != NULL)
		spam_scan_end(j->scan);
}

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = xmalloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	fclose(f);
	*len_r = len;
	return buf;
}

/* Action names as one word ("no action" -> "no_action"). */
static const char *action_word(enum spam_action a)
{
	static char buf[SPAM_ACTIONS][32];
	const char *n = spam_action_name(a);
	char *w = buf[(unsigned)a < SPAM_ACTIONS ? a : SPAM_ACTION_UNKNOWN];
	snprintf(w, 32, "%s", n);
	for (char *p = w; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
	return w;
}

static const char *outcome_name(enum spam_outcome o)
{
	return o == SPAM_REJECT ? "reject" : o == SPAM_TEMPFAIL ? "tempfail" : "deliver";
}

static int deliver(const struct loft_config *cfg, struct store_user *user, struct job *j)
{
	char *mailbox = NULL;
	int err = j->d.junk ? spam_junk_mailbox(user, &mailbox) : STORE_OK;
	if (err != STORE_OK)
		return err;
	struct store_append *app = NULL;
	err = store_append_begin(user, mailbox != NULL ? mailbox : "INBOX", &app);
	size_t len = 0;
	char *body = err == STORE_OK ? read_file(j->file, &len) : NULL;
	if (err == STORE_OK && j->d.headers != NULL)
		err = store_append_write(app, j->d.headers, strlen(j->d.headers));
	if (err == STORE_OK)
		err = body != NULL ? store_append_write(app, body, len) : STORE_EIO;
	uint32_t uid = 0;
	if (err == STORE_OK) {
		struct store_append_meta meta = { .spam = j->d.store };
		err = store_append_commit(&app, &meta, &uid, NULL);
	} else if (app != NULL) {
		store_append_abort(&app);
	}
	if (err == STORE_OK)
		printf("delivered mailbox=%s uid=%u spamtest=%d\n", mailbox ? mailbox : "INBOX",
		       uid, spam_sieve_spamtest(&j->d.store));
	free(body);
	free(mailbox);
	(void)cfg;
	return err;
}

static int open_user(const struct loft_config *cfg, const char *name, struct store **store_r,
		     struct store_user **user_r)
{
	struct store_settings set;
	store_config_settings(cfg, false, &set);
	int err = store_create(&set, store_r);
	if (err == STORE_OK)
		err = store_user_open(*store_r, name, user_r);
	if (err != STORE_OK)
		return err;
	struct conf_mailbox *list = NULL;
	size_t n = 0;
	char *why = NULL;
	if (conf_mailboxes_parse(cfg->initial_mailboxes, &list, &n, &why) != 0) {
		free(why);
		return STORE_EINVALID;
	}
	struct store_initial_mailbox *im = xcalloc(n ? n : 1, sizeof(*im));
	for (size_t i = 0; i < n; i++) {
		im[i].name = list[i].name;
		im[i].special_use = list[i].use == NULL ? 0
				    : strcmp(list[i].use, "\\Junk") == 0 ? STORE_SPECIAL_JUNK
				    : strcmp(list[i].use, "\\Trash") == 0 ? STORE_SPECIAL_TRASH
				    : strcmp(list[i].use, "\\Sent") == 0 ? STORE_SPECIAL_SENT
				    : strcmp(list[i].use, "\\Drafts") == 0 ? STORE_SPECIAL_DRAFTS
				    : strcmp(list[i].use, "\\Archive") == 0 ? STORE_SPECIAL_ARCHIVE : 0;
	}
	err = store_user_provision(*user_r, im, n);
	free(im);
	conf_mailboxes_free(list, n);
	return err;
}

static int cmd_scan(const struct loft_config *cfg, struct opts *o, char **files, int n)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct spam_pool *pool = spam_pool_create(&loop);
	struct job *jobs = xcalloc((size_t)n, sizeof(*jobs));
	int rc = 0;
	/* one at a time, like a session, so kept-alive connections are reused */
	for (int i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		j->file = files[i];
		j->fd = open(j->file, O_RDONLY);
		struct stat st;
		if (j->fd < 0 || fstat(j->fd, &st) != 0) {
			fprintf(stderr, "spam-scan: cannot read %s\n", j->file);
			rc = 1;
			continue;
		}
		if (o->stream) {
			j->data = read_file(j->file, &j->len);
			j->scan = spam_scan_begin_on(pool, cfg, o->proto, &o->env, -1, on_done, j);
			if (j->scan != NULL)
				feed_more(j);
		} else {
			j->scan = spam_scan_file_on(pool, cfg, o->proto, &o->env, j->fd,
						    (uint64_t)st.st_size, on_done, j);
		}
		if (j->scan == NULL) {
			printf("file=%s scanning=off\n", j->file);
			continue;
		}
		while (!j->done)
			uv_run(&loop, UV_RUN_ONCE);
		const struct spam_decision *d = &j->d;
		printf("file=%s outcome=%s junk=%d scanned=%d action=%s score=%.2f required=%.2f "
		       "fail=%s elapsed_ms=%llu reply=%s\n", j->file, outcome_name(d->outcome),
		       d->junk, d->scanned, action_word(d->action), d->score, d->required,
		       spam_fail_name(d->fail), (unsigned long long)d->elapsed_ms,
		       d->reply[0] ? d->reply : "-");
		for (char *h = d->headers; h != NULL && *h != '\0';) {
			char *e = strstr(h, "\r\n");
			size_t l = e != NULL ? (size_t)(e - h) : strlen(h);
			printf("  | %.*s\n", (int)l, h);
			h += l + (e != NULL ? 2 : 0);
		}
		fflush(stdout);
	}
	printf("pool idle=%u\n", spam_pool_idle(pool));
	spam_pool_stop(pool);
	uv_run(&loop, UV_RUN_DEFAULT);
	spam_pool_free(&pool);
	if (uv_loop_close(&loop) != 0) {
		fprintf(stderr, "spam-scan: handles left open\n");
		rc = 1;
	}
	if (o->deliver != NULL) {
		struct store *store = NULL;
		struct store_user *user = NULL;
		int err = open_user(cfg, o->deliver, &store, &user);
		for (int i = 0; i < n && err == STORE_OK; i++)
			if (jobs[i].done && jobs[i].d.outcome == SPAM_DELIVER)
				err = deliver(cfg, user, &jobs[i]);
		if (err != STORE_OK) {
			fprintf(stderr, "spam-scan: deliver: %s\n", store_strerror(err));
			rc = 1;
		}
		if (user != NULL)
			store_user_close(&user);
		if (store != NULL)
			store_destroy(&store);
	}
	for (int i = 0; i < n; i++) {
		if (jobs[i].fd >= 0)
			close(jobs[i].fd);
		free(jobs[i].data);
		spam_decision_clear(&jobs[i].d);
	}
	free(jobs);
	struct spam_stats s;
	spam_stats_get(&s);
	printf("stats scans=%llu rejected=%llu tempfailed=%llu junked=%llu unscanned_accepted=%llu "
	       "unscanned_tempfailed=%llu\n", (unsigned long long)s.scans,
	       (unsigned long long)s.rejected, (unsigned long long)s.tempfailed,
	       (unsigned long long)s.junked, (unsigned long long)s.unscanned_accepted,
	       (unsigned long long)s.unscanned_tempfailed);
	return rc;
}

static int cmd_learn(const struct loft_config *cfg, struct opts *o, char **args, int n)
{
	if (n < 3)
		return 2;
	enum spam_learn_class cls = strcmp(args[0], "spam") == 0 ? SPAM_LEARN_SPAM : SPAM_LEARN_HAM;
	struct spam_learner *l = NULL;
	char *err = NULL;
	if (spam_learner_start(cfg, &l, &err) != 0) {
		fprintf(stderr, "spam-scan: %s\n", err);
		free(err);
		return 1;
	}
	for (int i = 2; i < n; i++) {
		int fd = open(args[i], O_RDONLY);
		if (fd < 0 || spam_learn_submit(l, args[1], cls, fd) != 0)
			fprintf(stderr, "spam-scan: not queued: %s\n", args[i]);
	}
	time_t until = time(NULL) + o->wait_s;
	while (spam_learn_pending(l) > 0 && time(NULL) < until)
		usleep(20000);
	unsigned left = spam_learn_pending(l);
	spam_learner_stop(&l);
	struct spam_stats s;
	spam_stats_get(&s);
	printf("learned=%llu retried=%llu failed=%llu dropped=%llu pending_at_stop=%u\n",
	       (unsigned long long)s.learn_done, (unsigned long long)s.learn_retried,
	       (unsigned long long)s.learn_failed, (unsigned long long)s.learn_dropped, left);
	return 0;
}

static int cmd_verdict(const struct loft_config *cfg, char **args, int n)
{
	if (n < 3)
		return 2;
	struct store *store = NULL;
	struct store_user *user = NULL;
	struct store_mailbox *mbox = NULL;
	struct store_spam sp;
	int err = open_user(cfg, args[0], &store, &user);
	if (err == STORE_OK)
		err = store_mailbox_open(user, args[1], true, &mbox);
	if (err == STORE_OK)
		err = store_msg_spam_get(mbox, (uint32_t)strtoul(args[2], NULL, 10), &sp);
	if (err == STORE_OK)
		printf("verdict=%u action=%s score_milli=%d required_milli=%d spamtest=%d "
		       "percent=%d\n", sp.verdict, action_word(sp.action), sp.score_milli,
		       sp.required_milli, spam_sieve_spamtest(&sp), spam_sieve_percent(&sp));
	else
		printf("verdict=none (%s)\n", store_strerror(err));
	if (mbox != NULL)
		store_mailbox_close(&mbox);
	if (user != NULL)
		store_user_close(&user);
	if (store != NULL)
		store_destroy(&store);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);   /* as loft does: a closed peer is an error */
	struct opts o = { .proto = CONF_PROTO_SMTP, .wait_s = 30 };
	o.env.client_ip = "192.0.2.10";
	o.env.helo = "client.example.net";
	o.env.mail_from = "sender@example.net";
	o.env.queue_id = "spam-scan";
	o.env.rcpts = o.rcpts;
	o.auth.dkim = o.dkim;
	static const struct option longs[] = {
		{ "proto", 1, NULL, 'p' }, { "stream", 0, NULL, 's' }, { "deliver", 1, NULL, 'D' },
		{ "ip", 1, NULL, 'i' }, { "helo", 1, NULL, 'h' }, { "from", 1, NULL, 'f' },
		{ "rcpt", 1, NULL, 'r' }, { "user", 1, NULL, 'u' }, { "spf", 1, NULL, 'S' },
		{ "dkim", 1, NULL, 'K' }, { "dmarc", 1, NULL, 'M' }, { "wait", 1, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'p': o.proto = strcmp(optarg, "lmtp") == 0 ? CONF_PROTO_LMTP : CONF_PROTO_SMTP;
			break;
		case 's': o.stream = true; break;
		case 'D': o.deliver = optarg; break;
		case 'i': o.env.client_ip = optarg; break;
		case 'h': o.env.helo = optarg; break;
		case 'f': o.env.mail_from = optarg; break;
		case 'r':
			if (o.env.n_rcpts < MAX_RCPT)
				o.rcpts[o.env.n_rcpts++] = optarg;
			break;
		case 'u': o.env.auth_user = optarg; break;
		case 'S': o.auth.spf = optarg; o.env.auth = &o.auth; break;
		case 'K': {
			char *colon = strchr(optarg, ':');
			if (colon != NULL && o.auth.n_dkim < 4) {
				*colon = '\0';
				o.dkim[o.auth.n_dkim].domain = optarg;
				o.dkim[o.auth.n_dkim++].result = colon + 1;
				o.env.auth = &o.auth;
			}
			break;
		}
		case 'M': o.auth.dmarc = optarg; o.env.auth = &o.auth; break;
		case 'w': o.wait_s = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (o.config == NULL || optind >= argc) {
		fprintf(stderr, "usage: spam-scan -c CONFIG scan|learn|verdict ...\n");
		return 2;
	}
	if (o.env.n_rcpts == 0)
		o.rcpts[o.env.n_rcpts++] = "alice@example.org";
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(o.config, &cfg, &err) != 0) {
		conf_print_errors(stderr, "spam-scan: ", err, "cannot load the configuration");
		free(err);
		return 1;
	}
	const char *cmd = argv[optind];
	int rc = 2;
	if (strcmp(cmd, "scan") == 0)
		rc = cmd_scan(cfg, &o, argv + optind + 1, argc - optind - 1);
	else if (strcmp(cmd, "learn") == 0)
		rc = cmd_learn(cfg, &o, argv + optind + 1, argc - optind - 1);
	else if (strcmp(cmd, "verdict") == 0)
		rc = cmd_verdict(cfg, argv + optind + 1, argc - optind - 1);
	conf_free(cfg);
	return rc;
}
