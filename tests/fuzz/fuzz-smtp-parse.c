/* libFuzzer target for the SMTP/LMTP command-argument parser
 * (server/lmtp/smtp-parse.c) and the recipient rules behind it
 * (recipient.c). The first byte picks MAIL or RCPT; the rest is what
 * follows "MAIL " or "RCPT " on the line, parsed from an exact-size heap
 * copy (a read past the given length trips ASan). A parsed path must come
 * back unchanged through smtp_path_format and a second parse; decoded
 * xtext holds printable ASCII only; and a recipient is never local unless
 * its domain is one of the local domains (or it has none on LMTP, or is
 * postmaster) and it names a user of the users file: the no-relay rule
 * holds for every input. Anything else aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "server/lmtp/recipient.h"
#include "server/lmtp/smtp-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct userdb *db;

static struct userdb *users(void)
{
	if (db != NULL)
		return db;
	char path[] = "/tmp/loft-fuzz-users.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	const char text[] = "alice:{PLAIN}x\nbob@example.org:{PLAIN}x\npm:{PLAIN}x\n";
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1))
		abort();
	close(fd);
	char *err = NULL;
	if (userdb_load(path, &db, &err) != USERDB_OK)
		abort();
	unlink(path);
	return db;
}

static void check_roundtrip(const struct smtp_path *p, bool mail)
{
	char text[SMTP_PATH_TEXT_MAX];
	if (!smtp_path_format(p, text, sizeof(text)))
		abort();
	char cmd[SMTP_PATH_TEXT_MAX + 16];
	int n = snprintf(cmd, sizeof(cmd), "%s<%s>", mail ? "FROM:" : "TO:", text);
	struct smtp_args again;
	if (smtp_parse_args(cmd, (size_t)n, mail, &again) != SMTP_PARSE_OK ||
	    again.path.null != p->null || strcmp(again.path.local, p->local) != 0 ||
	    strcmp(again.path.domain, p->domain) != 0 || again.path.utf8 != p->utf8)
		abort();
}

static void check_recipient(const struct smtp_path *p, bool lmtp)
{
	struct rcpt_policy pol = { .local_domains = "example.org localhost", .delimiter = "+",
				   .plus_addressing = true, .postmaster = "pm", .lmtp = lmtp };
	struct rcpt_target t;
	enum rcpt_kind k = rcpt_resolve(users(), &pol, p, &t);
	if (k != RCPT_LOCAL)
		return;
	if (p->has_domain && (p->literal || !rcpt_domain_is_local(pol.local_domains, p->domain)))
		abort();   /* a relay */
	if (!p->has_domain && !lmtp && strcasecmp(p->local, "postmaster") != 0)
		abort();
	if (userdb_lookup(users(), t.user) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool mail = data[0] & 1;
	bool lmtp = data[0] & 2;
	size_t len = size - 1;
	char *copy = malloc(len ? len : 1);
	memcpy(copy, data + 1, len);
	struct smtp_args a;
	enum smtp_parse_result r = smtp_parse_args(copy, len, mail, &a);
	(void)smtp_hello_valid(copy, len);
	if (r == SMTP_PARSE_OK) {
		if (strlen(a.path.local) > SMTP_LOCAL_MAX || strlen(a.path.domain) > SMTP_DOMAIN_MAX)
			abort();
		if (a.n_params > SMTP_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < a.n_params; i++) {
			const struct smtp_param *p = &a.params[i];
			if (p->key < copy || p->key + p->key_len > copy + len || p->key_len == 0)
				abort();
			if (p->value == NULL)
				continue;
			if (p->value < copy || p->value + p->value_len > copy + len)
				abort();
			char out[128];
			int n = smtp_xtext_decode(p->value, p->value_len, out, sizeof(out));
			for (int k = 0; k < n; k++)
				if (out[k] < 32 || out[k] > 126)
					abort();
		}
		check_roundtrip(&a.path, mail);
		if (!mail)
			check_recipient(&a.path, lmtp);
	}
	free(copy);
	return 0;
}
