/* RFC 5322 date-time parsing for SENTBEFORE/SENTON/SENTSINCE and SORT DATE
 * (search-private.h): the grammar of RFC 5322 3.3 with its obsolete forms
 * (4.3: two- and three-digit years, zone names, folding and comments
 * anywhere), lenient where real mail is sloppy (missing weekday, seconds or
 * zone; a missing zone is UTC). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/search-private.h"

struct dp {
	const char *p, *end;
};

static void skip_cfws(struct dp *d)
{
	int depth = 0;
	while (d->p < d->end) {
		char c = *d->p;
		if (depth > 0) {
			if (c == '\\' && d->p + 1 < d->end)
				d->p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			d->p++;
			continue;
		}
		if (c == '(') {
			depth = 1;
			d->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			d->p++;
		} else {
			break;
		}
	}
}

/* digits: 1..max of them; -1 if none. */
static int number(struct dp *d, int max, int *ndigits)
{
	int v = 0, n = 0;
	while (d->p < d->end && n < max && isdigit((unsigned char)*d->p)) {
		v = v * 10 + (*d->p - '0');
		d->p++;
		n++;
	}
	if (ndigits != NULL)
		*ndigits = n;
	return n > 0 ? v : -1;
}

static size_t word(struct dp *d, char *buf, size_t size)
{
	size_t n = 0;
	while (d->p < d->end && isalpha((unsigned char)*d->p)) {
		if (n + 1 < size)
			buf[n++] = *d->p;
		d->p++;
	}
	buf[n] = '\0';
	return n;
}

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

static const struct { const char *name; int min; } zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
};

static bool valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

int search_date_parse(const char *s, size_t len, struct search_date *out)
{
	struct dp d = { s, s + len };
	char w[16];
	memset(out, 0, sizeof(*out));
	skip_cfws(&d);
	/* optional day-of-week "," */
	const char *save = d.p;
	if (word(&d, w, sizeof(w)) > 0) {
		skip_cfws(&d);
		if (d.p < d.end && *d.p == ',') {
			d.p++;
			skip_cfws(&d);
		} else {
			d.p = save;
		}
	}
	skip_cfws(&d);
	int day = number(&d, 2, NULL);
	if (day < 0)
		return -1;
	skip_cfws(&d);
	if (d.p < d.end && *d.p == '-')
		d.p++;
	if (word(&d, w, sizeof(w)) < 3)
		return -1;
	int month = 0;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(w, months[i], 3) == 0)
			month = i + 1;
	if (month == 0)
		return -1;
	skip_cfws(&d);
	if (d.p < d.end && *d.p == '-')
		d.p++;
	int nd;
	int year = number(&d, 4, &nd);
	if (year < 0)
		return -1;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;      /* RFC 5322 4.3 */
	else if (nd == 3)
		year += 1900;
	if (!valid_date(year, month, day))
		return -1;
	out->year = year;
	out->month = month;
	out->day = day;
	/* time and zone: optional for the date, needed for the UTC value */
	int hh = 0, mm = 0, ss = 0, zone = 0;
	skip_cfws(&d);
	int v = number(&d, 2, NULL);
	if (v >= 0) {
		hh = v;
		skip_cfws(&d);
		if (d.p < d.end && *d.p == ':') {
			d.p++;
			skip_cfws(&d);
			mm = number(&d, 2, NULL);
			skip_cfws(&d);
			if (d.p < d.end && *d.p == ':') {
				d.p++;
				skip_cfws(&d);
				ss = number(&d, 2, NULL);
			}
		}
		if (hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
			hh = mm = ss = 0;
		skip_cfws(&d);
		if (d.p < d.end && (*d.p == '+' || *d.p == '-')) {
			int sign = *d.p == '-' ? -1 : 1;
			d.p++;
			int z = number(&d, 4, &nd);
			if (z >= 0 && nd == 4 && z % 100 < 60)
				zone = sign * ((z / 100) * 60 + z % 100);
		} else if (word(&d, w, sizeof(w)) > 0) {
			for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
				if (strcasecmp(w, zones[i].name) == 0)
					zone = zones[i].min;
		}
	}
	out->zone_min = zone;
	out->utc = store_search_day(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss -
		   (int64_t)zone * 60;
	return 0;
}
