/* Authentication-Results: writing our field (RFC 8601 2.2 syntax: each
 * resinfo on its own folded line, comments escaped, property values as
 * token, addr-spec or quoted-string), reading the authserv-id of an
 * existing field, and the header filter that drops the fields claiming
 * our id. The filter holds only an Authentication-Results field's first
 * bytes (AUTHRES_LOOKAHEAD) and streams everything else. */
#include "server/mailauth/authres.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "storage/message/message.h"

/* RFC 2045 token characters (RFC 8601 uses them for values). */
static bool tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!tchar(*p))
			return false;
	return true;
}

/* [local-part "@"] domain with dot-atom parts. */
static bool is_addr(const char *s)
{
	const char *at = strrchr(s, '@');
	const char *dom = at != NULL ? at + 1 : s;
	if (*dom == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (p == at)
			continue;
		if (!(isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL)))
			return false;
	}
	return true;
}

static void put_value(struct msg_buf *out, const char *v)
{
	if (is_token(v) || is_addr(v)) {
		msg_buf_puts(out, v);
		return;
	}
	msg_buf_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			msg_buf_putc(out, '\\');
		if (*p >= 0x20 && *p < 0x7f)
			msg_buf_putc(out, (char)*p);
	}
	msg_buf_putc(out, '"');
}

static void put_comment(struct msg_buf *out, const char *c)
{
	msg_buf_puts(out, " (");
	for (const unsigned char *p = (const unsigned char *)c; *p; p++) {
		if (*p == '(' || *p == ')' || *p == '\\')
			msg_buf_putc(out, '\\');
		if (*p >= 0x20 && *p < 0x7f)
			msg_buf_putc(out, (char)*p);
	}
	msg_buf_putc(out, ')');
}

void authres_write(struct msg_buf *out, const char *authserv_id,
		   const struct authres_entry *e, size_t n)
{
	msg_buf_puts(out, "Authentication-Results: ");
	put_value(out, authserv_id);
	msg_buf_putc(out, ';');
	if (n == 0)
		msg_buf_puts(out, " none");
	for (size_t i = 0; i < n; i++) {
		msg_buf_puts(out, "\r\n\t");
		msg_buf_printf(out, "%s=%s", e[i].method, e[i].result);
		if (e[i].comment != NULL)
			put_comment(out, e[i].comment);
		for (size_t k = 0; k < e[i].n_props; k++) {
			if (e[i].props[k].value == NULL)
				continue;
			msg_buf_printf(out, " %s=", e[i].props[k].name);
			put_value(out, e[i].props[k].value);
		}
		if (i + 1 < n)
			msg_buf_putc(out, ';');
	}
	msg_buf_puts(out, "\r\n");
}

/* Skip folding white space and (nested) comments. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	int depth = 0;
	while (i < len) {
		char c = s[i];
		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		i++;
	}
	return i;
}

/* The authserv-id at the start of a field value: 1 ours, 0 another's, -1
 * not told yet (the value ends inside it and more may come). */
static int id_check(const char *value, size_t len, const char *authserv_id, bool complete)
{
	size_t i = skip_cfws(value, len, 0);
	struct msg_buf id = { 0 };
	bool ended = false;
	if (i < len && value[i] == '"') {
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\r' || value[i] == '\n')
				continue;   /* folding inside the quotes */
			if (value[i] == '\\' && i + 1 < len)
				i++;
			msg_buf_putc(&id, value[i]);
		}
		ended = i < len;
	} else {
		while (i < len && tchar((unsigned char)value[i]))
			msg_buf_putc(&id, value[i++]);
		ended = i < len;
	}
	int r;
	if (!ended && !complete)
		r = -1;
	else
		r = id.len == strlen(authserv_id) && id.len > 0 &&
		    strncasecmp(id.data, authserv_id, id.len) == 0;
	msg_buf_free(&id);
	return r;
}

bool authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	return id_check(value, len, authserv_id, true) == 1;
}

/* ---- the filter ---- */

enum fmode {
	F_LINE_START,   /* at the start of a header line */
	F_NAME,         /* reading a field name (held) */
	F_PASS,         /* inside a field that goes through */
	F_DROP,         /* inside a field that goes */
	F_HOLD,         /* inside an Authentication-Results field (held) */
	F_BODY,
};

struct authres_filter {
	char *id;
	authres_out_fn *out;
	void *ctx;
	enum fmode mode, field_mode;   /* field_mode: the current field's */
	struct msg_buf held;
	size_t name_len;               /* in held, F_HOLD: the name's length */
	bool cr;                       /* blank line: CR seen at line start */
	unsigned dropped;
};

struct authres_filter *authres_filter_new(const char *authserv_id, authres_out_fn *out,
					  void *ctx)
{
	struct authres_filter *f = xcalloc(1, sizeof(*f));
	f->id = xstrdup(authserv_id);
	f->out = out;
	f->ctx = ctx;
	f->mode = F_LINE_START;
	f->field_mode = F_PASS;
	return f;
}

