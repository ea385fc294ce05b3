/* The IMAP dispatch table: one row per command the server answers, with the
 * states it is valid in, flags and the RFC that defines it. The dispatcher
 * (session.c) checks state and TLS before the handler runs. */
#ifndef LOFT_IMAP_COMMANDS_H
#define LOFT_IMAP_COMMANDS_H

#include "server/imap/session.h"

enum imap_cmd_flags {
	IMAP_CMD_NEEDS_TLS = 1u << 0,   /* refused without TLS */
	IMAP_CMD_USES_SEQS = 1u << 1,   /* uses message sequence numbers */
	IMAP_CMD_BREAKS_SEQS = 1u << 2, /* may expunge */
	/* Reports mailbox changes itself (or must not see them first): no
	 * update of the selected view runs before it (selected.h). */
	IMAP_CMD_SELF_UPDATES = 1u << 3,
};

typedef enum imap_cmd_result imap_handler(struct imap_session *s,
					  const struct imap_command *cmd);

struct imap_command_def {
	const char *name;
	imap_handler *handler;
	unsigned states;                /* IMAP_STATE_BIT() mask */
	unsigned flags;
	const char *rfc;
	/* The IMAP_CAP_* extension it belongs to (caps.h), 0 for the base
	 * protocol: a session that has it switched off knows no such command. */
	unsigned cap;
	/* Commands whose literals may be streamed (APPEND): called at each
	 * literal announcement (state and TLS already checked). It decides
	 * with imap_parser_literal_buffer/stream/refuse on s->parser, now or
	 * later (then it sets s->literal_pending and resumes input after
	 * deciding). Sends "+ ..." for a sync literal it accepts. */
	void (*literal)(struct imap_session *s, const struct imap_literal_info *info);
	/* How many bytes of a streamed literal it can take now (0: full; it
	 * resumes input when there is room). */
	size_t (*literal_room)(struct imap_session *s);
	/* Bytes of a streamed literal; last: the literal is complete. */
	void (*literal_data)(struct imap_session *s, const char *data, size_t len, bool last);
};

/* Capability tokens of the mailbox-level commands (cmd-enable.c, cmd-id.c,
 * cmd-list.c, cmd-mailbox.c, cmd-status.c) after login; "APPENDLIMIT=<n>"
 * (RFC 7889, from max_literal_size) follows them in imap_capability_string. */
#define IMAP_CAPS_MAILBOXES "ID ENABLE NAMESPACE UTF8=ACCEPT CHILDREN LIST-EXTENDED " \
	"LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE"

/* Capability tokens of the extensions after login (cmd-compress.c,
 * cmd-quota.c, cmd-unauth.c, cmd-append.c, cmd-urlauth.c). */
#define IMAP_CAPS_EXTENSIONS "COMPRESS=DEFLATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE " \
	"UNAUTHENTICATE MULTIAPPEND CATENATE URLAUTH"

const struct imap_command_def *imap_command_find(const char *name);
/* The same, NULL for a command of an extension in caps_off (IMAP_CAP_*). */
const struct imap_command_def *imap_command_find_caps(const char *name, unsigned caps_off);
/* The parser's stream filter: commands whose literals may be streamed. */
bool imap_command_streams(const char *name, void *ctx);
/* Commands of the base protocol (RFC 3501/9051) that are valid only after
 * authentication; their names are known even where no row exists yet, so
 * a client gets a state error instead of "unknown command". */
bool imap_command_needs_auth(const char *name);

/* Handlers (cmd-any.c, cmd-auth.c, cmd-append.c, cmd-enable.c, cmd-id.c,
 * cmd-list.c, cmd-mailbox.c, cmd-status.c). */
imap_handler imap_cmd_capability, imap_cmd_noop, imap_cmd_logout;
imap_handler imap_cmd_enable, imap_cmd_id, imap_cmd_namespace;
imap_handler imap_cmd_create, imap_cmd_delete, imap_cmd_rename;
imap_handler imap_cmd_subscribe, imap_cmd_unsubscribe;
imap_handler imap_cmd_list, imap_cmd_lsub, imap_cmd_status;
imap_handler imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate;
imap_handler imap_cmd_append;
/* The selected state (cmd-select.c, cmd-fetch.c, cmd-store.c, cmd-copy.c,
 * cmd-expunge.c, cmd-idle.c, cmd-uid.c). */
