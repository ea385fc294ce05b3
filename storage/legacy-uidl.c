/* UIDLs a previous server gave (store_legacy_uidls): Dovecot's Maildir UID
 * list, <mailbox dir>/dovecot-uidlist, as a migration leaves it beside the
 * messages. Version 3 lines are "<uid> [<key><value> ...] :<filename>"
 * after a header "3 V<uidvalidity> N<uidnext> ..."; version 1 lines are
 * "<uid> <filename>" after "1 <uidvalidity> <uidnext>". A P field is the
 * message's POP3 UIDL as Dovecot gave it; without one the UIDL is the
 * format of Dovecot's pop3_uidl_format applied to the old UID and
 * UIDVALIDITY. Files are matched to messages by Maildir base name, which
 * the store keeps when it adopts a file. The file is only read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"

#define LEGACY_UIDL_MAX 70   /* RFC 1939 7 */

/* A string -> string map with open addressing (keys are unique). */
struct smap {
	char **keys, **vals;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t smap_slot(const struct smap *m, const char *key)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);
	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static const char *smap_get(const struct smap *m, const char *key)
{
	if (m->cap == 0)
		return NULL;
	size_t i = smap_slot(m, key);
	return m->keys[i] != NULL ? m->vals[i] : NULL;
}

/* Insert unless present; false when the key was there. */
static bool smap_add(struct smap *m, const char *key, const char *val)
{
	if (2 * (m->n + 1) > m->cap) {
		struct smap bigger = { .cap = m->cap ? m->cap * 2 : 64 };
		bigger.keys = xcalloc(bigger.cap, sizeof(char *));
		bigger.vals = xcalloc(bigger.cap, sizeof(char *));
		for (size_t i = 0; i < m->cap; i++) {
			if (m->keys[i] == NULL)
				continue;
			size_t j = smap_slot(&bigger, m->keys[i]);
			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
		}
		bigger.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = bigger;
	}
	size_t i = smap_slot(m, key);
	if (m->keys[i] != NULL)
		return false;
	m->keys[i] = xstrdup(key);
	m->vals[i] = val != NULL ? xstrdup(val) : NULL;
	m->n++;
	return true;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
}

/* pop3_uidl_format: %u (UID), %v (UIDVALIDITY), %f (file base), %% and
 * for numbers an optional 0-padded width and X/x for hex ("%08Xu"). */
static bool expand(const char *fmt, uint32_t uid, uint32_t uidvalidity, const char *base,
		   char *out, size_t size)
{
	size_t o = 0;
	for (const char *p = fmt; *p != '\0'; p++) {
		char piece[160];
		if (*p != '%') {
			piece[0] = *p;
			piece[1] = '\0';
		} else {
			p++;
			bool zero = *p == '0';
			unsigned width = 0;
			while (*p >= '0' && *p <= '9')
				width = width * 10 + (unsigned)(*p++ - '0');
			char conv = 'u';
			if (*p == 'X' || *p == 'x')
				conv = *p++;
			if (width > 32)
				return false;
			if (*p == 'u' || *p == 'v') {
				unsigned long v = *p == 'u' ? uid : uidvalidity;
				char spec[16];
				snprintf(spec, sizeof(spec), "%%%s%ul%c", zero ? "0" : "", width,
					 conv == 'u' ? 'u' : conv);
				snprintf(piece, sizeof(piece), spec, v);
			} else if (*p == 'f' && conv == 'u' && width == 0) {
				snprintf(piece, sizeof(piece), "%s", base);
			} else if (*p == '%' && conv == 'u' && width == 0) {
				snprintf(piece, sizeof(piece), "%%");
			} else {
				return false;
			}
		}
		size_t n = strlen(piece);
		if (o + n >= size)
			return false;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return o > 0;
}

static bool uidl_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LEGACY_UIDL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* base -> UIDL from the list file; values unique (first wins). */
static int read_list(const char *path, const char *format, struct smap *by_base)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return STORE_ENOTFOUND;
		log_error("store: open %s: %s", path, strerror(errno));
		return STORE_EIO;
	}
	struct smap seen = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned version = 0;
	uint32_t uidvalidity = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *p = line;
		if (version == 0) {
			version = (unsigned)strtoul(p, &p, 10);
			if (version == 1) {
				uidvalidity = (uint32_t)strtoul(p, NULL, 10);
			} else if (version == 3) {
				for (char *t = strtok(p, " "); t != NULL; t = strtok(NULL, " "))
					if (t[0] == 'V')
						uidvalidity = (uint32_t)strtoul(t + 1, NULL, 10);
			} else {
				log_warn("store: %s: unknown version %u", path, version);
				break;
			}
			continue;
		}
		char *end;
		unsigned long uid = strtoul(p, &end, 10);
		if (end == p || uid == 0 || uid > UINT32_MAX || (*end != ' ' && *end != '\0'))
			continue;
		p = end;
		const char *pfield = NULL, *filename = NULL;
		if (version == 1) {
			filename = p + strspn(p, " ");
		} else {
			char *colon = strstr(p, " :");
			if (colon == NULL)
				continue;
			*colon = '\0';
			filename = colon + 2;
			for (char *t = strtok(p, " "); t != NULL; t = strtok(NULL, " "))
				if (t[0] == 'P' && t[1] != '\0')
					pfield = t + 1;
		}
		struct maildir_name name;
		if (maildir_name_parse(filename, &name) < 0)
			continue;
		char uidl[LEGACY_UIDL_MAX + 2];
		if (pfield != NULL) {
			if (strlen(pfield) > LEGACY_UIDL_MAX)
				continue;
			strcpy(uidl, pfield);
		} else if (!expand(format, (uint32_t)uid, uidvalidity, name.base, uidl,
				   sizeof(uidl))) {
			continue;
		}
		if (!uidl_valid(uidl) || !smap_add(&seen, uidl, NULL))
			continue; /* invalid, or another message's UIDL already */
		smap_add(by_base, name.base, uidl);
	}
	free(line);
	smap_free(&seen);
	fclose(f);
	return STORE_OK;
}

struct scan_ctx {
	const struct smap *by_base;
	store_legacy_uidl_cb *cb;
	void *ctx;
};

static int scan_msg(const struct store_msg *msg, void *ctx)
{
	struct scan_ctx *sc = ctx;
	const char *uidl = smap_get(sc->by_base, msg->id_base);
	if (uidl != NULL)
		sc->cb(msg->uid, uidl, sc->ctx);
	return 0;
}

int store_legacy_uidls(struct store_mailbox *mbox, const char *format, store_legacy_uidl_cb *cb,
		       void *ctx)
{
	thread_assert_may_block("store_legacy_uidls");
	char *path = xasprintf("%s/dovecot-uidlist", mbox->dir);
	struct smap by_base = { 0 };
	int err = read_list(path, format, &by_base);
	free(path);
	if (err == STORE_OK && by_base.n > 0) {
		struct scan_ctx sc = { &by_base, cb, ctx };
		err = store_msg_scan(mbox, 1, UINT32_MAX, scan_msg, &sc);
	}
	smap_free(&by_base);
	return err;
}
