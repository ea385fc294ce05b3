/* `loft demo DIR`: a working server in one command. Creates what is missing
 * in DIR (loft.conf, a self-signed localhost certificate, a users file with a
 * demo user, the mail directory), reuses whatever is already there, prints
 * how to connect and runs the server in the foreground. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/userdb.h"
#include "conf/config.h"
#include "server/cli/cli.h"
#include "server/auth-config.h"
#include "server/cli/demo-cert.h"
#include "server/server.h"
#include "lib/error.h"
#include "lib/xmem.h"

#define DEMO_DEFAULT_PORT_BASE 1000
#define DEMO_DEFAULT_USER "demo"
#define DEMO_PASSWORD_LEN 16

/* The demo's listeners: name, protocol, port offset, tls mode. */
struct demo_listener {
	const char *name;
	const char *protocol;
	unsigned offset;
	const char *tls;
	const char *comment;
};

static const struct demo_listener demo_listeners[] = {
	{ "imap", "imap", 143, "starttls", "IMAP, plaintext until STARTTLS (RFC 3501/9051)" },
	{ "imaps", "imap", 993, "implicit", "IMAP over TLS from the first byte (RFC 8314)" },
	{ "pop3", "pop3", 110, "starttls", "POP3, plaintext until STLS (RFC 2595)" },
	{ "pop3s", "pop3", 995, "implicit", "POP3 over TLS from the first byte" },
	{ "lmtp", "lmtp", 24, "starttls",
	  "LMTP for an MTA handing over mail (RFC 2033); STARTTLS offered" },
	{ "smtp", "smtp", 25, "starttls",
	  "SMTP accepting mail for local_domains only (never a relay)" },
	{ "sieve", "sieve", 190, "starttls",
	  "ManageSieve for editing Sieve filters (RFC 5804); STARTTLS offered" },
};
#define N_DEMO_LISTENERS (sizeof(demo_listeners) / sizeof(demo_listeners[0]))

struct demo_opts {
	const char *dir;
	unsigned port_base;
	bool port_base_given;
	const char *user;
	const char *password;
};

static void demo_usage(FILE *out)
{
	fprintf(out,
		"usage: loft demo DIR [--port-base N] [--user NAME --password PW]\n"
		"Creates DIR with a configuration, a self-signed certificate and a user,\n"
		"then runs the server in the foreground (Ctrl-C stops it). Listeners on\n"
		"127.0.0.1: IMAP N+143, IMAPS N+993, POP3 N+110, POP3S N+995, LMTP N+24,\n"
		"SMTP N+25, ManageSieve N+190 (default N = %d). A second run reuses every file it finds; delete\n"
		"DIR/loft.conf to regenerate it (e.g. for another --port-base).\n",
		DEMO_DEFAULT_PORT_BASE);
}

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
	*o = (struct demo_opts){ .port_base = DEMO_DEFAULT_PORT_BASE };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (strcmp(a, "--port-base") == 0 && has_val) {
			char *end;
			errno = 0;
			long v = strtol(argv[++i], &end, 10);
			/* every port must land in 1..65535 */
			if (errno != 0 || *end != '\0' || argv[i][0] == '\0' || v < 0 ||
			    v > 65535 - 995) {
				fprintf(stderr, "loft demo: --port-base must be 0..%d\n",
					65535 - 995);
				return LOFT_EINVAL;
			}
			o->port_base = (unsigned)v;
			o->port_base_given = true;
		} else if (strcmp(a, "--user") == 0 && has_val) {
			o->user = argv[++i];
		} else if (strcmp(a, "--password") == 0 && has_val) {
			o->password = argv[++i];
		} else if (cli_is_help(a)) {
			demo_usage(stdout);
			exit(0);
		} else if (a[0] != '-' && o->dir == NULL) {
			o->dir = a;
		} else {
			fprintf(stderr, "loft demo: unexpected argument '%s'\n", a);
			return LOFT_EINVAL;
		}
	}
	if (o->dir == NULL) {
		fprintf(stderr, "loft demo: missing DIR\n");
		return LOFT_EINVAL;
	}
	if (o->user != NULL && !userdb_name_valid(o->user)) {
		fprintf(stderr, "loft demo: invalid user name '%s' (1-%d of A-Z a-z 0-9 . _ @ + -)\n",
			o->user, USERDB_NAME_MAX);
		return LOFT_EINVAL;
	}
	if (o->password != NULL && (o->password[0] == '\0' ||
				    strpbrk(o->password, "\r\n") != NULL)) {
		fprintf(stderr, "loft demo: --password must be one non-empty line\n");
		return LOFT_EINVAL;
	}
	return 0;
}

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			free(p);
			return LOFT_EIO;
		}
		*s = '/';
	}
	int ret = mkdir(p, 0700) < 0 && errno != EEXIST ? LOFT_EIO : 0;
	free(p);
	return ret;
}