imap_handler imap_cmd_select, imap_cmd_examine, imap_cmd_close, imap_cmd_unselect;
imap_handler imap_cmd_check, imap_cmd_expunge, imap_cmd_fetch, imap_cmd_store;
imap_handler imap_cmd_copy, imap_cmd_move, imap_cmd_idle, imap_cmd_uid;
/* NOTIFY (cmd-notify.c, RFC 5465). */
imap_handler imap_cmd_notify;
/* NOOP in the selected state: report changes (cmd-expunge.c). */
imap_handler imap_cmd_noop_selected;
/* The commands UID prefixes: args[0] is the message set, as UIDs when
 * by_uid. */
enum imap_cmd_result imap_fetch_command(struct imap_session *s, const struct imap_command *cmd,
					bool by_uid);
enum imap_cmd_result imap_store_command(struct imap_session *s, const struct imap_command *cmd,
					bool by_uid);
enum imap_cmd_result imap_copy_command(struct imap_session *s, const struct imap_command *cmd,
				       bool by_uid, bool move);
enum imap_cmd_result imap_uid_expunge_command(struct imap_session *s,
					      const struct imap_command *cmd);
/* SEARCH, SORT and THREAD (cmd-search.c, cmd-sort.c). */
imap_handler imap_cmd_search, imap_cmd_sort, imap_cmd_thread, imap_cmd_cancelupdate;
/* ESEARCH, MULTISEARCH (cmd-esearch.c). */
imap_handler imap_cmd_esearch;
enum imap_cmd_result imap_search_command(struct imap_session *s, const struct imap_command *cmd,
					 bool by_uid);
enum imap_cmd_result imap_sort_command(struct imap_session *s, const struct imap_command *cmd,
				       bool by_uid);
enum imap_cmd_result imap_thread_command(struct imap_session *s, const struct imap_command *cmd,
					 bool by_uid);
/* Their capability tokens after login. */
#define IMAP_CAPS_SEARCH "ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT CONTEXT=SEARCH " \
	"CONTEXT=SORT " \
	"THREAD=ORDEREDSUBJECT THREAD=REFERENCES"
/* Capability tokens of the newer extensions (issue 27; caps.h has the
 * bits a session may switch off). */
#define IMAP_CAPS_NEWER "WITHIN SAVEDATE MULTISEARCH REPLACE INPROGRESS METADATA " \
	"METADATA-SERVER LIST-METADATA UIDONLY"
/* Capability tokens of the selected-state commands after login. */
#define IMAP_CAPS_SELECTED "IDLE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC NOTIFY"
/* FETCH's extensions (fetch-items.c): RFC 3516, RFC 8970, and RFC 8474's
 * ids (FETCH EMAILID/THREADID, SEARCH EMAILID/THREADID, MAILBOXID). */
#define IMAP_CAPS_FETCH "BINARY PREVIEW OBJECTID"

/* Extensions (cmd-compress.c, cmd-quota.c, cmd-unauth.c, cmd-urlauth.c,
 * cmd-metadata.c). */
imap_handler imap_cmd_compress;
imap_handler imap_cmd_getmetadata, imap_cmd_setmetadata;
void imap_setmetadata_literal(struct imap_session *s, const struct imap_literal_info *info);
imap_handler imap_cmd_getquotaroot, imap_cmd_getquota, imap_cmd_setquota;
imap_handler imap_cmd_unauthenticate;
imap_handler imap_cmd_genurlauth, imap_cmd_resetkey, imap_cmd_urlfetch;
void imap_append_literal(struct imap_session *s, const struct imap_literal_info *info);
size_t imap_append_literal_room(struct imap_session *s);
void imap_append_literal_data(struct imap_session *s, const char *data, size_t len, bool last);
/* A streaming command's literal that is a string after all (a mailbox
 * name, a search string): buffered as any literal, "+" sent for {n}. */
void imap_literal_take_string(struct imap_session *s, const struct imap_literal_info *info);
/* UID's literals (cmd-uid.c): UID REPLACE's message streams as APPEND's. */
void imap_uid_literal(struct imap_session *s, const struct imap_literal_info *info);

#endif
