/* RETR and TOP (RFC 1939 5, 7). A message up to retr_chunk_size octets is
 * usually ready in the read-ahead cache (readahead.h) and answered at once;
 * otherwise, and for TOP, it is streamed from the store reader
 * (CRLF-normalised, so the bytes match the octet count LIST gave) through
 * the storage pool, a chunk per job, byte-stuffed on the pool thread. After
 * each chunk the session writes it and either reads the next one or, when
 * the client is not reading (output over max_output_buffer), waits for the
 * drain: a client that pipelines RETRs and never reads holds at most one
 * chunk, the read-ahead budget and the output buffer, and no further
 * command is parsed. */
#include "server/pop3/commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/pop3/readahead.h"
#include "server/pop3/stuff.h"
#include "server/services.h"
#include "storage/store.h"

struct retr {
	struct sess_job job;
	struct pop3_session *s;
	uint32_t index;               /* in the maildrop */
	uint32_t uid;
	bool top;
	struct pop3_stuffer st;
	struct store_reader *reader;
	uint64_t vsize, read;         /* the reader's size, bytes read so far */
	size_t chunk;
	char *raw;                    /* [chunk] */
	char *out;                    /* [2 * chunk] stuffed */
	size_t out_len;
	bool started;                 /* the status line was sent */
	bool eof;
	int err;
	bool ra_tried;                /* a read-ahead job for it was started */
};

static void retr_free(void *ctx)
{
	struct retr *r = ctx;
	store_reader_close(&r->reader); /* closes a descriptor: no I/O */
	free(r->raw);
	free(r->out);
	free(r);
}

static void read_work(struct sess_job *job)
{
	struct retr *r = (struct retr *)job;
	r->out_len = 0;
	if (r->reader == NULL) {
		r->err = store_reader_open(r->s->inbox, r->uid, &r->reader, &r->vsize);
		if (r->err != 0)
			return;
	}
	size_t got = 0;
	while (got < r->chunk && r->read < r->vsize) {
		size_t n;
		r->err = store_reader_read(r->reader, r->raw + got, r->chunk - got, &n);
		if (r->err != 0)
			return;
		if (n == 0)
			break;
		got += n;
		r->read += n;
	}
	r->out_len = pop3_stuff(&r->st, r->raw, got, r->out);
	if (got < r->chunk || r->read >= r->vsize || r->st.done) {
		r->eof = true;
		store_reader_close(&r->reader);
	}
}

static void read_done(struct sess_job *job);
static void read_ahead_after(struct pop3_session *s, uint32_t index);

static void read_next(struct pop3_session *s, struct retr *r)
{
	r->job.work = read_work;
	r->job.done = read_done;
	pop3_storage_submit(s, &r->job);
}

static enum pop3_cmd_result retr_drained(struct pop3_session *s)
{
	read_next(s, s->cmd->ctx);
	return POP3_CMD_AGAIN;
}

static void read_done(struct sess_job *job)
{
	struct retr *r = (struct retr *)job;
	struct pop3_session *s = r->s;
	if (!sess_alive(&s->core) || conn_is_closing(s->conn)) {
		pop3_cmd_finish(s);
		return;
	}
	struct conn *c = s->conn;
	conn_cork(c);
	if (r->err != 0) {
		if (r->started) {
			/* A multi-line reply cannot be taken back: end the
			 * connection (nothing is deleted without QUIT). */
			conn_error(c, "retr user=%s uid=%" PRIu32 ": %s", s->user, r->uid,
				   store_strerror(r->err));
			conn_close(c, "message read failed");
		} else if (r->err == STORE_ENOTFOUND) {
			pop3_err(s, NULL, "The message was removed by another session.");
		} else {
			char what[128];
			snprintf(what, sizeof(what), "retr user=%s uid=%" PRIu32 ": cannot read the message",
				 s->user, r->uid);
			pop3_err_store(s, r->err, what);
		}
		pop3_cmd_finish(s);
		conn_uncork(c);
		return;
	}
	if (!r->started) {
		r->started = true;
		if (r->top)
			pop3_ok(s, "Top of message follows");
		else
			pop3_ok(s, "%" PRIu64 " octets", s->drop->sizes[r->index]);
	}
	conn_write(c, r->out, r->out_len);
	if (r->eof) {
		conn_write_str(c, pop3_stuff_end(&r->st));
		if (!r->top)
			s->drop->marks[r->index] |= POP3_MARK_RETR;
		uint32_t index = r->index;
		bool top = r->top;
		pop3_cmd_finish(s);
		if (!top && sess_alive(&s->core) && !conn_is_closing(c))
			read_ahead_after(s, index);
	} else if (conn_output_full(c)) {
		s->cmd->on_drained = retr_drained;
	} else {
		read_next(s, r);
	}
	conn_uncork(c);
}

static void stream_start(struct pop3_session *s, struct retr *r)
{
	r->chunk = conn_config(s->conn)->pop3_retr_chunk;
	/* A small message needs no full-size buffers. */
	if (!r->top && s->drop->sizes[r->index] + 1 < r->chunk)
		r->chunk = (size_t)s->drop->sizes[r->index] + 1;
	r->raw = xmalloc(r->chunk);
	r->out = xmalloc(2 * r->chunk);
	read_next(s, r);
}

/* RETR's reply from the read-ahead cache: no pool round trip. */
static void serve_ready(struct pop3_session *s, uint32_t index, char *data, size_t len)
{
	pop3_ok(s, "%" PRIu64 " octets", s->drop->sizes[index]);
	conn_write(s->conn, data, len);
	free(data);
	s->drop->marks[index] |= POP3_MARK_RETR;
}

