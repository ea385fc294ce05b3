/* The SPF record parser (RFC 7208 4.6, 5, 6 and the ABNF of 12): a record
 * "v=spf1" followed by terms separated by spaces, each a directive
 * (qualifier + mechanism) or a modifier. The whole record is parsed before
 * any term is evaluated, so a syntax error anywhere is a permerror (4.6),
 * and so are unknown mechanisms and repeated redirect=/exp= (6). Unknown
 * modifiers are checked for syntax and ignored. Fuzzed. */
#include "server/mailauth/spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xmem.h"

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_NONE: return "none";
	case SPF_NEUTRAL: return "neutral";
	case SPF_PASS: return "pass";
	case SPF_FAIL: return "fail";
	case SPF_SOFTFAIL: return "softfail";
	case SPF_TEMPERROR: return "temperror";
	case SPF_PERMERROR: return "permerror";
	}
	return "?";
}

int spf_ip_parse(const char *text, struct spf_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, ip->a) == 1) {
		ip->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip->a) != 1)
		return LOFT_EINVAL;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(ip->a, mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = 4;
	} else {
		ip->family = 6;
	}
	return 0;
}

bool spf_is_record(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

void spf_record_free(struct spf_record **rp)
{
	struct spf_record *r = *rp;
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->terms[i].domain_spec);
	free(r->terms);
	free(r->buf);
	free(r->redirect);
	free(r->exp);
	x_free(rp);
}

/* "/N" with N in [0, max], no leading zero; advances *s. */
static bool parse_cidr(const char **s, const char *end, int max, int *out)
{
	const char *p = *s;
	if (p >= end || *p != '/')
		return false;
	p++;
	if (p >= end || !isdigit((unsigned char)*p))
		return false;
	if (*p == '0' && p + 1 < end && isdigit((unsigned char)p[1]))
		return false;
	int v = 0;
	int digits = 0;
	while (p < end && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (++digits > 3 || v > max)
			return false;
		p++;
	}
	*out = v;
	*s = p;
	return true;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]: the
 * whole of [s, end). */
static bool parse_dual_cidr(const char *s, const char *end, int *c4, int *c6)
{
	if (s < end && !(s + 1 < end && s[1] == '/')) {
		if (!parse_cidr(&s, end, 32, c4))
			return false;
	}
	if (s < end) {
		if (s + 1 >= end || s[0] != '/')
			return false;
		s++;
		if (!parse_cidr(&s, end, 128, c6))
			return false;
	}
	return s == end;
}

/* Where the dual-cidr-length of an a/mx argument begins: the first '/'
 * outside a %{...} macro from which the rest is a valid dual-cidr-length
 * (a domain-spec may itself contain '/': "a:foo:bar/baz.example.com"),
 * or end. */
static const char *cidr_start(const char *s, const char *end)
{
	bool in_macro = false;
	for (const char *p = s; p < end; p++) {
		int c4, c6;
		if (in_macro) {
			if (*p == '}')
				in_macro = false;
		} else if (*p == '%' && p + 1 < end && p[1] == '{') {
			in_macro = true;
			p++;
		} else if (*p == '%') {
			p++;   /* %% %_ %- */
		} else if (*p == '/' && parse_dual_cidr(p, end, &c4, &c6)) {
			return p;
		}
	}
	return end;
}

static bool name_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

static char *spec_dup(const char *s, const char *end, const char **why_r)
{
	if (!spf_domain_spec_valid(s, (size_t)(end - s))) {
		*why_r = "invalid domain-spec";
		return NULL;
	}
	return xstrndup(s, (size_t)(end - s));
}

