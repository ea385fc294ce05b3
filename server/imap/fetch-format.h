/* IMAP syntax for what storage/message parsed: ENVELOPE, BODY and
 * BODYSTRUCTURE (RFC 3501 / RFC 9051 section 7.5.2, extension data included)
 * and the string forms they use (quoted, literal, NIL). Output is appended to
 * a struct msg_buf; nothing here reads files or sockets. */
#ifndef LOFT_IMAP_FETCH_FORMAT_H
#define LOFT_IMAP_FETCH_FORMAT_H

#include <stdbool.h>

#include "storage/message/message.h"

enum imap_fmt_flags {
	/* message/global parts are body-type-msg (RFC 9051 grammar); without it
	 * they are shown as basic parts, which IMAP4rev1 clients can parse. */
	IMAP_FMT_GLOBAL_AS_MESSAGE = 1u << 0,
};

/* "(date subject from sender reply-to to cc bcc in-reply-to message-id)";
 * env NULL gives every field NIL. */
void imap_fmt_envelope(struct msg_buf *out, const struct msg_envelope *env);
/* The BODY (extended = false) or BODYSTRUCTURE (extended = true) value of
 * the message, parenthesised. flags: enum imap_fmt_flags. */
void imap_fmt_body(struct msg_buf *out, const struct msg_info *info, bool extended,
		   unsigned flags);

/* Strings: "quoted" when possible, else a {n} literal; NIL for absent. */
void imap_fmt_nstring(struct msg_buf *out, const char *s, size_t len, bool present);
/* The same with CR and LF removed (a space where a line break joined words). */
void imap_fmt_nstring_nolf(struct msg_buf *out, const char *s, size_t len, bool present);
/* For display text (subject, names): blanks collapsed, trimmed. */
void imap_fmt_string_for_humans(struct msg_buf *out, const char *s, size_t len);

/* BODY[] literals cannot carry NUL (RFC 3501 CHAR8, RFC 9051 4.3): replace
 * each NUL by 0x80 in place, as other servers do; BINARY[] uses literal8. */
void imap_fmt_nul_to_8bit(char *data, size_t len);

#endif