void authres_filter_free(struct authres_filter **fp)
{
	struct authres_filter *f = *fp;
	if (f == NULL)
		return;
	free(f->id);
	msg_buf_free(&f->held);
	x_free(fp);
}

unsigned authres_filter_dropped(const struct authres_filter *f)
{
	return f->dropped;
}

static void release(struct authres_filter *f)
{
	if (f->held.len > 0)
		f->out(f->ctx, f->held.data, f->held.len);
	f->held.len = 0;
}

/* The held Authentication-Results field is complete, or its lookahead is
 * used up: an id not read by then counts as ours. */
static void decide(struct authres_filter *f, bool complete)
{
	const char *value = f->held.data + f->name_len + 1;
	size_t len = f->held.len - f->name_len - 1;
	if (id_check(value, len, f->id, complete) != 0) {
		f->dropped++;
		f->held.len = 0;
		f->field_mode = F_DROP;
	} else {
		release(f);
		f->field_mode = F_PASS;
	}
}

/* Whether the held name so far is "Authentication-Results" and white
 * space (a name may end in white space before its ':'). */
static bool ar_name_prefix(const struct authres_filter *f)
{
	size_t n = f->held.len;
	while (n > 0 && (f->held.data[n - 1] == ' ' || f->held.data[n - 1] == '\t'))
		n--;
	return n == 22 && strncasecmp(f->held.data, "Authentication-Results", 22) == 0;
}

static void name_done(struct authres_filter *f)
{
	/* held = name (maybe with trailing WSP) and ':' */
	size_t nl = f->held.len - 1;
	while (nl > 0 && (f->held.data[nl - 1] == ' ' || f->held.data[nl - 1] == '\t'))
		nl--;
	if (nl == 22 && strncasecmp(f->held.data, "Authentication-Results", 22) == 0) {
		f->name_len = f->held.len - 1;
		f->mode = f->field_mode = F_HOLD;
	} else {
		release(f);
		f->mode = f->field_mode = F_PASS;
	}
}

void authres_filter_feed(struct authres_filter *f, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		char c = data[i];
		switch (f->mode) {
		case F_BODY:
			f->out(f->ctx, data + i, len - i);
			return;
		case F_LINE_START:
			if (f->cr) {
				f->cr = false;
				if (c == '\n') {
					f->out(f->ctx, "\r\n", 2);
					f->mode = F_BODY;
					i++;
					continue;
				}
				/* a line starting with a bare CR: content of a new field */
				if (f->field_mode == F_HOLD)
					decide(f, true);
				else
					release(f);
				msg_buf_putc(&f->held, '\r');
				f->mode = F_NAME;
				continue;
			}
			if (c == ' ' || c == '\t') {
				f->mode = f->field_mode;   /* a continuation line */
				continue;
			}
			if (f->field_mode == F_HOLD)
				decide(f, true);
			if (c == '\r') {
				f->cr = true;
				i++;
				continue;
			}
			if (c == '\n') {
				f->out(f->ctx, "\n", 1);
				f->mode = F_BODY;
				i++;
				continue;
			}
			f->mode = F_NAME;
			continue;
		case F_NAME:
			msg_buf_putc(&f->held, c);
			i++;
			if (c == ':')
				name_done(f);
			else if (f->held.len > AUTHRES_LOOKAHEAD) {
				/* "Authentication-Results" and white space without
				 * end: an id never to be read, so dropped */
				f->held.len = 0;
				f->dropped++;
				f->mode = f->field_mode = F_DROP;
			} else if (c == '\n' || (f->held.len > 200 && !ar_name_prefix(f))) {
				release(f);
				f->mode = f->field_mode = F_PASS;
				if (c == '\n')
					f->mode = F_LINE_START;
			}
			continue;
		case F_PASS:
		case F_DROP:
		case F_HOLD: {
			const char *nl = memchr(data + i, '\n', len - i);
			size_t end = nl != NULL ? (size_t)(nl - data) + 1 : len;
			if (f->mode == F_PASS) {
				f->out(f->ctx, data + i, end - i);
			} else if (f->mode == F_HOLD) {
				size_t held = f->held.len - f->name_len - 1;
				size_t room = AUTHRES_LOOKAHEAD - held;
				if (end - i > room) {
					/* the lookahead is full: decide on what it holds
					 * and go on with the rest of the line */
					msg_buf_append(&f->held, data + i, room);
					i += room;
					decide(f, false);
					f->mode = f->field_mode;
					continue;
				}
				msg_buf_append(&f->held, data + i, end - i);
			}
			i = end;
			if (nl != NULL)
				f->mode = F_LINE_START;
			continue;
		}
		}
	}
}

void authres_filter_end(struct authres_filter *f)
{
	if (f->cr) {
		f->cr = false;
		if (f->field_mode == F_HOLD && f->held.len > 0)
			decide(f, true);
		release(f);
		f->out(f->ctx, "\r", 1);
		return;
	}
	if (f->mode == F_HOLD || (f->mode == F_LINE_START && f->field_mode == F_HOLD &&
				  f->held.len > 0))
		decide(f, true);
	release(f);
}
