/* Store errors as IMAP replies (see store-errors.h). */
#include "server/imap/store-errors.h"

#include "server/imap/session.h"
#include "storage/store.h"

const char *imap_store_error_code(int err, enum imap_store_ctx ctx)
{
	switch (err) {
	case STORE_ENOTFOUND:
		return ctx == IMAP_STORE_CTX_TARGET ? "TRYCREATE" : "NONEXISTENT";
	case STORE_EEXISTS: return "ALREADYEXISTS";
	case STORE_EQUOTA: return "OVERQUOTA";
	case STORE_ETOOBIG: return "TOOBIG";
	case STORE_EINVALID: return "CANNOT";
	case STORE_EINUSE:
		return ctx == IMAP_STORE_CTX_DELETE ? "HASCHILDREN" : "INUSE";
	case STORE_ENOPERM: return ctx == IMAP_STORE_CTX_MAILBOX ? "NOPERM" : "CANNOT";
	case STORE_EIO: return "UNAVAILABLE";
	default: return "SERVERBUG";
	}
}

const char *imap_store_error_text(int err, enum imap_store_ctx ctx)
{
	switch (err) {
	case STORE_ENOTFOUND:
		return ctx == IMAP_STORE_CTX_CREATE ? "Parent mailbox does not exist."
						    : "Mailbox does not exist.";
	case STORE_EEXISTS: return "Mailbox already exists.";
	case STORE_EQUOTA: return "Quota exceeded.";
	case STORE_ETOOBIG: return "Message too big.";
	case STORE_EINVALID:
		return ctx == IMAP_STORE_CTX_RENAME
			? "Invalid mailbox name, or a mailbox renamed into itself."
			: "Invalid mailbox name.";
	case STORE_EINUSE:
		return ctx == IMAP_STORE_CTX_DELETE
			? "Mailbox has children; delete them first."
			: "Mailbox is in use.";
	case STORE_ENOPERM:
		return ctx == IMAP_STORE_CTX_DELETE ? "INBOX cannot be deleted." : "Not allowed.";
	case STORE_EIO: return "Temporary failure, try again.";
	default: return "Internal error.";
	}
}

void imap_reply_store_error(struct imap_session *s, const char *tag, int err,
			    enum imap_store_ctx ctx)
{
	if ((err == STORE_EIO || err == STORE_ECORRUPT) && s->conn != NULL)
		conn_error(s->conn, "store error user=%s: %s", s->user != NULL ? s->user : "-",
			   store_strerror(err));
	imap_reply_tagged(s, tag, "NO", imap_store_error_code(err, ctx),
			  imap_store_error_text(err, ctx));
}
