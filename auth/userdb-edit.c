/* The locked, atomic line edits behind `loft user add|passwd|del|list`:
 * read the users file under "<path>.lock", rewrite only the named user's
 * line (the password column and the credential extra fields; every other
 * byte of the file is kept), and replace the file with afile_write(). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/afile.h"
#include "auth/userdb.h"
#include "lib/xmem.h"

#define USERDB_FILE_MAX (256u * 1024 * 1024)

enum edit_op { EDIT_ADD, EDIT_SET, EDIT_DELETE };

static bool pw_field_valid(const char *pw, bool required)
{
	if (pw == NULL)
		return !required;
	return pw[0] != '\0' && strpbrk(pw, ": \t\r\n") == NULL;
}

/* Length of the user-name part of a raw line, or 0 for comments, blank
 * lines and lines without a name. */
static size_t line_name_len(const char *line, size_t len)
{
	if (len == 0 || line[0] == '#' || line[0] == '\r')
		return 0;
	const char *colon = memchr(line, ':', len);
	return colon == NULL ? 0 : (size_t)(colon - line);
}

/* The new extra column: old with the credential fields replaced. */
static char *new_extra(const char *old, const struct userdb_credentials *c)
{
	char *a = userdb_fields_set(old, "scram_sha256", c->scram_sha256);
	char *b = userdb_fields_set(a, "scram_sha1", c->scram_sha1);
	char *d = userdb_fields_set(b, "cram_md5", c->cram_md5);
	x_wipe(a, strlen(a));
	x_wipe(b, strlen(b));
	free(a);
	free(b);
	return d;
}

/* Rewrite one user line: name kept, password column and credentials
 * replaced, uid..shell kept, extra fields edited. line has no newline. */
