/* METADATA entry names, GETMETADATA options, the server's read-only
 * entries and the METADATA response (metadata.h), shared by the
 * METADATA commands and LIST's METADATA return option. */
#include "server/imap/metadata.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/args.h"

#define ADMIN_ENTRY "/shared/admin"

int imap_metadata_entry(const struct imap_arg *a, bool for_set, char **entry_r,
			const char **why_r)
{
	*entry_r = NULL;
	if (a->type == IMAP_ARG_LIST || a->streamed || a->str == NULL || a->len == 0 ||
	    strlen(a->str) != a->len) {
		*why_r = "Entry name expected.";
		return -1;
	}
	char *e = xstrdup(a->str);
	for (char *p = e; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x20 || ch >= 0x7f || ch == '*' || ch == '%') {
			*why_r = "Entry names are printable ASCII without '*' or '%'.";
			free(e);
			return -1;
		}
		if (ch >= 'A' && ch <= 'Z')
			*p = (char)(ch - 'A' + 'a');
	}
	size_t len = strlen(e);
	size_t root = strncmp(e, "/private", 8) == 0 ? 8 : strncmp(e, "/shared", 7) == 0 ? 7 : 0;
	if (root == 0 || (e[root] != '\0' && e[root] != '/')) {
		*why_r = "Entry names begin with /private or /shared.";
		free(e);
		return -1;
	}
	if (e[len - 1] == '/' || strstr(e, "//") != NULL) {
		*why_r = "Entry names have no empty component and no trailing '/'.";
		free(e);
		return -1;
	}
	if (for_set && e[root] == '\0') {
		*why_r = "Only entries below /private or /shared hold values.";
		free(e);
		return -1;
	}
	*entry_r = e;
	return 0;
}

void imap_metadata_entries_free(char **entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i]);
	free(entries);
}

int imap_metadata_entries(const struct imap_arg *a, char ***entries_r, size_t *n_r,
			  const char **why_r)
{
	const struct imap_arg *items;
	size_t n;
	if (imap_arg_items(a, &items, &n) < 0) {
		*why_r = "Entry list is empty.";
		return -1;
	}
	char **entries = xcalloc(n, sizeof(*entries));
	for (size_t i = 0; i < n; i++) {
		if (imap_metadata_entry(&items[i], false, &entries[i], why_r) < 0) {
			imap_metadata_entries_free(entries, n);
			return -1;
		}
	}
	*entries_r = entries;
	*n_r = n;
	return 0;
}

int imap_metadata_opts(const struct imap_arg *a, struct imap_metadata_opts *o,
		       const char **why_r)
{
	o->maxsize = UINT64_MAX;
	o->depth = 0;
	if (a->type != IMAP_ARG_LIST || a->list_count % 2 != 0) {
		*why_r = "Options are (MAXSIZE n DEPTH 0|1|infinity).";
		return -1;
	}
	bool seen_max = false, seen_depth = false;
	for (size_t i = 0; i < a->list_count; i += 2) {
		const struct imap_arg *k = &a->list[i], *v = &a->list[i + 1];
		if (k->type != IMAP_ARG_ATOM || v->type != IMAP_ARG_ATOM) {
			*why_r = "Options are (MAXSIZE n DEPTH 0|1|infinity).";
			return -1;
		}
		if (strcasecmp(k->str, "MAXSIZE") == 0 && !seen_max) {
			seen_max = true;
			if (imap_arg_u64(v, UINT32_MAX, &o->maxsize) < 0) {
				*why_r = "MAXSIZE takes a number.";
				return -1;
			}
		} else if (strcasecmp(k->str, "DEPTH") == 0 && !seen_depth) {
			seen_depth = true;
			if (strcmp(v->str, "0") == 0) {
				o->depth = 0;
			} else if (strcmp(v->str, "1") == 0) {
				o->depth = 1;
			} else if (strcasecmp(v->str, "infinity") == 0) {
				o->depth = STORE_ANNOT_INFINITY;
			} else {
				*why_r = "DEPTH is 0, 1 or infinity.";
				return -1;
			}
		} else {
			*why_r = "Unknown or repeated GETMETADATA option.";
			return -1;
		}
	}
	return 0;
}

