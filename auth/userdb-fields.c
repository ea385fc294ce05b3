/* The passwd-file extra fields Loft understands (listed in userdb-fields.h):
 * tokenising the column, parsing quotas, POP3 modes, allowed services and
 * the disabled flag, collecting stored SCRAM/CRAM-MD5 credentials, and
 * rewriting one field while keeping the others byte for byte. */
#include "auth/userdb-fields.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/afile.h"
#include "lib/xmem.h"

static const char *const service_names[USERDB_SERVICE_COUNT] = { "imap", "pop3", "smtp",
									   "sieve" };

const char *userdb_service_name(enum userdb_service service)
{
	return (unsigned)service < USERDB_SERVICE_COUNT ? service_names[service] : "?";
}

int userdb_service_parse(const char *word, size_t len)
{
	for (int i = 0; i < USERDB_SERVICE_COUNT; i++)
		if (strlen(service_names[i]) == len && strncasecmp(word, service_names[i], len) == 0)
			return i;
	if (len == 10 && strncasecmp(word, "submission", len) == 0)
		return USERDB_SERVICE_SMTP;
	return -1;
}

static bool word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* yes/no words; returns 1, 0 or -1. */
static int parse_yesno(const char *v, size_t len)
{
	if (word_is(v, len, "yes") || word_is(v, len, "y") || word_is(v, len, "true") ||
	    word_is(v, len, "1") || word_is(v, len, "on"))
		return 1;
	if (word_is(v, len, "no") || word_is(v, len, "n") || word_is(v, len, "false") ||
	    word_is(v, len, "0") || word_is(v, len, "off"))
		return 0;
	return -1;
}

/* digits [b|k|m|g|t][b|ib]: bytes, with unit the multiplier of a bare
 * number. Returns 0 or -1. */
