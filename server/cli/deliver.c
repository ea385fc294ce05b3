/* `loft deliver`: the local delivery agent. Reads one message from stdin in
 * 64 KiB chunks straight into the store (never the whole message in memory),
 * commits it durably and exits 0 without output. Failures print one line to
 * stderr and exit with a sysexits(3) code an MTA understands:
 *   EX_USAGE 64     bad options, unknown flag, invalid mailbox name
 *   EX_DATAERR 65   empty message
 *   EX_NOUSER 67    invalid user name
 *   EX_CANTCREAT 73 over quota or message too large: permanent (Postfix
 *                   bounces with 5.2.0), like Dovecot's LDA default
 *   EX_TEMPFAIL 75  I/O errors, disk or index full, damaged index, unreadable
 *                   configuration: the MTA keeps the message and retries
 * A missing -m mailbox falls back to INBOX (Dovecot LDA behaviour), with a
 * note on stderr, so mail is never bounced for a filing mistake. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "server/cli/cli.h"
#include "server/store-config.h"
#include "lib/error.h"
#include "lib/xmem.h"

#define DELIVER_CHUNK (64 * 1024)
#define DELIVER_MAX_KEYWORDS 64

struct deliver_opts {
	const char *user;
	const char *mailbox;
	uint32_t flags;
	char *flag_buf;                         /* owns the keyword strings */
	const char *keywords[DELIVER_MAX_KEYWORDS];
	size_t n_keywords;
};

static void deliver_usage(FILE *out)
{
	fprintf(out, "usage: loft [-c FILE] deliver -u USER [-m MAILBOX] [-f FLAGS]\n"
			"  FLAGS: space or comma separated, e.g. '\\Seen \\Flagged $Work'\n");
}

static int deliver_sysflag(const char *name, uint32_t *flag_r)
{
	static const struct { const char *name; uint32_t flag; } names[] = {
		{ "\\Seen", STORE_FLAG_SEEN }, { "\\Answered", STORE_FLAG_ANSWERED },
		{ "\\Flagged", STORE_FLAG_FLAGGED }, { "\\Deleted", STORE_FLAG_DELETED },
		{ "\\Draft", STORE_FLAG_DRAFT }, { "\\Recent", 0 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*flag_r = names[i].flag;
			return 0;
		}
	}
	return LOFT_ENOENT;
}

/* Split the -f argument into system flags and keywords. */
static int deliver_parse_flags(struct deliver_opts *opts, const char *arg)
{
	opts->flag_buf = xstrdup(arg);
	char *save = NULL;
	for (char *tok = strtok_r(opts->flag_buf, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if (tok[0] == '\\') {
			uint32_t flag;
			if (deliver_sysflag(tok, &flag) < 0) {
				fprintf(stderr, "loft deliver: unknown system flag %s\n", tok);
				return LOFT_EINVAL;
			}
			opts->flags |= flag;
			continue;
		}
		for (const char *p = tok; *p != '\0'; p++) {
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
			    strchr("(){%*\"\\]", *p) != NULL) {
				fprintf(stderr, "loft deliver: invalid keyword %s\n", tok);
				return LOFT_EINVAL;
			}
		}
		if (opts->n_keywords == DELIVER_MAX_KEYWORDS) {
			fprintf(stderr, "loft deliver: too many keywords\n");
			return LOFT_EINVAL;
		}
		opts->keywords[opts->n_keywords++] = tok;
	}
	return 0;
}

/* Returns 0, 1 for --help, or -1 on a usage error (said on stderr). */
static int deliver_parse_args(struct deliver_opts *opts, int argc, char **argv)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a))
			return 1;
		if (strcmp(a, "-u") == 0 && i + 1 < argc)
			opts->user = argv[++i];
		else if (strcmp(a, "-m") == 0 && i + 1 < argc)
			opts->mailbox = argv[++i];
		else if (strcmp(a, "-f") == 0 && i + 1 < argc) {
			if (opts->flag_buf != NULL) {
				fprintf(stderr, "loft deliver: -f given twice\n");
				return LOFT_EINVAL;
			}
			if (deliver_parse_flags(opts, argv[++i]) < 0)
				return LOFT_EINVAL;
		} else {
			fprintf(stderr, "loft deliver: unexpected argument %s\n", a);
			return LOFT_EINVAL;
		}
	}
	if (opts->user == NULL) {
		fprintf(stderr, "loft deliver: -u USER is required\n");
		return LOFT_EINVAL;
	}
	return 0;
}

