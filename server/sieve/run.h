/* Private run-time declarations of server/sieve/: the message as a script
 * sees it (msgdata.c: header fields, edited by editheader, body text by
 * part, read from the message file), variables (vars.c), dates
 * (datetime.c), the state of one run (interp.c) and the vacation and
 * notice builders (vacation.c). Not for use outside this folder. */
#ifndef LOFT_SIEVE_RUN_H
#define LOFT_SIEVE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "server/sieve/sieve-internal.h"
#include "storage/message/message.h"

/* ---- the message (msgdata.c) ---- */

struct sv_field {
	char *name;              /* as written */
	char *raw;               /* the value after ':' as written (folded) */
	size_t raw_len;
	char *value;             /* unfolded, trimmed, RFC 2047 decoded; lazy */
	size_t value_len;
};

struct sv_msg {
	int fd;
	uint64_t size;
	const struct msg_info *info;
	struct msg_info *own_info;
	size_t max_header_size, max_body_size;
	bool loaded;
	bool edited;                 /* editheader changed the fields */
	uint64_t body_offset;        /* where the body starts in the file */
	struct sv_field *fields;
	size_t n_fields, cap_fields;
	int io_error;                /* SIEVE_EIO once a read failed */
};

void sv_msg_init(struct sv_msg *m, int fd, uint64_t size, const struct msg_info *info,
		 const struct sieve_limits *lim);
void sv_msg_free(struct sv_msg *m);
/* Read and split the header (once). Returns 0 or SIEVE_EIO. */
int sv_msg_load(struct sv_msg *m);
/* Fields named name (case-insensitive), in order. */
size_t sv_msg_count(struct sv_msg *m, const char *name);
/* The i-th (0-based) field named name, or NULL; decoded value. */
const struct sv_field *sv_msg_field(struct sv_msg *m, const char *name, size_t i);
/* The decoded value of fields[i]. */
const char *sv_msg_value_at(struct sv_msg *m, size_t i, size_t *len_r);
/* editheader */
void sv_msg_add(struct sv_msg *m, const char *name, const char *value, size_t vlen, bool last);
void sv_msg_delete(struct sv_msg *m, size_t field_index);
/* The current header as a block of CRLF lines ending in the blank line. */
void sv_msg_header_block(struct sv_msg *m, struct msg_buf *out);
/* The parsed structure (parsed from the file the first time). */
const struct msg_info *sv_msg_info(struct sv_msg *m);
/* Body text for the body test: cb gets each part's text (decoded to UTF-8
 * for :text and :content, undecoded for :raw), at most max_body_size bytes
 * of each. types: :content's list (NULL for :text). Returns 0, SIEVE_EIO or
 * cb's non-zero value. */
typedef int sv_body_cb(const char *text, size_t len, void *ctx);
int sv_msg_body(struct sv_msg *m, enum sv_body how, const char *const *types, size_t n_types,
		sv_body_cb *cb, void *ctx);

/* ---- dates (datetime.c) ---- */

/* Parse an RFC 5322 date-time: seconds since the epoch and the zone offset
 * it was written in (minutes east). False if it does not parse. */
bool sv_date_parse(const char *s, size_t len, int64_t *t_r, int *zone_r);
/* The value of date part (sv_date_part_find) of time t shown in zone. */
void sv_date_part(int part, int64_t t, int zone_minutes, char *buf, size_t size);
/* The server's local zone offset at t, in minutes east. */
int sv_local_zone(int64_t t);
/* RFC 5322 date of t in zone, for generated messages. */
void sv_date_rfc5322(int64_t t, int zone_minutes, char *buf, size_t size);

/* ---- variables (vars.c) ---- */

struct sv_var {
	char *name;              /* lower case */
	char *value;
	size_t len;
};
struct sv_vars {
	struct sv_var *v;
	size_t n, cap;
};
struct sv_var *sv_vars_get(struct sv_vars *vars, const char *name, size_t len, bool create);
void sv_vars_free(struct sv_vars *vars);

