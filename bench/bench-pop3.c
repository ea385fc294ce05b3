/* POP3 load client for bench/pop3.py (Loft and Dovecot side by side): a
 * small C client so that the client is not what gets measured.
 *
 *   bench-pop3 login HOST PORT USER PASS ROUNDS
 *       connect, USER/PASS, UIDL (all lines read), QUIT, ROUNDS times;
 *       prints "login_ms uidl_ms total_ms messages" of the median round.
 *   bench-pop3 retr HOST PORT PASS SECONDS DEPTH USER...
 *       one connection per USER, each logged in and sending RETR over its
 *       messages in turn (1..n, again) for SECONDS: DEPTH commands in
 *       flight per connection (1 = request-response, more = pipelined);
 *       prints "ready" once logged in and starts on a line from stdin,
 *       then prints "messages bytes seconds" and closes its connections
 *       on the next line from stdin (so the caller can read the servers'
 *       CPU time while every server process of the run still exists).
 * Plain TCP on loopback; replies are parsed only as far as needed to find
 * their end (status line, then the "\r\n.\r\n" terminator). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct cli {
	int fd;
	char *buf;
	size_t len, cap, pos;
	/* retr */
	const char *user;
	unsigned count, next, inflight;
	bool in_body;
	uint64_t msgs, bytes;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-pop3: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		s += w;
		n -= (size_t)w;
	}
}

static void fill(struct cli *c)
{
	if (c->pos > 0 && c->pos == c->len)
		c->pos = c->len = 0;
	if (c->cap - c->len < 65536) {
		if (c->pos > 0) {
			memmove(c->buf, c->buf + c->pos, c->len - c->pos);
			c->len -= c->pos;
			c->pos = 0;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 262144;
			c->buf = realloc(c->buf, c->cap);
		}
	}
	ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r <= 0)
		die("read (connection closed?)");
	c->len += (size_t)r;
}

/* The next line (without CRLF) or NULL when more input is needed. */
static char *line(struct cli *c, size_t *n_r)
{
	char *s = c->buf + c->pos;
	char *nl = memchr(s, '\n', c->len - c->pos);
	if (nl == NULL)
		return NULL;
	c->pos = (size_t)(nl - c->buf) + 1;
	*n_r = (size_t)(nl - s);
	if (*n_r > 0 && s[*n_r - 1] == '\r')
		(*n_r)--;
	return s;
}

static char *read_line(struct cli *c, size_t *n)
{
	char *l;
	while ((l = line(c, n)) == NULL)
		fill(c);
	return l;
}

static void expect_ok(struct cli *c, const char *what)
{
	size_t n;
	char *l = read_line(c, &n);
	if (n < 3 || memcmp(l, "+OK", 3) != 0) {
		fprintf(stderr, "bench-pop3: %s: %.*s\n", what, (int)n, l);
		exit(1);
	}
}

/* Lines of a multi-line body up to "."; returns how many. */
static unsigned read_body(struct cli *c)
{
	unsigned lines = 0;
	for (;;) {
		size_t n;
		char *l = read_line(c, &n);
		if (n == 1 && l[0] == '.')
			return lines;
		lines++;
	}
}

static void cmd(struct cli *c, const char *fmt, const char *arg)
{
	char b[256];
	int n = snprintf(b, sizeof(b), fmt, arg);
	send_all(c->fd, b, (size_t)n);
}

