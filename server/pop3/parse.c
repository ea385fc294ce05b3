/* POP3 command lines: keyword and arguments (see parse.h). */
#include "server/pop3/parse.h"

#include <string.h>

enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_cmdline *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->rest = line + len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 && c != '\t')
			return POP3_PARSE_BAD_CHAR;
		if (c == 0x7f)
			return POP3_PARSE_BAD_CHAR;
	}
	size_t p = 0;
	while (p < len && line[p] == ' ')
		p++;
	if (p == len)
		return POP3_PARSE_EMPTY;
	size_t k = 0;
	while (p + k < len && line[p + k] != ' ')
		k++;
	if (k < 3 || k > POP3_KEYWORD_MAX)
		return POP3_PARSE_BAD_KEYWORD;
	for (size_t i = 0; i < k; i++) {
		char c = line[p + i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c < 'A' || c > 'Z')
			return POP3_PARSE_BAD_KEYWORD;
		cmd->keyword[i] = c;
	}
	p += k;
	if (p < len) {
		cmd->rest = line + p + 1;   /* after exactly one space */
		cmd->rest_len = len - p - 1;
	}
	while (p < len) {
		while (p < len && line[p] == ' ')
			p++;
		if (p == len)
			break;
		size_t a = p;
		while (p < len && line[p] != ' ')
			p++;
		if (cmd->n_args == POP3_MAX_ARGS) {
			cmd->too_many_args = true;
			break;
		}
		cmd->args[cmd->n_args] = line + a;
		cmd->arg_len[cmd->n_args] = p - a;
		cmd->n_args++;
	}
	return POP3_PARSE_OK;
}

bool pop3_parse_number(const char *s, size_t len, uint32_t max, uint32_t *value_r)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*value_r = (uint32_t)v;
	return true;
}
