/* ID (RFC 2971): the client's identification is logged (one line, every
 * field escaped), and the server answers with its name and version. The
 * RFC's limits are enforced: at most 30 pairs, field names up to 30 octets,
 * values up to 1024 octets (of which the log keeps 128). Valid in every
 * state. */
#include "server/imap/commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/caps.h"
#include "server/imap/client-rules.h"
#include "server/imap/reply.h"

#define ID_MAX_PAIRS 30
#define ID_MAX_FIELD 30
#define ID_MAX_VALUE 1024

static bool is_string(const struct imap_arg *a)
{
	return (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL) && !a->streamed;
}

/* Bytes of one value that go into the log line (the rest is "..."). */
#define ID_LOG_VALUE_MAX 128

/* Append text to the log line with quotes, backslashes and bytes outside
 * printable ASCII escaped, so a client cannot forge log fields. */
static void log_escaped(char **line, size_t *len, const char *s, size_t n)
{
	bool cut = n > ID_LOG_VALUE_MAX;
	if (cut)
		n = ID_LOG_VALUE_MAX;
	*line = xrealloc(*line, *len + 4 * n + 6);
	char *p = *line + *len;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			p += sprintf(p, "\\x%02x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	*p++ = '"';
	if (cut) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*len = (size_t)(p - *line);
	*p = '\0';
}

/* The [imap] client_rules and client_quirks matching the ID's name and
 * version switch extensions off for the rest of the session (each ID
 * replaces what the previous one matched). */
static void apply_client_rules(struct imap_session *s, const struct imap_arg *a)
{
	const struct imap_arg *name = NULL, *version = NULL;
	for (size_t i = 0; a->type == IMAP_ARG_LIST && i < a->list_count; i += 2) {
		const struct imap_arg *f = &a->list[i], *v = &a->list[i + 1];
		if (!is_string(v))
			continue;
		if (f->len == 4 && strncasecmp(f->str, "name", 4) == 0)
			name = v;
		else if (f->len == 7 && strncasecmp(f->str, "version", 7) == 0)
			version = v;
	}
	unsigned bits = name == NULL ? 0
		: imap_client_rules_match(conn_config(s->conn), name->str, name->len,
					  version != NULL ? version->str : NULL,
					  version != NULL ? version->len : 0);
	if (bits != s->caps_client) {
		char names[256];
		imap_caps_names(names, sizeof(names), bits);
		conn_info(s->conn, "id: client rules switch off: %s", bits ? names : "nothing");
	}
	s->caps_client = bits;
	imap_caps_update(s);
}

enum imap_cmd_result imap_cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const char *why = NULL;
	const struct imap_arg *a = cmd->n_args == 1 ? &cmd->args[0] : NULL;
	if (a == NULL || (a->type != IMAP_ARG_LIST && !imap_arg_is_atom(a, "NIL")))
		why = "ID needs a list of field/value pairs or NIL.";
	else if (a->type == IMAP_ARG_LIST && a->list_count % 2 != 0)
		why = "ID fields and values come in pairs.";
	else if (a->type == IMAP_ARG_LIST && a->list_count / 2 > ID_MAX_PAIRS)
		why = "ID takes at most 30 field/value pairs.";
	for (size_t i = 0; why == NULL && a->type == IMAP_ARG_LIST && i < a->list_count; i += 2) {
		const struct imap_arg *f = &a->list[i], *v = &a->list[i + 1];
		if (!is_string(f))
			why = "ID field names are strings.";
		else if (f->len > ID_MAX_FIELD)
			why = "ID field names are at most 30 octets.";
		else if (!is_string(v) && !imap_arg_is_atom(v, "NIL"))
			why = "ID values are strings or NIL.";
		else if (is_string(v) && v->len > ID_MAX_VALUE)
			why = "ID values are at most 1024 octets.";
	}
	if (why != NULL) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (a->type == IMAP_ARG_LIST && a->list_count > 0) {
		char *line = xstrdup("id");
		size_t len = 2;
		for (size_t i = 0; i < a->list_count; i += 2) {
			const struct imap_arg *f = &a->list[i], *v = &a->list[i + 1];
			line = xrealloc(line, len + 2);
			line[len++] = ' ';
			line[len] = '\0';
			log_escaped(&line, &len, f->str, f->len);
			line = xrealloc(line, len + 2);
			line[len++] = '=';
			line[len] = '\0';
			if (is_string(v)) {
				log_escaped(&line, &len, v->str, v->len);
			} else {
				line = xrealloc(line, len + 4);
				memcpy(line + len, "NIL", 4);
				len += 3;
			}
		}
		conn_info(s->conn, "%s", line);
		free(line);
	}
	apply_client_rules(s, a);
	struct imap_resp r;
	imap_resp_init(&r, false);
	imap_resp_raw(&r, "* ID (\"name\" ");
	imap_resp_string(&r, "Loft", 4);
	imap_resp_raw(&r, " \"version\" ");
	imap_resp_string(&r, LOFT_VERSION, strlen(LOFT_VERSION));
	imap_resp_raw(&r, ")\r\n");
	imap_resp_send(&r, s->conn);
	imap_resp_free(&r);
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "ID completed.");
	return IMAP_CMD_DONE;
}
