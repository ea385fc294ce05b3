/* The LMTP (RFC 2033) and SMTP (RFC 5321) front ends, which share one
 * session machine (session.h) and differ in greeting, hello verb, replies
 * after the message and the SMTP-only parts: relay refusal, AUTH, DSN,
 * early talkers and rate limits. */
#ifndef LOFT_LMTP_LMTP_H
#define LOFT_LMTP_LMTP_H

#include "server/net/conn.h"

extern const struct conn_proto lmtp_conn_proto;
extern const struct conn_proto smtp_conn_proto;

#endif
