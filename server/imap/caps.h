/* Capability bits of the extensions a session may have switched off (the
 * per-user imap_caps_off field, the [imap] client_rules and client_quirks
 * matched on the client's ID): a switched-off extension is neither
 * advertised (CAPABILITY, [CAPABILITY] codes) nor accepted (ENABLE ignores
 * it, its commands, search keys, FETCH items and modifiers are refused as
 * unknown ones are). caps.c owns the bits' names, the parsing of name
 * lists and the checks the command handlers ask; client-rules.c matches the
 * configured rules. */
#ifndef LOFT_IMAP_CAPS_H
#define LOFT_IMAP_CAPS_H

#include <stdbool.h>
#include <stddef.h>

enum imap_cap {
	IMAP_CAP_WITHIN = 1u << 0,        /* RFC 5032: OLDER, YOUNGER */
	IMAP_CAP_SAVEDATE = 1u << 1,      /* RFC 8514 */
	IMAP_CAP_MULTISEARCH = 1u << 2,   /* RFC 7377: ESEARCH */
	IMAP_CAP_CONDSTORE = 1u << 3,     /* RFC 7162 (off: QRESYNC off too) */
	IMAP_CAP_QRESYNC = 1u << 4,       /* RFC 7162 */
	IMAP_CAP_NOTIFY = 1u << 5,        /* RFC 5465 */
	IMAP_CAP_COMPRESS = 1u << 6,      /* RFC 4978 COMPRESS=DEFLATE */
	IMAP_CAP_IDLE = 1u << 7,          /* RFC 2177 */
	IMAP_CAP_MOVE = 1u << 8,          /* RFC 6851: MOVE, UID MOVE */
	IMAP_CAP_UNSELECT = 1u << 9,      /* RFC 3691 */
	IMAP_CAP_QUOTA = 1u << 10,        /* RFC 9208 */
	IMAP_CAP_URLAUTH = 1u << 11,      /* RFC 4467 */
	IMAP_CAP_SORT = 1u << 12,         /* RFC 5256, 5957, 5267: SORT family */
	IMAP_CAP_THREAD = 1u << 13,       /* RFC 5256 THREAD=* */
	IMAP_CAP_PREVIEW = 1u << 14,      /* RFC 8970 */
	IMAP_CAP_REPLACE = 1u << 15,      /* RFC 8508: REPLACE, UID REPLACE */
	IMAP_CAP_INPROGRESS = 1u << 16,   /* RFC 9585: progress reports */
	IMAP_CAP_OBJECTID = 1u << 17,     /* RFC 8474: EMAILID, THREADID, MAILBOXID */
	IMAP_CAP_BINARY = 1u << 18,       /* RFC 3516: BINARY[], ~{n} in APPEND */
	IMAP_CAP_METADATA = 1u << 19,     /* RFC 5464, RFC 9590 */
	IMAP_CAP_UIDONLY = 1u << 20,      /* RFC 9586 */
};

struct imap_session;
struct imap_fetch_spec;
struct imap_status_req;

/* Whether the session has the extension (not switched off). */
bool imap_caps_on(const struct imap_session *s, unsigned cap);
/* Whether spec asks for an item of a switched-off extension (FETCH then
 * answers as for an unknown item). */
bool imap_caps_fetch_refused(const struct imap_session *s, const struct imap_fetch_spec *spec);
/* Whether a STATUS item list asks for an item of a switched-off extension
 * (HIGHESTMODSEQ without CONDSTORE): true with the BAD text in *why_r. */
bool imap_caps_status_refused(const struct imap_session *s, const struct imap_status_req *req,
			      const char **why_r);

/* The bits named in text: capability names (case-insensitive) separated by
 * spaces or commas, each the name of a switch ("CONDSTORE", "SORT",
 * "COMPRESS" ...) or a token it advertises ("COMPRESS=DEFLATE",
 * "THREAD=REFERENCES", "ESORT" ...). The first unknown word goes to
 * bad_r (pointer into text, its length in bad_len_r; both may be NULL).
 * The implied bits are added (CONDSTORE off turns QRESYNC off). */
unsigned imap_caps_parse(const char *text, size_t len, const char **bad_r,
			 size_t *bad_len_r);
/* Remove from buf (a capability list, NUL-terminated, in place) the tokens
 * of the extensions in caps_off. */
void imap_caps_filter(char *buf, unsigned caps_off);
/* The names of the switches in bits (~0u: all), space separated, into buf
 * (error texts, logs). */
void imap_caps_names(char *buf, size_t size, unsigned bits);
/* Recompute s->caps_off from the per-user and per-client bits. */
void imap_caps_update(struct imap_session *s);

#endif
