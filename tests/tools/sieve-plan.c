/* sieve-plan: drives sieve_deliver_plan the way a delivery does, for the
 * e2e and differential tests (delivery itself is being rewritten on
 * another branch). For each message file it prints the plan, one action a
 * line:
 *   #FILE path
 *   keep INBOX [\Seen kw ...]   fileinto MAILBOX [:create] [flags]
 *   (a MAILBOX with spaces or quotes is in quotes, a quote doubled)
 *   redirect ADDR   reject TEXT   ereject TEXT   vacation ADDR   discard
 *   error TEXT      (the fallback keep follows)
 * Modes:
 *   sieve-plan --script FILE [options] MSG...      a script file, no store
 *   sieve-plan --config CONFIG --user USER [--apply] [options] MSG...
 *       the user's active script from the store; --apply carries the plan
 *       out like a delivery: appends to the mailboxes with the flags
 *       (creating with :create, INBOX when a mailbox is missing), then
 *       sieve_plan_finish sends through [relay] and records the marks
 *   sieve-plan --check FILE                         compile only
 * Options: --from ADDR (envelope sender, "" for <>), --to ADDR (recipient),
 * --user-address ADDR, --spam SCORE, --spam-percent P, --now UNIXTIME. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "server/relay/relay.h"
#include "server/sieve-config.h"
#include "server/sieve/sieve.h"
#include "server/store-config.h"
#include "storage/store.h"

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct msg_buf b = { 0 };
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		msg_buf_append(&b, buf, n);
	fclose(f);
	msg_buf_putc(&b, '\0');
	*len_r = b.len - 1;
	return b.data;
}

static void print_flags(const struct sieve_action *a)
{
	static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
					     "\\Draft" };
	for (int i = 0; i < 5; i++)
		if (a->flags & (1u << i))
			printf(" %s", names[i]);
	for (size_t i = 0; i < a->n_keywords; i++)
		printf(" %s", a->keywords[i]);
}

static void print_plan(const struct sieve_plan *p)
{
	if (p->error != NULL)
		printf("error %s\n", p->error);
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct sieve_action *a = &p->actions[i];
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			printf("keep INBOX");
			print_flags(a);
			break;
		case SIEVE_ACT_FILEINTO:
			/* a name with spaces or quotes is quoted ("" doubles ") */
			if (strpbrk(a->mailbox, " \"") != NULL) {
				printf("fileinto \"");
				for (const char *c = a->mailbox; *c; c++)
					printf(*c == '"' ? "\"\"" : "%c", *c);
				printf("\"%s", a->create ? " :create" : "");
			} else {
				printf("fileinto %s%s", a->mailbox, a->create ? " :create" : "");
			}
			print_flags(a);
			break;
		case SIEVE_ACT_REDIRECT: printf("redirect %s", a->address); break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT: {
			const char *t = a->text;
			size_t l = strcspn(t, "\r\n");
			printf("%s %.*s", sieve_action_name(a->kind), (int)l, t);
			break;
		}
		case SIEVE_ACT_VACATION: printf("vacation %s", a->address); break;
		case SIEVE_ACT_DISCARD: printf("discard"); break;
		}
		printf("\n");
	}
	if (p->header != NULL)
		printf("header-edited %zu\n", p->header_len);
}

/* Carry out the store actions of the plan, as a delivery does. */
static bool apply(struct store_user *user, const struct sieve_plan *p, int fd, uint64_t size)
{
	bool ok = true;
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct sieve_action *a = &p->actions[i];
		if (a->kind != SIEVE_ACT_KEEP && a->kind != SIEVE_ACT_FILEINTO)
			continue;
		const char *mb = a->mailbox;
		if (a->create) {
			int c = store_mailbox_create(user, mb, 0);
			if (c == STORE_OK)
				(void)store_subscribe(user, mb, true);
		}
		struct store_append *app = NULL;
		int r = store_append_begin(user, mb, &app);
		if (r == STORE_ENOTFOUND) {
			fprintf(stderr, "sieve-plan: mailbox %s does not exist: INBOX\n", mb);
			r = store_append_begin(user, "INBOX", &app);
		}
		if (r == STORE_OK && p->header != NULL)
			r = store_append_write(app, p->header, p->header_len);
		uint64_t off = p->header != NULL ? p->body_offset : 0;
		char buf[65536];
		while (r == STORE_OK && off < size) {
			ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
			if (n <= 0) {
				r = STORE_EIO;
				break;
			}
			r = store_append_write(app, buf, (size_t)n);
			off += (uint64_t)n;
		}
		struct store_append_meta meta = {
			.flags = a->flags,
			.keywords = (const char *const *)a->keywords,
			.n_keywords = a->n_keywords,
		};
		if (r == STORE_OK)
			r = store_append_commit(&app, &meta, NULL, NULL);
		else if (app != NULL)
			store_append_abort(&app);
		if (r != STORE_OK) {
			fprintf(stderr, "sieve-plan: storing into %s: %s\n", mb, store_strerror(r));
			ok = false;
		}
	}
	return ok;
}

