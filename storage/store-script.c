/* A user's filter scripts (Sieve, edited over ManageSieve) as files in the
 * user's own directory, so the directory stays self-contained and movable:
 * <user dir>/sieve/<name>.sieve, and the symlink <user dir>/sieve/.active
 * naming the active one. Names are UTF-8; '%', '/' and a leading '.' are
 * escaped as %XX on disk. Every change is atomic and durable: a script is
 * written to a temporary file, fsynced and renamed into place, the link is
 * replaced by rename, and the directory is fsynced before success is
 * returned. Changes are serialised per user by an flock on sieve/.lock. */
#include <dirent.h>
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

#define SCRIPT_SUFFIX ".sieve"

bool store_script_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > STORE_SCRIPT_NAME_MAX)
		return false;
	/* RFC 5804 1.6: no controls (C0, DEL, C1), no line or paragraph
	 * separators; valid UTF-8 */
	const unsigned char *p = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (n == 0 || n > 4 || i + n > len)
			return false;
		uint32_t cp = c & (0xff >> (n + 1));
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f) ||
		    cp == 0x2028 || cp == 0x2029)
			return false;
		i += n;
	}
	return true;
}

static char *file_name(const char *name)
{
	struct msg_buf b = { 0 };
	for (size_t i = 0; name[i]; i++) {
		char c = name[i];
		if (c == '%' || c == '/' || (i == 0 && c == '.'))
			msg_buf_printf(&b, "%%%02X", (unsigned char)c);
		else
			msg_buf_putc(&b, c);
	}
	msg_buf_puts(&b, SCRIPT_SUFFIX);
	msg_buf_putc(&b, '\0');
	return b.data;
}

/* The name of file fname, or NULL if it is not a script file. */
static char *name_of_file(const char *fname)
{
	size_t len = strlen(fname), sl = strlen(SCRIPT_SUFFIX);
	if (len <= sl || strcmp(fname + len - sl, SCRIPT_SUFFIX) != 0 || fname[0] == '.')
		return NULL;
	struct msg_buf b = { 0 };
	for (size_t i = 0; i < len - sl; i++) {
		unsigned v;
		if (fname[i] == '%' && i + 2 < len - sl && sscanf(fname + i + 1, "%2X", &v) == 1) {
			msg_buf_putc(&b, (char)v);
			i += 2;
		} else {
			msg_buf_putc(&b, fname[i]);
		}
	}
	msg_buf_putc(&b, '\0');
	if (!store_script_name_valid(b.data)) {
		msg_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static char *sieve_dir(const struct store_user *user)
{
	return xasprintf("%s/sieve", user->dir);
}

static char *script_path(const struct store_user *user, const char *name)
{
	char *f = file_name(name);
	char *p = xasprintf("%s/sieve/%s", user->dir, f);
	free(f);
	return p;
}

static int errno_to_store(int e)
{
	switch (e) {
	case ENOENT: return STORE_ENOTFOUND;
	case EEXIST: return STORE_EEXISTS;
	case ENAMETOOLONG: return STORE_EINVALID;
	case EDQUOT: return STORE_EQUOTA;
	default: return STORE_EIO;
	}
}

/* Make sieve/ and take the user's script lock (fd), or return an error. */
static int lock_dir(const struct store_user *user, int *fd_r)
{
	char *dir = sieve_dir(user);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("store: mkdir %s: %s", dir, strerror(errno));
		free(dir);
		return STORE_EIO;
	}
	char *lock = xasprintf("%s/.lock", dir);
	free(dir);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		log_error("store: lock %s: %s", lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(lock);
		return STORE_EIO;
	}
	free(lock);
	*fd_r = fd;
	return STORE_OK;
}

static int sync_dir(const struct store_user *user)
{
	char *dir = sieve_dir(user);
	int r = maildir_fsync_dir(dir);
	if (r < 0)
		log_error("store: fsync %s: %s", dir, strerror(-r));
	free(dir);
	return r < 0 ? STORE_EIO : STORE_OK;
}

/* The file name the active link points to, or NULL. */
static char *active_file(const struct store_user *user)
{
	char *link = xasprintf("%s/sieve/.active", user->dir);
	char buf[1024];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	free(link);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

int store_script_active(struct store_user *user, char **name_r)
{
	thread_assert_may_block("store_script_active");
	*name_r = NULL;
	char *f = active_file(user);
	if (f == NULL)
		return STORE_ENOTFOUND;
	char *name = name_of_file(f);
	char *path = xasprintf("%s/sieve/%s", user->dir, f);
	bool exists = access(path, F_OK) == 0;
	free(path);
	free(f);
	if (name == NULL || !exists) {
		free(name);
		return STORE_ENOTFOUND;
	}
	*name_r = name;
	return STORE_OK;
}

int store_script_list(struct store_user *user, struct store_script_info **list_r, size_t *n_r)
{
	thread_assert_may_block("store_script_list");
	*list_r = NULL;
	*n_r = 0;
	char *dir = sieve_dir(user);
	DIR *d = opendir(dir);
	if (d == NULL) {
		int e = errno;
		free(dir);
		return e == ENOENT ? STORE_OK : STORE_EIO;
	}
	char *active = active_file(user);
	struct store_script_info *list = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *name = name_of_file(de->d_name);
		if (name == NULL)
			continue;
		struct stat st;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		int sr = stat(path, &st);
		free(path);
		if (sr < 0 || !S_ISREG(st.st_mode)) {
			free(name);
			continue;
		}
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n].name = name;
		list[n].size = (uint64_t)st.st_size;
		list[n].active = active != NULL && strcmp(active, de->d_name) == 0;
		n++;
	}
	closedir(d);
	free(active);
	free(dir);
	/* a stable order: by name */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(list[k - 1].name, list[k].name) > 0; k--) {
			struct store_script_info t = list[k];
			list[k] = list[k - 1];
			list[k - 1] = t;
		}
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

