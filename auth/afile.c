/* Whole-file reads, atomic durable replacement and lock files for the
 * small text files auth/ owns (users, app passwords, login state). The
 * replacement order is the crash-safe one: write a temporary file, fsync it,
 * rename it over the old name, fsync the directory. */
#include "auth/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/path.h"
#include "lib/xmem.h"

int afile_read(const char *path, size_t max, char **text_r, size_t *len_r,
	       struct stat *st_r, bool *exists_r, char **err_r)
{
	*text_r = NULL;
	*exists_r = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*text_r = xstrdup("");
			*len_r = 0;
			return 0;
		}
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode) || (uint64_t)st_r->st_size > max) {
		*err_r = xasprintf("%s: not a regular file of at most %zu bytes", path, max);
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st_r->st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				*err_r = xasprintf("%s: file grew past %zu bytes", path, max);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*text_r = buf;
	*len_r = len;
	*exists_r = true;
	return 0;
fail:
	close(fd);
	x_wipe(buf, len);
	free(buf);
	return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int afile_write(const char *path, const char *buf, size_t len, unsigned mode, char **err_r)
{
	/* pid and thread: two writers in one process never share a name. */
	char *tmp = xasprintf("%s.tmp.%ld.%lx", path, (long)getpid(),
			      (unsigned long)pthread_self());
	char *dir = path_dir_of(path);
	int ret = -1;
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		*err_r = xasprintf("%s: write: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		*err_r = xasprintf("%s: rename: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		*err_r = xasprintf("%s: fsync: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	ret = 0;
out:
	free(tmp);
	free(dir);
	return ret;
}

int afile_lock(const char *path, int *fd_r, char **err_r)
{
	char *lock_path = xasprintf("%s.lock", path);
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int ret = 0;
	if (fd < 0) {
		*err_r = xasprintf("%s: %s", lock_path, strerror(errno));
		ret = -1;
	} else {
		while (flock(fd, LOCK_EX) < 0) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("%s: flock: %s", lock_path, strerror(errno));
			close(fd);
			fd = -1;
			ret = -1;
			break;
		}
	}
	free(lock_path);
	*fd_r = fd;
	return ret;
}

bool afile_same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void afile_buf_add(struct afile_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap < 256 ? 256 : b->cap;
		while (b->len + n + 1 > cap)
			cap *= 2;
		/* Grow by copying so the old buffer can be wiped. */
		char *p = xmalloc(cap);
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			x_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void afile_buf_printf(struct afile_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	afile_buf_add(b, s, (size_t)n);
	x_wipe(s, (size_t)n);
	free(s);
}

void afile_buf_free(struct afile_buf *b)
{
	if (b->data != NULL)
		x_wipe(b->data, b->cap);
	free(b->data);
	*b = (struct afile_buf){ 0 };
}
