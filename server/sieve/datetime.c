/* Dates for the date and currentdate tests (RFC 5260): parsing RFC 5322
 * date-times (obsolete zone names and two-digit years included), the date
 * parts of a time shown in a zone, and the RFC 5322 form of generated
 * messages' Date fields. Calendar arithmetic is proleptic Gregorian on
 * 64-bit seconds, independent of the process's TZ except where the local
 * zone is asked for. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/sieve/run.h"

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r, unsigned *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*y_r = y + (m <= 2);
	*m_r = m;
	*d_r = d;
}

struct cur {
	const char *p, *end;
};

static void skip_cfws(struct cur *c)
{
	int depth = 0;
	while (c->p < c->end) {
		char ch = *c->p;
		if (depth > 0) {
			if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			else if (ch == '\\' && c->p + 1 < c->end)
				c->p++;
			c->p++;
		} else if (ch == '(') {
			depth = 1;
			c->p++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			c->p++;
		} else {
			break;
		}
	}
}

static bool number(struct cur *c, unsigned min_digits, unsigned max_digits, long *v_r,
		   unsigned *digits_r)
{
	skip_cfws(c);
	long v = 0;
	unsigned n = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && n < max_digits) {
		v = v * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	if (n < min_digits)
		return false;
	*v_r = v;
	if (digits_r)
		*digits_r = n;
	return true;
}

static bool word(struct cur *c, char *buf, size_t size)
{
	skip_cfws(c);
	size_t n = 0;
	while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z'))) {
		if (n + 1 < size)
			buf[n++] = *c->p;
		c->p++;
	}
	buf[n] = '\0';
	return n > 0;
}

static bool zone(struct cur *c, int *minutes_r)
{
	skip_cfws(c);
	if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
		int sign = *c->p == '-' ? -1 : 1;
		c->p++;
		long v;
		unsigned n;
		/* "-600" is read as -0600, as other parsers do */
		if (!number(c, 3, 4, &v, &n))
			return false;
		long h = v / 100, m = v % 100;
		if (m > 59)
			return false;
		*minutes_r = sign * (int)(h * 60 + m);
		return true;
	}
	char w[8];
	if (!word(c, w, sizeof(w)))
		return false;
	static const struct { const char *n; int m; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 }, { "EDT", -240 },
		{ "CST", -360 }, { "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(w, names[i].n) == 0) {
			*minutes_r = names[i].m;
			return true;
		}
	}
	/* military and unknown zones: RFC 5322 4.3 says treat as -0000 */
	*minutes_r = 0;
	return true;
}

bool sv_date_parse(const char *s, size_t len, int64_t *t_r, int *zone_r)
{
	struct cur c = { s, s + len };
	char w[16];
	skip_cfws(&c);
	const char *save = c.p;
	if (word(&c, w, sizeof(w))) {
		skip_cfws(&c);
		if (c.p < c.end && *c.p == ',')
			c.p++;
	} else {
		c.p = save;
	}
	long day, year, hour, min, sec = 0;
	unsigned ydigits;
	if (!number(&c, 1, 2, &day, NULL) || !word(&c, w, sizeof(w)))
		return false;
	int month = -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(w, months[i], 3) == 0 && strlen(w) == 3)
			month = i + 1;
	if (month < 0 || !number(&c, 2, 4, &year, &ydigits))
		return false;
	if (ydigits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ydigits == 3)
		year += 1900;
	if (!number(&c, 1, 2, &hour, NULL))
		return false;
	skip_cfws(&c);
	if (c.p >= c.end || *c.p != ':')
		return false;
	c.p++;
	if (!number(&c, 2, 2, &min, NULL))
		return false;
	skip_cfws(&c);
	if (c.p < c.end && *c.p == ':') {
		c.p++;
		if (!number(&c, 2, 2, &sec, NULL))
			return false;
	}
	int zm = 0;
	skip_cfws(&c);
	/* a missing zone is -0000 (unknown), as Pigeonhole reads it */
	if (c.p < c.end && !zone(&c, &zm))
		return false;
	if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return false;
	int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
	*t_r = days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)zm * 60;
	*zone_r = zm;
	return true;
}

int sv_local_zone(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

struct parts {
	int64_t year;
	unsigned month, day, hour, min, sec, wday;
	int64_t days;
};

static void split(int64_t t, int zone, struct parts *p)
{
	int64_t lt = t + (int64_t)zone * 60;
	int64_t days = lt >= 0 ? lt / 86400 : -((-lt + 86399) / 86400);
	int64_t rem = lt - days * 86400;
	civil_from_days(days, &p->year, &p->month, &p->day);
	p->hour = (unsigned)(rem / 3600);
	p->min = (unsigned)(rem / 60 % 60);
	p->sec = (unsigned)(rem % 60);
	p->wday = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	p->days = days;
}

void sv_date_part(int part, int64_t t, int zone, char *buf, size_t size)
{
	struct parts p;
	split(t, zone, &p);
	int za = zone < 0 ? -zone : zone;
	char sign = zone < 0 ? '-' : '+';
	switch (part) {
	case 0: snprintf(buf, size, "%04lld", (long long)p.year); break;
	case 1: snprintf(buf, size, "%02u", p.month); break;
	case 2: snprintf(buf, size, "%02u", p.day); break;
	case 3: snprintf(buf, size, "%04lld-%02u-%02u", (long long)p.year, p.month, p.day); break;
	case 4: /* Modified Julian Day: days since 1858-11-17 */
		snprintf(buf, size, "%lld", (long long)(p.days + 40587));
		break;
	case 5: snprintf(buf, size, "%02u", p.hour); break;
	case 6: snprintf(buf, size, "%02u", p.min); break;
	case 7: snprintf(buf, size, "%02u", p.sec); break;
	case 8: snprintf(buf, size, "%02u:%02u:%02u", p.hour, p.min, p.sec); break;
	case 9:
		snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u%c%02d:%02d", (long long)p.year,
			 p.month, p.day, p.hour, p.min, p.sec, sign, za / 60, za % 60);
		break;
	case 10: sv_date_rfc5322(t, zone, buf, size); break;
	case 11: snprintf(buf, size, "%c%02d%02d", sign, za / 60, za % 60); break;
	case 12: snprintf(buf, size, "%u", p.wday); break;
	default: buf[0] = '\0'; break;
	}
}

void sv_date_rfc5322(int64_t t, int zone, char *buf, size_t size)
{
	struct parts p;
	split(t, zone, &p);
	int za = zone < 0 ? -zone : zone;
	snprintf(buf, size, "%s, %02u %s %04lld %02u:%02u:%02u %c%02d%02d", day_names[p.wday],
		 p.day, month_names[p.month - 1], (long long)p.year, p.hour, p.min, p.sec,
		 zone < 0 ? '-' : '+', za / 60, za % 60);
}
