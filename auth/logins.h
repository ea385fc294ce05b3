/* Login state: when and from where each user last logged in, per service
 * (imap, pop3, smtp) and per app-password device. Recording a login is a
 * memory update under a mutex (no I/O): the state is written to its file
 * (setting login_state_file, by default <state_dir>/logins) by a background
 * thread every flush interval when something changed, and once more when
 * the state is closed, atomically and with fsync (afile_write). A crash
 * loses at most one interval of "last login" times, never a login.
 *
 * File format, one line per entry, tab separated:
 *     user  kind  unix_time  address
 * where kind is a service name or "app:<device>". Only the server writes
 * it; `loft user show` reads it. Memory and file size are bounded by the
 * number of users times (services + devices). */
#ifndef LOFT_AUTH_LOGINS_H
#define LOFT_AUTH_LOGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGINS_KIND_MAX 48
#define LOGINS_ADDR_MAX 64

struct logins;

struct logins_entry {
	char kind[LOGINS_KIND_MAX];        /* "imap", "app:phone", ... */
	char addr[LOGINS_ADDR_MAX];
	int64_t time;                      /* unix time */
};

/* Open the state, reading path if it exists (bad lines are skipped). path
 * NULL keeps the state in memory only. Returns 0 or USERDB_EIO with *err_r.
 * Does I/O. */
int logins_open(const char *path, struct logins **l_r, char **err_r);

/* Start the background flusher (every interval_ms). Optional: without it,
 * call logins_flush() yourself. */
void logins_start_flusher(struct logins *l, unsigned interval_ms);

/* Stop the flusher, flush, free; sets *l to NULL. Does I/O. */
void logins_close(struct logins **l);

/* Record a login of user (canonical) of kind ("imap" or "app:<device>")
 * from addr at time now. Thread-safe, no I/O. */
void logins_record(struct logins *l, const char *user, const char *kind, const char *addr,
		   int64_t now);

/* Write the state if it changed since the last write. Returns 0 or
 * USERDB_EIO with *err_r. Blocks on fsync: not on a loop. */
int logins_flush(struct logins *l, char **err_r);

/* user's entries (heap array, caller frees), from memory. */
void logins_get(struct logins *l, const char *user, struct logins_entry **list_r,
		size_t *count_r);

#endif
