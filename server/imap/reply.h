/* The IMAP response writer: every byte the server sends to an IMAP client is
 * built here, so the RFC 9051 grammar of strings lives in one place. A
 * struct imap_resp is a growable buffer that knows whether the session
 * accepts UTF-8 (IMAP4rev2 or ENABLE UTF8=ACCEPT); its writers pick the
 * right form for each value: an atom when the grammar allows one, a quoted
 * string with escapes, or a literal for 8-bit, CR, LF or long text; mailbox
 * names go out in modified UTF-7 or, after UTF-8 was enabled, in UTF-8.
 * Whole responses (tagged, untagged, continuation) are written to the
 * connection by the imap_write_* functions.
 *
 * Ownership: the buffer belongs to the caller (imap_resp_free); strings
 * passed in are borrowed for the call. */
#ifndef LOFT_IMAP_REPLY_H
#define LOFT_IMAP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/* Strings longer than this are sent as literals, not quoted. */
#define IMAP_QUOTED_MAX 1024

struct imap_resp {
	char *data;
	size_t len, cap;
	bool utf8;         /* UTF-8 may appear in quoted strings and names */
};

void imap_resp_init(struct imap_resp *r, bool utf8);
void imap_resp_free(struct imap_resp *r);
/* Forget the content, keep the memory. */
static inline void imap_resp_reset(struct imap_resp *r)
{
	r->len = 0;
}
/* Take the buffer (heap, NUL-terminated, *len_r bytes); r is empty after. */
char *imap_resp_steal(struct imap_resp *r, size_t *len_r);

/* Protocol text exactly as given (keywords, numbers, parentheses, SP). */
void imap_resp_raw(struct imap_resp *r, const char *text);
void imap_resp_rawn(struct imap_resp *r, const char *data, size_t len);
void imap_resp_printf(struct imap_resp *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_resp_crlf(struct imap_resp *r);

/* string: quoted when every byte may be quoted and it is short enough,
 * else a literal "{n}\r\n<bytes>". NUL bytes cannot be part of any IMAP
 * string (CHAR8 excludes them) and are left out. */
void imap_resp_string(struct imap_resp *r, const char *s, size_t len);
/* nstring: NIL for NULL, else a string. */
void imap_resp_nstring(struct imap_resp *r, const char *s, size_t len);
/* astring: an atom when every byte is an ASTRING-CHAR (and it is not
 * empty or "NIL"), else a string. */
void imap_resp_astring(struct imap_resp *r, const char *s, size_t len);
/* A store mailbox name (UTF-8, '/' separated): "INBOX" for the inbox, else
 * modified UTF-7 (or UTF-8 when r->utf8) as an astring. */
void imap_resp_mailbox(struct imap_resp *r, const char *name);
/* Human-readable resp-text: CR, LF and other control bytes become spaces
 * and a leading '[' (which would read as a response code) is avoided. */
void imap_resp_text(struct imap_resp *r, const char *text);

/* Append the buffer to the connection's output and reset it. */
void imap_resp_send(struct imap_resp *r, struct conn *c);

/* Whole responses. code may be NULL; text is written with imap_resp_text. */
void imap_write_tagged(struct conn *c, const char *tag, const char *status,
		       const char *code, const char *text);
/* "* <status> [<code>] <text>" (status: OK, NO, BAD, BYE, PREAUTH). */
void imap_write_untagged(struct conn *c, const char *status, const char *code,
			 const char *text);
/* "+ <text>" */
void imap_write_continuation(struct conn *c, const char *text);

/* Whether len bytes at s are valid UTF-8 without NUL (the check quoted
 * strings and UTF-8 mailbox names need). */
bool imap_utf8_valid(const char *s, size_t len);

#endif
