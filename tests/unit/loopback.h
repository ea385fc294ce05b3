/* Loopback client helpers for unit tests that run a real net_server: pick a
 * free port, connect, send, and read with a deadline. Header-only (static)
 * so each test executable gets its own copy without a library. */
#ifndef LOFT_TESTS_LOOPBACK_H
#define LOFT_TESTS_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmem.h"

static inline uint16_t lb_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	return ntohs(sin.sin_port);
}

static inline int lb_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static inline void lb_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static inline long lb_ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read until EOF or until the data ends with `until` (NULL: EOF only), at
 * most timeout_ms. Returns a heap buffer with *len_r bytes. */
static inline char *lb_recv_until(int fd, const char *until, int timeout_ms, size_t *len_r)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = timeout_ms - lb_ms_since(&t0);
		if (left <= 0)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if (len + 65536 > cap) {
			cap = (len + 65536) * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		size_t ul = until ? strlen(until) : 0;
		if (until != NULL && len >= ul && memcmp(buf + len - ul, until, ul) == 0)
			break;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* Expect exactly want next (within 3 s). */
static inline void lb_expect(int fd, const char *want)
{
	size_t len;
	char *got = lb_recv_until(fd, want, 3000, &len);
	if (strcmp(got, want) != 0)
		fail_msg("got '%s', want '%s'", got, want);
	free(got);
}

#endif
