/* The ManageSieve front end (RFC 5804: scripts edited by clients, over
 * STARTTLS and SASL) as the server sees it: its struct conn_proto. */
#ifndef LOFT_MANAGESIEVE_MANAGESIEVE_H
#define LOFT_MANAGESIEVE_MANAGESIEVE_H

#include "server/net/conn.h"

extern const struct conn_proto managesieve_conn_proto;

#endif