/* Write a small file atomically with the given mode. */
static int write_file(const char *path, const char *text, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int ret = -1;
	if (fd >= 0) {
		size_t len = strlen(text), off = 0;
		while (off < len) {
			ssize_t n = write(fd, text + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			off += (size_t)n;
		}
		if (off == len && fsync(fd) == 0 && close(fd) == 0) {
			fd = -1;
			ret = rename(tmp, path);
		}
		if (fd >= 0)
			close(fd);
	}
	if (ret < 0) {
		fprintf(stderr, "loft demo: cannot write %s: %s\n", path, strerror(errno));
		(void)unlink(tmp);
	}
	free(tmp);
	return ret;
}

static char *config_text(unsigned base)
{
	time_t now = time(NULL);
	struct tm tm;
	char date[32];
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	char *text = xasprintf(
		"# Loft demo configuration, written by `loft demo` on %s\n"
		"# (port base %u). `loft demo` never rewrites this file: edit it freely,\n"
		"# or delete it and run `loft demo` again to get a fresh one.\n"
		"# Relative paths are relative to the directory of this file.\n"
		"# Every setting with its default and range: `loft config doc`.\n"
		"\n"
		"[server]\n"
		"# Name announced in greetings and Received: headers.\n"
		"hostname = localhost\n"
		"# Runtime state (pid file); \".\" is this directory.\n"
		"state_dir = .\n"
		"# Each user's Maildir is mail/<user>/.\n"
		"mail_dir = mail\n"
		"# passwd-file user database, managed with\n"
		"#   loft -c loft.conf user add|passwd|del|list\n"
		"users_file = users\n"
		"# Mail for <user>@localhost is delivered; SMTP refuses other domains.\n"
		"local_domains = localhost\n"
		"# One event loop per CPU core.\n"
		"workers = auto\n"
		"# Passwords without TLS are accepted from 127.0.0.1/::1 only.\n"
		"plaintext_auth = loopback\n"
		"\n"
		"[auth]\n"
		"# New passwords also get SCRAM-SHA-256 keys, so clients can log in\n"
		"# without sending the password (mbsync, Thunderbird with SCRAM).\n"
		"store_scram = sha256\n"
		"mechanisms = SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN\n"
		"\n"
		"[tls]\n"
		"# Self-signed for localhost by `loft demo` (clients will warn:\n"
		"# accept it, or trust cert.pem). Use a real certificate elsewhere.\n"
		"cert_file = cert.pem\n"
		"key_file = key.pem\n"
		"min_version = TLSv1.2\n"
		"\n"
		"[log]\n"
		"# debug shows every state change of every session.\n"
		"level = info\n"
		"file = stderr\n",
		date, base);
	for (size_t i = 0; i < N_DEMO_LISTENERS; i++) {
		const struct demo_listener *l = &demo_listeners[i];
		char *more = xasprintf("%s\n# %s\n[listener %s]\nprotocol = %s\n"
				       "address = 127.0.0.1\nport = %u\ntls = %s\n",
				       text, l->comment, l->name, l->protocol,
				       base + l->offset, l->tls);
		free(text);
		text = more;
	}
	return text;
}

/* True if cfg has exactly the demo's listeners for this port base. */
static bool config_matches_base(const struct loft_config *cfg, unsigned base)
{
	size_t matched = 0;
	for (size_t i = 0; i < N_DEMO_LISTENERS; i++) {
		for (size_t k = 0; k < cfg->n_listeners; k++) {
			if (strcmp(cfg->listeners[k].name, demo_listeners[i].name) == 0 &&
			    cfg->listeners[k].port == base + demo_listeners[i].offset) {
				matched++;
				break;
			}
		}
	}
	return matched == N_DEMO_LISTENERS;
}

/* A random password of unambiguous characters (no 0/O, 1/l/I). */
static char *random_password(void)
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const size_t n = sizeof(alphabet) - 1; /* 56 */
	char *pw = xcalloc(1, DEMO_PASSWORD_LEN + 1);
	size_t len = 0;
	while (len < DEMO_PASSWORD_LEN) {
		unsigned char b[32];
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			continue;
		for (size_t i = 0; i < sizeof(b) && len < DEMO_PASSWORD_LEN; i++)
			if (b[i] < 256 - 256 % n) /* no modulo bias */
				pw[len++] = alphabet[b[i] % n];
		x_wipe(b, sizeof(b));
	}
	return pw;
}

/* Contents of DIR/demo-password (first line), or NULL. */
static char *read_saved_password(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return NULL;
	char buf[512];
	char *pw = NULL;
	if (fgets(buf, sizeof(buf), fp) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] != '\0')
			pw = xstrdup(buf);
	}
	x_wipe(buf, sizeof(buf));
	fclose(fp);
	return pw;
}

