/* The loaded configuration: one immutable snapshot per load. The server holds
 * the current snapshot by reference count; a reload builds a new one and
 * swaps it in only when it is fully valid. Every field here has a row in the
 * settings table (conf/settings.c) giving its default, range and doc. */
#ifndef LOFT_CONF_CONFIG_H
#define LOFT_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_proto { CONF_PROTO_IMAP, CONF_PROTO_POP3, CONF_PROTO_LMTP, CONF_PROTO_SMTP,
		  CONF_PROTO_SIEVE };
#define CONF_PROTO_COUNT 5
enum conf_tls_mode { CONF_TLS_NONE, CONF_TLS_STARTTLS, CONF_TLS_IMPLICIT };
enum conf_plaintext_auth { CONF_PLAIN_NEVER, CONF_PLAIN_LOOPBACK, CONF_PLAIN_ALWAYS };
/* [auth] password_scheme: the order of auth's enum password_scheme. */
enum conf_password_scheme { CONF_SCHEME_ARGON2ID, CONF_SCHEME_SHA512_CRYPT };
enum conf_store_scram { CONF_SCRAM_NO, CONF_SCRAM_SHA256, CONF_SCRAM_BOTH };
/* What POP3 DELE does at QUIT: remove the message, or hide it from POP3 only
 * (a keyword IMAP clients see; the message stays for them). */
enum conf_pop3_delete { CONF_POP3_EXPUNGE, CONF_POP3_HIDE };
/* What Loft does with a message for one of rspamd's answers ([spam]
 * reject, soft_reject, greylist, add_header, rewrite_subject) or when
 * rspamd cannot be asked (on_failure: tempfail or accept only). */
enum conf_spam_handling {
	CONF_SPAM_TEMPFAIL,   /* 451 4.7.1: the sender tries again later */
	CONF_SPAM_REJECT,     /* 550 5.7.1 before the 250 (SMTP; else junk) */
	CONF_SPAM_JUNK,       /* X-Spam headers, filed into the \Junk mailbox */
	CONF_SPAM_HEADER,     /* X-Spam headers, delivered as addressed */
	CONF_SPAM_IGNORE,     /* delivered as if clean (the verdict is kept) */
	CONF_SPAM_ACCEPT,     /* on_failure: delivered unscanned, a header says so */
};
/* Where UIDLs a previous server gave come from (migrations). */
enum conf_uidl_import { CONF_UIDL_IMPORT_NONE, CONF_UIDL_IMPORT_DOVECOT };
/* [delivery] delivered_to: a Delivered-To: header only when the message has
 * one recipient (every recipient then shares one file), or always (a copy
 * per recipient). */
enum conf_delivered_to { CONF_DELIVERED_TO_SINGLE, CONF_DELIVERED_TO_ALWAYS };
/* [mailauth] actions (server/mailauth/mailauth.h maps them to replies). */
enum conf_auth_action { CONF_ACT_TAG, CONF_ACT_QUARANTINE, CONF_ACT_REJECT };
/* [mailauth] checks: bits of the WORDS value. */
#define CONF_CHECK_SPF   (1u << 0)
#define CONF_CHECK_DKIM  (1u << 1)
#define CONF_CHECK_DMARC (1u << 2)

/* Where a value came from, kept so checks after loading (conf_check_files,
 * reload) can name file:line. file points into loft_config.files; NULL
 * means the built-in default. */
struct conf_origin {
	const char *file;
	unsigned line;
};

/* Most keys a [listener]/[certificate] section can have (origins below). */
#define CONF_SECTION_KEYS_MAX 8

