/* Allocation helpers. Out of memory is not survivable for a mail server in a
 * consistent way, so x* allocators abort with a log line instead of returning
 * NULL; x_free() frees and clears the caller's pointer. */
#ifndef LOFT_LIB_XMEM_H
#define LOFT_LIB_XMEM_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Free *pp and set it to NULL. */
#define x_free(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

/* Overwrite a secret (password, key) so the compiler cannot elide it. */
void x_wipe(void *p, size_t len);

#endif