/* Make sure the demo user exists and find its password. Sets *user_r (heap)
 * and *password_r (heap, or NULL when unknown). */
static int setup_user(const struct demo_opts *o, const struct loft_config *cfg,
		      const char *pw_path, char **user_r, char **password_r)
{
	const char *users_file = cfg->users_file;
	struct auth_settings aset;
	auth_config_settings(cfg, &aset);
	*user_r = NULL;
	*password_r = NULL;
	struct userdb *db = NULL;
	char *err = NULL;
	if (userdb_load(users_file, &db, &err) < 0) {
		fprintf(stderr, "loft demo: %s\n", err);
		free(err);
		return LOFT_EINVAL;
	}
	/* Without --user: the first user of an existing file, else "demo". */
	char *user = NULL;
	if (o->user != NULL) {
		user = xstrdup(o->user);
	} else {
		char **names = NULL;
		size_t n = 0;
		if (userdb_file_list(users_file, &names, &n, NULL) == 0 && n > 0)
			user = xstrdup(names[0]);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (user == NULL)
			user = xstrdup(DEMO_DEFAULT_USER);
	}
	char *saved = read_saved_password(pw_path);
	char *pw = NULL;
	bool exists = userdb_lookup(db, user) != NULL;
	bool store = false;
	int ret = 0;
	if (!exists) {
		pw = o->password != NULL ? xstrdup(o->password)
		     : saved != NULL ? xstrdup(saved) : random_password();
		struct userdb_credentials cred;
		if (auth_hash_password(&aset, pw, &cred) < 0 ||
		    userdb_file_add_credentials(users_file, user, &cred, &err) < 0) {
			fprintf(stderr, "loft demo: cannot add user %s: %s\n", user,
				err != NULL ? err : "password hashing failed");
			ret = -1;
		} else {
			printf("created user %s in %s\n", user, users_file);
			store = true;
		}
		auth_credentials_free(&cred);
	} else if (o->password != NULL) {
		pw = xstrdup(o->password);
		if (userdb_verify(db, user, pw) != USERDB_OK) {
			/* Asked for explicitly: the command line wins. */
			struct userdb_credentials cred;
			if (auth_hash_password(&aset, pw, &cred) < 0 ||
			    userdb_file_set_credentials(users_file, user, &cred, &err) < 0) {
				fprintf(stderr, "loft demo: cannot set the password of %s: %s\n",
					user, err != NULL ? err : "password hashing failed");
				ret = -1;
			} else {
				printf("set the password of %s to the one given\n", user);
			}
			auth_credentials_free(&cred);
		}
		store = saved == NULL || strcmp(saved, pw) != 0;
	} else if (saved != NULL && userdb_verify(db, user, saved) == USERDB_OK) {
		pw = xstrdup(saved);
	}
	if (ret == 0 && store && pw != NULL) {
		char *line = xasprintf("%s\n", pw);
		(void)write_file(pw_path, line, 0600);
		x_wipe(line, strlen(line));
		free(line);
	}
	free(err);
	if (saved != NULL) {
		x_wipe(saved, strlen(saved));
		free(saved);
	}
	userdb_free(&db);
	if (ret < 0) {
		free(user);
		if (pw != NULL)
			x_wipe(pw, strlen(pw));
		free(pw);
		return LOFT_EINVAL;
	}
	*user_r = user;
	*password_r = pw;
	return 0;
}

static const struct conf_listener *find_listener(const struct loft_config *cfg,
						 enum conf_proto proto, enum conf_tls_mode tls)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].protocol == proto && cfg->listeners[i].tls == tls)
			return &cfg->listeners[i];
	return NULL;
}

