/* Per-device app passwords: a user may hold several, each named for the
 * device that uses it ("phone", "laptop"), each with its own hash and
 * creation time, each revocable on its own. The server generates them
 * (20 base32 characters = 100 bits, shown once as "abcde-fghij-klmno-pqrst";
 * dashes, spaces and case are ignored when checking), so a fast salted
 * SHA-256 ({SSHA256}) is as safe as a slow hash and a login can try all of a
 * user's app passwords for the cost of one SHA-256 each.
 *
 * They live in their own file (setting app_passwords_file, by default
 * <state_dir>/app-passwords, mode 0600), one line each:
 *     user:device:created_unix_time:{SSHA256}hash
 * written only by `loft user app-password add|revoke` and `loft user del`
 * (locked, atomic rewrite) and read by the server, which reloads it when it
 * changes, like the users file. The last use of each device is login state,
 * kept apart in logins.h. App passwords work with the plaintext mechanisms
 * (IMAP LOGIN, POP3 PASS, PLAIN, LOGIN); SCRAM and CRAM-MD5 need the user's
 * own password because their stored keys are per user. */
#ifndef LOFT_AUTH_APPPASS_H
#define LOFT_AUTH_APPPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APPPASS_DEVICE_MAX 32
#define APPPASS_PER_USER_MAX 32

struct apppass;

/* One app password, as listed (never the hash). */
struct apppass_info {
	char device[APPPASS_DEVICE_MAX + 1];
	int64_t created;          /* unix time */
};

/* True if device is 1-32 characters of [A-Za-z0-9._-], not starting with
 * '.' or '-'. */
bool apppass_device_valid(const char *device);

/* Load path (missing = no app passwords). Bad lines are logged (file:line)
 * and skipped. Returns 0 or USERDB_EIO with *err_r (heap). Does I/O. */
int apppass_load(const char *path, struct apppass **ap_r, char **err_r);
void apppass_free(struct apppass **ap);
/* Re-read the file if it changed (stat); returns at once when another
 * thread is doing so. Returns 0 or USERDB_EIO (the old contents stay).
 * Does I/O: not on a loop. */
int apppass_reload(struct apppass *ap, char **err_r);

/* Check password against user's app passwords (user canonical). On a match
 * returns true and copies the device name into device_r. Costs one SHA-256
 * per app password of the user; thread-safe. */
bool apppass_verify(struct apppass *ap, const char *user, const char *password,
		    char device_r[APPPASS_DEVICE_MAX + 1]);

/* Number of app passwords user has (for `loft user show`), and their
 * devices in file order (heap array, caller frees). */
int apppass_list(struct apppass *ap, const char *user, struct apppass_info **list_r,
		 size_t *count_r);

/* ---- editing (`loft user app-password`): locked atomic rewrites ----
 * Return 0 or a negative userdb_error (USERDB_EEXIST, USERDB_ENOTFOUND,
 * USERDB_EINVAL, USERDB_EIO) with a heap message in *err_r (may be NULL). */

/* Generate a new app password for user's device: *password_r gets the
 * text to show the user once (heap; wipe and free). USERDB_EEXIST if the
 * device already has one, USERDB_EINVAL past APPPASS_PER_USER_MAX. */
int apppass_file_add(const char *path, const char *user, const char *device,
		     int64_t now, char **password_r, char **err_r);
int apppass_file_revoke(const char *path, const char *user, const char *device,
			char **err_r);
/* Remove all of user's app passwords (when the user is deleted); a user
 * with none is not an error. */
int apppass_file_remove_user(const char *path, const char *user, char **err_r);

#endif
