/* The settings table: one row per configuration key with its section, type,
 * default, range, reloadability and one-line doc. Adding a setting means adding
 * a field to struct loft_config and a row here; the loader, the reload check,
 * `loft config doc|example`, docs/CONFIG.md and conf/loft.conf follow. */
#include "conf/settings.h"

#include <string.h>

#include <openssl/ssl.h>

#include "conf/config.h"
#include "lib/log.h"

#define MS_S 1000ull
#define MS_M (60ull * MS_S)
#define MS_H (60ull * MS_M)
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

#define FIELD(type, f) offsetof(struct type, f), sizeof(((struct type *)0)->f)
#define MAIN(f) FIELD(loft_config, f)
#define LSTN(f) FIELD(conf_listener, f)
#define CERT(f) FIELD(conf_sni_cert, f)

static const struct conf_enum_name plaintext_names[] = {
	{ "never", CONF_PLAIN_NEVER },
	{ "loopback", CONF_PLAIN_LOOPBACK },
	{ "always", CONF_PLAIN_ALWAYS },
	{ NULL, 0 },
};

static const struct conf_enum_name scheme_names[] = {
	{ "ARGON2ID", CONF_SCHEME_ARGON2ID },
	{ "SHA512-CRYPT", CONF_SCHEME_SHA512_CRYPT },
	{ NULL, 0 },
};

static const struct conf_enum_name scram_names[] = {
	{ "no", CONF_SCRAM_NO },
	{ "sha256", CONF_SCRAM_SHA256 },
	{ "both", CONF_SCRAM_BOTH },
	{ NULL, 0 },
};

/* The SASL mechanisms, in auth's enum auth_mech order (the server maps them
 * by name; test-auth checks that every name is one auth knows). */
const struct conf_enum_name conf_mechanism_names[] = {
	{ "SCRAM-SHA-256-PLUS", 0 },
	{ "SCRAM-SHA-256", 1 },
	{ "SCRAM-SHA-1-PLUS", 2 },
	{ "SCRAM-SHA-1", 3 },
	{ "CRAM-MD5", 4 },
	{ "PLAIN", 5 },
	{ "LOGIN", 6 },
	{ NULL, 0 },
};

static const struct conf_enum_name tls_version_names[] = {
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
	{ NULL, 0 },
};

/* enum data_newline_policy and enum data_nul_policy (server/net/data-reader.h) */
static const struct conf_enum_name bare_newline_names[] = {
	{ "reject", 0 },
	{ "normalise", 1 },
	{ NULL, 0 },
};

static const struct conf_enum_name nul_names[] = {
	{ "reject", 0 },
	{ "strip", 1 },
	{ "keep", 2 },
	{ NULL, 0 },
};

static const struct conf_enum_name log_level_names[] = {
	{ "debug", LOG_LEVEL_DEBUG },
	{ "info", LOG_LEVEL_INFO },
	{ "warn", LOG_LEVEL_WARN },
	{ "error", LOG_LEVEL_ERROR },
	{ NULL, 0 },
};

static const struct conf_enum_name proto_names[] = {
	{ "imap", CONF_PROTO_IMAP },
	{ "pop3", CONF_PROTO_POP3 },
	{ "lmtp", CONF_PROTO_LMTP },
	{ "smtp", CONF_PROTO_SMTP },
	{ "sieve", CONF_PROTO_SIEVE },
	{ NULL, 0 },
};

static const struct conf_enum_name tls_mode_names[] = {
	{ "none", CONF_TLS_NONE },
	{ "starttls", CONF_TLS_STARTTLS },
	{ "implicit", CONF_TLS_IMPLICIT },
	{ NULL, 0 },
};

static const struct conf_enum_name pop3_delete_names[] = {
	{ "expunge", CONF_POP3_EXPUNGE },
	{ "hide", CONF_POP3_HIDE },
	{ NULL, 0 },
};

static const struct conf_enum_name uidl_import_names[] = {
	{ "none", CONF_UIDL_IMPORT_NONE },
	{ "dovecot-uidlist", CONF_UIDL_IMPORT_DOVECOT },
	{ NULL, 0 },
};

static const struct conf_enum_name spam_failure_names[] = {
	{ "tempfail", CONF_SPAM_TEMPFAIL },
	{ "accept", CONF_SPAM_ACCEPT },
	{ NULL, 0 },
};

static const struct conf_enum_name spam_reject_names[] = {
	{ "reject", CONF_SPAM_REJECT },
	{ "tempfail", CONF_SPAM_TEMPFAIL },
	{ "junk", CONF_SPAM_JUNK },
	{ "header", CONF_SPAM_HEADER },
	{ "ignore", CONF_SPAM_IGNORE },
	{ NULL, 0 },
};

static const struct conf_enum_name spam_defer_names[] = {
	{ "tempfail", CONF_SPAM_TEMPFAIL },
	{ "junk", CONF_SPAM_JUNK },
	{ "header", CONF_SPAM_HEADER },
	{ "ignore", CONF_SPAM_IGNORE },
	{ NULL, 0 },
};

static const struct conf_enum_name spam_mark_names[] = {
	{ "junk", CONF_SPAM_JUNK },
	{ "header", CONF_SPAM_HEADER },
	{ "ignore", CONF_SPAM_IGNORE },
	{ NULL, 0 },
};

/* enum store_spool_sync (storage/store.h) */
static const struct conf_enum_name spool_sync_names[] = {
	{ "file", 0 },
	{ "group", 1 },
	{ NULL, 0 },
};

static const struct conf_enum_name delivered_to_names[] = {
	{ "single", CONF_DELIVERED_TO_SINGLE },
	{ "always", CONF_DELIVERED_TO_ALWAYS },
	{ NULL, 0 },
};

/* [imap] client_quirks: enum conf_imap_quirk */
static const struct conf_enum_name imap_quirk_names[] = {
	{ "none", CONF_IMAP_QUIRK_NONE },
	{ "thunderbird-condstore", CONF_IMAP_QUIRK_THUNDERBIRD_CONDSTORE },
	{ "k9-compress", CONF_IMAP_QUIRK_K9_COMPRESS },
	{ NULL, 0 },
};

/* [mailauth] checks: bits CONF_CHECK_*; "none" sets a bit nothing reads */
static const struct conf_enum_name check_names[] = {
	{ "spf", 0 },
	{ "dkim", 1 },
	{ "dmarc", 2 },
	{ "none", 3 },
	{ NULL, 0 },
};

static const struct conf_enum_name tag_reject_names[] = {
	{ "tag", CONF_ACT_TAG },
	{ "reject", CONF_ACT_REJECT },
	{ NULL, 0 },
};

static const struct conf_enum_name action_names[] = {
	{ "tag", CONF_ACT_TAG },
	{ "quarantine", CONF_ACT_QUARANTINE },
	{ "reject", CONF_ACT_REJECT },
	{ NULL, 0 },
};

#define R CONF_F_RELOAD

