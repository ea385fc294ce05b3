/* `loft index check USER` and `loft index rebuild USER`: maintenance of a
 * user's LMDB index against the Maildir. check prints one problem per line on
 * stdout and exits 0 when consistent, 1 when problems were found, 2 on usage
 * or operational errors (the summary goes to stderr). rebuild shows a progress
 * bar when stderr is a terminal, otherwise one summary line at the end. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/cli/cli.h"
#include "server/store-config.h"
#include "lib/xmem.h"

#define INDEX_BAR_WIDTH 40

struct index_progress {
	bool tty;
	size_t total;
	int last_permille;
	struct timespec last;
};

static void index_usage(FILE *out)
{
	fprintf(out, "usage: loft [-c FILE] index check USER\n"
			"       loft [-c FILE] index rebuild USER\n");
}

static double index_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int index_check(struct store *store, const char *user)
{
	struct store_check_report report = { 0 };
	int ret = store_index_check(store, user, &report);
	if (ret < 0) {
		fprintf(stderr, "loft index check: user %s: %s\n", user, store_strerror(ret));
		return 2;
	}
	for (size_t i = 0; i < report.n_lines; i++)
		printf("%s\n", report.lines[i]);
	if (report.problems > report.n_lines)
		printf("%zu more problems not listed\n", report.problems - report.n_lines);
	fflush(stdout);
	if (report.problems == 0)
		fprintf(stderr, "%s: consistent (%zu mailboxes, %zu messages)\n",
			user, report.mailboxes, report.messages);
	else
		fprintf(stderr, "%s: %zu problems (%zu mailboxes, %zu messages)\n",
			user, report.problems, report.mailboxes, report.messages);
	int code = report.problems == 0 ? 0 : 1;
	store_check_report_free(&report);
	return code;
}

static void index_progress_cb(size_t done, size_t total, void *ctx)
{
	struct index_progress *p = ctx;
	p->total = total;
	if (!p->tty || total == 0)
		return;
	int permille = (int)(done * 1000 / total);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double since = (double)(now.tv_sec - p->last.tv_sec) +
		       (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
	if (done != total && (permille == p->last_permille || since < 0.1))
		return;
	p->last_permille = permille;
	p->last = now;
	int fill = (int)(done * INDEX_BAR_WIDTH / total);
	char bar[INDEX_BAR_WIDTH + 1];
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(INDEX_BAR_WIDTH - fill));
	bar[INDEX_BAR_WIDTH] = '\0';
	fprintf(stderr, "\r[%s] %5.1f%% %zu/%zu messages", bar, permille / 10.0, done, total);
	fflush(stderr);
}

/* Count what the rebuilt index holds, for the summary line. */
static void index_count(struct store *store, const char *name, size_t *mailboxes_r,
			uint64_t *messages_r)
{
	struct store_user *user = NULL;
	struct store_mailbox_info *list = NULL;
	size_t count = 0;

	*mailboxes_r = 0;
	*messages_r = 0;
	if (store_user_open(store, name, &user) < 0)
		return;
	if (store_mailbox_list(user, &list, &count) == 0) {
		*mailboxes_r = count;
		for (size_t i = 0; i < count; i++) {
			struct store_status st;
			if (store_status(user, list[i].name, &st) == 0)
				*messages_r += st.messages;
		}
		store_mailbox_list_free(list, count);
	}
	store_user_close(&user);
}

static int index_rebuild(struct store *store, const char *user)
{
	struct index_progress progress = { .tty = isatty(STDERR_FILENO) == 1,
					   .last_permille = -1 };
	double start = index_now();
	int ret = store_index_rebuild(store, user, index_progress_cb, &progress);
	if (progress.tty && progress.total > 0)
		fputc('\n', stderr);
	if (ret < 0) {
		fprintf(stderr, "loft index rebuild: user %s: %s\n", user, store_strerror(ret));
		return 2;
	}
	size_t mailboxes;
	uint64_t messages;
	index_count(store, user, &mailboxes, &messages);
	fprintf(stderr, "%s: index rebuilt (%zu mailboxes, %llu messages) in %.1f s\n",
		user, mailboxes, (unsigned long long)messages, index_now() - start);
	return 0;
}

int cli_index(const struct cli_ctx *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			index_usage(stdout);
			return 0;
		}
	}
	if (argc != 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "rebuild") != 0)) {
		index_usage(stderr);
		return 2;
	}
	struct loft_config *cfg = NULL;
	struct store *store = NULL;
	if (store_config_open(cli->config_path, false, &cfg, &store) < 0)
		return 2;
	int code = strcmp(argv[1], "check") == 0 ? index_check(store, argv[2])
						 : index_rebuild(store, argv[2]);
	store_destroy(&store);
	conf_free(cfg);
	return code;
}
