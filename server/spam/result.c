/* Reading rspamd's JSON replies into struct spam_result (see result.h): a
 * callback of the streaming JSON reader that follows the top-level member
 * being read and, inside "symbols", the symbol and its "score". Members
 * that are not used are skipped whatever their shape; the used ones must
 * have the type rspamd documents, or the reply is refused. */
#include "server/spam/result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[SPAM_ACTIONS] = {
	"no action", "greylist", "add header", "rewrite subject", "soft reject", "reject",
	"unknown",
};

const char *spam_action_name(enum spam_action a)
{
	return (unsigned)a < SPAM_ACTIONS ? action_names[a] : "unknown";
}

enum top {
	T_NONE, T_OTHER, T_ACTION, T_SCORE, T_REQUIRED, T_SKIPPED, T_SYMBOLS, T_MESSAGES,
	T_SUCCESS, T_ERROR,
};

static const struct { const char *key; enum top top; } top_keys[] = {
	{ "action", T_ACTION }, { "score", T_SCORE }, { "required_score", T_REQUIRED },
	{ "is_skipped", T_SKIPPED }, { "symbols", T_SYMBOLS }, { "messages", T_MESSAGES },
	{ "success", T_SUCCESS }, { "error", T_ERROR },
};

enum { M_NONE, M_SCORE, M_SMTP_MESSAGE };

void spam_printable(char *out, size_t cap, const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (cap > 0)
		out[n] = '\0';
}

static int number(const char *text, double *v_r)
{
	char *end;
	double v = strtod(text, &end);
	if (*end != '\0' || !isfinite(v))
		return -1;
	if (v > 1e6)
		v = 1e6;
	if (v < -1e6)
		v = -1e6;
	*v_r = v;
	return 0;
}

static enum spam_action action_of(const char *text)
{
	for (int a = 0; a < SPAM_ACTION_UNKNOWN; a++)
		if (strcmp(text, action_names[a]) == 0)
			return (enum spam_action)a;
	return SPAM_ACTION_UNKNOWN;
}

/* Keep the symbol just read if it is among the largest scores so far. */
static void symbol_done(struct spam_result_reader *r, double score)
{
	struct spam_result *res = r->res;
	res->symbols_seen++;
	unsigned slot = res->n_symbols;
	if (slot == SPAM_RESULT_SYMBOLS_MAX) {
		unsigned low = 0;
		for (unsigned i = 1; i < slot; i++)
			if (fabs(res->symbols[i].score) < fabs(res->symbols[low].score))
				low = i;
		if (fabs(score) <= fabs(res->symbols[low].score))
			return;
		memmove(&res->symbols[low], &res->symbols[low + 1],
			(slot - low - 1) * sizeof(res->symbols[0]));
		slot--;
	} else {
		res->n_symbols++;
	}
	memcpy(res->symbols[slot].name, r->sym_name, sizeof(r->sym_name));
	res->symbols[slot].score = score;
}

static int on_event(void *ctx, enum spam_json_event ev, unsigned depth, const char *text,
		    size_t len, bool cut)
{
	struct spam_result_reader *r = ctx;
	struct spam_result *res = r->res;
	if (depth == 0)
		return ev == SPAM_JSON_OBJECT_BEGIN || ev == SPAM_JSON_OBJECT_END ? 0 : -1;
	if (depth == 1) {
		switch (ev == SPAM_JSON_KEY ? T_NONE : r->top) {
		case T_NONE:
			r->top = T_OTHER;
			for (size_t i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
				if (!cut && strcmp(text, top_keys[i].key) == 0)
					r->top = top_keys[i].top;
			return 0;
		case T_ACTION:
			if (ev != SPAM_JSON_STRING)
				return -1;
			res->action = cut ? SPAM_ACTION_UNKNOWN : action_of(text);
			spam_printable(res->action_text, sizeof(res->action_text), text, len);
			res->has_action = true;
			return 0;
		case T_SCORE:
		case T_REQUIRED:
			if (ev != SPAM_JSON_NUMBER)
				return -1;
			if (number(text, r->top == T_SCORE ? &res->score : &res->required) != 0)
				return -1;
			*(r->top == T_SCORE ? &res->has_score : &res->has_required) = true;
			return 0;
		case T_SKIPPED:
		case T_SUCCESS:
			if (ev != SPAM_JSON_TRUE && ev != SPAM_JSON_FALSE)
				return -1;
			*(r->top == T_SKIPPED ? &res->skipped : &res->success) = ev == SPAM_JSON_TRUE;
			return 0;
		case T_ERROR:
			if (ev != SPAM_JSON_STRING)
				return -1;
			spam_printable(res->error, sizeof(res->error), text, len);
			return 0;
		case T_SYMBOLS:
		case T_MESSAGES:
			/* an object, then its end at depth 1 */
			if (ev == SPAM_JSON_OBJECT_BEGIN || ev == SPAM_JSON_OBJECT_END)
				return 0;
			return -1;
		default:
			return 0;
		}
	}
	if (r->top == T_MESSAGES && depth == 2) {
		if (ev == SPAM_JSON_KEY)
			r->sym_member = strcmp(text, "smtp_message") == 0 ? M_SMTP_MESSAGE : M_NONE;
		else if (ev == SPAM_JSON_STRING && r->sym_member == M_SMTP_MESSAGE)
			spam_printable(res->smtp_message, sizeof(res->smtp_message), text, len);
		return 0;
	}
	if (r->top != T_SYMBOLS)
		return 0;
	if (depth == 2) {
		switch (ev) {
		case SPAM_JSON_KEY:
			spam_printable(r->sym_name, sizeof(r->sym_name), text, len);
			r->sym_has_score = false;
			r->sym_member = M_NONE;
			return 0;
		case SPAM_JSON_OBJECT_BEGIN:
			return 0;
		case SPAM_JSON_OBJECT_END:
			if (!r->sym_has_score)
				return -1;       /* a symbol without a score */
			symbol_done(r, r->sym_score);
			return 0;
		default:
			return -1;               /* each symbol is an object */
		}
	}
	if (depth == 3) {
		if (ev == SPAM_JSON_KEY)
			r->sym_member = strcmp(text, "score") == 0 ? M_SCORE : M_NONE;
		else if (r->sym_member == M_SCORE) {
			if (ev != SPAM_JSON_NUMBER || number(text, &r->sym_score) != 0)
				return -1;
			r->sym_has_score = true;
		}
	}
	return 0;
}

void spam_result_reader_init(struct spam_result_reader *r, struct spam_result *res)
{
	memset(r, 0, sizeof(*r));
	memset(res, 0, sizeof(*res));
	r->res = res;
	spam_json_init(&r->json, on_event, r);
}

int spam_result_feed(struct spam_result_reader *r, const void *data, size_t len)
{
	return spam_json_feed(&r->json, data, len);
}

int spam_result_finish(struct spam_result_reader *r, bool check)
{
	int err = spam_json_finish(&r->json);
	if (err != 0)
		return err;
	if (check && !(r->res->has_action && r->res->has_score))
		return SPAM_JSON_ESTOPPED;
	return 0;
}
