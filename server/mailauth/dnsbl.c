/* DNS blocklists (RFC 5782): the query name of a client address in a zone
 * (reversed IPv4 octets, or reversed IPv6 nibbles, then the zone) and
 * what an answer means: an A record in 127.0.0.0/8 is a listing, except
 * 127.255.255.0/24, which lists use to say the query was refused (the
 * resolver is blocked or over quota): that and a failed lookup are errors,
 * never a listing. Pure code. */
#include "server/mailauth/dnsbl.h"

#include <stdio.h>
#include <string.h>

bool dnsbl_query_name(const struct spf_ip *ip, const char *zone, char *out, size_t cap)
{
	char rev[DNS_REVERSE_MAX];
	dns_reverse_name(ip->family, ip->a, rev);
	/* drop ".in-addr.arpa" / ".ip6.arpa" */
	char *tail = strstr(rev, ip->family == 4 ? ".in-addr.arpa" : ".ip6.arpa");
	if (tail != NULL)
		*tail = '\0';
	int n = snprintf(out, cap, "%s.%s", rev, zone);
	return n > 0 && (size_t)n < cap && dns_name_valid(out);
}

enum dnsbl_status dnsbl_interpret(const struct dns_answer *a, char *code, size_t cap)
{
	if (cap > 0)
		code[0] = '\0';
	if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA)
		return DNSBL_NOT_LISTED;
	if (a->status != DNS_ANSWER)
		return DNSBL_ERROR;
	enum dnsbl_status st = DNSBL_ERROR;
	for (size_t i = 0; i < a->n; i++) {
		const uint8_t *v = a->rr[i].u.a;
		if (a->rr[i].type != DNS_T_A || v[0] != 127)
			continue;
		if (v[1] == 255 && v[2] == 255)
			continue;   /* 127.255.255.x: the list refused to answer */
		snprintf(code, cap, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
		st = DNSBL_LISTED;
		break;
	}
	return st;
}
