/* store_reader: a message's bytes as IMAP and POP3 count them, with every
 * bare LF turned into CRLF while streaming. Files already in CRLF form are
 * read as they are. For the others a sparse index of checkpoints (the
 * CRLF-normalised offset of every 64 KiB boundary of the file) is built by
 * one pass the first time the message is opened and kept in a small cache
 * per user environment, so BODY[]<offset.len> costs one seek to the
 * checkpoint below the offset and at most 64 KiB of conversion. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"
#include "lib/thread-role.h"

#define CRLF_STEP 65536u
#define CRLF_CACHE_MAX 64

struct store_crlf_index {
	struct store_crlf_index *next;
	uint32_t mbox_id, uidvalidity, uid;
	uint64_t size, vsize;
	size_t n;                   /* checkpoints: out[k] for file offset k * STEP */
	uint64_t *out;
};

struct store_reader {
	int fd;
	uint64_t size, vsize;
	bool identity;              /* file already has CRLF line ends */
	struct store_crlf_index *ix; /* private copy of the checkpoints */
	uint64_t in_pos, out_pos;
	bool prev_cr, pending_lf;
};

static void ix_free(struct store_crlf_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->out);
	free(ix);
}

void store_reader_cache_free(struct store_user *u)
{
	while (u->crlf_cache != NULL) {
		struct store_crlf_index *ix = u->crlf_cache;
		u->crlf_cache = ix->next;
		ix_free(ix);
	}
}

static struct store_crlf_index *ix_copy(const struct store_crlf_index *ix)
{
	struct store_crlf_index *c = xmalloc(sizeof(*c));
	*c = *ix;
	c->next = NULL;
	c->out = xmalloc((ix->n ? ix->n : 1) * sizeof(*c->out));
	memcpy(c->out, ix->out, ix->n * sizeof(*c->out));
	return c;
}

/* One pass over the file. */
static int ix_build(int fd, uint64_t size, struct store_crlf_index *ix)
{
	ix->n = (size_t)(size / CRLF_STEP) + 1;
	ix->out = xmalloc(ix->n * sizeof(*ix->out));
	char *buf = xmalloc(CRLF_STEP);
	bool cr = false;
	uint64_t v = 0;
	int err = 0;
	for (size_t k = 0; k < ix->n; k++) {
		ix->out[k] = v;
		ssize_t got = pread(fd, buf, CRLF_STEP, (off_t)k * CRLF_STEP);
		if (got < 0) {
			err = STORE_EIO;
			break;
		}
		v += maildir_crlf_size(buf, (size_t)got, &cr);
	}
	free(buf);
	ix->vsize = v;
	return err;
}

/* Find (and move to the front) or build the index; returns a private copy. */
static int ix_get(struct store_mailbox *mbox, uint32_t uid, int fd, uint64_t size,
		  struct store_crlf_index **ix_r)
{
	struct store_user *u = mbox->user;
	pthread_mutex_lock(&u->crlf_lock);
	struct store_crlf_index **pp = &u->crlf_cache, *found = NULL;
	size_t depth = 0;
	for (; *pp != NULL; pp = &(*pp)->next, depth++) {
		struct store_crlf_index *ix = *pp;
		if (ix->mbox_id == mbox->id && ix->uid == uid && ix->uidvalidity == mbox->uidvalidity &&
		    ix->size == size) {
			*pp = ix->next;
			ix->next = u->crlf_cache;
			u->crlf_cache = ix;
			found = ix_copy(ix);
			break;
		}
	}
	pthread_mutex_unlock(&u->crlf_lock);
	if (found != NULL) {
		*ix_r = found;
		return 0;
	}
	struct store_crlf_index *ix = xcalloc(1, sizeof(*ix));
	ix->mbox_id = mbox->id;
	ix->uidvalidity = mbox->uidvalidity;
	ix->uid = uid;
	ix->size = size;
	int err = ix_build(fd, size, ix);
	if (err != 0) {
		ix_free(ix);
		return err;
	}
	*ix_r = ix_copy(ix);
	pthread_mutex_lock(&u->crlf_lock);
	ix->next = u->crlf_cache;
	u->crlf_cache = ix;
	/* keep the cache bounded: drop the least recently used */
	pp = &u->crlf_cache;
	for (depth = 0; *pp != NULL && depth < CRLF_CACHE_MAX; depth++)
		pp = &(*pp)->next;
	struct store_crlf_index *tail = *pp;
	*pp = NULL;
	pthread_mutex_unlock(&u->crlf_lock);
	while (tail != NULL) {
		struct store_crlf_index *next = tail->next;
		ix_free(tail);
		tail = next;
	}
	return 0;
}

