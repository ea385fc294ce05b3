/* Authentication-Results (RFC 8601): the header field Loft prepends to
 * mail it checked, and the anti-forgery side: telling which existing
 * Authentication-Results fields claim our authserv-id (RFC 8601 5: they
 * must go), and a streaming filter that drops them from a message's header
 * as it passes to storage. Pure code. */
#ifndef LOFT_MAILAUTH_AUTHRES_H
#define LOFT_MAILAUTH_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

struct msg_buf;

/* One method result: "spf=pass (comment) smtp.mailfrom=a@b". */
struct authres_prop {
	const char *name;        /* "smtp.mailfrom", "header.d", ... */
	const char *value;
};
#define AUTHRES_MAX_PROPS 4
struct authres_entry {
	const char *method;      /* "spf", "dkim", "dmarc", "dnsbl" */
	const char *result;      /* "pass", "fail", ... */
	const char *comment;     /* NULL or free text (escaped as needed) */
	struct authres_prop props[AUTHRES_MAX_PROPS];
	size_t n_props;
};

/* Append the whole field "Authentication-Results: id;\r\n\tentry;...\r\n"
 * (one entry per line; no entries: "id; none"). Values are written as
 * tokens, addresses or quoted strings as RFC 8601 2.2 allows. */
void authres_write(struct msg_buf *out, const char *authserv_id,
		   const struct authres_entry *e, size_t n);

/* Whether an Authentication-Results field value (after the ':') names
 * authserv_id (case-insensitive), comments and folding skipped. */
bool authres_is_ours(const char *value, size_t len, const char *authserv_id);

/* Streaming: passes a message through, dropping from its header every
 * Authentication-Results field whose authserv-id is ours (a field whose id
 * cannot be read within the first AUTHRES_LOOKAHEAD bytes is dropped too).
 * Any split of the input gives the same output. */
#define AUTHRES_LOOKAHEAD 8192
typedef void authres_out_fn(void *ctx, const char *data, size_t len);
struct authres_filter;
struct authres_filter *authres_filter_new(const char *authserv_id, authres_out_fn *out,
					  void *ctx);
void authres_filter_feed(struct authres_filter *f, const char *data, size_t len);
void authres_filter_end(struct authres_filter *f);
/* Fields dropped so far. */
unsigned authres_filter_dropped(const struct authres_filter *f);
void authres_filter_free(struct authres_filter **f);

#endif