/* ---- a run ---- */

struct sv_action {
	enum sieve_action_kind kind;
	char *mailbox;
	bool create, copy;
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	char *address;
	char *text;
	/* vacation: the mark that says this sender got the reply */
	unsigned char mark[32];
	uint32_t period;
};

struct sv_mark {
	unsigned char key[32];
	uint32_t period;         /* seconds the mark lasts */
	bool refresh;            /* set even when it exists (:last) */
	bool exists;
};

/* Loads an included script (personal or global) by name; returns 0,
 * SIEVE_ENOTFOUND, or an error with *err_r (heap). */
typedef int sv_loader(void *ctx, const char *name, bool global, struct sieve_script **script_r,
		      char **err_r);

struct sv_frame;

struct sv_run {
	const struct sieve_limits *lim;
	const struct sieve_delivery *d;
	const char *hostname;
	const char *delimiter;
	time_t now;
	struct sv_msg msg;
	uint64_t steps;
	/* match variables of the last successful :matches */
	char *capbuf[10];
	size_t caplen[10];
	unsigned ncaps;
	struct sv_vars globals;
	/* imap4flags' internal variable */
	char *flags;
	/* results */
	struct sv_action *actions;
	size_t n_actions, cap_actions;
	bool implicit_keep;
	unsigned n_redirects;
	bool has_vacation;
	struct sv_mark *marks;
	size_t n_marks;
	char *error;             /* the runtime error, heap */
	int error_code;
	/* include */
	sv_loader *loader;
	void *loader_ctx;
	unsigned depth;
	char **stack;            /* names of the scripts being run */
	char **once;             /* :once scripts already run */
	size_t n_once;
	/* strings expanded during the current command, freed after it */
	char **tmp;
	size_t n_tmp, cap_tmp;
	/* mark lookups (duplicate, vacation) */
	int (*mark_check)(void *ctx, const unsigned char key[32], bool *seen_r);
	void *mark_ctx;
};

/* interp.c: a flag list ("\\Seen $Work") as store flags and keywords
 * (heap copies); invalid keywords are left out. */
void sv_flags_to_store(const char *list, uint32_t *flags_r, char ***kw_r, size_t *n_kw_r);
/* interp.c: run script; actions and error land in run. Returns 0,
 * SIEVE_ERUNTIME, SIEVE_ELIMIT or SIEVE_EIO (run->error says what). */
int sv_run_script(struct sv_run *run, struct sieve_script *script);
void sv_run_free(struct sv_run *run);
void sv_run_fail(struct sv_run *run, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vacation.c: decide whether to answer (RFC 5230 4.5-4.7, RFC 3834) and
 * build the reply; false and *why_r when no reply is due. */
struct sv_vacation {
	const char *reason;
	size_t reason_len;
	const char *subject;     /* NULL: "Auto: " + the original's */
	const char *from;        /* NULL: the user's address */
	const char *const *addresses;
	size_t n_addresses;
	bool mime;
	const char *handle;      /* NULL: made from the arguments */
	uint32_t period;
};
bool sv_vacation_reply(struct sv_run *run, const struct sv_vacation *v, char **to_r,
		       char **msg_r, unsigned char mark_r[32], const char **why_r);
/* A rejection notice (RFC 5429 2.2: an MDN, RFC 8098) for the sender. */
char *sv_reject_notice(struct sv_msg *m, const char *user_address, const char *recipient,
		       const char *reason, const char *hostname, time_t now);
/* Key of a mark: SHA-256 of the parts, each followed by a NUL. */
void sv_mark_key(unsigned char key_r[32], const char *a, const char *b, const char *c);
/* RFC 2047 B-encoding of a header value when it is not ASCII. */
void sv_encode_header_value(const char *s, size_t len, struct msg_buf *out);

#endif
