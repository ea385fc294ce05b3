/* What scanning with rspamd costs a delivery: the same messages delivered
 * into a store with scanning off (a durable append each) and on (a scan
 * through the rspamd client, then the durable append), one at a time, the
 * per-message latency of each (alternating, so both see the same disk) and
 * the difference, and the scan's own share; then scans alone with 1
 * and J scans in flight on one loop (what one worker of a busy SMTP
 * listener would see). bench/spam.py starts a real rspamd and runs this.
 *
 *   bench-spam -c CONFIG -u USER [-n N] [-j J] FILE...
 *
 * Prints one line per measurement: name, messages, per second, and the
 * p50/p90/p99 latency in ms. */
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
#include "lib/xmem.h"
#include "server/spam/spam.h"
#include "server/store-config.h"

struct msg {
	char *data;
	size_t len;
	int fd;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, double *lat, size_t n, double total_ms)
{
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("%-28s %6zu msgs %9.1f /s   p50 %7.2f  p90 %7.2f  p99 %7.2f ms\n", name, n,
	       n / (total_ms / 1e3), lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100]);
	fflush(stdout);
}

static int append(struct store_user *user, const char *mailbox, const struct msg *m,
		  const struct spam_decision *d)
{
	struct store_append *app = NULL;
	int err = store_append_begin(user, mailbox, &app);
	if (err == 0 && d != NULL && d->headers != NULL)
		err = store_append_write(app, d->headers, strlen(d->headers));
	if (err == 0)
		err = store_append_write(app, m->data, m->len);
	if (err != 0) {
		if (app != NULL)
			store_append_abort(&app);
		return err;
	}
	struct store_append_meta meta = { 0 };
	if (d != NULL)
		meta.spam = d->store;
	return store_append_commit(&app, &meta, NULL, NULL);
}

/* ---- scans on one loop ---- */

struct run {
	const struct loft_config *cfg;
	struct spam_pool *pool;
	struct msg *msgs;
	size_t n_msgs;
	size_t next, done, total;
	double *lat;
	struct slot *slots;
	unsigned failed;
};

struct slot {
	struct run *run;
	double start;
	struct spam_decision d;
	bool keep;                 /* keep the decision (delivery mode) */
	bool finished;
};

static void start_one(struct slot *s);

static void on_done(void *arg, struct spam_decision *d)
{
	struct slot *s = arg;
	struct run *r = s->run;
	r->lat[r->done++] = now_ms() - s->start;
	if (!d->scanned)
		r->failed++;
	if (s->keep) {
		s->d = *d;
		d->headers = NULL;
		s->finished = true;
		return;
	}
	start_one(s);
}

