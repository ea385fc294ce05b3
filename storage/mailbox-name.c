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