void store_script_list_free(struct store_script_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int store_script_stamp(struct store_user *user, const char *name,
		       struct store_script_stamp *stamp_r)
{
	thread_assert_may_block("store_script_stamp");
	if (!store_script_name_valid(name))
		return STORE_EINVALID;
	char *path = script_path(user, name);
	struct stat st;
	int r = stat(path, &st);
	free(path);
	if (r < 0)
		return errno_to_store(errno);
	stamp_r->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	stamp_r->size = (uint64_t)st.st_size;
	stamp_r->ino = (uint64_t)st.st_ino;
	return STORE_OK;
}

int store_script_read(struct store_user *user, const char *name, size_t max, char **text_r,
		      size_t *len_r, struct store_script_stamp *stamp_r)
{
	thread_assert_may_block("store_script_read");
	*text_r = NULL;
	*len_r = 0;
	if (!store_script_name_valid(name))
		return STORE_EINVALID;
	char *path = script_path(user, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno_to_store(errno);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return STORE_EIO;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return STORE_ETOOBIG;
	}
	size_t size = (size_t)st.st_size;
	char *text = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	if (stamp_r != NULL) {
		stamp_r->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		stamp_r->size = (uint64_t)st.st_size;
		stamp_r->ino = (uint64_t)st.st_ino;
	}
	*text_r = text;
	*len_r = got;
	return STORE_OK;
}

int store_script_write(struct store_user *user, const char *name, const void *text, size_t len)
{
	thread_assert_may_block("store_script_write");
	if (!store_script_name_valid(name))
		return STORE_EINVALID;
	int lock;
	int r = lock_dir(user, &lock);
	if (r != STORE_OK)
		return r;
	char *path = script_path(user, name);
	char *tmp = xasprintf("%s/sieve/.tmp-%d", user->dir, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = errno_to_store(errno);
		goto out;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, (const char *)text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == ENOSPC || errno == EDQUOT ? STORE_EQUOTA : STORE_EIO;
			break;
		}
		done += (size_t)n;
	}
	if (r == STORE_OK && fsync(fd) < 0)
		r = STORE_EIO;
	if (close(fd) < 0 && r == STORE_OK)
		r = STORE_EIO;
	if (r == STORE_OK && rename(tmp, path) < 0)
		r = errno_to_store(errno);
	if (r != STORE_OK)
		unlink(tmp);
	else
		r = sync_dir(user);
out:
	if (r != STORE_OK)
		log_error("store: user=%s: writing script %s failed: %s", user->name, name,
			  store_strerror(r));
	free(tmp);
	free(path);
	close(lock);
	return r;
}

