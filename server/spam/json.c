/* The streaming JSON reader (see json.h): one byte at a time through a state
 * machine whose whole state lives in struct spam_json, so any split of the
 * input gives the same events. A number has no closing byte: the byte after
 * it ends it and is then read again in the state that follows. */
#include "server/spam/json.h"

#include <string.h>

enum {
	S_VALUE,          /* a value must come */
	S_ARRAY_FIRST,    /* after '[': a value or ']' */
	S_OBJECT_FIRST,   /* after '{': a key or '}' */
	S_KEY,            /* after ',' in an object: a key */
	S_COLON,          /* after a key */
	S_AFTER,          /* after a member value: ',' or the closer */
	S_STRING,
	S_ESCAPE,         /* after '\' */
	S_HEX,            /* inside \uXXXX */
	S_PAIR_SLASH,     /* after a high surrogate: '\' must come */
	S_PAIR_U,         /* ... then 'u' */
	S_N_MINUS,        /* numbers: after '-' */
	S_N_ZERO,         /* a leading 0 */
	S_N_INT,
	S_N_DOT,          /* after '.' */
	S_N_FRAC,
	S_N_E,            /* after 'e' */
	S_N_ESIGN,        /* after the exponent's sign */
	S_N_EXP,
	S_LIT_TRUE,
	S_LIT_FALSE,
	S_LIT_NULL,
	S_DONE,
	S_ERROR,
};

static const char *const literals[] = { "true", "false", "null" };

void spam_json_init(struct spam_json *j, spam_json_cb *cb, void *ctx)
{
	memset(j, 0, sizeof(*j));
	j->cb = cb;
	j->ctx = ctx;
	j->state = S_VALUE;
}

static int fail(struct spam_json *j, int err)
{
	j->state = S_ERROR;
	j->error = err;
	return err;
}

static int emit(struct spam_json *j, enum spam_json_event ev, unsigned depth)
{
	j->text[j->len] = '\0';
	if (j->cb != NULL && j->cb(j->ctx, ev, depth, j->text, j->len, j->cut) != 0)
		return fail(j, SPAM_JSON_ESTOPPED);
	return 0;
}

static bool in_object(const struct spam_json *j)
{
	return j->depth > 0 && (j->in_object & (1u << (j->depth - 1))) != 0;
}

/* A value ended at the current depth. */
static void value_done(struct spam_json *j)
{
	j->state = j->depth == 0 ? S_DONE : S_AFTER;
}

static int open_container(struct spam_json *j, bool object)
{
	if (j->depth >= SPAM_JSON_DEPTH_MAX)
		return fail(j, SPAM_JSON_EDEPTH);
	j->len = 0;
	j->cut = false;
	if (emit(j, object ? SPAM_JSON_OBJECT_BEGIN : SPAM_JSON_ARRAY_BEGIN, j->depth) != 0)
		return j->error;
	if (object)
		j->in_object |= 1u << j->depth;
	else
		j->in_object &= ~(1u << j->depth);
	j->depth++;
	j->state = object ? S_OBJECT_FIRST : S_ARRAY_FIRST;
	return 0;
}

static int close_container(struct spam_json *j, bool object)
{
	if (j->depth == 0 || in_object(j) != object)
		return fail(j, SPAM_JSON_ESYNTAX);
	j->depth--;
	j->len = 0;
	j->cut = false;
	if (emit(j, object ? SPAM_JSON_OBJECT_END : SPAM_JSON_ARRAY_END, j->depth) != 0)
		return j->error;
	value_done(j);
	return 0;
}

static void text_start(struct spam_json *j)
{
	j->len = 0;
	j->cut = false;
}

static void text_byte(struct spam_json *j, unsigned char c)
{
	if (!j->cut && j->len < SPAM_JSON_TEXT_MAX)
		j->text[j->len++] = (char)c;
	else
		j->cut = true;
}