const struct conf_setting conf_settings[] = {
	/* [server] */
	{ "server", "hostname", CONF_T_HOSTNAME, MAIN(hostname), NULL,
	  "the system host name (`gethostname()`)", 0, 0, NULL, R, "mail.example.org",
	  "Host name announced in greetings and Received: headers." },
	{ "server", "workers", CONF_T_UINT, MAIN(workers), "auto", NULL, 1, 256, NULL,
	  CONF_F_AUTO, NULL,
	  "Event-loop worker threads; auto = one per CPU core." },
	{ "server", "state_dir", CONF_T_PATH, MAIN(state_dir), "/var/lib/loft", NULL,
	  0, 0, NULL, 0, NULL,
	  "Directory for runtime state (pid file, indexes); created if missing." },
	{ "server", "mail_dir", CONF_T_PATH, MAIN(mail_dir), NULL, "`<state_dir>/mail`",
	  0, 0, NULL, 0, "/var/lib/loft/mail",
	  "Directory below which each user's Maildir lives." },
	{ "server", "users_file", CONF_T_PATH, MAIN(users_file), NULL, "`<state_dir>/users`",
	  0, 0, NULL, 0, "/etc/loft/users",
	  "passwd-file user database (`loft user`); re-read when it changes." },
	{ "server", "local_domains", CONF_T_DOMAINS, MAIN(local_domains), NULL,
	  "the host name", 0, 0, NULL, R, "example.org example.net",
	  "Space separated domains delivered locally; SMTP refuses all others." },
	{ "server", "shutdown_timeout", CONF_T_DURATION, MAIN(shutdown_timeout_ms), "10s",
	  NULL, 0, MS_H, NULL, R, NULL,
	  "How long SIGTERM waits for sessions to finish before closing them." },
	{ "server", "plaintext_auth", CONF_T_ENUM, MAIN(plaintext_auth), "loopback", NULL,
	  0, 0, plaintext_names, R, NULL,
	  "Allow passwords without TLS: never, from loopback only, or always." },
	{ "server", "storage_threads", CONF_T_UINT, MAIN(storage_threads), "64", NULL,
	  1, 1024, NULL, 0, NULL,
	  "Work-pool threads for mailbox operations (waiting on group commits)." },
	{ "server", "hash_threads", CONF_T_UINT, MAIN(hash_threads), "auto", NULL, 1, 256,
	  NULL, CONF_F_AUTO, NULL,
	  "Work-pool threads for password hashing; auto = one per CPU core." },

	/* [tls] */
	{ "tls", "cert_file", CONF_T_PATH, MAIN(tls_cert_file), NULL, "unset (no TLS)",
	  0, 0, NULL, R, "/etc/loft/cert.pem",
	  "PEM certificate chain, needed by listeners using STARTTLS or TLS." },
	{ "tls", "key_file", CONF_T_PATH, MAIN(tls_key_file), NULL, "unset (no TLS)",
	  0, 0, NULL, R, "/etc/loft/key.pem",
	  "PEM private key matching cert_file." },
	{ "tls", "min_version", CONF_T_ENUM, MAIN(tls_min_version), "TLSv1.2", NULL,
	  0, 0, tls_version_names, R, NULL,
	  "Lowest TLS version offered; nothing below TLS 1.2 is ever accepted." },
	{ "tls", "ciphers", CONF_T_CIPHERS, MAIN(tls_ciphers), "ECDHE+AESGCM:ECDHE+CHACHA20",
	  NULL, 0, 0, NULL, R, NULL,
	  "OpenSSL cipher list for TLS 1.2 (forward-secret AEAD by default)." },
	{ "tls", "ciphersuites", CONF_T_CIPHERS, MAIN(tls_ciphersuites),
	  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
	  NULL, 0, 0, NULL, R, NULL,
	  "OpenSSL TLS 1.3 cipher suites, colon separated." },
	{ "tls", "handshake_timeout", CONF_T_DURATION, MAIN(tls_handshake_timeout_ms), "30s",
	  NULL, 100, 10 * MS_M, NULL, R, NULL,
	  "Time a client gets to complete the TLS handshake." },
	{ "tls", "session_tickets", CONF_T_UINT, MAIN(tls_session_tickets), "1", NULL,
	  0, 8, NULL, R, NULL,
	  "TLS 1.3 session tickets per handshake, for resumption; 0 = none." },

	/* [limits] */
	{ "limits", "max_connections", CONF_T_UINT, MAIN(max_connections), "20000", NULL,
	  1, 1000000, NULL, R, NULL,
	  "Connections the whole server accepts at once." },
	{ "limits", "max_connections_per_ip", CONF_T_UINT, MAIN(max_connections_per_ip),
	  "64", NULL, 1, 1000000, NULL, R, NULL,
	  "Connections accepted at once from one client network (see the prefixes)." },
	{ "limits", "per_ip_ipv4_prefix", CONF_T_UINT, MAIN(per_ip_ipv4_prefix), "32", NULL,
	  1, 32, NULL, R, NULL,
	  "IPv4 prefix length counted as one client by max_connections_per_ip." },
	{ "limits", "per_ip_ipv6_prefix", CONF_T_UINT, MAIN(per_ip_ipv6_prefix), "64", NULL,
	  1, 128, NULL, R, NULL,
	  "IPv6 prefix length counted as one client (a host usually has a /64)." },
	{ "limits", "max_line_length", CONF_T_SIZE, MAIN(max_line_length), "65536", NULL,
	  64, 16 * MIB, NULL, R, NULL,
	  "Longest command line after login (RFC 7162 asks for at least 8192)." },
	{ "limits", "max_line_length_preauth", CONF_T_SIZE, MAIN(max_line_length_preauth),
	  "8192", NULL, 64, 16 * MIB, NULL, R, NULL,
	  "Longest command line before login." },
	{ "limits", "max_literal_size", CONF_T_SIZE, MAIN(max_literal_size), "50M", NULL,
	  1, 4 * GIB, NULL, R, NULL,
	  "Largest message accepted (IMAP APPENDLIMIT, SMTP/LMTP SIZE)." },
	{ "limits", "max_literal_total_preauth", CONF_T_SIZE, MAIN(max_literal_total_preauth),
	  "64K", NULL, 64, 16 * MIB, NULL, R, NULL,
	  "Literal bytes one IMAP command may carry before login, summed." },
	{ "limits", "max_literal_total", CONF_T_SIZE, MAIN(max_literal_total), "1M", NULL,
	  64, 1 * GIB, NULL, R, NULL,
	  "Literal bytes per IMAP command after login, message uploads excepted." },
	{ "limits", "data_max_line_length", CONF_T_SIZE, MAIN(data_max_line_length), "1000",
	  NULL, 1000, 16 * MIB, NULL, R, NULL,
	  "Longest SMTP/LMTP message line, CRLF included (RFC 5321: 1000)." },
	{ "limits", "data_bare_newline", CONF_T_ENUM, MAIN(data_bare_newline), "normalise",
	  NULL, 0, 0, bare_newline_names, R, NULL,
	  "Message lines ending in a bare LF or CR: reject, or normalise to CRLF." },
	{ "limits", "data_nul_bytes", CONF_T_ENUM, MAIN(data_nul_bytes), "reject", NULL,
	  0, 0, nul_names, R, NULL,
	  "NUL bytes in SMTP/LMTP messages: reject the message, strip or keep." },
	{ "limits", "max_output_buffer", CONF_T_SIZE, MAIN(max_output_buffer), "256K", NULL,
	  1 * KIB, 1 * GIB, NULL, R, NULL,
	  "Queued output per connection above which reading pauses." },
	{ "limits", "preauth_timeout", CONF_T_DURATION, MAIN(preauth_timeout_ms), "60s",
	  NULL, 100, MS_H, NULL, R, NULL,
	  "Idle time allowed before login." },
	{ "limits", "login_deadline", CONF_T_DURATION, MAIN(login_deadline_ms), "3m",
	  NULL, 100, MS_H, NULL, R, NULL,
	  "Time from connect to login, however active the client (IMAP, POP3)." },
	{ "limits", "idle_timeout", CONF_T_DURATION, MAIN(idle_timeout_ms), "30m", NULL,
	  100, 24 * MS_H, NULL, R, NULL,
	  "Idle time allowed after login (RFC 9051 asks for at least 30m)." },
	{ "limits", "imap_idle_timeout", CONF_T_DURATION, MAIN(imap_idle_timeout_ms), "30m",
	  NULL, 29 * MS_M, 24 * MS_H, NULL, R, NULL,
	  "Idle time allowed in IMAP IDLE; at least 29m (RFC 2177)." },
	{ "limits", "max_nesting_depth", CONF_T_UINT, MAIN(max_nesting_depth), "32", NULL,
	  2, 256, NULL, R, NULL,
	  "Deepest nesting of parenthesized lists in one IMAP command." },
	{ "limits", "max_search_depth", CONF_T_UINT, MAIN(max_search_depth), "256", NULL,
	  8, 4096, NULL, R, NULL,
	  "Deepest nesting of NOT, OR and lists in an IMAP SEARCH/SORT/THREAD." },
	{ "limits", "max_search_contexts", CONF_T_UINT, MAIN(max_search_contexts), "16", NULL,
	  0, 1024, NULL, R, NULL,
	  "Updating searches (RETURN (UPDATE), RFC 5267) one IMAP session keeps." },
	{ "limits", "max_arguments", CONF_T_UINT, MAIN(max_arguments), "10000", NULL,
	  32, 1000000, NULL, R, NULL,
	  "Arguments in one IMAP command, list members included." },
	{ "limits", "max_bad_commands", CONF_T_UINT, MAIN(max_bad_commands), "20", NULL,
	  1, 1000, NULL, R, NULL,
	  "Invalid commands in a row that end a connection (every protocol)." },
	{ "limits", "message_max_parts", CONF_T_UINT, MAIN(message_max_parts), "10000", NULL,
	  1, 1000000, NULL, R, NULL,
	  "MIME parts parsed per message; more stay inside their parent." },
	{ "limits", "message_max_depth", CONF_T_UINT, MAIN(message_max_depth), "100", NULL,
	  1, 1000, NULL, R, NULL,
	  "Nesting of multipart and message/rfc822 parts parsed per message." },
	{ "limits", "message_max_header_field", CONF_T_SIZE, MAIN(message_max_header_field),
	  "256K", NULL, 1 * KIB, 64 * MIB, NULL, R, NULL,
	  "Bytes of one header field kept for ENVELOPE and BODYSTRUCTURE." },
	{ "limits", "message_max_kept", CONF_T_SIZE, MAIN(message_max_kept), "4M", NULL,
	  64 * KIB, 1 * GIB, NULL, R, NULL,
	  "Bytes of header fields kept per message in the parse cache." },

	/* [log] */
	{ "log", "level", CONF_T_ENUM, MAIN(log_level), "info", NULL, 0, 0,
	  log_level_names, R, NULL,
	  "Least severe messages written." },
	{ "log", "file", CONF_T_PATH, MAIN(log_file), "stderr", NULL, 0, 0, NULL,
	  R | CONF_F_STDERR, NULL,
	  "Where log lines go: stderr or a file (appended, reopened on SIGHUP)." },

	/* [storage] */
	{ "storage", "quota_bytes", CONF_T_SIZE, MAIN(quota_bytes), "0", NULL, 0, UINT64_MAX,
	  NULL, R, NULL,
	  "Per-user storage quota in bytes (RFC 9208 STORAGE); 0 = unlimited." },
	{ "storage", "quota_messages", CONF_T_UINT, MAIN(quota_messages), "0", NULL,
	  0, UINT64_MAX, NULL, R, NULL,
	  "Per-user message count quota (RFC 9208 MESSAGE); 0 = unlimited." },
	{ "storage", "lmdb_map_size", CONF_T_SIZE, MAIN(lmdb_map_size), "4G", NULL,
	  1 * MIB, 1024 * GIB, NULL, 0, NULL,
	  "Sparse LMDB map size per user index (upper bound, not disk usage)." },
	{ "storage", "index_cache_size", CONF_T_UINT, MAIN(index_cache_size), "1024", NULL,
	  1, 1000000, NULL, 0, NULL,
	  "User indexes kept open (least recently used are closed)." },
	{ "storage", "writer_threads", CONF_T_UINT, MAIN(writer_threads), "2", NULL,
	  1, 64, NULL, 0, NULL,
	  "Threads committing index writes (group commit per user)." },
	{ "storage", "write_batch_messages", CONF_T_UINT, MAIN(write_batch_messages), "1000",
	  NULL, 1, 1000000, NULL, 0, NULL,
	  "Messages per durable batch of a flag change, expunge or copy over many." },
	{ "storage", "tombstone_max_age_days", CONF_T_UINT, MAIN(tombstone_max_age_days), "90",
	  NULL, 0, 36500, NULL, 0, NULL,
	  "Days QRESYNC expunge records stay (then: known UIDs); 0 = for ever." },
	{ "storage", "tombstone_max_count", CONF_T_UINT, MAIN(tombstone_max_count), "100000",
	  NULL, 0, UINT32_MAX, NULL, 0, NULL,
	  "QRESYNC expunge records kept per mailbox, oldest pruned; 0 = all." },
	{ "storage", "initial_mailboxes", CONF_T_MAILBOXES, MAIN(initial_mailboxes),
	  "Drafts \\Drafts, Sent \\Sent, Trash \\Trash, Junk \\Junk, Archive \\Archive", NULL,
	  0, 0, NULL, R, NULL,
	  "Mailboxes made and subscribed at a user's first login; empty = none." },
	{ "storage", "spool_sync", CONF_T_ENUM, MAIN(spool_sync), "group", NULL, 0, 0,
	  spool_sync_names, 0, NULL,
	  "Delivered messages made durable: group (one syncfs a batch) or file." },

	/* [auth] */
	{ "auth", "password_scheme", CONF_T_ENUM, MAIN(password_scheme), "ARGON2ID", NULL,
	  0, 0, scheme_names, 0, NULL,
	  "Scheme of new passwords (`loft user add/passwd`)." },
	{ "auth", "argon2_memory", CONF_T_SIZE, MAIN(argon2_memory), "64M", NULL,
	  64 * KIB, 4 * GIB, NULL, 0, NULL,
	  "ARGON2ID memory per hash (Dovecot's default is 64M)." },
	{ "auth", "argon2_passes", CONF_T_UINT, MAIN(argon2_passes), "3", NULL, 1, 1000,
	  NULL, 0, NULL,
	  "ARGON2ID passes over the memory (time cost)." },
	{ "auth", "argon2_lanes", CONF_T_UINT, MAIN(argon2_lanes), "1", NULL, 1, 64,
	  NULL, 0, NULL,
	  "ARGON2ID lanes (parallelism) per hash." },
	{ "auth", "sha512_crypt_rounds", CONF_T_UINT, MAIN(sha512_crypt_rounds), "50000",
	  NULL, 1000, 999999999, NULL, 0, NULL,
	  "Rounds of SHA512-CRYPT when password_scheme uses it." },
	{ "auth", "store_scram", CONF_T_ENUM, MAIN(store_scram), "no", NULL, 0, 0,
	  scram_names, 0, NULL,
	  "Also store SCRAM keys for new passwords: no, sha256, or both (+SHA-1)." },
	{ "auth", "scram_iterations", CONF_T_UINT, MAIN(scram_iterations), "4096", NULL,
	  4096, 10000000, NULL, 0, NULL,
	  "PBKDF2 iterations of new SCRAM keys (RFC 7677 minimum 4096)." },
	{ "auth", "store_cram_md5", CONF_T_BOOL, MAIN(store_cram_md5), "no", NULL, 0, 0,
	  NULL, 0, NULL,
	  "Also store a CRAM-MD5 context (weak: unsalted and fast to crack)." },
	{ "auth", "mechanisms", CONF_T_WORDS, MAIN(mechanisms), "PLAIN LOGIN", NULL, 0, 0,
	  conf_mechanism_names, 0, NULL,
	  "SASL mechanisms offered (add SCRAM-* with store_scram)." },
	{ "auth", "sasl_max_response", CONF_T_SIZE, MAIN(sasl_max_response), "16K", NULL,
	  256, 1 * MIB, NULL, 0, NULL,
	  "Longest SASL response accepted from a client (base64 characters)." },
	{ "auth", "app_passwords_file", CONF_T_PATH, MAIN(app_passwords_file), NULL,
	  "`<state_dir>/app-passwords`", 0, 0, NULL, 0, "/var/lib/loft/app-passwords",
	  "Per-device app passwords (managed with `loft user app-password`)." },
	{ "auth", "login_state_file", CONF_T_PATH, MAIN(login_state_file), NULL,
	  "`<state_dir>/logins`", 0, 0, NULL, 0, "/var/lib/loft/logins",
	  "Last login per user, service and device (written by the server)." },
	{ "auth", "login_state_flush", CONF_T_DURATION, MAIN(login_state_flush_ms), "60s",
	  NULL, 1 * MS_S, MS_H, NULL, 0, NULL,
	  "How often changed login state is written (fsync) to its file." },
	{ "auth", "secret_file", CONF_T_PATH, MAIN(auth_secret_file), NULL,
	  "`<state_dir>/auth-secret`", 0, 0, NULL, 0, "/var/lib/loft/auth-secret",
	  "Random key for SCRAM salts of unknown users (made if missing)." },
	{ "auth", "fail_delay", CONF_T_DURATION, MAIN(fail_delay_ms), "1s", NULL, 0,
	  MS_M, NULL, 0, NULL,
	  "Delay before answering a failed login; doubles per failure." },
	{ "auth", "fail_delay_max", CONF_T_DURATION, MAIN(fail_delay_max_ms), "15s", NULL,
	  0, 10 * MS_M, NULL, 0, NULL,
	  "Cap on the delay after failed logins." },
	{ "auth", "fail_limit_address", CONF_T_UINT, MAIN(fail_limit_address), "20", NULL,
	  0, 1000000, NULL, 0, NULL,
	  "Failures from one network before it is refused (0 = never)." },
	{ "auth", "fail_limit_user", CONF_T_UINT, MAIN(fail_limit_user), "10", NULL,
	  0, 1000000, NULL, 0, NULL,
	  "Failures for one user name before it is refused (0 = never)." },
	{ "auth", "fail_block_time", CONF_T_DURATION, MAIN(fail_block_ms), "15m", NULL,
	  1 * MS_S, 24 * MS_H, NULL, 0, NULL,
	  "How long a refused network or user stays refused." },
	{ "auth", "fail_forget_time", CONF_T_DURATION, MAIN(fail_forget_ms), "15m", NULL,
	  1 * MS_S, 24 * MS_H, NULL, 0, NULL,
	  "Quiet time after which failures are forgotten." },
	{ "auth", "throttle_ipv4_prefix", CONF_T_UINT, MAIN(throttle_ipv4_prefix), "32",
	  NULL, 1, 32, NULL, 0, NULL,
	  "IPv4 failures are counted per network of this prefix length." },
	{ "auth", "throttle_ipv6_prefix", CONF_T_UINT, MAIN(throttle_ipv6_prefix), "64",
	  NULL, 1, 128, NULL, 0, NULL,
	  "IPv6 failures are counted per network of this prefix length." },
	{ "auth", "throttle_entries", CONF_T_UINT, MAIN(throttle_entries), "65536", NULL,
	  512, 16777216, NULL, 0, NULL,
	  "Networks (and users) tracked at once; 32 bytes each, fixed." },

	/* [pop3] */
	{ "pop3", "delete", CONF_T_ENUM, MAIN(pop3_delete), "expunge", NULL, 0, 0,
	  pop3_delete_names, R, NULL,
	  "DELE at QUIT: expunge, or hide ($POP3Deleted: kept for IMAP)." },
	{ "pop3", "mark_seen", CONF_T_BOOL, MAIN(pop3_mark_seen), "yes", NULL, 0, 0, NULL,
	  R, NULL,
	  "Whether messages retrieved with RETR get \\Seen at QUIT." },
	{ "pop3", "retention_days", CONF_T_UINT, MAIN(pop3_retention_days), "0", NULL,
	  0, 36500, NULL, R, NULL,
	  "Days a message POP3 retrieved is kept after arrival; 0 = for ever." },
	{ "pop3", "login_delay", CONF_T_DURATION, MAIN(pop3_login_delay_ms), "0", NULL,
	  0, 24 * MS_H, NULL, R, NULL,
	  "Least time between two POP3 logins of a user (LOGIN-DELAY); 0 = none." },
	{ "pop3", "retr_chunk_size", CONF_T_SIZE, MAIN(pop3_retr_chunk), "64K", NULL,
	  4 * KIB, 16 * MIB, NULL, R, NULL,
	  "Message bytes read per storage job while RETR/TOP stream." },
	{ "pop3", "read_ahead", CONF_T_SIZE, MAIN(pop3_read_ahead), "256K", NULL,
	  0, 64 * MIB, NULL, R, NULL,
	  "Messages read ahead of RETR per session, in bytes; 0 = none." },
	{ "pop3", "max_messages", CONF_T_UINT, MAIN(pop3_max_messages), "0", NULL,
	  0, UINT32_MAX, NULL, R, NULL,
	  "Messages a POP3 session lists (the oldest first); 0 = all." },
	{ "pop3", "uidl_import", CONF_T_ENUM, MAIN(pop3_uidl_import), "none", NULL, 0, 0,
	  uidl_import_names, R, NULL,
	  "Keep a previous server's UIDLs: none or dovecot-uidlist (see docs)." },
	{ "pop3", "uidl_import_format", CONF_T_STRING, MAIN(pop3_uidl_import_format),
	  "%08Xu%08Xv", NULL, 0, 0, NULL, R, NULL,
	  "UIDL of an imported message without a P field (%u %v %f, %08X...)." },

	/* [spam] */
	{ "spam", "enabled", CONF_T_BOOL, MAIN(spam_enabled), "no", NULL, 0, 0, NULL, R, NULL,
	  "Ask rspamd about every message delivered over SMTP." },
	{ "spam", "scan_lmtp", CONF_T_BOOL, MAIN(spam_scan_lmtp), "no", NULL, 0, 0, NULL, R,
	  NULL,
	  "Also ask about LMTP deliveries (usually the MTA scanned them)." },
	{ "spam", "rspamd_address", CONF_T_ADDRESS, MAIN(spam_address), "127.0.0.1", NULL, 0, 0,
	  NULL, R, NULL,
	  "rspamd's IP address (a literal: no name is ever looked up)." },
	{ "spam", "rspamd_port", CONF_T_UINT, MAIN(spam_port), "11333", NULL, 1, 65535, NULL, R,
	  NULL,
	  "Port of rspamd's scanner (normal worker) for /checkv2." },
	{ "spam", "rspamd_socket", CONF_T_PATH, MAIN(spam_socket), NULL, "unset (use address)",
	  0, 0, NULL, R, "/run/rspamd/normal.sock",
	  "UNIX socket of rspamd's scanner; overrides rspamd_address and _port." },
	{ "spam", "controller_port", CONF_T_UINT, MAIN(spam_controller_port), "11334", NULL,
	  1, 65535, NULL, 0, NULL,
	  "Port of rspamd's controller (learn_spam/learn_ham), same address." },
	{ "spam", "controller_socket", CONF_T_PATH, MAIN(spam_controller_socket), NULL,
	  "unset (use address)", 0, 0, NULL, 0, "/run/rspamd/controller.sock",
	  "UNIX socket of rspamd's controller; overrides controller_port." },
	{ "spam", "password", CONF_T_STRING, MAIN(spam_password), NULL, "unset (none sent)",
	  0, 0, NULL, 0, "secret",
	  "rspamd controller password for learning (its enable_password)." },
	{ "spam", "connect_timeout", CONF_T_DURATION, MAIN(spam_connect_timeout_ms), "2s",
	  NULL, 10, MS_M, NULL, R, NULL,
	  "Time to connect to rspamd before the scan counts as failed." },
	{ "spam", "timeout", CONF_T_DURATION, MAIN(spam_timeout_ms), "15s", NULL, 100,
	  10 * MS_M, NULL, R, NULL,
	  "Time for a whole scan (connect, send, verdict); then on_failure." },
	{ "spam", "max_idle_connections", CONF_T_UINT, MAIN(spam_max_idle), "4", NULL, 0,
	  1024, NULL, R, NULL,
	  "Kept-alive connections to rspamd per worker; 0 = one per scan." },
	{ "spam", "idle_timeout", CONF_T_DURATION, MAIN(spam_idle_timeout_ms), "20s", NULL,
	  100, MS_H, NULL, R, NULL,
	  "How long an unused kept-alive connection stays open." },
	{ "spam", "max_reply_size", CONF_T_SIZE, MAIN(spam_max_reply), "1M", NULL,
	  1 * KIB, 64 * MIB, NULL, R, NULL,
	  "Largest rspamd reply read; a larger one fails the scan." },
	{ "spam", "on_failure", CONF_T_ENUM, MAIN(spam_on_failure), "tempfail", NULL, 0, 0,
	  spam_failure_names, R, NULL,
	  "rspamd down or slow: tempfail (451) or accept unscanned with a header." },
	{ "spam", "reject", CONF_T_ENUM, MAIN(spam_reject), "reject", NULL, 0, 0,
	  spam_reject_names, R, NULL,
	  "rspamd says reject: reject (550 on SMTP, else junk), tempfail, junk, ..." },
	{ "spam", "soft_reject", CONF_T_ENUM, MAIN(spam_soft_reject), "tempfail", NULL, 0, 0,
	  spam_defer_names, R, NULL,
	  "rspamd says soft reject: tempfail (451), junk, header or ignore." },
	{ "spam", "greylist", CONF_T_ENUM, MAIN(spam_greylist), "tempfail", NULL, 0, 0,
	  spam_defer_names, R, NULL,
	  "rspamd says greylist: tempfail (451), junk, header or ignore." },
	{ "spam", "add_header", CONF_T_ENUM, MAIN(spam_add_header), "junk", NULL, 0, 0,
	  spam_mark_names, R, NULL,
	  "rspamd says add header: junk (X-Spam, into Junk), header or ignore." },
	{ "spam", "rewrite_subject", CONF_T_ENUM, MAIN(spam_rewrite_subject), "junk", NULL,
	  0, 0, spam_mark_names, R, NULL,
	  "rspamd says rewrite subject: junk, header or ignore (no rewriting)." },
	{ "spam", "result_header", CONF_T_BOOL, MAIN(spam_result_header), "yes", NULL, 0, 0,
	  NULL, R, NULL,
	  "Add X-Spamd-Result (score and symbols) to every scanned message." },
	{ "spam", "learn", CONF_T_BOOL, MAIN(spam_learn), "no", NULL, 0, 0, NULL, 0, NULL,
	  "Teach rspamd from messages users move into or out of Junk." },
	{ "spam", "learn_per_user", CONF_T_BOOL, MAIN(spam_learn_per_user), "no", NULL, 0, 0,
	  NULL, 0, NULL,
	  "Send the user as Deliver-To (rspamd per_user statistics)." },
	{ "spam", "learn_queue", CONF_T_UINT, MAIN(spam_learn_queue), "1000", NULL, 1,
	  1000000, NULL, 0, NULL,
	  "Messages waiting to be learned, at most; more are dropped and counted." },
	{ "spam", "learn_retries", CONF_T_UINT, MAIN(spam_learn_retries), "5", NULL, 0, 100,
	  NULL, 0, NULL,
	  "Attempts after the first when rspamd cannot be reached." },
	{ "spam", "learn_backoff", CONF_T_DURATION, MAIN(spam_learn_backoff_ms), "2s", NULL,
	  10, MS_H, NULL, 0, NULL,
	  "Wait before the first retry of a learn; doubles each time." },
	/* [delivery] */
	{ "delivery", "recipient_delimiter", CONF_T_STRING, MAIN(recipient_delimiter), "+",
	  NULL, 0, 0, NULL, R, NULL,
	  "Characters that separate user and detail in user+detail@domain." },
	{ "delivery", "plus_addressing", CONF_T_BOOL, MAIN(plus_addressing), "yes", NULL, 0, 0,
	  NULL, R, NULL,
	  "Deliver user+detail to the folder detail when it exists, else INBOX." },
	{ "delivery", "postmaster", CONF_T_STRING, MAIN(postmaster_user), "postmaster", NULL,
	  0, 0, NULL, R, NULL,
	  "Local user who gets mail for postmaster (RFC 5321 4.5.1)." },
	{ "delivery", "delivered_to", CONF_T_ENUM, MAIN(delivered_to), "single", NULL, 0, 0,
	  delivered_to_names, R, NULL,
	  "Delivered-To: single (one recipient only: files shared) or always." },
	{ "delivery", "quota_full_tempfail", CONF_T_BOOL, MAIN(quota_full_tempfail), "no", NULL,
	  0, 0, NULL, R, NULL,
	  "Over quota: 452 4.2.2 (the sender retries) instead of 552 5.2.2." },
	{ "delivery", "max_recipients", CONF_T_UINT, MAIN(max_recipients), "1000", NULL,
	  1, 100000, NULL, R, NULL,
	  "Recipients accepted per message; RFC 5321 asks for at least 100." },
	{ "delivery", "command_timeout", CONF_T_DURATION, MAIN(command_timeout_ms), "5m", NULL,
	  100, MS_H, NULL, R, NULL,
	  "Wait for the next LMTP/SMTP command (RFC 5321 4.5.3.2.7: 5m or more)." },
	{ "delivery", "data_timeout", CONF_T_DURATION, MAIN(data_timeout_ms), "5m", NULL,
	  100, MS_H, NULL, R, NULL,
	  "Wait for more of a message during DATA or BDAT." },

	/* [smtp] */
	{ "smtp", "greeting_delay", CONF_T_DURATION, MAIN(smtp_greeting_delay_ms), "1s", NULL,
	  0, MS_M, NULL, R, NULL,
	  "Wait before the greeting; a client talking first is refused (0 = off)." },
	{ "smtp", "max_errors", CONF_T_UINT, MAIN(smtp_max_errors), "20", NULL, 1, 100000,
	  NULL, R, NULL,
	  "Error replies in one session after which it is closed." },
	{ "smtp", "require_auth", CONF_T_BOOL, MAIN(smtp_require_auth), "no", NULL, 0, 0,
	  NULL, R, NULL,
	  "Accept mail only from clients that logged in with AUTH." },
	{ "smtp", "auth_without_tls", CONF_T_BOOL, MAIN(smtp_auth_without_tls), "no", NULL,
	  0, 0, NULL, R, NULL,
	  "Offer AUTH before TLS too (plaintext_auth still rules PLAIN and LOGIN)." },
	{ "smtp", "connection_rate", CONF_T_UINT, MAIN(smtp_connection_rate), "600", NULL,
	  0, 1000000, NULL, R, NULL,
	  "Connections per minute from one client network; 0 = no limit." },
	{ "smtp", "message_rate", CONF_T_UINT, MAIN(smtp_message_rate), "600", NULL,
	  0, 1000000, NULL, R, NULL,
	  "Messages per minute from one client network; 0 = no limit." },
	{ "smtp", "dsn_relay_host", CONF_T_HOSTNAME, MAIN(smtp_dsn_relay_host), NULL,
	  "unset (DSN not offered)", 0, 0, NULL, R, "127.0.0.1",
	  "SMTP host that takes the delivery notifications (DSN) Loft sends." },
	{ "smtp", "dsn_relay_port", CONF_T_UINT, MAIN(smtp_dsn_relay_port), "25", NULL,
	  1, 65535, NULL, R, NULL,
	  "Port of dsn_relay_host." },
	{ "smtp", "dsn_timeout", CONF_T_DURATION, MAIN(smtp_dsn_timeout_ms), "30s", NULL,
	  100, 10 * MS_M, NULL, R, NULL,
	  "Time for each step of handing a notification to dsn_relay_host." },
	/* [imap] */
	{ "imap", "compress_level", CONF_T_UINT, MAIN(imap_compress_level), "6", NULL, 1, 9,
	  NULL, R, NULL,
	  "COMPRESS=DEFLATE effort for replies: 1 fastest .. 9 smallest." },
	{ "imap", "compress_window_bits", CONF_T_UINT, MAIN(imap_compress_window_bits), "12",
	  NULL, 9, 15, NULL, R, NULL,
	  "COMPRESS=DEFLATE window for replies, 2^n bytes (memory per connection)." },
	{ "imap", "compress_mem_level", CONF_T_UINT, MAIN(imap_compress_mem_level), "5", NULL,
	  1, 9, NULL, R, NULL,
	  "COMPRESS=DEFLATE hash memory for replies, 2^(n+9) bytes per connection." },
	{ "imap", "urlauth_submit_user", CONF_T_STRING, MAIN(imap_urlauth_submit_user), NULL,
	  "none (nobody fetches submit+ URLs)", 0, 0, NULL, R, "submission",
	  "User a submission server logs in as to fetch submit+ URLAUTH URLs." },
	{ "imap", "max_append_messages", CONF_T_UINT, MAIN(imap_max_append_messages), "1000",
	  NULL, 1, 100000, NULL, R, NULL,
	  "Messages one APPEND may carry (MULTIAPPEND, RFC 3502)." },
	{ "imap", "metadata_max_value_size", CONF_T_SIZE, MAIN(imap_metadata_max_value_size),
	  "64K", NULL, 1, 16 * MIB, NULL, R, NULL,
	  "Longest value of one METADATA entry (RFC 5464)." },
	{ "imap", "metadata_max_entries", CONF_T_UINT, MAIN(imap_metadata_max_entries), "100",
	  NULL, 1, 100000, NULL, R, NULL,
	  "METADATA entries per mailbox, and for the server." },
	{ "imap", "metadata_admin", CONF_T_STRING, MAIN(imap_metadata_admin), NULL,
	  "none (no /shared/admin entry)", 0, 0, NULL, R, "mailto:postmaster@example.org",
	  "Value of the read-only server METADATA entry /shared/admin." },
	{ "imap", "client_rules", CONF_T_STRING, MAIN(imap_client_rules), NULL, "none", 0, 0,
	  NULL, R, "Thunderbird/102.: CONDSTORE QRESYNC; iPhone Mail: COMPRESS",
	  "Capabilities withheld by client ID: NAME[/VERSION]: CAP ...; ..." },
	{ "imap", "client_quirks", CONF_T_WORDS, MAIN(imap_client_quirks), "none", NULL, 0, 0,
	  imap_quirk_names, R, NULL,
	  "Shipped client quirk rules to turn on (see docs/PROTOCOLS.md)." },
	{ "imap", "inprogress_interval", CONF_T_DURATION, MAIN(imap_inprogress_interval_ms), "5s",
	  NULL, 0, 10 * MS_M, NULL, R, NULL,
	  "INPROGRESS: time between progress reports of a long command." },
	{ "imap", "inprogress_step", CONF_T_UINT, MAIN(imap_inprogress_step), "4096", NULL,
	  1, 1000000, NULL, R, NULL,
	  "Messages per step of SEARCH, COPY, MOVE, EXPUNGE (reports come between)." },
	/* [dns] */
	{ "dns", "resolver", CONF_T_ADDRESS, MAIN(dns_server), NULL,
	  "the servers of /etc/resolv.conf", 0, 0, NULL, R, "127.0.0.1",
	  "Recursive DNS resolver asked by the sender checks (IPv4 or IPv6)." },
	{ "dns", "resolver_port", CONF_T_UINT, MAIN(dns_port), "53", NULL, 1, 65535, NULL, R, NULL,
	  "UDP/TCP port of that resolver." },
	{ "dns", "timeout", CONF_T_DURATION, MAIN(dns_timeout_ms), "3s", NULL, 100, MS_M,
	  NULL, R, NULL,
	  "Wait for one try of a query; a query ends after timeout * (retries + 1)." },
	{ "dns", "retries", CONF_T_UINT, MAIN(dns_retries), "1", NULL, 0, 10, NULL, R, NULL,
	  "Tries of a query after the first (c-ares retries over the servers)." },
	{ "dns", "cache_size", CONF_T_UINT, MAIN(dns_cache_size), "4096", NULL, 0, 1000000,
	  NULL, R, NULL,
	  "DNS answers cached per worker loop (by their TTL); 0 = no cache." },
	{ "dns", "cache_max_ttl", CONF_T_DURATION, MAIN(dns_cache_max_ttl_ms), "1h", NULL,
	  1 * MS_S, 24 * MS_H, NULL, R, NULL,
	  "Longest time an answer is kept, whatever its TTL." },

	/* [mailauth] */
	{ "mailauth", "checks", CONF_T_WORDS, MAIN(auth_checks), "spf dkim dmarc", NULL, 0, 0,
	  check_names, R, NULL,
	  "SMTP sender checks: spf dkim dmarc (dmarc runs all three), or none." },
	{ "mailauth", "on_lmtp", CONF_T_BOOL, MAIN(auth_on_lmtp), "no", NULL, 0, 0, NULL, R,
	  NULL,
	  "Also check mail handed in over LMTP (usually checked by the MTA)." },
	{ "mailauth", "authserv_id", CONF_T_HOSTNAME, MAIN(authserv_id), NULL, "the host name",
	  0, 0, NULL, R, "mx.example.org",
	  "Name in our Authentication-Results headers; others with it are removed." },
	{ "mailauth", "timeout", CONF_T_DURATION, MAIN(auth_timeout_ms), "20s", NULL,
	  1 * MS_S, 10 * MS_M, NULL, R, NULL,
	  "Bound on the checks of one message; what is unfinished is a temperror." },
	{ "mailauth", "spf_fail", CONF_T_ENUM, MAIN(spf_fail_action), "tag", NULL, 0, 0,
	  tag_reject_names, R, NULL,
	  "SPF fail: tag (Authentication-Results only) or reject (550 5.7.23)." },
	{ "mailauth", "spf_lookup_limit", CONF_T_UINT, MAIN(spf_lookup_limit), "10", NULL,
	  1, 100, NULL, R, NULL,
	  "SPF terms causing DNS lookups per check (RFC 7208 4.6.4: 10)." },
	{ "mailauth", "spf_void_limit", CONF_T_UINT, MAIN(spf_void_limit), "2", NULL, 0, 100,
	  NULL, R, NULL,
	  "SPF lookups answering no records before permerror (RFC 7208: 2)." },
	{ "mailauth", "dkim_min_rsa_bits", CONF_T_UINT, MAIN(dkim_min_rsa_bits), "1024", NULL,
	  512, 4096, NULL, R, NULL,
	  "Smaller RSA keys make a DKIM policy result (RFC 8301: 1024)." },
	{ "mailauth", "dkim_max_rsa_bits", CONF_T_UINT, MAIN(dkim_max_rsa_bits), "8192", NULL,
	  2048, 16384, NULL, R, NULL,
	  "Larger RSA keys are refused before any RSA work (policy result)." },
	{ "mailauth", "dkim_accept_sha1", CONF_T_BOOL, MAIN(dkim_accept_sha1), "no", NULL,
	  0, 0, NULL, R, NULL,
	  "Count a valid rsa-sha1 signature as pass (RFC 8301 says policy)." },
	{ "mailauth", "dkim_max_signatures", CONF_T_UINT, MAIN(dkim_max_signatures), "8",
	  NULL, 1, 64, NULL, R, NULL,
	  "DKIM signatures verified per message; later ones get policy." },
	{ "mailauth", "dkim_clock_skew", CONF_T_DURATION, MAIN(dkim_clock_skew_ms), "5m", NULL,
	  0, 24 * MS_H, NULL, R, NULL,
	  "Tolerance for DKIM t= in the future and x= in the past." },
	{ "mailauth", "max_header", CONF_T_SIZE, MAIN(auth_max_header), "1M", NULL,
	  64 * KIB, 64 * MIB, NULL, R, NULL,
	  "Header block kept for DKIM and DMARC; beyond it they give policy." },
	{ "mailauth", "dmarc_reject", CONF_T_ENUM, MAIN(dmarc_reject_action), "reject", NULL,
	  0, 0, action_names, R, NULL,
	  "DMARC p=reject failure: reject (550 5.7.1), quarantine (Junk) or tag." },
	{ "mailauth", "dmarc_quarantine", CONF_T_ENUM, MAIN(dmarc_quarantine_action),
	  "quarantine", NULL, 0, 0, action_names, R, NULL,
	  "DMARC p=quarantine failure: quarantine (Junk), reject or tag." },
	{ "mailauth", "public_suffix_file", CONF_T_PATH, MAIN(public_suffix_file),
	  "/usr/share/publicsuffix/public_suffix_list.dat", NULL, 0, 0, NULL, R, NULL,
	  "Public Suffix List for DMARC organizational domains (Debian package)." },
	{ "mailauth", "dnsbl_zones", CONF_T_DOMAINS, MAIN(dnsbl_zones), NULL, "none", 0, 0,
	  NULL, R, "zen.spamhaus.org",
	  "DNS blocklists asked about each SMTP client address." },
	{ "mailauth", "dnsbl_action", CONF_T_ENUM, MAIN(dnsbl_action), "reject", NULL, 0, 0,
	  tag_reject_names, R, NULL,
	  "Listed client: reject (554 5.7.1) or tag (a header, then delivered)." },

	/* [sieve] */
	{ "sieve", "max_script_size", CONF_T_SIZE, MAIN(sieve_max_script_size), "1M", NULL,
	  1 * KIB, 64 * MIB, NULL, 0, NULL,
	  "Largest Sieve script (PUTSCRIPT, include, delivery)." },
	{ "sieve", "max_scripts", CONF_T_UINT, MAIN(sieve_max_scripts), "32", NULL, 1, 10000,
	  NULL, 0, NULL,
	  "Scripts one user may keep (ManageSieve HAVESPACE, PUTSCRIPT)." },
	{ "sieve", "max_actions", CONF_T_UINT, MAIN(sieve_max_actions), "32", NULL, 1, 10000,
	  NULL, 0, NULL,
	  "Actions one run may take; more is a runtime error (the mail is kept)." },
	{ "sieve", "max_redirects", CONF_T_UINT, MAIN(sieve_max_redirects), "4", NULL, 0, 100,
	  NULL, 0, NULL,
	  "Addresses one message may be redirected to." },
	{ "sieve", "max_cpu_steps", CONF_T_UINT, MAIN(sieve_max_cpu_steps), "1000000", NULL,
	  1000, 1000000000, NULL, 0, NULL,
	  "Commands, tests and comparisons one run may make (CPU bound)." },
	{ "sieve", "max_nesting", CONF_T_UINT, MAIN(sieve_max_nesting), "32", NULL, 2, 256,
	  NULL, 0, NULL,
	  "Deepest nesting of blocks and tests in a script." },
	{ "sieve", "max_include_depth", CONF_T_UINT, MAIN(sieve_max_include_depth), "10", NULL,
	  1, 100, NULL, 0, NULL,
	  "Deepest nesting of include (RFC 6609)." },
	{ "sieve", "max_variable_size", CONF_T_SIZE, MAIN(sieve_max_variable_size), "4K", NULL,
	  128, 1 * MIB, NULL, 0, NULL,
	  "Longest value of a variable (RFC 5229); longer values are cut." },
	{ "sieve", "max_variables", CONF_T_UINT, MAIN(sieve_max_variables), "128", NULL, 8,
	  100000, NULL, 0, NULL,
	  "Variables one script may set." },
	{ "sieve", "max_body_size", CONF_T_SIZE, MAIN(sieve_max_body_size), "1M", NULL,
	  1 * KIB, 64 * MIB, NULL, 0, NULL,
	  "Decoded bytes of each part the body test examines." },
	{ "sieve", "max_header_size", CONF_T_SIZE, MAIN(sieve_max_header_size), "256K", NULL,
	  1 * KIB, 64 * MIB, NULL, 0, NULL,
	  "Bytes of a message's header that tests read." },
	{ "sieve", "vacation_min_period", CONF_T_DURATION, MAIN(sieve_vacation_min_period_ms),
	  "24h", NULL, 0, 8760 * MS_H, NULL, 0, NULL,
	  "Shortest time between two vacation replies to one sender." },
	{ "sieve", "vacation_max_period", CONF_T_DURATION, MAIN(sieve_vacation_max_period_ms),
	  "2160h", NULL, 1 * MS_S, 8760 * MS_H, NULL, 0, NULL,
	  "Longest :days/:seconds of vacation (90 days)." },
	{ "sieve", "vacation_default_period", CONF_T_DURATION,
	  MAIN(sieve_vacation_default_period_ms), "168h", NULL, 1 * MS_S, 8760 * MS_H, NULL, 0,
	  NULL,
	  "Time between vacation replies to one sender without :days (7 days)." },
	{ "sieve", "duplicate_default_period", CONF_T_DURATION,
	  MAIN(sieve_duplicate_default_period_ms), "168h", NULL, 1 * MS_S, 8760 * MS_H, NULL, 0,
	  NULL,
	  "How long duplicate (RFC 7352) remembers an id without :seconds." },
	{ "sieve", "duplicate_max_period", CONF_T_DURATION, MAIN(sieve_duplicate_max_period_ms),
	  "720h", NULL, 1 * MS_S, 8760 * MS_H, NULL, 0, NULL,
	  "Longest :seconds duplicate may ask for." },
	{ "sieve", "max_marks", CONF_T_UINT, MAIN(sieve_max_marks), "10000", NULL, 10, 10000000,
	  NULL, 0, NULL,
	  "Vacation and duplicate marks kept per user (oldest dropped)." },
	{ "sieve", "global_dir", CONF_T_PATH, MAIN(sieve_global_dir), NULL,
	  "unset (no global scripts)", 0, 0, NULL, 0, "/etc/loft/sieve",
	  "Directory of scripts for include :global (NAME.sieve)." },
	{ "sieve", "cache_size", CONF_T_UINT, MAIN(sieve_cache_size), "1024", NULL, 1, 1000000,
	  NULL, 0, NULL,
	  "Compiled scripts kept in memory (until their file changes)." },

	/* [relay] */
	{ "relay", "smarthost", CONF_T_HOSTNAME, MAIN(relay_host), NULL,
	  "unset (redirect and vacation cannot send)", 0, 0, NULL, 0, "127.0.0.1",
	  "SMTP smarthost for mail Loft sends (Sieve redirect, vacation, notices)." },
	{ "relay", "smarthost_port", CONF_T_UINT, MAIN(relay_port), "25", NULL, 1, 65535, NULL, 0, NULL,
	  "Port of the smarthost." },
	{ "relay", "smarthost_tls", CONF_T_ENUM, MAIN(relay_tls), "none", NULL, 0, 0, tls_mode_names, 0,
	  NULL,
	  "none, starttls or implicit; TLS verifies the smarthost's certificate." },
	{ "relay", "timeout", CONF_T_DURATION, MAIN(relay_timeout_ms), "30s", NULL, 100,
	  10 * MS_M, NULL, 0, NULL,
	  "Time each step of handing a message to the smarthost may take." },
	{ "relay", "helo", CONF_T_HOSTNAME, MAIN(relay_helo), NULL, "[server] hostname", 0, 0,
	  NULL, 0, "mail.example.org",
	  "Name sent in EHLO to the smarthost." },
};
const size_t conf_n_settings = sizeof(conf_settings) / sizeof(conf_settings[0]);

