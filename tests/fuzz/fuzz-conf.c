/* libFuzzer target for the configuration parser: any bytes are loaded with
 * conf_load_string (as if they were a file in the working directory) and
 * whatever was built is freed. Loading must never crash, leak or hang, and
 * a failure reports one "file:line: ..." message per line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load_string("fuzz.conf", text, &cfg, &err) == 0) {
		/* exercise the helpers that walk a loaded config */
		char *reload_err = NULL;
		if (conf_check_reload(cfg, cfg, &reload_err) != 0)
			abort();
		conf_free(cfg);
	} else if (err == NULL || err[0] == '\0') {
		abort();
	} else {
		/* one error per line, each naming where: "<file>[:line]: ..." */
		for (const char *line = err; line != NULL; line = strchr(line, '\n')) {
			line += line[0] == '\n';
			if (line[0] != '/' || strstr(line, ": ") == NULL)
				abort();
		}
	}
	free(err);
	free(text);
	return 0;
}
