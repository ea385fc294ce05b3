/* Logging: one line per event, "time level message" with key=value fields
 * (conn=<hex> proto=imap user=... by convention). The sink (level and output
 * stream) is process-wide like stderr itself; the server's top-level context
 * sets it from configuration at start and on reload. Thread-safe: each line
 * is written with a single write(2). A server calls log_async_start() so
 * that logging never blocks a thread on a stalled output: lines then go
 * through a bounded queue and a writer thread, and a line that finds the
 * queue full is dropped, counted and later reported. */
#ifndef LOFT_LIB_LOG_H
#define LOFT_LIB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_WARN = 2,
	LOG_LEVEL_ERROR = 3,
};

/* Parse "debug|info|warn|error"; returns -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Log to this file descriptor (default 2 = stderr). The caller keeps the fd
 * open; pass a new one to switch (e.g. on reload). */
void log_set_fd(int fd);

/* Queue lines for a writer thread from now on / drain the queue (waiting at
 * most about a second for a stalled output) and write synchronously again.
 * Call both from one thread; start returns 0 or LOFT_EIO. */
int log_async_start(void);
void log_async_stop(void);
/* Lines dropped because the queue was full, since the process started. */
unsigned long long log_dropped_total(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_debug(...) do { if (log_get_level() <= LOG_LEVEL_DEBUG) \
	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
