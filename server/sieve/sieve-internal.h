/* Private declarations shared by the files of server/sieve/: the compiled
 * form of a script (flat arrays of nodes, arguments and strings in one
 * block, no pointers between them), the identifiers of extensions,
 * commands, tests and tags, and the entry points each stage offers the
 * next (parse -> validate -> run). Not for use outside this folder. */
#ifndef LOFT_SIEVE_INTERNAL_H
#define LOFT_SIEVE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/sieve/sieve.h"
#include "storage/message/message.h"

#define SV_NONE UINT32_MAX

/* ---- extensions (require) ---- */
enum sv_ext {
	SV_EXT_FILEINTO, SV_EXT_REJECT, SV_EXT_EREJECT, SV_EXT_ENVELOPE, SV_EXT_IMAP4FLAGS,
	SV_EXT_VACATION, SV_EXT_VACATION_SECONDS, SV_EXT_BODY, SV_EXT_VARIABLES,
	SV_EXT_RELATIONAL, SV_EXT_SUBADDRESS, SV_EXT_COPY, SV_EXT_MAILBOX, SV_EXT_DATE,
	SV_EXT_INDEX, SV_EXT_EDITHEADER, SV_EXT_DUPLICATE, SV_EXT_INCLUDE, SV_EXT_SPAMTEST,
	SV_EXT_SPAMTESTPLUS, SV_EXT_CMP_NUMERIC, SV_EXT_CMP_OCTET, SV_EXT_CMP_CASEMAP,
	SV_EXT_COUNT,
};
#define SV_EXT_BIT(e) (1u << (e))
/* The extension named name, or -1. */
int sv_ext_find(const char *name, size_t len);
const char *sv_ext_name(enum sv_ext e);

/* ---- commands and tests ---- */
enum sv_id {
	SV_UNKNOWN = 0,
	/* commands */
	SV_C_REQUIRE, SV_C_IF, SV_C_ELSIF, SV_C_ELSE, SV_C_STOP, SV_C_KEEP, SV_C_DISCARD,
	SV_C_REDIRECT, SV_C_FILEINTO, SV_C_REJECT, SV_C_EREJECT, SV_C_VACATION,
	SV_C_SETFLAG, SV_C_ADDFLAG, SV_C_REMOVEFLAG, SV_C_SET, SV_C_ADDHEADER,
	SV_C_DELETEHEADER, SV_C_INCLUDE, SV_C_RETURN, SV_C_GLOBAL,
	/* tests */
	SV_T_ADDRESS, SV_T_ALLOF, SV_T_ANYOF, SV_T_ENVELOPE, SV_T_EXISTS, SV_T_FALSE,
	SV_T_TRUE, SV_T_HEADER, SV_T_NOT, SV_T_SIZE, SV_T_BODY, SV_T_STRING, SV_T_HASFLAG,
	SV_T_MAILBOXEXISTS, SV_T_DATE, SV_T_CURRENTDATE, SV_T_DUPLICATE, SV_T_SPAMTEST,
	SV_ID_COUNT,
};

/* ---- tags ---- */
enum sv_tag {
	SV_TAG_NONE = 0,
	SV_TAG_COMPARATOR, SV_TAG_IS, SV_TAG_CONTAINS, SV_TAG_MATCHES, SV_TAG_COUNT,
	SV_TAG_VALUE, SV_TAG_ALL, SV_TAG_LOCALPART, SV_TAG_DOMAIN, SV_TAG_USER,
	SV_TAG_DETAIL, SV_TAG_INDEX, SV_TAG_LAST, SV_TAG_OVER, SV_TAG_UNDER, SV_TAG_COPY,
	SV_TAG_FLAGS, SV_TAG_CREATE, SV_TAG_DAYS, SV_TAG_SECONDS, SV_TAG_SUBJECT,
	SV_TAG_FROM, SV_TAG_ADDRESSES, SV_TAG_MIME, SV_TAG_HANDLE, SV_TAG_RAW,
	SV_TAG_CONTENT, SV_TAG_TEXT, SV_TAG_LOWER, SV_TAG_UPPER, SV_TAG_LOWERFIRST,
	SV_TAG_UPPERFIRST, SV_TAG_QUOTEWILDCARD, SV_TAG_LENGTH, SV_TAG_ZONE,
	SV_TAG_ORIGINALZONE, SV_TAG_HEADER, SV_TAG_UNIQUEID, SV_TAG_PERSONAL,
	SV_TAG_GLOBAL, SV_TAG_ONCE, SV_TAG_OPTIONAL, SV_TAG_PERCENT,
	SV_TAG_COUNT_,
};
#define SV_TAGBIT(t) (UINT64_C(1) << (t))

enum sv_cmp { SV_CMP_CASEMAP = 0, SV_CMP_OCTET, SV_CMP_NUMERIC };
enum sv_match { SV_MATCH_IS = 0, SV_MATCH_CONTAINS, SV_MATCH_MATCHES, SV_MATCH_COUNT,
		SV_MATCH_VALUE };
