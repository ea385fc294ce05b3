/* `loft [-c FILE] serve [--check-config]`: run the server in the foreground,
 * or only validate the configuration and its files. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/cli/cli.h"
#include "server/server.h"

int cli_serve(const struct cli_ctx *cli, int argc, char **argv)
{
	bool check_only = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check-config") == 0 || strcmp(argv[i], "-n") == 0) {
			check_only = true;
		} else if (cli_is_help(argv[i])) {
			printf("usage: loft [-c FILE] serve [--check-config]\n"
			       "Run the server in the foreground until SIGTERM/SIGINT;\n"
			       "SIGHUP reloads the configuration and certificates.\n"
			       "--check-config  validate FILE and the files it names, then exit\n");
			return 0;
		} else {
			fprintf(stderr, "loft serve: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	return server_main(cli->config_path, check_only);
}