/* [listener NAME] section. */
struct conf_listener {
	char *name;
	char *address;            /* "127.0.0.1", "::1", "0.0.0.0", "::" */
	uint16_t port;
	enum conf_proto protocol;
	enum conf_tls_mode tls;
	char *socket;             /* UNIX socket path instead of address/port */
	unsigned socket_mode;     /* its permissions (octal in the file) */
	char *socket_owner;       /* user name to chown it to; NULL: unchanged */
	char *socket_group;       /* group name to chown it to; NULL: unchanged */
	struct conf_origin origin;   /* the [listener NAME] line */
	struct conf_origin origins[CONF_SECTION_KEYS_MAX]; /* per listener row */
};

/* [certificate NAME] section: an extra certificate chosen by SNI. */
struct conf_sni_cert {
	char *name;               /* the section name */
	char *server_name;        /* host name matched against SNI (may be *.x) */
	char *cert_file;
	char *key_file;
	struct conf_origin origin;   /* the [certificate NAME] line */
	struct conf_origin origins[CONF_SECTION_KEYS_MAX]; /* per certificate row */
};

/* [imap] client_quirks: the shipped client quirks (server/imap/
 * client-rules.c has what each switches off); NONE is a bit nothing reads. */
enum conf_imap_quirk {
	CONF_IMAP_QUIRK_NONE = 0,
	CONF_IMAP_QUIRK_THUNDERBIRD_CONDSTORE,
	CONF_IMAP_QUIRK_K9_COMPRESS,
	CONF_IMAP_QUIRK_COUNT,
};

struct loft_config {
	char *path;               /* file this was loaded from (absolute) */

	/* [server] */
	char *hostname;           /* used in greetings; default: gethostname() */
	int workers;              /* resolved: "auto" = number of cores */
	char *state_dir;          /* runtime state, pid file */
	char *mail_dir;           /* users' mail directories live below */
	char *users_file;         /* passwd-file style user database */
	char *local_domains;      /* space separated list, e.g. "localhost" */
	unsigned shutdown_timeout_ms; /* SIGTERM drain bound */
	enum conf_plaintext_auth plaintext_auth;
	unsigned storage_threads;  /* work pool for mailbox operations */
	unsigned hash_threads;     /* work pool for password hashing; 0 = cores */

	/* [tls] */
	char *tls_cert_file;
	char *tls_key_file;
	int tls_min_version;      /* TLS1_2_VERSION or TLS1_3_VERSION */
	char *tls_ciphers;        /* TLS <= 1.2 cipher list */
	char *tls_ciphersuites;   /* TLS 1.3 suites */
	unsigned tls_handshake_timeout_ms;
	unsigned tls_session_tickets;  /* TLS 1.3 tickets per handshake; 0 = none */

	/* [limits] */
	unsigned max_connections;          /* whole server */
	unsigned max_connections_per_ip;   /* per client network, see below */
	unsigned per_ip_ipv4_prefix;       /* IPv4 bits that make a client network */
	unsigned per_ip_ipv6_prefix;       /* IPv6 bits that make a client network */
	size_t max_line_length;            /* after authentication */
	size_t max_line_length_preauth;    /* before authentication */
	size_t max_literal_size;           /* APPENDLIMIT / SIZE */
	size_t max_literal_total_preauth;  /* literal bytes per command, before login */
	size_t max_literal_total;          /* ... after login, APPEND messages excepted */
	size_t data_max_line_length;       /* SMTP/LMTP message lines, CRLF included */
	int data_bare_newline;             /* enum data_newline_policy */
	int data_nul_bytes;                /* enum data_nul_policy */
	size_t max_output_buffer;          /* stop reading above this */
	unsigned preauth_timeout_ms;
	unsigned login_deadline_ms;        /* connect to login, absolute */
	unsigned idle_timeout_ms;          /* authenticated, not in IDLE */
	unsigned imap_idle_timeout_ms;     /* in IDLE, >= 29 minutes */
	unsigned max_nesting_depth;        /* IMAP list nesting in one command */
	unsigned max_search_depth;         /* NOT/OR/() nesting in IMAP SEARCH */
	unsigned max_search_contexts;      /* RFC 5267 updating searches per session */
	unsigned max_arguments;            /* IMAP arguments in one command */
	unsigned max_bad_commands;         /* invalid commands in a row, all protocols */
	unsigned message_max_parts;        /* struct msg_limits (storage/message/) */
	unsigned message_max_depth;
	size_t message_max_header_field;
	size_t message_max_kept;

