/* Validation of a parsed script: the table of every command and test with
 * its extension, tagged and positional arguments (one row each, with the
 * RFC), and the checks of RFC 5228 and the extensions that can be made
 * before a message is seen: require first and only known extensions, every
 * command's extension required, tags known, not repeated, not in conflict,
 * given their values, before positional arguments; constant header names,
 * addresses, variable names, date parts and zones valid; if/elsif/else in
 * order. Each failure is reported with the line and column of its node. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "server/sieve/sieve-internal.h"

/* ---- tags ---- */

static const char *const tag_names[SV_TAG_COUNT_] = {
	[SV_TAG_COMPARATOR] = "comparator", [SV_TAG_IS] = "is",
	[SV_TAG_CONTAINS] = "contains", [SV_TAG_MATCHES] = "matches",
	[SV_TAG_COUNT] = "count", [SV_TAG_VALUE] = "value", [SV_TAG_ALL] = "all",
	[SV_TAG_LOCALPART] = "localpart", [SV_TAG_DOMAIN] = "domain",
	[SV_TAG_USER] = "user", [SV_TAG_DETAIL] = "detail", [SV_TAG_INDEX] = "index",
	[SV_TAG_LAST] = "last", [SV_TAG_OVER] = "over", [SV_TAG_UNDER] = "under",
	[SV_TAG_COPY] = "copy", [SV_TAG_FLAGS] = "flags", [SV_TAG_CREATE] = "create",
	[SV_TAG_DAYS] = "days", [SV_TAG_SECONDS] = "seconds", [SV_TAG_SUBJECT] = "subject",
	[SV_TAG_FROM] = "from", [SV_TAG_ADDRESSES] = "addresses", [SV_TAG_MIME] = "mime",
	[SV_TAG_HANDLE] = "handle", [SV_TAG_RAW] = "raw", [SV_TAG_CONTENT] = "content",
	[SV_TAG_TEXT] = "text", [SV_TAG_LOWER] = "lower", [SV_TAG_UPPER] = "upper",
	[SV_TAG_LOWERFIRST] = "lowerfirst", [SV_TAG_UPPERFIRST] = "upperfirst",
	[SV_TAG_QUOTEWILDCARD] = "quotewildcard", [SV_TAG_LENGTH] = "length",
	[SV_TAG_ZONE] = "zone", [SV_TAG_ORIGINALZONE] = "originalzone",
	[SV_TAG_HEADER] = "header", [SV_TAG_UNIQUEID] = "uniqueid",
	[SV_TAG_PERSONAL] = "personal", [SV_TAG_GLOBAL] = "global", [SV_TAG_ONCE] = "once",
	[SV_TAG_OPTIONAL] = "optional", [SV_TAG_PERCENT] = "percent",
};

enum vt { V_NONE = 0, V_STR, V_LIST, V_NUM };
enum group {
	G_NONE = 0, G_MATCH, G_CMP, G_PART, G_SIZE, G_PERIOD, G_BODY, G_ZONE, G_DUPID,
	G_LOC, G_CASE, G_FIRST,
};
#define NOEXT SV_EXT_COUNT

struct tagspec {
	uint8_t tag, vt;
	int8_t slot;          /* value slot, -1: none or resolved into a field */
	uint8_t group, ext;
};

#define T_MATCH \
	{ SV_TAG_IS, V_NONE, -1, G_MATCH, NOEXT }, \
	{ SV_TAG_CONTAINS, V_NONE, -1, G_MATCH, NOEXT }, \
	{ SV_TAG_MATCHES, V_NONE, -1, G_MATCH, NOEXT }, \
	{ SV_TAG_COUNT, V_STR, -1, G_MATCH, SV_EXT_RELATIONAL }, \
	{ SV_TAG_VALUE, V_STR, -1, G_MATCH, SV_EXT_RELATIONAL }, \
	{ SV_TAG_COMPARATOR, V_STR, -1, G_CMP, NOEXT }
#define T_PART \
	{ SV_TAG_ALL, V_NONE, -1, G_PART, NOEXT }, \
	{ SV_TAG_LOCALPART, V_NONE, -1, G_PART, NOEXT }, \
	{ SV_TAG_DOMAIN, V_NONE, -1, G_PART, NOEXT }, \
	{ SV_TAG_USER, V_NONE, -1, G_PART, SV_EXT_SUBADDRESS }, \
	{ SV_TAG_DETAIL, V_NONE, -1, G_PART, SV_EXT_SUBADDRESS }
