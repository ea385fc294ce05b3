/* The state of one APPEND command (internal to cmd-append.c, which reads
 * the arguments and drives the literals, and append-job.c, which does the
 * store work on the pool). An APPEND carries one or more messages
 * (MULTIAPPEND, RFC 3502), each a literal or a CATENATE list of TEXT
 * literals and URLs (RFC 4469). Every message gets its own store_append,
 * streamed into through a sink; what must happen in the store between two
 * literals (begin a message, copy a URL's section, finish a message) is
 * queued as ops that one pool job runs in order, and at the end all
 * messages are committed together or none is. */
#ifndef LOFT_IMAP_APPEND_H
#define LOFT_IMAP_APPEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/engine/session.h"
#include "server/imap/url-fetch.h"
#include "server/imap/url.h"

struct sess_sink;
struct store_append;
struct imap_session;

struct imap_append_msg {
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	int64_t internal_date;
	struct store_append *app;  /* begun by an op; the pool's until commit */
	bool begun;                /* a BEGIN op was queued */
};

enum imap_append_op_kind {
	IMAP_APPEND_BEGIN,         /* store_append_begin */
	IMAP_APPEND_URL,           /* copy what a URL names into the message */
	IMAP_APPEND_TEXT,          /* write buffered bytes */
	IMAP_APPEND_FINISH,        /* the message is complete */
};

struct imap_append_op {
	enum imap_append_op_kind kind;
	size_t msg;
	char *text;                /* URL as sent, or TEXT bytes */
	size_t len;
	struct imap_url url;       /* IMAP_APPEND_URL */
};

/* An error of a URL part: NO [BADURL <url>] (RFC 4469 5). */
#define IMAP_APPEND_EBADURL (-1000)

struct imap_append {
	struct sess_job job;
	struct imap_session *s;
	char *mailbox;
	struct imap_append_msg *msgs;
	size_t n_msgs, cap_msgs;
	struct imap_append_op *ops;
	size_t n_ops, cap_ops;
	/* Where the reading of the arguments stands (cmd-append.c). */
	size_t next_arg;           /* first top-level argument not taken */
	size_t next_part;          /* first CATENATE part of the open list not taken */
	bool cur_open;             /* msgs[n_msgs - 1] still takes arguments */
	bool cur_flags, cur_date;  /* ... it has its flag list / date already */
	/* The literal being decided or streamed. */
	size_t lit_msg;            /* the message it belongs to */
	uint64_t lit_size;
	bool lit_sync;
	bool lit_text;             /* a CATENATE TEXT part (size checked after ops) */
	struct sess_sink *sink;    /* into msgs[lit_msg].app */
	/* The job: run ops, then commit when asked. */
	bool commit;
	int err;                   /* store error, IMAP_APPEND_EBADURL, or 0 */
	char *bad_url;             /* with IMAP_APPEND_EBADURL */
	char *code;                /* a response code made for the reply */
	uint32_t *uids;            /* after commit: the new UIDs */
	/* REPLACE (RFC 8508): one message, committed with the expunge of
	 * replace_uid from the selected mailbox; replace_gone: it was gone. */
	bool replace, replace_gone;
	uint32_t replace_uid;
	uint32_t uidvalidity;
	/* For URL parts: who asks (strings owned). */
	struct imap_url_ctx urlctx;
	char *self_name, *submit_user, *base_mailbox;
};

/* Queue an op (the strings become the op's). */
void imap_append_op(struct imap_append *a, enum imap_append_op_kind kind, size_t msg,
		    char *text, size_t len, const struct imap_url *url);
/* The job's work (pool): the queued ops in order, stopping at the first
 * failure (a->err), then, when a->commit, every message in one commit. */
void imap_append_work(struct sess_job *job);
/* Free a's memory; open appends are discarded on the storage pool after
 * the sink's last write returned (command end or session gone). */
void imap_append_free(void *ctx);

#endif
