/* Runs one check as an unprivileged user, for the tests whose point root
 * defeats (an unreadable file, a read-only directory): CI runs as root, so
 * such a check forks, drops to "nobody" in the child and reports back a
 * string. Header-only, for tests and test tools; never linked into loft. */
#ifndef LOFT_TESTS_UNPRIV_H
#define LOFT_TESTS_UNPRIV_H

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The uid/gid the check runs as: nobody's when we are root, our own
 * otherwise. */
static inline void unpriv_ids(uid_t *uid_r, gid_t *gid_r)
{
	if (geteuid() != 0) {
		*uid_r = geteuid();
		*gid_r = getegid();
		return;
	}
	const struct passwd *pw = getpwnam("nobody");
	*uid_r = pw != NULL ? pw->pw_uid : 65534;
	*gid_r = pw != NULL ? pw->pw_gid : 65534;
}

static inline int unpriv_chown_cb_(const char *path, const struct stat *st, int flag,
				   struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	uid_t uid;
	gid_t gid;
	unpriv_ids(&uid, &gid);
	return lchown(path, uid, gid) == 0 ? 0 : -1;
}

/* Give the tree at path to the unprivileged user (a no-op when we are not
 * root). Returns 0 or -1 with errno. */
static inline int unpriv_give(const char *path)
{
	if (geteuid() != 0)
		return 0;
	return nftw(path, unpriv_chown_cb_, 16, FTW_PHYS);
}

/* Run fn(arg) in a child process as the unprivileged user and return the
 * heap string it returned (NULL stays NULL), or a string starting with
 * "unpriv:" when the child could not drop privileges or died. Caller frees. */
static inline char *unpriv_run(char *(*fn)(void *arg), void *arg)
{
	int fds[2];
	if (pipe(fds) < 0)
		return strdup("unpriv: pipe failed");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return strdup("unpriv: fork failed");
	}
	if (pid == 0) {
		close(fds[0]);
		uid_t uid;
		gid_t gid;
		unpriv_ids(&uid, &gid);
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
				       setuid(uid) < 0 || geteuid() == 0))
			_exit(3);
		char *s = fn(arg);
		const char *out = s != NULL ? s : "";
		size_t len = strlen(out) + (s != NULL);  /* NUL marks "not NULL" */
		ssize_t w = write(fds[1], out, len);
		_exit(w == (ssize_t)len ? 0 : 4);
	}
	close(fds[1]);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char msg[64];
		snprintf(msg, sizeof(msg), "unpriv: child failed (status 0x%x)", status);
		return strdup(msg);
	}
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

#endif
