/* libFuzzer target for the IMAP URL parser (server/imap/url.c, RFC 5092 and
 * RFC 4467): any input is parsed from an exact-size copy; a URL that parses
 * must be self-consistent (a decoded mailbox is UTF-8 without NUL, a token
 * sits right after the rump behind ':'), and its rump — what a URLAUTH
 * token signs — must parse to the same URL without the token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/imap/reply.h"
#include "server/imap/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct imap_url u;
	const char *why;
	if (imap_url_parse(copy, size, &u, &why) != 0) {
		if (why == NULL || why[0] == '\0')
			abort();
		free(copy);
		return 0;
	}
	if (u.mailbox != NULL && !imap_utf8_valid(u.mailbox, strlen(u.mailbox)))
		abort();
	if (u.access != IMAP_URL_ACCESS_NONE) {
		if (u.rump_len == 0 || u.rump_len > size || u.uid == 0)
			abort();
		if (u.token != NULL && (u.rump_len >= size || copy[u.rump_len] != ':' ||
					strlen(u.token) < 32 || u.mechanism == NULL))
			abort();
		struct imap_url r;
		if (imap_url_parse(copy, u.rump_len, &r, &why) != 0)
			abort();
		if (r.token != NULL || r.mechanism != NULL || r.rump_len != u.rump_len ||
		    r.uid != u.uid || r.access != u.access || r.uidvalidity != u.uidvalidity)
			abort();
		same_or_abort(r.mailbox, u.mailbox);
		same_or_abort(r.section, u.section);
		same_or_abort(r.access_user, u.access_user);
		same_or_abort(r.user, u.user);
		same_or_abort(r.host, u.host);
		imap_url_free(&r);
	} else if (u.token != NULL || u.mechanism != NULL || u.rump_len != 0) {
		abort();
	}
	imap_url_free(&u);
	free(copy);
	return 0;
}