/* Map a store error to the exit code the file comment documents. */
static int deliver_exit_code(int err)
{
	switch (err) {
	case STORE_EQUOTA:
	case STORE_ETOOBIG:
		return EX_CANTCREAT;
	case STORE_EINVALID:
		return EX_USAGE;
	default:
		return EX_TEMPFAIL;
	}
}

/* Stream stdin into app. Returns STORE_OK, a store error, or 1 for an empty
 * message. On a read error *read_errno_r is set and STORE_EIO returned. */
static int deliver_stream(struct store_append *app, int *read_errno_r)
{
	char *buf = xmalloc(DELIVER_CHUNK);
	uint64_t total = 0;
	int ret = STORE_OK;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, DELIVER_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*read_errno_r = errno;
			ret = STORE_EIO;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		ret = store_append_write(app, buf, (size_t)n);
		if (ret < 0)
			break;
	}
	x_free(&buf);
	if (ret == STORE_OK && total == 0)
		return 1;
	return ret;
}

static int deliver_run(struct store *store, struct deliver_opts *opts)
{
	struct store_user *user = NULL;
	struct store_append *app = NULL;
	int ret = store_user_open(store, opts->user, &user);
	if (ret < 0) {
		fprintf(stderr, "loft deliver: user %s: %s\n", opts->user, store_strerror(ret));
		return ret == STORE_EINVALID ? EX_NOUSER : EX_TEMPFAIL;
	}

	const char *mailbox = opts->mailbox != NULL ? opts->mailbox : "INBOX";
	ret = store_append_begin(user, mailbox, &app);
	if (ret == STORE_ENOTFOUND && strcasecmp(mailbox, "INBOX") != 0) {
		fprintf(stderr, "loft deliver: mailbox %s does not exist, delivering to INBOX\n",
			mailbox);
		mailbox = "INBOX";
		ret = store_append_begin(user, mailbox, &app);
	}
	if (ret < 0) {
		fprintf(stderr, "loft deliver: mailbox %s: %s\n", mailbox, store_strerror(ret));
		store_user_close(&user);
		return deliver_exit_code(ret);
	}

	int read_errno = 0;
	ret = deliver_stream(app, &read_errno);
	if (ret != STORE_OK) {
		store_append_abort(&app);
		store_user_close(&user);
		if (ret == 1) {
			fprintf(stderr, "loft deliver: empty message\n");
			return EX_DATAERR;
		}
		if (read_errno != 0)
			fprintf(stderr, "loft deliver: reading stdin: %s\n", strerror(read_errno));
		else
			fprintf(stderr, "loft deliver: writing message: %s\n", store_strerror(ret));
		return deliver_exit_code(ret);
	}

	struct store_append_meta meta = {
		.flags = opts->flags,
		.keywords = opts->keywords,
		.n_keywords = opts->n_keywords,
		.internal_date = 0,
	};
	ret = store_append_commit(&app, &meta, NULL, NULL);
	store_user_close(&user);
	if (ret < 0) {
		fprintf(stderr, "loft deliver: saving message: %s\n", store_strerror(ret));
		return deliver_exit_code(ret);
	}
	return EX_OK;
}

int cli_deliver(const struct cli_ctx *cli, int argc, char **argv)
{
	struct deliver_opts opts = { 0 };
	struct loft_config *cfg = NULL;
	struct store *store = NULL;
	int code;

	int parsed = deliver_parse_args(&opts, argc, argv);
	if (parsed > 0) {
		deliver_usage(stdout);
		code = EX_OK;
	} else if (parsed < 0) {
		deliver_usage(stderr);
		code = EX_USAGE;
	} else if (store_config_open(cli->config_path, false, &cfg, &store) < 0) {
		code = EX_TEMPFAIL;
	} else {
		code = deliver_run(store, &opts);
		store_destroy(&store);
		conf_free(cfg);
	}
	x_free(&opts.flag_buf);
	return code;
}
