/* The POP3 front end (RFC 1939, 2449 CAPA, 2595 STLS, 3206 response codes)
 * as the server sees it: its struct conn_proto. */
#ifndef LOFT_POP3_POP3_H
#define LOFT_POP3_POP3_H

#include "server/net/conn.h"

extern const struct conn_proto pop3_conn_proto;

#endif