#define T_INDEX \
	{ SV_TAG_INDEX, V_NUM, -1, G_NONE, SV_EXT_INDEX }, \
	{ SV_TAG_LAST, V_NONE, -1, G_NONE, SV_EXT_INDEX }

static const struct tagspec tags_none[] = { { 0, 0, 0, 0, 0 } };
static const struct tagspec tags_header[] = { T_MATCH, T_INDEX, { 0, 0, 0, 0, 0 } };
static const struct tagspec tags_address[] = { T_MATCH, T_PART, T_INDEX, { 0, 0, 0, 0, 0 } };
static const struct tagspec tags_envelope[] = { T_MATCH, T_PART, { 0, 0, 0, 0, 0 } };
static const struct tagspec tags_match[] = { T_MATCH, { 0, 0, 0, 0, 0 } };
static const struct tagspec tags_size[] = {
	{ SV_TAG_OVER, V_NUM, 0, G_SIZE, NOEXT },
	{ SV_TAG_UNDER, V_NUM, 0, G_SIZE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_keep[] = {
	{ SV_TAG_FLAGS, V_LIST, 0, G_NONE, SV_EXT_IMAP4FLAGS },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_fileinto[] = {
	{ SV_TAG_FLAGS, V_LIST, 0, G_NONE, SV_EXT_IMAP4FLAGS },
	{ SV_TAG_COPY, V_NONE, -1, G_NONE, SV_EXT_COPY },
	{ SV_TAG_CREATE, V_NONE, -1, G_NONE, SV_EXT_MAILBOX },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_redirect[] = {
	{ SV_TAG_COPY, V_NONE, -1, G_NONE, SV_EXT_COPY },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_vacation[] = {
	{ SV_TAG_DAYS, V_NUM, 0, G_PERIOD, NOEXT },
	{ SV_TAG_SECONDS, V_NUM, 0, G_PERIOD, SV_EXT_VACATION_SECONDS },
	{ SV_TAG_SUBJECT, V_STR, 1, G_NONE, NOEXT },
	{ SV_TAG_FROM, V_STR, 2, G_NONE, NOEXT },
	{ SV_TAG_ADDRESSES, V_LIST, 3, G_NONE, NOEXT },
	{ SV_TAG_MIME, V_NONE, -1, G_NONE, NOEXT },
	{ SV_TAG_HANDLE, V_STR, -1, G_NONE, NOEXT }, /* slot set below: shares none */
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_body[] = {
	T_MATCH,
	{ SV_TAG_RAW, V_NONE, -1, G_BODY, NOEXT },
	{ SV_TAG_CONTENT, V_LIST, 0, G_BODY, NOEXT },
	{ SV_TAG_TEXT, V_NONE, -1, G_BODY, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_set[] = {
	{ SV_TAG_LOWER, V_NONE, -1, G_CASE, NOEXT },
	{ SV_TAG_UPPER, V_NONE, -1, G_CASE, NOEXT },
	{ SV_TAG_LOWERFIRST, V_NONE, -1, G_FIRST, NOEXT },
	{ SV_TAG_UPPERFIRST, V_NONE, -1, G_FIRST, NOEXT },
	{ SV_TAG_QUOTEWILDCARD, V_NONE, -1, G_NONE, NOEXT },
	{ SV_TAG_LENGTH, V_NONE, -1, G_NONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_date[] = {
	T_MATCH, T_INDEX,
	{ SV_TAG_ZONE, V_STR, 0, G_ZONE, NOEXT },
	{ SV_TAG_ORIGINALZONE, V_NONE, -1, G_ZONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_currentdate[] = {
	T_MATCH,
	{ SV_TAG_ZONE, V_STR, 0, G_ZONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_addheader[] = {
	{ SV_TAG_LAST, V_NONE, -1, G_NONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_deleteheader[] = {
	T_MATCH,
	{ SV_TAG_INDEX, V_NUM, -1, G_NONE, NOEXT },
	{ SV_TAG_LAST, V_NONE, -1, G_NONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_duplicate[] = {
	{ SV_TAG_HANDLE, V_STR, 0, G_NONE, NOEXT },
	{ SV_TAG_HEADER, V_STR, 1, G_DUPID, NOEXT },
	{ SV_TAG_UNIQUEID, V_STR, 1, G_DUPID, NOEXT },
	{ SV_TAG_SECONDS, V_NUM, 2, G_NONE, NOEXT },
	{ SV_TAG_LAST, V_NONE, -1, G_NONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_include[] = {
	{ SV_TAG_PERSONAL, V_NONE, -1, G_LOC, NOEXT },
	{ SV_TAG_GLOBAL, V_NONE, -1, G_LOC, NOEXT },
	{ SV_TAG_ONCE, V_NONE, -1, G_NONE, NOEXT },
	{ SV_TAG_OPTIONAL, V_NONE, -1, G_NONE, NOEXT },
	{ 0, 0, 0, 0, 0 },
};
static const struct tagspec tags_spamtest[] = {
	T_MATCH,
	{ SV_TAG_PERCENT, V_NONE, -1, G_NONE, SV_EXT_SPAMTESTPLUS },
	{ 0, 0, 0, 0, 0 },
};

/* Positional arguments: S string, L string list, N number; a leading '?'
 * makes the first one optional (present only when all are given), a
 * trailing '?' the last one. */
struct cmdspec {
	const char *name;
	uint8_t id;
	bool test;
	uint8_t ext;            /* NOEXT: core */
	const char *pos;
	const struct tagspec *tags;
	const char *rfc;
};

static const struct cmdspec commands[] = {
	{ "require", SV_C_REQUIRE, false, NOEXT, "L", tags_none, "RFC 5228 3.2" },
	{ "if", SV_C_IF, false, NOEXT, "", tags_none, "RFC 5228 3.1" },
	{ "elsif", SV_C_ELSIF, false, NOEXT, "", tags_none, "RFC 5228 3.1" },
	{ "else", SV_C_ELSE, false, NOEXT, "", tags_none, "RFC 5228 3.1" },
	{ "stop", SV_C_STOP, false, NOEXT, "", tags_none, "RFC 5228 3.3" },
	{ "keep", SV_C_KEEP, false, NOEXT, "", tags_keep, "RFC 5228 4.3, RFC 5232 5" },
	{ "discard", SV_C_DISCARD, false, NOEXT, "", tags_none, "RFC 5228 4.4" },
	{ "redirect", SV_C_REDIRECT, false, NOEXT, "S", tags_redirect, "RFC 5228 4.2, RFC 3894" },
	{ "fileinto", SV_C_FILEINTO, false, SV_EXT_FILEINTO, "S", tags_fileinto,
	  "RFC 5228 4.1, RFC 3894, RFC 5232, RFC 5490" },
	{ "reject", SV_C_REJECT, false, SV_EXT_REJECT, "S", tags_none, "RFC 5429 2.2" },
	{ "ereject", SV_C_EREJECT, false, SV_EXT_EREJECT, "S", tags_none, "RFC 5429 2.1" },
	{ "vacation", SV_C_VACATION, false, SV_EXT_VACATION, "S", tags_vacation,
	  "RFC 5230 4, RFC 6131" },
	{ "setflag", SV_C_SETFLAG, false, SV_EXT_IMAP4FLAGS, "?SL", tags_none, "RFC 5232 3.1" },
	{ "addflag", SV_C_ADDFLAG, false, SV_EXT_IMAP4FLAGS, "?SL", tags_none, "RFC 5232 3.2" },
	{ "removeflag", SV_C_REMOVEFLAG, false, SV_EXT_IMAP4FLAGS, "?SL", tags_none,
	  "RFC 5232 3.3" },
	{ "set", SV_C_SET, false, SV_EXT_VARIABLES, "SS", tags_set, "RFC 5229 4" },
	{ "addheader", SV_C_ADDHEADER, false, SV_EXT_EDITHEADER, "SS", tags_addheader,
	  "RFC 5293 4" },
	{ "deleteheader", SV_C_DELETEHEADER, false, SV_EXT_EDITHEADER, "SL?", tags_deleteheader,
	  "RFC 5293 5" },
	{ "include", SV_C_INCLUDE, false, SV_EXT_INCLUDE, "S", tags_include, "RFC 6609 3.2" },
	{ "return", SV_C_RETURN, false, SV_EXT_INCLUDE, "", tags_none, "RFC 6609 3.3" },
	{ "global", SV_C_GLOBAL, false, SV_EXT_INCLUDE, "L", tags_none, "RFC 6609 3.4" },
	{ "address", SV_T_ADDRESS, true, NOEXT, "LL", tags_address, "RFC 5228 5.1, RFC 5260 6" },
	{ "allof", SV_T_ALLOF, true, NOEXT, "", tags_none, "RFC 5228 5.2" },
	{ "anyof", SV_T_ANYOF, true, NOEXT, "", tags_none, "RFC 5228 5.3" },
	{ "envelope", SV_T_ENVELOPE, true, SV_EXT_ENVELOPE, "LL", tags_envelope, "RFC 5228 5.4" },
	{ "exists", SV_T_EXISTS, true, NOEXT, "L", tags_none, "RFC 5228 5.5" },
	{ "false", SV_T_FALSE, true, NOEXT, "", tags_none, "RFC 5228 5.6" },
	{ "true", SV_T_TRUE, true, NOEXT, "", tags_none, "RFC 5228 5.10" },
	{ "header", SV_T_HEADER, true, NOEXT, "LL", tags_header, "RFC 5228 5.7, RFC 5260 6" },
	{ "not", SV_T_NOT, true, NOEXT, "", tags_none, "RFC 5228 5.8" },
	{ "size", SV_T_SIZE, true, NOEXT, "", tags_size, "RFC 5228 5.9" },
	{ "body", SV_T_BODY, true, SV_EXT_BODY, "L", tags_body, "RFC 5173 5" },
	{ "string", SV_T_STRING, true, SV_EXT_VARIABLES, "LL", tags_match, "RFC 5229 5" },
	{ "hasflag", SV_T_HASFLAG, true, SV_EXT_IMAP4FLAGS, "?LL", tags_match, "RFC 5232 4" },
	{ "mailboxexists", SV_T_MAILBOXEXISTS, true, SV_EXT_MAILBOX, "L", tags_none,
	  "RFC 5490 3.1" },
	{ "date", SV_T_DATE, true, SV_EXT_DATE, "SSL", tags_date, "RFC 5260 4" },
	{ "currentdate", SV_T_CURRENTDATE, true, SV_EXT_DATE, "SL", tags_currentdate,
	  "RFC 5260 5" },
	{ "duplicate", SV_T_DUPLICATE, true, SV_EXT_DUPLICATE, "", tags_duplicate, "RFC 7352 3" },
	{ "spamtest", SV_T_SPAMTEST, true, NOEXT, "S", tags_spamtest, "RFC 3685 3, RFC 5235" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *sv_id_name(enum sv_id id)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].id == id)
			return commands[i].name;
	return "?";
}

static const struct cmdspec *spec_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* ---- the validator ---- */

struct val {
	const struct sieve_limits *lim;
	struct sieve_script *s;
	struct sv_errors *errs;
};

static bool required(struct val *v, unsigned ext)
{
	return ext == NOEXT || (v->s->exts & SV_EXT_BIT(ext)) != 0 ||
	       (ext == SV_EXT_SPAMTEST && (v->s->exts & SV_EXT_BIT(SV_EXT_SPAMTESTPLUS)));
}

static bool constant(struct val *v, uint32_t str)
{
	return !(v->s->strs[str].vars && (v->s->exts & SV_EXT_BIT(SV_EXT_VARIABLES)));
}

static const char *tagname_of(struct val *v, const struct sv_arg *a)
{
	return sv_str_data(v->s, a->first);
}

/* Resolve the tags of node n and split off its positional arguments. */
static bool check_args(struct val *v, struct sv_node *n, const struct cmdspec *spec)
{
	struct sieve_script *s = v->s;
	uint8_t group_tag[16] = { 0 };
	uint32_t positional[8];
	unsigned n_pos = 0;
	for (uint32_t i = 0; i < n->n_args; i++) {
		uint32_t ai = n->args + i;
		struct sv_arg *a = &s->args[ai];
		if (a->type != SV_ARG_TAG) {
			if (n_pos == 8) {
				sv_error(v->errs, a->line, a->col, "too many arguments for '%s'",
					 spec->name);
				return false;
			}
			positional[n_pos++] = ai;
			continue;
		}
		const char *name = tagname_of(v, a);
		if (n_pos > 0) {
			sv_error(v->errs, a->line, a->col,
				 "tag ':%s' after a positional argument of '%s' (tags come first)",
				 name, spec->name);
			return false;
		}
		const struct tagspec *t = spec->tags;
		for (; t->tag != 0; t++)
			if (strcasecmp(tag_names[t->tag], name) == 0)
				break;
		if (t->tag == 0) {
			sv_error(v->errs, a->line, a->col, "unknown tag ':%s' for '%s'", name,
				 spec->name);
			return false;
		}
		if (!required(v, t->ext)) {
			sv_error(v->errs, a->line, a->col,
				 "tag ':%s' needs require \"%s\"", name, sv_ext_name(t->ext));
			return false;
		}
		if (n->tags & SV_TAGBIT(t->tag)) {
			sv_error(v->errs, a->line, a->col, "tag ':%s' given twice", name);
			return false;
		}
		if (t->group != G_NONE) {
			if (group_tag[t->group] != 0) {
				sv_error(v->errs, a->line, a->col,
					 "tags ':%s' and ':%s' cannot be used together",
					 tag_names[group_tag[t->group]], name);
				return false;
			}
			group_tag[t->group] = t->tag;
		}
		a->tag = t->tag;
		n->tags |= SV_TAGBIT(t->tag);
		uint32_t val = SV_NONE;
		if (t->vt != V_NONE) {
			if (i + 1 >= n->n_args) {
				sv_error(v->errs, a->line, a->col, "tag ':%s' needs a value", name);
				return false;
			}
			struct sv_arg *va = &s->args[ai + 1];
			bool ok = (t->vt == V_NUM && va->type == SV_ARG_NUMBER) ||
				  (t->vt == V_LIST && va->type == SV_ARG_STRLIST) ||
				  (t->vt == V_STR && va->type == SV_ARG_STRLIST && va->single);
			if (!ok) {
				sv_error(v->errs, va->line, va->col, "tag ':%s' needs %s", name,
					 t->vt == V_NUM ? "a number" : t->vt == V_LIST
					 ? "a string list" : "a string");
				return false;
			}
			val = ai + 1;
			i++;
		}
		if (t->slot >= 0)
			n->slot[t->slot] = val;
		switch (t->tag) {
		case SV_TAG_IS: n->match = SV_MATCH_IS; break;
		case SV_TAG_CONTAINS: n->match = SV_MATCH_CONTAINS; break;
		case SV_TAG_MATCHES: n->match = SV_MATCH_MATCHES; break;
		case SV_TAG_COUNT:
		case SV_TAG_VALUE: {
			n->match = t->tag == SV_TAG_COUNT ? SV_MATCH_COUNT : SV_MATCH_VALUE;
			static const char *const ops[] = { "", "gt", "ge", "lt", "le", "eq", "ne" };
			const char *op = sv_str_data(s, s->args[val].first);
			n->rel = SV_REL_NONE;
			for (int k = 1; k < 7; k++)
				if (strcasecmp(op, ops[k]) == 0)
					n->rel = (uint8_t)k;
			if (n->rel == SV_REL_NONE) {
				sv_error(v->errs, s->args[val].line, s->args[val].col,
					 "unknown relational operator \"%s\" (gt, ge, lt, le, eq, ne)",
					 op);
				return false;
			}
			break;
		}
		case SV_TAG_COMPARATOR: {
			const char *c = sv_str_data(s, s->args[val].first);
			struct sv_arg *ca = &s->args[val];
			if (strcasecmp(c, "i;octet") == 0) {
				n->cmp = SV_CMP_OCTET;
			} else if (strcasecmp(c, "i;ascii-casemap") == 0) {
				n->cmp = SV_CMP_CASEMAP;
			} else if (strcasecmp(c, "i;ascii-numeric") == 0) {
				if (!required(v, SV_EXT_CMP_NUMERIC)) {
					sv_error(v->errs, ca->line, ca->col, "comparator \"%s\" needs "
						 "require \"comparator-i;ascii-numeric\"", c);
					return false;
				}
				n->cmp = SV_CMP_NUMERIC;
			} else {
				sv_error(v->errs, ca->line, ca->col, "unknown comparator \"%s\"", c);
				return false;
			}
			break;
		}
		case SV_TAG_ALL: n->part = SV_PART_ALL; break;
		case SV_TAG_LOCALPART: n->part = SV_PART_LOCALPART; break;
		case SV_TAG_DOMAIN: n->part = SV_PART_DOMAIN; break;
		case SV_TAG_USER: n->part = SV_PART_USER; break;
		case SV_TAG_DETAIL: n->part = SV_PART_DETAIL; break;
		case SV_TAG_RAW: n->part = SV_BODY_RAW; break;
		case SV_TAG_CONTENT: n->part = SV_BODY_CONTENT; break;
		case SV_TAG_TEXT: n->part = SV_BODY_TEXT; break;
		case SV_TAG_INDEX:
			if (s->args[val].num == 0 || s->args[val].num > UINT32_MAX) {
				sv_error(v->errs, s->args[val].line, s->args[val].col,
					 ":index needs a number from 1");
				return false;
			}
			n->index = (uint32_t)s->args[val].num;
			break;
		case SV_TAG_HANDLE:
			if (spec->id == SV_C_VACATION)
				n->pos[2] = val; /* vacation keeps :handle beside its reason */
			break;
		default:
			break;
		}
	}
	if (n->match == SV_MATCH_COUNT || n->match == SV_MATCH_VALUE) {
		/* fine with any comparator */
	} else if (n->cmp == SV_CMP_NUMERIC &&
		   (n->match == SV_MATCH_CONTAINS || n->match == SV_MATCH_MATCHES)) {
		sv_error(v->errs, n->line, n->col, "comparator \"i;ascii-numeric\" only "
			 "supports :is, :value and :count");
		return false;
	}
	if ((n->tags & SV_TAGBIT(SV_TAG_LAST)) && n->id != SV_C_ADDHEADER &&
	    n->id != SV_T_DUPLICATE && !(n->tags & SV_TAGBIT(SV_TAG_INDEX))) {
		sv_error(v->errs, n->line, n->col, "':last' needs ':index' in '%s'", spec->name);
		return false;
	}
	/* positional arguments */
	const char *p = spec->pos;
	bool opt_first = p[0] == '?';
	if (opt_first)
		p++;
	size_t want = strlen(p);
	bool opt_last = want > 0 && p[want - 1] == '?';
	if (opt_last)
		want--;
	size_t skip = 0;
	if (opt_first && n_pos + 1 == want)
		skip = 1;
	size_t min = want - (opt_last ? 1 : 0) - (opt_first ? 1 : 0);
	if (n_pos < min || n_pos > want) {
		sv_error(v->errs, n->line, n->col, "'%s' takes %s%zu positional argument%s, "
			 "not %u", spec->name, (opt_first || opt_last) ? "up to " : "", want,
			 want == 1 ? "" : "s", n_pos);
		return false;
	}
	for (unsigned k = 0; k < n_pos; k++) {
		char type = p[k + skip];
		struct sv_arg *a = &s->args[positional[k]];
		bool ok = (type == 'N' && a->type == SV_ARG_NUMBER) ||
			  (type == 'L' && a->type == SV_ARG_STRLIST) ||
			  (type == 'S' && a->type == SV_ARG_STRLIST && a->single);
		if (!ok) {
			sv_error(v->errs, a->line, a->col, "'%s' needs %s as argument %u",
				 spec->name, type == 'N' ? "a number" : type == 'L'
				 ? "a string list" : "a string", k + 1);
			return false;
		}
		if (k + skip < 3)
			n->pos[k + skip] = positional[k];
	}
	return true;
}

static bool each_const_str(struct val *v, uint32_t arg,
			   bool (*ok)(const char *, size_t), const char *what)
{
	if (arg == SV_NONE)
		return true;
	const struct sv_arg *a = &v->s->args[arg];
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t st = a->first + i;
		if (!constant(v, st))
			continue;
		if (!ok(sv_str_data(v->s, st), v->s->strs[st].len)) {
			sv_error(v->errs, a->line, a->col, "invalid %s \"%s\"", what,
				 sv_str_data(v->s, st));
			return false;
		}
	}
	return true;
}

static bool not_empty(const char *s, size_t len)
{
	return len > 0 && sv_utf8_valid(s, len);
}

static bool envelope_part_ok(const char *s, size_t len)
{
	return strcasecmp(s, "from") == 0 || strcasecmp(s, "to") == 0;
}

static bool date_part_ok(const char *s, size_t len)
{
	return sv_date_part_find(s) >= 0;
}

static bool zone_ok(const char *s, size_t len)
{
	int m;
	return sv_zone_parse(s, &m);
}

static bool script_name_ok(const char *s, size_t len)
{
	return len > 0 && len <= 255 && memchr(s, '/', len) == NULL && s[0] != '.' &&
	       sv_utf8_valid(s, len);
}

static bool editable_header(const char *s, size_t len)
{
	/* RFC 5293 6: Received and Auto-Submitted are never added or removed */
	return sv_header_name_valid(s, len) && strcasecmp(s, "received") != 0 &&
	       strcasecmp(s, "auto-submitted") != 0;
}

/* Checks specific to one command or test, after its arguments resolved. */
static bool check_specific(struct val *v, struct sv_node *n)
{
	struct sieve_script *s = v->s;
	switch (n->id) {
	case SV_T_HEADER:
	case SV_T_EXISTS:
	case SV_T_ADDRESS:
		return each_const_str(v, n->pos[0], sv_header_name_valid, "header name");
	case SV_T_DATE:
		return each_const_str(v, n->pos[0], sv_header_name_valid, "header name") &&
		       each_const_str(v, n->pos[1], date_part_ok, "date part") &&
		       each_const_str(v, n->slot[0], zone_ok, "time zone");
	case SV_T_CURRENTDATE:
		return each_const_str(v, n->pos[0], date_part_ok, "date part") &&
		       each_const_str(v, n->slot[0], zone_ok, "time zone");
	case SV_T_ENVELOPE:
		return each_const_str(v, n->pos[0], envelope_part_ok, "envelope part");
	case SV_T_SIZE:
		if (!(n->tags & (SV_TAGBIT(SV_TAG_OVER) | SV_TAGBIT(SV_TAG_UNDER)))) {
			sv_error(v->errs, n->line, n->col, "'size' needs :over or :under");
			return false;
		}
		return true;
	case SV_T_SPAMTEST:
		if (!required(v, SV_EXT_SPAMTEST)) {
			sv_error(v->errs, n->line, n->col, "'spamtest' needs require \"spamtest\"");
			return false;
		}
		return true;
	case SV_C_FILEINTO:
		return each_const_str(v, n->pos[0], not_empty, "mailbox name");
	case SV_C_REDIRECT:
		return each_const_str(v, n->pos[0], sv_address_valid, "redirect address");
	case SV_C_VACATION:
		return each_const_str(v, n->slot[2], sv_address_valid, ":from address") &&
		       each_const_str(v, n->slot[3], sv_address_valid, "address");
	case SV_C_SET:
		if (!constant(v, s->args[n->pos[0]].first) ||
		    !sv_var_name_valid(sv_str_data(s, s->args[n->pos[0]].first),
				       s->strs[s->args[n->pos[0]].first].len)) {
			sv_error(v->errs, s->args[n->pos[0]].line, s->args[n->pos[0]].col,
				 "invalid variable name \"%s\"",
				 sv_str_data(s, s->args[n->pos[0]].first));
			return false;
		}
		return true;
	case SV_C_GLOBAL:
		if (!required(v, SV_EXT_VARIABLES)) {
			sv_error(v->errs, n->line, n->col, "'global' needs require \"variables\"");
			return false;
		}
		return each_const_str(v, n->pos[0], sv_var_name_valid, "variable name");
	case SV_C_SETFLAG:
	case SV_C_ADDFLAG:
	case SV_C_REMOVEFLAG:
	case SV_T_HASFLAG:
		if (n->pos[0] != SV_NONE) {
			if (!required(v, SV_EXT_VARIABLES)) {
				sv_error(v->errs, n->line, n->col, "a variable name in '%s' needs "
					 "require \"variables\"", sv_id_name(n->id));
				return false;
			}
			return each_const_str(v, n->pos[0], sv_var_name_valid, "variable name");
		}
		return true;
	case SV_C_ADDHEADER:
		return each_const_str(v, n->pos[0], editable_header, "header name to add");
	case SV_C_DELETEHEADER:
		return each_const_str(v, n->pos[0], editable_header, "header name to delete");
	case SV_C_INCLUDE:
		return each_const_str(v, n->pos[0], script_name_ok, "script name");
	case SV_T_DUPLICATE:
		return each_const_str(v, (n->tags & SV_TAGBIT(SV_TAG_HEADER)) ? n->slot[1]
				      : SV_NONE, sv_header_name_valid, "header name");
	default:
		return true;
	}
}

static bool check_node(struct val *v, uint32_t ni, bool want_test);

/* The tests of node n: if/elsif take one test, allof/anyof a test list, not
 * one test; everything else none. */
static bool check_tests(struct val *v, struct sv_node *n)
{
	bool needs_one = n->id == SV_C_IF || n->id == SV_C_ELSIF || n->id == SV_T_NOT;
	bool needs_list = n->id == SV_T_ALLOF || n->id == SV_T_ANYOF;
	const char *name = sv_id_name(n->id);
	if (needs_one && (n->n_tests != 1 || n->test_list)) {
		sv_error(v->errs, n->line, n->col, "'%s' needs exactly one test%s", name,
			 n->test_list ? " (without parentheses)" : "");
		return false;
	}
	if (needs_list && !n->test_list) {
		sv_error(v->errs, n->line, n->col, "'%s' needs a list of tests in parentheses",
			 name);
		return false;
	}
	if (!needs_one && !needs_list && n->n_tests > 0) {
		sv_error(v->errs, n->line, n->col, "'%s' takes no test", name);
		return false;
	}
	for (uint32_t t = n->test; t != SV_NONE; t = v->s->nodes[t].next)
		if (!check_node(v, t, true))
			return false;
	return true;
}

static bool check_block(struct val *v, uint32_t first, bool top);

static bool check_node(struct val *v, uint32_t ni, bool want_test)
{
	struct sieve_script *s = v->s;
	struct sv_node *n = &s->nodes[ni];
	const char *name = sv_str_data(s, n->name);
	const struct cmdspec *spec = spec_find(name);
	if (spec == NULL || spec->test != want_test) {
		if (spec != NULL)
			sv_error(v->errs, n->line, n->col, "'%s' is a %s, not a %s", name,
				 spec->test ? "test" : "command", want_test ? "test" : "command");
		else
			sv_error(v->errs, n->line, n->col, "unknown %s '%s'",
				 want_test ? "test" : "command", name);
		return false;
	}
	n->id = spec->id;
	if (!required(v, spec->ext)) {
		sv_error(v->errs, n->line, n->col, "'%s' needs require \"%s\"", spec->name,
			 sv_ext_name(spec->ext));
		return false;
	}
	if (!check_args(v, n, spec) || !check_specific(v, n) || !check_tests(v, n))
		return false;
	if (!want_test) {
		bool block = n->id == SV_C_IF || n->id == SV_C_ELSIF || n->id == SV_C_ELSE;
		if (block && !n->has_block) {
			sv_error(v->errs, n->line, n->col, "'%s' needs a block { ... }", spec->name);
			return false;
		}
		if (!block && n->has_block) {
			sv_error(v->errs, n->line, n->col, "'%s' takes no block; end it with ';'",
				 spec->name);
			return false;
		}
		if (block && !check_block(v, n->block, false))
			return false;
	}
	return true;
}

static bool do_require(struct val *v, struct sv_node *n)
{
	struct sieve_script *s = v->s;
	const struct sv_arg *a = &s->args[n->pos[0]];
	for (uint32_t i = 0; i < a->n; i++) {
		const char *e = sv_str_data(s, a->first + i);
		int ext = sv_ext_find(e, s->strs[a->first + i].len);
		if (ext < 0) {
			sv_error(v->errs, a->line, a->col, "unsupported extension \"%s\"", e);
			return false;
		}
		s->exts |= SV_EXT_BIT(ext);
	}
	return true;
}

static bool check_block(struct val *v, uint32_t first, bool top)
{
	struct sieve_script *s = v->s;
	bool others = false;
	enum sv_id prev = SV_UNKNOWN;
	for (uint32_t ni = first; ni != SV_NONE; ni = s->nodes[ni].next) {
		struct sv_node *n = &s->nodes[ni];
		const char *name = sv_str_data(s, n->name);
		if (strcasecmp(name, "require") == 0) {
			if (!top || others) {
				sv_error(v->errs, n->line, n->col, "'require' must come before "
					 "every other command, at the top of the script");
				return false;
			}
			if (!check_node(v, ni, false) || !do_require(v, n))
				return false;
			prev = SV_C_REQUIRE;
			continue;
		}
		others = true;
		if (!check_node(v, ni, false))
			return false;
		if ((n->id == SV_C_ELSIF || n->id == SV_C_ELSE) && prev != SV_C_IF &&
		    prev != SV_C_ELSIF) {
			sv_error(v->errs, n->line, n->col, "'%s' without 'if' before it",
				 sv_id_name(n->id));
			return false;
		}
		prev = n->id;
	}
	return true;
}

int sv_validate(const struct sieve_limits *lim, struct sieve_script *script,
		struct sv_errors *errs)
{
	struct val v = { .lim = lim, .s = script, .errs = errs };
	return check_block(&v, script->root, true) ? SIEVE_OK : SIEVE_ESYNTAX;
}