static void start_one(struct slot *s)
{
	struct run *r = s->run;
	if (r->next >= r->total)
		return;
	const struct msg *m = &r->msgs[r->next++ % r->n_msgs];
	static const char *const rcpt[] = { "alice@example.org" };
	struct spam_envelope env = { .client_ip = "192.0.2.10", .helo = "mx.example.net",
				     .mail_from = "sender@example.net", .rcpts = rcpt,
				     .n_rcpts = 1, .queue_id = "bench" };
	s->start = now_ms();
	struct stat st;
	fstat(m->fd, &st);
	if (spam_scan_file_on(r->pool, r->cfg, CONF_PROTO_SMTP, &env, m->fd,
			      (uint64_t)st.st_size, on_done, s) == NULL) {
		fprintf(stderr, "bench-spam: scanning is off in the configuration\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);   /* as loft does: a closed peer is an error */
	const char *config = NULL, *user_name = "bench";
	size_t n = 300;
	unsigned jobs = 8;
	int c;
	while ((c = getopt(argc, argv, "c:u:n:j:")) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'u': user_name = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'j': jobs = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (config == NULL || optind >= argc || n == 0 || jobs == 0) {
		fprintf(stderr, "usage: bench-spam -c CONFIG [-u USER] [-n N] [-j J] FILE...\n");
		return 2;
	}
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(config, &cfg, &err) != 0) {
		conf_print_errors(stderr, "bench-spam: ", err, "cannot load the configuration");
		return 1;
	}
	size_t n_msgs = (size_t)(argc - optind);
	struct msg *msgs = xcalloc(n_msgs, sizeof(*msgs));
	for (size_t i = 0; i < n_msgs; i++) {
		FILE *f = fopen(argv[optind + i], "rb");
		if (f == NULL) {
			fprintf(stderr, "bench-spam: cannot read %s\n", argv[optind + i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		msgs[i].len = (size_t)ftell(f);
		rewind(f);
		msgs[i].data = xmalloc(msgs[i].len + 1);
		if (fread(msgs[i].data, 1, msgs[i].len, f) != msgs[i].len)
			return 1;
		fclose(f);
		msgs[i].fd = open(argv[optind + i], O_RDONLY);
	}
	struct store_settings set;
	store_config_settings(cfg, false, &set);
	struct store *store = NULL;
	struct store_user *user = NULL;
	if (store_create(&set, &store) != 0 || store_user_open(store, user_name, &user) != 0) {
		fprintf(stderr, "bench-spam: cannot open the store in %s\n", cfg->mail_dir);
		return 1;
	}
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct spam_pool *pool = spam_pool_create(&loop);
	double *lat = xcalloc(n, sizeof(*lat));
	printf("%zu messages, %zu distinct, rspamd %s:%u\n", n, n_msgs, cfg->spam_address,
	       cfg->spam_port);

	/* 1. deliveries with scanning off and on, alternating so that both see
	 * the same disk: off = a durable append; on = the scan (on the loop),
	 * then the durable append with the headers and the verdict */
	struct run r = { .cfg = cfg, .pool = pool, .msgs = msgs, .n_msgs = n_msgs, .total = n,
			 .lat = xcalloc(n, sizeof(double)) };
	struct slot one = { .run = &r, .keep = true };
	double *off = xcalloc(n, sizeof(double)), *on = xcalloc(n, sizeof(double));
	double *scan = xcalloc(n, sizeof(double));
	double off_total = 0, on_total = 0, scan_total = 0;
	for (size_t i = 0; i < n; i++) {
		const struct msg *m = &msgs[i % n_msgs];
		double s = now_ms();
		if (append(user, "INBOX", m, NULL) != 0)
			return 1;
		off[i] = now_ms() - s;
		off_total += off[i];
		one.finished = false;
		s = now_ms();
		start_one(&one);
		while (!one.finished)
			uv_run(&loop, UV_RUN_ONCE);
		scan[i] = now_ms() - s;
		scan_total += scan[i];
		if (append(user, "INBOX", m, &one.d) != 0)
			return 1;
		spam_decision_clear(&one.d);
		on[i] = now_ms() - s;
		on_total += on[i];
	}
	report("deliver, scanning off", off, n, off_total);
	report("deliver, scanning on", on, n, on_total);
	report("  of which the scan", scan, n, scan_total);
	printf("%-28s %+9.2f ms per message (mean), %+.2f ms (p50)\n", "added by scanning",
	       (on_total - off_total) / n, on[n / 2] - off[n / 2]);
	free(off);
	free(on);
	free(scan);

	/* 3. scans alone, 1 and `jobs` in flight on one loop */
	unsigned js[2] = { 1, jobs };
	for (int k = 0; k < 2; k++) {
		struct run s = { .cfg = cfg, .pool = pool, .msgs = msgs, .n_msgs = n_msgs,
				 .total = n, .lat = lat };
		struct slot *slots = xcalloc(js[k], sizeof(*slots));
		double t0 = now_ms();
		for (unsigned i = 0; i < js[k]; i++) {
			slots[i].run = &s;
			start_one(&slots[i]);
		}
		while (s.done < s.total)
			uv_run(&loop, UV_RUN_ONCE);
		char name[64];
		snprintf(name, sizeof(name), "scans, %u in flight", js[k]);
		report(name, lat, n, now_ms() - t0);
		if (s.failed > 0)
			printf("  (%u scans failed: rspamd unavailable)\n", s.failed);
		free(slots);
	}
	if (r.failed > 0)
		printf("  (%u scans of the delivery run failed)\n", r.failed);
	spam_pool_stop(pool);
	uv_run(&loop, UV_RUN_DEFAULT);
	spam_pool_free(&pool);
	uv_loop_close(&loop);
	store_user_close(&user);
	store_destroy(&store);
	for (size_t i = 0; i < n_msgs; i++) {
		free(msgs[i].data);
		close(msgs[i].fd);
	}
	free(msgs);
	free(lat);
	free(r.lat);
	conf_free(cfg);
	return 0;
}
