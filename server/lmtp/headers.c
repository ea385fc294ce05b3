/* Trace header lines (see headers.h). The Received line is folded before
 * "by", "with"/"id" and the date so no line grows past 78 characters with
 * ordinary values. */
#include "server/lmtp/headers.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"

const char *trace_protocol(bool lmtp, bool esmtp, bool tls, bool auth, bool utf8)
{
	static const char *const names[2][2][4] = {
		/* [utf8][lmtp][tls*2 + auth] */
		{ { "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA" },
		  { "LMTP", "LMTPA", "LMTPS", "LMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA" },
		  { "UTF8LMTP", "UTF8LMTPA", "UTF8LMTPS", "UTF8LMTPSA" } },
	};
	if (!lmtp && !esmtp)
		return "SMTP";
	return names[utf8 ? 1 : 0][lmtp ? 1 : 0][(tls ? 2 : 0) + (auth ? 1 : 0)];
}

void trace_date(time_t when, char *buf, size_t size)
{
	struct tm tm;
	localtime_r(&when, &tm);
	/* RFC 5322 3.3 with English names, whatever the locale */
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, sign, off / 60, off % 60);
}

char *trace_headers(const struct trace_info *t, size_t *len_r)
{
	const char *eol = t->eol != NULL ? t->eol : "\r\n";
	char *out = xstrdup("");
	if (t->delivered_to != NULL) {
		char *more = xasprintf("%sDelivered-To: %s%s", out, t->delivered_to, eol);
		free(out);
		out = more;
	}
	if (t->return_path != NULL) {
		char *more = xasprintf("%sReturn-Path: <%s>%s", out, t->return_path, eol);
		free(out);
		out = more;
	}
	if (t->by_host != NULL) {
		char date[64];
		trace_date(t->when, date, sizeof(date));
		char forpart[600] = "";
		if (t->for_rcpt != NULL)
			snprintf(forpart, sizeof(forpart), "%s\tfor <%s>", eol, t->for_rcpt);
		/* TCP-info as an address literal (RFC 5321 4.1.3, 4.4) */
		char client[80];
		const char *c = t->client != NULL ? t->client : "unknown";
		if (strchr(c, ':') != NULL)
			snprintf(client, sizeof(client), "[IPv6:%s]", c);
		else if (strchr(c, '.') != NULL)
			snprintf(client, sizeof(client), "[%s]", c);
		else
			snprintf(client, sizeof(client), "%s", c);
		char *more = xasprintf("%sReceived: from %s (%s)%s\tby %s (Loft) with %s id %s%s;"
				       "%s\t%s%s", out, t->helo != NULL ? t->helo : "unknown",
				       client, eol, t->by_host,
				       t->protocol != NULL ? t->protocol : "SMTP",
				       t->id != NULL ? t->id : "-", forpart, eol, date, eol);
		free(out);
		out = more;
	}
	*len_r = strlen(out);
	return out;
}