/* One term [s, end). */
static int parse_term(struct spf_record *r, const char *s, const char *end, const char **why_r)
{
	const char *start = s;
	enum spf_result q = SPF_PASS;
	bool has_q = true;
	switch (*s) {
	case '+': q = SPF_PASS; break;
	case '-': q = SPF_FAIL; break;
	case '~': q = SPF_SOFTFAIL; break;
	case '?': q = SPF_NEUTRAL; break;
	default: has_q = false; break;
	}
	if (has_q)
		s++;
	const char *name = s;
	if (s >= end || !isalpha((unsigned char)*s)) {
		*why_r = "invalid term";
		return LOFT_EINVAL;
	}
	while (s < end && (isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
		s++;
	size_t nlen = (size_t)(s - name);

	if (s < end && *s == '=') {           /* a modifier */
		const char *val = s + 1;
		if (has_q) {
			*why_r = "qualifier on a modifier";
			return LOFT_EINVAL;
		}
		if (name_is(name, nlen, "redirect") || name_is(name, nlen, "exp")) {
			bool redirect = name_is(name, nlen, "redirect");
			char **slot = redirect ? &r->redirect : &r->exp;
			if (*slot != NULL) {
				*why_r = redirect ? "two redirect= modifiers" : "two exp= modifiers";
				return LOFT_EINVAL;
			}
			*slot = spec_dup(val, end, why_r);
			return *slot != NULL ? 0 : LOFT_EINVAL;
		}
		if (!spf_macro_valid(val, (size_t)(end - val), false)) {
			*why_r = "invalid modifier value";
			return LOFT_EINVAL;
		}
		return 0;
	}

	struct spf_term t = { .qualifier = q, .cidr4 = 32, .cidr6 = 128 };
	const char *arg = NULL;
	if (s < end && *s == ':')
		arg = s + 1;
	else if (s < end && *s != '/') {
		*why_r = "invalid term";
		return LOFT_EINVAL;
	}
	if (name_is(name, nlen, "all")) {
		if (s != end) {
			*why_r = "arguments to all";
			return LOFT_EINVAL;
		}
		t.mech = SPF_M_ALL;
		r->has_all = true;
	} else if (name_is(name, nlen, "include") || name_is(name, nlen, "exists")) {
		t.mech = name_is(name, nlen, "include") ? SPF_M_INCLUDE : SPF_M_EXISTS;
		if (arg == NULL) {
			*why_r = "missing domain";
			return LOFT_EINVAL;
		}
		if ((t.domain_spec = spec_dup(arg, end, why_r)) == NULL)
			return LOFT_EINVAL;
	} else if (name_is(name, nlen, "a") || name_is(name, nlen, "mx")) {
		t.mech = name_is(name, nlen, "a") ? SPF_M_A : SPF_M_MX;
		const char *from = arg != NULL ? arg : s;
		const char *cidr = cidr_start(from, end);
		if (!parse_dual_cidr(cidr, end, &t.cidr4, &t.cidr6)) {
			*why_r = "invalid CIDR length";
			return LOFT_EINVAL;
		}
		if (arg == NULL && cidr != from) {
			*why_r = "invalid term";
			return LOFT_EINVAL;
		}
		if (arg != NULL && (t.domain_spec = spec_dup(arg, cidr, why_r)) == NULL)
			return LOFT_EINVAL;
	} else if (name_is(name, nlen, "ptr")) {
		t.mech = SPF_M_PTR;
		if (arg == NULL && s != end) {
			*why_r = "invalid term";
			return LOFT_EINVAL;
		}
		if (arg != NULL && (t.domain_spec = spec_dup(arg, end, why_r)) == NULL)
			return LOFT_EINVAL;
	} else if (name_is(name, nlen, "ip4") || name_is(name, nlen, "ip6")) {
		bool v4 = name_is(name, nlen, "ip4");
		t.mech = v4 ? SPF_M_IP4 : SPF_M_IP6;
		if (arg == NULL) {
			*why_r = "missing address";
			return LOFT_EINVAL;
		}
		const char *slash = memchr(arg, '/', (size_t)(end - arg));
		const char *aend = slash != NULL ? slash : end;
		char text[64];
		size_t alen = (size_t)(aend - arg);
		if (alen == 0 || alen >= sizeof(text)) {
			*why_r = "invalid address";
			return LOFT_EINVAL;
		}
		memcpy(text, arg, alen);
		text[alen] = '\0';
		if (inet_pton(v4 ? AF_INET : AF_INET6, text, t.addr) != 1) {
			*why_r = "invalid address";
			return LOFT_EINVAL;
		}
		if (slash != NULL) {
			const char *p = slash;
			if (!parse_cidr(&p, end, v4 ? 32 : 128, v4 ? &t.cidr4 : &t.cidr6) ||
			    p != end) {
				*why_r = "invalid CIDR length";
				return LOFT_EINVAL;
			}
		}
	} else {
		*why_r = "unknown mechanism";
		return LOFT_EINVAL;
	}
	if (r->n == SPF_MAX_TERMS) {
		free(t.domain_spec);
		*why_r = "too many terms";
		return LOFT_EINVAL;
	}
	t.text = start;   /* NUL-terminated by spf_record_parse */
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->terms = xrealloc(r->terms, r->cap * sizeof(*r->terms));
	}
	r->terms[r->n++] = t;
	return 0;
}

int spf_record_parse(const char *text, size_t len, struct spf_record **rec_r,
		     const char **why_r)
{
	*rec_r = NULL;
	if (!spf_is_record(text, len)) {
		*why_r = "not an SPF record";
		return LOFT_EINVAL;
	}
	struct spf_record *r = xcalloc(1, sizeof(*r));
	r->buf = xmalloc(len + 1);
	memcpy(r->buf, text, len);
	r->buf[len] = '\0';
	char *p = r->buf + 6, *end = r->buf + len;
	while (p < end) {
		if (*p == ' ') {
			p++;
			continue;
		}
		char *t = p;
		while (p < end && *p != ' ')
			p++;
		int e = parse_term(r, t, p, why_r);
		*p = '\0';   /* the term's text ends here (the space or the end) */
		if (e != 0) {
			spf_record_free(&r);
			return e;
		}
		if (p < end)
			p++;
	}
	*rec_r = r;
	return 0;
}