static void print_banner(const struct loft_config *cfg, const char *dir, const char *user,
			 const char *pw)
{
	printf("\nLoft demo in %s\n\nListening on:\n", dir);
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct conf_listener *l = &cfg->listeners[i];
		printf("  %-6s %-5s %s:%u  tls=%s\n", l->name, conf_proto_name(l->protocol),
		       l->address, l->port, conf_tls_mode_name(l->tls));
	}
	printf("\nUser:     %s\nPassword: %s\n", user,
	       pw != NULL ? pw : "(unknown: set one with `loft user passwd`, see below)");
	const struct conf_listener *imaps = find_listener(cfg, CONF_PROTO_IMAP, CONF_TLS_IMPLICIT);
	const struct conf_listener *imap = find_listener(cfg, CONF_PROTO_IMAP, CONF_TLS_STARTTLS);
	const struct conf_listener *smtp = find_listener(cfg, CONF_PROTO_SMTP, CONF_TLS_STARTTLS);
	printf("\nTry it:\n");
	if (imaps != NULL) {
		printf("  openssl s_client -connect %s:%u -crlf -quiet\n"
		       "      then type: a LOGIN %s <password>   b SELECT INBOX   c LOGOUT\n",
		       imaps->address, imaps->port, user);
		printf("  curl -k --user %s imaps://%s:%u/\n", user,
		       imaps->address, imaps->port);
	}
	if (imap != NULL)
		printf("  openssl s_client -starttls imap -connect %s:%u -crlf -quiet\n",
		       imap->address, imap->port);
	printf("  Thunderbird: new mail account %s@localhost, manual configuration:\n", user);
	if (imaps != NULL)
		printf("      incoming IMAP %s port %u, SSL/TLS, normal password\n",
		       imaps->address, imaps->port);
	if (smtp != NULL)
		printf("      outgoing SMTP %s port %u, STARTTLS, normal password\n",
		       smtp->address, smtp->port);
	printf("      then accept the self-signed certificate (or trust %s).\n",
	       cfg->tls_cert_file != NULL ? cfg->tls_cert_file : "your certificate");
	const struct conf_listener *sv = find_listener(cfg, CONF_PROTO_SIEVE, CONF_TLS_STARTTLS);
	if (sv != NULL)
		printf("  Sieve filters: sieve-connect --server %s --port %u --user %s --notlsverify\n",
		       sv->address, sv->port, user);
	printf("  Deliver a message: loft -c %s deliver -u %s < message.eml\n", cfg->path, user);
	printf("  Manage users:      loft -c %s user add|passwd|del|list\n", cfg->path);
	printf("\nStop with Ctrl-C.\n\n");
	fflush(stdout);
}

int cli_demo(const struct cli_ctx *cli, int argc, char **argv)
{
	struct demo_opts o;
	if (parse_args(argc, argv, &o) < 0) {
		demo_usage(stderr);
		return 2;
	}
	if (mkdir_p(o.dir) < 0) {
		fprintf(stderr, "loft demo: cannot create %s: %s\n", o.dir, strerror(errno));
		return 1;
	}
	char dir[PATH_MAX];
	if (realpath(o.dir, dir) == NULL) {
		fprintf(stderr, "loft demo: %s: %s\n", o.dir, strerror(errno));
		return 1;
	}
	char *conf_path = xasprintf("%s/loft.conf", dir);
	char *pw_path = xasprintf("%s/demo-password", dir);
	struct loft_config *cfg = NULL;
	char *user = NULL, *pw = NULL, *err = NULL;
	int exit_code = 1;

	bool conf_new = !path_exists(conf_path);
	if (conf_new) {
		char *text = config_text(o.port_base);
		int ret = write_file(conf_path, text, 0644);
		free(text);
		if (ret < 0)
			goto out;
		printf("created %s\n", conf_path);
	}
	if (conf_load(conf_path, &cfg, &err) < 0) {
		conf_print_errors(stderr, "loft demo: ", err, "cannot load configuration");
		goto out;
	}
	if (!conf_new) {
		printf("reusing %s\n", conf_path);
		if (o.port_base_given && !config_matches_base(cfg, o.port_base))
			printf("note: --port-base %u differs from the ports in the existing %s;\n"
			       "      using the file as it is (delete it to regenerate)\n",
			       o.port_base, conf_path);
	}

	if (cfg->tls_cert_file != NULL && cfg->tls_key_file != NULL) {
		if (path_exists(cfg->tls_cert_file) && path_exists(cfg->tls_key_file)) {
			printf("reusing %s\n", cfg->tls_cert_file);
		} else {
			if (demo_cert_create(cfg->tls_cert_file, cfg->tls_key_file, "localhost",
					     DEMO_CERT_DAYS, &err) < 0) {
				fprintf(stderr, "loft demo: certificate: %s\n", err);
				goto out;
			}
			printf("created %s and %s (self-signed for localhost, %d days)\n",
			       cfg->tls_cert_file, cfg->tls_key_file, DEMO_CERT_DAYS);
		}
	}
	if (cfg->mail_dir != NULL && mkdir_p(cfg->mail_dir) < 0) {
		fprintf(stderr, "loft demo: cannot create %s: %s\n", cfg->mail_dir,
			strerror(errno));
		goto out;
	}
	if (setup_user(&o, cfg, pw_path, &user, &pw) < 0)
		goto out;
	print_banner(cfg, dir, user, pw);
	conf_free(cfg);
	cfg = NULL;
	exit_code = server_main(conf_path, false);
out:
	if (cfg != NULL)
		conf_free(cfg);
	if (pw != NULL)
		x_wipe(pw, strlen(pw));
	free(pw);
	free(user);
	free(err);
	free(conf_path);
	free(pw_path);
	(void)cli;
	return exit_code;
}
