/* A fake DNS zone for the pure cores of server/mailauth/ (SPF, DKIM, DMARC,
 * DNSBL): records added by name and type, answered as struct dns_answer,
 * with the semantics of the RFC 7208 test suite's driver (pyspf's
 * testspf.py): a name's entries are read in order; a bare TIMEOUT entry
 * times out a query for a type not seen before it, a TIMEOUT value times
 * out its own type; a name absent from the zone does not exist (but names
 * beginning "error." time out); a CNAME is followed when the name has no
 * record of the type asked, a CNAME loop answers nothing; empty labels are
 * dropped and a label over 63 octets is an error, as the suite's pydns
 * emulation does. Header-only, for tests, tools and fuzz targets. */
#ifndef LOFT_TESTS_FAKE_DNS_H
#define LOFT_TESTS_FAKE_DNS_H

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/dns/dns.h"

#define FAKE_TIMEOUT_ALL 0   /* a bare TIMEOUT entry (type 0) */

struct fake_rec {
	char *name;          /* lower case, no trailing dot */
	int type;            /* enum dns_type, or FAKE_TIMEOUT_ALL */
	bool timeout;        /* "TYPE: TIMEOUT" */
	uint16_t pref;
	char *text;          /* TXT data / MX host / PTR / CNAME target */
	size_t len;
	uint8_t addr[16];
};

struct fake_zone {
	struct fake_rec *v;
	size_t n;
	unsigned queries;    /* lookups answered */
};

static inline char *fake_norm(const char *name)
{
	size_t len = strlen(name);
	char *s = xmalloc(len + 1);
	size_t o = 0, label = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '.' || c == '\0') {
			if (label > 0) {
				if (o > 0)
					s[o++] = '.';
				memcpy(s + o, name + i - label, label);
				o += label;
			}
			label = 0;
		} else {
			label++;
		}
	}
	s[o] = '\0';
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static inline struct fake_rec *fake_add_(struct fake_zone *z, const char *name, int type)
{
	z->v = xrealloc(z->v, (z->n + 1) * sizeof(*z->v));
	struct fake_rec *r = &z->v[z->n++];
	memset(r, 0, sizeof(*r));
	r->name = fake_norm(name);
	r->type = type;
	return r;
}

static inline void fake_txt(struct fake_zone *z, const char *name, const char *data, size_t len)
{
	struct fake_rec *r = fake_add_(z, name, DNS_T_TXT);
	r->text = xmalloc(len + 1);
	memcpy(r->text, data, len);
	r->text[len] = '\0';
	r->len = len;
}

static inline void fake_txt_str(struct fake_zone *z, const char *name, const char *data)
{
	fake_txt(z, name, data, strlen(data));
}

static inline void fake_addr(struct fake_zone *z, const char *name, const char *ip)
{
	struct fake_rec r0;
	int type = inet_pton(AF_INET, ip, r0.addr) == 1 ? DNS_T_A : DNS_T_AAAA;
	struct fake_rec *r = fake_add_(z, name, type);
	if (inet_pton(type == DNS_T_A ? AF_INET : AF_INET6, ip, r->addr) != 1)
		abort();
}

static inline void fake_mx(struct fake_zone *z, const char *name, unsigned pref, const char *host)
{
	struct fake_rec *r = fake_add_(z, name, DNS_T_MX);
	r->pref = (uint16_t)pref;
	r->text = fake_norm(host);
}

/* PTR or CNAME */
static inline void fake_name(struct fake_zone *z, const char *name, int type, const char *target)
{
	struct fake_rec *r = fake_add_(z, name, type);
	r->text = fake_norm(target);
}

static inline void fake_timeout(struct fake_zone *z, const char *name, int type)
{
	struct fake_rec *r = fake_add_(z, name, type);
	r->timeout = type != FAKE_TIMEOUT_ALL;
}

static inline void fake_zone_clear(struct fake_zone *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].name);
		free(z->v[i].text);
	}
	free(z->v);
	z->v = NULL;
	z->n = 0;
}

/* Answer (name, type); caller frees. */
static inline struct dns_answer *fake_lookup(struct fake_zone *z, const char *qname,
					     enum dns_type type)
{
	z->queries++;
	const char *p = qname;
	size_t label = 0;
	for (; *p; p++) {
		if (*p == '.')
			label = 0;
		else if (++label > 63)
			return dns_answer_status(DNS_TEMPFAIL, type, "label too long");
	}
	char *name = fake_norm(qname);
	char *seen_names[16];
	size_t n_seen = 0;
	struct dns_answer *ans = NULL;
	for (;;) {
		bool exists = false, seen_type = false;
		const char *cname = NULL;
		struct dns_rr *rr = NULL;
		size_t n = 0;
		for (size_t i = 0; i < z->n; i++) {
			struct fake_rec *r = &z->v[i];
			if (strcmp(r->name, name) != 0)
				continue;
			exists = true;
			if (r->type == FAKE_TIMEOUT_ALL) {
				if (!seen_type) {
					free(rr);
					ans = dns_answer_status(DNS_TEMPFAIL, type, "timeout");
					goto out;
				}
				break;
			}
			if (r->type == DNS_T_CNAME && type != DNS_T_CNAME) {
				cname = r->text;
				continue;
			}
			if (r->type != (int)type)
				continue;
			seen_type = true;
			if (r->timeout) {
				free(rr);
				ans = dns_answer_status(DNS_TEMPFAIL, type, "timeout");
				goto out;
			}
			rr = xrealloc(rr, (n + 1) * sizeof(*rr));
			struct dns_rr *d = &rr[n++];
			memset(d, 0, sizeof(*d));
			d->type = type;
			d->ttl = 300;
			switch (type) {
			case DNS_T_A: memcpy(d->u.a, r->addr, 4); break;
			case DNS_T_AAAA: memcpy(d->u.aaaa, r->addr, 16); break;
			case DNS_T_MX: d->u.mx.pref = r->pref; d->u.mx.host = r->text; break;
			case DNS_T_TXT: d->u.txt.data = r->text; d->u.txt.len = r->len; break;
			default: d->u.name = r->text; break;
			}
		}
		if (n > 0) {
			ans = dns_answer_make(DNS_ANSWER, type, 300, NULL, rr, n);
			free(rr);
			goto out;
		}
		free(rr);
		if (!exists) {
			ans = strncmp(name, "error.", 6) == 0
				      ? dns_answer_status(DNS_TEMPFAIL, type, "timeout")
				      : dns_answer_status(DNS_NXDOMAIN, type, NULL);
			goto out;
		}
		if (cname == NULL || n_seen == 16) {
			ans = dns_answer_status(DNS_NODATA, type, NULL);
			goto out;
		}
		seen_names[n_seen++] = name;
		char *next = fake_norm(cname);
		bool loop = false;
		for (size_t i = 0; i < n_seen; i++)
			if (strcmp(seen_names[i], next) == 0)
				loop = true;
		name = next;
		if (loop) {
			ans = dns_answer_status(DNS_NODATA, type, NULL);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n_seen; i++)
		free(seen_names[i]);
	free(name);
	return ans;
}

#endif