static int parse_size(const char *v, size_t len, uint64_t unit, uint64_t *out)
{
	size_t i = 0;
	uint64_t n = 0;
	if (len == 0 || !isdigit((unsigned char)v[0]))
		return -1;
	for (; i < len && isdigit((unsigned char)v[i]); i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	uint64_t mul = unit;
	if (i < len) {
		switch (tolower((unsigned char)v[i])) {
		case 'b': mul = 1; break;
		case 'k': mul = 1ull << 10; break;
		case 'm': mul = 1ull << 20; break;
		case 'g': mul = 1ull << 30; break;
		case 't': mul = 1ull << 40; break;
		default: return -1;
		}
		i++;
		const char *rest = v + i;
		size_t rl = len - i;
		if (!(rl == 0 || (mul != 1 && (word_is(rest, rl, "b") || word_is(rest, rl, "ib")))))
			return -1;
	}
	if (mul != 0 && n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static void report_bad(const struct userdb_fields_report *r, const char *key, size_t len,
		       const char *why)
{
	if (r != NULL && r->bad != NULL)
		r->bad(r->ctx, key, len, why);
}

/* Dovecot's quota_rule value: "*:storage=1G:messages=10". */
static void parse_quota_rule(const char *key, size_t key_len, const char *v, size_t len,
			     struct userdb_fields *f, const struct userdb_fields_report *r)
{
	const char *colon = memchr(v, ':', len);
	if (colon == NULL) {
		report_bad(r, key, key_len, "want MAILBOX:storage=SIZE or MAILBOX:messages=N");
		return;
	}
	if (colon - v != 1 || v[0] != '*')
		return;  /* a per-mailbox rule: not ours to enforce */
	const char *p = colon + 1, *end = v + len;
	while (p < end) {
		const char *next = memchr(p, ':', (size_t)(end - p));
		const char *item_end = next != NULL ? next : end;
		const char *eq = memchr(p, '=', (size_t)(item_end - p));
		uint64_t val;
		if (eq == NULL) {
			report_bad(r, key, key_len, "a limit without '='");
		} else if (word_is(p, (size_t)(eq - p), "storage") &&
			   parse_size(eq + 1, (size_t)(item_end - eq - 1), 1024, &val) == 0) {
			f->quota_bytes = val;
			f->has_quota_bytes = true;
		} else if (word_is(p, (size_t)(eq - p), "bytes") &&
			   parse_size(eq + 1, (size_t)(item_end - eq - 1), 1, &val) == 0) {
			f->quota_bytes = val;
			f->has_quota_bytes = true;
		} else if (word_is(p, (size_t)(eq - p), "messages") &&
			   parse_size(eq + 1, (size_t)(item_end - eq - 1), 1, &val) == 0 &&
			   memchr(eq + 1, 'b', (size_t)(item_end - eq - 1)) == NULL) {
			f->quota_messages = val;
			f->has_quota_messages = true;
		} else if (!word_is(p, (size_t)(eq - p), "ignore")) {
			report_bad(r, key, key_len, "unsupported limit (use storage=, bytes= or "
				   "messages= with a plain number and unit)");
		}
		p = next != NULL ? next + 1 : end;
	}
}

static void parse_services(const char *key, size_t key_len, const char *v, size_t len,
			   struct userdb_fields *f, const struct userdb_fields_report *r)
{
	f->services = 0;
	if (word_is(v, len, "none"))
		return;
	const char *p = v, *end = v + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *w_end = comma != NULL ? comma : end;
		int s = userdb_service_parse(p, (size_t)(w_end - p));
		if (s >= 0)
			f->services |= 1u << s;
		else
			report_bad(r, key, key_len, "unknown protocol (use imap, pop3, smtp)");
		p = comma != NULL ? comma + 1 : end;
	}
}

static void set_credential(char **slot, const char *scheme, const char *key, size_t key_len,
			   const char *v, size_t len, const struct userdb_fields_report *r)
{
	size_t sl = strlen(scheme);
	if (len <= sl + 2 || v[0] != '{' || strncasecmp(v + 1, scheme, sl) != 0 ||
	    v[sl + 1] != '}') {
		report_bad(r, key, key_len, "the value must start with the field's {SCHEME}");
		return;
	}
	if (*slot != NULL) {
		x_wipe(*slot, strlen(*slot));
		free(*slot);
	}
	*slot = xstrndup(v, len);
}

/* One "key[=value]" token. */
static void parse_field(const char *tok, size_t len, struct userdb_fields *f,
			const struct userdb_fields_report *r)
{
	const char *eq = memchr(tok, '=', len);
	size_t key_len = eq != NULL ? (size_t)(eq - tok) : len;
	const char *v = eq != NULL ? eq + 1 : tok + len;
	size_t vlen = eq != NULL ? len - key_len - 1 : 0;
	const char *k = tok;
	size_t kl = key_len;
	if (kl > 7 && strncasecmp(k, "userdb_", 7) == 0) {
		k += 7;
		kl -= 7;
	}
	uint64_t n;
	int b;
	if (word_is(k, kl, "quota_bytes")) {
		if (parse_size(v, vlen, 1, &n) == 0) {
			f->quota_bytes = n;
			f->has_quota_bytes = true;
		} else {
			report_bad(r, tok, key_len, "not a size (e.g. 2G)");
		}
	} else if (word_is(k, kl, "quota_messages")) {
		if (parse_size(v, vlen, 1, &n) == 0 && memchr(v, 'b', vlen) == NULL) {
			f->quota_messages = n;
			f->has_quota_messages = true;
		} else {
			report_bad(r, tok, key_len, "not a whole number");
		}
	} else if (kl >= 10 && strncasecmp(k, "quota_rule", 10) == 0 &&
		   strspn(k + 10, "0123456789") == kl - 10) {
		parse_quota_rule(tok, key_len, v, vlen, f, r);
	} else if (word_is(k, kl, "pop3_delete")) {
		if (word_is(v, vlen, "expunge"))
			f->pop3_delete = USERDB_POP3_DELETE_EXPUNGE;
		else if (word_is(v, vlen, "hide"))
			f->pop3_delete = USERDB_POP3_DELETE_HIDE;
		else
			report_bad(r, tok, key_len, "use expunge or hide");
	} else if (word_is(k, kl, "pop3_seen")) {
		if ((b = parse_yesno(v, vlen)) >= 0)
			f->pop3_seen = b ? USERDB_FLAG_YES : USERDB_FLAG_NO;
		else
			report_bad(r, tok, key_len, "use yes or no");
	} else if (word_is(k, kl, "protocols")) {
		parse_services(tok, key_len, v, vlen, f, r);
	} else if (word_is(k, kl, "disabled")) {
		b = eq == NULL ? 1 : parse_yesno(v, vlen);
		if (b < 0)
			report_bad(r, tok, key_len, "use yes or no; the user is disabled meanwhile");
		f->disabled = b != 0;
	} else if (word_is(k, kl, "imap_caps_off")) {
		/* kept as written: the IMAP front end knows the names */
		if (vlen < sizeof(f->imap_caps_off) && memchr(v, '\0', vlen) == NULL) {
			memcpy(f->imap_caps_off, v, vlen);
			f->imap_caps_off[vlen] = '\0';
		} else {
			report_bad(r, tok, key_len, "too long");
		}
	} else if (word_is(k, kl, "nologin")) {
		f->disabled = true;
	} else if (word_is(k, kl, "reason")) {
		/* nologin's message: known, nothing to do */
	} else if (word_is(k, kl, "scram_sha256")) {
		set_credential(&f->scram_sha256, "SCRAM-SHA-256", tok, key_len, v, vlen, r);
	} else if (word_is(k, kl, "scram_sha1")) {
		set_credential(&f->scram_sha1, "SCRAM-SHA-1", tok, key_len, v, vlen, r);
	} else if (word_is(k, kl, "cram_md5")) {
		set_credential(&f->cram_md5, "CRAM-MD5", tok, key_len, v, vlen, r);
	} else if (r != NULL && r->unknown != NULL) {
		r->unknown(r->ctx, tok, key_len);
	}
}

void userdb_fields_parse(const char *extra, struct userdb_fields *f,
			 const struct userdb_fields_report *report)
{
	*f = (struct userdb_fields){ .services = USERDB_SERVICES_ALL };
	const char *p = extra != NULL ? extra : "";
	while (*p != '\0') {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len > 0)
			parse_field(p, len, f, report);
		p += len;
	}
}

static void wipe_str(char **s)
{
	if (*s != NULL) {
		x_wipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void userdb_fields_clear(struct userdb_fields *f)
{
	wipe_str(&f->scram_sha256);
	wipe_str(&f->scram_sha1);
	wipe_str(&f->cram_md5);
	*f = (struct userdb_fields){ .services = USERDB_SERVICES_ALL };
}

char *userdb_fields_set(const char *extra, const char *key, const char *value)
{
	struct afile_buf b = { 0 };
	size_t klen = strlen(key);
	const char *p = extra != NULL ? extra : "";
	afile_buf_add(&b, "", 0);
	while (*p != '\0') {
		size_t sp = strspn(p, " \t");
		const char *tok = p + sp;
		size_t len = strcspn(tok, " \t");
		if (len == 0)
			break;
		const char *eq = memchr(tok, '=', len);
		size_t kl = eq != NULL ? (size_t)(eq - tok) : len;
		const char *k = tok;
		if (kl > 7 && strncasecmp(k, "userdb_", 7) == 0) {
			k += 7;
			kl -= 7;
		}
		if (!(kl == klen && strncasecmp(k, key, klen) == 0)) {
			if (b.len > 0)
				afile_buf_add(&b, " ", 1);
			afile_buf_add(&b, tok, len);
		}
		p = tok + len;
	}
	if (value != NULL) {
		if (b.len > 0)
			afile_buf_add(&b, " ", 1);
		afile_buf_printf(&b, "%s=%s", key, value);
	}
	return b.data;
}
