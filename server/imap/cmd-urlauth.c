/* URLAUTH (RFC 4467): GENURLAUTH signs rump URLs of the user's own
 * messages with the mailbox's access key (made on first use), RESETKEY
 * forgets keys (one mailbox or all: every URL made with them stops
 * working), and URLFETCH serves the message sections URLAUTH-authorized
 * URLs name, to whoever their access identifier lets in, as literals
 * streamed in chunks from the storage pool with output back-pressure; a URL
 * that cannot be fetched (bad token, expired, gone) comes back NIL. */
#include "server/imap/commands.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "server/imap/args.h"
#include "server/imap/reply.h"
#include "server/imap/store-errors.h"
#include "server/imap/url-fetch.h"
#include "server/imap/urlauth.h"
#include "server/services.h"
#include "storage/store.h"

#define FETCH_CHUNK 65536

static bool is_astring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && !a->streamed && a->str != NULL &&
	       strlen(a->str) == a->len;
}

/* ---- GENURLAUTH url mechanism [url mechanism ...] ---- */

struct genurl {
	struct sess_job job;
	struct imap_session *s;
	char **urls;                 /* rump URLs as sent */
	char **mailboxes;            /* ... their mailboxes */
	uint32_t *uidvalidity;       /* ... their ;UIDVALIDITY= (0 = none) */
	size_t n;
	char **out;                  /* the authorized URLs */
	int err;
	size_t failed;               /* which URL err is about */
};

static void genurl_free(void *ctx)
{
	struct genurl *g = ctx;
	for (size_t i = 0; i < g->n; i++) {
		free(g->urls[i]);
		free(g->mailboxes[i]);
		if (g->out != NULL)
			free(g->out[i]);
	}
	free(g->urls);
	free(g->mailboxes);
	free(g->uidvalidity);
	free(g->out);
	free(g);
}

static void genurl_work(struct sess_job *job)
{
	struct genurl *g = (struct genurl *)job;
	g->out = xcalloc(g->n, sizeof(*g->out));
	for (size_t i = 0; i < g->n; i++) {
		unsigned char key[STORE_MAILBOX_KEY_LEN];
		uint32_t uidv = 0;
		g->err = store_mailbox_key(g->s->store_user, g->mailboxes[i], true, key, &uidv);
		if (g->err == STORE_OK && g->uidvalidity[i] != 0 && g->uidvalidity[i] != uidv)
			g->err = STORE_ENOTFOUND;
		if (g->err != STORE_OK) {
			g->failed = i;
			return;
		}
		char token[IMAP_URLAUTH_TOKEN_LEN + 1];
		imap_urlauth_token(key, g->urls[i], strlen(g->urls[i]), token);
		OPENSSL_cleanse(key, sizeof(key));
		g->out[i] = xasprintf("%s:%s:%s", g->urls[i], IMAP_URLAUTH_MECH, token);
	}
}

static void genurl_done(struct sess_job *job)
{
	struct genurl *g = (struct genurl *)job;
	struct imap_session *s = g->s;
	if (sess_alive(&s->core)) {
		conn_cork(s->conn);
		if (g->err != STORE_OK) {
			conn_info(s->conn, "genurlauth refused: %s", store_strerror(g->err));
			imap_reply_tagged(s, imap_cmd_tag(s), "NO",
					  g->err == STORE_ENOTFOUND ? "NONEXISTENT"
					  : imap_store_error_code(g->err, IMAP_STORE_CTX_MAILBOX),
					  g->err == STORE_ENOTFOUND
					  ? "No such mailbox (or its UIDVALIDITY changed)."
					  : imap_store_error_text(g->err, IMAP_STORE_CTX_MAILBOX));
		} else {
			struct imap_resp r;
			imap_resp_init(&r, imap_session_utf8(s));
			imap_resp_raw(&r, "* GENURLAUTH");
			for (size_t i = 0; i < g->n; i++) {
				imap_resp_raw(&r, " ");
				imap_resp_astring(&r, g->out[i], strlen(g->out[i]));
			}
			imap_resp_crlf(&r);
			imap_resp_send(&r, s->conn);
			imap_resp_free(&r);
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "GENURLAUTH completed.");
		}
		conn_uncork(s->conn);
	}
	imap_cmd_finish(s);
}

