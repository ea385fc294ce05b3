/* Unit tests for the configuration module: the settings table, every value
 * type, every kind of bad file with its exact file:line message, includes,
 * quoting, CRLF, relative paths, conf_check_files, conf_check_reload, and
 * that the committed docs/CONFIG.md and conf/loft.conf match the generator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conf/config.h"
#include "conf/mailboxes.h"
#include "conf/settings.h"
#include "conf/value.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "tests/support/unpriv.h"

#define NAME "/cfg/t.conf"

/* ---- helpers ---------------------------------------------------------- */

static struct loft_config *load_ok(const char *text)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load_string(NAME, text, &cfg, &err) < 0) {
		print_error("unexpected error: %s\n", err);
		free(err);
		fail();
	}
	assert_null(err);
	assert_non_null(cfg);
	return cfg;
}

/* Load text expecting failure; returns the messages, one line per error. */
static char *load_err(const char *text)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;
	assert_int_equal(conf_load_string(NAME, text, &cfg, &err), LOFT_EINVAL);
	assert_null(cfg);
	assert_non_null(err);
	return err;
}

static void expect_err(const char *text, const char *msg)
{
	char *err = load_err(text);
	if (strcmp(err, msg) != 0) {
		print_error("got:      %s\nexpected: %s\n", err, msg);
		free(err);
		fail();
	}
	free(err);
}

/* Error starts with prefix (file:line) and contains every needle. */
static void expect_err_has(const char *text, const char *prefix, ...)
{
	char *err = load_err(text);
	va_list ap;
	if (strncmp(err, prefix, strlen(prefix)) != 0) {
		print_error("got: %s\nexpected prefix: %s\n", err, prefix);
		free(err);
		fail();
	}
	va_start(ap, prefix);
	for (const char *needle; (needle = va_arg(ap, const char *)) != NULL;) {
		if (strstr(err, needle) == NULL) {
			print_error("got: %s\nmissing: %s\n", err, needle);
			va_end(ap);
			free(err);
			fail();
		}
	}
	va_end(ap);
	free(err);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/loft-test-conf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static void rm_tree(char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static char *path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* For unpriv_run(): the error conf_load(path) reports, "loaded" if none. */
static char *load_error(void *path)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(path, &cfg, &err) == 0) {
		conf_free(cfg);
		return xstrdup("loaded");
	}
	return err;
}

/* For unpriv_run(): the error conf_check_files() reports on path's config. */
static char *check_files_error(void *path)
{
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(path, &cfg, &err) < 0)
		return err;
	if (conf_check_files(cfg, &err) == 0)
		err = xstrdup("checked");
	conf_free(cfg);
	return err;
}

/* ---- the table -------------------------------------------------------- */

static void test_table_consistent(void **state)
{
	(void)state;
	size_t total = 0;
	for (size_t i = 0; i < conf_n_sections; i++) {
		const struct conf_section *sec = &conf_sections[i];
		assert_non_null(sec->doc);
		if (!sec->named) {
			/* plain sections tile conf_settings in order */
			assert_ptr_equal(sec->rows, conf_settings + total);
			total += sec->n_rows;
		} else {
			assert_true(sec->n_rows <= CONF_SECTION_KEYS_MAX);
		}
		for (size_t r = 0; r < sec->n_rows; r++) {
			const struct conf_setting *row = &sec->rows[r];
			assert_string_equal(row->section, sec->name);
			assert_non_null(row->doc);
			assert_true(strlen(row->doc) <= 72); /* one line in loft.conf */
			assert_true(row->def != NULL || row->def_doc != NULL);
			assert_true(row->def != NULL || row->example != NULL);
			for (const char *p = row->key; *p != '\0'; p++)
				assert_true((*p >= 'a' && *p <= 'z') || *p == '_' ||
					    (*p >= '0' && *p <= '9'));
			assert_ptr_equal(conf_setting_find(sec, row->key), row);
			if (row->type == CONF_T_ENUM)
				assert_non_null(row->names);
			if (row->type == CONF_T_UINT || row->type == CONF_T_SIZE ||
			    row->type == CONF_T_DURATION)
				assert_true(row->min <= row->max);
		}
	}
	assert_int_equal(total, conf_n_settings);
	assert_null(conf_section_find("nope"));
	assert_string_equal(conf_section_of_key("port")->name, "listener");
	assert_string_equal(conf_proto_name(CONF_PROTO_LMTP), "lmtp");
	assert_string_equal(conf_tls_mode_name(CONF_TLS_STARTTLS), "starttls");
}

/* ---- defaults and a complete file ------------------------------------ */

static void test_defaults_when_empty(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok("");
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	assert_string_equal(cfg->path, NAME);
	assert_string_equal(cfg->hostname, host);
	assert_int_equal(cfg->workers, cores < 1 ? 1 : cores > 256 ? 256 : cores);
	assert_string_equal(cfg->state_dir, "/var/lib/loft");
	assert_string_equal(cfg->mail_dir, "/var/lib/loft/mail");
	assert_string_equal(cfg->users_file, "/var/lib/loft/users");
	assert_non_null(cfg->local_domains);
	assert_int_equal(strcasecmp(cfg->local_domains, host), 0);
	assert_int_equal(cfg->shutdown_timeout_ms, 10000);
	assert_int_equal(cfg->plaintext_auth, CONF_PLAIN_LOOPBACK);
	assert_null(cfg->tls_cert_file);
	assert_null(cfg->tls_key_file);
	assert_int_equal(cfg->tls_min_version, TLS1_2_VERSION);
	assert_string_equal(cfg->tls_ciphers, "ECDHE+AESGCM:ECDHE+CHACHA20");
	assert_non_null(strstr(cfg->tls_ciphersuites, "TLS_AES_256_GCM_SHA384"));
	assert_int_equal(cfg->tls_handshake_timeout_ms, 30000);
	assert_int_equal(cfg->max_connections, 20000);
	assert_int_equal(cfg->max_connections_per_ip, 64);
	assert_int_equal(cfg->max_line_length, 65536);
	assert_int_equal(cfg->max_line_length_preauth, 8192);
	assert_int_equal(cfg->max_literal_size, 50 * 1024 * 1024);
	assert_int_equal(cfg->max_output_buffer, 256 * 1024);
	assert_int_equal(cfg->preauth_timeout_ms, 60000);
	assert_int_equal(cfg->idle_timeout_ms, 30 * 60000);
	assert_int_equal(cfg->imap_idle_timeout_ms, 30 * 60000);
	assert_int_equal(cfg->max_nesting_depth, 32);
	assert_int_equal(cfg->max_arguments, 10000);
	assert_int_equal(cfg->max_bad_commands, 20);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg->log_file, "stderr");
	assert_int_equal(cfg->quota_bytes, 0);
	assert_int_equal(cfg->quota_messages, 0);
	assert_int_equal(cfg->lmdb_map_size, 4ull << 30);
	assert_int_equal(cfg->index_cache_size, 1024);
	assert_int_equal(cfg->writer_threads, 2);
	assert_int_equal(cfg->write_batch_messages, 1000);
	assert_int_equal(cfg->tombstone_max_age_days, 90);
	assert_int_equal(cfg->tombstone_max_count, 100000);
	assert_int_equal(cfg->n_listeners, 0);
	assert_int_equal(cfg->n_sni_certs, 0);
	for (size_t i = 0; i < conf_n_settings; i++)
		assert_null(cfg->origins[i].file);
	conf_free(cfg);

	/* comments and blank lines only: same as empty */
	cfg = load_ok("# nothing\n\n   \t\n# [server]\n");
	assert_string_equal(cfg->state_dir, "/var/lib/loft");
	conf_free(cfg);
}

static const char complete_file[] =
	"# complete configuration\n"
	"[server]\n"
	"hostname = mail.example.org\n"
	"workers = 4\n"
	"state_dir = /srv/loft\n"
	"mail_dir = /srv/mail\n"
	"users_file = /etc/loft/users\n"
	"local_domains = example.org example.net\n"
	"shutdown_timeout = 5s\n"
	"plaintext_auth = never\n"
	"[tls]\n"
	"cert_file = /etc/loft/cert.pem\n"
	"key_file = /etc/loft/key.pem\n"
	"min_version = TLSv1.3\n"
	"ciphers = ECDHE+AESGCM\n"
	"ciphersuites = TLS_AES_128_GCM_SHA256\n"
	"handshake_timeout = 1500ms\n"
	"[limits]\n"
	"max_connections = 100\n"
	"max_connections_per_ip = 10\n"
	"max_line_length = 32K\n"
	"max_line_length_preauth = 4096\n"
	"max_literal_size = 10M\n"
	"max_output_buffer = 64K\n"
	"preauth_timeout = 20\n"
	"idle_timeout = 2h\n"
	"imap_idle_timeout = 29m\n"
	"max_nesting_depth = 8\n"
	"max_arguments = 500\n"
	"max_bad_commands = 5\n"
	"[log]\n"
	"level = debug\n"
	"file = /var/log/loft.log\n"
	"[storage]\n"
	"quota_bytes = 1G\n"
	"quota_messages = 100000\n"
	"lmdb_map_size = 1G\n"
	"index_cache_size = 16\n"
	"writer_threads = 3\n"
	"write_batch_messages = 250\n"
	"tombstone_max_age_days = 0\n"
	"tombstone_max_count = 5000\n"
	"[listener imap]\n"
	"protocol = imap\n"
	"address = 127.0.0.1\n"
	"port = 143\n"
	"tls = starttls\n"
	"[listener imaps]\n"
	"protocol = imap\n"
	"address = ::1\n"
	"port = 993\n"
	"tls = implicit\n"
	"[listener pop3]\n"
	"protocol = pop3\n"
	"port = 110\n"
	"[listener lmtp]\n"
	"protocol = lmtp\n"
	"address = 0.0.0.0\n"
	"port = 24\n"
	"[listener smtp]\n"
	"protocol = smtp\n"
	"address = ::\n"
	"port = 25\n"
	"tls = starttls\n"
	"[certificate net]\n"
	"server_name = *.example.net\n"
	"cert_file = /etc/loft/net.pem\n"
	"key_file = /etc/loft/net.key\n";