/* Point .active at file (NULL: remove the link). Under the lock. */
static int set_active_file(struct store_user *user, const char *file)
{
	char *link = xasprintf("%s/sieve/.active", user->dir);
	int r = STORE_OK;
	if (file == NULL) {
		if (unlink(link) < 0 && errno != ENOENT)
			r = STORE_EIO;
	} else {
		char *tmp = xasprintf("%s/sieve/.active-tmp", user->dir);
		unlink(tmp);
		if (symlink(file, tmp) < 0 || rename(tmp, link) < 0) {
			r = STORE_EIO;
			unlink(tmp);
		}
		free(tmp);
	}
	free(link);
	if (r == STORE_OK)
		r = sync_dir(user);
	return r;
}

int store_script_activate(struct store_user *user, const char *name)
{
	thread_assert_may_block("store_script_activate");
	if (name != NULL && !store_script_name_valid(name))
		return STORE_EINVALID;
	int lock;
	int r = lock_dir(user, &lock);
	if (r != STORE_OK)
		return r;
	char *file = name != NULL ? file_name(name) : NULL;
	if (file != NULL) {
		char *path = xasprintf("%s/sieve/%s", user->dir, file);
		if (access(path, F_OK) < 0)
			r = STORE_ENOTFOUND;
		free(path);
	}
	if (r == STORE_OK)
		r = set_active_file(user, file);
	free(file);
	close(lock);
	return r;
}

int store_script_delete(struct store_user *user, const char *name)
{
	thread_assert_may_block("store_script_delete");
	if (!store_script_name_valid(name))
		return STORE_EINVALID;
	int lock;
	int r = lock_dir(user, &lock);
	if (r != STORE_OK)
		return r;
	char *file = file_name(name);
	char *active = active_file(user);
	if (active != NULL && strcmp(active, file) == 0) {
		r = STORE_EINUSE;
	} else {
		char *path = xasprintf("%s/sieve/%s", user->dir, file);
		if (unlink(path) < 0)
			r = errno_to_store(errno);
		else
			r = sync_dir(user);
		free(path);
	}
	free(active);
	free(file);
	close(lock);
	return r;
}

int store_script_rename(struct store_user *user, const char *from, const char *to)
{
	thread_assert_may_block("store_script_rename");
	if (!store_script_name_valid(from) || !store_script_name_valid(to))
		return STORE_EINVALID;
	int lock;
	int r = lock_dir(user, &lock);
	if (r != STORE_OK)
		return r;
	char *ffile = file_name(from), *tfile = file_name(to);
	char *fpath = xasprintf("%s/sieve/%s", user->dir, ffile);
	char *tpath = xasprintf("%s/sieve/%s", user->dir, tfile);
	char *active = active_file(user);
	if (access(fpath, F_OK) < 0) {
		r = STORE_ENOTFOUND;
	} else if (strcmp(ffile, tfile) != 0 && access(tpath, F_OK) == 0) {
		r = STORE_EEXISTS;
	} else if (link(fpath, tpath) < 0 && errno != EEXIST) {
		r = errno_to_store(errno);
	} else {
		/* link, move the active link, then drop the old name: a crash
		 * leaves both names, never none */
		if (active != NULL && strcmp(active, ffile) == 0)
			r = set_active_file(user, tfile);
		if (r == STORE_OK && strcmp(ffile, tfile) != 0 && unlink(fpath) < 0)
			r = STORE_EIO;
		if (r == STORE_OK)
			r = sync_dir(user);
	}
	free(active);
	free(fpath);
	free(tpath);
	free(ffile);
	free(tfile);
	close(lock);
	return r;
}