/* A rump URL this user may have signed: imap://<user>@<our host>/..., one
 * message, an access identifier, no token yet (RFC 4467 5). */
static const char *genurl_check(const struct imap_session *s, const struct imap_url *u)
{
	if (u->form != IMAP_URL_FULL)
		return "GENURLAUTH needs an absolute imap:// URL.";
	if (!imap_url_is_message(u))
		return "GENURLAUTH needs the URL of a message (;UID=).";
	if (u->access == IMAP_URL_ACCESS_NONE)
		return "GENURLAUTH needs a ;URLAUTH= access identifier.";
	if (u->token != NULL)
		return "The URL is authorized already (remove its :mechanism:token).";
	if (!imap_url_user_is(u, s->user))
		return "The URL must name your own mail (imap://you@host/...).";
	return NULL;
}

enum imap_cmd_result imap_cmd_genurlauth(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args < 2 || cmd->n_args % 2 != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  "GENURLAUTH needs pairs of a URL and a mechanism.");
		return IMAP_CMD_DONE;
	}
	struct genurl *g = xcalloc(1, sizeof(*g));
	size_t n = cmd->n_args / 2;
	g->urls = xcalloc(n, sizeof(*g->urls));
	g->mailboxes = xcalloc(n, sizeof(*g->mailboxes));
	g->uidvalidity = xcalloc(n, sizeof(*g->uidvalidity));
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *ua = &cmd->args[2 * i], *ma = &cmd->args[2 * i + 1];
		const char *why = NULL, *status = "BAD";
		struct imap_url u;
		if (!is_astring(ua) || ma->type != IMAP_ARG_ATOM) {
			why = "GENURLAUTH needs pairs of a URL and a mechanism.";
		} else if (imap_url_parse(ua->str, ua->len, &u, &why) == 0) {
			why = genurl_check(s, &u);
			if (why != NULL)
				status = "NO";
			else if (strcasecmp(ma->str, IMAP_URLAUTH_MECH) != 0)
				why = "Unknown URLAUTH mechanism (INTERNAL is offered).";
			if (why == NULL) {
				g->mailboxes[i] = xstrdup(u.mailbox);
				g->uidvalidity[i] = u.uidvalidity;
				g->urls[i] = xstrdup(ua->str);
			}
			imap_url_free(&u);
		}
		g->n = i + 1;
		if (why != NULL) {
			genurl_free(g);
			imap_reply_tagged(s, cmd->tag, status, NULL, why);
			return IMAP_CMD_DONE;
		}
	}
	g->s = s;
	g->job.work = genurl_work;
	g->job.done = genurl_done;
	imap_cmd_hold(s, cmd->tag, g, genurl_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &g->job);
	return IMAP_CMD_AGAIN;
}

/* ---- RESETKEY [mailbox [mechanism ...]] ---- */

struct resetkey {
	struct sess_job job;
	struct imap_session *s;
	char *mailbox;               /* NULL: every mailbox */
	int err;
};

static void resetkey_free(void *ctx)
{
	struct resetkey *r = ctx;
	free(r->mailbox);
	free(r);
}

static void resetkey_work(struct sess_job *job)
{
	struct resetkey *r = (struct resetkey *)job;
	r->err = store_mailbox_key_reset(r->s->store_user, r->mailbox);
}

static void resetkey_done(struct sess_job *job)
{
	struct resetkey *r = (struct resetkey *)job;
	struct imap_session *s = r->s;
	if (sess_alive(&s->core)) {
		if (r->err != STORE_OK) {
			imap_reply_store_error(s, imap_cmd_tag(s), r->err, IMAP_STORE_CTX_MAILBOX);
		} else {
			conn_info(s->conn, "resetkey mailbox=%s", r->mailbox ? r->mailbox : "*");
			imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "RESETKEY completed.");
		}
	}
	imap_cmd_finish(s);
}

