/* The IMAP front end as the server sees it: its struct conn_proto. */
#ifndef LOFT_IMAP_IMAP_H
#define LOFT_IMAP_IMAP_H

#include "server/net/conn.h"

extern const struct conn_proto imap_conn_proto;

#endif