/* Whether the server entry name falls under entry at depth. */
static bool admin_wanted(const char *entry, int depth)
{
	if (strcmp(entry, ADMIN_ENTRY) == 0)
		return true;
	if (strcmp(entry, "/shared") == 0)
		return depth != 0;
	return false;
}

static int by_entry(const void *a, const void *b)
{
	return strcmp(((const struct store_annot *)a)->entry,
		      ((const struct store_annot *)b)->entry);
}

int imap_metadata_read(struct store_user *u, const char *mailbox, const char *admin,
		       char **entries, size_t n, int depth, struct store_annot **list_r,
		       size_t *n_r)
{
	struct store_annot *all = NULL;
	size_t n_all = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_annot *l;
		size_t k;
		int err = store_annot_get(u, mailbox, (const char *const *)&entries[i], 1, depth,
					  &l, &k);
		if (err != 0) {
			store_annot_free(all, n_all);
			return err;
		}
		bool admin_here = mailbox == NULL && admin != NULL && admin[0] != '\0' &&
				  admin_wanted(entries[i], depth);
		all = xrealloc(all, (n_all + k + 1) * sizeof(*all));
		if (k > 0)
			memcpy(all + n_all, l, k * sizeof(*l));
		free(l);
		if (admin_here) {
			struct store_annot *a = &all[n_all + k++];
			a->entry = xstrdup(ADMIN_ENTRY);
			a->value = xstrdup(admin);
			a->len = strlen(admin);
			qsort(all + n_all, k, sizeof(*all), by_entry);
		}
		n_all += k;
	}
	*list_r = all;
	*n_r = n_all;
	return 0;
}

static void write_value(struct imap_resp *r, const char *v, size_t len)
{
	if (memchr(v, '\0', len) != NULL) {
		/* NULs only fit a literal8 (RFC 5464 value = nstring / literal8) */
		imap_resp_printf(r, "~{%zu}\r\n", len);
		imap_resp_rawn(r, v, len);
		return;
	}
	imap_resp_string(r, v, len);
}

void imap_metadata_write(struct imap_resp *r, const char *mailbox_wire, bool wire_is_store,
			 char **entries, size_t n, const struct store_annot *list, size_t n_list,
			 const struct imap_metadata_opts *o, uint64_t *longest_r)
{
	size_t shown = 0;
	bool started = false;
	/* values, then NIL for the exact names asked for that have none */
	for (size_t i = 0; i <= n_list + n; i++) {
		const char *entry;
		const char *val = NULL;
		size_t len = 0;
		if (i < n_list) {
			bool dup = false;
			for (size_t j = 0; j < i && !dup; j++)   /* overlapping requests */
				dup = strcmp(list[j].entry, list[i].entry) == 0;
			if (dup)
				continue;
			if (list[i].len > o->maxsize) {
				if (list[i].len > *longest_r)
					*longest_r = list[i].len;
				continue;
			}
			entry = list[i].entry;
			val = list[i].value;
			len = list[i].len;
		} else if (i < n_list + n) {
			entry = entries[i - n_list];
			size_t elen = strlen(entry);
			bool found = strcmp(entry, "/private") == 0 || strcmp(entry, "/shared") == 0;
			for (size_t j = 0; j < n_list && !found; j++)
				found = strncmp(list[j].entry, entry, elen) == 0 &&
					(list[j].entry[elen] == '\0' || list[j].entry[elen] == '/');
			for (size_t j = 0; j < i - n_list && !found; j++)
				found = strcmp(entries[j], entry) == 0;   /* asked twice */
			if (found)
				continue;
		} else {
			break;
		}
		if (!started) {
			imap_resp_raw(r, "* METADATA ");
			if (wire_is_store)
				imap_resp_mailbox(r, mailbox_wire);
			else
				imap_resp_astring(r, mailbox_wire, strlen(mailbox_wire));
			imap_resp_raw(r, " (");
			started = true;
		}
		if (shown++ > 0)
			imap_resp_raw(r, " ");
		imap_resp_astring(r, entry, strlen(entry));
		imap_resp_raw(r, " ");
		if (val == NULL)
			imap_resp_raw(r, "NIL");
		else
			write_value(r, val, len);
	}
	if (started)
		imap_resp_raw(r, ")\r\n");
}
