/* DNS answers as single allocations (records, then their strings) and the
 * name helpers every lookup needs: validity of a query name, comparison,
 * and the reverse (PTR) name of an address. Pure code. */
#include "server/dns/dns.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"

const char *dns_type_name(enum dns_type t)
{
	switch (t) {
	case DNS_T_A: return "A";
	case DNS_T_CNAME: return "CNAME";
	case DNS_T_SOA: return "SOA";
	case DNS_T_PTR: return "PTR";
	case DNS_T_MX: return "MX";
	case DNS_T_TXT: return "TXT";
	case DNS_T_AAAA: return "AAAA";
	}
	return "?";
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_ANSWER: return "answer";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NODATA: return "nodata";
	case DNS_TEMPFAIL: return "tempfail";
	}
	return "?";
}

static size_t rr_strings_size(const struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_MX: return strlen(rr->u.mx.host) + 1;
	case DNS_T_PTR:
	case DNS_T_CNAME: return strlen(rr->u.name) + 1;
	case DNS_T_TXT: return rr->u.txt.len + 1;
	default: return 0;
	}
}

struct dns_answer *dns_answer_make(enum dns_status status, enum dns_type type, uint32_t ttl,
				   const char *why, const struct dns_rr *rr, size_t n)
{
	size_t size = sizeof(struct dns_answer) + n * sizeof(struct dns_rr);
	for (size_t i = 0; i < n; i++)
		size += rr_strings_size(&rr[i]);
	char *block = xcalloc(1, size);
	struct dns_answer *a = (struct dns_answer *)block;
	a->status = status;
	a->type = type;
	a->ttl = ttl;
	a->why = why;
	a->n = n;
	a->rr = n > 0 ? (struct dns_rr *)(block + sizeof(*a)) : NULL;
	char *s = block + sizeof(*a) + n * sizeof(struct dns_rr);
	for (size_t i = 0; i < n; i++) {
		struct dns_rr *d = &a->rr[i];
		*d = rr[i];
		size_t len;
		switch (rr[i].type) {
		case DNS_T_MX:
			len = strlen(rr[i].u.mx.host) + 1;
			memcpy(s, rr[i].u.mx.host, len);
			d->u.mx.host = s;
			s += len;
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			len = strlen(rr[i].u.name) + 1;
			memcpy(s, rr[i].u.name, len);
			d->u.name = s;
			s += len;
			break;
		case DNS_T_TXT:
			if (rr[i].u.txt.len > 0)
				memcpy(s, rr[i].u.txt.data, rr[i].u.txt.len);
			s[rr[i].u.txt.len] = '\0';
			d->u.txt.data = s;
			s += rr[i].u.txt.len + 1;
			break;
		default:
			break;
		}
	}
	return a;
}

struct dns_answer *dns_answer_dup(const struct dns_answer *a)
{
	return dns_answer_make(a->status, a->type, a->ttl, a->why, a->rr, a->n);
}

struct dns_answer *dns_answer_status(enum dns_status status, enum dns_type type,
				     const char *why)
{
	return dns_answer_make(status, type, 0, why, NULL, 0);
}

void dns_answer_free(struct dns_answer **a)
{
	x_free(a);
}

bool dns_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > 63) {
			return false;
		}
	}
	return label > 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

bool dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

void dns_reverse_name(int family, const uint8_t *addr, char *out)
{
	static const char hex[] = "0123456789abcdef";
	if (family == 4) {
		snprintf(out, DNS_REVERSE_MAX, "%u.%u.%u.%u.in-addr.arpa", addr[3], addr[2],
			 addr[1], addr[0]);
		return;
	}
	char *p = out;
	for (int i = 15; i >= 0; i--) {
		*p++ = hex[addr[i] & 0xf];
		*p++ = '.';
		*p++ = hex[addr[i] >> 4];
		*p++ = '.';
	}
	memcpy(p, "ip6.arpa", 9);
}
