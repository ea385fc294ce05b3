/* The ManageSieve (RFC 5804 4) command tokenizer: one line of a command
 * (without its CRLF) into atoms and strings. A line may end in a literal
 * announcement "{n+}" (or "{n}"), after which the command's next n bytes are
 * a string and the command continues on the line that follows; the session
 * assembles the pieces (session.c). Pure: no I/O, never reads past len. */
#ifndef LOFT_MANAGESIEVE_PARSE_H
#define LOFT_MANAGESIEVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_MAX_ARGS 8

enum ms_arg_type { MS_ARG_ATOM = 1, MS_ARG_STRING, MS_ARG_NUMBER };

struct ms_arg {
	enum ms_arg_type type;
	char *data;              /* heap, NUL-terminated (strings may hold NUL) */
	size_t len;
	uint64_t num;            /* MS_ARG_NUMBER */
};

struct ms_args {
	struct ms_arg v[MS_MAX_ARGS];
	unsigned n;
};

enum ms_parse_result {
	MS_PARSE_DONE = 0,       /* the command is complete */
	MS_PARSE_LITERAL,        /* a literal of *literal_r bytes follows */
	MS_PARSE_ERROR,          /* *err_r says what (static text) */
};

/* Tokenize line into args (appending to what earlier lines of the same
 * command gave). continuation: this line follows a literal (it may be
 * empty, or start with a space). */
enum ms_parse_result ms_parse_line(const char *line, size_t len, bool continuation,
				   struct ms_args *args, uint64_t *literal_r, const char **err_r);
/* Append a literal's bytes as a string argument (takes data, heap). */
bool ms_args_push_literal(struct ms_args *args, char *data, size_t len);
void ms_args_clear(struct ms_args *args);

/* Append s as a ManageSieve string: quoted when it can be, else a literal
 * "{n}\r\n..." (what the server sends). */
struct msg_buf;
void ms_put_string(struct msg_buf *out, const char *s, size_t len);

#endif
