/* The request header lines of a /checkv2 call (see spam.h,
 * spam_request_headers): the envelope as rspamd's protocol names it, and
 * the sender-authentication results in the form rspamd's http_headers
 * module reads (SPF: {"result":...}, DKIM: {"results":[{...}]},
 * DMARC: {"result":...}); with them present rspamd skips its own SPF, DKIM
 * and DMARC lookups and scores ours. Every value is cleaned of control
 * characters and cut, so envelope data cannot add or end a header. */
#include "server/spam/spam.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

#define VALUE_MAX 512

struct hbuf {
	char *s;
	size_t len, cap;
};

static void put(struct hbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2 + 256;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(struct hbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* "Name: value\r\n" with control characters dropped, cut to VALUE_MAX. */
static void header(struct hbuf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	puts_(b, name);
	puts_(b, ": ");
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0' && n < VALUE_MAX;
	     p++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		put(b, (const char *)p, 1);
		n++;
	}
	puts_(b, "\r\n");
}

/* RFC 8601 result words to what rspamd's http_headers module knows; NULL
 * leaves the check to rspamd. */
static const char *spf_word(const char *r)
{
	static const char *const map[][2] = {
		{ "pass", "pass" }, { "fail", "fail" }, { "softfail", "softfail" },
		{ "neutral", "neutral" }, { "none", "na" }, { "permerror", "permfail" },
	};
	for (size_t i = 0; r != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(r, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static const char *dkim_word(const char *r)
{
	static const char *const map[][2] = {
		{ "pass", "pass" }, { "fail", "fail" }, { "policy", "fail" },
		{ "neutral", "permfail" }, { "permerror", "permfail" },
		{ "temperror", "tempfail" }, { "none", "na" },
	};
	for (size_t i = 0; r != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(r, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static const char *dmarc_word(const char *r, const char *policy)
{
	if (r == NULL)
		return NULL;
	if (strcasecmp(r, "pass") == 0)
		return "pass";
	if (strcasecmp(r, "fail") == 0) {
		if (policy != NULL && strcasecmp(policy, "reject") == 0)
			return "reject";
		if (policy != NULL && strcasecmp(policy, "quarantine") == 0)
			return "quarantine";
		return "softfail";
	}
	if (strcasecmp(r, "none") == 0)
		return "na";
	if (strcasecmp(r, "temperror") == 0)
		return "tempfail";
	if (strcasecmp(r, "permerror") == 0)
		return "permfail";
	return NULL;
}

/* A domain for a JSON string: only the characters a domain has. */
static void json_domain(struct hbuf *b, const char *d)
{
	size_t n = 0;
	for (const char *p = d != NULL ? d : ""; *p != '\0' && n < 253; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_') {
			put(b, &c, 1);
			n++;
		}
	}
}

static void auth_headers(struct hbuf *b, const struct spam_auth *a)
{
	const char *w = spf_word(a->spf);
	if (w != NULL) {
		puts_(b, "SPF: {\"result\":\"");
		puts_(b, w);
		puts_(b, "\"}\r\n");
	}
	bool any = false;
	for (size_t i = 0; i < a->n_dkim && i < 16; i++) {
		w = dkim_word(a->dkim[i].result);
		if (w == NULL)
			continue;
		puts_(b, any ? ",{\"result\":\"" : "DKIM: {\"results\":[{\"result\":\"");
		puts_(b, w);
		puts_(b, "\",\"domain\":\"");
		json_domain(b, a->dkim[i].domain);
		puts_(b, "\"}");
		any = true;
	}
	if (any)
		puts_(b, "]}\r\n");
	w = dmarc_word(a->dmarc, a->dmarc_policy);
	if (w != NULL) {
		puts_(b, "DMARC: {\"result\":\"");
		puts_(b, w);
		puts_(b, "\"}\r\n");
	}
}

char *spam_request_headers(const struct spam_envelope *env)
{
	struct hbuf b = { 0 };
	puts_(&b, "");
	header(&b, "IP", env->client_ip);
	header(&b, "Hostname", env->client_name);
	header(&b, "Helo", env->helo);
	/* the null reverse path as rspamd's MTA clients send it */
	header(&b, "From", env->mail_from != NULL && env->mail_from[0] == '\0' ? "<>"
								 : env->mail_from);
	for (size_t i = 0; i < env->n_rcpts && i < 1000; i++)
		header(&b, "Rcpt", env->rcpts[i]);
	header(&b, "User", env->auth_user);
	header(&b, "Queue-Id", env->queue_id);
	header(&b, "Deliver-To", env->deliver_to);
	if (env->auth != NULL)
		auth_headers(&b, env->auth);
	return b.s;
}
