/* `loft user add|passwd|del|list|hash|test`: manages the users file named by
 * the configuration (users_file). Passwords come from --password or one
 * line of standard input (read without echo on a terminal) and are stored
 * in every form the [auth] settings ask for (ARGON2ID by default, plus
 * SCRAM keys / a CRAM-MD5 context when enabled); every change is a locked,
 * atomic rewrite of the file. `show` and `app-password` are in
 * user-show.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/apppass.h"
#include "auth/auth.h"
#include "auth/userdb.h"
#include "conf/config.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/auth-config.h"
#include "server/cli/cli.h"
#include "server/cli/user.h"

#define PASSWORD_LINE_MAX 1024

void cli_user_usage(FILE *out)
{
	fprintf(out,
		"usage: loft [-c FILE] user add NAME [--password PW]\n"
		"       loft [-c FILE] user passwd NAME [--password PW]\n"
		"       loft [-c FILE] user del NAME\n"
		"       loft [-c FILE] user list\n"
		"       loft [-c FILE] user show NAME\n"
		"       loft [-c FILE] user test NAME [--password PW]\n"
		"       loft [-c FILE] user hash [--password PW]\n"
		"       loft [-c FILE] user app-password add NAME DEVICE\n"
		"       loft [-c FILE] user app-password list NAME\n"
		"       loft [-c FILE] user app-password revoke NAME DEVICE\n"
		"Without --password the password is read from standard input (one line;\n"
		"not echoed on a terminal). --password is visible to other local users in\n"
		"the process list: prefer standard input outside tests and demos.\n"
		"test checks a password the way a login would (also app passwords) and\n"
		"exits 0 if it is accepted; hash prints the stored forms of a password.\n");
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

void cli_free_secret(char **s)
{
	if (*s != NULL) {
		x_wipe(*s, strlen(*s));
		x_free(s);
	}
}

/* The password: from --password, else stdin (asked twice on a terminal
 * when confirm). Returns a heap string or NULL after printing why. */
static char *get_password(const char *name, const char *given, bool confirm)
{
	if (given != NULL)
		return xstrdup(given);
	char *prompt = xasprintf("%s for %s: ", confirm ? "New password" : "Password", name);
	char *pw = read_line_noecho(prompt);
	free(prompt);
	if (pw == NULL) {
		fprintf(stderr, "loft: no password on standard input (one line, at most %d bytes)\n",
			PASSWORD_LINE_MAX);
		return NULL;
	}
	if (confirm && isatty(STDIN_FILENO) == 1) {
		char *again = read_line_noecho("Retype password: ");
		bool same = again != NULL && strcmp(again, pw) == 0;
		cli_free_secret(&again);
		if (!same) {
			fprintf(stderr, "loft: passwords do not match\n");
			cli_free_secret(&pw);
			return NULL;
		}
	}
	return pw;
}

static int bad_name(const char *name)
{
	fprintf(stderr, "loft: invalid user name '%s': use 1-%d characters of "
		"A-Z a-z 0-9 . _ @ + -, not starting with '.' or '-'\n", name, USERDB_NAME_MAX);
	return 1;
}

/* Read a new password for who (from --password or stdin) and hash it in
 * every configured form. Returns 0, or -1 after printing why. */
static int new_credentials(const struct user_cmd *c, const char *who, bool confirm,
			   struct userdb_credentials *cred)
{
	char *pw = get_password(who, c->password, confirm);
	if (pw == NULL)
		return -1;
	int ret = 0;
	struct auth_settings s;
	auth_config_settings(c->cfg, &s);
	if (pw[0] == '\0') {
		fprintf(stderr, "loft: refusing an empty password\n");
		ret = -1;
	} else if (auth_hash_password(&s, pw, cred) < 0) {
		fprintf(stderr, "loft: hashing failed (check the [auth] cost settings)\n");
		ret = -1;
	}
	cli_free_secret(&pw);
	return ret;
}

static int user_set_password(const struct user_cmd *c, bool add)
{
	char canon[USERDB_NAME_MAX + 1];
	if (!userdb_name_normalize(c->name, canon))
		return bad_name(c->name);
	struct userdb_credentials cred;
	if (new_credentials(c, canon, true, &cred) < 0)
		return 1;
	char *err = NULL;
	int ret;
	const char *file = c->cfg->users_file;
	ret = add ? userdb_file_add_credentials(file, canon, &cred, &err)
		  : userdb_file_set_credentials(file, canon, &cred, &err);
	auth_credentials_free(&cred);
	if (ret < 0) {
		fprintf(stderr, "loft: %s\n", err != NULL ? err : userdb_strerror(ret));
		free(err);
		return 1;
	}
	printf("%s %s in %s\n", add ? "added user" : "changed the password of", canon, file);
	return 0;
}

static int user_del(const struct user_cmd *c)
{
	char *err = NULL;
	int ret = userdb_file_delete(c->cfg->users_file, c->name, &err);
	if (ret == 0)
		ret = apppass_file_remove_user(c->cfg->app_passwords_file, c->name, &err);
	if (ret < 0) {
		fprintf(stderr, "loft: %s\n", err != NULL ? err : userdb_strerror(ret));
		free(err);
		return 1;
	}
	printf("deleted user %s from %s (their mail directory is kept)\n", c->name,
	       c->cfg->users_file);
	return 0;
}