static const struct conf_setting listener_rows[] = {
	{ "listener", "protocol", CONF_T_ENUM, LSTN(protocol), "imap", NULL, 0, 0,
	  proto_names, 0, NULL,
	  "Protocol spoken: imap, pop3, lmtp, smtp or sieve (ManageSieve)." },
	{ "listener", "address", CONF_T_ADDRESS, LSTN(address), "127.0.0.1", NULL, 0, 0,
	  NULL, 0, NULL,
	  "IPv4 or IPv6 address to bind, without brackets; 0.0.0.0 or :: for all." },
	{ "listener", "port", CONF_T_UINT, LSTN(port), NULL, "none, required without socket",
	  1, 65535, NULL, 0, "143",
	  "TCP port." },
	{ "listener", "tls", CONF_T_ENUM, LSTN(tls), "none", NULL, 0, 0, tls_mode_names,
	  0, NULL,
	  "none, starttls (STARTTLS/STLS) or implicit (TLS from the first byte)." },
	{ "listener", "socket", CONF_T_PATH, LSTN(socket), NULL, "unset (TCP)", 0, 0, NULL, 0,
	  "/run/loft/lmtp",
	  "UNIX socket to listen on instead of address and port (e.g. Postfix)." },
	{ "listener", "socket_mode", CONF_T_MODE, LSTN(socket_mode), "0660", NULL, 0, 07777,
	  NULL, 0, NULL,
	  "Permissions of the UNIX socket." },
	{ "listener", "socket_owner", CONF_T_STRING, LSTN(socket_owner), NULL,
	  "unset (the server's user)", 0, 0, NULL, 0, "postfix",
	  "User that owns the UNIX socket (needs root to change)." },
	{ "listener", "socket_group", CONF_T_STRING, LSTN(socket_group), NULL,
	  "unset (the server's group)", 0, 0, NULL, 0, "postfix",
	  "Group of the UNIX socket." },
};

