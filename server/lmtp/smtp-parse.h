/* The arguments of SMTP/LMTP MAIL and RCPT (RFC 5321 4.1.2, RFC 6531 3.3
 * for UTF-8 addresses): the path in angle brackets (source routes accepted
 * and dropped, quoted local parts unquoted, address literals kept with
 * their brackets) and the ESMTP parameters after it, plus xtext (RFC 3461
 * 4) for the values of ENVID, ORCPT and AUTH. Also the EHLO/HELO domain
 * check.
 *
 * Pure code: handed a command's argument bytes with their length (never
 * NUL-terminated, never read past len), no allocation; the parameters point
 * into the input. Every address trick ends here or in recipient.c: a route,
 * a '%' or '!' in the local part, a quoted "@" and a trailing dot are
 * either parsed exactly as the RFC says or refused as a syntax error. */
#ifndef LOFT_LMTP_SMTP_PARSE_H
#define LOFT_LMTP_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Longer local parts (SRS, VERP) exist in the wild: more than RFC 5321's
 * 64 octets are accepted; domains are RFC 5321's 255 at most. */
#define SMTP_LOCAL_MAX 256
#define SMTP_DOMAIN_MAX 255
#define SMTP_MAX_PARAMS 16

struct smtp_path {
	bool null;                /* "<>" */
	bool has_domain;          /* "local@domain" (else "<postmaster>" style) */
	bool literal;             /* the domain is an address literal "[..]" */
	bool quoted;              /* the local part was a quoted string */
	bool utf8;                /* non-ASCII octets (need SMTPUTF8) */
	char local[SMTP_LOCAL_MAX + 1];   /* unquoted */
	char domain[SMTP_DOMAIN_MAX + 1]; /* as sent */
};

struct smtp_param {
	const char *key;          /* points into the input */
	size_t key_len;
	const char *value;        /* NULL when the parameter has no "=" */
	size_t value_len;
};

struct smtp_args {
	struct smtp_path path;
	struct smtp_param params[SMTP_MAX_PARAMS];
	size_t n_params;
};

enum smtp_parse_result {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_VERB,          /* no "FROM:" / "TO:": 501 5.5.4 */
	SMTP_PARSE_PATH,          /* the path is not an address: 501 5.1.7 / 5.1.3 */
	SMTP_PARSE_PARAM,         /* a parameter is malformed: 501 5.5.4 */
	SMTP_PARSE_TOO_MANY,      /* more than SMTP_MAX_PARAMS: 501 5.5.4 */
};

/* "FROM:<path> [params]" (mail) or "TO:<path> [params]" (rcpt), the verb
 * prefix case-insensitive, spaces after the colon tolerated. A null path is
 * accepted for mail only. */
enum smtp_parse_result smtp_parse_args(const char *s, size_t len, bool mail,
				       struct smtp_args *out);

/* A parameter by keyword (case-insensitive), or NULL. */
const struct smtp_param *smtp_param_find(const struct smtp_args *a, const char *key);

/* Decode xtext ("+" 2 upper-case hex digits for anything outside "!".."~"
 * but "+" and "="). Only printable ASCII may come out. Writes a NUL-ended
 * string of at most cap - 1 octets; returns its length, or -1 when the
 * value is not valid xtext or does not fit. */
int smtp_xtext_decode(const char *s, size_t len, char *out, size_t cap);

/* The address of path as it goes into a header or a command:
 * local@domain, the local part quoted again when it is no dot-string, ""
 * for the null path. buf should hold SMTP_PATH_TEXT_MAX octets; returns
 * false when it does not fit. */
#define SMTP_PATH_TEXT_MAX (2 * SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 4)
bool smtp_path_format(const struct smtp_path *path, char *buf, size_t cap);

/* Whether s[0..len) is an EHLO/HELO argument RFC 5321 allows: a domain
 * (letters, digits, hyphens; UTF-8 labels too) or an address literal. */
bool smtp_hello_valid(const char *s, size_t len);

#endif
