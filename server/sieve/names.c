/* The names and shapes Sieve knows outside the command table: the
 * extensions a script may require (and the SIEVE capability ManageSieve
 * advertises), and the validity checks of header names, addresses,
 * variable names, date parts and time zones that both the compiler (for
 * constant strings) and the interpreter (for expanded ones) apply. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "server/sieve/sieve-internal.h"

/* ---- extensions ---- */

static const char *const ext_names[SV_EXT_COUNT] = {
	[SV_EXT_FILEINTO] = "fileinto",
	[SV_EXT_REJECT] = "reject",
	[SV_EXT_EREJECT] = "ereject",
	[SV_EXT_ENVELOPE] = "envelope",
	[SV_EXT_IMAP4FLAGS] = "imap4flags",
	[SV_EXT_VACATION] = "vacation",
	[SV_EXT_VACATION_SECONDS] = "vacation-seconds",
	[SV_EXT_BODY] = "body",
	[SV_EXT_VARIABLES] = "variables",
	[SV_EXT_RELATIONAL] = "relational",
	[SV_EXT_SUBADDRESS] = "subaddress",
	[SV_EXT_COPY] = "copy",
	[SV_EXT_MAILBOX] = "mailbox",
	[SV_EXT_DATE] = "date",
	[SV_EXT_INDEX] = "index",
	[SV_EXT_EDITHEADER] = "editheader",
	[SV_EXT_DUPLICATE] = "duplicate",
	[SV_EXT_INCLUDE] = "include",
	[SV_EXT_SPAMTEST] = "spamtest",
	[SV_EXT_SPAMTESTPLUS] = "spamtestplus",
	[SV_EXT_CMP_NUMERIC] = "comparator-i;ascii-numeric",
	[SV_EXT_CMP_OCTET] = "comparator-i;octet",
	[SV_EXT_CMP_CASEMAP] = "comparator-i;ascii-casemap",
};

int sv_ext_find(const char *name, size_t len)
{
	for (int i = 0; i < SV_EXT_COUNT; i++)
		if (strlen(ext_names[i]) == len && strncmp(ext_names[i], name, len) == 0)
			return i;
	return -1;
}

const char *sv_ext_name(enum sv_ext e)
{
	return (unsigned)e < SV_EXT_COUNT ? ext_names[e] : "?";
}

const char *sieve_capability(void)
{
	/* comparator-i;octet and -i;ascii-casemap are implicit (RFC 5804
	 * lists only extensions a script must require). */
	return "fileinto reject ereject envelope imap4flags vacation vacation-seconds "
	       "body variables relational subaddress copy mailbox date index editheader "
	       "duplicate include spamtest spamtestplus comparator-i;ascii-numeric";
}

/* ---- shared validity helpers ---- */

bool sv_header_name_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c >= 127 || c == ':')
			return false;
	}
	return true;
}

bool sv_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		unsigned char tmp[5] = { 0 };
		size_t n = len - i < 4 ? len - i : 4;
		memcpy(tmp, s + i, n);
		uint32_t cp;
		size_t k = utf8_decode(tmp, &cp);
		if (k == 0 || k > n)
			return false;
		i += k;
	}
	return true;
}

bool sv_address_valid(const char *s, size_t len)
{
	/* local-part "@" domain: a pragmatic check of RFC 5322 addr-spec */
	const char *at = NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c == 127 || c == '<' || c == '>' || c == ',' || c == ';')
			return false;
		if (c == '@')
			at = s + i;
	}
	if (at == NULL || at == s || at == s + len - 1)
		return false;
	const char *d = at + 1;
	size_t dlen = (size_t)(s + len - d);
	if (memchr(d, '@', dlen) != NULL || d[0] == '.' || d[dlen - 1] == '.')
		return false;
	return true;
}

bool sv_var_name_valid(const char *s, size_t len)
{
	/* identifier *("." identifier): namespaces are accepted only for the
	 * names we know, i.e. none: a plain identifier. */
	if (len == 0)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static const char *const date_parts[] = {
	"year", "month", "day", "date", "julian", "hour", "minute", "second", "time",
	"iso8601", "std11", "zone", "weekday", NULL,
};

int sv_date_part_find(const char *s)
{
	for (int i = 0; date_parts[i] != NULL; i++)
		if (strcasecmp(date_parts[i], s) == 0)
			return i;
	return -1;
}

bool sv_zone_parse(const char *s, int *minutes_r)
{
	/* "+hhmm" / "-hhmm" (RFC 5260 4.1) */
	if (strlen(s) != 5 || (s[0] != '+' && s[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	int h = (s[1] - '0') * 10 + (s[2] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return false;
	*minutes_r = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

