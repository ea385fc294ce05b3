/* Mailbox-list setting values (see mailboxes.h). */
#include "conf/mailboxes.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "lib/xmem.h"

/* RFC 6154 section 2 (and the IANA registry's \Important is left out: it is
 * a per-user flag on real mailboxes in RFC 8457, not a folder role). */
static const char *const uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool valid_name(const char *name, char **why_r)
{
	const unsigned char *p = (const unsigned char *)name;
	if (*p == '/' || (*p != '\0' && p[strlen(name) - 1] == '/') || strstr(name, "//")) {
		*why_r = xasprintf("'%s' has an empty level; separate levels with a single '/'",
				   name);
		return false;
	}
	while (*p != '\0') {
		uint32_t cp;
		size_t n = *p < 0x80 ? 1 : utf8_decode(p, &cp);
		if (n == 0) {
			*why_r = xasprintf("'%s' is not valid UTF-8; write mailbox names in UTF-8",
					   name);
			return false;
		}
		p += n;
	}
	return true;
}

void conf_mailboxes_free(struct conf_mailbox *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int conf_mailboxes_parse(const char *text, struct conf_mailbox **list_r, size_t *n_r,
			 char **why_r)
{
	*list_r = NULL;
	*n_r = 0;
	struct conf_mailbox *list = NULL;
	size_t n = 0;
	const char *p = text;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && is_space(*p))
			p++;
		const char *e = end;
		while (e > p && is_space(e[-1]))
			e--;
		if (e == p) {
			*why_r = xstrdup("an entry is empty; write 'Name \\Use' entries separated "
					 "by commas, e.g. Drafts \\Drafts, Sent \\Sent");
			goto fail;
		}
		/* An attribute is the last word when it starts with '\'. */
		const char *w = e;
		while (w > p && !is_space(w[-1]))
			w--;
		const char *use = NULL;
		const char *name_end = e;
		if (*w == '\\') {
			for (size_t k = 0; k < sizeof(uses) / sizeof(uses[0]); k++)
				if (strlen(uses[k]) == (size_t)(e - w) &&
				    strncasecmp(uses[k], w, (size_t)(e - w)) == 0)
					use = uses[k];
			if (use == NULL) {
				*why_r = xasprintf("'%.*s' is not a special-use attribute; use one of "
						   "\\All \\Archive \\Drafts \\Flagged \\Junk "
						   "\\Sent \\Trash", (int)(e - w), w);
				goto fail;
			}
			name_end = w;
			while (name_end > p && is_space(name_end[-1]))
				name_end--;
			if (name_end == p) {
				*why_r = xasprintf("'%s' has no mailbox name before it", use);
				goto fail;
			}
		}
		char *name = xstrndup(p, (size_t)(name_end - p));
		if (!valid_name(name, why_r)) {
			free(name);
			goto fail;
		}
		for (size_t k = 0; k < n; k++) {
			if (strcmp(list[k].name, name) == 0) {
				*why_r = xasprintf("'%s' is listed twice", name);
				free(name);
				goto fail;
			}
		}
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n].name = name;
		list[n].use = use;
		n++;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0') {
			*why_r = xstrdup("the list ends with a comma; remove it");
			goto fail;
		}
	}
	*list_r = list;
	*n_r = n;
	return 0;
fail:
	conf_mailboxes_free(list, n);
	return -1;
}