/* A code point from \u escapes, as UTF-8; never half a sequence. */
static void text_code_point(struct spam_json *j, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (j->cut || j->len + n > SPAM_JSON_TEXT_MAX) {
		j->cut = true;
		return;
	}
	memcpy(j->text + j->len, b, n);
	j->len += n;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int number_byte(struct spam_json *j, unsigned char c)
{
	if (j->len >= SPAM_JSON_NUMBER_MAX)
		return fail(j, SPAM_JSON_ENUMBER);
	j->text[j->len++] = (char)c;
	return 0;
}

/* Start of a value at S_VALUE / S_ARRAY_FIRST. */
static int value_start(struct spam_json *j, unsigned char c)
{
	switch (c) {
	case '{':
		return open_container(j, true);
	case '[':
		return open_container(j, false);
	case '"':
		text_start(j);
		j->is_key = false;
		j->state = S_STRING;
		return 0;
	case '-':
		text_start(j);
		j->state = S_N_MINUS;
		return number_byte(j, c);
	case 't':
	case 'f':
	case 'n':
		j->state = c == 't' ? S_LIT_TRUE : c == 'f' ? S_LIT_FALSE : S_LIT_NULL;
		j->lit_index = 1;
		return 0;
	default:
		if (c >= '0' && c <= '9') {
			text_start(j);
			j->state = c == '0' ? S_N_ZERO : S_N_INT;
			return number_byte(j, c);
		}
		return fail(j, SPAM_JSON_ESYNTAX);
	}
}

static int number_end(struct spam_json *j)
{
	if (emit(j, SPAM_JSON_NUMBER, j->depth) != 0)
		return j->error;
	value_done(j);
	return 0;
}

static int string_end(struct spam_json *j)
{
	if (j->is_key) {
		if (emit(j, SPAM_JSON_KEY, j->depth) != 0)
			return j->error;
		j->state = S_COLON;
		return 0;
	}
	if (emit(j, SPAM_JSON_STRING, j->depth) != 0)
		return j->error;
	value_done(j);
	return 0;
}

static int escape_byte(struct spam_json *j, unsigned char c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (c == 'u') {
		j->hex_left = 4;
		j->unit = 0;
		j->state = S_HEX;
		return 0;
	}
	const char *p = c != '\0' ? strchr(from, c) : NULL;
	if (p == NULL || j->high != 0)
		return fail(j, SPAM_JSON_ESYNTAX);
	text_byte(j, (unsigned char)to[p - from]);
	j->state = S_STRING;
	return 0;
}

static int hex_byte(struct spam_json *j, unsigned char c)
{
	int v = hex_value(c);
	if (v < 0)
		return fail(j, SPAM_JSON_ESYNTAX);
	j->unit = (uint16_t)((j->unit << 4) | (unsigned)v);
	if (--j->hex_left > 0)
		return 0;
	uint16_t u = j->unit;
	if (j->high != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			return fail(j, SPAM_JSON_ESYNTAX);  /* a high surrogate alone */
		text_code_point(j, 0x10000 + (((uint32_t)j->high - 0xd800) << 10) + (u - 0xdc00));
		j->high = 0;
		j->state = S_STRING;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		j->high = u;
		j->state = S_PAIR_SLASH;
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		return fail(j, SPAM_JSON_ESYNTAX);      /* a low surrogate alone */
	} else {
		text_code_point(j, u);
		j->state = S_STRING;
	}
	return 0;
}

static int literal_byte(struct spam_json *j, unsigned char c)
{
	const char *lit = literals[j->state - S_LIT_TRUE];
	if ((unsigned char)lit[j->lit_index] != c)
		return fail(j, SPAM_JSON_ESYNTAX);
	if (lit[++j->lit_index] != '\0')
		return 0;
	static const enum spam_json_event ev[] = { SPAM_JSON_TRUE, SPAM_JSON_FALSE, SPAM_JSON_NULL };
	enum spam_json_event e = ev[j->state - S_LIT_TRUE];
	text_start(j);
	if (emit(j, e, j->depth) != 0)
		return j->error;
	value_done(j);
	return 0;
}

/* One byte of a number; a byte that cannot continue it ends the number and
 * is read again (*again). */
static int number_step(struct spam_json *j, unsigned char c, bool *again)
{
	bool digit = c >= '0' && c <= '9';
	switch (j->state) {
	case S_N_MINUS:
		if (!digit)
			return fail(j, SPAM_JSON_ESYNTAX);
		j->state = c == '0' ? S_N_ZERO : S_N_INT;
		return number_byte(j, c);
	case S_N_ZERO:
	case S_N_INT:
		if (digit && j->state == S_N_INT)
			return number_byte(j, c);
		if (digit)
			return fail(j, SPAM_JSON_ESYNTAX);   /* leading zero */
		if (c == '.') {
			j->state = S_N_DOT;
			return number_byte(j, c);
		}
		break;
	case S_N_DOT:
		if (!digit)
			return fail(j, SPAM_JSON_ESYNTAX);
		j->state = S_N_FRAC;
		return number_byte(j, c);
	case S_N_FRAC:
		if (digit)
			return number_byte(j, c);
		break;
	case S_N_E:
		if (c == '+' || c == '-') {
			j->state = S_N_ESIGN;
			return number_byte(j, c);
		}
		/* fall through */
	case S_N_ESIGN:
		if (!digit)
			return fail(j, SPAM_JSON_ESYNTAX);
		j->state = S_N_EXP;
		return number_byte(j, c);
	case S_N_EXP:
		if (digit)
			return number_byte(j, c);
		if (number_end(j) != 0)
			return j->error;
		*again = true;
		return 0;
	}
	/* S_N_ZERO, S_N_INT, S_N_FRAC: an exponent, or the end */
	if (c == 'e' || c == 'E') {
		j->state = S_N_E;
		return number_byte(j, c);
	}
	if (number_end(j) != 0)
		return j->error;
	*again = true;
	return 0;
}

static int step(struct spam_json *j, unsigned char c)
{
	bool again = false;
	do {
		again = false;
		switch (j->state) {
		case S_VALUE:
			if (is_space(c))
				return 0;
			return value_start(j, c);
		case S_ARRAY_FIRST:
			if (is_space(c))
				return 0;
			if (c == ']')
				return close_container(j, false);
			return value_start(j, c);
		case S_OBJECT_FIRST:
		case S_KEY:
			if (is_space(c))
				return 0;
			if (c == '}' && j->state == S_OBJECT_FIRST)
				return close_container(j, true);
			if (c != '"')
				return fail(j, SPAM_JSON_ESYNTAX);
			text_start(j);
			j->is_key = true;
			j->state = S_STRING;
			return 0;
		case S_COLON:
			if (is_space(c))
				return 0;
			if (c != ':')
				return fail(j, SPAM_JSON_ESYNTAX);
			j->state = S_VALUE;
			return 0;
		case S_AFTER:
			if (is_space(c))
				return 0;
			if (c == ',') {
				j->state = in_object(j) ? S_KEY : S_VALUE;
				return 0;
			}
			if (c == '}' || c == ']')
				return close_container(j, c == '}');
			return fail(j, SPAM_JSON_ESYNTAX);
		case S_STRING:
			if (c == '"')
				return string_end(j);
			if (c == '\\') {
				j->state = S_ESCAPE;
				return 0;
			}
			if (c < 0x20)
				return fail(j, SPAM_JSON_ESYNTAX);
			text_byte(j, c);
			return 0;
		case S_ESCAPE:
			return escape_byte(j, c);
		case S_HEX:
			return hex_byte(j, c);
		case S_PAIR_SLASH:
			if (c != '\\')
				return fail(j, SPAM_JSON_ESYNTAX);
			j->state = S_PAIR_U;
			return 0;
		case S_PAIR_U:
			if (c != 'u')
				return fail(j, SPAM_JSON_ESYNTAX);
			j->hex_left = 4;
			j->unit = 0;
			j->state = S_HEX;
			return 0;
		case S_LIT_TRUE:
		case S_LIT_FALSE:
		case S_LIT_NULL:
			return literal_byte(j, c);
		case S_DONE:
			if (is_space(c))
				return 0;
			return fail(j, SPAM_JSON_ESYNTAX);   /* a second value */
		case S_ERROR:
			return j->error;
		default:
			if (number_step(j, c, &again) != 0)
				return j->error;
			break;
		}
	} while (again);
	return 0;
}

int spam_json_feed(struct spam_json *j, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len && j->state != S_ERROR; i++)
		step(j, p[i]);
	return j->state == S_ERROR ? j->error : SPAM_JSON_OK;
}

int spam_json_finish(struct spam_json *j)
{
	if (j->state == S_ERROR)
		return j->error;
	/* a top-level number ends with the input */
	if (j->state == S_N_ZERO || j->state == S_N_INT || j->state == S_N_FRAC ||
	    j->state == S_N_EXP) {
		if (j->depth == 0 && number_end(j) != 0)
			return j->error;
	}
	if (j->state != S_DONE)
		return fail(j, SPAM_JSON_ETRUNCATED);
	return SPAM_JSON_OK;
}

const char *spam_json_strerror(int err)
{
	switch (err) {
	case SPAM_JSON_OK: return "ok";
	case SPAM_JSON_ESYNTAX: return "not valid JSON";
	case SPAM_JSON_EDEPTH: return "JSON nested too deep";
	case SPAM_JSON_ENUMBER: return "JSON number too long";
	case SPAM_JSON_ETRUNCATED: return "JSON value incomplete";
	case SPAM_JSON_ESTOPPED: return "JSON reply not understood";
	default: return "JSON error";
	}
}
