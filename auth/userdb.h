/* The user database: a Dovecot-style passwd-file, one user a line,
 *   name:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
 * ('#' comments and blank lines ignored). The name, the password column and
 * the extra fields (userdb-fields.h) are used; the rest is kept as strings.
 * Loaded into a hash map for lookups, reloaded when the file changes, and
 * edited in place (atomically) for `loft user`.
 *
 * User names are case-insensitive: names from the file and from logins are
 * normalised by userdb_name_normalize() (auth/username.c, the one place that
 * decides what a name is), so the canonical name of a user, and the name of
 * their mail directory, is always lower case. */
#ifndef LOFT_AUTH_USERDB_H
#define LOFT_AUTH_USERDB_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/password.h"
#include "auth/userdb-fields.h"

enum userdb_error {
	USERDB_OK = 0,
	USERDB_ENOTFOUND = -1,   /* no such user */
	USERDB_EEXIST = -2,      /* add: the user already exists */
	USERDB_EINVAL = -3,      /* bad user name or password field */
	USERDB_EIO = -4,         /* the file could not be read or written */
	USERDB_EMISMATCH = -5,   /* verify: wrong password */
	USERDB_EPASSWORD = -6,   /* verify: stored hash unusable (logged) */
};

#define USERDB_NAME_MAX 64

/* One passwd-file line. Every string is non-NULL ("" when the field is
 * missing). */
struct userdb_user {
	const char *name;        /* canonical: lower case */
	const char *password;    /* "{SCHEME}hash" as stored */
	const char *uid;
	const char *gid;
	const char *gecos;
	const char *home;
	const char *shell;
	const char *extra;       /* extra fields, unparsed ("k=v k2=v2") */
	struct userdb_fields fields; /* extra, parsed */
};

struct userdb;

/* ---- names (auth/username.c) ---- */

/* True if name is a valid user name: 1-64 characters of [A-Za-z0-9._@+-],
 * not starting with '.' or '-'. The storage uses the same rule for the
 * user's directory name, so a valid name can never escape mail_dir. */
bool userdb_name_valid(const char *name);

/* Copy a valid name into out lower-cased (ASCII). Returns false (out = "")
 * for an invalid name. */
bool userdb_name_normalize(const char *name, char out[USERDB_NAME_MAX + 1]);

/* If name (already normalised) is "local@domain" and domain is one of
 * local_domains (space separated, lower case), copy "local" into out and
 * return true. */
bool userdb_name_strip_domain(const char *name, const char *local_domains,
			      char out[USERDB_NAME_MAX + 1]);

/* ---- the database ---- */

/* Load path. Malformed lines (bad name, no password field) and duplicate
 * names (compared case-insensitively) are skipped with a warning naming
 * file:line; the first occurrence of a name wins, as in Dovecot. Extra fields
 * with bad values are logged per line; unknown extra fields once per load
 * (their names, never values). A missing file is an empty database (so
 * `loft user add` can create it); any other read error returns USERDB_EIO
 * with a heap message in *err_r (caller frees). */
int userdb_load(const char *path, struct userdb **db_r, char **err_r);

/* Free the database and every record it ever returned; sets *db to NULL. */
void userdb_free(struct userdb **db);

/* Hash parameters for the unknown-user dummy when the file holds no usable
 * hash (default: password_params_default()). Call before concurrent use. */
void userdb_set_hash_params(struct userdb *db, const struct password_params *params);

/* Re-read the file if it changed since the last load (inode, size, mtime or
 * ctime differ), else do nothing. On a read error the old contents stay and
 * USERDB_EIO is returned with *err_r set. *changed_r (may be NULL) tells
 * whether new contents were loaded. Records returned before a reload stay
 * valid until userdb_free (old generations are kept, so memory grows by one
 * copy per change of the file: users files change rarely). Thread-safe
 * against concurrent lookups and reloads. Does file I/O: not on a loop. */
int userdb_reload(struct userdb *db, bool *changed_r, char **err_r);

/* userdb_reload() for the login path: when another thread is already
 * checking the file it returns at once instead of queueing behind it (the
 * login then uses the contents loaded so far), so logins do not serialise
 * on one lock. Does I/O: not on a loop. */
int userdb_refresh(struct userdb *db, char **err_r);

/* Find a user by name (normalised here: any case) in the current contents.
 * The record is borrowed and stays valid until userdb_free. Thread-safe, no
 * I/O. */
const struct userdb_user *userdb_lookup(struct userdb *db, const char *name);

/* Number of users in the current contents. */
size_t userdb_count(struct userdb *db);
/* The i-th user of the current contents in file order (NULL past the end);
 * borrowed like userdb_lookup's records. */
const struct userdb_user *userdb_user_at(struct userdb *db, size_t i);

/* Reload if the file changed, look the user up and check the password.
 * Returns USERDB_OK, USERDB_ENOTFOUND, USERDB_EMISMATCH or USERDB_EPASSWORD.
 * For an unknown user userdb_verify_dummy() does the same amount of work as
 * for a typical known one, so timing does not reveal which names exist.
 * Slow (password hashing) and does file I/O: run it on the thread pool. */
int userdb_verify(struct userdb *db, const char *name, const char *password);

/* Check password against a hash with the scheme and cost most users of the
 * current contents have (their most common password_cost_class()), made
 * once per generation from a random password: costs what a typical known
 * user costs and never matches. Slow: thread pool. */
void userdb_verify_dummy(struct userdb *db, const char *password);

/* The cost class the dummy uses (e.g. "SHA512-CRYPT rounds=5000"), for
 * tests and `loft user show`. */
void userdb_dummy_class(struct userdb *db, char *buf, size_t size);

/* ---- editing the file (used by `loft user`; auth/userdb-edit.c) ----
 * Each call takes an exclusive lock on "<path>.lock", reads the file, changes
 * only the line of the named user (comments, order and other lines are kept
 * byte for byte), and replaces the file atomically (afile_write, mode 0600).
 * A missing file counts as empty. Names are normalised (lower case). Hashes
 * are stored as they are: hash first (password_hash). On error *err_r (may
 * be NULL) gets a heap message. */

/* The stored forms of one password: the password column and the optional
 * extra credential fields (NULL: none). */
struct userdb_credentials {
	const char *password;       /* required */
	const char *scram_sha256;
	const char *scram_sha1;
	const char *cram_md5;
};

int userdb_file_add(const char *path, const char *name, const char *pw_hash, char **err_r);
int userdb_file_add_credentials(const char *path, const char *name,
				const struct userdb_credentials *cred, char **err_r);
/* Replace the password column and every credential field: forms not given
 * are removed, so no stale SCRAM key keeps an old password working. */
int userdb_file_set_credentials(const char *path, const char *name,
				const struct userdb_credentials *cred, char **err_r);
int userdb_file_set_password(const char *path, const char *name, const char *pw_hash,
			     char **err_r);
int userdb_file_delete(const char *path, const char *name, char **err_r);
/* Names of the users in file order: heap array of heap strings, free each and
 * the array. Skipped (malformed) lines are not listed. */
int userdb_file_list(const char *path, char ***names_r, size_t *count_r, char **err_r);

const char *userdb_strerror(int err);

#endif