	/* [log] */
	int log_level;            /* enum log_level */
	char *log_file;           /* "stderr" or a path */

	/* [storage] */
	uint64_t quota_bytes;     /* 0 = unlimited */
	uint64_t quota_messages;  /* 0 = unlimited */
	size_t lmdb_map_size;     /* sparse map size per user index */
	unsigned index_cache_size; /* open user indexes kept (LRU) */
	unsigned writer_threads;
	unsigned write_batch_messages;   /* messages per batch of ranged ops */
	unsigned tombstone_max_age_days; /* 0 = kept for ever */
	unsigned tombstone_max_count;    /* per mailbox, 0 = no limit */

	/* [auth] */
	int password_scheme;               /* enum conf_password_scheme */
	uint64_t argon2_memory;            /* bytes per ARGON2ID hash */
	unsigned argon2_passes;
	unsigned argon2_lanes;
	unsigned sha512_crypt_rounds;
	int store_scram;                   /* enum conf_store_scram */
	unsigned scram_iterations;
	bool store_cram_md5;
	unsigned mechanisms;               /* bit (1u << i) per [auth] mechanisms name i */
	size_t sasl_max_response;          /* base64 characters */
	char *app_passwords_file;
	char *login_state_file;
	unsigned login_state_flush_ms;
	char *auth_secret_file;
	unsigned fail_delay_ms;
	unsigned fail_delay_max_ms;
	unsigned fail_limit_address;       /* 0 = never refuse */
	unsigned fail_limit_user;          /* 0 = never refuse */
	unsigned fail_block_ms;
	unsigned fail_forget_ms;
	unsigned throttle_ipv4_prefix;
	unsigned throttle_ipv6_prefix;
	unsigned throttle_entries;
	char *initial_mailboxes;  /* conf/mailboxes.h list, "" = none */
	/* [pop3] */
	enum conf_pop3_delete pop3_delete;   /* DELE at QUIT: expunge or hide */
	bool pop3_mark_seen;                 /* RETR sets \Seen at QUIT */
	unsigned pop3_retention_days;        /* leave-on-server expiry; 0 = never */
	unsigned pop3_login_delay_ms;        /* LOGIN-DELAY; 0 = none */
	size_t pop3_retr_chunk;              /* bytes read per storage job */
	size_t pop3_read_ahead;              /* RETR read-ahead per session; 0 = off */
	size_t pop3_max_messages;            /* snapshot size limit; 0 = none */
	enum conf_uidl_import pop3_uidl_import;
	char *pop3_uidl_import_format;       /* Dovecot pop3_uidl_format style */
	/* [imap] */
	unsigned imap_compress_level;        /* COMPRESS=DEFLATE: 1..9 */
	unsigned imap_compress_window_bits;  /* our deflate window, 2^n bytes */
	unsigned imap_compress_mem_level;    /* deflate hash memory, 1..9 */
	char *imap_urlauth_submit_user;      /* may fetch submit+ URLs; "" = nobody */
	unsigned imap_max_append_messages;   /* MULTIAPPEND: messages per APPEND */
	size_t imap_metadata_max_value_size; /* METADATA: bytes of one value */
	unsigned imap_metadata_max_entries;  /* METADATA: entries per mailbox */
	char *imap_metadata_admin;           /* /shared/admin; NULL/"" = none */
	/* "NAME[/VERSION]: SWITCH ...; ..." (server/imap/client-rules.h);
	 * NULL: none */
	char *imap_client_rules;
	unsigned imap_client_quirks;         /* bit (1u << enum conf_imap_quirk) */
	unsigned imap_inprogress_interval_ms; /* INPROGRESS reports; 0: every step */
	unsigned imap_inprogress_step;       /* messages per step of a long command */

