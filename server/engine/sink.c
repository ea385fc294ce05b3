/* Streaming sink (see sink.h): two buffers, at most one write job in flight,
 * so writes reach the target in order. */
#include "server/engine/sink.h"

#include <stdint.h>
#include <string.h>

#include "lib/xmem.h"

struct sess_sink {
	struct sess_core *core;
	struct work_pool *pool;
	sess_sink_write_fn *write;
	void *target;
	size_t chunk;
	char *fill;              /* the loop fills this one */
	size_t fill_len;
	char *spare;             /* free buffer, or NULL while being written */
	struct sess_job job;     /* the write in flight */
	const char *job_data;
	size_t job_len;
	int job_err;
	bool writing;
	int err;                 /* first write error */
	size_t total;
	bool finishing, discard, space_wanted;
	void (*on_space)(void *arg);
	void *space_arg;
	void (*done)(void *arg, int err);
	void *done_arg;
};

static void start_write(struct sess_sink *s);

struct sess_sink *sess_sink_create(struct sess_core *core, struct work_pool *pool,
				   size_t chunk_size, sess_sink_write_fn *write, void *target)
{
	struct sess_sink *s = xcalloc(1, sizeof(*s));
	s->core = core;
	s->pool = pool;
	s->write = write;
	s->target = target;
	s->chunk = chunk_size ? chunk_size : 65536;
	return s;
}

void sess_sink_on_space(struct sess_sink *s, void (*on_space)(void *arg), void *arg)
{
	s->on_space = on_space;
	s->space_arg = arg;
}

size_t sess_sink_room(struct sess_sink *s)
{
	if (s->err != 0 || s->discard)
		return SIZE_MAX;
	if (s->fill_len < s->chunk)
		return s->chunk - s->fill_len;
	if (!s->writing)
		return s->chunk; /* a full buffer goes out at once */
	s->space_wanted = true; /* on_space when the write returns */
	return 0;
}

size_t sess_sink_total(const struct sess_sink *s)
{
	return s->total;
}

static void sink_free(struct sess_sink *s)
{
	free(s->fill);
	free(s->spare);
	free(s);
}

static void maybe_finish(struct sess_sink *s)
{
	if (!s->finishing || s->writing)
		return;
	if (s->fill_len > 0 && !s->discard && s->err == 0) {
		start_write(s);
		return;
	}
	s->done(s->done_arg, s->err);
	sink_free(s);
}

static void write_work(struct sess_job *job)
{
	struct sess_sink *s = (struct sess_sink *)((char *)job - offsetof(struct sess_sink, job));
	s->job_err = s->write(s->target, s->job_data, s->job_len);
}

static void write_done(struct sess_job *job)
{
	struct sess_sink *s = (struct sess_sink *)((char *)job - offsetof(struct sess_sink, job));
	s->writing = false;
	s->spare = (char *)s->job_data;
	s->job_data = NULL;
	if (s->job_err != 0 && s->err == 0)
		s->err = s->job_err;
	if (s->finishing) {
		maybe_finish(s);
		return;
	}
	if (s->fill_len == s->chunk)
		start_write(s);
	if (s->space_wanted && s->fill_len < s->chunk) {
		s->space_wanted = false;
		if (s->on_space != NULL && sess_alive(s->core))
			s->on_space(s->space_arg);
	}
}

static void start_write(struct sess_sink *s)
{
	s->job_data = s->fill;
	s->job_len = s->fill_len;
	s->fill = s->spare;
	s->spare = NULL;
	s->fill_len = 0;
	s->writing = true;
	s->job.work = write_work;
	s->job.done = write_done;
	sess_submit(s->core, s->pool, &s->job);
}

size_t sess_sink_feed(struct sess_sink *s, const void *data, size_t len)
{
	if (s->err != 0 || s->discard) {
		s->total += len;
		return len; /* dropped: the error is reported at finish */
	}
	size_t taken = 0;
	while (taken < len) {
		if (s->fill == NULL)
			s->fill = xmalloc(s->chunk);
		size_t room = s->chunk - s->fill_len;
		if (room == 0) {
			if (s->writing) {
				s->space_wanted = true;
				break;
			}
			start_write(s);
			continue;
		}
		size_t n = len - taken < room ? len - taken : room;
		memcpy(s->fill + s->fill_len, (const char *)data + taken, n);
		s->fill_len += n;
		taken += n;
	}
	/* A full buffer goes out as soon as the writer is free. */
	if (s->fill_len == s->chunk && !s->writing)
		start_write(s);
	s->total += taken;
	return taken;
}

void sess_sink_finish(struct sess_sink *s, bool discard, void (*done)(void *arg, int err),
		      void *arg)
{
	s->finishing = true;
	s->discard = discard;
	s->done = done;
	s->done_arg = arg;
	maybe_finish(s);
}
