/* The IMAP command parser: turns the client's byte stream into commands
 * (tag, name, argument tree of atoms, quoted strings, literals and lists).
 * It is handed bytes and never reads; all progress lives in the parser, so
 * any split of the input gives the same commands and errors. Literals are
 * {n} (synchronizing: the caller sends the continuation) and {n+}; every
 * limit (line, literal, depth, argument count) is a setting, and input over
 * a limit is reported as an error without being buffered. */
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
	char *str;                 /* NUL-terminated (not for LIST) */
	size_t len;                /* bytes in str (a literal may hold NULs) */
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

/* Helpers for handlers. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *upper);
/* Atom, quoted or literal: its text. */
const char *imap_arg_string(const struct imap_arg *a);

#endif