enum imap_cmd_result imap_cmd_resetkey(struct imap_session *s, const struct imap_command *cmd)
{
	struct resetkey *r = xcalloc(1, sizeof(*r));
	const char *why = NULL;
	if (cmd->n_args > 0 && (!is_astring(&cmd->args[0]) ||
				imap_arg_mailbox(&cmd->args[0], imap_session_utf8(s), &r->mailbox,
						 &why) < 0))
		why = why != NULL ? why : "RESETKEY takes a mailbox and mechanisms.";
	for (size_t i = 1; i < cmd->n_args && why == NULL; i++)
		if (!imap_arg_is_atom(&cmd->args[i], IMAP_URLAUTH_MECH))
			why = "Unknown URLAUTH mechanism (INTERNAL is offered).";
	if (why != NULL) {
		resetkey_free(r);
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	r->s = s;
	r->job.work = resetkey_work;
	r->job.done = resetkey_done;
	imap_cmd_hold(s, cmd->tag, r, resetkey_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &r->job);
	return IMAP_CMD_AGAIN;
}

/* ---- URLFETCH url [url ...] ---- */

struct urlfetch {
	struct sess_job job;
	struct imap_session *s;
	struct imap_url_ctx ctx;     /* its strings are owned below */
	char *self_name, *submit_user;
	char **raw;                  /* the URLs as sent */
	struct imap_url *urls;       /* ... parsed (form checked on the pool) */
	size_t n, i;                 /* URL i is being answered */
	/* URL i: */
	struct imap_url_source *src; /* open while its literal streams */
	bool nil;                    /* it cannot be fetched */
	bool started;                /* its "* URLFETCH url {n}" went out */
	uint64_t left;               /* literal bytes still to send */
	bool close_src;              /* the next job closes src first */
	char *chunk;
	size_t chunk_len;
	int err;                     /* LOFT_EIO: give up */
};

struct source_close {
	struct work_item item;
	struct imap_url_source *src;
};

static void source_close_run(struct work_item *item)
{
	struct source_close *c = (struct source_close *)item;
	imap_url_close(&c->src);
	free(c);
}

static void urlfetch_free(void *ctx)
{
	struct urlfetch *f = ctx;
	if (f->src != NULL) {
		/* Closing touches the store: on the pool, without the session. */
		struct source_close *c = xcalloc(1, sizeof(*c));
		c->item.run = source_close_run;
		c->src = f->src;
		work_pool_submit(f->s->core.svc->storage_pool, &c->item);
	}
	for (size_t i = 0; i < f->n; i++) {
		free(f->raw[i]);
		imap_url_free(&f->urls[i]);
	}
	free(f->raw);
	free(f->urls);
	free(f->self_name);
	free(f->submit_user);
	free(f->chunk);
	free(f);
}

/* On the pool: close the URL just sent, open URL i if needed, and read
 * its next chunk. */
static void urlfetch_work(struct sess_job *job)
{
	struct urlfetch *f = (struct urlfetch *)job;
	f->chunk_len = 0;
	if (f->close_src) {
		imap_url_close(&f->src);
		f->close_src = false;
	}
	if (f->i == f->n)
		return;
	if (f->src == NULL && !f->nil) {
		const char *why = NULL;
		uint64_t size = 0;
		f->ctx.now = (int64_t)time(NULL);
		int err = imap_url_open(&f->ctx, f->raw[f->i], strlen(f->raw[f->i]), &f->urls[f->i],
					true, &f->src, &size, &why);
		if (err == LOFT_EIO) {
			f->err = err;
			return;
		}
		f->nil = err != 0;
		f->left = size;
		if (f->nil)
			return;
	}
	size_t want = f->left < FETCH_CHUNK ? (size_t)f->left : FETCH_CHUNK;
	if (want > 0 && (imap_url_read(f->src, f->chunk, want, &f->chunk_len) != 0 ||
			 f->chunk_len != want))
		f->err = LOFT_EIO;  /* the literal's size is promised: cannot go on */
}

static enum imap_cmd_result urlfetch_next(struct imap_session *s);

static void urlfetch_done(struct sess_job *job)
{
	struct urlfetch *f = (struct urlfetch *)job;
	struct imap_session *s = f->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (f->err != 0) {
		conn_error(s->conn, "urlfetch: cannot read %s", f->raw[f->i]);
		if (f->started) {
			/* Mid-literal: the reply cannot be finished. */
			imap_bye(s, "Internal error reading a message.", "urlfetch read error");
		} else {
			imap_reply_tagged(s, imap_cmd_tag(s), "NO", "UNAVAILABLE",
					  "Temporary failure, try again.");
		}
		imap_cmd_finish(s);
		return;
	}
	if (f->i == f->n) {
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL, "URLFETCH completed.");
		imap_cmd_finish(s);
		return;
	}
	conn_cork(s->conn);
	struct imap_resp r;
	imap_resp_init(&r, imap_session_utf8(s));
	if (!f->started) {
		imap_resp_raw(&r, "* URLFETCH ");
		imap_resp_astring(&r, f->raw[f->i], strlen(f->raw[f->i]));
		if (f->nil)
			imap_resp_raw(&r, " NIL\r\n");
		else
			imap_resp_printf(&r, " {%" PRIu64 "}\r\n", f->left);
		f->started = true;
	}
	if (f->chunk_len > 0) {
		/* NUL cannot be in a literal (RFC 9051 CHAR8): sent as 0x80, as
		 * FETCH does. */
		for (size_t k = 0; k < f->chunk_len; k++)
			if (f->chunk[k] == '\0')
				f->chunk[k] = (char)0x80;
		imap_resp_rawn(&r, f->chunk, f->chunk_len);
		f->left -= f->chunk_len;
	}
	if (f->nil || f->left == 0) {
		if (!f->nil)
			imap_resp_crlf(&r);
		f->close_src = f->src != NULL;
		f->nil = f->started = false;
		f->i++;
	}
	imap_resp_send(&r, s->conn);
	imap_resp_free(&r);
	conn_uncork(s->conn);
	if (conn_output_full(s->conn)) {
		s->cmd->on_drained = urlfetch_next;   /* the client reads slowly */
		return;
	}
	urlfetch_next(s);
}

