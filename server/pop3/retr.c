/* RETR and TOP (RFC 1939 5, 7): a message streamed from the store reader
 * (CRLF-normalised, so the bytes match the octet count LIST gave) through
 * the storage pool, a chunk per job, byte-stuffed on the pool thread. After
 * each chunk the session writes it and either reads the next one or, when
 * the client is not reading (output over max_output_buffer), waits for the
 * drain: a client that pipelines RETRs and never reads holds at most one
 * chunk and the output buffer, and no further command is parsed. */
#include "server/pop3/commands.h"

#include <inttypes.h>
#include <string.h>

#include "lib/xmem.h"
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

static void read_next(struct pop3_session *s, struct retr *r)
{
	r->job.work = read_work;
	r->job.done = read_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &r->job);
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
			pop3_err_store(s, r->err, "retr: cannot read the message");
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
		pop3_cmd_finish(s);
	} else if (conn_output_full(c)) {
		s->cmd->on_drained = retr_drained;
	} else {
		read_next(s, r);
	}
	conn_uncork(c);
}

static enum pop3_cmd_result retr_start(struct pop3_session *s, int64_t index, bool top,
				       uint64_t lines)
{
	struct retr *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->index = (uint32_t)index;
	r->uid = s->drop->uids[index];
	r->top = top;
	pop3_stuffer_init(&r->st, top, lines);
	r->chunk = conn_config(s->conn)->pop3_retr_chunk;
	/* A small message needs no full-size buffers. */
	if (!top && s->drop->sizes[index] + 1 < r->chunk)
		r->chunk = (size_t)s->drop->sizes[index] + 1;
	r->raw = xmalloc(r->chunk);
	r->out = xmalloc(2 * r->chunk);
	pop3_cmd_hold(s, r, retr_free);
	read_next(s, r);
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
