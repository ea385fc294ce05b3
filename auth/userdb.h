/* The user database: a Dovecot-style passwd-file, one user a line,
 *   name:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
 * ('#' comments and blank lines ignored; only the first two fields are used,
 * the rest are kept as strings). Loaded into a hash map for lookups, reloaded
 * when the file changes, and edited in place (atomically) for `loft user`. */
#ifndef LOFT_AUTH_USERDB_H
#define LOFT_AUTH_USERDB_H

#include <stdbool.h>
#include <stddef.h>

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
	const char *name;
	const char *password;    /* "{SCHEME}hash" as stored */
	const char *uid;
	const char *gid;
	const char *gecos;
	const char *home;
	const char *shell;
	const char *extra;       /* extra fields, unparsed ("k=v k2=v2") */
};

struct userdb;

/* True if name is a valid user name: 1-64 characters of [A-Za-z0-9._@+-],
 * not starting with '.' or '-'. The storage uses the same rule for the
 * user's directory name, so a valid name can never escape mail_dir. */
bool userdb_name_valid(const char *name);

/* Load path. Malformed lines (bad name, no password field) and duplicate
 * names are skipped with a warning naming file:line; the first occurrence
 * of a name wins, as in Dovecot. A missing file is an empty database (so
 * `loft user add` can create it); any other read error returns USERDB_EIO
 * with a heap message in *err_r (caller frees). */
int userdb_load(const char *path, struct userdb **db_r, char **err_r);

/* Free the database and every record it ever returned; sets *db to NULL. */
void userdb_free(struct userdb **db);

/* Re-read the file if it changed since the last load (inode, size, mtime or
 * ctime differ), else do nothing. On a read error the old contents stay and
 * USERDB_EIO is returned with *err_r set. *changed_r (may be NULL) tells
 * whether new contents were loaded. Records returned before a reload stay
 * valid until userdb_free (old generations are kept, so memory grows by one
 * copy per change of the file: users files change rarely). Thread-safe
 * against concurrent lookups and reloads. Does file I/O: not on a loop. */
int userdb_reload(struct userdb *db, bool *changed_r, char **err_r);

/* Find a user in the current contents. The record is borrowed and stays valid
 * until userdb_free. Thread-safe, no I/O. */
const struct userdb_user *userdb_lookup(struct userdb *db, const char *name);

/* Number of users in the current contents. */
size_t userdb_count(struct userdb *db);

/* Reload if the file changed, look the user up and check the password.
 * Returns USERDB_OK, USERDB_ENOTFOUND, USERDB_EMISMATCH or USERDB_EPASSWORD.
 * For an unknown user the same amount of hashing work is done as for a known
 * one, so timing does not reveal which names exist. Slow (password hashing)
 * and does file I/O: run it on the thread pool. */
int userdb_verify(struct userdb *db, const char *name, const char *password);

/* ---- editing the file (used by `loft user`) ----
 * Each call takes an exclusive lock on "<path>.lock", reads the file, changes
 * only the line of the named user (comments, order and other lines are kept
 * byte for byte), writes "<path>.tmp.<pid>" in the same directory with mode
 * 0600, fsyncs it, renames it over path and fsyncs the directory. A missing
 * file counts as empty. pw_hash is stored as it is: hash it first
 * (password_hash). On error *err_r (may be NULL) gets a heap message. */
int userdb_file_add(const char *path, const char *name, const char *pw_hash, char **err_r);
int userdb_file_set_password(const char *path, const char *name, const char *pw_hash,
			     char **err_r);
int userdb_file_delete(const char *path, const char *name, char **err_r);
/* Names of the users in file order: heap array of heap strings, free each and
 * the array. Skipped (malformed) lines are not listed. */
int userdb_file_list(const char *path, char ***names_r, size_t *count_r, char **err_r);

const char *userdb_strerror(int err);

#endif
