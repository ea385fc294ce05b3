/* Entry point of the `loft` binary: global options and subcommand dispatch,
 * in the style of git/doveadm. Each subcommand lives in server/cli/<name>.c. */
#include <stdio.h>
#include <string.h>

#include "conf/config.h"
#include "server/cli/cli.h"

struct subcommand {
	const char *name;
	int (*run)(const struct cli_ctx *cli, int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "serve", cli_serve, "run the server (--check-config: validate and exit)" },
	{ "demo", cli_demo, "DIR [--port-base N] [--user NAME --password PW]: demo setup and serve" },
	{ "deliver", cli_deliver, "-u USER [-m MAILBOX]: deliver a message from stdin" },
	{ "index", cli_index, "check|rebuild USER: verify or rebuild a user's index" },
	{ "user", cli_user, "add|passwd|del|list|show|test|hash|app-password: users" },
	{ "config", cli_config, "doc|example|check: settings reference, example file, validate -c FILE" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: loft [-c FILE] COMMAND [ARGS]\n"
		     "       loft --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n-c FILE  configuration file (default %s)\n", LOFT_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	struct cli_ctx cli = { .config_path = LOFT_DEFAULT_CONFIG, .argv0 = argv[0] };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			cli.config_path = argv[++i];
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("loft %s\n", LOFT_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "loft: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++)
		if (strcmp(argv[i], subcommands[k].name) == 0)
			return subcommands[k].run(&cli, argc - i, argv + i);
	fprintf(stderr, "loft: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
