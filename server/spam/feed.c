/* A message file fed to a request (see feed.h). The feed owns a duplicate
 * descriptor, so the caller may close its own while a read is in flight;
 * a detached feed frees itself when that read returns. */
#include "server/spam/feed.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"

#define FEED_CHUNK (64 * 1024)

struct spam_feed {
	uv_loop_t *loop;
	struct spam_req *req;        /* NULL once detached */
	int fd;
	uint64_t size, offset;
	uv_fs_t fs;
	bool reading;
	size_t len, used;            /* read, and given to the request */
	char buf[FEED_CHUNK];
};

static void feed_free(struct spam_feed *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

static void feed_next(struct spam_feed *f);

static void on_room(void *arg)
{
	feed_next(arg);
}

static void on_read(uv_fs_t *fs)
{
	struct spam_feed *f = fs->data;
	ssize_t n = fs->result;
	uv_fs_req_cleanup(fs);
	f->reading = false;
	if (f->req == NULL) {
		feed_free(f);
		return;
	}
	if (n <= 0) {
		if (n < 0)
			log_warn("spam: reading the message: %s", uv_strerror((int)n));
		f->offset = f->size;     /* the request reports a short body */
		spam_req_end(f->req);
		return;
	}
	f->offset += (uint64_t)n;
	f->len = (size_t)n;
	f->used = 0;
	feed_next(f);
}

static void feed_next(struct spam_feed *f)
{
	while (f->req != NULL && f->used < f->len) {
		size_t n = spam_req_write(f->req, f->buf + f->used, f->len - f->used);
		f->used += n;
		if (n == 0) {
			spam_req_on_room(f->req, on_room, f);
			return;
		}
	}
	if (f->req == NULL)
		return;
	if (f->offset >= f->size) {
		spam_req_end(f->req);
		return;
	}
	uint64_t left = f->size - f->offset;
	uv_buf_t b = uv_buf_init(f->buf, (unsigned)(left < FEED_CHUNK ? left : FEED_CHUNK));
	f->fs.data = f;
	if (uv_fs_read(f->loop, &f->fs, f->fd, &b, 1, (int64_t)f->offset, on_read) == 0)
		f->reading = true;
	else
		spam_req_end(f->req);
}

struct spam_feed *spam_feed_start(uv_loop_t *loop, struct spam_req *req, int fd, uint64_t size)
{
	int own = dup(fd);
	if (own < 0) {
		spam_req_end(req);
		return NULL;
	}
	struct spam_feed *f = xmalloc(sizeof(*f));
	f->loop = loop;
	f->req = req;
	f->fd = own;
	f->size = size;
	f->offset = 0;
	f->reading = false;
	f->len = f->used = 0;
	feed_next(f);
	return f;
}

void spam_feed_detach(struct spam_feed **fp)
{
	struct spam_feed *f = *fp;
	*fp = NULL;
	if (f == NULL)
		return;
	f->req = NULL;
	if (!f->reading)
		feed_free(f);
}