static int user_list(const struct user_cmd *c)
{
	char **names = NULL;
	size_t n = 0;
	char *err = NULL;
	if (userdb_file_list(c->cfg->users_file, &names, &n, &err) < 0) {
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

/* Print the stored forms of a password, one per line (like doveadm pw). */
static int user_hash(const struct user_cmd *c)
{
	struct userdb_credentials cred;
	if (new_credentials(c, "the hash", false, &cred) < 0)
		return 1;
	printf("%s\n", cred.password);
	if (cred.scram_sha256 != NULL)
		printf("scram_sha256=%s\n", cred.scram_sha256);
	if (cred.scram_sha1 != NULL)
		printf("scram_sha1=%s\n", cred.scram_sha1);
	if (cred.cram_md5 != NULL)
		printf("cram_md5=%s\n", cred.cram_md5);
	auth_credentials_free(&cred);
	return 0;
}

int cli_user_auth(const struct user_cmd *c, struct auth **auth_r)
{
	struct auth_settings s;
	auth_config_settings(c->cfg, &s);
	/* Only the server writes the login state and the secret. */
	s.login_state_file = NULL;
	s.secret_file = NULL;
	char *err = NULL;
	if (auth_create(&s, auth_r, &err) < 0) {
		fprintf(stderr, "loft: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

/* Check a password as an IMAP login over TLS from loopback would. */
static int user_test(const struct user_cmd *c)
{
	char *pw = get_password(c->name, c->password, false);
	if (pw == NULL)
		return 1;
	struct auth *a;
	if (cli_user_auth(c, &a) < 0) {
		cli_free_secret(&pw);
		return 1;
	}
	struct auth_conn conn = { .service = USERDB_SERVICE_IMAP, .remote_addr = "127.0.0.1",
				  .tls = true };
	struct auth_login l;
	auth_password_login(a, &conn, c->name, pw, &l);
	cli_free_secret(&pw);
	auth_free(&a);
	if (l.result != AUTH_OK) {
		printf("refused: %s\n", auth_strerror(l.result));
		return 1;
	}
	printf("accepted user=%s%s%s\n", l.user, l.device[0] != '\0' ? " device=" : "", l.device);
	return 0;
}

int cli_user(const struct cli_ctx *cli, int argc, char **argv)
{
	const char *action = argc > 1 ? argv[1] : NULL;
	struct user_cmd c = { 0 };
	const char *pos[3] = { NULL, NULL, NULL };
	size_t n_pos = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password") == 0 && i + 1 < argc) {
			c.password = argv[++i];
		} else if (strncmp(argv[i], "--password=", 11) == 0) {
			c.password = argv[i] + 11;
		} else if (cli_is_help(argv[i])) {
			cli_user_usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && n_pos < 3) {
			pos[n_pos++] = argv[i];
		} else {
			fprintf(stderr, "loft user: unexpected argument '%s'\n", argv[i]);
			cli_user_usage(stderr);
			return 2;
		}
	}
	if (action == NULL) {
		cli_user_usage(stderr);
		return 2;
	}
	if (cli_is_help(action) || strcmp(action, "help") == 0) {
		cli_user_usage(stdout);
		return 0;
	}
	static const struct { const char *name; size_t args; bool pw; } actions[] = {
		{ "add", 1, true }, { "passwd", 1, true }, { "del", 1, false },
		{ "delete", 1, false }, { "list", 0, false }, { "show", 1, false },
		{ "test", 1, true }, { "hash", 0, true }, { "app-password", 0, false },
	};
	size_t k = 0;
	for (; k < sizeof(actions) / sizeof(actions[0]); k++)
		if (strcmp(action, actions[k].name) == 0)
			break;
	if (k == sizeof(actions) / sizeof(actions[0])) {
		fprintf(stderr, "loft user: unknown action '%s'\n", action);
		cli_user_usage(stderr);
		return 2;
	}
	bool app = strcmp(action, "app-password") == 0;
	if ((!app && n_pos != actions[k].args) || (c.password != NULL && !actions[k].pw)) {
		cli_user_usage(stderr);
		return 2;
	}
	c.name = pos[0];
	c.sub = pos[0];
	if (app) {
		c.name = pos[1];
		c.device = pos[2];
	}

	char *err = NULL;
	if (conf_load(cli->config_path, &c.cfg, &err) < 0) {
		conf_print_errors(stderr, "loft: ", err, "cannot load configuration");
		free(err);
		return 1;
	}
	/* Tools log warnings (a malformed users file line) to stderr. */
	log_set_level(c.cfg->log_level > LOG_LEVEL_WARN ? c.cfg->log_level : LOG_LEVEL_WARN);
	int ret;
	switch (k) {
	case 0: ret = user_set_password(&c, true); break;
	case 1: ret = user_set_password(&c, false); break;
	case 2: case 3: ret = user_del(&c); break;
	case 4: ret = user_list(&c); break;
	case 5: ret = cli_user_show(&c); break;
	case 6: ret = user_test(&c); break;
	case 7: ret = user_hash(&c); break;
	default: ret = cli_user_app_password(&c); break;
	}
	conf_free(c.cfg);
	return ret;
}