static const struct conf_setting cert_rows[] = {
	{ "certificate", "server_name", CONF_T_HOSTNAME, CERT(server_name), NULL,
	  "none, required", 0, 0, NULL, R | CONF_F_REQUIRED | CONF_F_WILDCARD,
	  "mail.example.net",
	  "Host name the client asks for with SNI; *.example.net matches one label." },
	{ "certificate", "cert_file", CONF_T_PATH, CERT(cert_file), NULL, "none, required",
	  0, 0, NULL, R | CONF_F_REQUIRED, "/etc/loft/example.net.pem",
	  "PEM certificate chain for that name." },
	{ "certificate", "key_file", CONF_T_PATH, CERT(key_file), NULL, "none, required",
	  0, 0, NULL, R | CONF_F_REQUIRED, "/etc/loft/example.net.key",
	  "PEM private key matching cert_file." },
};

_Static_assert(sizeof(listener_rows) / sizeof(listener_rows[0]) <= CONF_SECTION_KEYS_MAX,
	       "conf_listener.origins too small");
_Static_assert(sizeof(cert_rows) / sizeof(cert_rows[0]) <= CONF_SECTION_KEYS_MAX,
	       "conf_sni_cert.origins too small");

const struct conf_section conf_sections[] = {
	{ "server", false, conf_settings + 0, 10,
	  "Identity, directories, workers and authentication policy." },
	{ "tls", false, conf_settings + 10, 7,
	  "The default certificate and the TLS versions and ciphers offered." },
	{ "limits", false, conf_settings + 17, 26,
	  "Bounds on connections, input sizes, command shapes and idle times." },
	{ "log", false, conf_settings + 43, 2,
	  "Log verbosity and destination." },
	{ "storage", false, conf_settings + 45, 10,
	  "Quotas, the mail index and the mailboxes new users get." },
	{ "auth", false, conf_settings + 55, 23,
	  "Password hashing, stored credentials, SASL mechanisms, app passwords, "
	  "login state and the throttling of failed logins." },
	{ "pop3", false, conf_settings + 78, 9,
	  "What POP3 does to the mailbox it shares with IMAP devices (docs/PROTOCOLS.md)." },
	{ "spam", false, conf_settings + 87, 25,
	  "Spam verdicts from rspamd at delivery and learning from the Junk mailbox "
	  "(docs/PROTOCOLS.md \"Spam filtering\"). Loft talks to rspamd only, at "
	  "the configured literal address or socket." },
	{ "delivery", false, conf_settings + 112, 8,
	  "Mail delivery over LMTP and SMTP and by `loft deliver`: recipients, "
	  "plus-addressing, trace headers, quota replies and timeouts." },
	{ "smtp", false, conf_settings + 120, 9,
	  "The SMTP delivery listener (mail from the internet for local_domains): "
	  "early talkers, error and rate limits, AUTH and delivery notifications." },
	{ "imap", false, conf_settings + 129, 12,
	  "IMAP extensions: COMPRESS=DEFLATE memory and effort, URLAUTH submission, "
	  "MULTIAPPEND size, METADATA limits and /shared/admin, INPROGRESS reports, and "
	  "the capabilities withheld from "
	  "clients by their ID "
	  "(docs/PROTOCOLS.md \"Capability switches\")." },
	{ "dns", false, conf_settings + 141, 6,
	  "The resolver the sender checks ask (c-ares on each worker loop) and its cache." },
	{ "mailauth", false, conf_settings + 147, 18,
	  "Sender checks of mail received over SMTP: SPF, DKIM, DMARC, DNS "
	  "blocklists, the Authentication-Results header and the actions taken." },
	{ "sieve", false, conf_settings + 165, 19,
	  "Sieve filtering at delivery and ManageSieve: the limits of scripts and runs, "
	  "vacation and duplicate tracking (docs/PROTOCOLS.md)." },
	{ "relay", false, conf_settings + 184, 5,
	  "The SMTP smarthost that takes the mail Loft sends itself (Sieve redirect, "
	  "vacation replies, reject notices)." },
	{ "listener", true, listener_rows, sizeof(listener_rows) / sizeof(listener_rows[0]),
	  "One section per listening socket, `[listener NAME]` with a unique NAME. At "
	  "least one is needed to serve. Listeners cannot change on reload." },
	{ "certificate", true, cert_rows, sizeof(cert_rows) / sizeof(cert_rows[0]),
	  "Extra certificates chosen by the name the client sends with SNI, "
	  "`[certificate NAME]` with a unique NAME. Clients that send no name or an "
	  "unknown one get [tls] cert_file." },
};
const size_t conf_n_sections = sizeof(conf_sections) / sizeof(conf_sections[0]);

const struct conf_section *conf_section_find(const char *name)
{
	for (size_t i = 0; i < conf_n_sections; i++)
		if (strcmp(conf_sections[i].name, name) == 0)
			return &conf_sections[i];
	return NULL;
}

const struct conf_setting *conf_setting_find(const struct conf_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->n_rows; i++)
		if (strcmp(sec->rows[i].key, key) == 0)
			return &sec->rows[i];
	return NULL;
}

const struct conf_section *conf_section_of_key(const char *key)
{
	for (size_t i = 0; i < conf_n_sections; i++)
		if (conf_setting_find(&conf_sections[i], key) != NULL)
			return &conf_sections[i];
	return NULL;
}

size_t conf_setting_index(const struct conf_setting *row)
{
	return (size_t)(row - conf_settings);
}

const char *conf_proto_name(enum conf_proto p)
{
	for (const struct conf_enum_name *n = proto_names; n->name != NULL; n++)
		if (n->value == (int)p)
			return n->name;
	return "?";
}

const char *conf_tls_mode_name(enum conf_tls_mode m)
{
	for (const struct conf_enum_name *n = tls_mode_names; n->name != NULL; n++)
		if (n->value == (int)m)
			return n->name;
	return "?";
}
