/* The IMAP dispatch table (see commands.h). */
#include "server/imap/commands.h"

#include <string.h>
#include <strings.h>

#include "server/imap/caps.h"

#define ANY (IMAP_STATE_BIT(IMAP_STATE_NOT_AUTH) | IMAP_STATE_BIT(IMAP_STATE_AUTH) | \
	     IMAP_STATE_BIT(IMAP_STATE_SELECTED))
#define NOT_AUTH IMAP_STATE_BIT(IMAP_STATE_NOT_AUTH)
/* A row: name, handler, states, flags, RFC (streaming hooks optional). */
#define CMD(n, h, st, fl, r) .name = (n), .handler = (h), .states = (st), .flags = (fl), .rfc = (r)
#define AUTHED (IMAP_STATE_BIT(IMAP_STATE_AUTH) | IMAP_STATE_BIT(IMAP_STATE_SELECTED))
#define SELECTED IMAP_STATE_BIT(IMAP_STATE_SELECTED)
#define SELF IMAP_CMD_SELF_UPDATES
#define SEQS IMAP_CMD_USES_SEQS

static const struct imap_command_def commands[] = {
	{ CMD("CAPABILITY", imap_cmd_capability, ANY, 0, "RFC 9051 6.1.1") },
	{ CMD("NOOP", imap_cmd_noop, ANY, SELF, "RFC 9051 6.1.2") },
	{ CMD("LOGOUT", imap_cmd_logout, ANY, SELF, "RFC 9051 6.1.3") },
	{ CMD("STARTTLS", imap_cmd_starttls, NOT_AUTH, 0, "RFC 9051 6.2.1") },
	{ CMD("AUTHENTICATE", imap_cmd_authenticate, NOT_AUTH, 0, "RFC 9051 6.2.2") },
	{ CMD("LOGIN", imap_cmd_login, NOT_AUTH, 0, "RFC 9051 6.2.3") },
	{ CMD("ID", imap_cmd_id, ANY, 0, "RFC 2971") },
	{ CMD("ENABLE", imap_cmd_enable, AUTHED, 0, "RFC 9051 6.3.1, RFC 5161") },
	{ CMD("CREATE", imap_cmd_create, AUTHED, 0, "RFC 9051 6.3.4, RFC 6154 3") },
	{ CMD("DELETE", imap_cmd_delete, AUTHED, 0, "RFC 9051 6.3.5") },
	{ CMD("RENAME", imap_cmd_rename, AUTHED, 0, "RFC 9051 6.3.6") },
	{ CMD("SUBSCRIBE", imap_cmd_subscribe, AUTHED, 0, "RFC 9051 6.3.7") },
	{ CMD("UNSUBSCRIBE", imap_cmd_unsubscribe, AUTHED, 0, "RFC 9051 6.3.8") },
	{ CMD("LIST", imap_cmd_list, AUTHED, 0, "RFC 9051 6.3.9, RFC 5258, RFC 6154, RFC 5819") },
	{ CMD("LSUB", imap_cmd_lsub, AUTHED, 0, "RFC 3501 6.3.9") },
	{ CMD("NAMESPACE", imap_cmd_namespace, AUTHED, 0, "RFC 9051 6.3.10, RFC 2342") },
	{ CMD("STATUS", imap_cmd_status, AUTHED, 0, "RFC 9051 6.3.11, RFC 8438, RFC 7889") },
	{ CMD("APPEND", imap_cmd_append, AUTHED, 0, "RFC 9051 6.3.12, RFC 3516"),
	  .literal = imap_append_literal, .literal_room = imap_append_literal_room,
	  .literal_data = imap_append_literal_data },
	{ CMD("SELECT", imap_cmd_select, AUTHED, SELF, "RFC 9051 6.3.2") },
	{ CMD("EXAMINE", imap_cmd_examine, AUTHED, SELF, "RFC 9051 6.3.3") },
	{ CMD("IDLE", imap_cmd_idle, AUTHED, SELF, "RFC 9051 6.3.13, RFC 2177"),
	  .cap = IMAP_CAP_IDLE },
	{ CMD("NOTIFY", imap_cmd_notify, AUTHED, 0, "RFC 5465"), .cap = IMAP_CAP_NOTIFY },
	{ CMD("CHECK", imap_cmd_check, SELECTED, SELF, "RFC 3501 6.4.1") },
	{ CMD("CLOSE", imap_cmd_close, SELECTED, SELF, "RFC 9051 6.4.1") },
	{ CMD("UNSELECT", imap_cmd_unselect, SELECTED, SELF, "RFC 9051 6.4.2, RFC 3691"),
	  .cap = IMAP_CAP_UNSELECT },
	{ CMD("EXPUNGE", imap_cmd_expunge, SELECTED, SELF | IMAP_CMD_BREAKS_SEQS,
	      "RFC 9051 6.4.3") },
	{ CMD("FETCH", imap_cmd_fetch, SELECTED, SELF | SEQS, "RFC 9051 6.4.5, RFC 8474") },
	{ CMD("STORE", imap_cmd_store, SELECTED, SELF | SEQS, "RFC 9051 6.4.6") },
	{ CMD("COPY", imap_cmd_copy, SELECTED, SELF | SEQS, "RFC 9051 6.4.7, RFC 4315") },
	{ CMD("MOVE", imap_cmd_move, SELECTED, SELF | SEQS | IMAP_CMD_BREAKS_SEQS,
	      "RFC 9051 6.4.8, RFC 6851"), .cap = IMAP_CAP_MOVE },
	{ CMD("ESEARCH", imap_cmd_esearch, AUTHED, 0, "RFC 7377"), .cap = IMAP_CAP_MULTISEARCH },
	{ CMD("SEARCH", imap_cmd_search, SELECTED, SELF | SEQS,
	      "RFC 9051 6.4.4, RFC 4731, RFC 5182") },
	{ CMD("SORT", imap_cmd_sort, SELECTED, SELF | SEQS, "RFC 5256 3, RFC 5957, RFC 5267"),
	  .cap = IMAP_CAP_SORT },
	{ CMD("THREAD", imap_cmd_thread, SELECTED, SELF | SEQS, "RFC 5256 3"),
	  .cap = IMAP_CAP_THREAD },
	{ CMD("CANCELUPDATE", imap_cmd_cancelupdate, SELECTED, 0, "RFC 5267 4.3") },
	{ CMD("UID", imap_cmd_uid, SELECTED, SELF, "RFC 9051 6.4.9, RFC 4315, RFC 8508"),
	  .literal = imap_uid_literal, .literal_room = imap_append_literal_room,
	  .literal_data = imap_append_literal_data },
	{ CMD("REPLACE", imap_cmd_append, SELECTED, SELF | SEQS | IMAP_CMD_BREAKS_SEQS, "RFC 8508"),
	  .literal = imap_append_literal, .literal_room = imap_append_literal_room,
	  .literal_data = imap_append_literal_data, .cap = IMAP_CAP_REPLACE },
	/* Extensions (cmd-compress.c, cmd-quota.c, cmd-unauth.c, cmd-urlauth.c). */
	{ CMD("COMPRESS", imap_cmd_compress, AUTHED, 0, "RFC 4978"), .cap = IMAP_CAP_COMPRESS },
	{ CMD("GETQUOTAROOT", imap_cmd_getquotaroot, AUTHED, 0, "RFC 9208 4.1.2"),
	  .cap = IMAP_CAP_QUOTA },
	{ CMD("GETQUOTA", imap_cmd_getquota, AUTHED, 0, "RFC 9208 4.1.1"), .cap = IMAP_CAP_QUOTA },
	{ CMD("SETQUOTA", imap_cmd_setquota, AUTHED, 0, "RFC 9208 4.1.3"), .cap = IMAP_CAP_QUOTA },
	{ CMD("UNAUTHENTICATE", imap_cmd_unauthenticate, AUTHED, 0, "RFC 8437") },
	{ CMD("GENURLAUTH", imap_cmd_genurlauth, AUTHED, 0, "RFC 4467 7"),
	  .cap = IMAP_CAP_URLAUTH },
	{ CMD("RESETKEY", imap_cmd_resetkey, AUTHED, 0, "RFC 4467 7"), .cap = IMAP_CAP_URLAUTH },
	{ CMD("URLFETCH", imap_cmd_urlfetch, AUTHED, 0, "RFC 4467 7"), .cap = IMAP_CAP_URLAUTH },
	/* METADATA (cmd-metadata.c). */
	{ CMD("GETMETADATA", imap_cmd_getmetadata, AUTHED, 0, "RFC 5464 4.2"),
	  .cap = IMAP_CAP_METADATA },
	{ CMD("SETMETADATA", imap_cmd_setmetadata, AUTHED, 0, "RFC 5464 4.3"),
	  .cap = IMAP_CAP_METADATA, .literal = imap_setmetadata_literal },
};

static const char *const auth_only[] = {
	"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
	"LIST", "LSUB", "NAMESPACE", "STATUS", "APPEND", "IDLE", "ENABLE", "CHECK",
	"CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "SORT", "THREAD", "CANCELUPDATE", "FETCH",
	"STORE", "COPY", "MOVE", "UID", "NOTIFY",
};

const struct imap_command_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const struct imap_command_def *imap_command_find_caps(const char *name, unsigned caps_off)
{
	const struct imap_command_def *def = imap_command_find(name);
	return def != NULL && (def->cap & caps_off) == 0 ? def : NULL;
}

bool imap_command_streams(const char *name, void *ctx)
{
	(void)ctx;
	const struct imap_command_def *def = imap_command_find(name);
	return def != NULL && def->literal != NULL;
}

bool imap_command_needs_auth(const char *name)
{
	for (size_t i = 0; i < sizeof(auth_only) / sizeof(auth_only[0]); i++)
		if (strcasecmp(auth_only[i], name) == 0)
			return true;
	return false;
}
