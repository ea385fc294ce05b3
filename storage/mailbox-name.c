/* Mailbox names: validation of UTF-8 API names, their one-to-one mapping to
 * Maildir++ folder directory names (and back, strictly), and modified UTF-7
 * (RFC 3501 5.1.3) conversion. This is the wall that keeps a client's name
 * from reaching outside the user's directory. */
#include "storage/mailbox-name.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "lib/xmem.h"
#include "storage/store.h"

/* ---- UTF-8 ---- */

/* ---- API names ---- */

static bool component_is_inbox(const char *s, size_t len)
{
	return len == 5 && strncasecmp(s, "INBOX", 5) == 0;
}

int mailbox_name_validate(const char *name, const char **why_r)
{
	const char *why_dummy;
	if (why_r == NULL)
		why_r = &why_dummy;
	if (name == NULL || name[0] == '\0') {
		*why_r = "empty name";
		return STORE_EINVALID;
	}
	size_t total = strlen(name);
	if (total > MAILBOX_NAME_MAX) {
		*why_r = "name too long";
		return STORE_EINVALID;
	}
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0;
	while (i < total) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, &cp);
		if (n == 0) {
			*why_r = "invalid UTF-8";
			return STORE_EINVALID;
		}
		if (cp < 0x20 || cp == 0x7f) {
			*why_r = "control character in name";
			return STORE_EINVALID;
		}
		i += n;
	}
	const char *comp = name;
	for (;;) {
		const char *slash = strchr(comp, '/');
		size_t len = slash != NULL ? (size_t)(slash - comp) : strlen(comp);
		if (len == 0) {
			*why_r = "empty hierarchy level";
			return STORE_EINVALID;
		}
		if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.')) {
			*why_r = "'.' or '..' hierarchy level";
			return STORE_EINVALID;
		}
		if (len > MAILBOX_COMPONENT_MAX) {
			*why_r = "hierarchy level too long";
			return STORE_EINVALID;
		}
		if (slash == NULL)
			break;
		comp = slash + 1;
	}
	/* The Maildir++ directory is one file name: "." + escaped components
	 * joined by '.', and it must fit the file system's NAME_MAX. */
	if (!mailbox_name_is_inbox(name)) {
		size_t encoded = 1 + total;
		for (size_t k = 0; k < total; k++)
			if (name[k] == '.' || name[k] == '%')
				encoded += 2;
		if (encoded > MAILBOX_DIR_NAME_MAX) {
			*why_r = "name too long (its folder name would exceed 255 bytes)";
			return STORE_EINVALID;
		}
	}
	*why_r = NULL;
	return 0;
}

bool mailbox_name_is_inbox(const char *name)
{
	return name != NULL && strcasecmp(name, "INBOX") == 0;
}

char *mailbox_name_canonical(const char *name)
{
	if (mailbox_name_validate(name, NULL) < 0)
		return NULL;
	char *out = xstrdup(name);
	const char *slash = strchr(out, '/');
	size_t first_len = slash != NULL ? (size_t)(slash - out) : strlen(out);
	if (component_is_inbox(out, first_len))
		memcpy(out, "INBOX", 5);
	return out;
}