static enum imap_cmd_result urlfetch_next(struct imap_session *s)
{
	struct urlfetch *f = s->cmd->ctx;
	s->cmd->on_drained = NULL;
	sess_submit(&s->core, s->core.svc->storage_pool, &f->job);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_urlfetch(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args == 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "URLFETCH needs URLs.");
		return IMAP_CMD_DONE;
	}
	struct urlfetch *f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->raw = xcalloc(cmd->n_args, sizeof(*f->raw));
	f->urls = xcalloc(cmd->n_args, sizeof(*f->urls));
	for (size_t i = 0; i < cmd->n_args; i++) {
		const struct imap_arg *a = &cmd->args[i];
		if (!is_astring(a)) {
			urlfetch_free(f);
			imap_reply_tagged(s, cmd->tag, "BAD", NULL,
					  a->type == IMAP_ARG_LIST
					  ? "URLFETCH parameters (URLAUTH=BINARY) are not offered."
					  : "URLFETCH needs URLs.");
			return IMAP_CMD_DONE;
		}
		f->raw[i] = xstrdup(a->str);
		f->n = i + 1;
		/* An unparseable URL is answered NIL, as any URL that cannot be
		 * fetched (RFC 4467 6). */
		const char *why;
		if (imap_url_parse(a->str, a->len, &f->urls[i], &why) != 0)
			memset(&f->urls[i], 0, sizeof(f->urls[i]));
	}
	const struct loft_config *cfg = conn_config(s->conn);
	f->self_name = xstrdup(s->user);
	f->submit_user = xstrdup(cfg->imap_urlauth_submit_user ? cfg->imap_urlauth_submit_user : "");
	f->ctx = (struct imap_url_ctx){
		.store = s->core.svc->store, .self = s->store_user, .self_name = f->self_name,
		.submit_user = f->submit_user,
	};
	f->chunk = xmalloc(FETCH_CHUNK);
	f->job.work = urlfetch_work;
	f->job.done = urlfetch_done;
	imap_cmd_hold(s, cmd->tag, f, urlfetch_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &f->job);
	return IMAP_CMD_AGAIN;
}
