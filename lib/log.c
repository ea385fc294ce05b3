/* The process-wide log sink (see log.h): level filter, one line per event,
 * and the queue that keeps a stalled log output from stalling the threads
 * that log. Without the queue (tools, tests) each line is one write(2).
 * With it (the server), a line is copied into a bounded buffer under a
 * mutex and a writer thread empties the buffer into the descriptor; when
 * the buffer is full the line is dropped and counted, and the count is
 * logged once the output moves again. */
#include "lib/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"

#define LOG_LINE_MAX 2048
/* Lines waiting for a slow output: about a thousand typical lines. */
#define LOG_QUEUE_BYTES (256 * 1024)
/* At stop, how long a stalled output may hold up the exit. */
#define LOG_STOP_WAIT_MS 1000

static atomic_int log_level_current = LOG_LEVEL_INFO;
static atomic_int log_fd_current = 2;
static atomic_ullong log_dropped_count;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping;
	char buf[LOG_QUEUE_BYTES];  /* whole lines, oldest first */
	size_t len;
	unsigned long long dropped; /* since the last report */
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level_current, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_current);
}

void log_set_fd(int fd)
{
	atomic_store(&log_fd_current, fd);
}

unsigned long long log_dropped_total(void)
{
	return atomic_load(&log_dropped_count);
}

/* "time level " then the message, one line ending in '\n'; returns its
 * length. */
static size_t format_line(char *line, enum log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, LOG_LINE_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, LOG_LINE_MAX - n, ".%03ldZ %s ",
			      ts.tv_nsec / 1000000, log_level_name(level));
	int m = vsnprintf(line + n, LOG_LINE_MAX - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > LOG_LINE_MAX - 2)
		n = LOG_LINE_MAX - 2; /* truncated: keep one line */
	/* Never let a client-supplied byte break the one-line-per-event rule. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	return n;
}

/* Write all of buf; false when stopping and the output stayed stalled for
 * LOG_STOP_WAIT_MS (the rest is dropped). */
static bool write_out(const char *buf, size_t len)
{
	int stalled_ms = 0;
	while (len > 0) {
		int fd = atomic_load(&log_fd_current);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 100) == 0) {
			pthread_mutex_lock(&q.lock);
			bool stopping = q.stopping;
			pthread_mutex_unlock(&q.lock);
			stalled_ms += 100;
			if (stopping && stalled_ms >= LOG_STOP_WAIT_MS)
				return false;
			continue;
		}
		ssize_t w = write(fd, buf, len);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return true; /* nowhere to log to: nothing else to do */
		buf += w;
		len -= (size_t)w;
		stalled_ms = 0;
	}
	return true;
}

static void *writer_main(void *arg)
{
	(void)arg;
	static char out[LOG_QUEUE_BYTES + LOG_LINE_MAX];
	pthread_mutex_lock(&q.lock);
	for (;;) {
		while (q.len == 0 && q.dropped == 0 && !q.stopping)
			pthread_cond_wait(&q.wake, &q.lock);
		if (q.len == 0 && q.dropped == 0)
			break;
		size_t n = q.len;
		memcpy(out, q.buf, n);
		q.len = 0;
		unsigned long long dropped = q.dropped;
		q.dropped = 0;
		pthread_mutex_unlock(&q.lock);
		/* The count is reported after the lines that were queued before
		 * the drops, as soon as the output took them. */
		bool ok = write_out(out, n);
		if (ok && dropped > 0)
			log_msg(LOG_LEVEL_WARN, "log: dropped %llu lines while the log output was "
				"stalled (%llu since start)", dropped, log_dropped_total());
		pthread_mutex_lock(&q.lock);
		if (!ok) {
			q.len = 0;
			break;
		}
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

int log_async_start(void)
{
	pthread_mutex_lock(&q.lock);
	int ret = 0;
	if (!q.running) {
		q.stopping = false;
		q.len = 0;
		ret = pthread_create(&q.thread, NULL, writer_main, NULL) == 0 ? 0 : LOFT_EIO;
		q.running = ret == 0;
	}
	pthread_mutex_unlock(&q.lock);
	return ret;
}

void log_async_stop(void)
{
	pthread_mutex_lock(&q.lock);
	if (!q.running) {
		pthread_mutex_unlock(&q.lock);
		return;
	}
	q.stopping = true;
	pthread_cond_signal(&q.wake);
	pthread_mutex_unlock(&q.lock);
	pthread_join(q.thread, NULL);
	pthread_mutex_lock(&q.lock);
	q.running = false;
	q.stopping = false;
	pthread_mutex_unlock(&q.lock);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if ((int)level < atomic_load(&log_level_current))
		return;
	char line[LOG_LINE_MAX];
	size_t n = format_line(line, level, fmt, ap);
	pthread_mutex_lock(&q.lock);
	if (q.running && !q.stopping) {
		if (q.len + n <= sizeof(q.buf)) {
			memcpy(q.buf + q.len, line, n);
			q.len += n;
			pthread_cond_signal(&q.wake);
		} else {
			q.dropped++;
			atomic_fetch_add(&log_dropped_count, 1);
		}
		pthread_mutex_unlock(&q.lock);
		return;
	}
	pthread_mutex_unlock(&q.lock);
	ssize_t w = write(atomic_load(&log_fd_current), line, n);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
