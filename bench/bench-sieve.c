/* Benchmark of Sieve evaluation (not a test): messages per second through
 * sieve_deliver_plan with a generated 50-rule script (header, address,
 * envelope, exists, size tests with :is/:contains/:matches, variables and
 * imap4flags, and two body tests), against the same messages with an empty
 * script (the plan's own cost: reading the header, the implicit keep), on
 * every message of the shared corpus held in memfds (the disk is not
 * measured). Also prints the compile time of the script and its compiled
 * size. Usage: bench-sieve [CORPUS_DIR] [--rounds N] [--no-body]
 * [--print-script] (prints the 50-rule script and exits: bench-lmtp.py
 * --sieve delivers through it, on Loft and on Dovecot + Pigeonhole). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "server/sieve/sieve.h"
#include "storage/message/message.h"

struct msg {
	int fd;
	uint64_t size;
};

static struct msg *msgs;
static size_t n_msgs, bytes;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			load(path);
			continue;
		}
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 4, ".eml") != 0)
			continue;
		int in = open(path, O_RDONLY);
		char *buf = xmalloc((size_t)st.st_size + 1);
		ssize_t n = read(in, buf, (size_t)st.st_size);
		close(in);
		if (n <= 0) {
			free(buf);
			continue;
		}
		int fd = memfd_create("m", 0);
		if (write(fd, buf, (size_t)n) != n)
			abort();
		free(buf);
		msgs = xrealloc(msgs, (n_msgs + 1) * sizeof(*msgs));
		msgs[n_msgs].fd = fd;
		msgs[n_msgs].size = (uint64_t)n;
		n_msgs++;
		bytes += (size_t)n;
	}
	closedir(d);
}

/* 50 rules in the style of a real user's filters. */
static char *script_50(bool body)
{
	struct msg_buf b = { 0 };
	msg_buf_puts(&b, "require [\"fileinto\", \"imap4flags\", \"variables\", \"envelope\", "
		     "\"body\", \"relational\", \"comparator-i;ascii-numeric\", \"subaddress\"];\n");
	static const char *const lists[] = { "python", "debian", "linux", "postfix", "dovecot" };
	for (int i = 0; i < 10; i++)
		msg_buf_printf(&b, "if header :contains \"list-id\" \"%s-%d\" { fileinto "
			       "\"Lists/%s%d\"; stop; }\n", lists[i % 5], i, lists[i % 5], i);
	for (int i = 0; i < 10; i++)
		msg_buf_printf(&b, "if address :domain :is \"from\" \"example%d.org\" { fileinto "
			       "\"Orgs/%d\"; }\n", i, i);
	for (int i = 0; i < 8; i++)
		msg_buf_printf(&b, "if header :matches \"subject\" \"*[ticket-%d*]*\" { "
			       "set \"t\" \"${2}\"; fileinto \"Tickets/${t}\"; }\n", i);
	for (int i = 0; i < 6; i++)
		msg_buf_printf(&b, "if address :localpart :contains [\"to\", \"cc\"] \"team%d\" { "
			       "addflag \"$Team%d\"; }\n", i, i);
	for (int i = 0; i < 4; i++)
		msg_buf_printf(&b, "if envelope :detail \"to\" \"tag%d\" { fileinto \"Tags/%d\"; }\n",
			       i, i);
	for (int i = 0; i < 4; i++)
		msg_buf_printf(&b, "if exists \"x-spam-level-%d\" { fileinto \"Junk\"; }\n", i);
	msg_buf_puts(&b, "if size :over 5M { addflag \"$Big\"; }\n"
		     "if header :count \"gt\" :comparator \"i;ascii-numeric\" \"received\" \"20\" "
		     "{ addflag \"$Hops\"; }\n"
		     "if anyof (header :contains \"precedence\" \"bulk\", exists \"list-unsubscribe\") "
		     "{ fileinto \"Bulk\"; }\n"
		     "if allof (header :contains \"from\" \"boss\", not header :contains \"subject\" "
		     "\"fyi\") { addflag \"\\\\Flagged\"; }\n"
		     "if header :is \"x-priority\" \"1\" { addflag \"\\\\Flagged\"; }\n"
		     "if header :contains \"subject\" [\"invoice\", \"receipt\", \"order\"] "
		     "{ fileinto \"Shopping\"; }\n");
	if (body)
		msg_buf_puts(&b, "if body :text :contains \"unsubscribe\" { addflag \"$Unsub\"; }\n"
			     "if body :content \"text/html\" :contains \"<table\" { addflag \"$Html\"; }\n");
	else
		msg_buf_puts(&b, "if header :contains \"x-mailer\" \"outlook\" { addflag \"$Ol\"; }\n"
			     "if header :contains \"user-agent\" \"thunderbird\" { addflag \"$Tb\"; }\n");
	msg_buf_putc(&b, '\0');
	return b.data;
}

