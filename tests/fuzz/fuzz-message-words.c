/* libFuzzer target for the header word decoders of storage/message/: RFC 2047
 * encoded words, RFC 2231 parameter values, MIME parameter lists with
 * continuations, address lists and charset conversion. Whatever the input,
 * the output is valid UTF-8 and nothing reads or writes out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "storage/message/msg-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const struct msg_buf *b)
{
	const unsigned char *p = (const unsigned char *)b->data;
	size_t i = 0;
	while (i < b->len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		unsigned char tmp[5] = { 0 };
		size_t avail = b->len - i < 4 ? b->len - i : 4;
		memcpy(tmp, p + i, avail);
		uint32_t cp;
		size_t n = utf8_decode(tmp, &cp);
		if (n == 0 || n > avail)
			abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct msg_buf out = { 0 };

	msg_rfc2047_decode(in, size, &out);
	check_utf8(&out);

	struct msg_param param;
	const char *eq = memchr(in, '=', size);
	size_t klen = eq != NULL ? (size_t)(eq - in) : 0;
	param.name.data = in;
	param.name.len = (uint32_t)klen;
	param.value.data = eq != NULL ? eq + 1 : in;
	param.value.len = (uint32_t)(eq != NULL ? size - klen - 1 : size);
	out.len = 0;
	msg_rfc2231_decode(&param, &out);
	check_utf8(&out);

	struct msg_arena *a = msg_arena_new();
	struct msg_lex l;
	struct msg_param *params;
	uint32_t n;
	msg_lex_init(&l, data, size);
	msg_params_parse(&l, a, &params, &n);
	for (uint32_t i = 0; i < n; i++) {
		out.len = 0;
		msg_rfc2231_decode(&params[i], &out);
		check_utf8(&out);
	}
	struct msg_addr_list list = { 0 };
	msg_addr_parse(in, size, a, &list);
	msg_addr_parse(in, size, a, &list);   /* a repeated field appends */
	struct msg_ctype_info ci = { 0 };
	msg_ctype_classify(in, size, &ci);
	if (ci.boundary.len > MSG_BOUNDARY_MAX)
		abort();
	msg_buf_free(&ci.boundary);
	msg_arena_free(a);

	static const char *const charsets[] = { "iso-8859-1", "utf-8", "iso-2022-jp", "koi8-r", "x-bogus" };
	out.len = 0;
	msg_charset_to_utf8(charsets[size % 5], strlen(charsets[size % 5]), data, size, &out);
	check_utf8(&out);
	msg_buf_free(&out);
	return 0;
}