static void test_complete_file(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok(complete_file);
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_int_equal(cfg->workers, 4);
	assert_string_equal(cfg->state_dir, "/srv/loft");
	assert_string_equal(cfg->mail_dir, "/srv/mail");
	assert_string_equal(cfg->users_file, "/etc/loft/users");
	assert_string_equal(cfg->local_domains, "example.org example.net");
	assert_int_equal(cfg->shutdown_timeout_ms, 5000);
	assert_int_equal(cfg->plaintext_auth, CONF_PLAIN_NEVER);
	assert_string_equal(cfg->tls_cert_file, "/etc/loft/cert.pem");
	assert_string_equal(cfg->tls_key_file, "/etc/loft/key.pem");
	assert_int_equal(cfg->tls_min_version, TLS1_3_VERSION);
	assert_string_equal(cfg->tls_ciphers, "ECDHE+AESGCM");
	assert_string_equal(cfg->tls_ciphersuites, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(cfg->tls_handshake_timeout_ms, 1500);
	assert_int_equal(cfg->max_connections, 100);
	assert_int_equal(cfg->max_connections_per_ip, 10);
	assert_int_equal(cfg->max_line_length, 32768);
	assert_int_equal(cfg->max_line_length_preauth, 4096);
	assert_int_equal(cfg->max_literal_size, 10 * 1024 * 1024);
	assert_int_equal(cfg->max_output_buffer, 65536);
	assert_int_equal(cfg->preauth_timeout_ms, 20000);
	assert_int_equal(cfg->idle_timeout_ms, 2 * 3600 * 1000);
	assert_int_equal(cfg->imap_idle_timeout_ms, 29 * 60000);
	assert_int_equal(cfg->max_nesting_depth, 8);
	assert_int_equal(cfg->max_arguments, 500);
	assert_int_equal(cfg->max_bad_commands, 5);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->log_file, "/var/log/loft.log");
	assert_int_equal(cfg->quota_bytes, 1ull << 30);
	assert_int_equal(cfg->quota_messages, 100000);
	assert_int_equal(cfg->lmdb_map_size, 1ull << 30);
	assert_int_equal(cfg->index_cache_size, 16);
	assert_int_equal(cfg->writer_threads, 3);
	assert_int_equal(cfg->write_batch_messages, 250);
	assert_int_equal(cfg->tombstone_max_age_days, 0);
	assert_int_equal(cfg->tombstone_max_count, 5000);

	assert_int_equal(cfg->n_listeners, 5);
	const struct conf_listener *l = cfg->listeners;
	assert_string_equal(l[0].name, "imap");
	assert_string_equal(l[0].address, "127.0.0.1");
	assert_int_equal(l[0].port, 143);
	assert_int_equal(l[0].protocol, CONF_PROTO_IMAP);
	assert_int_equal(l[0].tls, CONF_TLS_STARTTLS);
	assert_string_equal(l[0].origin.file, NAME);
	assert_int_equal(l[0].origin.line, 43);
	assert_string_equal(l[1].address, "::1");
	assert_int_equal(l[1].tls, CONF_TLS_IMPLICIT);
	assert_int_equal(l[2].protocol, CONF_PROTO_POP3);
	assert_string_equal(l[2].address, "127.0.0.1"); /* default */
	assert_int_equal(l[2].tls, CONF_TLS_NONE);      /* default */
	assert_int_equal(l[3].protocol, CONF_PROTO_LMTP);
	assert_string_equal(l[3].address, "0.0.0.0");
	assert_int_equal(l[4].protocol, CONF_PROTO_SMTP);
	assert_string_equal(l[4].address, "::");

	assert_int_equal(cfg->n_sni_certs, 1);
	assert_string_equal(cfg->sni_certs[0].name, "net");
	assert_string_equal(cfg->sni_certs[0].server_name, "*.example.net");
	assert_string_equal(cfg->sni_certs[0].cert_file, "/etc/loft/net.pem");
	assert_string_equal(cfg->sni_certs[0].key_file, "/etc/loft/net.key");

	/* origins: workers was set on line 4 */
	const struct conf_setting *w = conf_setting_find(conf_section_find("server"), "workers");
	assert_string_equal(cfg->origins[conf_setting_index(w)].file, NAME);
	assert_int_equal(cfg->origins[conf_setting_index(w)].line, 4);
	conf_free(cfg);
}

/* ---- value types ------------------------------------------------------ */

