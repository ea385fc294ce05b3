/* What rspamd answered, read from the JSON body of a /checkv2 reply (the
 * action, score, required score, the symbols and the SMTP message) or of a
 * controller reply (/learnspam, /learnham: success or error). The reader
 * keeps only those members, bounded (SPAM_RESULT_SYMBOLS_MAX symbols with
 * the highest scores, names cut to SPAM_SYMBOL_NAME_MAX), and checks that a
 * check reply has an action and a score of the right types. Pure code over
 * the streaming JSON reader: fed the body in chunks of any size. */
#ifndef LOFT_SPAM_RESULT_H
#define LOFT_SPAM_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/spam/json.h"

/* rspamd's actions, mildest first (the order is stored in the index as
 * struct store_spam.action: never renumber). */
enum spam_action {
	SPAM_ACTION_NONE = 0,        /* "no action" */
	SPAM_ACTION_GREYLIST = 1,    /* "greylist" */
	SPAM_ACTION_ADD_HEADER = 2,  /* "add header" */
	SPAM_ACTION_REWRITE_SUBJECT = 3, /* "rewrite subject" */
	SPAM_ACTION_SOFT_REJECT = 4, /* "soft reject" */
	SPAM_ACTION_REJECT = 5,      /* "reject" */
	SPAM_ACTION_UNKNOWN = 6,     /* a custom action: treated as none */
};
#define SPAM_ACTIONS 7
const char *spam_action_name(enum spam_action a);

#define SPAM_RESULT_SYMBOLS_MAX 32
#define SPAM_SYMBOL_NAME_MAX 64
#define SPAM_MESSAGE_MAX 200

struct spam_symbol {
	char name[SPAM_SYMBOL_NAME_MAX + 1];
	double score;
};

struct spam_result {
	enum spam_action action;
	char action_text[32];        /* as rspamd named it (custom actions) */
	double score, required;
	bool has_action, has_score, has_required;
	bool skipped;                /* "is_skipped": rspamd did not scan */
	/* the symbols with the largest scores, in reply order */
	struct spam_symbol symbols[SPAM_RESULT_SYMBOLS_MAX];
	unsigned n_symbols;
	unsigned symbols_seen;       /* all symbols in the reply */
	char smtp_message[SPAM_MESSAGE_MAX + 1]; /* messages.smtp_message, printable ASCII */
	/* controller replies */
	bool success;                /* "success": true */
	char error[SPAM_MESSAGE_MAX + 1]; /* "error", printable ASCII */
};

/* The JSON reader with what it fills. */
struct spam_result_reader {
	struct spam_json json;
	struct spam_result *res;
	/* where the reader is: the top-level key, and inside symbols */
	int top;                     /* enum of the top-level member being read */
	int sym_member;              /* inside a symbol: which member */
	bool sym_has_score;          /* the symbol being read had its score */
	double sym_score;
	char sym_name[SPAM_SYMBOL_NAME_MAX + 1];
};

void spam_result_reader_init(struct spam_result_reader *r, struct spam_result *res);
/* Returns 0 or a SPAM_JSON_* error. */
int spam_result_feed(struct spam_result_reader *r, const void *data, size_t len);
/* The body ended. For a check reply (check = true) an action and a score
 * are required (SPAM_JSON_ESTOPPED otherwise). */
int spam_result_finish(struct spam_result_reader *r, bool check);

/* Copy printable ASCII of s (len bytes) into out (cap bytes, NUL
 * terminated): anything else becomes '?', so rspamd's text can go into a
 * log line or an SMTP reply. */
void spam_printable(char *out, size_t cap, const char *s, size_t len);

#endif
