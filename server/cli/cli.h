/* The `loft` subcommands. main.c parses the global options (-c FILE,
 * --version, --help) and hands the rest of argv to one of these; each lives in
 * server/cli/<name>.c and returns the process exit code. */
#ifndef LOFT_CLI_CLI_H
#define LOFT_CLI_CLI_H

#include <stdbool.h>
#include <string.h>

struct cli_ctx {
	const char *config_path;  /* -c FILE or LOFT_DEFAULT_CONFIG */
	const char *argv0;
};

/* Every subcommand answers --help or -h, wherever it stands among the
 * options, with its usage on stdout and exit status 0. */
static inline bool cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_serve(const struct cli_ctx *cli, int argc, char **argv);   /* serve.c */
int cli_demo(const struct cli_ctx *cli, int argc, char **argv);    /* demo.c */
int cli_deliver(const struct cli_ctx *cli, int argc, char **argv); /* deliver.c */
int cli_index(const struct cli_ctx *cli, int argc, char **argv);   /* index.c */
int cli_user(const struct cli_ctx *cli, int argc, char **argv);    /* user.c */
int cli_config(const struct cli_ctx *cli, int argc, char **argv);  /* config.c */

#endif
