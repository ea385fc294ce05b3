/* The IMAP command parser: turns the client's byte stream into commands
 * (tag, name, argument tree of atoms, quoted strings, literals and lists).
 * It is handed bytes and never reads; all progress lives in the parser, so
 * any split of the input gives the same commands and errors. Literals are
 * {n} (synchronizing: the caller sends the continuation), {n+} and
 * literal8 ~{n} (RFC 3516); every limit (line, literal, literal bytes per
 * command, depth, argument count) is a setting, and input over a limit is
 * reported as an error without being buffered.
 *
 * Literals of chosen commands (APPEND's message) can be streamed instead of
 * buffered: the parser stops at the announcement (IMAP_PARSE_LITERAL), the
 * caller decides (buffer, stream or refuse), and a streamed literal comes
 * out as IMAP_PARSE_LITERAL_DATA chunks that point into the caller's input,
 * so a 50 MB message never sits in the parser. The command then completes
 * as usual with a placeholder argument (streamed = true) in its place. */
#ifndef LOFT_IMAP_PARSER_H
#define LOFT_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* includes NIL, numbers, sequence sets, flags and
			    * section atoms like BODY[HEADER.FIELDS (A B)]<0.9> */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	char *str;                 /* NUL-terminated (not for LIST); NULL for a
				    * streamed literal */
	size_t len;                /* bytes in str (a literal may hold NULs);
				    * a streamed literal's size */
	bool literal8;             /* ~{n} (RFC 3516) */
	bool streamed;             /* its bytes went out as LITERAL_DATA */
	struct imap_arg *list;     /* IMAP_ARG_LIST members */
	size_t list_count;
};

struct imap_command {
	char *tag;
	char *name;                /* upper-cased */
	struct imap_arg *args;
	size_t n_args;
};

struct imap_parser_limits {
	size_t max_line;           /* longest line, CRLF excluded */
	size_t max_literal;        /* longest literal kept in memory */
	size_t max_literal_total;  /* buffered literal bytes per command; 0 = no
				    * limit beyond max_literal each */
	unsigned max_depth;        /* list nesting */
	unsigned max_args;         /* arguments in one command, all levels */
};

enum imap_parse_result {
	IMAP_PARSE_NEED_MORE = 0,  /* all of the input was consumed */
	IMAP_PARSE_COMMAND,        /* imap_parser_command() is complete */
	IMAP_PARSE_CONTINUE,       /* a synchronizing literal was accepted:
				    * send "+ ..." and feed the literal */
	IMAP_PARSE_ERROR,          /* imap_parser_error() says what to answer;
				    * the command is dropped */
	IMAP_PARSE_LITERAL,        /* a literal of a streaming command was
				    * announced: see imap_parser_literal_info()
				    * and decide before feeding again */
	IMAP_PARSE_LITERAL_DATA,   /* imap_parser_literal_chunk() has the next
				    * bytes of a streamed literal */
};

enum imap_error_kind { IMAP_ERROR_BAD, IMAP_ERROR_NO };

struct imap_parse_error {
	const char *tag;           /* NULL: answer untagged "* BAD" */
	enum imap_error_kind kind;
	const char *code;          /* response code ("TOOBIG") or NULL */
	const char *text;
	bool line_too_long;
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim);
void imap_parser_free(struct imap_parser **p);
/* New limits apply from the next command. */
void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *lim);
const struct imap_parser_limits *imap_parser_get_limits(const struct imap_parser *p);

/* Parse from data[0..len); *consumed_r bytes were used (the caller drops
 * them and passes the rest, plus new input, next time). Returns at most one
 * event per call. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data,
					size_t len, size_t *consumed_r);

/* Valid after IMAP_PARSE_COMMAND until the next feed. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* Valid after IMAP_PARSE_ERROR until the next feed. */
const struct imap_parse_error *imap_parser_error(const struct imap_parser *p);
/* Whether the parser is inside a command (after its first line). */
bool imap_parser_in_command(const struct imap_parser *p);

/* ---- raw lines ---- */

/* A command that goes on with bare lines after its command line (the client
 * responses of AUTHENTICATE, RFC 9051 6.2.2) takes them through the
 * parser's own line reader, so the line limit, CR/LF handling and the
 * dropping of an overlong line are the same as for commands, and command
 * parsing resumes exactly after the last raw line. */
enum imap_line_result {
	IMAP_LINE_NEED_MORE = 0,   /* all of the input was consumed */
	IMAP_LINE_DONE,            /* *line_r / *line_len_r: the line, no EOL */
	IMAP_LINE_TOO_LONG,        /* over the line limit: reported once; the
				    * rest of it is dropped by the next
				    * read_line or feed */
};
/* Only between commands (after IMAP_PARSE_COMMAND, not inside a command).
 * Same contract as imap_parser_feed for data and *consumed_r; the line
 * points into data. */
enum imap_line_result imap_parser_read_line(struct imap_parser *p, const char *data,
					    size_t len, const char **line_r,
					    size_t *line_len_r, size_t *consumed_r);

/* ---- streamed literals ---- */

/* Which commands' literals are offered for streaming (e.g. APPEND). */
typedef bool imap_parser_stream_filter(const char *command_name, void *ctx);
void imap_parser_set_stream_filter(struct imap_parser *p, imap_parser_stream_filter *fn,
				   void *ctx);

struct imap_literal_info {
	size_t size;
	bool sync;                 /* {n}: the client waits for "+" */
	bool literal8;
	const struct imap_command *partial; /* tag, name and the top-level
				    * arguments so far (lists still open at
				    * this point are not in it) */
	unsigned depth;            /* lists open around the literal */
	const struct imap_arg *siblings; /* items before it in its list */
	size_t n_siblings;
};
/* Valid after IMAP_PARSE_LITERAL until the decision. */
const struct imap_literal_info *imap_parser_literal_info(const struct imap_parser *p);
/* Decisions (exactly one, before the next feed). For a sync literal the
 * caller sends the "+" continuation itself after buffer or stream. */
/* Parse it into memory like any literal (limits apply: an over-size one is
 * reported by the next feed as an error). */
void imap_parser_literal_buffer(struct imap_parser *p);
/* Whether a literal's bytes are being buffered (after
 * imap_parser_literal_buffer: false when it was refused as too big). */
bool imap_parser_buffering(const struct imap_parser *p);
/* Hand its bytes out as IMAP_PARSE_LITERAL_DATA. */
void imap_parser_literal_stream(struct imap_parser *p);
/* Fail the command: the next feed reports this error (a {n+} literal's
 * bytes and the rest of the command are skipped first, unbuffered). */
void imap_parser_literal_refuse(struct imap_parser *p, enum imap_error_kind kind,
				const char *code, const char *text);
/* After IMAP_PARSE_LITERAL_DATA: the chunk (pointing into the data given to
 * the feed; counted in its *consumed_r) and whether it was the last. A
 * caller that can take only part of the input feeds only that part. */
void imap_parser_literal_chunk(const struct imap_parser *p, const char **data_r,
			       size_t *len_r, bool *last_r);

/* Whether the parser is handing out a streamed literal's bytes (the caller
 * may limit how much it feeds to what its sink can take). */
bool imap_parser_streaming(const struct imap_parser *p);

/* Helpers for handlers. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *upper);
/* Atom, quoted or literal: its text. */
const char *imap_arg_string(const struct imap_arg *a);

#endif
