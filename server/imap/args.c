/* Shared IMAP argument readers (see args.h). */
#include "server/imap/args.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mutf7.h"
#include "lib/xmem.h"
#include "server/imap/reply.h"
#include "storage/store.h"

int imap_arg_mailbox(const struct imap_arg *a, bool utf8, char **name_r, const char **why_r)
{
	*name_r = NULL;
	if (a->type == IMAP_ARG_LIST || a->streamed || a->str == NULL) {
		*why_r = "Mailbox name expected.";
		return -1;
	}
	if (strlen(a->str) != a->len) {
		*why_r = "Mailbox name contains NUL.";
		return -1;
	}
	/* An atom must be an astring: no list-wildcards or backslash (the
	 * parser's atoms also carry LIST patterns and flags). */
	if (a->type == IMAP_ARG_ATOM && strpbrk(a->str, "%*\\") != NULL) {
		*why_r = "Quote mailbox names with '%', '*' or '\\'.";
		return -1;
	}
	if (utf8 && !imap_utf8_valid(a->str, a->len)) {
		*why_r = "Mailbox name is not valid UTF-8.";
		return -1;
	}
	char *name = utf8 ? xstrdup(a->str) : mutf7_to_utf8(a->str);
	if (name == NULL) {
		*why_r = "Mailbox name is not valid modified UTF-7.";
		return -1;
	}
	if (strcasecmp(name, "INBOX") == 0)
		memcpy(name, "INBOX", 5);
	*name_r = name;
	return 0;
}

static const struct { const char *name; uint32_t bit; } system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN }, { "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED }, { "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

static bool keyword_valid(const char *k)
{
	if (*k == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)k; *p != '\0'; p++) {
		/* atom-char minus resp-specials: no (){ SP CTL %*"\] and no 8-bit */
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

int imap_arg_flags(const struct imap_arg *a, struct imap_flags *f, const char **why_r)
{
	memset(f, 0, sizeof(*f));
	const struct imap_arg *items = a;
	size_t n = 1;
	if (a->type == IMAP_ARG_LIST) {
		items = a->list;
		n = a->list_count;
	}
	if (n > 0)
		f->keywords = xcalloc(n, sizeof(*f->keywords));
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *it = &items[i];
		if (it->type != IMAP_ARG_ATOM) {
			*why_r = "Flags must be atoms.";
			goto fail;
		}
		if (it->str[0] == '\\') {
			bool found = false;
			for (size_t k = 0; k < sizeof(system_flags) / sizeof(system_flags[0]); k++) {
				if (strcasecmp(it->str, system_flags[k].name) == 0) {
					f->flags |= system_flags[k].bit;
					found = true;
				}
			}
			if (!found) {
				*why_r = strcasecmp(it->str, "\\Recent") == 0
					? "\\Recent cannot be set." : "Unknown system flag.";
				goto fail;
			}
			continue;
		}
		if (!keyword_valid(it->str)) {
			*why_r = "Invalid keyword.";
			goto fail;
		}
		bool dup = false;
		for (size_t k = 0; k < f->n_keywords; k++)
			if (strcasecmp(f->keywords[k], it->str) == 0)
				dup = true;
		if (!dup)
			f->keywords[f->n_keywords++] = it->str;
	}
	return 0;
fail:
	free(f->keywords);
	memset(f, 0, sizeof(*f));
	return -1;
}

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool valid_day(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d >= 1 && d <= max;
}

/* "d-Mon-yyyy" at s; returns the length used or 0. */
static size_t parse_day_month_year(const char *s, bool space_pad, int *d_r, int *m_r, int *y_r)
{
	size_t i = 0;
	int d = 0;
	if (space_pad && s[0] == ' ' && isdigit((unsigned char)s[1])) {
		d = s[1] - '0';
		i = 2;
	} else if (isdigit((unsigned char)s[0])) {
		d = s[0] - '0';
		i = 1;
		if (isdigit((unsigned char)s[1])) {
			d = d * 10 + s[1] - '0';
			i = 2;
		}
	} else {
		return 0;
	}
	if (s[i] != '-')
		return 0;
	i++;
	int m = 0;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(s + i, months[k], 3) == 0)
			m = k + 1;
	if (m == 0 || s[i + 3] != '-')
		return 0;
	i += 4;
	for (int k = 0; k < 4; k++)
		if (!isdigit((unsigned char)s[i + (size_t)k]))
			return 0;
	int y = atoi(s + i);
	i += 4;
	if (y < 1900 || !valid_day(y, m, d))
		return 0;
	*d_r = d;
	*m_r = m;
	*y_r = y;
	return i;
}

int imap_parse_date(const char *s, int64_t *time_r)
{
	int d, m, y;
	size_t n = parse_day_month_year(s, false, &d, &m, &y);
	if (n == 0 || s[n] != '\0')
		return -1;
	*time_r = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400;
	return 0;
}

int imap_parse_datetime(const char *s, int64_t *time_r)
{
	int d, m, y;
	size_t i = parse_day_month_year(s, true, &d, &m, &y);
	if (i == 0 || (d >= 10 && s[0] == ' '))
		return -1;
	/* " hh:mm:ss +zzzz" */
	const char *t = s + i;
	if (strlen(t) != 15 || t[0] != ' ' || t[3] != ':' || t[6] != ':' || t[9] != ' ' ||
	    (t[10] != '+' && t[10] != '-'))
		return -1;
	static const int digits[] = { 1, 2, 4, 5, 7, 8, 11, 12, 13, 14 };
	for (size_t k = 0; k < sizeof(digits) / sizeof(digits[0]); k++)
		if (!isdigit((unsigned char)t[digits[k]]))
			return -1;
	int hh = (t[1] - '0') * 10 + t[2] - '0';
	int mi = (t[4] - '0') * 10 + t[5] - '0';
	int ss = (t[7] - '0') * 10 + t[8] - '0';
	int zh = (t[11] - '0') * 10 + t[12] - '0';
	int zm = (t[13] - '0') * 10 + t[14] - '0';
	if (hh > 23 || mi > 59 || ss > 60 || zm > 59)
		return -1;
	int64_t secs = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mi * 60 + ss;
	int64_t zone = (zh * 60 + zm) * 60;
	*time_r = t[10] == '+' ? secs - zone : secs + zone;
	return 0;
}

int imap_arg_u64(const struct imap_arg *a, uint64_t max, uint64_t *v_r)
{
	if (a->type != IMAP_ARG_ATOM || a->str[0] == '\0')
		return -1;
	uint64_t v = 0;
	for (const char *p = a->str; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*v_r = v;
	return 0;
}

int imap_arg_items(const struct imap_arg *a, const struct imap_arg **items_r, size_t *n_r)
{
	*items_r = a;
	*n_r = 1;
	if (a->type == IMAP_ARG_LIST) {
		*items_r = a->list;
		*n_r = a->list_count;
	}
	return *n_r == 0 ? -1 : 0;
}
