/* The directory part of a path (see path.h): one definition for the config
 * loader's relative includes, the users file's atomic rewrite and the
 * Maildir's directory fsyncs. */
#include "lib/path.h"

#include <string.h>

#include "lib/xmem.h"

char *path_dir_of(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	if (len == 0)
		return xstrdup(".");
	while (len > 1 && path[len - 1] == '/')
		len--;
	return xstrndup(path, len);
}
