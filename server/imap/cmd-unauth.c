/* UNAUTHENTICATE (RFC 8437): back to the not-authenticated state on the
 * same connection, so that another identity can log in. The selected
 * mailbox (if any) is dropped, the user's store handle is released on the
 * storage pool, ENABLEd extensions are forgotten, and the line limits,
 * inactivity timeout and login deadline of a fresh connection apply. TLS
 * and COMPRESS stay as they are (RFC 8437 3: they are not tied to the
 * identity); no SASL security layer exists to remove. */
#include "server/imap/commands.h"

#include "lib/xmem.h"
#include "server/services.h"
#include "storage/store.h"

struct unauth {
	struct sess_job job;
	struct imap_session *s;
	struct store_user *su;
};

static void unauth_free(void *ctx)
{
	struct unauth *u = ctx;
	/* Only after the job ran (the command ends in done): nothing open. */
	free(u);
}

static void release_work(struct sess_job *job)
{
	struct unauth *u = (struct unauth *)job;
	store_user_close(&u->su);
}

static void release_done(struct sess_job *job)
{
	struct unauth *u = (struct unauth *)job;
	struct imap_session *s = u->s;
	if (sess_alive(&s->core))
		imap_reply_tagged(s, imap_cmd_tag(s), "OK", NULL,
				  "Not authenticated any more; log in again.");
	imap_cmd_finish(s);
}

enum imap_cmd_result imap_cmd_unauthenticate(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "UNAUTHENTICATE takes no arguments.");
		return IMAP_CMD_DONE;
	}
	conn_info(s->conn, "unauthenticate user=%s", s->user != NULL ? s->user : "-");
	struct unauth *u = xcalloc(1, sizeof(*u));
	u->s = s;
	u->su = imap_session_logged_out(s);
	u->job.work = release_work;
	u->job.done = release_done;
	imap_cmd_hold(s, cmd->tag, u, unauth_free);
	sess_submit(&s->core, s->core.svc->storage_pool, &u->job);
	return IMAP_CMD_AGAIN;
}