static double run(struct sieve_env *env, struct sieve_script *s, int rounds, size_t *actions_r)
{
	struct sieve_delivery d;
	memset(&d, 0, sizeof(d));
	d.user_address = "user@example.org";
	d.mail_from = "sender@example.org";
	d.rcpt_to = "user+tag1@example.org";
	d.now = 1600000000;
	d.compiled = s;
	size_t actions = 0;
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n_msgs; i++) {
			d.fd = msgs[i].fd;
			d.size = msgs[i].size;
			struct sieve_plan *p = NULL;
			(void)sieve_deliver_plan(env, &d, &p);
			actions += p->n_actions;
			sieve_plan_free(&p);
		}
	}
	*actions_r = actions;
	return now() - t0;
}

int main(int argc, char **argv)
{
	const char *dir = "tests/corpus/mail";
	int rounds = 5;
	bool body = true, print = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print-script") == 0)
			print = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-body") == 0)
			body = false;
		else
			dir = argv[i];
	}
	if (print) {
		char *text = script_50(body);
		fputs(text, stdout);
		free(text);
		return 0;
	}
	load(dir);
	if (n_msgs == 0) {
		fprintf(stderr, "bench-sieve: no .eml files under %s\n", dir);
		return 1;
	}
	struct sieve_settings set;
	memset(&set, 0, sizeof(set));
	sieve_limits_default(&set.limits);
	set.cache_size = 4;
	struct sieve_env *env = sieve_env_create(&set);
	char *text = script_50(body);
	struct sieve_script *s50 = NULL, *empty = NULL;
	char *err = NULL;
	double t0 = now();
	int compiles = 200;
	for (int i = 0; i < compiles; i++) {
		sieve_script_unref(&s50);
		if (sieve_compile(&set.limits, "bench", text, strlen(text), &s50, &err) != 0) {
			fprintf(stderr, "bench-sieve: %s\n", err);
			return 1;
		}
	}
	double tc = (now() - t0) / compiles;
	sieve_compile(&set.limits, "empty", "", 0, &empty, NULL);
	size_t a50, a0;
	(void)run(env, s50, 1, &a50); /* warm the page cache and allocator */
	double t50 = run(env, s50, rounds, &a50);
	double t0s = run(env, empty, rounds, &a0);
	double n = (double)n_msgs * rounds;
	printf("corpus: %zu messages, %.1f MB; %d rounds; body tests %s\n", n_msgs,
	       (double)bytes / 1e6, rounds, body ? "on" : "off");
	printf("compile 50-rule script (%zu bytes): %.1f us, %zu bytes compiled\n", strlen(text),
	       tc * 1e6, sieve_script_memory(s50));
	printf("%-22s %12s %12s %14s\n", "script", "msgs/s", "us/msg", "actions/msg");
	printf("%-22s %12.0f %12.1f %14.2f\n", "50 rules", n / t50, t50 / n * 1e6, (double)a50 / n);
	printf("%-22s %12.0f %12.1f %14.2f\n", "empty (implicit keep)", n / t0s, t0s / n * 1e6,
	       (double)a0 / n);
	free(text);
	sieve_script_unref(&s50);
	sieve_script_unref(&empty);
	sieve_env_free(&env);
	return 0;
}
