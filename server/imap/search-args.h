/* The IMAP search-key grammar (RFC 9051 6.4.4 / RFC 3501 6.4.4, RFC 4731
 * RETURN options, RFC 5182 "$", RFC 5256's search criteria of SORT and
 * THREAD) parsed from a command's arguments into a protocol-free search
 * program (storage/search.h). Sequence sets are resolved against the view
 * given (so a program holds UIDs only); strings are converted from the
 * CHARSET to UTF-8.
 *
 * Keys are rows of one table (search-args.c, keys[]): an extension adds a
 * row with its parser (CONDSTORE's MODSEQ builds STORE_SEARCH_MODSEQ there)
 * and nothing else changes. */
#ifndef LOFT_IMAP_SEARCH_ARGS_H
#define LOFT_IMAP_SEARCH_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/imap/parser.h"
#include "storage/search.h"

/* RETURN options (RFC 4731 3.1, RFC 5182 2.1). */
enum imap_search_ret {
	IMAP_SRET_MIN = 1u << 0,
	IMAP_SRET_MAX = 1u << 1,
	IMAP_SRET_ALL = 1u << 2,
	IMAP_SRET_COUNT = 1u << 3,
	IMAP_SRET_SAVE = 1u << 4,
	/* RFC 5267 (CONTEXT=SEARCH, CONTEXT=SORT) */
	IMAP_SRET_UPDATE = 1u << 5,
	IMAP_SRET_CONTEXT = 1u << 6,     /* a hint: accepted, nothing to do */
	IMAP_SRET_PARTIAL = 1u << 7,
};

struct imap_search_env {
	const struct store_view *view;       /* NULL: sets resolve to nothing */
	const struct store_uid_set *saved;   /* "$" (RFC 5182); NULL = empty */
	bool utf8_accept;                    /* ENABLE UTF8=ACCEPT (RFC 6855 3) */
	bool rev2;                           /* IMAP4rev2: no \Recent */
	bool recent_ok;                      /* the view has \Recent (rev1) */
	unsigned max_depth;                  /* nesting of NOT/OR/() */
	unsigned caps_off;                   /* IMAP_CAP_* switched off: their
					      * keys are unknown (caps.h) */
	/* A search of other mailboxes (RFC 7377): sequence sets and "$" are
	 * BAD; UID sets are kept as written ("*" as the largest UID). */
	bool uids_only;
	/* UIDONLY (RFC 9586): sequence sets are BAD [UIDREQUIRED], "$" and
	 * UID sets are fine. */
	bool no_seqs;
};

struct imap_search_parse {
	struct store_search *prog;
	bool have_return;                    /* RETURN (...) was given */
	unsigned ret;                        /* IMAP_SRET_* */
	uint32_t partial_lo, partial_hi;     /* PARTIAL lo:hi (lo <= hi) */
	bool uses_saved;                     /* "$" appears in the criteria */
	bool uses_modseq;                    /* a MODSEQ criterion (CONDSTORE) */
	/* failure: BAD unless no (NO [code]) */
	bool no;
	const char *code;                    /* BADCHARSET, ... or NULL */
	const char *why;
};

/* What the arguments start with. */
enum imap_search_form {
	IMAP_SEARCH_FORM_SEARCH,   /* [RETURN (...)] [CHARSET x] keys */
	IMAP_SEARCH_FORM_CRITERIA, /* charset keys (THREAD: mandatory charset) */
	IMAP_SEARCH_FORM_SORT,     /* charset [RETURN (...)] keys (after SORT's
				    * criteria; RETURN may also come first) */
};

/* Parse "RETURN (opts)" at args[0..1] into out->ret (and the PARTIAL
 * range); -1 with out->why. SORT uses it for its own RETURN (RFC 5267). */
int imap_search_parse_return(const struct imap_arg *ret_list, struct imap_search_parse *out);

/* Parse args[0..n). 0 with *out filled (free with imap_search_parse_free),
 * or -1 with out->why (and out->no/out->code) for the reply. */
int imap_search_parse(const struct imap_search_env *env, enum imap_search_form form,
		      const struct imap_arg *args, size_t n, struct imap_search_parse *out);
void imap_search_parse_free(struct imap_search_parse *p);

/* "[BADCHARSET (...)]"'s list of the charsets a client can count on. */
#define IMAP_SEARCH_CHARSETS "US-ASCII UTF-8 ISO-8859-1 ISO-8859-15 WINDOWS-1252 KOI8-R"

#endif
