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
};
const size_t conf_n_settings = sizeof(conf_settings) / sizeof(conf_settings[0]);

static const struct conf_setting listener_rows[] = {
	{ "listener", "protocol", CONF_T_ENUM, LSTN(protocol), "imap", NULL, 0, 0,
	  proto_names, 0, NULL,
	  "Protocol spoken: imap, pop3, lmtp or smtp." },
	{ "listener", "address", CONF_T_ADDRESS, LSTN(address), "127.0.0.1", NULL, 0, 0,
	  NULL, 0, NULL,
	  "IPv4 or IPv6 address to bind, without brackets; 0.0.0.0 or :: for all." },
	{ "listener", "port", CONF_T_UINT, LSTN(port), NULL, "none, required", 1, 65535,
	  NULL, CONF_F_REQUIRED, "143",
	  "TCP port." },
	{ "listener", "tls", CONF_T_ENUM, LSTN(tls), "none", NULL, 0, 0, tls_mode_names,
	  0, NULL,
	  "none, starttls (STARTTLS/STLS) or implicit (TLS from the first byte)." },
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
	{ "limits", false, conf_settings + 17, 24,
	  "Bounds on connections, input sizes, command shapes and idle times." },
	{ "log", false, conf_settings + 41, 2,
	  "Log verbosity and destination." },
	{ "storage", false, conf_settings + 43, 9,
	  "Quotas, the mail index and the mailboxes new users get." },
	{ "auth", false, conf_settings + 52, 23,
	  "Password hashing, stored credentials, SASL mechanisms, app passwords, "
	  "login state and the throttling of failed logins." },
	{ "pop3", false, conf_settings + 75, 9,
	  "What POP3 does to the mailbox it shares with IMAP devices (docs/PROTOCOLS.md)." },
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