enum sv_rel { SV_REL_NONE = 0, SV_REL_GT, SV_REL_GE, SV_REL_LT, SV_REL_LE, SV_REL_EQ,
	      SV_REL_NE };
enum sv_part { SV_PART_ALL = 0, SV_PART_LOCALPART, SV_PART_DOMAIN, SV_PART_USER,
	       SV_PART_DETAIL };
enum sv_body { SV_BODY_TEXT = 0, SV_BODY_RAW, SV_BODY_CONTENT };

/* Tag value slots of a node (which tag uses which slot is in the command
 * table, validate.c). */
#define SV_SLOTS 4

/* ---- the compiled form ---- */

struct sv_str {
	uint32_t off, len;      /* in the string pool */
	bool vars;              /* may hold "${": expanded at run time */
};

enum sv_argtype { SV_ARG_STRLIST = 1, SV_ARG_NUMBER, SV_ARG_TAG };
struct sv_arg {
	uint8_t type;           /* enum sv_argtype */
	bool single;            /* a string-list written as one string */
	uint16_t tag;           /* SV_ARG_TAG: enum sv_tag (after validation) */
	uint32_t line, col;
	uint32_t first, n;      /* STRLIST: strs[first .. first + n); TAG: name */
	uint64_t num;
};

struct sv_node {
	uint32_t line, col;
	uint32_t name;          /* strs[] index of the identifier */
	uint16_t id;            /* enum sv_id */
	uint16_t n_args;
	uint32_t args;          /* first argument in args[] */
	uint32_t test;          /* first test (a test-list chains by next) */
	uint32_t block;         /* first command of the block, SV_NONE */
	uint32_t next;          /* next sibling */
	uint16_t n_tests;
	bool has_block, test_list;
	/* resolved by validation */
	uint8_t cmp, match, rel, part;
	uint64_t tags;          /* SV_TAGBIT()s given */
	uint32_t slot[SV_SLOTS];/* tag values: arg indices, SV_NONE */
	uint32_t pos[3];        /* positional arguments: arg indices, SV_NONE */
	uint32_t index;         /* :index value, 0 = none */
};

struct sieve_script {
	atomic_uint refs;
	char *name;
	struct sv_node *nodes;
	struct sv_arg *args;
	struct sv_str *strs;
	char *pool;             /* string contents, each NUL-terminated */
	uint32_t n_nodes, n_args, n_strs, pool_len;
	uint32_t root;          /* first command */
	uint32_t exts;          /* SV_EXT_BIT()s required */
	size_t memory;
};

static inline const char *sv_str_data(const struct sieve_script *s, uint32_t i)
{
	return s->pool + s->strs[i].off;
}

/* ---- error collection (compile time) ---- */
struct sv_errors {
	struct msg_buf *buf;    /* lines "line L, column C: text" */
	unsigned count;
};
void sv_error(struct sv_errors *e, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define SV_MAX_ERRORS 10

/* ---- stages ---- */

/* parse.c: text -> nodes (unvalidated). Returns 0 or SIEVE_ESYNTAX /
 * SIEVE_ELIMIT with errors collected. *script_r is filled either way (free
 * it with sv_script_destroy on failure). */
int sv_parse(const struct sieve_limits *lim, const char *text, size_t len,
	     struct sieve_script *script, struct sv_errors *errs);
void sv_script_destroy(struct sieve_script *script);

/* validate.c: resolve identifiers and tags, check every rule. */
int sv_validate(const struct sieve_limits *lim, struct sieve_script *script,
		struct sv_errors *errs);
/* Name of a command or test id, for messages. */
const char *sv_id_name(enum sv_id id);

/* match.c: comparators and match types */
/* Compare value with key under (cmp, match, rel). For SV_MATCH_MATCHES with
 * caps != NULL the wildcard captures are stored (caps[0] = whole value);
 * returns true on a match. */
struct sv_caps {
	unsigned n;                  /* captures set, 0..10 */
	const char *s[10];           /* pointers into value */
	size_t len[10];
};
bool sv_match(enum sv_cmp cmp, enum sv_match match, enum sv_rel rel, const char *value,
	      size_t vlen, const char *key, size_t klen, struct sv_caps *caps);
/* :count: compare the number n with key. */
bool sv_match_count(enum sv_cmp cmp, enum sv_rel rel, uint64_t n, const char *key, size_t klen);
/* i;ascii-numeric ordering: -1, 0, 1; a value not starting with a digit is
 * +infinity. */
int sv_numeric_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Validity helpers shared by validate.c and the run time. */
bool sv_header_name_valid(const char *s, size_t len);
bool sv_address_valid(const char *s, size_t len);
bool sv_utf8_valid(const char *s, size_t len);
bool sv_var_name_valid(const char *s, size_t len);
int sv_date_part_find(const char *s);      /* -1 if unknown */
bool sv_zone_parse(const char *s, int *minutes_r);

#endif
