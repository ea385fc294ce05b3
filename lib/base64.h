/* Standard base64 (RFC 4648 section 4, "+/" alphabet) encoding and strict
 * decoding, shared by the password schemes and the SASL mechanisms. Strict
 * means: only alphabet characters, '=' padding only at the end and only as
 * much as the length calls for, unused trailing bits zero. */
#ifndef LOFT_LIB_BASE64_H
#define LOFT_LIB_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters base64_encode() writes for len bytes, without the NUL. */
#define BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)
/* Bytes base64_decode() may write for len characters (an upper bound). */
#define BASE64_DECODED_MAX(len) (((len) / 4 + 1) * 3)

/* Encode len bytes of in into out (room for BASE64_ENCODED_LEN(len) + 1),
 * padded with '=' and NUL-terminated. Returns the length written. */
size_t base64_encode(const void *in, size_t len, char *out);

/* Heap string holding the encoding of in; caller frees. */
char *base64_encode_str(const void *in, size_t len);

/* Decode len characters of in into out (room for out_size bytes). Padding is
 * required when require_pad, else optional (but never wrong). Returns the
 * number of bytes written, or -1 for anything that is not canonical base64
 * or does not fit. out may hold a secret: the caller wipes it. */
long base64_decode(const char *in, size_t len, void *out, size_t out_size,
		   bool require_pad);

#endif
