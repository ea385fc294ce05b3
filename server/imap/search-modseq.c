/* The CONDSTORE MODSEQ search key (see search-modseq.h). */
#include "server/imap/search-modseq.h"

#include <string.h>
#include <strings.h>

#include "server/imap/args.h"
#include "server/imap/outbuf.h"
#include "server/imap/parser.h"
#include "storage/store.h"

#define FLAGS_PREFIX "/flags/"

static int parse_modseq(const struct imap_arg *a, uint64_t *v_r)
{
	return imap_arg_u64(a, INT64_MAX, v_r);
}

/* entry-flag-name: "/flags/" followed by a flag ("\Seen", a keyword). */
static const char *entry_flag(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL)
		return NULL;
	if (a->str == NULL || strlen(a->str) != a->len ||
	    strncasecmp(a->str, FLAGS_PREFIX, strlen(FLAGS_PREFIX)) != 0)
		return NULL;
	const char *f = a->str + strlen(FLAGS_PREFIX);
	if (*f == '\\')
		f++;
	if (*f == '\0')
		return NULL;
	for (const char *p = f; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return NULL;
	}
	return a->str + strlen(FLAGS_PREFIX);
}

int imap_search_modseq_parse(const struct imap_arg *args, size_t n_args,
			     struct imap_search_modseq *key, size_t *used_r,
			     const char **why_r)
{
	memset(key, 0, sizeof(*key));
	*why_r = "MODSEQ needs a mod-sequence value.";
	if (n_args < 2 || args[0].type != IMAP_ARG_ATOM || strcasecmp(args[0].str, "MODSEQ") != 0)
		return -1;
	if (parse_modseq(&args[1], &key->modseq) == 0) {
		*used_r = 2;
		return 0;
	}
	*why_r = "MODSEQ takes [entry-name entry-type] mod-sequence-value.";
	if (n_args < 4 || (key->flag = entry_flag(&args[1])) == NULL ||
	    args[2].type != IMAP_ARG_ATOM)
		return -1;
	static const struct { const char *name; enum imap_modseq_entry_type type; } types[] = {
		{ "priv", IMAP_MODSEQ_ENTRY_PRIV }, { "shared", IMAP_MODSEQ_ENTRY_SHARED },
		{ "all", IMAP_MODSEQ_ENTRY_ALL },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(args[2].str, types[i].name) == 0)
			key->type = types[i].type;
	if (key->type == IMAP_MODSEQ_ENTRY_NONE || parse_modseq(&args[3], &key->modseq) < 0)
		return -1;
	*used_r = 4;
	return 0;
}

bool imap_search_modseq_match(const struct imap_search_modseq *key, const struct store_msg *m)
{
	return m->modseq >= key->modseq;
}

void imap_search_modseq_note(struct imap_search_modseq_acc *acc, const struct store_msg *m)
{
	if (m->modseq > acc->highest)
		acc->highest = m->modseq;
}

void imap_search_modseq_write(const struct imap_search_modseq_acc *acc, struct imap_outbuf *out)
{
	if (acc->used && acc->highest > 0)
		imap_outbuf_printf(out, " (MODSEQ %llu)", (unsigned long long)acc->highest);
}