int main(int argc, char **argv)
{
	const char *script_file = NULL, *config = NULL, *user_name = NULL, *check = NULL;
	const char *from = "sender@example.org", *to = "user@example.org";
	const char *user_address = NULL;
	bool do_apply = false;
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--apply") == 0) {
			do_apply = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "sieve-plan: %s needs a value\n", o);
			return 2;
		}
		i++;
		if (strcmp(o, "--script") == 0) script_file = v;
		else if (strcmp(o, "--check") == 0) check = v;
		else if (strcmp(o, "--config") == 0) config = v;
		else if (strcmp(o, "--user") == 0) user_name = v;
		else if (strcmp(o, "--from") == 0) from = v;
		else if (strcmp(o, "--to") == 0) to = v;
		else if (strcmp(o, "--user-address") == 0) user_address = v;
		else if (strcmp(o, "--spam") == 0) { d.spam_tested = true; d.spam_score = (unsigned)atoi(v); }
		else if (strcmp(o, "--spam-percent") == 0) { d.spam_tested = true; d.spam_percent = (unsigned)atoi(v); }
		else if (strcmp(o, "--now") == 0) d.now = (time_t)atoll(v);
		else {
			fprintf(stderr, "sieve-plan: unknown option %s\n", o);
			return 2;
		}
	}
	struct sieve_settings set;
	struct loft_config *cfg = NULL;
	struct store *store = NULL;
	struct store_user *user = NULL;
	struct relay *relay = NULL;
	if (config != NULL) {
		if (store_config_open(config, false, &cfg, &store) < 0)
			return 1;
		sieve_config_settings(cfg, &set);
		struct relay_settings rs;
		relay_config_settings(cfg, &rs);
		relay = relay_create(&rs);
		set.outbox.send = relay_outbox_send;
		set.outbox.ctx = relay;
	} else {
		memset(&set, 0, sizeof(set));
		sieve_limits_default(&set.limits);
		set.hostname = "sieve-plan.example";
		set.cache_size = 16;
	}
	struct sieve_env *env = sieve_env_create(&set);
	int code = 0;
	struct sieve_script *script = NULL;
	const char *compile = check != NULL ? check : script_file;
	if (compile != NULL) {
		size_t len;
		char *text = read_file(compile, &len);
		if (text == NULL) {
			fprintf(stderr, "sieve-plan: %s: %s\n", compile, strerror(errno));
			return 1;
		}
		char *err = NULL;
		const char *base = strrchr(compile, '/');
		int r = sieve_compile(sieve_env_limits(env), base ? base + 1 : compile, text, len,
				      &script, &err);
		free(text);
		if (r != 0) {
			printf("compile-error %s\n", err ? err : sieve_strerror(r));
			free(err);
			code = 1;
			goto out;
		}
		if (check != NULL)
			goto out;
	}
	if (user_name != NULL) {
		if (store == NULL || store_user_open(store, user_name, &user) != STORE_OK) {
			fprintf(stderr, "sieve-plan: cannot open user %s\n", user_name);
			code = 1;
			goto out;
		}
	}
	for (; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			fprintf(stderr, "sieve-plan: %s: %s\n", argv[i], strerror(errno));
			code = 1;
			continue;
		}
		d.user = user;
		d.user_address = user_address != NULL ? user_address : to;
		d.mail_from = from;
		d.rcpt_to = to;
		d.fd = fd;
		d.size = (uint64_t)st.st_size;
		d.compiled = script;
		struct sieve_plan *p = NULL;
		(void)sieve_deliver_plan(env, &d, &p);
		printf("#FILE %s\n", argv[i]);
		print_plan(p);
		if (do_apply && user != NULL) {
			bool stored = apply(user, p, fd, d.size);
			int failed = sieve_plan_finish(env, &d, p, stored, false);
			if (!stored || failed > 0)
				code = 1;
		}
		sieve_plan_free(&p);
		close(fd);
	}
out:
	sieve_script_unref(&script);
	sieve_env_free(&env);
	store_user_close(&user);
	relay_free(&relay);
	if (store != NULL)
		store_destroy(&store);
	if (cfg != NULL)
		conf_free(cfg);
	return code;
}
