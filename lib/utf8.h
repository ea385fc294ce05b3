/* Strict UTF-8 decoding and encoding of single code points, shared by
 * mailbox names, modified UTF-7 and (later) header decoding. Strict means
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
#ifndef LOFT_LIB_UTF8_H
#define LOFT_LIB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode one sequence at s, which must be NUL-terminated or hold at least
 * 4 readable bytes (a NUL stops a truncated sequence). Returns its length
 * (1-4) and the code point in *cp_r, or 0 if the bytes are not valid. */
size_t utf8_decode(const unsigned char *s, uint32_t *cp_r);
/* Encode cp (<= U+10FFFF, not a surrogate) into out, which has room for 4
 * bytes; returns the number of bytes written. */
size_t utf8_encode(char *out, uint32_t cp);

#endif
