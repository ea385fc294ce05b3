/* libFuzzer target for modified UTF-7 (storage/mailbox-name.c): any input
 * that decodes must be the canonical encoding of what it decodes to, so
 * encoding the result gives the input back byte for byte; and any UTF-8
 * that encodes must decode back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "lib/mutf7.h"
#include "storage/mailbox-name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = xstrndup((const char *)data, size);

	char *utf8 = mutf7_to_utf8(input);
	if (utf8 != NULL) {
		char *back = utf8_to_mutf7(utf8);
		if (back == NULL || strcmp(back, input) != 0)
			abort();
		free(back);
		free(utf8);
	}

	/* The same bytes as UTF-8 input to the encoder. */
	char *mutf7 = utf8_to_mutf7(input);
	if (mutf7 != NULL) {
		for (const char *p = mutf7; *p != '\0'; p++) {
			if (*p < 0x20 || *p > 0x7e)
				abort();
		}
		char *again = mutf7_to_utf8(mutf7);
		if (again == NULL || strcmp(again, input) != 0)
			abort();
		free(again);
		free(mutf7);
	}
	free(input);
	return 0;
}
