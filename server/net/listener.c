/* Binding listening sockets (see listener.h). The sockets are created here
 * with plain socket(2) calls because libuv cannot set SO_REUSEPORT before
 * bind (nor a UNIX socket's mode before anyone can connect); the workers
 * then adopt them with uv_tcp_open() / uv_pipe_open(). */
#include "server/net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/log.h"
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

/* A socket file at path: removed when nobody accepts on it (a server that
 * died), kept (EADDRINUSE) when someone does, or when it is no socket. */
static int clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ? -EADDRINUSE
									    : -errno;
	close(fd);
	if (r == -ECONNREFUSED || r == -ENOENT)
		return unlink(sun->sun_path) == 0 || errno == ENOENT ? 0 : -errno;
	return r == -EADDRINUSE ? r : 0;
}

static int bind_unix(struct net_listener *l, int n, char **err_r)
{
	const struct conf_listener *lc = &l->conf;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(lc->socket) >= sizeof(sun.sun_path)) {
		*err_r = xasprintf("listener %s: socket path %s is longer than %zu bytes",
				   lc->name, lc->socket, sizeof(sun.sun_path) - 1);
		return LOFT_EINVAL;
	}
	strcpy(sun.sun_path, lc->socket);
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (lc->socket_owner != NULL) {
		struct passwd *pw = getpwnam(lc->socket_owner);
		if (pw == NULL) {
			*err_r = xasprintf("listener %s: socket_owner %s: no such user", lc->name,
					   lc->socket_owner);
			return LOFT_EINVAL;
		}
		uid = pw->pw_uid;
	}
	if (lc->socket_group != NULL) {
		struct group *gr = getgrnam(lc->socket_group);
		if (gr == NULL) {
			*err_r = xasprintf("listener %s: socket_group %s: no such group", lc->name,
					   lc->socket_group);
			return LOFT_EINVAL;
		}
		gid = gr->gr_gid;
	}
	int e = clear_stale(&sun);
	int fd = -1;
	if (e == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		e = fd < 0 ? -errno : 0;
	}
	if (e == 0) {
		/* Nobody may connect before the mode and owner are right: on
		 * Linux the path gets the socket inode's mode (less the umask),
		 * so it is made with no permissions at all (no umask change,
		 * which other threads would see). */
		e = fchmod(fd, 0) == 0 &&
			bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : -errno;
		if (e == 0)
			l->bound_path = true;
	}
	if (e == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && chown(lc->socket, uid, gid) != 0)
		e = -errno;
	if (e == 0 && chmod(lc->socket, (mode_t)lc->socket_mode) != 0)
		e = -errno;
	if (e != 0) {
		if (fd >= 0)
			close(fd);
		*err_r = xasprintf("listener %s: cannot bind socket %s: %s", lc->name, lc->socket,
				   e == -EEXIST ? "a file that is not a socket is in the way"
				   : e == -EADDRINUSE ? "another server listens on it" : strerror(-e));
		return LOFT_EIO;
	}
	l->fds[0] = fd;
	for (int i = 1; i < n; i++) {
		l->fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (l->fds[i] < 0) {
			*err_r = xasprintf("listener %s: dup: %s", lc->name, strerror(errno));
			return LOFT_EIO;
		}
	}
	return 0;
}

int net_listener_bind(struct net_listener *l, const struct conf_listener *lc,
		      int n, char **err_r)
{
	memset(l, 0, sizeof(*l));
	l->conf = *lc;
	l->conf.name = xstrdup(lc->name);
	l->conf.address = xstrdup(lc->address);
	l->conf.socket = lc->socket != NULL ? xstrdup(lc->socket) : NULL;
	l->conf.socket_owner = lc->socket_owner != NULL ? xstrdup(lc->socket_owner) : NULL;
	l->conf.socket_group = lc->socket_group != NULL ? xstrdup(lc->socket_group) : NULL;
	l->fds = xmalloc(sizeof(int) * (size_t)n);
	for (int i = 0; i < n; i++)
		l->fds[i] = -1;
	l->n_fds = n;
	if (lc->socket != NULL)
		return bind_unix(l, n, err_r);

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
	if (l->bound_path && unlink(l->conf.socket) != 0 && errno != ENOENT)
		log_warn("listener %s: cannot remove socket %s: %s", l->conf.name, l->conf.socket,
			 strerror(errno));
	l->bound_path = false;
	x_free(&l->conf.name);
	x_free(&l->conf.address);
	x_free(&l->conf.socket);
	x_free(&l->conf.socket_owner);
	x_free(&l->conf.socket_group);
}
