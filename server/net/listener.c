/* Binding listening sockets (see listener.h). The sockets are created here
 * with plain socket(2) calls because libuv cannot set SO_REUSEPORT before
 * bind; the workers then adopt them with uv_tcp_open(). */
#include "server/net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/xmem.h"

static int parse_addr(const char *address, uint16_t port,
		      struct sockaddr_storage *ss, socklen_t *len_r)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *a = address;
	char buf[64];
	size_t n = strlen(address);
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, a + 1, n - 2);
		buf[n - 2] = '\0';
		a = buf;
	}
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len_r = sizeof(*sin6);
		return 0;
	}
	return LOFT_EINVAL;
}

/* Options accepted sockets inherit from the listening socket on Linux, set
 * once here instead of on every connection: no Nagle delay on replies, and
 * keepalive probes after 5 idle minutes so dead peers are noticed. */
static int set_inherited_options(int fd)
{
	int one = 1, idle = 300, intvl = 30, cnt = 5;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		return LOFT_EIO;
	return 0;
}

static int bind_one(const struct sockaddr_storage *ss, socklen_t len, int *fd_r)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || set_inherited_options(fd) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*fd_r = fd;
	return 0;
}

/* SO_REUSEPORT would let a second server (another loft, say) bind the same
 * port and silently take half of the connections. A socket bound without it
 * fails with EADDRINUSE while anyone listens there, so try that first. */
static int probe_free(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	int e = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0)
		e = -errno;
	close(fd);
	return e;
}

int net_listener_bind(struct net_listener *l, const struct conf_listener *lc,
		      int n, char **err_r)
{
	memset(l, 0, sizeof(*l));
	l->conf = *lc;
	l->conf.name = xstrdup(lc->name);
	l->conf.address = xstrdup(lc->address);
	l->fds = xmalloc(sizeof(int) * (size_t)n);
	for (int i = 0; i < n; i++)
		l->fds[i] = -1;
	l->n_fds = n;

	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_addr(lc->address, lc->port, &ss, &len) < 0) {
		*err_r = xasprintf("listener %s: invalid address '%s' (use an IPv4 or IPv6 literal)",
				   lc->name, lc->address);
		return LOFT_EINVAL;
	}
	if (lc->port != 0) {
		int e = probe_free(&ss, len);
		if (e < 0) {
			*err_r = xasprintf("listener %s: cannot bind %s port %u: %s", lc->name,
					   lc->address, lc->port, strerror(-e));
			return LOFT_EIO;
		}
	}
	for (int i = 0; i < n; i++) {
		int e = bind_one(&ss, len, &l->fds[i]);
		if (e < 0) {
			*err_r = xasprintf("listener %s: cannot bind %s port %u: %s",
					   lc->name, lc->address, l->bound_port ? l->bound_port : lc->port,
					   strerror(-e));
			return LOFT_EIO;
		}
		if (i == 0) {
			/* Port 0: every worker must share the port the first
			 * socket got. */
			struct sockaddr_storage got;
			socklen_t glen = sizeof(got);
			getsockname(l->fds[0], (struct sockaddr *)&got, &glen);
			uint16_t port = got.ss_family == AF_INET
				? ntohs(((struct sockaddr_in *)&got)->sin_port)
				: ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
			l->bound_port = port;
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons(port);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		}
	}
	return 0;
}

void net_listener_free(struct net_listener *l)
{
	for (int i = 0; i < l->n_fds; i++)
		if (l->fds[i] >= 0)
			close(l->fds[i]);
	x_free(&l->fds);
	x_free(&l->conf.name);
	x_free(&l->conf.address);
}
