/* Private declarations shared by the search, sort and thread files of
 * storage/ (search.c, search-text.c, search-date.c, sort.c, thread.c): the
 * per-message text evaluation, the RFC 5322 date parser and the address
 * writer. Not for use outside storage/. */
#ifndef LOFT_STORAGE_SEARCH_PRIVATE_H
#define LOFT_STORAGE_SEARCH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/casemap.h"
#include "storage/message/message.h"
#include "storage/search.h"

/* Cost tiers (search.h): what a criterion needs to be decided. */
enum search_tier {
	SEARCH_TIER_INDEX = 0,
	SEARCH_TIER_INFO = 1,
	SEARCH_TIER_FILE = 2,
};

/* A criterion's value for the message being evaluated. */
enum search_val { SV_FALSE = 0, SV_TRUE = 1, SV_UNKNOWN = 2 };

/* Per-message values of the text criteria (by slot), reused across
 * messages of one run. */
struct search_vals {
	uint8_t *v;          /* enum search_val per slot */
	size_t *kmp;         /* streaming match position per slot */
	unsigned n;
};
void search_vals_reset(struct search_vals *sv, unsigned n);
void search_vals_free(struct search_vals *sv);

/* Decide the tier-1 criteria (envelope: ADDRESS, SUBJECT, SENT*) from
 * info. */
void search_eval_info(struct store_search *prog, const struct msg_info *info,
		      struct search_vals *sv);
/* Decide the tier-2 criteria (HEADER, BODY, TEXT) by streaming the
 * message file fd (described by info); *bytes_r counts what was read.
 * Returns 0 or a store error. */
int search_eval_file(struct store_search *prog, const struct msg_info *info, int fd,
		     struct search_vals *sv, uint64_t *bytes_r);
/* Substring test of a prepared criterion against UTF-8 text. */
bool search_text_contains(const struct store_search_node *n, const char *text, size_t len);

/* ---- RFC 5322 dates (search-date.c) ---- */

struct search_date {
	int year, month, day;        /* as written */
	int64_t utc;                 /* seconds since the epoch, zone applied */
	int zone_min;                /* the zone, minutes east of UTC */
};
/* Lenient RFC 5322 3.3 / 4.3 date-time: optional weekday, 2- and 3-digit
 * years, zone names, missing seconds or zone; comments skipped. 0 or -1. */
int search_date_parse(const char *s, size_t len, struct search_date *d_r);

/* ---- addresses ---- */

/* Write an envelope address list as text: "Name <user@domain>, ..." with
 * display names RFC 2047-decoded, groups as "name: ...;". */
void search_addr_write(const struct msg_addr_list *list, struct msg_buf *out);

#endif
