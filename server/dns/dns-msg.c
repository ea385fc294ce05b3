/* The DNS wire format of a reply (RFC 1035 4.1), read into a struct
 * dns_answer: the RCODE becomes a status, CNAME chains inside the answer
 * section are followed from the question's name, TXT strings are joined,
 * and the negative TTL comes from the authority section's SOA (RFC 2308 5).
 * c-ares does the transport (retries, TCP after truncation); this file only
 * reads bytes, and never past the length it is given (fuzzed). */
#include "server/dns/dns.h"

#include <string.h>

#include "lib/xmem.h"

/* Presentation form of one name: 255 wire octets, some escaped as \DDD. */
#define NAME_MAX_TEXT 1024
/* CNAMEs followed inside one reply. */
#define CNAME_CHAIN_MAX 16

struct rd {
	const uint8_t *buf;
	size_t len;
};

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read the (possibly compressed) name at *off into out (lower case, no
 * trailing dot, "" for the root) and advance *off past it. Pointers must
 * point backwards, so a loop cannot happen. Returns false if malformed. */
static bool read_name(const struct rd *m, size_t *off, char *out)
{
	size_t pos = *off, o = 0, wire = 0;
	bool jumped = false;
	for (;;) {
		if (pos >= m->len)
			return false;
		unsigned c = m->buf[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= m->len)
				return false;
			size_t target = (size_t)(c & 0x3f) << 8 | m->buf[pos + 1];
			if (target >= pos)
				return false;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if ((c & 0xc0) != 0)
			return false;      /* extended label types: not used */
		pos++;
		if (c == 0)
			break;
		if (pos + c > m->len)
			return false;
		wire += c + 1;
		if (wire > 255)
			return false;
		if (o > 0)
			out[o++] = '.';
		for (unsigned i = 0; i < c; i++) {
			unsigned char ch = m->buf[pos + i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch + 32);
			if (ch > 0x20 && ch < 0x7f && ch != '.' && ch != '\\') {
				out[o++] = (char)ch;
			} else {
				out[o++] = '\\';
				out[o++] = (char)('0' + ch / 100);
				out[o++] = (char)('0' + ch / 10 % 10);
				out[o++] = (char)('0' + ch % 10);
			}
		}
		pos += c;
	}
	out[o] = '\0';
	if (!jumped)
		*off = pos;
	return true;
}

/* An answer-section record as read, before the chain is followed. */
struct raw_rr {
	char *owner;
	struct dns_rr rr;
	char *text;   /* owned string behind rr (name, host, txt) */
};

struct raw_set {
	struct raw_rr *v;
	size_t n, cap;
};

static void raw_free(struct raw_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].owner);
		free(s->v[i].text);
	}
	free(s->v);
}

static bool read_rdata(const struct rd *m, unsigned type, size_t off, size_t rdlen,
		       struct raw_rr *r)
{
	char name[NAME_MAX_TEXT];
	size_t end = off + rdlen;
	r->rr.type = (enum dns_type)type;
	switch (type) {
	case DNS_T_A:
		if (rdlen != 4)
			return false;
		memcpy(r->rr.u.a, m->buf + off, 4);
		return true;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return false;
		memcpy(r->rr.u.aaaa, m->buf + off, 16);
		return true;
	case DNS_T_MX:
		if (rdlen < 3)
			return false;
		r->rr.u.mx.pref = (uint16_t)get16(m->buf + off);
		off += 2;
		if (!read_name(m, &off, name) || off != end)
			return false;
		r->text = xstrdup(name);
		r->rr.u.mx.host = r->text;
		return true;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		if (!read_name(m, &off, name) || off != end)
			return false;
		r->text = xstrdup(name);
		r->rr.u.name = r->text;
		return true;
	case DNS_T_TXT: {
		char *t = xmalloc(rdlen + 1);
		size_t tl = 0;
		while (off < end) {
			size_t sl = m->buf[off++];
			if (off + sl > end) {
				free(t);
				return false;
			}
			memcpy(t + tl, m->buf + off, sl);
			tl += sl;
			off += sl;
		}
		t[tl] = '\0';
		r->text = t;
		r->rr.u.txt.data = t;
		r->rr.u.txt.len = tl;
		return true;
	}
	default:
		return false;
	}
}