char *mailbox_name_to_dir(const char *name)
{
	char *canon = mailbox_name_canonical(name);
	if (canon == NULL)
		return NULL;
	if (strcmp(canon, "INBOX") == 0) {
		free(canon);
		return xstrdup("");
	}
	/* Worst case every byte becomes "%25", plus the leading '.'. */
	char *out = xmalloc(strlen(canon) * 3 + 2);
	size_t n = 0;
	out[n++] = '.';
	for (const char *p = canon; *p != '\0'; p++) {
		if (*p == '/') {
			out[n++] = '.';
		} else if (*p == '%') {
			memcpy(out + n, "%25", 3);
			n += 3;
		} else if (*p == '.') {
			memcpy(out + n, "%2E", 3);
			n += 3;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	free(canon);
	return out;
}

char *mailbox_name_from_dir(const char *dirname)
{
	if (dirname == NULL || dirname[0] != '.' || dirname[1] == '\0')
		return NULL;
	size_t len = strlen(dirname);
	if (len > MAILBOX_NAME_MAX * 3 + 1)
		return NULL;
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (const char *p = dirname + 1; *p != '\0'; p++) {
		if (*p == '.') {
			out[n++] = '/';
		} else if (*p == '%') {
			if (p[1] == '2' && p[2] == '5')
				out[n++] = '%';
			else if (p[1] == '2' && p[2] == 'E')
				out[n++] = '.';
			else {
				free(out);
				return NULL;
			}
			p += 2;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	/* Only the exact encoding of a valid canonical name is a mailbox:
	 * this rejects ".inbox.x", ".INBOX", unneeded escapes and the like. */
	char *back = mailbox_name_to_dir(out);
	if (back == NULL || strcmp(back, dirname) != 0) {
		free(back);
		free(out);
		return NULL;
	}
	free(back);
	return out;
}

char *mailbox_name_parent(const char *name)
{
	char *canon = mailbox_name_canonical(name);
	if (canon == NULL)
		return NULL;
	char *slash = strrchr(canon, '/');
	if (slash == NULL) {
		free(canon);
		return NULL;
	}
	*slash = '\0';
	return canon;
}

/* ---- modified UTF-7 ---- */

static const char mutf7_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool mutf7_direct(uint32_t cp)
{
	return cp >= 0x20 && cp <= 0x7e;
}

/* Decode one base64 run starting after '&' at *pp up to its '-'. Appends
 * UTF-8 to out at *n. Returns false on anything non-canonical. */
static bool mutf7_decode_run(const char **pp, char *out, size_t *n)
{
	const char *p = *pp;
	uint32_t bits = 0;
	unsigned nbits = 0;
	uint32_t high = 0; /* pending high surrogate */
	size_t units = 0;

	for (; *p != '-'; p++) {
		int v = b64_value(*p);
		if (v < 0)
			return false; /* bad character or unterminated */
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return false;
			uint32_t cp = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			*n += utf8_encode(out + *n, cp);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return false;
		} else {
			if (u == 0 || mutf7_direct(u))
				return false;
			*n += utf8_encode(out + *n, u);
		}
	}
	/* Canonical end: no lone surrogate, fewer than 6 leftover bits (no
	 * superfluous character), all of them zero, and at least one unit. */
	if (high != 0 || units == 0 || nbits >= 6 || bits != 0)
		return false;
	*pp = p + 1;
	return true;
}

char *mutf7_to_utf8(const char *mutf7)
{
	if (mutf7 == NULL)
		return NULL;
	/* Each input byte yields at most 3 UTF-8 bytes ("&" runs shrink). */
	char *out = xmalloc(strlen(mutf7) * 3 + 1);
	size_t n = 0;
	const char *p = mutf7;
	bool after_run = false;

	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		if (c != '&') {
			if (!mutf7_direct(c))
				goto fail;
			out[n++] = (char)c;
			p++;
			after_run = false;
			continue;
		}
		if (p[1] == '-') {
			out[n++] = '&';
			p += 2;
			after_run = false;
			continue;
		}
		/* Two adjacent runs must have been written as one. */
		if (after_run)
			goto fail;
		p++;
		if (!mutf7_decode_run(&p, out, &n))
			goto fail;
		after_run = true;
	}
	out[n] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

static void mutf7_put_unit(uint32_t u, uint32_t *bits, unsigned *nbits, char *out, size_t *n)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		out[(*n)++] = mutf7_b64[(*bits >> *nbits) & 0x3f];
	}
	*bits &= (1u << *nbits) - 1;
}

char *utf8_to_mutf7(const char *utf8)
{
	if (utf8 == NULL)
		return NULL;
	/* Worst case: a 1-byte char (DEL, controls) costs "&" + 3 + "-" = 5,
	 * an '&' costs 2; a 4-byte char costs 2 units = 6 chars of base64. */
	size_t len = strlen(utf8);
	char *out = xmalloc(len * 5 + 1);
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)utf8;

	while (*p != '\0') {
		uint32_t cp;
		size_t step = utf8_decode(p, &cp);
		if (step == 0) {
			free(out);
			return NULL;
		}
		if (mutf7_direct(cp)) {
			out[n++] = (char)cp;
			if (cp == '&')
				out[n++] = '-';
			p += step;
			continue;
		}
		uint32_t bits = 0;
		unsigned nbits = 0;
		out[n++] = '&';
		while (*p != '\0') {
			step = utf8_decode(p, &cp);
			if (step == 0) {
				free(out);
				return NULL;
			}
			if (mutf7_direct(cp))
				break;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				mutf7_put_unit(0xd800 | (cp >> 10), &bits, &nbits, out, &n);
				mutf7_put_unit(0xdc00 | (cp & 0x3ff), &bits, &nbits, out, &n);
			} else {
				mutf7_put_unit(cp, &bits, &nbits, out, &n);
			}
			p += step;
		}
		if (nbits > 0)
			out[n++] = mutf7_b64[(bits << (6 - nbits)) & 0x3f];
		out[n++] = '-';
	}
	out[n] = '\0';
	return out;
}
