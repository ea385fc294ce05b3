/* Small whole-file helpers shared by the users file, the app-password file
 * and the login-state file: read a file whole, replace it atomically and
 * durably (temporary file, fsync, rename, directory fsync), and serialise
 * editors with an exclusive lock on "<path>.lock". Blocking I/O: never on an
 * event loop. */
#ifndef LOFT_AUTH_AFILE_H
#define LOFT_AUTH_AFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Read path whole (at most max bytes) into a NUL-terminated heap buffer. A
 * missing file reads as "" with *exists_r false. Returns 0, or -1 with a
 * heap message in *err_r (caller frees). *st_r is valid when *exists_r. */
int afile_read(const char *path, size_t max, char **text_r, size_t *len_r,
	       struct stat *st_r, bool *exists_r, char **err_r);

/* Replace path with buf (mode for a new file, e.g. 0600): writes
 * "<path>.tmp.<pid>.<tid>" in the same directory, fsyncs it, renames it over
 * path and fsyncs the directory. Returns 0 or -1 with *err_r. */
int afile_write(const char *path, const char *buf, size_t len, unsigned mode,
		char **err_r);

/* Take an exclusive flock on "<path>.lock" (created 0600). Returns 0 and the
 * descriptor in *fd_r (close it to unlock), or -1 with *err_r. */
int afile_lock(const char *path, int *fd_r, char **err_r);

/* True when two stats describe the same unchanged file (inode, device,
 * size, mtime and ctime). */
bool afile_same(const struct stat *a, const struct stat *b);

/* A growing heap buffer for building a file's new text. */
struct afile_buf {
	char *data;
	size_t len, cap;
};
void afile_buf_add(struct afile_buf *b, const char *s, size_t n);
void afile_buf_printf(struct afile_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Wipe (the text may hold hashes) and free. */
void afile_buf_free(struct afile_buf *b);

#endif
