/* Named exclusive locks of a user (POP3's one session per user): an flock(2)
 * on <user dir>/loft-lock-<name>, taken without waiting. The kernel drops the
 * lock when its file descriptor is closed, so a lock can never outlive the
 * process that holds it (a crash frees it). The file's content is the unix
 * time of the last store_lock_stamp(), in decimal: what LOGIN-DELAY needs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "storage/store-private.h"

struct store_lock {
	int fd;
};

static bool lock_name_valid(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 32)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

int store_lock_take(struct store_user *user, const char *name, struct store_lock **lock_r,
		    int64_t *last_r)
{
	thread_assert_may_block("store_lock_take");
	*lock_r = NULL;
	if (last_r != NULL)
		*last_r = 0;
	if (!lock_name_valid(name))
		return STORE_EINVALID;
	char *path = xasprintf("%s/loft-lock-%s", user->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_error("store: open %s: %s", path, strerror(errno));
		free(path);
		return STORE_EIO;
	}
	free(path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return STORE_EINUSE;
		log_error("store: lock %s of user=%s: %s", name, user->name, strerror(e));
		return STORE_EIO;
	}
	if (last_r != NULL) {
		char buf[32];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			*last_r = strtoll(buf, NULL, 10);
		}
	}
	struct store_lock *l = xmalloc(sizeof(*l));
	l->fd = fd;
	*lock_r = l;
	return STORE_OK;
}

int store_lock_stamp(struct store_lock *lock, int64_t now)
{
	thread_assert_may_block("store_lock_stamp");
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", (long long)now);
	if (ftruncate(lock->fd, 0) < 0 || pwrite(lock->fd, buf, (size_t)n, 0) != n) {
		log_error("store: stamp lock: %s", strerror(errno));
		return STORE_EIO;
	}
	return STORE_OK;
}

void store_lock_release(struct store_lock **lock)
{
	struct store_lock *l = *lock;
	if (l == NULL)
		return;
	*lock = NULL;
	close(l->fd); /* drops the flock; no data to flush */
	free(l);
}
