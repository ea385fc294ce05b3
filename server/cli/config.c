/* `loft config`: prints the settings reference (`doc`, the contents of
 * docs/CONFIG.md), the complete example configuration (`example`, the
 * contents of conf/loft.conf), or validates a configuration (`check`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "server/cli/cli.h"
#include "server/imap/client-rules.h"

static void config_usage(FILE *out)
{
	fprintf(out, "usage: loft config doc       print the settings reference (Markdown)\n"
		     "       loft config example   print an example loft.conf with every default\n"
		     "       loft config check     load the configuration (-c FILE) and check "
		     "its files\n");
}

static int config_check(const struct cli_ctx *cli)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(cli->config_path, &cfg, &err) < 0 || conf_check_files(cfg, &err) < 0 ||
	    imap_client_rules_check(cfg, &err) < 0) {
		conf_print_errors(stderr, "loft: ", err, "cannot load configuration");
		free(err);
		conf_free(cfg);
		return 1;
	}
	printf("%s: configuration is valid (%zu listener%s)\n", cfg->path, cfg->n_listeners,
	       cfg->n_listeners == 1 ? "" : "s");
	conf_free(cfg);
	return 0;
}

int cli_config(const struct cli_ctx *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			config_usage(stdout);
			return 0;
		}
	}
	if (argc != 2) {
		config_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "doc") == 0) {
		fflush(stdout);
		conf_write_doc(STDOUT_FILENO, false);
		return 0;
	}
	if (strcmp(argv[1], "example") == 0) {
		fflush(stdout);
		conf_write_doc(STDOUT_FILENO, true);
		return 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return config_check(cli);
	fprintf(stderr, "loft config: unknown subcommand '%s'\n", argv[1]);
	config_usage(stderr);
	return 2;
}
