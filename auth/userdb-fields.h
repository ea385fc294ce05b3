/* Per-user settings kept in the extra-fields column of the passwd-file
 * (Dovecot style: space separated key=value, an optional "userdb_" prefix on
 * the key is ignored). The fields Loft reads:
 *
 *   quota_bytes=SIZE        storage quota in bytes (K/M/G/T suffixes)
 *   quota_messages=N        message count quota
 *   quota_rule=*:storage=SIZE[:messages=N]   Dovecot's form (storage in
 *                           KiB without a suffix, as in Dovecot; also
 *                           bytes=SIZE); quota_rule2.. alike. Only the "*"
 *                           rule is used; a rule for one mailbox is ignored.
 *   pop3_delete=expunge|hide  what POP3 DELE does for this user (hide: kept
 *                           for IMAP, gone from POP3)
 *   pop3_seen=yes|no        whether POP3 RETR marks the message \Seen
 *   protocols=imap,pop3,smtp  services the user may log in to (comma list,
 *                           or "none"); all when absent
 *   imap_caps_off=CAP,CAP   IMAP extensions withheld from this user (comma
 *                           list of the switch names of server/imap/caps.h,
 *                           e.g. CONDSTORE,QRESYNC); kept as text here
 *   disabled=yes|no         refuse every login (also Dovecot's "nologin",
 *                           with its optional "reason=")
 *   scram_sha256={SCRAM-SHA-256}...  extra stored credentials beside the
 *   scram_sha1={SCRAM-SHA-1}...      password column, written by `loft user
 *   cram_md5={CRAM-MD5}...           add|passwd` when enabled
 *
 * Anything else is kept in the file untouched and ignored (the users file
 * reload logs the unknown keys once, never their values). A known field
 * with a bad value is reported and fails closed: a bad "disabled" disables,
 * an unknown word in "protocols" grants nothing, a bad quota is ignored
 * (the server-wide quota applies). */
#ifndef LOFT_AUTH_USERDB_FIELDS_H
#define LOFT_AUTH_USERDB_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The services a user logs in to (also the "protocols" field's words). */
enum userdb_service {
	USERDB_SERVICE_IMAP = 0,
	USERDB_SERVICE_POP3 = 1,
	USERDB_SERVICE_SMTP = 2,   /* SMTP AUTH (submission) */
	USERDB_SERVICE_SIEVE = 3,  /* ManageSieve (RFC 5804) */
	USERDB_SERVICE_COUNT = 4,
};
#define USERDB_SERVICES_ALL ((1u << USERDB_SERVICE_COUNT) - 1)

enum userdb_pop3_delete {
	USERDB_POP3_DELETE_DEFAULT = 0,  /* the server setting applies */
	USERDB_POP3_DELETE_EXPUNGE,
	USERDB_POP3_DELETE_HIDE,
};

enum userdb_flag {
	USERDB_FLAG_DEFAULT = 0,         /* the server setting applies */
	USERDB_FLAG_NO,
	USERDB_FLAG_YES,
};

struct userdb_fields {
	bool has_quota_bytes, has_quota_messages;
	uint64_t quota_bytes, quota_messages;
	enum userdb_pop3_delete pop3_delete;
	enum userdb_flag pop3_seen;
	unsigned services;           /* bit (1u << service) per allowed service */
	bool disabled;
	/* imap_caps_off's value as written ("" when absent); the IMAP front
	 * end parses it. */
	char imap_caps_off[160];
	/* Stored credentials from the fields above, or NULL. Heap strings
	 * owned by the struct: userdb_fields_clear() wipes and frees them. */
	char *scram_sha256, *scram_sha1, *cram_md5;
};

/* Where parse problems go (each may be NULL). key is the field name as
 * written (not NUL-terminated: key_len); why says what is wrong without
 * quoting the value. */
struct userdb_fields_report {
	void (*bad)(void *ctx, const char *key, size_t key_len, const char *why);
	void (*unknown)(void *ctx, const char *key, size_t key_len);
	void *ctx;
};

/* Parse extra (may be NULL or "") into *f. Never fails: problems go to
 * report. */
void userdb_fields_parse(const char *extra, struct userdb_fields *f,
			 const struct userdb_fields_report *report);
void userdb_fields_clear(struct userdb_fields *f);

/* A copy of extra with every field named key (with or without "userdb_")
 * removed and, when value is not NULL, "key=value" appended. Other fields
 * and their order are kept. Heap string; wipe and free (may hold hashes). */
char *userdb_fields_set(const char *extra, const char *key, const char *value);

/* "imap", "pop3", "smtp". */
const char *userdb_service_name(enum userdb_service service);
/* Service of a protocols word (case-insensitive; "submission" = smtp), or
 * -1. */
int userdb_service_parse(const char *word, size_t len);

#endif
