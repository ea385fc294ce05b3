/* DNS blocklist lookups of an SMTP client's address (RFC 5782): the
 * query name and the reading of the answer. The lookups themselves run in
 * mailauth.c on the loop's resolver. */
#ifndef LOFT_MAILAUTH_DNSBL_H
#define LOFT_MAILAUTH_DNSBL_H

#include <stdbool.h>
#include <stddef.h>

#include "server/dns/dns.h"
#include "server/mailauth/spf.h"

/* "4.3.2.1.zone" or the IPv6 nibble form; false if it would be too long. */
bool dnsbl_query_name(const struct spf_ip *ip, const char *zone, char *out, size_t cap);

enum dnsbl_status { DNSBL_NOT_LISTED, DNSBL_LISTED, DNSBL_ERROR };
/* A listing writes the answer's address ("127.0.0.2") to code. */
enum dnsbl_status dnsbl_interpret(const struct dns_answer *a, char *code, size_t cap);

#endif
