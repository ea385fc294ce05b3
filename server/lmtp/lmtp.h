/* The LMTP (RFC 2033) and SMTP (RFC 5321) front ends, which share one
 * session machine and differ in greeting, hello verb and goodbyes. */
#ifndef LOFT_LMTP_LMTP_H
#define LOFT_LMTP_LMTP_H

#include "server/net/conn.h"

extern const struct conn_proto lmtp_conn_proto;
extern const struct conn_proto smtp_conn_proto;

#endif
