/* LMTP load generator for bench/bench-lmtp.py: C threads, so the client's
 * own cost stays small next to the servers it measures (the machine is
 * shared). Each of N connections delivers messages of S bytes to one
 * recipient, one after another: MAIL, RCPT and DATA pipelined in one write
 * (both servers offer PIPELINING), then the message and its final reply.
 * A delivery counts when its 250 arrived, so the rate is of durable
 * deliveries when the server answers only after its commit.
 *
 *   bench-lmtp HOST PORT CONNECTIONS SIZE SECONDS RCPT
 *
 * Prints "deliveries N seconds T rate R/s failures F" on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct bl {
	struct sockaddr_in addr;
	size_t size;
	const char *rcpt;
	char *message;           /* dot-stuffed, ending in CRLF.CRLF */
	size_t message_len;
	atomic_bool stop;
	atomic_ulong done, failed;
};

struct conn {
	int fd;
	char buf[8192];
	size_t len;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One reply (multi-line replies are read whole); its code, or -1. */
static int reply(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf) + 1;
			int code = n >= 4 ? atoi(c->buf) : -1;
			bool more = n >= 4 && c->buf[3] == '-';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (!more)
				return code;
			continue;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static bool open_conn(struct bl *b, struct conn *c)
{
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&b->addr, sizeof(b->addr)) != 0)
		return false;
	if (reply(c) != 220)
		return false;
	const char *lhlo = "LHLO bench.example\r\n";
	return send_all(c->fd, lhlo, strlen(lhlo)) && reply(c) == 250;
}

static void *worker(void *arg)
{
	struct bl *b = arg;
	struct conn c;
	if (!open_conn(b, &c)) {
		fprintf(stderr, "bench-lmtp: cannot connect\n");
		atomic_fetch_add(&b->failed, 1);
		return NULL;
	}
	char env[512];
	int n = snprintf(env, sizeof(env), "MAIL FROM:<bench-sender@example.net>\r\n"
			 "RCPT TO:<%s>\r\nDATA\r\n", b->rcpt);
	while (!atomic_load(&b->stop)) {
		bool ok = send_all(c.fd, env, (size_t)n) && reply(&c) == 250 && reply(&c) == 250 &&
			  reply(&c) == 354 && send_all(c.fd, b->message, b->message_len) &&
			  reply(&c) == 250;
		if (ok) {
			atomic_fetch_add(&b->done, 1);
			continue;
		}
		atomic_fetch_add(&b->failed, 1);
		close(c.fd);
		if (!open_conn(b, &c))
			break;
	}
	const char *quit = "QUIT\r\n";
	send_all(c.fd, quit, strlen(quit));
	close(c.fd);
	return NULL;
}

static void make_message(struct bl *b)
{
	b->message = malloc(b->size + 4096);
	size_t len = (size_t)snprintf(b->message, 4096,
				      "From: Bench <bench-sender@example.net>\r\nTo: %s\r\n"
				      "Subject: benchmark message\r\nMessage-ID: <bench@example.net>\r\n"
				      "\r\n", b->rcpt);
	unsigned line = 0;
	while (len + 80 < b->size) {
		len += (size_t)snprintf(b->message + len, 96,
					"%06u lorem ipsum dolor sit amet consectetur adipiscing elit "
					"sed do eiusmod\r\n", line++);
	}
	while (len + 2 < b->size)
		b->message[len++] = 'x';
	memcpy(b->message + len, "\r\n.\r\n", 5);
	b->message_len = len + 5;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: bench-lmtp HOST PORT CONNECTIONS SIZE SECONDS RCPT\n");
		return 2;
	}
	struct bl *b = calloc(1, sizeof(*b));
	b->addr.sin_family = AF_INET;
	b->addr.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &b->addr.sin_addr) != 1)
		return 2;
	int conns = atoi(argv[3]);
	b->size = (size_t)atol(argv[4]);
	double seconds = atof(argv[5]);
	b->rcpt = argv[6];
	make_message(b);
	pthread_t *th = calloc((size_t)conns, sizeof(*th));
	double t0 = now_s();
	for (int i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, b);
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&ts, NULL);
	unsigned long done = atomic_load(&b->done);
	double t = now_s() - t0;
	atomic_store(&b->stop, true);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	printf("deliveries %lu seconds %.2f rate %.1f failures %lu\n", done, t, (double)done / t,
	       atomic_load(&b->failed));
	free(th);
	free(b->message);
	free(b);
	return 0;
}