	/* [spam] (server/spam/) */
	bool spam_enabled;                   /* scan SMTP deliveries with rspamd */
	bool spam_scan_lmtp;                 /* ... and LMTP deliveries */
	char *spam_address;                  /* rspamd's scanner: IP literal */
	unsigned spam_port;
	char *spam_socket;                   /* or a UNIX socket (overrides) */
	unsigned spam_controller_port;       /* learning: same address */
	char *spam_controller_socket;
	char *spam_password;                 /* controller password, NULL = none */
	unsigned spam_connect_timeout_ms;
	unsigned spam_timeout_ms;            /* whole scan, connect included */
	unsigned spam_max_idle;              /* kept-alive connections per worker */
	unsigned spam_idle_timeout_ms;
	size_t spam_max_reply;               /* bytes of one rspamd reply */
	int spam_on_failure;                 /* enum conf_spam_handling */
	int spam_reject;
	int spam_soft_reject;
	int spam_greylist;
	int spam_add_header;
	int spam_rewrite_subject;
	bool spam_result_header;             /* X-Spamd-Result on scanned mail */
	bool spam_learn;                     /* learn from moves into/out of Junk */
	bool spam_learn_per_user;            /* rspamd statistics per user */
	unsigned spam_learn_queue;           /* messages waiting, at most */
	unsigned spam_learn_retries;
	unsigned spam_learn_backoff_ms;      /* first retry; doubles */
	int spool_sync;           /* enum store_spool_sync */

	/* [delivery] (LMTP, SMTP and loft deliver) */
	char *recipient_delimiter;         /* characters between user and detail */
	bool plus_addressing;              /* user+detail -> folder detail */
	char *postmaster_user;             /* who gets postmaster mail */
	int delivered_to;                  /* enum conf_delivered_to */
	bool quota_full_tempfail;          /* over quota: 452 4.2.2 (not 552) */
	unsigned max_recipients;           /* RCPTs per message */
	unsigned command_timeout_ms;       /* awaiting a command (RFC 5321 4.5.3.2.7) */
	unsigned data_timeout_ms;          /* awaiting message data */

	/* [smtp] (the SMTP delivery listener only) */
	unsigned smtp_greeting_delay_ms;   /* early talkers are refused */
	unsigned smtp_max_errors;          /* per session */
	bool smtp_require_auth;
	bool smtp_auth_without_tls;
	unsigned smtp_connection_rate;     /* per client network per minute; 0 = no limit */
	unsigned smtp_message_rate;        /* per client network per minute; 0 = no limit */
	char *smtp_dsn_relay_host;         /* NULL: DSN not offered */
	unsigned smtp_dsn_relay_port;
	unsigned smtp_dsn_timeout_ms;

	/* [dns] */
	char *dns_server;                  /* NULL = /etc/resolv.conf */
	unsigned dns_port;
	unsigned dns_timeout_ms;           /* per try */
	unsigned dns_retries;
	unsigned dns_cache_size;           /* answers per worker loop */
	unsigned dns_cache_max_ttl_ms;

	/* [mailauth] */
	unsigned auth_checks;              /* CONF_CHECK_* bits */
	bool auth_on_lmtp;
	char *authserv_id;                 /* default: hostname */
	unsigned auth_timeout_ms;          /* all checks of one message */
	int spf_fail_action;               /* CONF_ACT_TAG or CONF_ACT_REJECT */
	unsigned spf_lookup_limit;
	unsigned spf_void_limit;
	unsigned dkim_min_rsa_bits;
	unsigned dkim_max_rsa_bits;
	bool dkim_accept_sha1;
	unsigned dkim_max_signatures;
	unsigned dkim_clock_skew_ms;
	size_t auth_max_header;            /* header block kept per message */
	int dmarc_reject_action;           /* enum conf_auth_action */
	int dmarc_quarantine_action;
	char *public_suffix_file;
	char *dnsbl_zones;                 /* space separated, NULL = none */
	int dnsbl_action;                  /* CONF_ACT_TAG or CONF_ACT_REJECT */