static void test_sizes(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "65536", 65536 }, { "1K", 1024 }, { "2k", 2048 },
		{ "50M", 50ull << 20 }, { "3m", 3ull << 20 }, { "4G", 4ull << 30 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "K", "1X", "1KB", "-1", "1.5M", " 1", "1 K", "1K ", "0x10",
		"18446744073709551616", "17179869184G", "1T",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 7;
		assert_int_equal(conf_parse_size(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		if (conf_parse_size(bad[i], &v) == 0) {
			print_error("accepted bad size '%s'\n", bad[i]);
			fail();
		}
	}
	char *s = conf_format_size(50ull << 20);
	assert_string_equal(s, "50M");
	free(s);
	s = conf_format_size(1000);
	assert_string_equal(s, "1000");
	free(s);

	expect_err("[limits]\nmax_literal_size = 12X\n",
		   NAME ":2: bad value for 'max_literal_size' in [limits]: '12X' is not valid; "
		   "use a size in bytes with an optional K, M or G suffix (e.g. 50M)");
	expect_err("[limits]\n\nmax_literal_size = 5G\n",
		   NAME ":3: bad value for 'max_literal_size' in [limits]: '5G' is out of "
		   "range; use 1..4G");
	expect_err("[limits]\nmax_line_length = 63\n",
		   NAME ":2: bad value for 'max_line_length' in [limits]: '63' is out of "
		   "range; use 64..16M");
	struct loft_config *cfg = load_ok("[limits]\nmax_literal_size = 4G\n"
					  "[storage]\nquota_bytes = 16G\n");
	assert_int_equal(cfg->max_literal_size, 4ull << 30);
	assert_int_equal(cfg->quota_bytes, 16ull << 30);
	conf_free(cfg);
}

static void test_durations(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t ms; } good[] = {
		{ "0", 0 }, { "10", 10000 }, { "10s", 10000 }, { "500ms", 500 },
		{ "2m", 120000 }, { "1h", 3600000 }, { "0ms", 0 },
	};
	static const char *const bad[] = {
		"", "s", "10x", "1.5s", "10 s", "-1s", "10S", "1d", "10sec", "ms10",
		"99999999999999999999h", "18446744073709551615h",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 7;
		assert_int_equal(conf_parse_duration(good[i].s, &v), 0);
		assert_int_equal(v, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		if (conf_parse_duration(bad[i], &v) == 0) {
			print_error("accepted bad duration '%s'\n", bad[i]);
			fail();
		}
	}
	char *s = conf_format_duration(90000);
	assert_string_equal(s, "90s");
	free(s);
	s = conf_format_duration(1500);
	assert_string_equal(s, "1500ms");
	free(s);

	expect_err("[limits]\npreauth_timeout = 10 minutes\n",
		   NAME ":2: bad value for 'preauth_timeout' in [limits]: '10 minutes' is not "
		   "valid; use a duration with an ms, s, m or h suffix (e.g. 30s, 5m); a plain "
		   "number is seconds");
	expect_err("[tls]\nhandshake_timeout = 11m\n",
		   NAME ":2: bad value for 'handshake_timeout' in [tls]: '11m' is out of range; "
		   "use 100ms..10m");
	/* RFC 2177: IDLE must be allowed to last at least 29 minutes */
	expect_err("[limits]\nimap_idle_timeout = 28m\n",
		   NAME ":2: bad value for 'imap_idle_timeout' in [limits]: '28m' is out of "
		   "range; use 29m..24h");
	expect_err_has("[limits]\nimap_idle_timeout = 1739s\n", NAME ":2: ", "29m..24h", NULL);
	struct loft_config *cfg = load_ok("[limits]\nimap_idle_timeout = 1740s\n");
	assert_int_equal(cfg->imap_idle_timeout_ms, 29 * 60000);
	conf_free(cfg);
}

static void test_bools(void **state)
{
	(void)state;
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };
	static const char *const bad[] = { "", "y", "n", "2", "yess", "enable", " yes" };
	for (size_t i = 0; i < 6; i++) {
		bool b = false;
		assert_int_equal(conf_parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(conf_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool b;
		assert_int_equal(conf_parse_bool(bad[i], &b), LOFT_EINVAL);
	}
	/* the row machinery for a bool field */
	struct { bool flag; } s = { false };
	const struct conf_setting row = { "x", "flag", CONF_T_BOOL, 0, sizeof(bool), NULL,
					  "no", 0, 0, NULL, 0, "yes", "A flag." };
	char *why = NULL;
	assert_int_equal(conf_value_set(&row, &s, "on", NULL, &why), 0);
	assert_true(s.flag);
	char *text = conf_value_format(&row, &s);
	assert_string_equal(text, "yes");
	free(text);
	assert_int_equal(conf_value_set(&row, &s, "maybe", NULL, &why), LOFT_EINVAL);
	assert_string_equal(why, "'maybe' is not valid; use yes or no");
	free(why);
	assert_true(s.flag);
}

static void test_integers(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(conf_parse_uint("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_parse_uint("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(conf_parse_uint("18446744073709551616", &v), LOFT_EINVAL);
	assert_int_equal(conf_parse_uint("-1", &v), LOFT_EINVAL);
	assert_int_equal(conf_parse_uint("+1", &v), LOFT_EINVAL);
	assert_int_equal(conf_parse_uint("1e3", &v), LOFT_EINVAL);
	assert_int_equal(conf_parse_uint("12K", &v), LOFT_EINVAL);

	expect_err("[server]\nworkers = 0\n",
		   NAME ":2: bad value for 'workers' in [server]: '0' is out of range; use 1..256");
	expect_err("[server]\nworkers = 257\n",
		   NAME ":2: bad value for 'workers' in [server]: '257' is out of range; use 1..256");
	expect_err("[server]\nworkers = many\n",
		   NAME ":2: bad value for 'workers' in [server]: 'many' is not valid; use auto "
		   "or a whole number");
	expect_err("[limits]\nmax_connections = -1\n",
		   NAME ":2: bad value for 'max_connections' in [limits]: '-1' is not valid; "
		   "use a whole number");
	expect_err("[listener a]\nport = 0\n",
		   NAME ":2: bad value for 'port' in [listener a]: '0' is out of range; use 1..65535");
	expect_err("[listener a]\nport = 65536\n",
		   NAME ":2: bad value for 'port' in [listener a]: '65536' is out of range; "
		   "use 1..65535");
	struct loft_config *cfg = load_ok("[server]\nworkers = 256\n[listener a]\nport = 65535\n");
	assert_int_equal(cfg->workers, 256);
	assert_int_equal(cfg->listeners[0].port, 65535);
	conf_free(cfg);
	cfg = load_ok("[server]\nworkers = auto\n");
	assert_true(cfg->workers >= 1 && cfg->workers <= 256);
	conf_free(cfg);
}

/* The command-shape limits: each range edge is accepted, one past it is a
 * file:line error naming the range. */
static void test_command_limits(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok("[limits]\nmax_nesting_depth = 2\n"
					  "max_arguments = 32\nmax_bad_commands = 1\n");
	assert_int_equal(cfg->max_nesting_depth, 2);
	assert_int_equal(cfg->max_arguments, 32);
	assert_int_equal(cfg->max_bad_commands, 1);
	conf_free(cfg);
	cfg = load_ok("[limits]\nmax_nesting_depth = 256\n"
		      "max_arguments = 1000000\nmax_bad_commands = 1000\n");
	assert_int_equal(cfg->max_nesting_depth, 256);
	assert_int_equal(cfg->max_arguments, 1000000);
	assert_int_equal(cfg->max_bad_commands, 1000);
	conf_free(cfg);

	expect_err("[limits]\nmax_nesting_depth = 1\n",
		   NAME ":2: bad value for 'max_nesting_depth' in [limits]: '1' is out of range; "
		   "use 2..256");
	expect_err("[limits]\n\nmax_nesting_depth = 257\n",
		   NAME ":3: bad value for 'max_nesting_depth' in [limits]: '257' is out of range; "
		   "use 2..256");
	expect_err("[limits]\nmax_arguments = 31\n",
		   NAME ":2: bad value for 'max_arguments' in [limits]: '31' is out of range; "
		   "use 32..1000000");
	expect_err("[limits]\nmax_arguments = 1000001\n",
		   NAME ":2: bad value for 'max_arguments' in [limits]: '1000001' is out of range; "
		   "use 32..1000000");
	expect_err("[limits]\nmax_bad_commands = 0\n",
		   NAME ":2: bad value for 'max_bad_commands' in [limits]: '0' is out of range; "
		   "use 1..1000");
	expect_err("[limits]\nmax_bad_commands = 1001\n",
		   NAME ":2: bad value for 'max_bad_commands' in [limits]: '1001' is out of range; "
		   "use 1..1000");
	expect_err("[limits]\nmax_bad_commands = twenty\n",
		   NAME ":2: bad value for 'max_bad_commands' in [limits]: 'twenty' is not valid; "
		   "use a whole number");
	/* in the wrong section, the hint names [limits] */
	expect_err_has("[server]\nmax_bad_commands = 3\n", NAME ":2: ", "[limits]", NULL);

	/* all three apply on reload */
	struct loft_config *old = load_ok("[listener a]\nport = 143\n");
	struct loft_config *cur = load_ok("[limits]\nmax_nesting_depth = 4\nmax_arguments = 64\n"
					  "max_bad_commands = 3\n[listener a]\nport = 143\n");
	char *err = NULL;
	assert_int_equal(conf_check_reload(old, cur, &err), 0);
	assert_null(err);
	conf_free(cur);
	conf_free(old);
}

static void test_enums(void **state)
{
	(void)state;
	expect_err("[server]\nplaintext_auth = sometimes\n",
		   NAME ":2: bad value for 'plaintext_auth' in [server]: 'sometimes' is not "
		   "valid; use never, loopback or always");
	expect_err("[log]\nlevel = INFO\n",
		   NAME ":2: bad value for 'level' in [log]: 'INFO' is not valid; use debug, "
		   "info, warn or error");
	expect_err("[tls]\nmin_version = TLSv1.1\n",
		   NAME ":2: bad value for 'min_version' in [tls]: 'TLSv1.1' is not supported "
		   "(nothing below TLS 1.2 is offered); use TLSv1.2 or TLSv1.3");
	expect_err_has("[tls]\nmin_version = SSLv3\n", NAME ":2: ", "not supported", NULL);
	expect_err("[listener x]\nport = 1\nprotocol = http\n",
		   NAME ":3: bad value for 'protocol' in [listener x]: 'http' is not valid; use "
		   "imap, pop3, lmtp, smtp or sieve");
	expect_err("[listener x]\nport = 1\ntls = ssl\n",
		   NAME ":3: bad value for 'tls' in [listener x]: 'ssl' is not valid; use none, "
		   "starttls or implicit");
	static const struct { const char *word; int level; } levels[] = {
		{ "debug", LOG_LEVEL_DEBUG }, { "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN }, { "error", LOG_LEVEL_ERROR },
	};
	for (size_t i = 0; i < 4; i++) {
		char *text = xasprintf("[log]\nlevel = %s\n[server]\nplaintext_auth = always\n",
				       levels[i].word);
		struct loft_config *cfg = load_ok(text);
		assert_int_equal(cfg->log_level, levels[i].level);
		assert_int_equal(cfg->plaintext_auth, CONF_PLAIN_ALWAYS);
		conf_free(cfg);
		free(text);
	}
}

/* [auth]: defaults, the word-list type (mechanisms) and the ranges. */
static void test_auth_section(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok("[server]\nstate_dir = /srv/loft\n");
	assert_int_equal(cfg->password_scheme, CONF_SCHEME_ARGON2ID);
	assert_int_equal(cfg->argon2_memory, 64 * 1024 * 1024);
	assert_int_equal(cfg->argon2_passes, 3);
	assert_int_equal(cfg->argon2_lanes, 1);
	assert_int_equal(cfg->sha512_crypt_rounds, 50000);
	assert_int_equal(cfg->store_scram, CONF_SCRAM_NO);
	assert_int_equal(cfg->scram_iterations, 4096);
	assert_false(cfg->store_cram_md5);
	assert_int_equal(cfg->mechanisms, (1u << 5) | (1u << 6));   /* PLAIN LOGIN */
	assert_int_equal(cfg->sasl_max_response, 16384);
	assert_string_equal(cfg->app_passwords_file, "/srv/loft/app-passwords");
	assert_string_equal(cfg->login_state_file, "/srv/loft/logins");
	assert_string_equal(cfg->auth_secret_file, "/srv/loft/auth-secret");
	assert_int_equal(cfg->login_state_flush_ms, 60000);
	assert_int_equal(cfg->fail_delay_ms, 1000);
	assert_int_equal(cfg->fail_delay_max_ms, 15000);
	assert_int_equal(cfg->fail_limit_address, 20);
	assert_int_equal(cfg->fail_limit_user, 10);
	assert_int_equal(cfg->fail_block_ms, 15 * 60000);
	assert_int_equal(cfg->fail_forget_ms, 15 * 60000);
	assert_int_equal(cfg->throttle_ipv4_prefix, 32);
	assert_int_equal(cfg->throttle_ipv6_prefix, 64);
	assert_int_equal(cfg->throttle_entries, 65536);
	conf_free(cfg);

	cfg = load_ok("[auth]\nmechanisms = scram-sha-256  SCRAM-SHA-256-PLUS\tPLAIN\n"
		      "password_scheme = SHA512-CRYPT\nstore_scram = both\n"
		      "store_cram_md5 = yes\nargon2_memory = 1M\nthrottle_ipv6_prefix = 48\n");
	assert_int_equal(cfg->mechanisms, (1u << 0) | (1u << 1) | (1u << 5));
	assert_int_equal(cfg->password_scheme, CONF_SCHEME_SHA512_CRYPT);
	assert_int_equal(cfg->store_scram, CONF_SCRAM_BOTH);
	assert_true(cfg->store_cram_md5);
	assert_int_equal(cfg->argon2_memory, 1024 * 1024);
	assert_int_equal(cfg->throttle_ipv6_prefix, 48);
	/* formatted back in table order, canonical spelling */
	const struct conf_section *sec = conf_section_find("auth");
	char *text = conf_value_format(conf_setting_find(sec, "mechanisms"), cfg);
	assert_string_equal(text, "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN");
	free(text);
	conf_free(cfg);

	expect_err("[auth]\nmechanisms = PLAIN DIGEST-MD5\n",
		   NAME ":2: bad value for 'mechanisms' in [auth]: 'DIGEST-MD5' is not valid; "
		   "use words from SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, "
		   "SCRAM-SHA-1, CRAM-MD5, PLAIN or LOGIN");
	expect_err_has("[auth]\nmechanisms = \t\n", NAME ":2: ", "empty", NULL);
	expect_err_has("[auth]\nargon2_memory = 32K\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[auth]\nscram_iterations = 4095\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[auth]\nthrottle_ipv6_prefix = 129\n", NAME ":2: ", "out of range",
		       NULL);
	expect_err_has("[auth]\nthrottle_entries = 511\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[auth]\nsasl_max_response = 255\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[auth]\nstore_scram = sha1\n", NAME ":2: ", "no, sha256 or both", NULL);
	expect_err_has("[auth]\npassword_scheme = MD5-CRYPT\n", NAME ":2: ", "ARGON2ID", NULL);
	expect_err_has("[auth]\nlogin_state_flush = 0s\n", NAME ":2: ", "out of range", NULL);
}

static void test_dns_mailauth_sections(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok("[server]\nhostname = mx.example.org\n");
	assert_null(cfg->dns_server);
	assert_int_equal(cfg->dns_port, 53);
	assert_int_equal(cfg->dns_timeout_ms, 3000);
	assert_int_equal(cfg->dns_retries, 1);
	assert_int_equal(cfg->dns_cache_size, 4096);
	assert_int_equal(cfg->dns_cache_max_ttl_ms, 3600 * 1000);
	assert_int_equal(cfg->auth_checks, CONF_CHECK_SPF | CONF_CHECK_DKIM | CONF_CHECK_DMARC);
	assert_false(cfg->auth_on_lmtp);
	assert_string_equal(cfg->authserv_id, "mx.example.org");   /* the host name */
	assert_int_equal(cfg->auth_timeout_ms, 20000);
	assert_int_equal(cfg->spf_fail_action, CONF_ACT_TAG);
	assert_int_equal(cfg->spf_lookup_limit, 10);
	assert_int_equal(cfg->spf_void_limit, 2);
	assert_int_equal(cfg->dkim_min_rsa_bits, 1024);
	assert_int_equal(cfg->dkim_max_rsa_bits, 8192);
	assert_false(cfg->dkim_accept_sha1);
	assert_int_equal(cfg->dkim_max_signatures, 8);
	assert_int_equal(cfg->dkim_clock_skew_ms, 300000);
	assert_int_equal(cfg->auth_max_header, 1024 * 1024);
	assert_int_equal(cfg->dmarc_reject_action, CONF_ACT_REJECT);
	assert_int_equal(cfg->dmarc_quarantine_action, CONF_ACT_QUARANTINE);
	assert_string_equal(cfg->public_suffix_file, "/usr/share/publicsuffix/public_suffix_list.dat");
	assert_null(cfg->dnsbl_zones);
	assert_int_equal(cfg->dnsbl_action, CONF_ACT_REJECT);
	conf_free(cfg);

	cfg = load_ok("[dns]\nresolver = ::1\nresolver_port = 5353\ntimeout = 500ms\n"
		      "retries = 0\ncache_size = 0\n"
		      "[mailauth]\nchecks = dkim SPF\non_lmtp = yes\nauthserv_id = auth.example.net\n"
		      "spf_fail = reject\ndmarc_reject = quarantine\ndmarc_quarantine = tag\n"
		      "dnsbl_zones = zen.example.org BL.example.net\ndnsbl_action = tag\n"
		      "dkim_max_rsa_bits = 16384\nmax_header = 64K\n");
	assert_string_equal(cfg->dns_server, "::1");
	assert_int_equal(cfg->dns_port, 5353);
	assert_int_equal(cfg->dns_timeout_ms, 500);
	assert_int_equal(cfg->dns_retries, 0);
	assert_int_equal(cfg->dns_cache_size, 0);
	assert_int_equal(cfg->auth_checks, CONF_CHECK_SPF | CONF_CHECK_DKIM);
	assert_true(cfg->auth_on_lmtp);
	assert_string_equal(cfg->authserv_id, "auth.example.net");
	assert_int_equal(cfg->spf_fail_action, CONF_ACT_REJECT);
	assert_int_equal(cfg->dmarc_reject_action, CONF_ACT_QUARANTINE);
	assert_int_equal(cfg->dmarc_quarantine_action, CONF_ACT_TAG);
	assert_string_equal(cfg->dnsbl_zones, "zen.example.org bl.example.net");
	assert_int_equal(cfg->dnsbl_action, CONF_ACT_TAG);
	assert_int_equal(cfg->dkim_max_rsa_bits, 16384);
	assert_int_equal(cfg->auth_max_header, 64 * 1024);
	conf_free(cfg);
	cfg = load_ok("[mailauth]\nchecks = none\n");
	assert_int_equal(cfg->auth_checks & (CONF_CHECK_SPF | CONF_CHECK_DKIM | CONF_CHECK_DMARC), 0);
	conf_free(cfg);

	expect_err_has("[dns]\nresolver = dns.example.org\n", NAME ":2: ", "IP address", NULL);
	expect_err_has("[dns]\ntimeout = 50ms\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[dns]\nretries = 11\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\nchecks = spf arc\n", NAME ":2: ", "'arc' is not valid", NULL);
	expect_err_has("[mailauth]\nspf_fail = quarantine\n", NAME ":2: ", "tag or reject", NULL);
	expect_err_has("[mailauth]\ndmarc_reject = drop\n", NAME ":2: ", "tag, quarantine or reject",
		       NULL);
	expect_err_has("[mailauth]\ndkim_max_rsa_bits = 32768\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\ndkim_min_rsa_bits = 256\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\nspf_lookup_limit = 0\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\nmax_header = 1K\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\ntimeout = 0s\n", NAME ":2: ", "out of range", NULL);
	expect_err_has("[mailauth]\ndnsbl_zones = bad..zone\n", NAME ":2: ", "domain", NULL);
	expect_err_has("[mailauth]\nauthserv_id = not valid\n", NAME ":2: ", "host name", NULL);
}

static void test_strings_addresses_hostnames(void **state)
{
	(void)state;
	expect_err("[listener a]\nport = 143\naddress = [::1]\n",
		   NAME ":3: bad value for 'address' in [listener a]: '[::1]' has brackets; "
		   "write IPv6 addresses without them (e.g. ::1)");
	expect_err_has("[listener a]\naddress = localhost\n", NAME ":2: ",
		       "'localhost' is not an IP address", NULL);
	expect_err_has("[listener a]\naddress = 1.2.3.256\n", NAME ":2: ", "not an IP", NULL);
	expect_err_has("[server]\nhostname = -bad.example.org\n", NAME ":2: ",
		       "not a valid host name", NULL);
	expect_err_has("[server]\nhostname = a..b\n", NAME ":2: ", "not a valid host name", NULL);
	expect_err_has("[server]\nhostname = *.example.org\n", NAME ":2: ",
		       "not a valid host name", NULL);
	expect_err_has("[server]\nhostname = \"mail example\"\n", NAME ":2: ",
		       "not a valid host name", NULL);
	expect_err_has("[server]\nlocal_domains = a.org,b.org\n", NAME ":2: ",
		       "not a list of domain names", NULL);
	expect_err_has("[tls]\nciphers = \"ECDHE AESGCM\"\n", NAME ":2: ", "not a cipher list",
		       NULL);
	expect_err("[server]\nstate_dir =\n",
		   NAME ":2: bad value for 'state_dir' in [server]: the value is empty; use a "
		   "file system path (relative to this file's directory)");
	expect_err_has("[server]\nstate_dir = \"\"\n", NAME ":2: ", "the value is empty", NULL);
	expect_err_has("[server]\nstate_dir = a\rb\n", NAME ":2: ", "control character", NULL);

	struct loft_config *cfg = load_ok(
		"[server]\nhostname = Mail-1.Example.org\n"
		"local_domains = Example.ORG \t example.net\n"
		"[listener a]\naddress = ::ffff:127.0.0.1\nport = 1\n"
		"[certificate c]\nserver_name = *.example.net\ncert_file = c\nkey_file = k\n");
	assert_string_equal(cfg->hostname, "Mail-1.Example.org");
	assert_string_equal(cfg->local_domains, "example.org example.net");
	assert_string_equal(cfg->listeners[0].address, "::ffff:127.0.0.1");
	assert_string_equal(cfg->sni_certs[0].server_name, "*.example.net");
	conf_free(cfg);

	/* local_domains defaults to the (lower-cased) host name */
	cfg = load_ok("[server]\nhostname = MAIL.Example.ORG\n");
	assert_string_equal(cfg->local_domains, "mail.example.org");
	conf_free(cfg);
}

/* ---- bad files --------------------------------------------------------- */

static void test_unknown_section_and_key(void **state)
{
	(void)state;
	expect_err("[server]\n[lmits]\n",
		   NAME ":2: unknown section [lmits]; known sections: [server], [tls], [limits], "
		   "[log], [storage], [auth], [pop3], [spam], [delivery], [smtp], [imap], [dns], [mailauth], [sieve], [relay], "
		   "[listener NAME], [certificate NAME]");
	expect_err("[listener imap]\nport = 143\nprot = imap\n",
		   NAME ":3: unknown key 'prot' in [listener imap]; known keys: protocol, "
		   "address, port, tls, socket, socket_mode, socket_owner, socket_group");
	expect_err("[listener imap]\nPort = 143\n",
		   NAME ":2: unknown key 'Port' in [listener imap]; keys are lower-case: "
		   "write 'port'");
	expect_err_has("[server]\nport = 143\n",
		       NAME ":2: unknown key 'port' in [server]; 'port' belongs in [listener NAME]; "
		       "known keys: hostname, workers, state_dir, mail_dir, users_file, "
		       "local_domains, shutdown_timeout, plaintext_auth", NULL);
	expect_err("workers = 2\n",
		   NAME ":1: 'workers' is outside any section; put it under [server]");
	expect_err("# top\nfoo = 2\n",
		   NAME ":2: unknown key 'foo' outside any section; start a section first, e.g. "
		   "[server]");
}

static void test_malformed_lines(void **state)
{
	(void)state;
	expect_err("[server]\nhostname\n",
		   NAME ":2: expected 'key = value', '[section]' or '# comment' but found "
		   "'hostname'");
	expect_err("[server]\n= x\n",
		   NAME ":2: expected 'key = value', '[section]' or '# comment' but found '= x'");
	expect_err("[server\n", NAME ":1: section header without ']'; write it as [name] or "
		   "[name NAME]");
	expect_err("[server] x\n", NAME ":1: unexpected 'x' after the section header; put "
		   "comments after '#'");
	expect_err("[listener]\n", NAME ":1: section [listener] needs a name; write "
		   "[listener NAME], e.g. [listener imap]");
	expect_err("[server main]\n", NAME ":1: section [server] takes no name; write [server]");
	expect_err_has("[listener a b]\n", NAME ":1: malformed section header", NULL);
	expect_err_has("[]\n", NAME ":1: malformed section header", NULL);
	expect_err_has("[listener a/b]\n", NAME ":1: malformed section header", NULL);
	expect_err("[server]\nhostname = \"mail.example.org\n",
		   NAME ":2: missing closing '\"'; close the quoted value on the same line");
	expect_err("[server]\nhostname = \"a\\nb\"\n",
		   NAME ":2: unknown escape '\\n' in quoted value; only \\\" and \\\\ are escapes");
	expect_err("[server]\nhostname = \"a\" b\n",
		   NAME ":2: unexpected 'b' after the quoted value of 'hostname'; put comments "
		   "after '#'");
	/* control characters in the excerpt are made printable */
	char *err = load_err("[server]\n\x01x\n");
	assert_non_null(strstr(err, "'?x'"));
	free(err);
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_err("[server]\nworkers = 2\n\nworkers = 3\n",
		   NAME ":4: duplicate key 'workers' in [server] (first set at " NAME ":2); "
		   "remove one of them");
	expect_err("[server]\nworkers = 2\n[tls]\n[server]\nworkers = 3\n",
		   NAME ":5: duplicate key 'workers' in [server] (first set at " NAME ":2); "
		   "remove one of them");
	expect_err("[listener a]\nport = 1\nport = 2\n",
		   NAME ":3: duplicate key 'port' in [listener a] (first set at " NAME ":2); "
		   "remove one of them");
	expect_err("[listener a]\nport = 1\n[listener a]\nport = 2\n",
		   NAME ":3: duplicate section [listener a] (first at " NAME ":1); give each "
		   "listener a unique name");
	expect_err("[certificate c]\n[certificate c]\n",
		   NAME ":2: duplicate section [certificate c] (first at " NAME ":1); give each "
		   "certificate a unique name");
	expect_err("[listener a]\nport = 143\n[listener b]\nprotocol = pop3\nport = 143\n",
		   NAME ":5: [listener b] binds 127.0.0.1 port 143, which [listener a] (at "
		   NAME ":1) already binds as 127.0.0.1; use another port or address");
	/* a wildcard overlaps every address of its family */
	expect_err_has("[listener a]\naddress = 0.0.0.0\nport = 143\n"
		       "[listener b]\naddress = 127.0.0.2\nport = 143\n",
		       NAME ":6: [listener b] binds 127.0.0.2 port 143", NULL);
	expect_err_has("[listener a]\naddress = ::1\nport = 143\n"
		       "[listener b]\naddress = 0:0::1\nport = 143\n",
		       NAME ":6: [listener b] binds 0:0::1 port 143", NULL);
	/* different ports, or different families, are fine */
	struct loft_config *cfg = load_ok(
		"[listener a]\nport = 143\n[listener b]\nport = 144\n"
		"[listener c]\naddress = 127.0.0.2\nport = 143\n"
		"[listener d]\naddress = ::\nport = 143\n");
	assert_int_equal(cfg->n_listeners, 4);
	conf_free(cfg);
	expect_err("[certificate a]\nserver_name = x.org\ncert_file = a\nkey_file = a\n"
		   "[certificate b]\nserver_name = X.org\ncert_file = b\nkey_file = b\n",
		   NAME ":6: [certificate b] repeats server_name X.org of [certificate a] (at "
		   NAME ":2); give each certificate its own name");
}

/* A bad file gets every error it has, one line each, in file order, not
 * only the first; the keys of a section whose header is bad are skipped,
 * not reported again as misplaced. */
static void test_every_error_reported(void **state)
{
	(void)state;
	/* Every error, one per line, in file order (the lists of known keys
	 * and sections are not spelled out: they grow with the table). */
	expect_err_has("[server]\nworkers = many\nbogus = 1\n"
		       "[limits]\nmax_connections = -3\n"
		       "[nonsense]\nwhatever = 1\nmore = 2\n"
		       "[log]\nlevel = loud\n",
		       NAME ":2: bad value for 'workers' in [server]: 'many' is not valid; use auto "
		       "or a whole number\n"
		       NAME ":3: unknown key 'bogus' in [server]; known keys: hostname, workers, ",
		       "\n" NAME ":5: bad value for 'max_connections' in [limits]: '-3' is not valid; "
		       "use a whole number\n"
		       NAME ":6: unknown section [nonsense]; known sections: [server], [tls], ",
		       "\n" NAME ":10: bad value for 'level' in [log]: 'loud' is not valid; use debug, "
		       "info, warn or error", NULL);
	char *all = load_err("[server]\nworkers = many\nbogus = 1\n[limits]\nmax_connections = -3\n"
			     "[nonsense]\nwhatever = 1\nmore = 2\n[log]\nlevel = loud\n");
	unsigned n_lines = 1;
	for (const char *c = all; *c != '\0'; c++)
		n_lines += *c == '\n';
	assert_int_equal(n_lines, 5);
	free(all);
	/* Cross-setting checks report every listener's problem too. */
	expect_err("[listener a]\nprotocol = imap\n[listener b]\nprotocol = pop3\n",
		   NAME ":1: [listener a] has no port; add e.g. 'port = 143', or 'socket = /run/loft/lmtp' for a UNIX socket\n"
		   NAME ":3: [listener b] has no port; add e.g. 'port = 143', or 'socket = /run/loft/lmtp' for a UNIX socket");
	/* A flood of errors stops after CONF_ERRORS_MAX with a note. */
	char *text = xstrdup("[server]\n");
	for (int i = 0; i < 50; i++) {
		char *t = xasprintf("%sx%d = 1\n", text, i);
		free(text);
		text = t;
	}
	char *err = load_err(text);
	unsigned lines = 1;
	for (const char *c = err; *c != '\0'; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 21);
	assert_non_null(strstr(err, NAME ":22: more than 20 errors; fix these first"));
	free(err);
	free(text);
}

static void test_cross_checks(void **state)
{
	(void)state;
	expect_err("[listener imap]\nport = 143\ntls = starttls\n",
		   NAME ":3: [listener imap] has tls = starttls but [tls] cert_file and key_file "
		   "are not set; set both in [tls] or use tls = none");
	expect_err("[tls]\ncert_file = /c.pem\n[listener imaps]\nport = 993\ntls = implicit\n",
		   NAME ":2: [tls] cert_file is set but key_file is not; set key_file to the "
		   "certificate's private key\n"
		   NAME ":5: [listener imaps] has tls = implicit but [tls] cert_file and "
		   "key_file are not set; set both in [tls] or use tls = none");
	expect_err("[tls]\nkey_file = /k.pem\n",
		   NAME ":2: [tls] key_file is set but cert_file is not; set cert_file to the "
		   "certificate chain");
	expect_err("# listeners\n[listener imap]\nprotocol = imap\n",
		   NAME ":2: [listener imap] has no port; add e.g. 'port = 143', or 'socket = /run/loft/lmtp' for a UNIX socket");
	/* UNIX socket listeners: a socket instead of a port, never both, and
	 * each path once; the mode is octal. */
	struct loft_config *cfg = load_ok("[listener lmtp]\nprotocol = lmtp\n"
					  "socket = /run/loft/lmtp\nsocket_mode = 0600\n"
					  "socket_owner = postfix\nsocket_group = mail\n");
	assert_string_equal(cfg->listeners[0].socket, "/run/loft/lmtp");
	assert_int_equal(cfg->listeners[0].socket_mode, 0600);
	assert_string_equal(cfg->listeners[0].socket_owner, "postfix");
	assert_string_equal(cfg->listeners[0].socket_group, "mail");
	conf_free(cfg);
	cfg = load_ok("[listener lmtp]\nprotocol = lmtp\nsocket = s\n");
	assert_int_equal(cfg->listeners[0].socket_mode, 0660);
	assert_string_equal(cfg->listeners[0].socket, "/cfg/s");   /* relative to the file */
	assert_null(cfg->listeners[0].socket_owner);
	conf_free(cfg);
	expect_err("[listener lmtp]\nsocket = /s\nport = 24\n",
		   NAME ":2: [listener lmtp] has both socket and port; a listener is a UNIX "
		   "socket or a TCP port, remove one");
	expect_err("[listener a]\nsocket = /s\n[listener b]\nsocket = /s\n",
		   NAME ":4: [listener b] uses socket /s, which [listener a] (at " NAME ":1) "
		   "already uses; give each its own path");
	expect_err("[listener a]\nsocket = /s\nsocket_mode = 0980\n",
		   NAME ":3: bad value for 'socket_mode' in [listener a]: '0980' is not "
		   "valid; use an octal permission mode such as 0660");
	expect_err_has("[listener a]\nsocket = /s\nsocket_mode = 17777\n",
		       NAME ":3: bad value for 'socket_mode' in [listener a]: '17777' is",
		       NULL);
	expect_err("[certificate c]\nserver_name = a.org\ncert_file = a.pem\n",
		   NAME ":1: [certificate c] has no key_file; add e.g. 'key_file = "
		   "/etc/loft/example.net.key'");
	expect_err("[certificate c]\ncert_file = a.pem\nkey_file = a.key\n",
		   NAME ":1: [certificate c] has no server_name; add e.g. 'server_name = "
		   "mail.example.net'");
}

static void test_unreadable_files(void **state)
{
	(void)state;
	struct loft_config *cfg = NULL;
	char *err = NULL;
	assert_int_equal(conf_load("/nonexistent/loft.conf", &cfg, &err), LOFT_EIO);
	assert_null(cfg);
	assert_string_equal(err, "/nonexistent/loft.conf: cannot read configuration file: No "
			    "such file or directory; create it (`loft config example > "
			    "/nonexistent/loft.conf` writes a template) or pass another with -c FILE");
	free(err);

	char *dir = make_tmpdir();
	assert_int_equal(conf_load(dir, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, "cannot read configuration file: it is a directory"));
	free(err);

	/* a NUL byte: not a text file */
	char *bin = path_in(dir, "bin.conf");
	int fd = open(bin, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[server]\n\0x\n", 12), 12);
	close(fd);
	assert_int_equal(conf_load(bin, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, "line 2 contains a NUL byte"));
	free(err);

	/* too large */
	char *big = path_in(dir, "big.conf");
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(conf_load(big, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, "it is larger than"));
	free(err);

	/* unreadable: checked as an unprivileged user, since root reads
	 * anything */
	char *locked = path_in(dir, "locked.conf");
	write_file(locked, "[server]\n");
	assert_int_equal(chmod(locked, 0), 0);
	assert_int_equal(unpriv_give(dir), 0);
	err = unpriv_run(load_error, locked);
	assert_non_null(err);
	if (strstr(err, "cannot read configuration file: Permission denied") == NULL)
		fail_msg("as an unprivileged user: %s", err);
	free(err);
	free(locked);
	free(bin);
	free(big);
	rm_tree(dir);
}

/* ---- include ----------------------------------------------------------- */

static void test_include(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *sub = path_in(dir, "sub");
	assert_int_equal(mkdir(sub, 0700), 0);
	char *main_conf = path_in(dir, "loft.conf");
	char *tls_conf = path_in(dir, "sub/tls.conf");
	char *lst_conf = path_in(dir, "sub/listeners.conf");
	write_file(main_conf,
		   "include = sub/tls.conf\n"
		   "[server]\n"
		   "workers = 2\n"
		   "include = sub/listeners.conf   # listeners live elsewhere\n"
		   "hostname = mail.example.org\n");   /* still in [server] after the include */
	write_file(tls_conf,
		   "[tls]\ncert_file = cert.pem\nkey_file = ../key.pem\n");
	write_file(lst_conf,
		   "[listener imap]\nport = 143\ntls = starttls\n");
	struct loft_config *cfg = NULL;
	char *err = NULL;
	if (conf_load(main_conf, &cfg, &err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	char *real = realpath(dir, NULL);
	char *want_cert = xasprintf("%s/sub/cert.pem", real);
	char *want_key = xasprintf("%s/sub/../key.pem", real);
	char *want_path = xasprintf("%s/loft.conf", real);
	assert_string_equal(cfg->path, want_path);
	assert_string_equal(cfg->tls_cert_file, want_cert);
	assert_string_equal(cfg->tls_key_file, want_key);
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_int_equal(cfg->n_listeners, 1);
	assert_int_equal(cfg->n_files, 3);
	/* origins name the included file and its line */
	const struct conf_setting *kf = conf_setting_find(conf_section_find("tls"), "key_file");
	char *want_tls = xasprintf("%s/sub/tls.conf", real);
	assert_string_equal(cfg->origins[conf_setting_index(kf)].file, want_tls);
	assert_int_equal(cfg->origins[conf_setting_index(kf)].line, 3);
	conf_free(cfg);

	/* an error inside an included file names that file and line */
	write_file(lst_conf, "[listener imap]\nport = 143\nprot = imap\n");
	char *want = xasprintf("%s/sub/listeners.conf:3: unknown key 'prot'", real);
	assert_int_equal(conf_load(main_conf, &cfg, &err), LOFT_EINVAL);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(err);
	free(want);

	/* duplicate across files */
	write_file(lst_conf, "[server]\nworkers = 3\n");
	assert_int_equal(conf_load(main_conf, &cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/sub/listeners.conf:2: duplicate key 'workers' in [server] "
			 "(first set at %s/loft.conf:3)", real, real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(err);
	free(want);

	/* missing include */
	write_file(main_conf, "[server]\n\ninclude = nothere.conf\n");
	assert_int_equal(conf_load(main_conf, &cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/loft.conf:3: cannot read include file '%s/nothere.conf': No such "
			 "file or directory; check the path (relative paths are relative to %s)",
			 real, real, real);
	assert_string_equal(err, want);
	free(err);
	free(want);

	/* include with an absolute path */
	char *abs = xasprintf("include = \"%s\"\n", tls_conf);
	write_file(tls_conf, "[log]\nlevel = warn\n");
	write_file(main_conf, abs);
	assert_int_equal(conf_load(main_conf, &cfg, &err), 0);
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	conf_free(cfg);
	free(abs);

	/* a directory is not a configuration file */
	write_file(main_conf, "include = sub\n");
	assert_int_equal(conf_load(main_conf, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, ":1: cannot read include file"));
	assert_non_null(strstr(err, "it is a directory"));
	free(err);

	free(want_cert);
	free(want_key);
	free(want_path);
	free(want_tls);
	free(real);
	free(sub);
	free(main_conf);
	free(tls_conf);
	free(lst_conf);
	rm_tree(dir);
}

static void test_include_cycles_and_depth(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *real = realpath(dir, NULL);
	char *a = path_in(dir, "a.conf"), *b = path_in(dir, "b.conf");
	struct loft_config *cfg = NULL;
	char *err = NULL;

	write_file(a, "# a\ninclude = b.conf\n");
	write_file(b, "include = a.conf\n");
	assert_int_equal(conf_load(a, &cfg, &err), LOFT_EINVAL);
	char *want = xasprintf("%s/b.conf:1: include cycle: %s/a.conf -> %s/b.conf -> %s/a.conf; "
			       "remove one of these includes", real, real, real, real);
	assert_string_equal(err, want);
	free(err);
	free(want);

	write_file(a, "include = a.conf\n");
	assert_int_equal(conf_load(a, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, ":1: include cycle"));
	free(err);

	/* a chain of exactly 8 nested includes loads, 9 does not */
	for (int i = 0; i <= 9; i++) {
		char *f = xasprintf("%s/n%d.conf", dir, i);
		char *t = i < 9 ? xasprintf("include = n%d.conf\n", i + 1)
				: xstrdup("[server]\nworkers = 7\n");
		write_file(f, t);
		free(f);
		free(t);
	}
	char *n1 = path_in(dir, "n1.conf"), *n0 = path_in(dir, "n0.conf");
	assert_int_equal(conf_load(n1, &cfg, &err), 0);
	assert_int_equal(cfg->workers, 7);
	conf_free(cfg);
	assert_int_equal(conf_load(n0, &cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/n8.conf:1: includes are nested more than 8 deep", real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(err);
	free(want);

	/* including the same file twice (not a cycle) repeats its keys */
	write_file(a, "include = b.conf\ninclude = b.conf\n");
	write_file(b, "[log]\nlevel = warn\n");
	assert_int_equal(conf_load(a, &cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, "duplicate key 'level' in [log]"));
	free(err);

	free(n0);
	free(n1);
	free(a);
	free(b);
	free(real);
	rm_tree(dir);
}

/* ---- syntax details ------------------------------------------------------ */

static void test_quoting_and_comments(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok(
		"  [server]   # the server\n"
		"hostname=mail.example.org#no space before the comment\n"
		"   state_dir   =   \"/srv/with space # and hash\"   # comment\n"
		"users_file = \"/srv/q\\\"uote\\\\back\"\n"
		"local_domains = a.org   b.org     # trailing blanks go\n"
		"\t workers\t=\t3\t\n"
		"[ listener  imap ]\n"
		"port = \"143\"\n");
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_string_equal(cfg->state_dir, "/srv/with space # and hash");
	assert_string_equal(cfg->mail_dir, "/srv/with space # and hash/mail");
	assert_string_equal(cfg->users_file, "/srv/q\"uote\\back");
	assert_string_equal(cfg->local_domains, "a.org b.org");
	assert_int_equal(cfg->workers, 3);
	assert_string_equal(cfg->listeners[0].name, "imap");
	assert_int_equal(cfg->listeners[0].port, 143);
	conf_free(cfg);
}

static void test_crlf(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok(
		"# crlf file\r\n[server]\r\nhostname = mail.example.org\r\n"
		"state_dir = \"/srv/x\"  \r\n\r\n[listener a]\r\nport = 110\r\n");
	assert_string_equal(cfg->hostname, "mail.example.org");
	assert_string_equal(cfg->state_dir, "/srv/x");
	assert_int_equal(cfg->listeners[0].port, 110);
	conf_free(cfg);
	/* line numbers count CRLF lines; no trailing newline at the end */
	expect_err("[server]\r\n\r\nworkers = 0",
		   NAME ":3: bad value for 'workers' in [server]: '0' is out of range; use 1..256");
	/* a UTF-8 byte order mark is skipped */
	cfg = load_ok("\xef\xbb\xbf[log]\r\nlevel = warn\r\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	conf_free(cfg);
}

static void test_relative_paths(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok(
		"[server]\nstate_dir = state\nusers_file = ./etc/users\n"
		"[tls]\ncert_file = ../certs/c.pem\nkey_file = /abs/k.pem\n"
		"[log]\nfile = log/loft.log\n"
		"[certificate n]\nserver_name = n.example\ncert_file = n.pem\nkey_file = n.key\n");
	assert_string_equal(cfg->state_dir, "/cfg/state");
	assert_string_equal(cfg->mail_dir, "/cfg/state/mail");
	assert_string_equal(cfg->users_file, "/cfg/etc/users");
	assert_string_equal(cfg->tls_cert_file, "/cfg/../certs/c.pem");
	assert_string_equal(cfg->tls_key_file, "/abs/k.pem");
	assert_string_equal(cfg->log_file, "/cfg/log/loft.log");
	assert_string_equal(cfg->sni_certs[0].cert_file, "/cfg/n.pem");
	conf_free(cfg);

	/* a relative name is taken relative to the working directory */
	char *cwd = getcwd(NULL, 0);
	char *err = NULL;
	assert_int_equal(conf_load_string("demo/loft.conf", "[server]\nstate_dir = .\n", &cfg,
					  &err), 0);
	char *want = xasprintf("%s/demo", strcmp(cwd, "/") == 0 ? "" : cwd);
	assert_string_equal(cfg->state_dir, want);
	free(want);
	free(cwd);
	conf_free(cfg);

	/* the shipped file moved to another directory keeps working */
	char *dir = make_tmpdir();
	char *f = path_in(dir, "loft.conf");
	write_file(f, "[server]\nstate_dir = data\n[tls]\ncert_file = cert.pem\n"
		      "key_file = key.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	char *real = realpath(dir, NULL);
	want = xasprintf("%s/data", real);
	assert_string_equal(cfg->state_dir, want);
	free(want);
	want = xasprintf("%s/cert.pem", real);
	assert_string_equal(cfg->tls_cert_file, want);
	free(want);
	conf_free(cfg);
	free(real);
	free(f);
	rm_tree(dir);
}

/* ---- conf_check_files ---------------------------------------------------- */

static void test_check_files(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *real = realpath(dir, NULL);
	char *f = path_in(dir, "loft.conf");
	char *cert = path_in(dir, "cert.pem"), *key = path_in(dir, "key.pem");
	char *sni = path_in(dir, "sni.pem");
	write_file(cert, "-----BEGIN CERTIFICATE-----\n");
	write_file(key, "-----BEGIN PRIVATE KEY-----\n");
	write_file(sni, "-----BEGIN CERTIFICATE-----\n");
	const char *good =
		"[server]\nstate_dir = state/below\n"
		"[tls]\ncert_file = cert.pem\nkey_file = key.pem\n"
		"[certificate n]\nserver_name = n.example\ncert_file = sni.pem\n"
		"key_file = key.pem\n";
	write_file(f, good);
	struct loft_config *cfg = NULL;
	char *err = NULL;
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	if (conf_check_files(cfg, &err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	/* nothing was created */
	char *state_path = path_in(dir, "state");
	struct stat st;
	assert_int_equal(stat(state_path, &st), -1);
	conf_free(cfg);

	/* a missing cert names the line that set it */
	write_file(f, "[tls]\ncert_file = missing.pem\nkey_file = key.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	char *want = xasprintf("%s/loft.conf:2: [tls] cert_file '%s/missing.pem' cannot be read: "
			       "No such file or directory; fix the path or the file's permissions",
			       real, real);
	assert_string_equal(err, want);
	free(want);
	free(err);
	conf_free(cfg);

	/* an unreadable cert: a directory can never be read, even by root */
	write_file(f, "[tls]\ncert_file = .\nkey_file = key.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/loft.conf:2: [tls] cert_file '%s' cannot be read: it is a directory",
			 real, real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(want);
	free(err);
	conf_free(cfg);

	/* an empty key */
	write_file(key, "");
	write_file(f, "[tls]\ncert_file = cert.pem\n\nkey_file = key.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/loft.conf:4: [tls] key_file '%s/key.pem' cannot be read: "
			 "it is empty", real, real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(want);
	free(err);
	conf_free(cfg);
	write_file(key, "-----BEGIN PRIVATE KEY-----\n");

	/* permission bits, as an unprivileged user (root reads anything) */
	assert_int_equal(chmod(cert, 0), 0);
	assert_int_equal(unpriv_give(dir), 0);
	err = unpriv_run(check_files_error, f);
	want = xasprintf("%s/loft.conf:2: [tls] cert_file '%s/cert.pem' cannot be read: "
			 "Permission denied", real, real);
	assert_non_null(err);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("as an unprivileged user: %s", err);
	free(want);
	free(err);
	chmod(cert, 0600);

	/* an SNI key */
	write_file(f, "[tls]\ncert_file = cert.pem\nkey_file = key.pem\n"
		      "[certificate n]\nserver_name = n.example\ncert_file = sni.pem\n"
		      "key_file = nokey.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/loft.conf:7: [certificate n] key_file '%s/nokey.pem' cannot be read",
			 real, real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(want);
	free(err);
	conf_free(cfg);

	/* state_dir below a regular file cannot be created */
	write_file(f, "# state\n[server]\nstate_dir = cert.pem/state\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	want = xasprintf("%s/loft.conf:3: [server] state_dir '%s/cert.pem/state' is not usable: "
			 "it does not exist and cannot be created because %s/cert.pem is not a "
			 "directory", real, real, real);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	free(want);
	free(err);
	conf_free(cfg);

	/* state_dir that is a file; mail_dir derived from a usable state_dir */
	write_file(f, "[server]\nstate_dir = cert.pem\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, ":2: [server] state_dir"));
	assert_non_null(strstr(err, "it exists and is not a directory"));
	free(err);
	conf_free(cfg);
	write_file(f, "[server]\nstate_dir = .\nmail_dir = key.pem/mail\n");
	assert_int_equal(conf_load(f, &cfg, &err), 0);
	assert_int_equal(conf_check_files(cfg, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, ":3: [server] mail_dir"));
	free(err);
	conf_free(cfg);

	free(state_path);
	free(cert);
	free(key);
	free(sni);
	free(f);
	free(real);
	rm_tree(dir);
}

/* conf_check_files on text; returns its error (NULL when it passed). */
static char *check_files_err(const char *text)
{
	struct loft_config *cfg = load_ok(text);
	char *err = NULL;
	int r = conf_check_files(cfg, &err);
	conf_free(cfg);
	assert_true((r == 0) == (err == NULL));
	return err;
}

static void expect_check_err(const char *text, const char *msg)
{
	char *err = check_files_err(text);
	if (err == NULL || strcmp(err, msg) != 0) {
		print_error("got:      %s\nexpected: %s\n", err ? err : "(no error)", msg);
		free(err);
		fail();
	}
	free(err);
}

static void expect_check_ok(const char *text)
{
	char *err = check_files_err(text);
	if (err != NULL) {
		print_error("unexpected error: %s\n", err);
		free(err);
		fail();
	}
}

/* [tls] ciphers and ciphersuites are tried on OpenSSL: a misspelt element
 * fails with file:line even when the rest of the list is valid. */
/* [storage] initial_mailboxes: "Name \\Use" entries, checked at load. */
static void test_initial_mailboxes(void **state)
{
	(void)state;
	struct loft_config *cfg = load_ok("");
	assert_string_equal(cfg->initial_mailboxes,
			    "Drafts \\Drafts, Sent \\Sent, Trash \\Trash, Junk \\Junk, "
			    "Archive \\Archive");
	conf_free(cfg);
	cfg = load_ok("[storage]\ninitial_mailboxes =\n");
	assert_string_equal(cfg->initial_mailboxes, "");
	conf_free(cfg);
	cfg = load_ok("[storage]\ninitial_mailboxes = Sent Items \\sent,Lists/Work ,"
		      " Caf\xc3\xa9 \\Archive\n");
	struct conf_mailbox *list;
	size_t n;
	char *why = NULL;
	assert_int_equal(conf_mailboxes_parse(cfg->initial_mailboxes, &list, &n, &why), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].name, "Sent Items");
	assert_string_equal(list[0].use, "\\Sent");
	assert_string_equal(list[1].name, "Lists/Work");
	assert_null(list[1].use);
	assert_string_equal(list[2].name, "Caf\xc3\xa9");
	assert_string_equal(list[2].use, "\\Archive");
	conf_mailboxes_free(list, n);
	conf_free(cfg);
	expect_err_has("[storage]\ninitial_mailboxes = Drafts \\Draft\n", NAME ":2:",
		       "'\\Draft' is not a special-use attribute", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = Drafts, , Sent\n", NAME ":2:",
		       "an entry is empty", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = Drafts,\n", NAME ":2:",
		       "ends with a comma", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = \\Sent\n", NAME ":2:",
		       "no mailbox name", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = a//b\n", NAME ":2:", "empty level", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = /a\n", NAME ":2:", "empty level", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = Sent, Sent \\Sent\n", NAME ":2:",
		       "listed twice", NULL);
	expect_err_has("[storage]\ninitial_mailboxes = Caf\xc3 \\Sent\n", NAME ":2:",
		       "not valid UTF-8", NULL);
}

static void test_check_ciphers(void **state)
{
	(void)state;
#define DIRS "[server]\nstate_dir = /tmp\n"
	expect_check_ok(DIRS);
	expect_check_ok(DIRS "[tls]\nciphers = HIGH:!aNULL:-RC4:+AES256:@STRENGTH\n"
			"ciphersuites = TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384\n");
	expect_check_ok(DIRS "[tls]\nciphers = ECDHE-RSA-AES128-GCM-SHA256,ECDHE+CHACHA20\n");
	expect_check_err(DIRS "[tls]\nciphers = ECDHE-RSA-AES128-GCM-SHA256,"
			 "ECDHE-RSA-AES12-GCM-SHA256\n",
		NAME ":4: [tls] ciphers: 'ECDHE-RSA-AES12-GCM-SHA256' matches no TLS 1.2 cipher "
		"this OpenSSL offers; check its spelling (`openssl ciphers -v` lists the names)");

	expect_check_err(DIRS "[tls]\n# typo\nciphers = ECDHE+AESGCM:ECDHE+CHACHA2O\n",
		NAME ":5: [tls] ciphers: 'ECDHE+CHACHA2O' matches no TLS 1.2 cipher this "
		"OpenSSL offers; check its spelling (`openssl ciphers -v` lists the names)");
	expect_check_err(DIRS "[tls]\nciphers = ECDHE+AESGMC\n",
		NAME ":4: [tls] ciphers: 'ECDHE+AESGMC' matches no TLS 1.2 cipher this "
		"OpenSSL offers; check its spelling (`openssl ciphers -v` lists the names)");
	expect_check_err(DIRS "[tls]\nciphers = ECDHE+AESGCM:TLS_AES_256_GCM_SHA384\n",
		NAME ":4: [tls] ciphers: 'TLS_AES_256_GCM_SHA384' matches no TLS 1.2 cipher "
		"this OpenSSL offers; TLS 1.3 suites belong in [tls] ciphersuites");
	expect_check_err(DIRS "[tls]\nciphers = !ALL\n",
		NAME ":4: [tls] ciphers '!ALL' selects no TLS 1.2 cipher this OpenSSL offers; "
		"fix the list (`openssl ciphers -v '!ALL'` shows what it selects)");

	char *err = check_files_err(DIRS "[tls]\nciphersuites = TLS_AES_256_GCM_SHA384:"
				    "TLS_AES_256_GCM_SHA38\n");
	assert_non_null(err);
	assert_non_null(strstr(err, NAME ":4: [tls] ciphersuites: 'TLS_AES_256_GCM_SHA38' is "
			       "not a TLS 1.3 cipher suite this OpenSSL knows; use names such as "));
	assert_non_null(strstr(err, "TLS_AES_256_GCM_SHA384"));
	free(err);
	err = check_files_err(DIRS "[tls]\nciphersuites = ECDHE+AESGCM\n");
	assert_non_null(err);
	assert_non_null(strstr(err, NAME ":4: [tls] ciphersuites: 'ECDHE+AESGCM' is not"));
	free(err);
	/* every problem is reported, the cipher check's first */
	expect_check_err("[tls]\ncert_file = /nonexistent/c.pem\nkey_file = /nonexistent/k.pem\n"
			 "ciphers = NOPE\n",
		NAME ":4: [tls] ciphers: 'NOPE' matches no TLS 1.2 cipher this OpenSSL offers; "
		"check its spelling (`openssl ciphers -v` lists the names)\n"
		NAME ":2: [tls] cert_file '/nonexistent/c.pem' cannot be read: No such file or "
		"directory; fix the path or the file's permissions\n"
		NAME ":3: [tls] key_file '/nonexistent/k.pem' cannot be read: No such file or "
		"directory; fix the path or the file's permissions");
#undef DIRS
}

/* ---- conf_check_reload ----------------------------------------------------- */

static void test_check_reload(void **state)
{
	(void)state;
	struct loft_config *old = load_ok("[server]\nworkers = 2\n[listener a]\nport = 143\n");
	struct loft_config *cur = load_ok("[server]\nworkers = 2\n[limits]\nmax_connections = 5\n"
					  "[log]\nlevel = debug\n[listener a]\nport = 143\n");
	char *err = NULL;
	assert_int_equal(conf_check_reload(old, cur, &err), 0);
	conf_free(cur);

	cur = load_ok("[server]\n\nworkers = 3\n[listener a]\nport = 143\n");
	assert_int_equal(conf_check_reload(old, cur, &err), LOFT_EINVAL);
	assert_string_equal(err, NAME ":3: [server] workers changed from '2' to '3', which a "
			    "reload cannot apply; restart loft to use it");
	free(err);
	conf_free(cur);

	cur = load_ok("[server]\nworkers = 2\n[listener a]\nport = 144\n");
	assert_int_equal(conf_check_reload(old, cur, &err), LOFT_EINVAL);
	assert_string_equal(err, NAME ":3: [listener a] was added, removed or changed, which a "
			    "reload cannot apply; restart loft to use it");
	free(err);
	conf_free(cur);

	cur = load_ok("[server]\nworkers = 2\n");
	assert_int_equal(conf_check_reload(old, cur, &err), LOFT_EINVAL);
	assert_non_null(strstr(err, "[listener a] was added, removed or changed"));
	free(err);
	conf_free(cur);
	conf_free(old);
}

/* ---- generated files ------------------------------------------------------- */

static char *generate(bool as_conf)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	conf_write_doc(fileno(tmp), as_conf);
	long len = lseek(fileno(tmp), 0, SEEK_END);
	assert_true(len > 0);
	char *buf = xmalloc((size_t)len + 1);
	assert_int_equal(pread(fileno(tmp), buf, (size_t)len, 0), len);
	buf[len] = '\0';
	fclose(tmp);
	return buf;
}

static char *read_source_file(const char *rel)
{
	const char *src = getenv("LOFT_SOURCE_DIR");
	if (src == NULL) {
		print_error("LOFT_SOURCE_DIR is not set (run through ctest)\n");
		fail();
	}
	char *path = xasprintf("%s/%s", src, rel);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		print_error("cannot open %s: %s\n", path, strerror(errno));
		fail();
	}
	free(path);
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	do {
		cap += 65536;
		buf = xrealloc(buf, cap + 1);
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (len == cap);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void compare_generated(const char *rel, bool as_conf, const char *cmd)
{
	char *want = generate(as_conf), *have = read_source_file(rel);
	if (strcmp(want, have) != 0) {
		print_error("%s is out of date; regenerate it with `loft config %s > %s`\n",
			    rel, cmd, rel);
		free(want);
		free(have);
		fail();
	}
	free(want);
	free(have);
}

static void test_committed_docs_match(void **state)
{
	(void)state;
	compare_generated("docs/CONFIG.md", false, "doc");
	compare_generated("conf/loft.conf", true, "example");
}

static void test_doc_covers_table(void **state)
{
	(void)state;
	char *md = generate(false), *example = generate(true);
	for (size_t i = 0; i < conf_n_sections; i++) {
		const struct conf_section *sec = &conf_sections[i];
		char *head = xasprintf("## [%s%s]", sec->name, sec->named ? " NAME" : "");
		assert_non_null(strstr(md, head));
		free(head);
		for (size_t r = 0; r < sec->n_rows; r++) {
			char *cell = xasprintf("| `%s` |", sec->rows[r].key);
			assert_non_null(strstr(md, cell));
			free(cell);
			if (!sec->named) {
				char *doc = xstrdup(sec->rows[r].doc), *w = doc;
				for (const char *c = doc; *c != '\0'; c++)
					if (*c != '`')
						*w++ = *c;
				*w = '\0';
				assert_non_null(strstr(example, doc));
				free(doc);
				char *line = xasprintf("\n#%s = ", sec->rows[r].key);
				assert_non_null(strstr(example, line));
				free(line);
			}
		}
	}
	free(md);

	/* the example loads, with one listener per protocol and every default */
	struct loft_config *cfg = load_ok(example);
	struct loft_config *empty = load_ok("");
	assert_int_equal(cfg->n_listeners, 5);
	for (int p = CONF_PROTO_IMAP; p <= CONF_PROTO_SIEVE; p++) {
		bool seen = false;
		for (size_t i = 0; i < cfg->n_listeners; i++)
			seen |= cfg->listeners[i].protocol == (enum conf_proto)p;
		assert_true(seen);
	}
	for (size_t i = 0; i < conf_n_settings; i++)
		assert_true(conf_value_equal(&conf_settings[i], cfg, empty));
	conf_free(cfg);
	conf_free(empty);

	/* and uncommenting every setting still loads with the same values */
	char *un = xstrdup(example);
	for (size_t i = 0; i < conf_n_settings; i++) {
		if (conf_settings[i].def == NULL)
			continue;
		char *needle = xasprintf("\n#%s = ", conf_settings[i].key);
		char *at = strstr(un, needle);
		assert_non_null(at);
		at[1] = ' ';
		free(needle);
	}
	cfg = load_ok(un);
	empty = load_ok("");
	for (size_t i = 0; i < conf_n_settings; i++)
		assert_true(conf_value_equal(&conf_settings[i], cfg, empty));
	conf_free(cfg);
	conf_free(empty);
	free(un);
	free(example);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_consistent),
		cmocka_unit_test(test_defaults_when_empty),
		cmocka_unit_test(test_complete_file),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_command_limits),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_strings_addresses_hostnames),
		cmocka_unit_test(test_auth_section),
		cmocka_unit_test(test_dns_mailauth_sections),
		cmocka_unit_test(test_unknown_section_and_key),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_unreadable_files),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_cycles_and_depth),
		cmocka_unit_test(test_quoting_and_comments),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_check_ciphers),
		cmocka_unit_test(test_initial_mailboxes),
		cmocka_unit_test(test_check_reload),
		cmocka_unit_test(test_committed_docs_match),
		cmocka_unit_test(test_doc_covers_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
