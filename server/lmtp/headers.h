/* The header lines final delivery adds in front of a message, for LMTP,
 * SMTP and `loft deliver` alike, in this order:
 *   Delivered-To: <the recipient>     (when given)
 *   Return-Path: <the envelope sender>  (RFC 5321 4.4: at final delivery)
 *   Received: from <helo> (<client>) by <host> with <protocol> id <id>
 *           [for <recipient>]; <date>   (RFC 5321 4.4, RFC 5322 3.6.7)
 * Return-Path and Received stay next to each other, as RFC 5322's trace
 * grammar wants. Values come from parsed and checked input only (paths
 * from smtp-parse.c, a HELO name smtp_hello_valid accepted), so no client
 * text can end a header line early. */
#ifndef LOFT_LMTP_HEADERS_H
#define LOFT_LMTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct trace_info {
	const char *eol;             /* "\r\n", or "\n" for a bare-LF message */
	const char *delivered_to;    /* address, or NULL: no Delivered-To */
	const char *return_path;     /* address, "" for <>, NULL: none */
	/* Received: only when by_host is set */
	const char *by_host;
	const char *helo;            /* the client's EHLO/HELO/LHLO argument */
	const char *client;          /* its address ("192.0.2.1", "unix") */
	const char *protocol;        /* "ESMTPS", "LMTP", ... (RFC 3848) */
	const char *id;              /* our id of the transaction */
	const char *for_rcpt;        /* the one recipient, or NULL */
	time_t when;
};

/* The lines as one heap string (each ended by eol); *len_r its length. */
char *trace_headers(const struct trace_info *t, size_t *len_r);

/* An RFC 5322 3.3 date-time in local time ("Thu, 3 Dec 2026 10:07:40
 * +0000"), English names whatever the locale; size >= 40. */
void trace_date(time_t when, char *buf, size_t size);

/* The "with" keyword of RFC 3848 / RFC 6531 4.3 for a session: SMTP (HELO),
 * ESMTP, LMTP, with S for TLS and A for AUTH, and the UTF8 forms. */
const char *trace_protocol(bool lmtp, bool esmtp, bool tls, bool auth, bool utf8);

#endif
