/* Tracking marks of a user in <user dir>/loft-marks: fixed 40-byte records
 * (a 32-byte key, an 8-byte little-endian expiry time). Sieve keeps in them
 * which senders got a vacation reply and which message ids it saw
 * (duplicate): they travel with the user's directory. A check reads the
 * file; a put rewrites it under an flock (expired records dropped, the
 * oldest dropped beyond max), fsyncs it and renames it into place, so a
 * reply is never recorded half-way and a crash leaves the old marks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"

#define REC 40

static int64_t rec_expiry(const unsigned char *r)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | r[32 + i];
	return (int64_t)v;
}

static void rec_set_expiry(unsigned char *r, int64_t t)
{
	uint64_t v = (uint64_t)t;
	for (int i = 0; i < 8; i++)
		r[32 + i] = (unsigned char)(v >> (8 * i));
}

/* Read the whole file (fd at 0). */
static int read_all(int fd, unsigned char **data_r, size_t *len_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return STORE_EIO;
	size_t size = (size_t)st.st_size / REC * REC;
	unsigned char *data = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, data + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*data_r = data;
	*len_r = got / REC * REC;
	return STORE_OK;
}

int store_mark_check(struct store_user *user, const unsigned char key[32], int64_t now,
		     bool *seen_r)
{
	thread_assert_may_block("store_mark_check");
	*seen_r = false;
	char *path = xasprintf("%s/loft-marks", user->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? STORE_OK : STORE_EIO;
	unsigned char *data;
	size_t len;
	int r = read_all(fd, &data, &len);
	close(fd);
	if (r != STORE_OK)
		return r;
	for (size_t i = 0; i < len; i += REC)
		if (memcmp(data + i, key, 32) == 0 && rec_expiry(data + i) > now)
			*seen_r = true;
	free(data);
	return STORE_OK;
}

int store_mark_put(struct store_user *user, const struct store_mark *marks, size_t n,
		   int64_t now, size_t max)
{
	thread_assert_may_block("store_mark_put");
	if (n == 0)
		return STORE_OK;
	char *lockpath = xasprintf("%s/loft-marks.lock", user->dir);
	char *path = xasprintf("%s/loft-marks", user->dir);
	char *tmp = xasprintf("%s/loft-marks.tmp", user->dir);
	int r = STORE_OK;
	int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		r = STORE_EIO;
		goto out;
	}
	unsigned char *old = NULL;
	size_t olen = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read_all(fd, &old, &olen);
		close(fd);
	} else if (errno != ENOENT) {
		r = STORE_EIO;
	}
	if (r != STORE_OK)
		goto out;
	/* the records that stay, then the new ones */
	unsigned char *out = xmalloc(olen + n * REC + 1);
	size_t len = 0;
	for (size_t i = 0; i < olen; i += REC) {
		if (rec_expiry(old + i) <= now)
			continue;
		bool replaced = false;
		for (size_t k = 0; k < n; k++)
			if (memcmp(old + i, marks[k].key, 32) == 0 && marks[k].refresh)
				replaced = true;
		if (!replaced) {
			memcpy(out + len, old + i, REC);
			len += REC;
		}
	}
	for (size_t k = 0; k < n; k++) {
		bool have = false;
		for (size_t i = 0; i < len; i += REC)
			if (memcmp(out + i, marks[k].key, 32) == 0)
				have = true;
		if (have)
			continue;
		memcpy(out + len, marks[k].key, 32);
		rec_set_expiry(out + len, marks[k].expires);
		len += REC;
	}
	/* keep the newest max records (they were appended last) */
	size_t skip = 0;
	if (max > 0 && len / REC > max)
		skip = len - max * REC;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = STORE_EIO;
	} else {
		size_t done = skip;
		while (done < len) {
			ssize_t w = write(fd, out + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = STORE_EIO;
				break;
			}
			done += (size_t)w;
		}
		if (r == STORE_OK && fsync(fd) < 0)
			r = STORE_EIO;
		close(fd);
		if (r == STORE_OK && rename(tmp, path) < 0)
			r = STORE_EIO;
		if (r == STORE_OK && maildir_fsync_dir(user->dir) < 0)
			r = STORE_EIO;
		if (r != STORE_OK)
			unlink(tmp);
	}
	free(out);
	free(old);
out:
	if (r != STORE_OK)
		log_error("store: user=%s: writing tracking marks failed", user->name);
	if (lock >= 0)
		close(lock);
	free(lockpath);
	free(path);
	free(tmp);
	return r;
}