static void rewrite_line(struct afile_buf *out, const char *line, size_t len, size_t name_len,
			 const struct userdb_credentials *c)
{
	char *copy = xstrndup(line, len);
	char *cols[8];
	size_t n = 0;
	char *p = copy;
	cols[n++] = p;
	while (n < 8 && (p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		cols[n++] = p;
	}
	for (size_t i = n; i < 8; i++)
		cols[i] = "";
	char *extra = new_extra(cols[7], c);
	afile_buf_add(out, line, name_len);
	afile_buf_printf(out, ":%s", c->password);
	if (strcmp(extra, cols[7]) == 0) {
		/* Extra fields unchanged: keep the rest of the line as it is. */
		const char *pw = line + name_len + 1;
		const char *pw_end = memchr(pw, ':', (size_t)(line + len - pw));
		if (pw_end != NULL)
			afile_buf_add(out, pw_end, (size_t)(line + len - pw_end));
	} else {
		for (size_t i = 2; i < 7; i++)
			afile_buf_printf(out, ":%s", cols[i]);
		afile_buf_printf(out, ":%s", extra);
	}
	x_wipe(extra, strlen(extra));
	free(extra);
	x_wipe(copy, len);
	free(copy);
}

/* Rewrite text into out with op applied. Returns 0 or an error. */
static int apply_edit(const char *text, size_t text_len, enum edit_op op, const char *name,
		      const struct userdb_credentials *cred, struct afile_buf *out)
{
	size_t name_len = strlen(name);
	bool found = false;
	const char *p = text, *end = text + text_len;
	afile_buf_add(out, "", 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		size_t with_nl = nl != NULL ? line_len + 1 : line_len;
		size_t nlen = line_name_len(p, line_len);
		bool match = nlen == name_len && strncasecmp(p, name, name_len) == 0;
		if (match && op == EDIT_DELETE) {
			found = true;           /* drop every line of the user */
		} else if (match && op == EDIT_SET && !found) {
			found = true;
			size_t body = line_len > 0 && p[line_len - 1] == '\r' ? line_len - 1
									       : line_len;
			rewrite_line(out, p, body, nlen, cred);
			afile_buf_add(out, p + body, with_nl - body);
		} else {
			if (match)
				found = true;
			afile_buf_add(out, p, with_nl);
		}
		p += with_nl;
	}
	if (op == EDIT_ADD) {
		if (found)
			return USERDB_EEXIST;
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			afile_buf_add(out, "\n", 1);
		char *extra = new_extra("", cred);
		afile_buf_printf(out, "%s:%s::::::%s\n", name, cred->password, extra);
		x_wipe(extra, strlen(extra));
		free(extra);
	} else if (!found) {
		return USERDB_ENOTFOUND;
	}
	return USERDB_OK;
}

static int edit_file(const char *path, enum edit_op op, const char *raw_name,
		     const struct userdb_credentials *cred, char **err_r)
{
	char *dummy_err = NULL;
	if (err_r == NULL)
		err_r = &dummy_err;
	*err_r = NULL;
	char name[USERDB_NAME_MAX + 1];
	int ret = USERDB_OK;
	if (!userdb_name_normalize(raw_name, name)) {
		*err_r = xasprintf("invalid user name '%s': use 1-%d characters of "
				   "A-Z a-z 0-9 . _ @ + -, not starting with '.' or '-'",
				   raw_name, USERDB_NAME_MAX);
		ret = USERDB_EINVAL;
	} else if (op != EDIT_DELETE &&
		   (!pw_field_valid(cred->password, true) ||
		    !pw_field_valid(cred->scram_sha256, false) ||
		    !pw_field_valid(cred->scram_sha1, false) ||
		    !pw_field_valid(cred->cram_md5, false))) {
		*err_r = xstrdup("invalid password hash (empty, or contains ':', a space or "
				 "a newline)");
		ret = USERDB_EINVAL;
	}
	int lock_fd = -1;
	if (ret == USERDB_OK && afile_lock(path, &lock_fd, err_r) < 0)
		ret = USERDB_EIO;
	if (ret < 0) {
		free(dummy_err);
		return ret;
	}
	char *text = NULL;
	size_t text_len = 0;
	struct stat st;
	bool exists;
	struct afile_buf out = { 0 };
	if (afile_read(path, USERDB_FILE_MAX, &text, &text_len, &st, &exists, err_r) < 0)
		ret = USERDB_EIO;
	else
		ret = apply_edit(text, text_len, op, name, cred, &out);
	if (ret == USERDB_EEXIST)
		*err_r = xasprintf("user %s already exists in %s", name, path);
	else if (ret == USERDB_ENOTFOUND)
		*err_r = xasprintf("no user %s in %s", name, path);
	else if (ret == USERDB_OK && afile_write(path, out.data, out.len, 0600, err_r) < 0)
		ret = USERDB_EIO;
	if (text != NULL) {
		x_wipe(text, text_len);
		free(text);
	}
	afile_buf_free(&out);
	close(lock_fd);
	free(dummy_err);
	return ret;
}

int userdb_file_add_credentials(const char *path, const char *name,
				const struct userdb_credentials *cred, char **err_r)
{
	return edit_file(path, EDIT_ADD, name, cred, err_r);
}

int userdb_file_set_credentials(const char *path, const char *name,
				const struct userdb_credentials *cred, char **err_r)
{
	return edit_file(path, EDIT_SET, name, cred, err_r);
}

int userdb_file_add(const char *path, const char *name, const char *pw_hash, char **err_r)
{
	struct userdb_credentials c = { .password = pw_hash };
	return edit_file(path, EDIT_ADD, name, &c, err_r);
}

int userdb_file_set_password(const char *path, const char *name, const char *pw_hash,
			     char **err_r)
{
	struct userdb_credentials c = { .password = pw_hash };
	return edit_file(path, EDIT_SET, name, &c, err_r);
}

int userdb_file_delete(const char *path, const char *name, char **err_r)
{
	return edit_file(path, EDIT_DELETE, name, NULL, err_r);
}

int userdb_file_list(const char *path, char ***names_r, size_t *count_r, char **err_r)
{
	*names_r = NULL;
	*count_r = 0;
	char *dummy_err = NULL;
	struct userdb *db;
	int ret = userdb_load(path, &db, err_r != NULL ? err_r : &dummy_err);
	free(dummy_err);
	if (ret < 0)
		return ret;
	size_t n = userdb_count(db);
	char **names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = xstrdup(userdb_user_at(db, i)->name);
	*names_r = names;
	*count_r = n;
	userdb_free(&db);
	return USERDB_OK;
}
