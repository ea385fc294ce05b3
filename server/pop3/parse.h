/* The POP3 command-line parser (RFC 1939 3, RFC 2449 4): one line, as the
 * connection's line reader hands it over (CRLF removed), split into an
 * upper-cased keyword and its arguments. Pure functions over the given
 * bytes: they never read past len and keep no state, so the line reader's
 * own split-point guarantees carry over. Fuzzed by tests/fuzz/fuzz-pop3.c. */
#ifndef LOFT_POP3_PARSE_H
#define LOFT_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_KEYWORD_MAX 4     /* RFC 1939 3: keywords are 3 or 4 characters */
#define POP3_MAX_ARGS 2        /* TOP msg n */
#define POP3_ARG_MAX 255       /* RFC 2449 4: a command line is at most 255 octets */

enum pop3_parse_result {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,          /* nothing but spaces */
	POP3_PARSE_BAD_KEYWORD,    /* not 3-4 letters */
	POP3_PARSE_BAD_CHAR,       /* NUL or another control character */
};

struct pop3_cmdline {
	char keyword[POP3_KEYWORD_MAX + 1]; /* upper case */
	/* Everything after the keyword and one space, unsplit (PASS takes it
	 * whole: a password may contain spaces, RFC 1939 7). Points into the
	 * line. */
	const char *rest;
	size_t rest_len;
	/* The space-separated arguments (runs of spaces count as one). */
	const char *args[POP3_MAX_ARGS];
	size_t arg_len[POP3_MAX_ARGS];
	unsigned n_args;
	bool too_many_args;        /* more than POP3_MAX_ARGS */
};

enum pop3_parse_result pop3_parse_line(const char *line, size_t len, struct pop3_cmdline *cmd_r);

/* A message number or line count: 1-10 decimal digits without sign, value
 * <= max. False for anything else (empty, "+1", "1x", overflow). */
bool pop3_parse_number(const char *s, size_t len, uint32_t max, uint32_t *value_r);

#endif
