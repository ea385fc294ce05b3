/* `loft deliver`: the local delivery agent (Postfix mailbox_command,
 * fetchmail's mda). Reads one message from stdin in 64 KiB chunks and
 * delivers it through the same path as LMTP and SMTP (server/lmtp/
 * delivery.h: recipient resolution, trace headers, one spool, a link into
 * the mailbox, the group commit), never holding the message in memory.
 *
 *   -u USER      a user of the users file, or an address resolved as LMTP
 *                would ("alice+lists@example.org" goes to alice's folder
 *                "lists" when it exists)
 *   -m MAILBOX   the mailbox (else the address's detail, else INBOX); a
 *                missing one falls back to INBOX with a note on stderr
 *   -f SENDER    the envelope sender: "Return-Path: <SENDER>" is added
 *                (-f "" for <>). Without -f, a leading mbox "From SENDER
 *                ..." line gives it; that line is never stored.
 *   -F FLAGS     flags and keywords of the new message
 * A Delivered-To: line names -u when it is an address. The added lines use
 * the message's own line ending (CRLF or LF, from its first line).
 *
 * The user's active Sieve script runs as it does for LMTP and SMTP (keep
 * goes to -m or the detail mailbox); redirects, vacation replies and, for
 * reject/ereject (which cannot be refused here), a rejection notice to the
 * sender go through [relay] smarthost. A rejected message exits 0 once the
 * notice went, EX_TEMPFAIL when it could not be sent.
 *
 * It exits 0 without output, or prints one line to stderr and exits with a
 * sysexits(3) code an MTA understands:
 *   EX_USAGE 64     bad options, invalid mailbox name
 *   EX_DATAERR 65   empty message
 *   EX_NOUSER 67    no such user
 *   EX_CANTCREAT 73 over quota (unless [delivery] quota_full_tempfail) or
 *                   too large: permanent (Postfix bounces with 5.2.0)
 *   EX_TEMPFAIL 75  I/O errors, disk or index full, damaged index, an
 *                   unreadable configuration or users file: retry later
 * Running sessions learn of the message through the store's change
 * notification (other processes watch the index's notify file). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "lib/error.h"
#include "lib/xmem.h"
#include "server/cli/cli.h"
#include "server/lmtp/delivery.h"
#include "server/lmtp/headers.h"
#include "server/lmtp/recipient.h"
#include "server/relay/relay.h"
#include "server/sieve-config.h"
#include "server/store-config.h"

#define DELIVER_CHUNK (64 * 1024)
#define DELIVER_MAX_KEYWORDS 64

struct deliver_opts {
	const char *user;
	const char *mailbox;
	const char *sender;                     /* -f, or NULL */
	uint32_t flags;
	char *flag_buf;                         /* owns the keyword strings */
	const char *keywords[DELIVER_MAX_KEYWORDS];
	size_t n_keywords;
};