/* What to read ahead from message index i on: RETRs the client already
 * pipelined (unparsed input), else the messages after i, in order. */
static unsigned predict(struct pop3_session *s, int64_t first, uint32_t after,
			uint32_t out[POP3_RA_MAX])
{
	unsigned n = 0;
	if (first >= 0)
		out[n++] = (uint32_t)first;
	const char *data;
	size_t len;
	conn_input(s->conn, &data, &len);
	size_t p = 0;
	bool pipelined = false;
	for (unsigned lines = 0; lines < 2 * POP3_RA_MAX && n < POP3_RA_MAX && p < len; lines++) {
		const char *nl = memchr(data + p, '\n', len - p);
		if (nl == NULL)
			break;
		size_t l = (size_t)(nl - (data + p));
		if (l > 0 && data[p + l - 1] == '\r')
			l--;
		struct pop3_cmdline cmd;
		uint32_t num;
		bool deleted;
		int64_t i;
		if (pop3_parse_line(data + p, l, &cmd) == POP3_PARSE_OK &&
		    strcmp(cmd.keyword, "RETR") == 0 && cmd.n_args == 1 &&
		    pop3_parse_number(cmd.args[0], cmd.arg_len[0], UINT32_MAX, &num) &&
		    (i = pop3_maildrop_find(s->drop, num, &deleted)) >= 0) {
			out[n++] = (uint32_t)i;
			pipelined = true;
		}
		p = (size_t)(nl - data) + 1;
	}
	if (pipelined)
		return n;
	for (uint32_t i = after + 1; i < s->drop->count && n < POP3_RA_MAX; i++)
		if (!(s->drop->marks[i] & POP3_MARK_DELE))
			out[n++] = i;
	return n;
}

static void read_ahead_after(struct pop3_session *s, uint32_t index)
{
	/* Refill when the cache runs low, so that one job reads many. */
	if (pop3_ra_busy(s->ra) || pop3_ra_count(s->ra) > POP3_RA_MAX / 4)
		return;
	uint32_t idx[POP3_RA_MAX];
	unsigned n = predict(s, -1, index, idx);
	pop3_ra_start(s, idx, n);
}

/* A held RETR waiting for read-ahead: the job returned. */
static enum pop3_cmd_result retr_ready(struct pop3_session *s)
{
	struct retr *r = s->cmd->ctx;
	size_t len;
	char *data = pop3_ra_take(s->ra, r->index, &len);
	if (data != NULL) {
		uint32_t index = r->index;
		serve_ready(s, index, data, len);
		s->cmd->on_storage_idle = NULL;
		read_ahead_after(s, index);
		return POP3_CMD_DONE;
	}
	if (!r->ra_tried) {
		/* that job was reading other messages: now this one */
		uint32_t idx[POP3_RA_MAX];
		unsigned n = predict(s, r->index, r->index, idx);
		r->ra_tried = true;
		pop3_ra_start(s, idx, n);
		return POP3_CMD_AGAIN;
	}
	/* not read ahead (the file changed size, an error): stream it, which
	 * reports any error properly */
	s->cmd->on_storage_idle = NULL;
	stream_start(s, r);
	return POP3_CMD_AGAIN;
}

static enum pop3_cmd_result retr_start(struct pop3_session *s, int64_t index, bool top,
				       uint64_t lines)
{
	if (!top) {
		size_t len;
		char *data = pop3_ra_take(s->ra, (uint32_t)index, &len);
		if (data != NULL) {
			serve_ready(s, (uint32_t)index, data, len);
			read_ahead_after(s, (uint32_t)index);
			return POP3_CMD_DONE;
		}
	}
	struct retr *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->index = (uint32_t)index;
	r->uid = s->drop->uids[index];
	r->top = top;
	pop3_stuffer_init(&r->st, top, lines);
	struct pop3_cmd *cmd = pop3_cmd_hold(s, r, retr_free);
	if (!top && pop3_ra_eligible(s->ra, s->drop->sizes[index])) {
		cmd->on_storage_idle = retr_ready;
		if (!pop3_ra_busy(s->ra)) {
			uint32_t idx[POP3_RA_MAX];
			unsigned n = predict(s, index, (uint32_t)index, idx);
			r->ra_tried = true;
			pop3_ra_start(s, idx, n);
		}
		return POP3_CMD_AGAIN;
	}
	stream_start(s, r);
	return POP3_CMD_AGAIN;
}

enum pop3_cmd_result pop3_cmd_retr(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args != 1) {
		pop3_err(s, NULL, "RETR needs a message number.");
		return POP3_CMD_DONE;
	}
	int64_t i = pop3_msg_arg(s, cmd->args[0], cmd->arg_len[0]);
	if (i < 0)
		return POP3_CMD_DONE;
	return retr_start(s, i, false, 0);
}

enum pop3_cmd_result pop3_cmd_top(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	if (cmd->n_args != 2) {
		pop3_err(s, NULL, "TOP needs a message number and a number of lines.");
		return POP3_CMD_DONE;
	}
	uint32_t lines;
	if (!pop3_parse_number(cmd->args[1], cmd->arg_len[1], UINT32_MAX, &lines)) {
		pop3_err(s, NULL, "Invalid number of lines.");
		return POP3_CMD_DONE;
	}
	int64_t i = pop3_msg_arg(s, cmd->args[0], cmd->arg_len[0]);
	if (i < 0)
		return POP3_CMD_DONE;
	return retr_start(s, i, true, lines);
}