int store_reader_open(struct store_mailbox *mbox, uint32_t uid, struct store_reader **reader_r,
		      uint64_t *vsize_r)
{
	*reader_r = NULL;
	struct store_msg msg;
	int err = store_msg_get(mbox, uid, &msg, NULL);
	int fd = -1;
	uint64_t size = 0;
	if (err == 0)
		err = store_msg_open(mbox, uid, &fd, &size);
	if (err != 0)
		return err;
	struct store_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->size = size;
	r->vsize = msg.vsize;
	r->identity = msg.vsize == size && msg.size == size;
	if (!r->identity && size <= CRLF_STEP && size == msg.size) {
		/* One checkpoint (offset 0) is the whole index: no pass over the
		 * file; its size with CRLF line ends is the record's. */
		r->ix = xcalloc(1, sizeof(*r->ix));
		r->ix->n = 1;
		r->ix->out = xcalloc(1, sizeof(*r->ix->out));
		r->ix->size = size;
		r->ix->vsize = msg.vsize;
	} else if (!r->identity) {
		err = ix_get(mbox, uid, fd, size, &r->ix);
		if (err != 0) {
			store_reader_close(&r);
			return err;
		}
		r->vsize = r->ix->vsize;   /* the file decides, not the record */
	}
	if (vsize_r != NULL)
		*vsize_r = r->vsize;
	*reader_r = r;
	return 0;
}

void store_reader_close(struct store_reader **reader)
{
	struct store_reader *r = *reader;
	if (r == NULL)
		return;
	*reader = NULL;
	if (r->fd >= 0)
		close(r->fd);
	ix_free(r->ix);
	free(r);
}

/* Convert input from r->in_pos into buf (or only skip when buf is NULL)
 * until len output bytes were produced or the file ends. Spans between
 * line feeds are copied whole. */
static int convert(struct store_reader *r, char *buf, size_t len, size_t *got_r)
{
	char in[16384];
	size_t got = 0;
	while (got < len) {
		if (r->pending_lf) {
			if (buf != NULL)
				buf[got] = '\n';
			got++;
			r->pending_lf = false;
			r->out_pos++;
			continue;
		}
		size_t want = sizeof(in);
		if (want > len - got)
			want = len - got;   /* at least one output byte per input byte */
		ssize_t n = pread(r->fd, in, want, (off_t)r->in_pos);
		if (n < 0) {
			log_error("store: read message: %s", strerror(errno));
			return STORE_EIO;
		}
		if (n == 0)
			break;
		size_t i = 0;
		while (i < (size_t)n && got < len) {
			const char *nl = memchr(in + i, '\n', (size_t)n - i);
			size_t span = (nl != NULL ? (size_t)(nl - in) : (size_t)n) - i;
			if (span > len - got)
				span = len - got;
			if (span > 0) {
				if (buf != NULL)
					memcpy(buf + got, in + i, span);
				got += span;
				r->out_pos += span;
				r->in_pos += span;
				r->prev_cr = in[i + span - 1] == '\r';
				i += span;
			}
			if (i == (size_t)n || got == len || in[i] != '\n')
				continue;
			/* a line feed: CR first unless the file has one */
			r->in_pos++;
			i++;
			if (!r->prev_cr) {
				if (buf != NULL)
					buf[got] = '\r';
				got++;
				r->out_pos++;
				if (got == len) {
					r->pending_lf = true;
					r->prev_cr = false;
					break;
				}
			}
			if (buf != NULL)
				buf[got] = '\n';
			got++;
			r->out_pos++;
			r->prev_cr = false;
		}
	}
	*got_r = got;
	return 0;
}

