/* The `loft` subcommands. main.c parses the global options (-c FILE,
 * --version, --help) and hands the rest of argv to one of these; each lives in
 * server/cmd-<name>.c and returns the process exit code. */
#ifndef LOFT_SERVER_CLI_H
#define LOFT_SERVER_CLI_H

struct cli_ctx {
	const char *config_path;  /* -c FILE or LOFT_DEFAULT_CONFIG */
	const char *argv0;
};

int cmd_serve(const struct cli_ctx *cli, int argc, char **argv);   /* cmd-serve.c */
int cmd_demo(const struct cli_ctx *cli, int argc, char **argv);    /* cmd-demo.c */
int cmd_deliver(const struct cli_ctx *cli, int argc, char **argv); /* cmd-deliver.c */
int cmd_index(const struct cli_ctx *cli, int argc, char **argv);   /* cmd-index.c */
int cmd_user(const struct cli_ctx *cli, int argc, char **argv);    /* cmd-user.c */
int cmd_config(const struct cli_ctx *cli, int argc, char **argv);  /* cmd-config.c */

#endif
