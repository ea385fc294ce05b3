/* Base64 as RFC 4648 section 4 defines it: encoding with padding and a
 * strict decoder that refuses stray characters, misplaced or excess padding
 * and non-zero unused bits, so every byte string has one accepted form. */
#include "lib/base64.h"

#include <stdint.h>

#include "lib/xmem.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

char *base64_encode_str(const void *in, size_t len)
{
	char *out = xmalloc(BASE64_ENCODED_LEN(len) + 1);
	base64_encode(in, len, out);
	return out;
}

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long base64_decode(const char *in, size_t len, void *out, size_t out_size,
		   bool require_pad)
{
	unsigned char *o = out;
	size_t data = len;
	while (data > 0 && in[data - 1] == '=')
		data--;
	size_t pad = len - data;
	if (pad > 2 || data % 4 == 1)
		return -1;
	if (pad > 0 && (data + pad) % 4 != 0)
		return -1;          /* wrong amount of padding */
	if (require_pad && len % 4 != 0)
		return -1;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < data; i++) {
		int v = value_of((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= out_size)
				return -1;
			o[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* The bits left over must be zero: "QQ==" is "A", "QR==" is not. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)n;
}