int store_reader_seek(struct store_reader *r, uint64_t offset)
{
	if (offset > r->vsize)
		offset = r->vsize;
	r->pending_lf = false;
	if (r->identity) {
		r->in_pos = r->out_pos = offset;
		return 0;
	}
	/* the last checkpoint at or below offset */
	size_t lo = 0, hi = r->ix->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->ix->out[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	r->in_pos = (uint64_t)lo * CRLF_STEP;
	r->out_pos = r->ix->out[lo];
	r->prev_cr = false;
	if (r->in_pos > 0) {
		char c = 0;
		if (pread(r->fd, &c, 1, (off_t)r->in_pos - 1) != 1)
			return STORE_EIO;
		r->prev_cr = c == '\r';
	}
	size_t skipped;
	return convert(r, NULL, (size_t)(offset - r->out_pos), &skipped);
}

int store_reader_read(struct store_reader *r, void *buf, size_t len, size_t *got_r)
{
	thread_assert_may_block("store_reader_read");
	*got_r = 0;
	if (r->identity) {
		ssize_t n = pread(r->fd, buf, len, (off_t)r->in_pos);
		if (n < 0)
			return STORE_EIO;
		r->in_pos += (uint64_t)n;
		r->out_pos = r->in_pos;
		*got_r = (size_t)n;
		return 0;
	}
	return convert(r, buf, len, got_r);
}

int store_reader_seek_raw(struct store_reader *r, uint64_t raw_offset, uint64_t *offset_r)
{
	thread_assert_may_block("store_reader_seek_raw");
	if (raw_offset > r->size)
		raw_offset = r->size;
	r->pending_lf = false;
	if (r->identity) {
		r->in_pos = r->out_pos = raw_offset;
		*offset_r = raw_offset;
		return 0;
	}
	/* from the checkpoint below, count what the bytes up to raw_offset
	 * become with CRLF line ends */
	size_t k = (size_t)(raw_offset / CRLF_STEP);
	if (k >= r->ix->n)
		k = r->ix->n - 1;
	uint64_t in = (uint64_t)k * CRLF_STEP, out = r->ix->out[k];
	bool cr = false;
	char buf[16384];
	if (in > 0) {
		char c = 0;
		if (pread(r->fd, &c, 1, (off_t)in - 1) != 1)
			return STORE_EIO;
		cr = c == '\r';
	}
	while (in < raw_offset) {
		size_t want = raw_offset - in < sizeof(buf) ? (size_t)(raw_offset - in) : sizeof(buf);
		ssize_t n = pread(r->fd, buf, want, (off_t)in);
		if (n <= 0) {
			if (n < 0)
				log_error("store: read message: %s", strerror(errno));
			return STORE_EIO;
		}
		out += maildir_crlf_size(buf, (size_t)n, &cr);
		in += (uint64_t)n;
	}
	r->in_pos = in;
	r->out_pos = out;
	r->prev_cr = cr;
	*offset_r = out;
	return 0;
}

int store_reader_pread(struct store_reader *r, uint64_t raw_offset, void *buf, size_t len,
		       size_t *got_r)
{
	thread_assert_may_block("store_reader_pread");
	*got_r = 0;
	if (raw_offset >= r->size || len == 0)
		return 0;
	if (len > r->size - raw_offset)
		len = (size_t)(r->size - raw_offset);
	ssize_t n = pread(r->fd, buf, len, (off_t)raw_offset);
	if (n < 0) {
		log_error("store: read message: %s", strerror(errno));
		return STORE_EIO;
	}
	*got_r = (size_t)n;
	return 0;
}
