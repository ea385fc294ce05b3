/* `loft user add|passwd|del|list`: manages the users file named by the
 * configuration (users_file). Passwords come from --password or one line of
 * standard input (read without echo on a terminal) and are stored as
 * SHA512-CRYPT; every change is a locked, atomic rewrite of the file. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password.h"
#include "auth/userdb.h"
#include "conf/config.h"
#include "server/cli/cli.h"
#include "lib/xmem.h"

#define PASSWORD_LINE_MAX 1024

static void user_usage(FILE *out)
{
	fprintf(out,
		"usage: loft [-c FILE] user add NAME [--password PW]\n"
		"       loft [-c FILE] user passwd NAME [--password PW]\n"
		"       loft [-c FILE] user del NAME\n"
		"       loft [-c FILE] user list\n"
		"Without --password the password is read from standard input (one line;\n"
		"not echoed on a terminal). --password is visible to other local users in\n"
		"the process list: prefer standard input outside tests and demos.\n");
}

/* Read one line from fd 0 into a heap string (newline removed). On a
 * terminal, prompt on stderr with echo off. Returns NULL on EOF/error. */
static char *read_line_noecho(const char *prompt)
{
	bool tty = isatty(STDIN_FILENO) == 1;
	struct termios old, raw;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			raw = old;
			raw.c_lflag &= ~(tcflag_t)ECHO;
			raw.c_lflag |= ECHONL;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
		} else {
			tty = false;
		}
	}
	char *buf = xcalloc(1, PASSWORD_LINE_MAX + 2);
	size_t len = 0;
	bool got_any = false;
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got_any = true;
		if (c == '\n')
			break;
		if (len < PASSWORD_LINE_MAX + 1)
			buf[len++] = c;
	}
	if (tty)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (!got_any || len > PASSWORD_LINE_MAX) {
		x_wipe(buf, PASSWORD_LINE_MAX + 2);
		free(buf);
		return NULL;
	}
	return buf;
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		x_wipe(*s, strlen(*s));
		x_free(s);
	}
}

/* The new password for NAME: from --password, else stdin (asked twice on a
 * terminal). Returns a heap string or NULL after printing why. */
static char *get_password(const char *name, const char *given)
{
	if (given != NULL)
		return xstrdup(given);
	char *prompt = xasprintf("New password for %s: ", name);
	char *pw = read_line_noecho(prompt);
	free(prompt);
	if (pw == NULL) {
		fprintf(stderr, "loft: no password on standard input (one line, at most %d bytes)\n",
			PASSWORD_LINE_MAX);
		return NULL;
	}
	if (isatty(STDIN_FILENO) == 1) {
		char *again = read_line_noecho("Retype password: ");
		bool same = again != NULL && strcmp(again, pw) == 0;
		free_secret(&again);
		if (!same) {
			fprintf(stderr, "loft: passwords do not match\n");
			free_secret(&pw);
			return NULL;
		}
	}
	return pw;
}

/* Hash the password for name and hand it to add or set_password. */
static int set_user_password(const char *users_file, const char *name, const char *given,
			     bool add)
{
	if (!userdb_name_valid(name)) {
		fprintf(stderr, "loft: invalid user name '%s': use 1-%d characters of "
			"A-Z a-z 0-9 . _ @ + -, not starting with '.' or '-'\n",
			name, USERDB_NAME_MAX);
		return 1;
	}
	char *pw = get_password(name, given);
	if (pw == NULL)
		return 1;
	if (pw[0] == '\0') {
		fprintf(stderr, "loft: refusing an empty password\n");
		free_secret(&pw);
		return 1;
	}
	char *hash = NULL;
	int ret = password_hash(pw, &hash);
	free_secret(&pw);
	if (ret < 0) {
		fprintf(stderr, "loft: hashing failed: %s\n", password_result_name(ret));
		return 1;
	}
	char *err = NULL;
	ret = add ? userdb_file_add(users_file, name, hash, &err)
		  : userdb_file_set_password(users_file, name, hash, &err);
	free_secret(&hash);
	if (ret < 0) {
		fprintf(stderr, "loft: %s\n", err != NULL ? err : userdb_strerror(ret));
		free(err);
		return 1;
	}
	printf("%s %s in %s\n", add ? "added user" : "changed the password of", name,
	       users_file);
	return 0;
}

static int user_del(const char *users_file, const char *name)
{
	char *err = NULL;
	int ret = userdb_file_delete(users_file, name, &err);
	if (ret < 0) {
		fprintf(stderr, "loft: %s\n", err != NULL ? err : userdb_strerror(ret));
		free(err);
		return 1;
	}
	printf("deleted user %s from %s (their mail directory is kept)\n", name, users_file);
	return 0;
}

static int user_list(const char *users_file)
{
	char **names = NULL;
	size_t n = 0;
	char *err = NULL;
	if (userdb_file_list(users_file, &names, &n, &err) < 0) {
		fprintf(stderr, "loft: %s\n", err);
		free(err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

int cli_user(const struct cli_ctx *cli, int argc, char **argv)
{
	const char *action = argc > 1 ? argv[1] : NULL;
	const char *name = NULL, *password = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password") == 0 && i + 1 < argc) {
			password = argv[++i];
		} else if (strncmp(argv[i], "--password=", 11) == 0) {
			password = argv[i] + 11;
		} else if (cli_is_help(argv[i])) {
			user_usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && name == NULL) {
			name = argv[i];
		} else {
			fprintf(stderr, "loft user: unexpected argument '%s'\n", argv[i]);
			user_usage(stderr);
			return 2;
		}
	}
	if (action == NULL) {
		user_usage(stderr);
		return 2;
	}
	if (cli_is_help(action) || strcmp(action, "help") == 0) {
		user_usage(stdout);
		return 0;
	}
	bool is_list = strcmp(action, "list") == 0;
	bool is_add = strcmp(action, "add") == 0;
	bool is_passwd = strcmp(action, "passwd") == 0;
	bool is_del = strcmp(action, "del") == 0 || strcmp(action, "delete") == 0;
	if (!is_list && !is_add && !is_passwd && !is_del) {
		fprintf(stderr, "loft user: unknown action '%s'\n", action);
		user_usage(stderr);
		return 2;
	}
	if ((is_list && (name != NULL || password != NULL)) ||
	    (!is_list && name == NULL) || (is_del && password != NULL)) {
		user_usage(stderr);
		return 2;
	}

	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(cli->config_path, &cfg, &err) < 0) {
		conf_print_errors(stderr, "loft: ", err, "cannot load configuration");
		free(err);
		return 1;
	}
	if (cfg->users_file == NULL) {
		fprintf(stderr, "loft: %s sets no users_file\n", cli->config_path);
		conf_free(cfg);
		return 1;
	}
	int ret;
	if (is_list)
		ret = user_list(cfg->users_file);
	else if (is_del)
		ret = user_del(cfg->users_file, name);
	else
		ret = set_user_password(cfg->users_file, name, password, is_add);
	conf_free(cfg);
	return ret;
}