static void deliver_usage(FILE *out)
{
	fprintf(out, "usage: loft [-c FILE] deliver -u USER [-m MAILBOX] [-f SENDER] [-F FLAGS]\n"
			"  USER:  a user name or an address (user+detail@domain)\n"
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

/* Split the -F argument into system flags and keywords. */
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
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a))
			return 1;
		if (strcmp(a, "-u") == 0 && i + 1 < argc) {
			opts->user = argv[++i];
		} else if (strcmp(a, "-m") == 0 && i + 1 < argc) {
			opts->mailbox = argv[++i];
		} else if (strcmp(a, "-f") == 0 && i + 1 < argc) {
			opts->sender = argv[++i];
		} else if (strcmp(a, "-F") == 0 && i + 1 < argc) {
			if (opts->flag_buf != NULL) {
				fprintf(stderr, "loft deliver: -F given twice\n");
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

/* Read into buf (cap bytes) until it is full or stdin ends. Returns the
 * bytes read, or -1 with errno. */
static ssize_t read_some(char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A sender as it may stand in Return-Path: <...> (no brackets, blanks or
 * controls); "" is the null path. */
static bool sender_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == 0x7f)
			return false;
	return true;
}

struct deliver_input {
	char *buf;
	size_t len, off;             /* the first chunk, from off on */
	char from_line[512];         /* sender of a leading "From " line */
	bool crlf;
};

/* Read the first chunk: drop a leading "From " line, learn the line end. */
static int deliver_first_chunk(struct deliver_input *in)
{
	ssize_t n = read_some(in->buf, DELIVER_CHUNK);
	if (n < 0)
		return -1;
	in->len = (size_t)n;
	if (in->len > 5 && memcmp(in->buf, "From ", 5) == 0) {
		char *nl = memchr(in->buf, '\n', in->len);
		if (nl != NULL) {
			size_t sl = strcspn(in->buf + 5, " \r\n");
			if (sl < sizeof(in->from_line))
				snprintf(in->from_line, sizeof(in->from_line), "%.*s", (int)sl,
					 in->buf + 5);
			in->off = (size_t)(nl - in->buf) + 1;
		}
	}
	char *nl = memchr(in->buf + in->off, '\n', in->len - in->off);
	in->crlf = nl == NULL || (nl > in->buf + in->off && nl[-1] == '\r');
	return 0;
}

/* The recipient's address for Sieve (envelope "to", vacation): -u when it
 * is one, else user@ the first local domain (or the host name). */
static char *deliver_address(const struct loft_config *cfg, const char *arg, const char *user)
{
	if (strchr(arg, '@') != NULL)
		return xstrdup(arg);
	const char *dom = cfg->local_domains != NULL ? cfg->local_domains : "";
	size_t len = strcspn(dom + strspn(dom, " ,"), " ,");
	if (len == 0)
		return xasprintf("%s@%s", user, cfg->hostname != NULL ? cfg->hostname : "localhost");
	return xasprintf("%s@%.*s", user, (int)len, dom + strspn(dom, " ,"));
}

/* Sieve's environment for one delivery, sending through [relay]. */
static struct sieve_env *deliver_sieve_env(const struct loft_config *cfg, struct relay **relay_r)
{
	struct sieve_settings set;
	sieve_config_settings(cfg, &set);
	struct relay_settings rs;
	relay_config_settings(cfg, &rs);
	*relay_r = relay_create(&rs);
	if (*relay_r != NULL) {
		set.outbox.send = relay_outbox_send;
		set.outbox.ctx = *relay_r;
	}
	return sieve_env_create(&set);
}

static int deliver_run(struct store *store, const struct loft_config *cfg,
		       struct deliver_opts *opts)
{
	struct userdb *db = NULL;
	char *err = NULL;
	if (userdb_load(cfg->users_file, &db, &err) != USERDB_OK) {
		fprintf(stderr, "loft deliver: users file: %s\n", err != NULL ? err : "unreadable");
		free(err);
		return EX_TEMPFAIL;
	}
	struct rcpt_policy pol = {
		.local_domains = cfg->local_domains, .delimiter = cfg->recipient_delimiter,
		.plus_addressing = cfg->plus_addressing, .postmaster = cfg->postmaster_user,
		.lmtp = true,
	};
	struct rcpt_target target;
	if (rcpt_resolve_text(db, &pol, opts->user, &target) != RCPT_LOCAL) {
		fprintf(stderr, "loft deliver: %s: no such user\n", opts->user);
		userdb_free(&db);
		return EX_NOUSER;
	}
	const struct userdb_fields *f = &target.record->fields;
	struct userdb_fields quota = {
		.has_quota_bytes = f->has_quota_bytes, .quota_bytes = f->quota_bytes,
		.has_quota_messages = f->has_quota_messages, .quota_messages = f->quota_messages,
	};

	struct deliver_input in = { .buf = xmalloc(DELIVER_CHUNK) };
	int code = EX_OK;
	if (deliver_first_chunk(&in) < 0) {
		fprintf(stderr, "loft deliver: reading stdin: %s\n", strerror(errno));
		code = EX_TEMPFAIL;
	} else if (in.len == in.off) {
		fprintf(stderr, "loft deliver: empty message\n");
		code = EX_DATAERR;
	}
	const char *sender = opts->sender != NULL ? opts->sender
			   : in.from_line[0] != '\0' ? in.from_line : NULL;
	if (code == EX_OK && sender != NULL && !sender_ok(sender)) {
		fprintf(stderr, "loft deliver: invalid sender %s\n", sender);
		code = EX_USAGE;
	}
	struct delivery_msg *m = NULL;
	if (code == EX_OK) {
		struct trace_info t = {
			.eol = in.crlf ? "\r\n" : "\n",
			.delivered_to = strchr(opts->user, '@') != NULL ? opts->user : NULL,
			.return_path = sender,
		};
		size_t hlen;
		char *headers = trace_headers(&t, &hlen);
		m = delivery_msg_new(store, hlen);
		int r = delivery_msg_write(m, headers, hlen);
		free(headers);
		if (r == STORE_OK)
			r = delivery_msg_write(m, in.buf + in.off, in.len - in.off);
		while (r == STORE_OK && in.len == DELIVER_CHUNK) {
			ssize_t n = read_some(in.buf, DELIVER_CHUNK);
			if (n < 0) {
				fprintf(stderr, "loft deliver: reading stdin: %s\n", strerror(errno));
				code = EX_TEMPFAIL;
				break;
			}
			in.len = (size_t)n;
			r = delivery_msg_write(m, in.buf, in.len);
		}
		if (code == EX_OK && r != STORE_OK) {
			fprintf(stderr, "loft deliver: writing message: %s\n", store_strerror(r));
			code = delivery_exit_code(r, cfg->quota_full_tempfail);
		}
	}
	if (code == EX_OK) {
		const char *mailbox = opts->mailbox != NULL ? opts->mailbox
				    : cfg->plus_addressing && target.detail[0] != '\0' ? target.detail
				    : NULL;
		/* an invalid -m name is the caller's mistake, not a missing one */
		char *address = deliver_address(cfg, opts->user, target.user);
		struct delivery_rcpt d = { .user = target.user, .mailbox = mailbox,
					   .fallback = true, .fallback_invalid = opts->mailbox == NULL,
					   .fields = &quota, .address = address };
		struct store_append_meta meta = { .flags = opts->flags, .keywords = opts->keywords,
						  .n_keywords = opts->n_keywords };
		struct relay *relay = NULL;
		m->sieve = deliver_sieve_env(cfg, &relay);
		m->mail_from = sender != NULL ? sender : "";
		m->refuse = DELIVERY_REFUSE_NOTICE;
		delivery_run(m, &d, 1, &meta);
		sieve_env_free(&m->sieve);
		relay_free(&relay);
		free(address);
		if (d.to_inbox)
			fprintf(stderr, "loft deliver: mailbox %s does not exist, delivered to INBOX\n",
				mailbox);
		if (d.rejected && d.result != STORE_OK) {
			fprintf(stderr, "loft deliver: rejected by the Sieve script; the notice to "
					"the sender could not be sent\n");
			code = EX_TEMPFAIL;
		} else if (d.result != STORE_OK) {
			fprintf(stderr, "loft deliver: saving message: %s\n", store_strerror(d.result));
			code = delivery_exit_code(d.result, cfg->quota_full_tempfail);
		}
	}
	delivery_msg_free(&m);
	free(in.buf);
	userdb_free(&db);
	return code;
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
		code = deliver_run(store, cfg, &opts);
		store_destroy(&store);
		conf_free(cfg);
	}
	x_free(&opts.flag_buf);
	return code;
}
