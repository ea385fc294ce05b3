/* Store errors as IMAP replies: the one place where enum store_error becomes
 * a tagged NO with a response code (RFC 5530, RFC 9051 7.1) and a text. The
 * same error means different things to different commands (a missing
 * mailbox is [TRYCREATE] for APPEND, [NONEXISTENT] for STATUS), hence the
 * context argument. */
#ifndef LOFT_IMAP_STORE_ERRORS_H
#define LOFT_IMAP_STORE_ERRORS_H

struct imap_session;

enum imap_store_ctx {
	IMAP_STORE_CTX_MAILBOX,   /* a command on an existing mailbox */
	IMAP_STORE_CTX_TARGET,    /* APPEND/COPY/MOVE target: TRYCREATE */
	IMAP_STORE_CTX_CREATE,    /* CREATE, RENAME's new name */
	IMAP_STORE_CTX_DELETE,    /* DELETE: children are HASCHILDREN */
	IMAP_STORE_CTX_RENAME,    /* RENAME */
};

/* Response code without brackets ("NONEXISTENT"). */
const char *imap_store_error_code(int err, enum imap_store_ctx ctx);
/* Human text for the client. */
const char *imap_store_error_text(int err, enum imap_store_ctx ctx);
/* "<tag> NO [<code>] <text>"; internal errors are logged with details. */
void imap_reply_store_error(struct imap_session *s, const char *tag, int err,
			    enum imap_store_ctx ctx);

#endif
