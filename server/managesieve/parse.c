/* ManageSieve command lines (see parse.h): atoms, quoted strings with \"
 * and \\ escapes, numbers, and the literal announcement that may end a
 * line; plus the server's string writer. */
#include "server/managesieve/parse.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmem.h"
#include "storage/message/message.h"

void ms_args_clear(struct ms_args *args)
{
	for (unsigned i = 0; i < args->n; i++)
		free(args->v[i].data);
	memset(args, 0, sizeof(*args));
}

static bool push(struct ms_args *args, enum ms_arg_type type, char *data, size_t len)
{
	if (args->n == MS_MAX_ARGS) {
		free(data);
		return false;
	}
	struct ms_arg *a = &args->v[args->n++];
	a->type = type;
	a->data = data;
	a->len = len;
	a->num = 0;
	if (type == MS_ARG_NUMBER)
		for (size_t i = 0; i < len; i++)
			a->num = a->num * 10 + (uint64_t)(data[i] - '0');
	return true;
}

bool ms_args_push_literal(struct ms_args *args, char *data, size_t len)
{
	return push(args, MS_ARG_STRING, data, len);
}

static bool atom_char(unsigned char c)
{
	/* RFC 5804 4: ATOM-CHAR = any CHAR except atom-specials */
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"' &&
	       c != '\\' && c != '%' && c != '*' && c != ']';
}

enum ms_parse_result ms_parse_line(const char *line, size_t len, bool continuation,
				   struct ms_args *args, uint64_t *literal_r, const char **err_r)
{
	size_t i = 0;
	if (!continuation && args->n == 0 && len == 0) {
		*err_r = "Empty command.";
		return MS_PARSE_ERROR;
	}
	for (;;) {
		if (i == len)
			return MS_PARSE_DONE;
		if (args->n > 0 || continuation) {
			if (line[i] != ' ') {
				*err_r = "Expected a space between arguments.";
				return MS_PARSE_ERROR;
			}
			i++;
			if (i == len) {
				*err_r = "Expected an argument after the space.";
				return MS_PARSE_ERROR;
			}
		}
		continuation = false;
		unsigned char c = (unsigned char)line[i];
		if (c == '"') {
			struct msg_buf b = { 0 };
			i++;
			for (;;) {
				if (i == len) {
					msg_buf_free(&b);
					*err_r = "Unterminated quoted string.";
					return MS_PARSE_ERROR;
				}
				char ch = line[i++];
				if (ch == '"')
					break;
				if (ch == '\\') {
					if (i == len || (line[i] != '"' && line[i] != '\\')) {
						msg_buf_free(&b);
						*err_r = "Invalid escape in a quoted string.";
						return MS_PARSE_ERROR;
					}
					ch = line[i++];
				}
				if (ch == '\0') {
					msg_buf_free(&b);
					*err_r = "NUL in a quoted string.";
					return MS_PARSE_ERROR;
				}
				msg_buf_putc(&b, ch);
			}
			msg_buf_putc(&b, '\0');
			if (!push(args, MS_ARG_STRING, b.data, b.len - 1)) {
				*err_r = "Too many arguments.";
				return MS_PARSE_ERROR;
			}
		} else if (c == '{') {
			size_t j = i + 1;
			uint64_t n = 0;
			size_t digits = 0;
			while (j < len && line[j] >= '0' && line[j] <= '9' && digits < 12) {
				n = n * 10 + (uint64_t)(line[j] - '0');
				j++;
				digits++;
			}
			if (j < len && line[j] == '+')
				j++;
			if (digits == 0 || j >= len || line[j] != '}' || j + 1 != len) {
				*err_r = "Invalid literal (use {N+} at the end of the line).";
				return MS_PARSE_ERROR;
			}
			if (args->n == MS_MAX_ARGS) {
				*err_r = "Too many arguments.";
				return MS_PARSE_ERROR;
			}
			*literal_r = n;
			return MS_PARSE_LITERAL;
		} else if (c >= '0' && c <= '9' && args->n > 0) {
			size_t j = i;
			while (j < len && line[j] >= '0' && line[j] <= '9')
				j++;
			if (j - i > 12 || (j < len && line[j] != ' ')) {
				*err_r = "Invalid number.";
				return MS_PARSE_ERROR;
			}
			if (!push(args, MS_ARG_NUMBER, xstrndup(line + i, j - i), j - i)) {
				*err_r = "Too many arguments.";
				return MS_PARSE_ERROR;
			}
			i = j;
		} else if (atom_char(c)) {
			size_t j = i;
			while (j < len && atom_char((unsigned char)line[j]))
				j++;
			if (j < len && line[j] != ' ') {
				*err_r = "Invalid character in an atom.";
				return MS_PARSE_ERROR;
			}
			if (!push(args, MS_ARG_ATOM, xstrndup(line + i, j - i), j - i)) {
				*err_r = "Too many arguments.";
				return MS_PARSE_ERROR;
			}
			i = j;
		} else {
			*err_r = "Invalid character in the command.";
			return MS_PARSE_ERROR;
		}
	}
}

void ms_put_string(struct msg_buf *out, const char *s, size_t len)
{
	bool quote = len <= 1024;
	for (size_t i = 0; i < len && quote; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			quote = false;
	if (!quote) {
		msg_buf_printf(out, "{%zu}\r\n", len);
		msg_buf_append(out, s, len);
		return;
	}
	msg_buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			msg_buf_putc(out, '\\');
		msg_buf_putc(out, s[i]);
	}
	msg_buf_putc(out, '"');
}