static unsigned login(struct cli *c, const char *host, int port, const char *user, const char *pass)
{
	c->fd = dial(host, port);
	expect_ok(c, "greeting");
	cmd(c, "USER %s\r\n", user);
	expect_ok(c, "USER");
	cmd(c, "PASS %s\r\n", pass);
	expect_ok(c, "PASS");
	cmd(c, "STAT\r\n", "");
	size_t n;
	char *l = read_line(c, &n);
	return (unsigned)strtoul(l + 4, NULL, 10);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run_login(int argc, char **argv)
{
	if (argc != 7)
		return 2;
	int rounds = atoi(argv[6]);
	double *tl = calloc((size_t)rounds, sizeof(double)), *tu = calloc((size_t)rounds, sizeof(double));
	unsigned msgs = 0;
	for (int r = 0; r < rounds; r++) {
		struct cli c = { 0 };
		double t0 = now_s();
		msgs = login(&c, argv[2], atoi(argv[3]), argv[4], argv[5]);
		double t1 = now_s();
		cmd(&c, "UIDL\r\n", "");
		expect_ok(&c, "UIDL");
		unsigned lines = read_body(&c);
		double t2 = now_s();
		if (lines != msgs) {
			fprintf(stderr, "bench-pop3: UIDL gave %u lines for %u messages\n", lines, msgs);
			return 1;
		}
		cmd(&c, "QUIT\r\n", "");
		expect_ok(&c, "QUIT");
		close(c.fd);
		free(c.buf);
		tl[r] = (t1 - t0) * 1e3;
		tu[r] = (t2 - t1) * 1e3;
		usleep(50000);
	}
	double tt[rounds];
	for (int r = 0; r < rounds; r++)
		tt[r] = tl[r] + tu[r];
	qsort(tl, (size_t)rounds, sizeof(double), cmp_d);
	qsort(tu, (size_t)rounds, sizeof(double), cmp_d);
	qsort(tt, (size_t)rounds, sizeof(double), cmp_d);
	printf("%.3f %.3f %.3f %u\n", tl[rounds / 2], tu[rounds / 2], tt[rounds / 2], msgs);
	free(tl);
	free(tu);
	return 0;
}

static void retr_send(struct cli *c, unsigned depth)
{
	char b[4096];
	size_t n = 0;
	while (c->inflight < depth && n + 32 < sizeof(b)) {
		n += (size_t)snprintf(b + n, sizeof(b) - n, "RETR %u\r\n", c->next + 1);
		c->next = (c->next + 1) % c->count;
		c->inflight++;
	}
	if (n > 0)
		send_all(c->fd, b, n);
}

/* Consume whatever complete replies are buffered. */
static void retr_parse(struct cli *c)
{
	size_t n;
	char *l;
	while ((l = line(c, &n)) != NULL) {
		if (!c->in_body) {
			if (n < 3 || memcmp(l, "+OK", 3) != 0) {
				fprintf(stderr, "bench-pop3: RETR: %.*s\n", (int)n, l);
				exit(1);
			}
			c->in_body = true;
			continue;
		}
		if (n == 1 && l[0] == '.') {
			c->in_body = false;
			c->inflight--;
			c->msgs++;
			continue;
		}
		c->bytes += n + 2;
	}
}

static int run_retr(int argc, char **argv)
{
	if (argc < 8)
		return 2;
	const char *host = argv[2], *pass = argv[4];
	int port = atoi(argv[3]);
	double seconds = atof(argv[5]);
	unsigned depth = (unsigned)atoi(argv[6]);
	int nc = argc - 7;
	struct cli *cs = calloc((size_t)nc, sizeof(*cs));
	struct pollfd *pf = calloc((size_t)nc, sizeof(*pf));
	for (int i = 0; i < nc; i++) {
		cs[i].user = argv[7 + i];
		cs[i].count = login(&cs[i], host, port, cs[i].user, pass);
		if (cs[i].count == 0) {
			fprintf(stderr, "bench-pop3: %s has no messages\n", cs[i].user);
			return 1;
		}
		pf[i].fd = cs[i].fd;
		pf[i].events = POLLIN;
	}
	char go[16];
	printf("ready\n");
	fflush(stdout);
	if (fgets(go, sizeof(go), stdin) == NULL)
		return 1;
	double t0 = now_s(), end = t0 + seconds;
	for (int i = 0; i < nc; i++)
		retr_send(&cs[i], depth);
	while (now_s() < end) {
		if (poll(pf, (nfds_t)nc, 1000) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < nc; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			fill(&cs[i]);
			retr_parse(&cs[i]);
			retr_send(&cs[i], depth);
		}
	}
	double took = now_s() - t0;
	uint64_t msgs = 0, bytes = 0;
	for (int i = 0; i < nc; i++) {
		msgs += cs[i].msgs;
		bytes += cs[i].bytes;
	}
	printf("%llu %llu %.3f\n", (unsigned long long)msgs, (unsigned long long)bytes, took);
	fflush(stdout);
	if (fgets(go, sizeof(go), stdin) == NULL)
		return 1;
	for (int i = 0; i < nc; i++) {
		close(cs[i].fd);   /* no QUIT: nothing was deleted anyway */
		free(cs[i].buf);
	}
	free(cs);
	free(pf);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;
	if (argc > 1 && strcmp(argv[1], "login") == 0)
		r = run_login(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "retr") == 0)
		r = run_retr(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: bench-pop3 login HOST PORT USER PASS ROUNDS\n"
				"       bench-pop3 retr HOST PORT PASS SECONDS DEPTH USER...\n");
	return r;
}