/* Negative caching TTL from an SOA record of the authority section. */
static uint32_t soa_ttl(const struct rd *m, size_t off, unsigned nscount)
{
	char name[NAME_MAX_TEXT];
	for (unsigned i = 0; i < nscount; i++) {
		if (!read_name(m, &off, name) || off + 10 > m->len)
			return 0;
		unsigned type = get16(m->buf + off);
		uint32_t ttl = get32(m->buf + off + 4);
		size_t rdlen = get16(m->buf + off + 8);
		off += 10;
		if (off + rdlen > m->len)
			return 0;
		if (type == DNS_T_SOA) {
			size_t p = off;
			if (!read_name(m, &p, name) || !read_name(m, &p, name) ||
			    p + 20 > off + rdlen)
				return 0;
			uint32_t minimum = get32(m->buf + p + 16);
			return ttl < minimum ? ttl : minimum;
		}
		off += rdlen;
	}
	return 0;
}

static struct dns_answer *tempfail(enum dns_type qtype, const char *why)
{
	return dns_answer_status(DNS_TEMPFAIL, qtype, why);
}

static uint32_t ttl_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

struct dns_answer *dns_msg_parse(const uint8_t *buf, size_t len, const char *qname,
				 enum dns_type qtype)
{
	struct rd m = { buf, len };
	if (len < 12)
		return tempfail(qtype, "bad reply");
	unsigned flags = get16(buf + 2);
	unsigned qd = get16(buf + 4), an = get16(buf + 6), ns = get16(buf + 8);
	if (!(flags & 0x8000))
		return tempfail(qtype, "bad reply");
	if (flags & 0x0200)
		return tempfail(qtype, "truncated");
	switch (flags & 0xf) {
	case 0:
	case 3:
		break;
	case 1: return tempfail(qtype, "FORMERR");
	case 2: return tempfail(qtype, "SERVFAIL");
	case 4: return tempfail(qtype, "NOTIMP");
	case 5: return tempfail(qtype, "REFUSED");
	default: return tempfail(qtype, "RCODE");
	}
	size_t off = 12;
	char name[NAME_MAX_TEXT];
	for (unsigned i = 0; i < qd; i++) {
		if (!read_name(&m, &off, name) || off + 4 > len)
			return tempfail(qtype, "bad reply");
		off += 4;
	}
	struct raw_set set = { 0 };
	for (unsigned i = 0; i < an; i++) {
		if (!read_name(&m, &off, name) || off + 10 > len)
			goto bad;
		unsigned type = get16(buf + off), cls = get16(buf + off + 2);
		uint32_t ttl = get32(buf + off + 4);
		size_t rdlen = get16(buf + off + 8);
		off += 10;
		if (off + rdlen > len)
			goto bad;
		if (cls == 1 && (type == qtype || type == DNS_T_CNAME)) {
			struct raw_rr r = { 0 };
			r.rr.ttl = ttl > 0x7fffffffu ? 0 : ttl;   /* RFC 2181 8 */
			if (read_rdata(&m, type, off, rdlen, &r)) {
				if (set.n == set.cap) {
					set.cap = set.cap ? set.cap * 2 : 8;
					set.v = xrealloc(set.v, set.cap * sizeof(*set.v));
				}
				r.owner = xstrdup(name);
				set.v[set.n++] = r;
			} else if (type == qtype) {
				free(r.text);
				goto bad;
			}
		}
		off += rdlen;
	}

	/* Follow the chain of CNAMEs from the question's name. */
	const char *cur = qname;
	uint32_t ttl = 0x7fffffffu;
	for (int hops = 0; hops <= CNAME_CHAIN_MAX && qtype != DNS_T_CNAME; hops++) {
		const struct raw_rr *next = NULL;
		for (size_t i = 0; i < set.n; i++)
			if (set.v[i].rr.type == DNS_T_CNAME && dns_name_eq(set.v[i].owner, cur))
				next = &set.v[i];
		if (next == NULL)
			break;
		if (hops == CNAME_CHAIN_MAX) {
			raw_free(&set);
			return tempfail(qtype, "CNAME chain");
		}
		ttl = ttl_min(ttl, next->rr.ttl);
		cur = next->rr.u.name;
	}
	struct dns_rr *rrs = xcalloc(set.n ? set.n : 1, sizeof(*rrs));
	size_t n = 0;
	for (size_t i = 0; i < set.n; i++) {
		if (set.v[i].rr.type == qtype && dns_name_eq(set.v[i].owner, cur)) {
			rrs[n++] = set.v[i].rr;
			ttl = ttl_min(ttl, set.v[i].rr.ttl);
		}
	}
	struct dns_answer *a;
	if (n > 0) {
		a = dns_answer_make(DNS_ANSWER, qtype, ttl, NULL, rrs, n);
	} else {
		uint32_t neg = soa_ttl(&m, off, ns);
		a = dns_answer_make((flags & 0xf) == 3 ? DNS_NXDOMAIN : DNS_NODATA, qtype, neg,
				    NULL, NULL, 0);
	}
	free(rrs);
	raw_free(&set);
	return a;
bad:
	raw_free(&set);
	return tempfail(qtype, "bad reply");
}
