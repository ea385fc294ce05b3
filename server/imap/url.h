/* IMAP URLs (RFC 5092) with URLAUTH (RFC 4467): the parser that CATENATE,
 * GENURLAUTH and URLFETCH share. It reads one URL already in memory (a
 * command argument: an astring, so never split across reads) and never
 * looks past the length it is given; every part is checked against the
 * grammar and percent-decoded (no NUL, the mailbox UTF-8), names of the
 * ";PARAM=" parts are case-insensitive. Absolute URLs (imap://...), and
 * the relative forms a command may give (//server..., /mailbox..., and
 * ;UID=... against a base) are all recognised; the caller decides which it
 * takes. */
#ifndef LOFT_IMAP_URL_H
#define LOFT_IMAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_url_form {
	IMAP_URL_FULL,         /* imap://server/... */
	IMAP_URL_NETWORK,      /* //server/... */
	IMAP_URL_ABSPATH,      /* /mailbox... */
	IMAP_URL_RELATIVE,     /* mailbox... or ;UID=... (against a base) */
	IMAP_URL_EMPTY,        /* "" */
};

enum imap_url_access {
	IMAP_URL_ACCESS_NONE = 0,  /* no ;URLAUTH= */
	IMAP_URL_ACCESS_SUBMIT,    /* submit+<user> */
	IMAP_URL_ACCESS_USER,      /* user+<user> */
	IMAP_URL_ACCESS_AUTHUSER,  /* any authenticated user */
	IMAP_URL_ACCESS_ANONYMOUS, /* anyone */
};

struct imap_url {
	enum imap_url_form form;
	/* Server (FULL and NETWORK forms). Strings are decoded; NULL = absent. */
	char *user;                /* enc-user */
	char *auth;                /* ;AUTH=<type> ("*" for any) */
	char *host;                /* as written (a reg-name is lower-cased) */
	uint32_t port;             /* 0 = none */
	/* Path. */
	char *mailbox;             /* UTF-8, '/' separated; NULL = none */
	uint32_t uidvalidity;      /* 0 = none */
	char *search;              /* ?<search>; NULL = none */
	uint32_t uid;              /* 0 = none */
	char *section;             /* the section-spec text; NULL = whole message */
	bool has_partial;
	uint64_t partial_offset;
	uint64_t partial_length;   /* 0 = to the end */
	/* URLAUTH (RFC 4467). */
	bool has_expire;
	int64_t expire;            /* unix seconds */
	enum imap_url_access access;
	char *access_user;         /* submit+/user+ name, decoded */
	char *mechanism;           /* upper-cased; NULL in a rump URL */
	char *token;               /* the verifier's hex digits, lower-cased */
	size_t rump_len;           /* input bytes up to and including the access
				    * identifier (what the token signs) */
};

/* Parse len bytes of s. Returns 0, or -1 with a static reason in *why_r
 * (url_r is then empty). Free with imap_url_free. */
int imap_url_parse(const char *s, size_t len, struct imap_url *url_r, const char **why_r);
void imap_url_free(struct imap_url *url);

/* Whether the URL names one message (a UID), which CATENATE, GENURLAUTH
 * and URLFETCH need, as opposed to a mailbox or a search. */
static inline bool imap_url_is_message(const struct imap_url *url)
{
	return url->uid != 0 && url->search == NULL;
}

#endif