	/* [sieve] (struct sieve_limits, server/sieve/sieve.h) */
	size_t sieve_max_script_size;
	unsigned sieve_max_scripts;
	unsigned sieve_max_actions;
	unsigned sieve_max_redirects;
	uint64_t sieve_max_cpu_steps;
	unsigned sieve_max_nesting;
	unsigned sieve_max_include_depth;
	size_t sieve_max_variable_size;
	unsigned sieve_max_variables;
	size_t sieve_max_body_size;
	size_t sieve_max_header_size;
	uint64_t sieve_vacation_min_period_ms;
	uint64_t sieve_vacation_max_period_ms;
	uint64_t sieve_vacation_default_period_ms;
	uint64_t sieve_duplicate_default_period_ms;
	uint64_t sieve_duplicate_max_period_ms;
	unsigned sieve_max_marks;
	char *sieve_global_dir;              /* :global includes; NULL = none */
	unsigned sieve_cache_size;           /* compiled scripts kept */

	/* [relay] (outgoing mail: redirect, vacation, notices) */
	char *relay_host;                    /* NULL: nothing can be sent */
	unsigned relay_port;
	int relay_tls;                       /* enum conf_tls_mode */
	unsigned relay_timeout_ms;
	char *relay_helo;                    /* NULL: [server] hostname */

	struct conf_listener *listeners;
	size_t n_listeners;
	struct conf_sni_cert *sni_certs;
	size_t n_sni_certs;

	/* Bookkeeping for error messages: one origin per row of the settings
	 * table (conf/settings.c), and the files read (main file + includes). */
	struct conf_origin *origins;
	char **files;
	size_t n_files;
};

/* Load and validate FILE. On success returns 0 and a new config in *cfg_r
 * (free with conf_free). On failure returns LOFT_EINVAL (the configuration
 * is wrong) or LOFT_EIO (the file could not be read) and heap messages naming
 * file:line and the fix in *err_r, one line per error found (caller frees;
 * conf_print_errors prints them). Nothing else is touched. */
int conf_load(const char *file, struct loft_config **cfg_r, char **err_r);

/* Load from a string (tests); name is used in error messages. */
int conf_load_string(const char *name, const char *text,
		     struct loft_config **cfg_r, char **err_r);

void conf_free(struct loft_config *cfg);

/* Check file references (certificates readable, directories creatable);
 * conf_load only checks syntax and ranges. Returns 0 or LOFT_EINVAL with *err_r,
 * one line per problem found. */
int conf_check_files(const struct loft_config *cfg, char **err_r);

/* Print errs (from the functions above: one error per line) to out, each
 * line after prefix (e.g. "loft: "); NULL prints fallback instead. */
void conf_print_errors(FILE *out, const char *prefix, const char *errs, const char *fallback);

/* Compare a freshly loaded config with the running one before a SIGHUP
 * reload: returns 0 if every setting that differs is reloadable, else
 * LOFT_EINVAL with *err_r naming the first one that needs a restart
 * (file:line). */
int conf_check_reload(const struct loft_config *old, const struct loft_config *cur,
		      char **err_r);

const char *conf_proto_name(enum conf_proto p);
const char *conf_tls_mode_name(enum conf_tls_mode m);

/* Write docs/CONFIG.md-style Markdown (or the example loft.conf when
 * as_conf_file) generated from the settings table to fd. */
void conf_write_doc(int fd, bool as_conf_file);

#define LOFT_DEFAULT_CONFIG "/etc/loft/loft.conf"

#endif
